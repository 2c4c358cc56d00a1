/**
 * @fileoverview Messages on stderr (aggregations-and-output.md §6–§7): run-time error
 * reports and drop reports, each a full line starting with `dtrace: `.
 *
 *   - `formatError(fault)`             `dtrace: error in dt_clause_0 for probe ID 1 (dtrace:::BEGIN): …`
 *   - `formatLibError(where, message)` the same prefix with a library-level message
 *   - `formatDrop(kind, count, cpu, droptags)`
 */

export type FaultKind =
  | 'badaddr' | 'badalign' | 'illop' | 'divzero' | 'nospace' | 'kprivilege' | 'uprivilege'
  | 'tupoflow' | 'badstack' | 'badsize' | 'oob' | 'library' | 'unknown';

const FAULT_TEXT: Record<FaultKind, string> = {
  badaddr: 'invalid address',
  badalign: 'invalid alignment',
  illop: 'illegal operation',
  divzero: 'divide-by-zero',
  nospace: 'out of scratch space',
  kprivilege: 'invalid kernel access',
  uprivilege: 'invalid user access',
  tupoflow: 'tuple stack overflow',
  badstack: 'bad stack',
  badsize: 'invalid size',
  oob: 'index out of bounds',
  library: 'library-level fault',
  unknown: 'unknown fault',
};

/** Where a fault happened: clause index and the probe that fired. */
export interface FaultSite {
  clauseIndex: number;
  probeId: number;
  provider: string;
  module: string;
  function: string;
  name: string;
}

export interface Fault extends FaultSite {
  kind: FaultKind;
  /** The faulting address / value (ignored for kinds without a detail). */
  detail?: bigint;
  /** BPF instruction offset, when known. */
  pc?: number;
}

function sitePrefix(s: FaultSite): string {
  return `dtrace: error in dt_clause_${s.clauseIndex} for probe ID ${s.probeId} (${s.provider}:${s.module}:${s.function}:${s.name}): `;
}

/** One fault line, newline included. */
export function formatError(f: Fault): string {
  let text = FAULT_TEXT[f.kind];
  const d = f.detail;
  if (d !== undefined) {
    const hex = `(0x${BigInt.asUintN(64, d).toString(16)})`;
    if (f.kind === 'badaddr') { if (BigInt.asIntN(64, d) !== -1n) text += ` ${hex}`; }
    else if (f.kind === 'badalign' || f.kind === 'badstack' || f.kind === 'badsize') text += ` ${hex}`;
    else if (f.kind === 'oob') text += ` (${BigInt.asIntN(64, d)})`;
  }
  if (f.pc !== undefined) text += ` at BPF pc ${f.pc}`;
  return sitePrefix(f) + text + '\n';
}

/** A library-level fault (setopt, freopen …): the error prefix then the message. */
export function formatLibError(site: FaultSite, message: string): string {
  return sitePrefix(site) + message.replace(/\n$/, '') + '\n';
}

export type DropKind =
  | 'principal' | 'aggregation' | 'dynamic' | 'dynrinse' | 'dyndirty' | 'speculation'
  | 'specbusy' | 'specunavail' | 'stkstroverflow' | 'dblerror';

const DROP_TAG: Record<DropKind, string> = {
  principal: 'DTRACEDROP_PRINCIPAL',
  aggregation: 'DTRACEDROP_AGGREGATION',
  dynamic: 'DTRACEDROP_DYNAMIC',
  dynrinse: 'DTRACEDROP_DYNRINSE',
  dyndirty: 'DTRACEDROP_DYNDIRTY',
  speculation: 'DTRACEDROP_SPEC',
  specbusy: 'DTRACEDROP_SPECBUSY',
  specunavail: 'DTRACEDROP_SPECUNAVAIL',
  stkstroverflow: 'DTRACEDROP_STKSTROVERFLOW',
  dblerror: 'DTRACEDROP_DBLERROR',
};

function plural(n: bigint, word: string): string {
  return `${n} ${word}${n === 1n ? '' : 's'}`;
}

/** A drop report line (newline included); `cpu` is used by the per-CPU kinds. */
export function formatDrop(kind: DropKind, count: bigint, cpu = 0, droptags = false): string {
  let text: string;
  switch (kind) {
    case 'principal': text = `${plural(count, 'drop')} on CPU ${cpu}`; break;
    case 'aggregation': text = `${plural(count, 'aggregation drop')} on CPU ${cpu}`; break;
    case 'dynamic': text = plural(count, 'dynamic variable drop'); break;
    case 'dynrinse': text = `${plural(count, 'dynamic variable drop')} with non-empty rinsing list`; break;
    case 'dyndirty': text = `${plural(count, 'dynamic variable drop')} with non-empty dirty list`; break;
    case 'speculation': text = plural(count, 'speculative drop'); break;
    case 'specbusy': text = `${plural(count, 'failed speculation')} (available buffer(s) still busy)`; break;
    case 'specunavail': text = `${plural(count, 'failed speculation')} (no speculative buffer available)`; break;
    case 'stkstroverflow': text = `${count} jstack()/ustack() string table overflow${count === 1n ? '' : 's'}`; break;
    case 'dblerror': text = `${plural(count, 'error')} in ERROR probe enabling`; break;
  }
  return `dtrace: ${droptags ? `[${DROP_TAG[kind]}] ` : ''}${text}\n`;
}
