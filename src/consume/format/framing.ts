/**
 * @fileoverview The principal-buffer line framing (aggregations-and-output.md §1): the
 * header printed before the first record, the per-clause prefix, the record terminator, and
 * flow indentation (-F).
 *
 *   - `formatHeader(mode)`                         `CPU     ID                    FUNCTION:NAME`
 *   - `formatRecordPrefix(mode, cpu, probe, flow?)` `  0      1                           :BEGIN `
 *   - `formatRecordEnd(mode)`                      `\n` unless quiet
 *   - `flowStep(state, probe, ...)`                the -F marker/indent for one clause
 */
import type { ProbeInfo as CompiledProbeInfo } from '../../program/spec.js';
import { cspec, formatCInt } from './cformat.js';

export interface FramingMode {
  quiet: boolean;
  /** `_DTRACE_TESTING` set: no CPU and ID columns. */
  testing: boolean;
  flowindent: boolean;
  /** With flowindent: the entry/return nesting of the records printed so far. */
  flow?: FlowState;
}

/** The probe a clause fired for. */
export type ProbeInfo = Pick<CompiledProbeInfo, 'id' | 'provider' | 'module' | 'function' | 'name'>;

/** The flow-indentation state of one buffer read (Oracle resets it per CPU buffer). */
export interface FlowState {
  indent: number;
  /** Probe ID of the previous record's clause, and that clause's enabled-probe ID. */
  lastProbeId?: number;
  lastEpid?: number;
}

export function newFlowState(): FlowState {
  return { indent: 0 };
}

/** The header line (or nothing when quiet without flowindent). */
export function formatHeader(mode: FramingMode): string {
  if (mode.flowindent) return mode.testing ? `${'FUNCTION'.padEnd(41)}\n` : `CPU ${'FUNCTION'.padEnd(41)}\n`;
  if (mode.quiet) return '';
  if (mode.testing) return `${'FUNCTION:NAME'.padStart(32)}\n`;
  return `CPU ${'ID'.padStart(6)} ${'FUNCTION:NAME'.padStart(32)}\n`;
}

type FlowKind = 'entry' | 'return' | 'none';

/** `entry` / `-entry` (not `carpentry`): Oracle matches the first occurrence at the end. */
function endsWithWord(name: string, word: string): boolean {
  const at = name.indexOf(word);
  return at >= 0 && at + word.length === name.length && (at === 0 || name[at - 1] === '-');
}

/**
 * dt_flowindent for one data-recording clause: returns the text of the 41-column field and
 * updates the state. `epid` identifies the clause+probe pair; `nextProbeId` is the probe of the
 * next record in the buffer, when known (a return immediately followed by another clause of
 * the same probe is not unindented).
 */
export function flowStep(state: FlowState, probe: ProbeInfo, epid: number, nextProbeId?: number, nextEpid?: number): string {
  let flow: FlowKind = 'none';
  const syscall = probe.provider === 'syscall';
  if (endsWithWord(probe.name, 'entry')) flow = 'entry';
  else if (endsWithWord(probe.name, 'return')) flow = 'return';
  if (flow === 'entry' && state.lastEpid !== undefined && epid !== state.lastEpid && probe.id === state.lastProbeId) flow = 'none';
  if (flow === 'return' && nextEpid !== undefined && nextEpid !== epid && nextProbeId === probe.id) flow = 'none';
  let marker = '| ';
  if (flow === 'entry') marker = syscall ? ' => ' : ' -> ';
  if (flow === 'return') marker = syscall ? ' <= ' : ' <- ';
  if (flow === 'return' && state.indent > 0) state.indent -= 2;
  const text = flow === 'none' ? `${probe.function}:${probe.name}` : probe.function;
  const field = ' '.repeat(state.indent) + marker + text;
  if (flow === 'entry') state.indent += 2;
  state.lastEpid = epid;
  state.lastProbeId = probe.id;
  return field;
}

/**
 * The prefix before a clause's records. With flowindent it is printed even when quiet, and
 * `flowField` (from flowStep) replaces ID and FUNCTION:NAME.
 */
export function formatRecordPrefix(mode: FramingMode, cpu: number, probe: ProbeInfo, flowField?: string): string {
  if (mode.flowindent) {
    const field = (flowField ?? `${probe.function}:${probe.name}`).padEnd(41);
    return mode.testing ? `${field} ` : `${formatCInt(BigInt(cpu), 'd', cspec({ width: 3 }))} ${field} `;
  }
  if (mode.quiet) return '';
  const name = `${probe.function}:${probe.name}`.padStart(32);
  if (mode.testing) return `${name} `;
  return `${formatCInt(BigInt(cpu), 'd', cspec({ width: 3 }))} ${formatCInt(BigInt(probe.id), 'd', cspec({ width: 6 }))} ${name} `;
}

/** The newline that ends a clause's output (not in quiet mode). */
export function formatRecordEnd(mode: FramingMode): string {
  return mode.quiet ? '' : '\n';
}
