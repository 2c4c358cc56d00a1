/**
 * @fileoverview The consumer of trace records under `-x oformat=json`: each clause record
 * becomes one FreeBSD-shaped probe object on its own line (consume/format/json-output.ts),
 * with the same actions as the text consumer (records.ts): printa, exit, clear/trunc,
 * speculations, freopen, setopt. system()'s command writes to stderr so the stream stays JSON.
 */
import { formatPrint } from '../consume/format/print-type.js';
import { runSystemCommand } from './process.js';
import type { TraceOutput } from './output.js';
import type { AggregationTable } from './aggregations.js';
import type { RecordOptions } from './records.js';
import { RecordWalk, type WalkedRecord } from './record-walk.js';
import type { CompiledProgram, FieldLayout, AggregationSpec, RecordedAction } from '../program/spec.js';
import { compilePrintfAction } from '../consume/record.js';
import { jsonDatum, jsonAggregation, jsonProbeLine, jsonInternalLine, jsonText, type Json } from '../consume/format/json-output.js';

/** An aggregation at exit under oformat=json: one line in printa()'s shape ('' when empty). */
export function jsonExitAggregation(a: AggregationSpec, aggs: AggregationTable): string {
  const snap = aggs.snapshot(a);
  return snap.entries.length === 0 ? '' : jsonText(jsonAggregation(snap)) + '\n';
}

export class JsonRecordConsumer extends RecordWalk {
  constructor(compiled: CompiledProgram, private readonly opts: RecordOptions, output: TraceOutput, aggs: AggregationTable) {
    super(compiled, opts, output, aggs);
  }

  private printf(act: { format: string; args: FieldLayout[] }, view: DataView, offset: number): string {
    return compilePrintfAction(act.format, act.args, this.compiled.strsize)(view, offset);
  }

  /** A clause's record: one probe line, written out or held with its speculation. */
  protected consume(record: WalkedRecord): void {
    const { probe, clause, view, offset, spec, cpu } = record;
    const items: Json[] = [];
    const committed: string[] = [];
    for (const act of clause.actions) this.runAction(act, record, items, committed);
    const onlySpeculationControl = clause.actions.length > 0 && clause.actions.every((x) => x.kind === 'commit' || x.kind === 'discard');
    const line = onlySpeculationControl ? '' : jsonProbeLine(probe, cpu, items);
    if (spec !== 0) {
      if (line) this.hold(spec, line);
      return;
    }
    if (line) this.output.write(line);
    for (const l of committed) this.output.write(l);
    if (this.opts.onRecord && line) this.opts.onRecord({ probe, clause, view, offset, cpu, text: line });
  }

  /** A fault's record: DTrace's message as an internal ERROR line, so the stream stays JSON. */
  protected reportError(message: string): void { this.output.write(jsonInternalLine('ERROR', message)); }

  private runAction(act: RecordedAction, record: WalkedRecord, items: Json[], committed: string[]): void {
    const { view, offset } = record;
    if (this.applyStateAction(act, view, offset)) return;
    switch (act.kind) {
      case 'trace': case 'tracemem': items.push(jsonDatum(this.decode(view, offset, act.field))); return;
      case 'stack': items.push(jsonDatum(this.decode(view, offset, act.field), act.user)); return;
      case 'print': {
        // The object as print() lays it out (its lines), under the pointer it was read from.
        const addr = this.decode(view, offset, act.addr);
        const bytes = new Uint8Array(view.buffer, view.byteOffset + offset + act.field.offset, act.field.sizeBytes);
        items.push({ print: formatPrint(addr.kind === 'int' ? addr.value : 0n, act.field.type, bytes, this.opts.printsize?.() ?? 8192) });
        return;
      }
      case 'pcap': {
        const len = this.decode(view, offset, act.length);
        const n = len.kind === 'int' ? Math.min(Number(len.value), act.field.sizeBytes, this.opts.pcapsize?.() ?? 1514) : 0;
        if (n > 0) items.push({ pcap: Buffer.from(view.buffer, view.byteOffset + offset + act.field.offset, n).toString('hex') });
        return;
      }
      case 'printf': {
        items.push({ message: this.printf(act, view, offset) });
        for (const f of act.args) items.push(jsonDatum(this.decode(view, offset, f)));
        return;
      }
      case 'printa':
        for (const id of act.aggIds) {
          const a = this.aggs.byId.get(id);
          this.aggs.printed.add(id);
          if (a) items.push(jsonAggregation(this.aggs.view(a)));
        }
        return;
      case 'system': {
        const cmd = this.printf(act, view, offset);
        items.push({ system: cmd });
        this.output.flush();
        runSystemCommand(cmd, 2);
        return;
      }
      case 'freopen': this.output.reopen(this.printf(act, view, offset)); return;
      case 'ftruncate': this.output.truncate(); return;
      case 'setopt': {
        const msg = this.setopt(act, record);
        if (msg !== undefined) this.output.write(jsonInternalLine('ERROR', msg));
        return;
      }
      case 'commit': case 'discard': {
        const held = this.endSpeculation(act, view, offset);
        if (held) committed.push(...held);
        return;
      }
      default: return;
    }
  }
}
