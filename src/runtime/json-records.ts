/**
 * @fileoverview The consumer of trace records under `-x oformat=json`: each clause record
 * becomes one FreeBSD-shaped probe object on its own line (consume/format/json-output.ts),
 * with the same actions as the text consumer (records.ts): printa, exit, clear/trunc,
 * speculations, freopen, setopt. system()'s command writes to stderr so the stream stays JSON.
 */
import { formatPrint } from '../consume/format/print-type.js';
import { SpeculationBudget } from './speculation-budget.js';
import { runSystemCommand } from './process.js';
import type { TraceOutput } from './output.js';
import type { AggregationTable } from './aggregations.js';
import type { RecordOptions } from './records.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, AggregationSpec, ProbeInfo } from '../program/spec.js';
import { RECORD_HEADER_BYTES, RecordHeader, StidSpecial, ErrorRecord } from '../program/spec.js';
import { Fault } from '../codegen/layout.js';
import type { Value } from '../consume/format/values.js';
import { compilePrintfAction, decodeField } from '../consume/record.js';
import { formatError, formatLibError, type FaultKind } from '../consume/format/messages.js';
import { jsonDatum, jsonAggregation, jsonProbeLine, jsonInternalLine, jsonText, type Json } from '../consume/format/json-output.js';

const FAULT_KIND: Record<number, FaultKind> = {
  [Fault.BADADDR]: 'badaddr', [Fault.BADALIGN]: 'badalign', [Fault.ILLOP]: 'illop', [Fault.DIVZERO]: 'divzero',
  [Fault.NOSCRATCH]: 'nospace', [Fault.KPRIV]: 'kprivilege', [Fault.UPRIV]: 'uprivilege', [Fault.TUPOFLOW]: 'tupoflow',
  [Fault.BADSTACK]: 'badstack', [Fault.BADSIZE]: 'badsize', [Fault.BADINDEX]: 'oob',
};

type SetoptAction = Extract<ClauseSpec['actions'][number], { kind: 'setopt' }>;

/** An aggregation at exit under oformat=json: one line in printa()'s shape ('' when empty). */
export function jsonExitAggregation(a: AggregationSpec, aggs: AggregationTable): string {
  const snap = aggs.snapshot(a);
  return snap.entries.length === 0 ? '' : jsonText(jsonAggregation(snap)) + '\n';
}

export class JsonRecordConsumer {
  exitStatus: number | undefined;
  /** Records dropped for want of specsize. */
  get specDrops(): number { return this.budget.drops; }
  private readonly clauseById: Map<number, ClauseSpec>;
  private readonly probeById: Map<number, ProbeInfo>;
  /** Lines of speculative records, by speculation id, until commit() or discard(). */
  private readonly speculations = new Map<number, string[]>();
  private readonly budget: SpeculationBudget;

  constructor(
    private readonly compiled: CompiledProgram,
    private readonly opts: RecordOptions,
    private readonly output: TraceOutput,
    private readonly aggs: AggregationTable,
  ) {
    this.clauseById = new Map(compiled.clauses.map((c) => [c.stid, c]));
    this.budget = new SpeculationBudget(opts.specsizeBytes);
    this.probeById = new Map(compiled.probes.map((p) => [p.id, p]));
  }

  private decode(view: DataView, base: number, f: FieldLayout): Value { return decodeField(view, base, f, this.compiled.strsize); }

  private printf(act: { format: string; args: FieldLayout[] }, view: DataView, offset: number): string {
    return compilePrintfAction(act.format, act.args, this.compiled.strsize)(view, offset);
  }

  readonly onRecord = (view: DataView, offset: number, length: number): void => {
    if (length < RECORD_HEADER_BYTES) return;
    const prid = view.getUint32(offset, true);
    const stid = view.getUint32(offset + 4, true);
    const probe = this.probeById.get(prid);
    if (stid === StidSpecial.ERROR) { this.onError(view, offset, prid, probe); return; }
    const cpu = view.getUint32(offset + RecordHeader.cpu, true);
    const spec = stid >>> 16;
    const clause = this.clauseById.get(stid & 0xffff);
    if (!clause || !probe || !clause.printsPrefix) return;
    if (!this.budget.admit(spec, clause.recordSize)) return;
    const items: Json[] = [];
    const committed: string[] = [];
    for (const act of clause.actions) this.runAction(act, view, offset, items, committed, stid, prid, probe);
    const onlySpeculationControl = clause.actions.length > 0 && clause.actions.every((x) => x.kind === 'commit' || x.kind === 'discard');
    const line = onlySpeculationControl ? '' : jsonProbeLine(probe, cpu, items);
    if (spec !== 0) {
      if (line) { const b = this.speculations.get(spec) ?? []; b.push(line); this.speculations.set(spec, b); }
      return;
    }
    if (line) this.output.write(line);
    for (const l of committed) this.output.write(l);
    if (this.opts.onRecord && line) this.opts.onRecord({ probe, clause, view, offset, cpu, text: line });
  };

  private onError(view: DataView, offset: number, prid: number, probe: ProbeInfo | undefined): void {
    const clauseIndex = view.getUint32(offset + ErrorRecord.faultingStid, true);
    const code = view.getUint32(offset + ErrorRecord.fault, true);
    const detail = view.getBigUint64(offset + ErrorRecord.value, true);
    const pc = Number(view.getBigUint64(offset + ErrorRecord.pc, true));
    const msg = formatError({
      clauseIndex, probeId: prid, provider: probe?.provider ?? '', module: probe?.module ?? '', function: probe?.function ?? '', name: probe?.name ?? '',
      kind: FAULT_KIND[code] ?? 'unknown', detail, pc,
    });
    this.output.write(jsonInternalLine('ERROR', msg));
  }

  private runAction(act: ClauseSpec['actions'][number], view: DataView, offset: number, items: Json[], committed: string[], stid: number, prid: number, probe: ProbeInfo): void {
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
      case 'exit': {
        const v = this.decode(view, offset, act.field);
        if (v.kind === 'int') this.exitStatus = Number(BigInt.asIntN(32, v.value));
        return;
      }
      case 'printa':
        for (const id of act.aggIds) {
          const a = this.aggs.byId.get(id);
          this.aggs.printed.add(id);
          if (a) items.push(jsonAggregation(this.aggs.view(a)));
        }
        return;
      case 'clear': { const a = this.aggs.byId.get(act.aggId); if (a) this.aggs.zero(a); return; }
      case 'trunc': {
        const a = this.aggs.byId.get(act.aggId);
        if (a) this.aggs.trunc(a, act.arg ? (this.decode(view, offset, act.arg) as { value: bigint }).value : undefined);
        return;
      }
      case 'normalize': if (act.arg) this.aggs.normalizeBy.set(act.aggId, (this.decode(view, offset, act.arg) as { value: bigint }).value); return;
      case 'denormalize': this.aggs.normalizeBy.delete(act.aggId); return;
      case 'system': {
        const cmd = this.printf(act, view, offset);
        items.push({ system: cmd });
        this.output.flush();
        runSystemCommand(cmd, 2);
        return;
      }
      case 'freopen': this.output.reopen(this.printf(act, view, offset)); return;
      case 'ftruncate': this.output.truncate(); return;
      case 'setopt': this.setopt(act, view, offset, stid, prid, probe); return;
      case 'commit': case 'discard': {
        const v = this.decode(view, offset, act.field);
        const id = v.kind === 'int' ? Number(v.value) : 0;
        const held = this.speculations.get(id);
        this.speculations.delete(id);
        this.budget.release(id);
        if (act.kind === 'commit' && held) committed.push(...held);
        return;
      }
      default: return;
    }
  }

  private setopt(act: SetoptAction, view: DataView, offset: number, stid: number, prid: number, probe: ProbeInfo): void {
    const str = (x: string | FieldLayout): string => {
      if (typeof x === 'string') return x;
      const v = this.decode(view, offset, x);
      return v.kind === 'string' ? v.value : '';
    };
    const msg = this.opts.setopt?.(str(act.name), act.value === undefined ? undefined : str(act.value));
    if (msg !== undefined) {
      this.output.write(jsonInternalLine('ERROR', formatLibError({ clauseIndex: stid & 0xffff, probeId: prid, provider: probe.provider, module: probe.module, function: probe.function, name: probe.name }, msg)));
    }
  }
}
