/**
 * @fileoverview Running a compiled program: create the maps, load and verify the programs, run
 * BEGIN, attach, consume the ring buffer until exit()/a signal/the -c command ends, detach,
 * run END, and print what is left (aggregations). The consumer decodes records in place and
 * hands plain values to consume/format.
 */
import { createMap, type BpfMap, possibleCpus } from '../bpf/map.js';
import { loadProgram, testRun, rawTracepointArgs, type BpfProgram } from '../bpf/program.js';
import { openRingBuffer, type RingBuffer } from '../bpf/ringbuf.js';
import type { Link } from '../bpf/link.js';
import { VerifierError } from '../bpf/errors.js';
import { link as linkInsns, encode } from '../bpf/asm/encode.js';
import { Helper } from '../bpf/uapi.js';
import { STATE, Activity, Fault } from '../codegen/layout.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, AggregationSpec, ProgramSpecData } from '../codegen/spec.js';
import { RECORD_HEADER_BYTES } from '../codegen/spec.js';
import type { ProgramPlan, Provider } from '../providers/provider.js';
import { PROVIDERS } from '../providers/registry.js';
import type { Value, AggSnapshot, AggEntry, AggValue, KeyType, AggDesc } from '../consume/format/values.js';
import { formatTrace } from '../consume/format/trace.js';
import { formatPrintf } from '../consume/format/printf.js';
import { formatAggregation } from '../consume/format/aggregate.js';
import { formatPrinta } from '../consume/format/printa.js';
import { formatHeader, formatRecordPrefix, type FramingMode } from '../consume/format/framing.js';
import { formatError, formatDrop, type FaultKind } from '../consume/format/messages.js';
import { formatInsn } from '../bpf/asm/disasm.js';
import { slots } from '../bpf/asm/insn.js';

export interface RunOptions {
  quiet: boolean;
  testing: boolean;
  flowindent: boolean;
  droptags: boolean;
  aggsort: { aggsortkey?: boolean; aggsortrev?: boolean; aggsortpos?: number; aggsortkeypos?: number };
  switchrateMs: number;
  /** Write trace output (stdout or -o file). */
  out(text: string): void;
  /** Write a diagnostic line (stderr), already prefixed. */
  err(text: string): void;
  /** Called once probes are attached (start a -c command here); returns a promise of its exit. */
  onAttached?(): Promise<void> | undefined;
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
      const linked = linkInsns(p.insns, { get: (n) => compiled.subprograms.get(n) });
      const bytes = encode(linked, { mapFd: (n) => { const m = maps.get(n); if (!m) throw new LoadError(`program ${p.name}: unknown map ${n}`); return m.fd; } });
      let prog: BpfProgram;
      try {
        prog = loadProgram({ name: p.name.slice(0, 15), type: p.bpfType, insns: bytes });
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
export async function run(compiled: CompiledProgram, opts: RunOptions): Promise<number> {
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
  const decoder = new TextDecoder('latin1');

  const setActivity = (v: number) => {
    const buf = state.lookup(zeroKey)!;
    new DataView(buf.buffer, buf.byteOffset).setBigUint64(STATE.activity, BigInt(v), true);
    state.update(zeroKey, buf);
  };
  const readState = () => {
    const buf = state.lookup(zeroKey)!;
    const dv = new DataView(buf.buffer, buf.byteOffset);
    return { activity: Number(dv.getBigUint64(STATE.activity, true)), dynvarDrops: dv.getBigUint64(STATE.dynvarDrops, true), aggDrops: dv.getBigUint64(STATE.aggDrops, true), bufDrops: dv.getBigUint64(STATE.bufDrops, true) };
  };

  function decodeField(view: DataView, base: number, f: FieldLayout): Value {
    const at = base + f.offset;
    if (f.decode === 'string') {
      let end = at;
      const limit = Math.min(at + strsize, view.byteLength);
      while (end < limit && view.getUint8(end) !== 0) end++;
      return { kind: 'string', value: decoder.decode(new Uint8Array(view.buffer, view.byteOffset + at, end - at)) };
    }
    const raw = view.getBigUint64(at, true);
    const size = f.sizeBytes as 1 | 2 | 4 | 8;
    const value = f.signed ? BigInt.asIntN(size * 8, raw) : BigInt.asUintN(size * 8, raw);
    return { kind: 'int', value, sizeBytes: size, signed: !!f.signed };
  }

  // ----- aggregations

  function aggDesc(a: AggregationSpec): AggDesc {
    const keyTypes: KeyType[] = a.keyFields.map((k) => (k.decode === 'string' ? { kind: 'string' } : { kind: 'int', sizeBytes: k.sizeBytes as 1 | 2 | 4 | 8, signed: !!k.signed }));
    return { id: a.id, name: a.name, fn: a.fn, keyTypes, params: a.params };
  }

  function mergeValue(a: AggregationSpec, bytes: Uint8Array, stride: number): AggValue {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const words = a.valueSize / 8;
    const sum = new Array<bigint>(words).fill(0n);
    let minmax: bigint | undefined;
    for (let c = 0; c < ncpu; c++) {
      const o = c * stride;
      if (o + a.valueSize > bytes.byteLength) break;
      if (a.fn === 'min' || a.fn === 'max') {
        if (dv.getBigUint64(o, true) === 0n) continue;
        const v = dv.getBigInt64(o + 8, true);
        if (minmax === undefined || (a.fn === 'min' ? v < minmax : v > minmax)) minmax = v;
        continue;
      }
      if (a.fn === 'stddev') {
        sum[0]! += dv.getBigUint64(o, true);
        sum[1]! += dv.getBigInt64(o + 8, true);
        const sq = (dv.getBigUint64(o + 24, true) << 64n) | dv.getBigUint64(o + 16, true);
        sum[2]! += sq;
        continue;
      }
      for (let w = 0; w < words; w++) sum[w]! += dv.getBigInt64(o + 8 * w, true);
    }
    switch (a.fn) {
      case 'count': case 'sum': return { kind: 'scalar', value: BigInt.asIntN(64, sum[0]!) };
      case 'min': case 'max': return { kind: 'scalar', value: minmax ?? 0n };
      case 'avg': return { kind: 'avg', count: sum[0]!, sum: BigInt.asIntN(64, sum[1]!) };
      case 'stddev': return { kind: 'stddev', count: sum[0]!, sum: BigInt.asIntN(64, sum[1]!), sumSq: sum[2]! };
      default: return { kind: 'hist', buckets: sum };
    }
  }

  function snapshot(a: AggregationSpec): AggSnapshot {
    const map = maps.get(a.map)!;
    const desc = aggDesc(a);
    const entries: AggEntry[] = [];
    const stride = map.valueStrideBytes;
    if (a.keyFields.length === 0) {
      const v = map.lookup(zeroKey);
      if (v && v.some((b) => b !== 0)) entries.push({ keys: [], value: mergeValue(a, v, stride) });
    } else {
      const snap = map.snapshot();
      for (let i = 0; i < snap.count; i++) {
        const key = new DataView(snap.keyBytes.buffer, snap.keyBytes.byteOffset + i * snap.keySizeBytes, snap.keySizeBytes);
        const keys = a.keyFields.map((f) => decodeField(key, 0, f));
        const value = snap.valueBytes.subarray(i * snap.valueSizeBytes, (i + 1) * snap.valueSizeBytes);
        entries.push({ keys, value: mergeValue(a, value, stride) });
      }
    }
    return { desc, entries, normalize: normalizeBy.get(a.id) };
  }

  // ----- records

  const sortOpts = opts.aggsort;
  function onRecord(view: DataView, offset: number, length: number): void {
    if (length < RECORD_HEADER_BYTES) return;
    const prid = view.getUint32(offset, true);
    const stid = view.getUint32(offset + 4, true);
    const probe = probeById.get(prid);
    if (stid === 0xffffffff) {
      const clauseIndex = view.getUint32(offset + 8, true);
      const code = view.getUint32(offset + 12, true);
      const detail = view.getBigUint64(offset + 16, true);
      const pc = Number(view.getBigUint64(offset + 24, true));
      opts.err(formatError({
        clauseIndex, probeId: prid, provider: probe?.provider ?? '', module: probe?.module ?? '', function: probe?.function ?? '', name: probe?.name ?? '',
        kind: FAULT_KIND[code] ?? 'unknown', detail, pc,
      }));
      return;
    }
    const clause = clauseById.get(stid);
    if (!clause || !probe) return;
    if (!clause.printsPrefix) return;
    let text = '';
    const printsLine = !opts.quiet;
    if (printsLine && !headerPrinted) { text += formatHeader(mode); headerPrinted = true; }
    if (printsLine) text += formatRecordPrefix(mode, 0, probe);
    for (const act of clause.actions) {
      switch (act.kind) {
        case 'trace': text += formatTrace(decodeField(view, offset, act.field), opts.quiet); break;
        case 'printf': text += formatPrintf(act.format, act.args.map((f) => decodeField(view, offset, f)), { strsizeBytes: strsize }); break;
        case 'exit': {
          const v = decodeField(view, offset, act.field);
          if (exitStatus === undefined && v.kind === 'int') exitStatus = Number(BigInt.asIntN(32, v.value));
          break;
        }
        case 'printa': {
          if (text) { opts.out(text); text = ''; }
          const snaps = act.aggIds.map((id) => aggById.get(id)).filter((a): a is AggregationSpec => !!a).map(snapshot);
          for (const id of act.aggIds) printed.add(id);
          if (act.format === undefined) for (const s of snaps) text += formatAggregation(s, sortOpts);
          else text += formatPrinta(act.format, snaps, sortOpts);
          break;
        }
        case 'clear': {
          const a = aggById.get(act.aggId);
          if (a) zeroAggregation(a);
          break;
        }
        case 'trunc': {
          const a = aggById.get(act.aggId);
          if (a) truncAggregation(a, act.arg ? (decodeField(view, offset, act.arg) as { value: bigint }).value : undefined);
          break;
        }
        case 'normalize': if (act.arg) normalizeBy.set(act.aggId, (decodeField(view, offset, act.arg) as { value: bigint }).value); break;
        case 'denormalize': normalizeBy.delete(act.aggId); break;
        default: break;
      }
    }
    if (printsLine) text += '\n';
    if (text) opts.out(text);
  }

  function zeroAggregation(a: AggregationSpec): void {
    const map = maps.get(a.map)!;
    const zero = new Uint8Array(map.valueBufferSizeBytes);
    if (a.keyFields.length === 0) { map.update(zeroKey, zero); return; }
    for (const k of [...map.keys()]) map.update(k, zero);
  }

  function truncAggregation(a: AggregationSpec, n: bigint | undefined): void {
    const map = maps.get(a.map)!;
    if (n === undefined || n === 0n || a.keyFields.length === 0) {
      if (a.keyFields.length === 0) map.update(zeroKey, new Uint8Array(map.valueBufferSizeBytes)); else map.clear();
      return;
    }
    // Keep the top n (bottom |n|) entries by value, as formatAggregation sorts them.
    const snap = map.snapshot();
    const scored: { key: Uint8Array; v: bigint }[] = [];
    for (let i = 0; i < snap.count; i++) {
      const value = mergeValue(a, snap.valueBytes.subarray(i * snap.valueSizeBytes, (i + 1) * snap.valueSizeBytes), map.valueStrideBytes);
      const v = value.kind === 'scalar' ? value.value : value.kind === 'avg' ? (value.count ? value.sum / value.count : 0n) : 0n;
      scored.push({ key: snap.keyBytes.slice(i * snap.keySizeBytes, (i + 1) * snap.keySizeBytes), v });
    }
    scored.sort((x, y) => (x.v < y.v ? 1 : x.v > y.v ? -1 : 0));
    const keep = n > 0n ? scored.slice(0, Number(n)) : scored.slice(scored.length + Number(n));
    const keepSet = new Set(keep);
    for (const s of scored) if (!keepSet.has(s)) map.delete(s.key);
  }

  const drain = () => { ring.drain(onRecord); };
  const lastDrops = { dyn: 0n, agg: 0n, buf: 0n };
  const reportDrops = () => {
    const s = readState();
    if (s.bufDrops > lastDrops.buf) opts.err(formatDrop('principal', s.bufDrops - lastDrops.buf, 0, opts.droptags));
    if (s.aggDrops > lastDrops.agg) opts.err(formatDrop('aggregation', s.aggDrops - lastDrops.agg, 0, opts.droptags));
    if (s.dynvarDrops > lastDrops.dyn) opts.err(formatDrop('dynamic', s.dynvarDrops - lastDrops.dyn, 0, opts.droptags));
    lastDrops.buf = s.bufDrops; lastDrops.agg = s.aggDrops; lastDrops.dyn = s.dynvarDrops;
  };

  const rawCtx = rawTracepointArgs([0, 0]);
  const runSpecial = (mode: 'begin' | 'end') => {
    for (const p of loaded.programs) if (p.plan.runMode === mode) testRun(p.prog, { ctxIn: rawCtx });
    drain();
  };

  try {
    // BEGIN runs first, in this process, before anything is attached.
    runSpecial('begin');
    if (readState().activity === Activity.INACTIVE) setActivity(Activity.ACTIVE);
    const providers = opts.providers ?? PROVIDERS;
    if (exitStatus === undefined && readState().activity === Activity.ACTIVE) {
      for (const p of loaded.programs) {
        if (p.plan.runMode !== 'attach') continue;
        const provider = providers.find((x) => x.name === p.spec.provider);
        if (provider) links.push(...provider.attach(p.plan, p.prog));
      }
      const childDone = opts.onAttached?.();
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = () => {
          if (stopping) return;
          stopping = true;
          ring.stopWaiting();
          if (timer) clearInterval(timer);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve();
        };
        const check = () => {
          drain();
          if (exitStatus !== undefined || readState().activity !== Activity.ACTIVE) finish();
        };
        const onSignal = () => { if (!opts.testing && !stopping) opts.out('\n'); finish(); };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        ring.wait(check);
        timer = setInterval(() => { check(); reportDrops(); }, Math.max(1, opts.switchrateMs));
        childDone?.then(() => { check(); finish(); }, () => finish());
        check();
      });
    }
    // Stop: gate new firings, detach, run END, drain what is left.
    setActivity(Activity.DRAINING);
    for (const l of links.splice(0).reverse()) l.close();
    drain();
    runSpecial('end');
    reportDrops();
    opts.out('\n');
    for (const a of compiled.aggregations) {
      if (printed.has(a.id)) continue;
      const snap = snapshot(a);
      if (snap.entries.length) opts.out(formatAggregation(snap, sortOpts));
    }
    return exitStatus ?? 0;
  } finally {
    for (const l of links) l.close();
    ring.close();
    for (const p of loaded.programs) p.prog.close();
    for (const m of maps.values()) m.close();
  }
}
