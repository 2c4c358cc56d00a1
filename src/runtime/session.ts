/**
 * @fileoverview Running a compiled program: create the maps, load and verify the programs, run
 * BEGIN, attach, consume the ring buffer until exit()/a signal/the -c command ends, detach,
 * run END, and print what is left (aggregations). The consumer decodes records in place and
 * hands plain values to consume/format.
 */
import { writeSync, openSync, closeSync, ftruncateSync, existsSync } from 'node:fs';
import { snapshotProcess } from '../consume/usyms.js';
import { runSystemCommand } from './process.js';

import { createMap, type BpfMap, type MapSnapshot, possibleCpus } from '../bpf/map.js';
import { printPackedScalarAggregation } from '../consume/aggtable.js';
import { loadProgram, testRun, rawTracepointArgs, type BpfProgram } from '../bpf/program.js';
import { openRingBuffer, type RingBuffer } from '../bpf/ringbuf.js';
import { closeLinksAsync, type Link } from '../bpf/link.js';
import { VerifierError } from '../bpf/errors.js';
import { link as linkInsns, encode } from '../bpf/asm/encode.js';
import { Helper } from '../bpf/uapi.js';
import { STATE, Activity, Fault } from '../codegen/layout.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, AggregationSpec, ProgramSpecData, RecordedAction } from '../program/spec.js';
import { RECORD_HEADER_BYTES, StidSpecial, ErrorRecord } from '../program/spec.js';
import type { ProgramPlan, Provider } from '../providers/provider.js';
import { allProviders } from '../providers/registry.js';
import type { Value, AggSnapshot, AggEntry, AggValue, KeyType, AggDesc } from '../consume/format/values.js';
import { formatTrace, formatTracemem, formatRawBytes } from '../consume/format/trace.js';
import { compilePrintfAction, decodeField, type RecordRenderer } from '../consume/record.js';
import { kernelKfuncId } from '../codegen/subr/kfuncs.js';
import { AGGREGATING_FUNCTIONS } from '../builtins/aggregations.js';
import { formatAggregation, truncEntries } from '../consume/format/aggregate.js';
import { formatPrinta } from '../consume/format/printa.js';
import { formatHeader, formatRecordPrefix, type FramingMode } from '../consume/format/framing.js';
import { formatError, formatDrop, formatLibError, type FaultKind } from '../consume/format/messages.js';
import { formatInsn } from '../bpf/asm/disasm.js';
import { slots } from '../bpf/asm/insn.js';
import { RecordRing } from './record-ring.js';

export interface RunOptions {
  quiet: boolean;
  testing: boolean;
  flowindent: boolean;
  /** rawbytes: trace() prints every value as a hex dump of its recorded bytes. */
  rawbytes?: boolean;
  droptags: boolean;
  /** bufpolicy=ring: the bytes of newest records whose output is kept and printed at the end. */
  ringBufferBytes?: number;
  /** aggrate: printa() shows the aggregations as last snapshot at this period (0: live). */
  aggrateMs?: number;
  /** specsize: the bytes one speculation may hold (unbounded when absent). */
  specsizeBytes?: number;
  aggsort: { aggsortkey?: boolean; aggsortrev?: boolean; aggsortpos?: number; aggsortkeypos?: number };
  switchrateMs: number;
  /** Write trace output (stdout or -o file). */
  out(text: string): void;
  /** Write a diagnostic line (stderr), already prefixed. */
  err(text: string): void;
  /** Called once probes are attached (start a -c command here); returns a promise of its exit. */
  onAttached?(): Promise<void> | undefined;
  /** setopt() while tracing: sets an option; returns DTrace's message when it cannot. */
  setopt?: (name: string, value: string | undefined) => string | undefined;
  /** SIGINT/SIGTERM caught by the caller since before the run (catchStopSignals). */
  signals?: StopSignals;
  /** True once the run must stop without more output (our reader has gone: EPIPE). */
  stopRequested?: () => boolean;
  /** The -c / -p process, whose mappings are kept for user symbols. */
  targetPid?: number;
  /** Extra stop trigger (e.g. -c child exit). */
  providers?: readonly Provider[];
}

/** A load or verifier failure, reported with the D line where possible. */
export class LoadError extends Error {
  constructor(message: string) { super(message); this.name = 'LoadError'; }
}

interface Loaded {
  maps: Map<string, BpfMap>;
  programs: { spec: ProgramSpecData; prog: BpfProgram; plan: ProgramPlan }[];
  ring: RingBuffer;
}

const FAULT_KIND: Record<number, FaultKind> = {
  [Fault.BADADDR]: 'badaddr', [Fault.BADALIGN]: 'badalign', [Fault.ILLOP]: 'illop', [Fault.DIVZERO]: 'divzero',
  [Fault.NOSCRATCH]: 'nospace', [Fault.KPRIV]: 'kprivilege', [Fault.UPRIV]: 'uprivilege', [Fault.TUPOFLOW]: 'tupoflow',
  [Fault.BADSTACK]: 'badstack', [Fault.BADSIZE]: 'badsize', [Fault.BADINDEX]: 'oob',
};

/** Output is written once it reaches this many characters (and at the end of every drain). */
const OUTPUT_CHUNK_CHARS = 1 << 16;
/** Poll period while the producer is busy (see ringbuf.ts: no wake-ups then). */
const BUSY_POLL_MS = 1;

const HELPER_NAMES = new Map<number, string>(Object.entries(Helper).map(([k, v]) => [v as number, `bpf_${k}`]));

/** Creates maps and loads every program. Throws LoadError with a readable message. */
export function load(compiled: CompiledProgram): Loaded {
  const maps = new Map<string, BpfMap>();
  const loaded: Loaded['programs'] = [];
  try {
    for (const m of compiled.maps) {
      const map = createMap({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
      maps.set(m.name, map);
      for (const init of m.init ?? []) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, init.key, true);
        map.update(key, init.value);
      }
    }
    const ring = openRingBuffer(maps.get('ringbuf')!);
    for (const p of compiled.programs) {
      let linked: ReturnType<typeof linkInsns>;
      try {
        linked = linkInsns(p.insns, { get: (n) => compiled.subprograms.get(n) });
      } catch (e) {
        // A program too large for BPF's jump offsets: say so, do not crash.
        throw new LoadError(`program ${p.name}: ${e instanceof Error ? e.message : String(e)} (the program is too large: fewer or smaller clauses per probe)`);
      }
      let bytes: Uint8Array;
      try {
        bytes = encode(linked, { mapFd: (n) => { const m = maps.get(n); if (!m) throw new LoadError(`program ${p.name}: unknown map ${n}`); return m.fd; }, kfuncId: kernelKfuncId });
      } catch (e) {
        // A kernel without a kfunc the program needs, or scratch offsets out of range.
        if (e instanceof LoadError) throw e;
        throw new LoadError(`program ${p.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      let prog: BpfProgram;
      try {
        prog = loadProgram({ name: p.name.slice(0, 15), type: p.bpfType, insns: bytes, ...p.load });
      } catch (e) {
        if (e instanceof VerifierError) throw new LoadError(verifierMessage(p, linked, e));
        throw e;
      }
      loaded.push({ spec: p, prog, plan: (p.attach as { plan: ProgramPlan }).plan });
    }
    return { maps, programs: loaded, ring };
  } catch (e) {
    for (const l of loaded) l.prog.close();
    for (const m of maps.values()) m.close();
    throw e;
  }
}

/** A verifier rejection is our bug: name the D line, the instruction and the kernel's reason. */
function verifierMessage(p: ProgramSpecData, linked: ReturnType<typeof linkInsns>, e: VerifierError): string {
  let where = '';
  let insnText = '';
  if (e.insnIndex !== undefined) {
    let slot = 0;
    for (const i of linked) {
      if (slot === e.insnIndex) {
        insnText = formatInsn(i, { helperName: (id) => HELPER_NAMES.get(id) });
        if (i.source) where = ` at ${i.source.where}: ${i.source.text.trim()}`;
        break;
      }
      slot += slots(i);
    }
  }
  const lines = e.log.trim().split('\n');
  const reason = lines.filter((l) => !/^(processed|verification time|stack depth|mark_precise|\s*$)/.test(l)).slice(-1)[0] ?? e.message;
  return `failed to enable probes: BPF verifier rejected program ${p.name}${where}\n  instruction ${e.insnIndex ?? '?'}: ${insnText}\n  verifier: ${reason}\n  (this is a dtrace-ts bug: please report it with the script)`;
}

/** Runs a loaded program to completion; returns the exit status. */
/** SIGINT/SIGTERM received so far, and who to tell of the next one. */
export interface StopSignals {
  count: number;
  notify?: () => void;
  /** Restores the signals' previous handling. */
  release(): void;
}

/**
 * From here on SIGINT/SIGTERM stop the run cleanly, whenever they come (while loading, in
 * BEGIN, while attaching): END runs, aggregations are printed, everything is detached. The
 * first one prints a newline (dtrace.c intr()); later ones change nothing.
 */
export function catchStopSignals(): StopSignals {
  const signals: StopSignals = {
    count: 0,
    release() { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); },
  };
  const onSignal = () => { signals.count++; signals.notify?.(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return signals;
}

/** Runs a loaded program to completion; returns the exit status. */
export async function run(compiled: CompiledProgram, opts: RunOptions): Promise<number> {
  const signals = opts.signals ?? catchStopSignals();
  try {
    return await runLoaded(compiled, opts, signals);
  } finally {
    if (!opts.signals) signals.release();
  }
}

/** Whether the program prints user stacks or symbols (resolved from a live process's mappings). */
function usesUserSymbols(compiled: CompiledProgram): boolean {
  return compiled.clauses.some((c) => c.actions.some((x) => 'field' in x && (x.field.decode === 'ustack' || x.field.decode === 'usymbol')))
    || compiled.aggregations.some((a) => a.keyFields.some((k) => k.decode === 'ustack' || k.decode === 'usymbol'));
}

async function runLoaded(compiled: CompiledProgram, opts: RunOptions, signals: StopSignals): Promise<number> {
  const loaded = load(compiled);
  const { maps, ring } = loaded;
  const state = maps.get('state')!;
  const zeroKey = new Uint8Array(4);
  const links: Link[] = [];
  const clauseById = new Map<number, ClauseSpec>(compiled.clauses.map((c) => [c.stid, c]));
  const probeById = new Map(compiled.probes.map((p) => [p.id, p]));
  const aggById = new Map(compiled.aggregations.map((a) => [a.id, a]));
  const mode: FramingMode = { quiet: opts.quiet, testing: opts.testing, flowindent: opts.flowindent };
  const ncpu = possibleCpus().length;
  let headerPrinted = false;
  let exitStatus: number | undefined;
  let stopping = false;
  const printed = new Set<number>(); // aggregations printed by printa()
  const normalizeBy = new Map<number, bigint>();
  const strsize = compiled.strsize;

  // Output is collected and written in large chunks: one write(2) per drain (or per
  // OUTPUT_CHUNK_CHARS), not per record. Diagnostics flush it first so the two streams keep
  // their relative order on a terminal.
  let pending = '';
  // freopen(): output goes to this file until freopen("") restores the original output.
  let reopened: { fd: number; path: string } | undefined;
  const flush = () => {
    if (!pending) return;
    const text = pending;
    pending = '';
    if (reopened) writeSync(reopened.fd, text, null, 'latin1'); else opts.out(text);
  };
  const write = (text: string) => {
    pending += text;
    if (pending.length >= OUTPUT_CHUNK_CHARS) flush();
  };
  const err = (text: string) => { flush(); opts.err(text); };
  const interrupted = () => signals.count > 0;
  let newlinePrinted = false;
  /** Ends the wait for records, once it has begun. */
  let stopWaiting: (() => void) | undefined;
  /** Set once tracing has stopped: a signal then changes nothing (no newline either). */
  let stopped = false;
  signals.notify = () => {
    if (stopped) return;
    if (!newlinePrinted && !opts.testing) { newlinePrinted = true; write('\n'); flush(); }
    stopWaiting?.();
  };
  if (interrupted()) signals.notify();
  const printfRenderers = new Map<RecordedAction, RecordRenderer>();
  const printfRenderer = (act: RecordedAction & { kind: 'printf' }): RecordRenderer => {
    let r = printfRenderers.get(act);
    if (r === undefined) { r = compilePrintfAction(act.format, act.args, strsize); printfRenderers.set(act, r); }
    return r;
  };

  const setActivity = (v: number) => {
    const buf = state.lookup(zeroKey)!;
    new DataView(buf.buffer, buf.byteOffset).setBigUint64(STATE.activity, BigInt(v), true);
    state.update(zeroKey, buf);
  };
  const readState = () => {
    const buf = state.lookup(zeroKey)!;
    const dv = new DataView(buf.buffer, buf.byteOffset);
    return { activity: Number(dv.getBigUint64(STATE.activity, true)), dynvarDrops: dv.getBigUint64(STATE.dynvarDrops, true), aggDrops: dv.getBigUint64(STATE.aggDrops, true), bufDrops: dv.getBigUint64(STATE.bufDrops, true), specUnavail: dv.getBigUint64(STATE.specUnavail, true) };
  };

  const decode = (view: DataView, base: number, f: FieldLayout): Value => decodeField(view, base, f, strsize);

  // ----- aggregations

  function aggDesc(a: AggregationSpec): AggDesc {
    const keyTypes: KeyType[] = a.keyFields.map((k): KeyType => (k.decode === 'string' ? { kind: 'string' }
      : k.decode === 'stack' || k.decode === 'ustack' ? { kind: 'stack' }
        : k.decode === 'symbol' || k.decode === 'usymbol' ? { kind: 'symbol' }
          : k.decode === 'bytes' ? { kind: 'bytes', sizeBytes: k.sizeBytes }
            : { kind: 'int', sizeBytes: k.sizeBytes as 1 | 2 | 4 | 8, signed: !!k.signed }));
    return { id: a.id, name: a.name, fn: a.fn, keyTypes, params: a.params };
  }

  function mergeValue(a: AggregationSpec, bytes: Uint8Array, stride: number): AggValue {
    const cpus: DataView[] = [];
    for (let c = 0; c < ncpu; c++) {
      const o = c * stride;
      if (o + a.valueSize > bytes.byteLength) break;
      cpus.push(new DataView(bytes.buffer, bytes.byteOffset + o, a.valueSize));
    }
    return AGGREGATING_FUNCTIONS[a.fn].merge(cpus);
  }

  function snapshot(a: AggregationSpec, packed?: MapSnapshot): AggSnapshot {
    const map = maps.get(a.map)!;
    const desc = aggDesc(a);
    const entries: AggEntry[] = [];
    const stride = map.valueStrideBytes;
    if (a.keyFields.length === 0) {
      // Present once updated on any CPU (the word after the data), even if its data is zero.
      const v = map.lookup(zeroKey);
      let updated = false;
      if (v) for (let c = 0; c < ncpu && !updated; c++) { const o = c * stride + a.valueSize; if (o + 8 <= v.length && v.subarray(o, o + 8).some((b) => b !== 0)) updated = true; }
      if (v && updated) entries.push({ keys: [], value: mergeValue(a, v, stride) });
    } else {
      const snap = packed ?? map.snapshot();
      for (let i = 0; i < snap.count; i++) {
        const key = new DataView(snap.keyBytes.buffer, snap.keyBytes.byteOffset + i * snap.keySizeBytes, snap.keySizeBytes);
        const keys = a.keyFields.map((f) => decode(key, 0, f));
        const value = snap.valueBytes.subarray(i * snap.valueSizeBytes, (i + 1) * snap.valueSizeBytes);
        entries.push({ keys, value: mergeValue(a, value, stride) });
      }
    }
    return { desc, entries, normalize: normalizeBy.get(a.id) };
  }

  /** Exit-time printing of one aggregation: large integer-keyed ones without per-entry objects. */
  function printAggregation(a: AggregationSpec): void {
    let packed: MapSnapshot | undefined;
    if (a.keyFields.length > 0) {
      const map = maps.get(a.map)!;
      packed = map.snapshot();
      if (packed.count === 0) return;
      if (printPackedScalarAggregation(aggDesc(a), a.keyFields, packed, map.valueStrideBytes, normalizeBy.get(a.id), sortOpts, write)) return;
    }
    const snap = snapshot(a, packed);
    if (snap.entries.length) write(formatAggregation(snap, sortOpts));
  }

  // ----- records

  const sortOpts = opts.aggsort;
  /** Output of speculative records, by speculation id, until commit() or discard(). */
  const speculations = new Map<number, string[]>();
  /** Bytes each speculation holds, and the records dropped for want of specsize. */
  const specHeld = new Map<number, number>();
  let specDrops = 0;
  const writeOut = (t: string) => write(t);
  const kept = opts.ringBufferBytes !== undefined ? new RecordRing(opts.ringBufferBytes, { get: () => pending, set: (t) => { pending = t; } }) : undefined;
  function onRecord(view: DataView, offset: number, length: number): void {
    if (length < RECORD_HEADER_BYTES) return;
    const prid = view.getUint32(offset, true);
    const stid = view.getUint32(offset + 4, true);
    const probe = probeById.get(prid);
    if (stid === StidSpecial.ERROR) {
      const clauseIndex = view.getUint32(offset + ErrorRecord.faultingStid, true);
      const code = view.getUint32(offset + ErrorRecord.fault, true);
      const detail = view.getBigUint64(offset + ErrorRecord.value, true);
      const pc = Number(view.getBigUint64(offset + ErrorRecord.pc, true));
      err(formatError({
        clauseIndex, probeId: prid, provider: probe?.provider ?? '', module: probe?.module ?? '', function: probe?.function ?? '', name: probe?.name ?? '',
        kind: FAULT_KIND[code] ?? 'unknown', detail, pc,
      }));
      return;
    }
    // A speculative record (speculation id in the high half of the clause id) is held until
    // its speculation is committed or discarded.
    const spec = stid >>> 16;
    const clause = clauseById.get(stid & 0xffff);
    if (!clause || !probe) return;
    if (!clause.printsPrefix) return;
    if (spec !== 0 && opts.specsizeBytes !== undefined) {
      // specsize bounds what one speculation holds, counted as dtrace-utils sizes a record
      // (its 16-byte header, ours 8, and the data); a record that does not fit is a drop.
      const size = clause.recordSize + 16 - RECORD_HEADER_BYTES;
      const used = specHeld.get(spec) ?? 0;
      if (used + size > opts.specsizeBytes) { specDrops++; return; }
      specHeld.set(spec, used + size);
    }
    const write = spec === 0 ? writeOut : (t: string) => { const b = speculations.get(spec) ?? []; b.push(t); speculations.set(spec, b); };
    let text = '';
    // A clause whose only data is commit()/discard() prints no line of its own.
    const printsLine = !opts.quiet && (clause.actions.length === 0 || clause.actions.some((x) => x.kind !== 'commit' && x.kind !== 'discard'));
    // The column header is the consumer's own output, never part of a speculation.
    if (printsLine && !headerPrinted) { writeOut(formatHeader(mode)); headerPrinted = true; }
    if (printsLine) text += formatRecordPrefix(mode, 0, probe);
    for (const act of clause.actions) {
      switch (act.kind) {
        case 'trace':
          if (opts.rawbytes && act.field.decode !== 'stack' && act.field.decode !== 'ustack') {
            // The recorded bytes as they are (strings with their NUL padding).
            const f = act.field;
            text += formatRawBytes(new Uint8Array(view.buffer, view.byteOffset + offset + f.offset, f.sizeBytes));
          } else text += formatTrace(decode(view, offset, act.field), opts.quiet);
          break;
        case 'stack': text += formatTrace(decode(view, offset, act.field), opts.quiet); break;
        case 'tracemem': {
          const bytes = decode(view, offset, act.field);
          const dyn = act.dynSize ? decode(view, offset, act.dynSize) : undefined;
          if (bytes.kind === 'bytes') text += formatTracemem(bytes.bytes, dyn?.kind === 'int' ? dyn.value : undefined);
          break;
        }
        case 'printf': text += printfRenderer(act)(view, offset); break;
        case 'exit': {
          const v = decode(view, offset, act.field);
          // Every exit() consumed sets the status (illumos chewrec): exit(0) in END after
          // exit(3) in BEGIN ends with 0.
          if (v.kind === 'int') exitStatus = Number(BigInt.asIntN(32, v.value));
          break;
        }
        case 'printa': {
          if (text) { write(text); text = ''; }
          const snaps = act.aggIds.map((id) => aggById.get(id)).filter((a): a is AggregationSpec => !!a).map((a) => aggView(a));
          for (const id of act.aggIds) printed.add(id);
          // printa() without a format: a blank line, then the aggregation (dt_printa).
          if (act.format === undefined) for (const s of snaps) text += '\n' + formatAggregation(s, sortOpts);
          else text += formatPrinta(act.format, snaps, sortOpts);
          break;
        }
        case 'clear': {
          const a = aggById.get(act.aggId);
          if (a) { zeroAggregation(a); resnap(a); }
          break;
        }
        case 'trunc': {
          const a = aggById.get(act.aggId);
          if (a) { truncAggregation(a, act.arg ? (decode(view, offset, act.arg) as { value: bigint }).value : undefined); resnap(a); }
          break;
        }
        case 'normalize': if (act.arg) normalizeBy.set(act.aggId, (decode(view, offset, act.arg) as { value: bigint }).value); break;
        case 'denormalize': normalizeBy.delete(act.aggId); break;
        case 'system': {
          // The command runs to completion with our output flushed first, as DTrace does.
          const cmd = printfRenderer({ kind: 'printf', format: act.format, args: act.args })(view, offset);
          if (text) { write(text); text = ''; }
          flush();
          runSystemCommand(cmd, reopened?.fd);
          break;
        }
        case 'freopen': {
          const file = printfRenderer({ kind: 'printf', format: act.format, args: act.args })(view, offset);
          if (text) { write(text); text = ''; }
          flush();
          if (reopened) { closeSync(reopened.fd); reopened = undefined; }
          if (file !== '') {
            try { reopened = { fd: openSync(file, 'a'), path: file }; } catch (e) { err(`dtrace: failed to freopen ${file}: ${(e as Error).message}\n`); }
          }
          break;
        }
        case 'ftruncate': {
          if (text) { write(text); text = ''; }
          flush();
          if (reopened) ftruncateSync(reopened.fd, 0);
          break;
        }
        case 'setopt': {
          // The option takes effect for the consumer; a bad one is reported like a fault.
          const text = (x: string | FieldLayout): string => {
            if (typeof x === 'string') return x;
            const v = decode(view, offset, x);
            return v.kind === 'string' ? v.value : '';
          };
          const msg = opts.setopt?.(text(act.name), act.value === undefined ? undefined : text(act.value));
          if (msg !== undefined) {
            err(formatLibError({ clauseIndex: stid & 0xffff, probeId: prid, provider: probe.provider, module: probe.module, function: probe.function, name: probe.name }, msg) + '\n');
          }
          break;
        }
        case 'commit': case 'discard': {
          const v = decode(view, offset, act.field);
          const id = v.kind === 'int' ? Number(v.value) : 0;
          const held = speculations.get(id);
          speculations.delete(id);
          specHeld.delete(id);
          if (act.kind === 'commit' && held) { if (text) { write(text); text = ''; } for (const t of held) writeOut(t); }
          break;
        }
        default: break;
      }
    }
    if (printsLine) text += '\n';
    if (text) write(text);
  }

  function zeroAggregation(a: AggregationSpec): void {
    const map = maps.get(a.map)!;
    const zero = new Uint8Array(map.valueBufferSizeBytes);
    if (a.keyFields.length === 0) {
      // clear() zeroes the data but the aggregation still exists: keep the updated words.
      const cur = map.lookup(zeroKey);
      if (cur) for (let c = 0; c * map.valueStrideBytes < cur.length; c++) zero.set(cur.subarray(c * map.valueStrideBytes + a.valueSize, c * map.valueStrideBytes + a.valueSize + 8), c * map.valueStrideBytes + a.valueSize);
      map.update(zeroKey, zero);
      return;
    }
    for (const k of [...map.keys()]) map.update(k, zero);
  }

  /**
   * With aggrate, printa() shows the consumer's last snapshot (dt_aggregate_snap), taken at
   * most once per period — here on printa() and on the switchrate timer. clear()/trunc()
   * update the snapshot of what they change.
   */
  const aggSnaps = new Map<number, AggSnapshot>();
  let lastAggSnapMs = -Infinity;
  function snapAggregationsIfDue(): void {
    const rate = opts.aggrateMs ?? 0;
    if (rate <= 0) return;
    const now = performance.now();
    if (now - lastAggSnapMs < rate) return;
    lastAggSnapMs = now;
    for (const a of compiled.aggregations) aggSnaps.set(a.id, snapshot(a));
  }
  function aggView(a: AggregationSpec): AggSnapshot {
    if (!(opts.aggrateMs && opts.aggrateMs > 0)) return snapshot(a);
    snapAggregationsIfDue();
    return aggSnaps.get(a.id) ?? snapshot(a);
  }
  function resnap(a: AggregationSpec): void { if (aggSnaps.has(a.id)) aggSnaps.set(a.id, snapshot(a)); }

  function truncAggregation(a: AggregationSpec, n: bigint | undefined): void {
    const map = maps.get(a.map)!;
    if (n === undefined || n === 0n || a.keyFields.length === 0) {
      if (a.keyFields.length === 0) map.update(zeroKey, new Uint8Array(map.valueBufferSizeBytes)); else map.clear();
      return;
    }
    // Keep the top n (bottom |n|) entries as DTrace's value walk ranks them (histograms by
    // their weighted totals, ties by key): the same order the consumer prints.
    const packed = map.snapshot();
    const snap = snapshot(a, packed);
    const kept = new Set(truncEntries(snap, n).entries);
    snap.entries.forEach((e, i) => {
      if (!kept.has(e)) map.delete(packed.keyBytes.slice(i * packed.keySizeBytes, (i + 1) * packed.keySizeBytes));
    });
  }

  // While the producer is busy the reader holds the last record (no kernel wake-ups, see
  // ringbuf.ts) and polls on a short timer; when a poll finds nothing new it releases the
  // record and goes back to sleeping in epoll.
  let busy = false;
  const drain = (): number => {
    const n = ring.drain(kept ? kept.consumer(onRecord) : onRecord, Infinity, busy);
    flush();
    return n;
  };
  const lastDrops = { dyn: 0n, agg: 0n, buf: 0n, specUnavail: 0n, spec: 0 };
  const reportDrops = () => {
    const s = readState();
    if (s.bufDrops > lastDrops.buf) err(formatDrop('principal', s.bufDrops - lastDrops.buf, 0, opts.droptags));
    if (s.aggDrops > lastDrops.agg) err(formatDrop('aggregation', s.aggDrops - lastDrops.agg, 0, opts.droptags));
    if (s.dynvarDrops > lastDrops.dyn) err(formatDrop('dynamic', s.dynvarDrops - lastDrops.dyn, 0, opts.droptags));
    if (specDrops > lastDrops.spec) err(formatDrop('speculation', BigInt(specDrops - lastDrops.spec), 0, opts.droptags));
    lastDrops.spec = specDrops;
    if (s.specUnavail > lastDrops.specUnavail) err(formatDrop('specunavail', s.specUnavail - lastDrops.specUnavail, 0, opts.droptags));
    lastDrops.buf = s.bufDrops; lastDrops.agg = s.aggDrops; lastDrops.dyn = s.dynvarDrops; lastDrops.specUnavail = s.specUnavail;
  };

  const rawCtx = rawTracepointArgs([0, 0]);
  const runSpecial = (mode: 'begin' | 'end') => {
    for (const p of loaded.programs) if (p.plan.runMode === mode) testRun(p.prog, { ctxIn: rawCtx });
    // BEGIN's records are consumed once the probes are attached: what they do (system(),
    // output) must be seen by the enabled probes, as in DTrace where the consumer runs after
    // dtrace_go().
    if (mode === 'end') { drain(); if (kept) write(kept.take()); }
  };

  try {
    // BEGIN runs first, in this process, before anything is attached.
    runSpecial('begin');
    if (readState().activity === Activity.INACTIVE) setActivity(Activity.ACTIVE);
    const providers = opts.providers ?? allProviders();
    let snapTimer: NodeJS.Timeout | undefined;
    if (exitStatus === undefined && readState().activity === Activity.ACTIVE && !interrupted() && !opts.stopRequested?.()) {
      for (const p of loaded.programs) {
        if (p.plan.runMode !== 'attach') continue;
        const provider = providers.find((x) => x.name === p.spec.provider);
        if (provider) links.push(...provider.attach(p.plan, p.prog, (line) => err(`dtrace: warning: ${line}\n`)));
      }
      drain();
      const childDone = opts.onAttached?.();
      // User stacks and symbols are resolved from the process's mappings, which are gone once
      // it exits: while a -c/-p target lives, keep a fresh snapshot of them.
      if (usesUserSymbols(compiled) && opts.targetPid) {
        const pid = opts.targetPid;
        snapshotProcess(pid);
        snapTimer = setInterval(() => { if (existsSync(`/proc/${pid}`)) snapshotProcess(pid); }, 20);
      }
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        let busyTimer: NodeJS.Timeout | undefined;
        const finish = () => {
          if (stopping) return;
          stopping = true;
          ring.stopWaiting();
          if (timer) clearInterval(timer);
          if (snapTimer) clearInterval(snapTimer);
          if (busyTimer) clearTimeout(busyTimer);
          busy = false;
          ring.release();
          stopWaiting = undefined;
          resolve();
        };
        const done = () => exitStatus !== undefined || readState().activity !== Activity.ACTIVE || interrupted() || !!opts.stopRequested?.();
        const check = () => {
          if (stopping) return;
          drain();
          if (done()) finish();
        };
        const busyPoll = () => {
          busyTimer = undefined;
          if (stopping) return;
          const n = drain();
          if (done()) { finish(); return; }
          if (n === 0) {
            busy = false;
            ring.release();
            ring.wait(onReadable); // level-triggered: fires at once if a record slipped in
            return;
          }
          // More than a quarter of the ring filled in one period: poll again at once.
          busyTimer = ring.available() * 4 > ring.sizeBytes ? setTimeout(busyPoll, 0) : setTimeout(busyPoll, BUSY_POLL_MS);
        };
        const onReadable = () => {
          if (stopping) return;
          busy = true;
          ring.stopWaiting();
          check();
          if (!stopping && busyTimer === undefined) busyTimer = setTimeout(busyPoll, BUSY_POLL_MS);
        };
        stopWaiting = finish;
        ring.wait(onReadable);
        timer = setInterval(() => { check(); reportDrops(); snapAggregationsIfDue(); }, Math.max(1, opts.switchrateMs));
        childDone?.then(() => { if (stopping) return; check(); finish(); }, () => finish());
        check();
      });
    }
    // Stop: gate new firings, detach, run END, drain what is left.
    stopped = true;
    setActivity(Activity.DRAINING);
    await closeLinksAsync(links.splice(0).reverse());
    drain();
    runSpecial('end');
    reportDrops();
    write('\n');
    // dt_aggregate_walk_sorted ranks by aggregation first: aggsortrev reverses that order too.
    const atExit = compiled.aggregations.filter((a) => !printed.has(a.id));
    if (opts.aggsort.aggsortrev) atExit.reverse();
    for (const a of atExit) printAggregation(a);
    flush();
    return exitStatus ?? 0;
  } finally {
    for (const l of links) l.close();
    ring.close();
    for (const p of loaded.programs) p.prog.close();
    for (const m of maps.values()) m.close();
  }
}
