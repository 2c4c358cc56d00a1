/**
 * @fileoverview What the text consumer (records.ts) and the JSON consumer (json-records.ts)
 * share: the record header, the walk from a ring-buffer record to its clause and probe (with the
 * ERROR record and speculation accounting), and the actions whose effect is the consumer's state
 * rather than output: exit status, aggregation clear/trunc/normalize, speculation commit and
 * discard, setopt. Each consumer only says how a record's output is written.
 */
import { SpeculationBudget } from './speculation-budget.js';
import type { TraceOutput } from './output.js';
import type { AggregationTable } from './aggregations.js';
import type { CompiledProgram, ClauseSpec, FieldLayout, RecordedAction, ProbeInfo } from '../program/spec.js';
import { RECORD_HEADER_BYTES, RecordHeader as HeaderField, StidSpecial, ErrorRecord } from '../program/spec.js';
import { Fault } from '../codegen/layout.js';
import type { Value } from '../consume/format/values.js';
import { decodeField } from '../consume/record.js';
import { formatError, formatLibError, type FaultKind } from '../consume/format/messages.js';

const FAULT_KIND: Record<number, FaultKind> = {
  [Fault.BADADDR]: 'badaddr', [Fault.BADALIGN]: 'badalign', [Fault.ILLOP]: 'illop', [Fault.DIVZERO]: 'divzero',
  [Fault.NOSCRATCH]: 'nospace', [Fault.KPRIV]: 'kprivilege', [Fault.UPRIV]: 'uprivilege', [Fault.TUPOFLOW]: 'tupoflow',
  [Fault.BADSTACK]: 'badstack', [Fault.BADSIZE]: 'badsize', [Fault.BADINDEX]: 'oob',
};

/** The header every record starts with: probe id, the clause id with the speculation id in its high half, the CPU. */
export interface RecordHeader {
  prid: number;
  stid: number;
  /** The speculation the record belongs to (0: none). */
  spec: number;
  /** The clause's own id (stid without the speculation). */
  clauseId: number;
  /** The CPU the probe fired on. */
  cpu: number;
}

/** The header of the record at `offset`, or undefined when the record is too short to have one. */
export function decodeRecordHeader(view: DataView, offset: number, length: number): RecordHeader | undefined {
  if (length < RECORD_HEADER_BYTES) return undefined;
  const prid = view.getUint32(offset + HeaderField.prid, true);
  const stid = view.getUint32(offset + HeaderField.stid, true);
  return { prid, stid, spec: stid >>> 16, clauseId: stid & 0xffff, cpu: view.getUint32(offset + HeaderField.cpu, true) };
}

/** DTrace's message for a fault's record (its header's stid is StidSpecial.ERROR). */
export function errorRecordMessage(view: DataView, offset: number, prid: number, probe: ProbeInfo | undefined): string {
  return formatError({
    clauseIndex: view.getUint32(offset + ErrorRecord.faultingStid, true), probeId: prid,
    provider: probe?.provider ?? '', module: probe?.module ?? '', function: probe?.function ?? '', name: probe?.name ?? '',
    kind: FAULT_KIND[view.getUint32(offset + ErrorRecord.fault, true)] ?? 'unknown',
    detail: view.getBigUint64(offset + ErrorRecord.value, true),
    pc: Number(view.getBigUint64(offset + ErrorRecord.pc, true)),
  });
}

/** A clause's record, found and admitted: what a consumer renders. */
export interface WalkedRecord extends RecordHeader {
  probe: ProbeInfo;
  clause: ClauseSpec;
  view: DataView;
  offset: number;
}

/** The consumer options the walk depends on (records.ts's RecordOptions has them). */
export interface WalkOptions {
  specsizeBytes?: number;
  setopt?: (name: string, value: string | undefined) => string | undefined;
}

export abstract class RecordWalk {
  /** The status of the last exit() consumed. */
  exitStatus: number | undefined;
  /** Records dropped for want of specsize. */
  get specDrops(): number { return this.budget.drops; }
  private readonly clauseById: Map<number, ClauseSpec>;
  private readonly probeById: Map<number, ProbeInfo>;
  /** Output of speculative records, by speculation id, until commit() or discard(). */
  private readonly speculations = new Map<number, string[]>();
  private readonly budget: SpeculationBudget;

  constructor(
    protected readonly compiled: CompiledProgram,
    private readonly walkOpts: WalkOptions,
    protected readonly output: TraceOutput,
    protected readonly aggs: AggregationTable,
  ) {
    this.clauseById = new Map(compiled.clauses.map((c) => [c.stid, c]));
    this.budget = new SpeculationBudget(walkOpts.specsizeBytes);
    this.probeById = new Map(compiled.probes.map((p) => [p.id, p]));
  }

  /** Renders a clause's record (its speculation, if any, already charged for it). */
  protected abstract consume(record: WalkedRecord): void;
  /** Reports a fault (DTrace's message). */
  protected abstract reportError(message: string): void;

  /** The ring buffer's callback: one record. */
  readonly onRecord = (view: DataView, offset: number, length: number): void => {
    const header = decodeRecordHeader(view, offset, length);
    if (!header) return;
    const probe = this.probeById.get(header.prid);
    if (header.stid === StidSpecial.ERROR) { this.reportError(errorRecordMessage(view, offset, header.prid, probe)); return; }
    const clause = this.clauseById.get(header.clauseId);
    if (!clause || !probe || !clause.printsPrefix) return;
    if (!this.budget.admit(header.spec, clause.recordSize)) return;
    this.consume({ ...header, probe, clause, view, offset });
  };

  protected decode(view: DataView, base: number, f: FieldLayout): Value { return decodeField(view, base, f, this.compiled.strsize); }

  /** Keeps output of speculation `spec` until it is committed or discarded. */
  protected hold(spec: number, text: string): void {
    const held = this.speculations.get(spec) ?? [];
    held.push(text);
    this.speculations.set(spec, held);
  }

  /**
   * Runs an action whose effect is the consumer's state (exit status, aggregations); false for
   * any other action. For commit() and discard(), see endSpeculation.
   */
  protected applyStateAction(act: RecordedAction, view: DataView, offset: number): boolean {
    switch (act.kind) {
      case 'exit': {
        const v = this.decode(view, offset, act.field);
        // Every exit() consumed sets the status (illumos chewrec): exit(0) in END after
        // exit(3) in BEGIN ends with 0.
        if (v.kind === 'int') this.exitStatus = Number(BigInt.asIntN(32, v.value));
        return true;
      }
      case 'clear': { const a = this.aggs.byId.get(act.aggId); if (a) this.aggs.zero(a); return true; }
      case 'trunc': {
        const a = this.aggs.byId.get(act.aggId);
        if (a) this.aggs.trunc(a, act.arg ? this.intArg(view, offset, act.arg) : undefined);
        return true;
      }
      case 'normalize': if (act.arg) this.aggs.normalizeBy.set(act.aggId, this.intArg(view, offset, act.arg)); return true;
      case 'denormalize': this.aggs.normalizeBy.delete(act.aggId); return true;
      default: return false;
    }
  }

  private intArg(view: DataView, offset: number, f: FieldLayout): bigint {
    return (this.decode(view, offset, f) as { value: bigint }).value;
  }

  /** commit() or discard(): the speculation ends; returns its held output when committed. */
  protected endSpeculation(act: { kind: 'commit' | 'discard' | 'speculate'; field: FieldLayout }, view: DataView, offset: number): string[] | undefined {
    const v = this.decode(view, offset, act.field);
    const id = v.kind === 'int' ? Number(v.value) : 0;
    const held = this.speculations.get(id);
    this.speculations.delete(id);
    this.budget.release(id);
    return act.kind === 'commit' ? held : undefined;
  }

  /** setopt(): the option takes effect for the consumer; a bad one gives DTrace's error message. */
  protected setopt(act: Extract<RecordedAction, { kind: 'setopt' }>, record: WalkedRecord): string | undefined {
    const str = (x: string | FieldLayout): string => {
      if (typeof x === 'string') return x;
      const v = this.decode(record.view, record.offset, x);
      return v.kind === 'string' ? v.value : '';
    };
    const msg = this.walkOpts.setopt?.(str(act.name), act.value === undefined ? undefined : str(act.value));
    if (msg === undefined) return undefined;
    const { probe } = record;
    return formatLibError({ clauseIndex: record.clauseId, probeId: record.prid, provider: probe.provider, module: probe.module, function: probe.function, name: probe.name }, msg);
  }
}
