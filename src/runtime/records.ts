/**
 * @fileoverview The consumer of trace records: each ring-buffer record (probe id, clause id,
 * data) becomes the text DTrace prints for it, its actions run (printa, exit, system, freopen,
 * setopt, speculations), and a listener may see the record as an event.
 */
import { runSystemCommand } from './process.js';
import type { TraceOutput } from './output.js';
import type { AggregationTable } from './aggregations.js';
import { RecordWalk, type WalkedRecord } from './record-walk.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, AggregationSpec, RecordedAction, ProbeInfo } from '../program/spec.js';
import { formatTrace, formatTracemem, formatRawBytes } from '../consume/format/trace.js';
import { formatPrint } from '../consume/format/print-type.js';
import { PcapFiles } from './pcap-files.js';
import { compilePrintfAction, type RecordRenderer } from '../consume/record.js';
import { formatAggregation } from '../consume/format/aggregate.js';
import { formatPrinta } from '../consume/format/printa.js';
import type { FormatContext } from '../consume/format/printf.js';
import { addressFormatContext } from './format-symbols.js';
import { formatHeader, formatRecordPrefix, flowStep, newFlowState, type FramingMode } from '../consume/format/framing.js';

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
  /** The -c / -p process: `%A` of a plain integer names its symbols. */
  targetPid?: number;
}

export class RecordConsumer extends RecordWalk {
  private headerPrinted = false;
  private readonly mode: FramingMode;
  private readonly printfRenderers = new Map<RecordedAction, RecordRenderer>();
  private readonly pcapFiles = new PcapFiles();
  /** `%a`/`%A` of a plain integer in printf()/printa() formats: kernel/target symbols. */
  private readonly formatCtx: FormatContext;

  constructor(compiled: CompiledProgram, private readonly opts: RecordOptions, output: TraceOutput, aggs: AggregationTable) {
    super(compiled, opts, output, aggs);
    this.mode = { quiet: opts.quiet, testing: opts.testing, flowindent: opts.flowindent, flow: newFlowState() };
    this.formatCtx = addressFormatContext(opts.targetPid);
  }

  private printfRenderer(act: { format: string; args: FieldLayout[] }, key: RecordedAction | undefined): RecordRenderer {
    let r = key && this.printfRenderers.get(key);
    if (r === undefined) { r = compilePrintfAction(act.format, act.args, this.compiled.strsize, this.formatCtx); if (key) this.printfRenderers.set(key, r); }
    return r;
  }

  /** A clause's record: its text, written out or, for a speculative record, held until its speculation is committed or discarded. */
  protected consume(record: WalkedRecord): void {
    const { probe, clause, view, offset, spec, clauseId, cpu } = record;
    const listener = spec === 0 ? this.opts.onRecord : undefined;
    let printed = '';
    const write = spec === 0
      ? (listener ? (t: string) => { printed += t; this.output.write(t); } : (t: string) => this.output.write(t))
      : (t: string) => this.hold(spec, t);
    // A clause whose only data is commit()/discard() prints no line of its own; with -F the
    // prefix (indent and ->/<- marker) is printed even when quiet, as dtrace(8) does.
    const printsLine = (!this.opts.quiet || this.opts.flowindent) && (clause.actions.length === 0 || clause.actions.some((x) => x.kind !== 'commit' && x.kind !== 'discard'));
    // The column header is the consumer's own output, never part of a speculation.
    if (printsLine && !this.headerPrinted) { this.output.write(formatHeader(this.mode)); this.headerPrinted = true; }
    const flow = this.mode.flowindent && this.mode.flow ? flowStep(this.mode.flow, probe, clauseId) : undefined;
    let text = printsLine ? formatRecordPrefix(this.mode, cpu, probe, flow) : '';
    for (const act of clause.actions) text = this.runAction(act, record, text, write);
    if (printsLine && !this.opts.quiet) text += '\n';
    if (text) write(text);
    listener?.({ probe, clause, view, offset, cpu, text: printed });
  }

  /** A fault's record: DTrace's error message, on stderr. */
  protected reportError(message: string): void { this.output.err(message); }

  /**
   * One action of a record: returns the record's text so far (`text` with this action's own
   * text added; an action that must come after what precedes it writes `text` out first).
   */
  private runAction(act: RecordedAction, record: WalkedRecord, text: string, write: (t: string) => void): string {
    const out = this.output, { view, offset } = record;
    const flushText = () => { if (text) { write(text); text = ''; } };
    if (this.applyStateAction(act, view, offset)) return text;
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
      case 'printa': {
        flushText();
        const aggs = this.aggs;
        const snaps = act.aggIds.map((id) => aggs.byId.get(id)).filter((a): a is AggregationSpec => !!a).map((a) => aggs.view(a));
        for (const id of act.aggIds) aggs.printed.add(id);
        // printa() without a format: a blank line, then the aggregation (dt_printa).
        // Several aggregations without a format are joined on their keys (dt_print_aggs).
        if (act.format === undefined && snaps.length === 1) text += '\n' + formatAggregation(snaps[0]!, aggs.sortOpts);
        else if (act.format === undefined) text += formatPrinta(undefined, snaps, { ...aggs.sortOpts, ctx: this.formatCtx });
        else text += formatPrinta(act.format, snaps, { ...aggs.sortOpts, ctx: this.formatCtx });
        return text;
      }
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
        // A bad option is reported like a fault.
        const msg = this.setopt(act, record);
        if (msg !== undefined) out.err(msg + '\n');
        return text;
      }
      case 'commit': case 'discard': {
        const held = this.endSpeculation(act, view, offset);
        if (held) { flushText(); for (const t of held) this.output.write(t); }
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
