/**
 * @fileoverview The consumer of trace records: each ring-buffer record (probe id, clause id,
 * data) becomes the text DTrace prints for it, its actions run (printa, exit, system, freopen,
 * setopt, speculations), and a listener may see the record as an event.
 */
import { SpeculationBudget } from './speculation-budget.js';
import { runSystemCommand } from './process.js';
import type { TraceOutput } from './output.js';
import type { AggregationTable } from './aggregations.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, AggregationSpec, RecordedAction, ProbeInfo } from '../program/spec.js';
import { RECORD_HEADER_BYTES, RecordHeader, StidSpecial, ErrorRecord } from '../program/spec.js';
import { Fault } from '../codegen/layout.js';
import type { Value } from '../consume/format/values.js';
import { formatTrace, formatTracemem, formatRawBytes } from '../consume/format/trace.js';
import { formatPrint } from '../consume/format/print-type.js';
import { PcapFiles } from './pcap-files.js';
import { compilePrintfAction, decodeField, type RecordRenderer } from '../consume/record.js';
import { formatAggregation } from '../consume/format/aggregate.js';
import { formatPrinta } from '../consume/format/printa.js';
import { formatHeader, formatRecordPrefix, flowStep, newFlowState, type FramingMode } from '../consume/format/framing.js';
import { formatError, formatLibError, type FaultKind } from '../consume/format/messages.js';

const FAULT_KIND: Record<number, FaultKind> = {
  [Fault.BADADDR]: 'badaddr', [Fault.BADALIGN]: 'badalign', [Fault.ILLOP]: 'illop', [Fault.DIVZERO]: 'divzero',
  [Fault.NOSCRATCH]: 'nospace', [Fault.KPRIV]: 'kprivilege', [Fault.UPRIV]: 'uprivilege', [Fault.TUPOFLOW]: 'tupoflow',
  [Fault.BADSTACK]: 'badstack', [Fault.BADSIZE]: 'badsize', [Fault.BADINDEX]: 'oob',
};

/** One clause's record as consumed: where its data is, and the text printed for it. */
export interface ConsumedRecord {
  probe: ProbeInfo;
  clause: ClauseSpec;
  view: DataView;
  /** Offset of the record (its header) in view. */
  offset: number;
  /** The CPU the probe fired on. */
  cpu: number;
  /** Exactly what was printed for it (without the column header printed before the first one). */
  text: string;
}

/** The consumer options the records depend on. */
export interface RecordOptions {
  quiet: boolean;
  testing: boolean;
  flowindent: boolean;
  rawbytes?: boolean;
  specsizeBytes?: number;
  setopt?: (name: string, value: string | undefined) => string | undefined;
  /** printsize as it is now (setopt() may change it): the bytes print() shows of an object. */
  printsize?: () => number;
  /** pcapsize as it is now: the bytes of a packet pcap() shows or writes at most. */
  pcapsize?: () => number;
  /** Sees every clause record printed (not a speculative one), once its actions have run. */
  onRecord?: (record: ConsumedRecord) => void;
}

export class RecordConsumer {
  /** The status of the last exit() consumed. */
  exitStatus: number | undefined;
  /** Records dropped for want of specsize. */
  get specDrops(): number { return this.budget.drops; }
  private headerPrinted = false;
  private readonly mode: FramingMode;
  private readonly clauseById: Map<number, ClauseSpec>;
  private readonly probeById: Map<number, ProbeInfo>;
  private readonly printfRenderers = new Map<RecordedAction, RecordRenderer>();
  /** Output of speculative records, by speculation id, until commit() or discard(). */
  private readonly speculations = new Map<number, string[]>();
  private readonly budget: SpeculationBudget;
  private readonly pcapFiles = new PcapFiles();

  constructor(
    private readonly compiled: CompiledProgram,
    private readonly opts: RecordOptions,
    private readonly output: TraceOutput,
    private readonly aggs: AggregationTable,
  ) {
    this.mode = { quiet: opts.quiet, testing: opts.testing, flowindent: opts.flowindent, flow: newFlowState() };
    this.clauseById = new Map(compiled.clauses.map((c) => [c.stid, c]));
    this.budget = new SpeculationBudget(opts.specsizeBytes);
    this.probeById = new Map(compiled.probes.map((p) => [p.id, p]));
  }

  private decode(view: DataView, base: number, f: FieldLayout): Value { return decodeField(view, base, f, this.compiled.strsize); }

  private printfRenderer(act: { format: string; args: FieldLayout[] }, key: RecordedAction | undefined): RecordRenderer {
    let r = key && this.printfRenderers.get(key);
    if (r === undefined) { r = compilePrintfAction(act.format, act.args, this.compiled.strsize); if (key) this.printfRenderers.set(key, r); }
    return r;
  }

  /** The ring buffer's callback: one record. */
  readonly onRecord = (view: DataView, offset: number, length: number): void => {
    if (length < RECORD_HEADER_BYTES) return;
    const prid = view.getUint32(offset, true);
    const stid = view.getUint32(offset + 4, true);
    const probe = this.probeById.get(prid);
    if (stid === StidSpecial.ERROR) { this.onError(view, offset, prid, probe); return; }
    const cpu = view.getUint32(offset + RecordHeader.cpu, true);
    // A speculative record (speculation id in the high half of the clause id) is held until
    // its speculation is committed or discarded.
    const spec = stid >>> 16;
    const clause = this.clauseById.get(stid & 0xffff);
    if (!clause || !probe) return;
    if (!clause.printsPrefix) return;
    if (!this.budget.admit(spec, clause.recordSize)) return;
    const listener = spec === 0 ? this.opts.onRecord : undefined;
    let printed = '';
    const write = spec === 0
      ? (listener ? (t: string) => { printed += t; this.output.write(t); } : (t: string) => this.output.write(t))
      : (t: string) => { const b = this.speculations.get(spec) ?? []; b.push(t); this.speculations.set(spec, b); };
    // A clause whose only data is commit()/discard() prints no line of its own; with -F the
    // prefix (indent and ->/<- marker) is printed even when quiet, as dtrace(8) does.
    const printsLine = (!this.opts.quiet || this.opts.flowindent) && (clause.actions.length === 0 || clause.actions.some((x) => x.kind !== 'commit' && x.kind !== 'discard'));
    // The column header is the consumer's own output, never part of a speculation.
    if (printsLine && !this.headerPrinted) { this.output.write(formatHeader(this.mode)); this.headerPrinted = true; }
    const flow = this.mode.flowindent && this.mode.flow ? flowStep(this.mode.flow, probe, stid & 0xffff) : undefined;
    let text = printsLine ? formatRecordPrefix(this.mode, cpu, probe, flow) : '';
    for (const act of clause.actions) text = this.runAction(act, view, offset, text, write, prid, stid, probe);
    if (printsLine && !this.opts.quiet) text += '\n';
    if (text) write(text);
    listener?.({ probe, clause, view, offset, cpu, text: printed });
  };

  /** A fault's record: DTrace's error message. */
  private onError(view: DataView, offset: number, prid: number, probe: ProbeInfo | undefined): void {
    const clauseIndex = view.getUint32(offset + ErrorRecord.faultingStid, true);
    const code = view.getUint32(offset + ErrorRecord.fault, true);
    const detail = view.getBigUint64(offset + ErrorRecord.value, true);
    const pc = Number(view.getBigUint64(offset + ErrorRecord.pc, true));
    this.output.err(formatError({
      clauseIndex, probeId: prid, provider: probe?.provider ?? '', module: probe?.module ?? '', function: probe?.function ?? '', name: probe?.name ?? '',
      kind: FAULT_KIND[code] ?? 'unknown', detail, pc,
    }));
  }

  /**
   * One action of a record: returns the record's text so far (`text` with this action's own
   * text added; an action that must come after what precedes it writes `text` out first).
   */
  private runAction(act: RecordedAction, view: DataView, offset: number, text: string, write: (t: string) => void, prid: number, stid: number, probe: ProbeInfo): string {
    const out = this.output;
    const flushText = () => { if (text) { write(text); text = ''; } };
    switch (act.kind) {
      case 'trace':
        if (this.opts.rawbytes && act.field.decode !== 'stack' && act.field.decode !== 'ustack') {
          // The recorded bytes as they are (strings with their NUL padding).
          const f = act.field;
          return text + formatRawBytes(new Uint8Array(view.buffer, view.byteOffset + offset + f.offset, f.sizeBytes));
        }
        return text + formatTrace(this.decode(view, offset, act.field), this.opts.quiet);
      case 'stack': return text + formatTrace(this.decode(view, offset, act.field), this.opts.quiet, { stackIndent: this.aggs.sortOpts.stackIndent });
      case 'tracemem': {
        const bytes = this.decode(view, offset, act.field);
        const dyn = act.dynSize ? this.decode(view, offset, act.dynSize) : undefined;
        if (bytes.kind === 'bytes') text += formatTracemem(bytes.bytes, dyn?.kind === 'int' ? dyn.value : undefined);
        return text;
      }
      case 'print': {
        const addr = this.decode(view, offset, act.addr);
        const bytes = new Uint8Array(view.buffer, view.byteOffset + offset + act.field.offset, act.field.sizeBytes);
        return text + formatPrint(addr.kind === 'int' ? addr.value : 0n, act.field.type, bytes, this.opts.printsize?.() ?? 8192);
      }
      case 'pcap': return this.runPcap(act, view, offset, text, write);
      case 'printf': return text + this.printfRenderer(act, act)(view, offset);
      case 'exit': {
        const v = this.decode(view, offset, act.field);
        // Every exit() consumed sets the status (illumos chewrec): exit(0) in END after
        // exit(3) in BEGIN ends with 0.
        if (v.kind === 'int') this.exitStatus = Number(BigInt.asIntN(32, v.value));
        return text;
      }
      case 'printa': {
        flushText();
        const aggs = this.aggs;
        const snaps = act.aggIds.map((id) => aggs.byId.get(id)).filter((a): a is AggregationSpec => !!a).map((a) => aggs.view(a));
        for (const id of act.aggIds) aggs.printed.add(id);
        // printa() without a format: a blank line, then the aggregation (dt_printa).
        if (act.format === undefined) for (const s of snaps) text += '\n' + formatAggregation(s, aggs.sortOpts);
        else text += formatPrinta(act.format, snaps, aggs.sortOpts);
        return text;
      }
      case 'clear': {
        const a = this.aggs.byId.get(act.aggId);
        if (a) this.aggs.zero(a);
        return text;
      }
      case 'trunc': {
        const a = this.aggs.byId.get(act.aggId);
        if (a) this.aggs.trunc(a, act.arg ? (this.decode(view, offset, act.arg) as { value: bigint }).value : undefined);
        return text;
      }
      case 'normalize': if (act.arg) this.aggs.normalizeBy.set(act.aggId, (this.decode(view, offset, act.arg) as { value: bigint }).value); return text;
      case 'denormalize': this.aggs.normalizeBy.delete(act.aggId); return text;
      case 'system': {
        // The command runs to completion with our output flushed first, as DTrace does.
        const cmd = this.printfRenderer(act, undefined)(view, offset);
        flushText();
        out.flush();
        runSystemCommand(cmd, out.reopenedFd);
        return text;
      }
      case 'freopen': {
        const file = this.printfRenderer(act, undefined)(view, offset);
        flushText();
        out.reopen(file);
        return text;
      }
      case 'ftruncate': flushText(); out.truncate(); return text;
      case 'setopt': {
        // The option takes effect for the consumer; a bad one is reported like a fault.
        const str = (x: string | FieldLayout): string => {
          if (typeof x === 'string') return x;
          const v = this.decode(view, offset, x);
          return v.kind === 'string' ? v.value : '';
        };
        const msg = this.opts.setopt?.(str(act.name), act.value === undefined ? undefined : str(act.value));
        if (msg !== undefined) {
          out.err(formatLibError({ clauseIndex: stid & 0xffff, probeId: prid, provider: probe.provider, module: probe.module, function: probe.function, name: probe.name }, msg) + '\n');
        }
        return text;
      }
      case 'commit': case 'discard': {
        const v = this.decode(view, offset, act.field);
        const id = v.kind === 'int' ? Number(v.value) : 0;
        const held = this.speculations.get(id);
        this.speculations.delete(id);
        this.budget.release(id);
        if (act.kind === 'commit' && held) { flushText(); for (const t of held) this.output.write(t); }
        return text;
      }
      default: return text;
    }
  }

  /**
   * pcap(): nothing for an empty capture (a NULL skb); a capture file when output is
   * freopen()ed to one (dt_pcap_filename); otherwise the packet as a tracemem() hex dump.
   * (dtrace-utils would first try to pipe it through tshark; we never do.)
   */
  private runPcap(act: Extract<RecordedAction, { kind: 'pcap' }>, view: DataView, offset: number, text: string, write: (t: string) => void): string {
    const int = (f: FieldLayout): bigint => { const v = this.decode(view, offset, f); return v.kind === 'int' ? v.value : 0n; };
    const length = Number(int(act.length));
    if (length === 0) return text;
    const maxlen = this.opts.pcapsize?.() ?? 1514;
    const data = new Uint8Array(view.buffer, view.byteOffset + offset + act.field.offset, Math.min(length, act.field.sizeBytes));
    const path = this.output.reopenedPath;
    if (path === undefined) return text + formatRawBytes(data.subarray(0, Math.min(length, maxlen)));
    if (text) { write(text); text = ''; }
    const msg = this.pcapFiles.write(path, Number(int(act.proto)), int(act.time), length, data, maxlen);
    if (msg !== undefined) this.output.err(`dtrace: ${msg}\n`);
    return text;
  }

}
