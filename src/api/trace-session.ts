/**
 * @fileoverview The library's running session: run() creates the -c/-p process, compiles for
 * it, loads and attaches (runtime/session.ts, the same Session the dtrace command runs), and
 * hands the consumed records out as an AsyncIterable of events; aggregations() reads the live
 * maps, or the values kept at exit once the run is over.
 */
import { Session, manualStopSignals, LoadError, type DropCounts, type ConsumedRecord } from '../runtime/session.js';
import { ProcessError } from '../runtime/process.js';
import { startTargets, type Targets } from './targets.js';
import { decodeField } from '../consume/record.js';
import { jsValue, aggregationEntries, type JsValue, type AggregationEntry } from '../consume/format/json-values.js';
import type { FieldLayout } from '../program/spec.js';
import type { AggSnapshot } from '../consume/format/values.js';
import { exportOptions } from './export-options.js';
import { compileSource, type CompileOptions, type CompiledScript } from './compile.js';
import { storeRunOptions } from './pipeline.js';

/** The probe that fired. */
export interface ProbeDescription {
  id: number;
  provider: string;
  module: string;
  function: string;
  name: string;
}

/** One record of a clause, as consumed. */
export interface TraceEvent {
  probe: ProbeDescription;
  /** The CPU the probe fired on (the dtrace command's CPU column). */
  cpu: number;
  /** The recorded values in clause order: trace() values, printf()/system() arguments, stacks, tracemem bytes. */
  data: JsValue[];
  /** Exactly what the dtrace command prints for this record. */
  text: string;
}

export interface RunOptions extends CompileOptions {
  /** A command to run and trace, as -c: $target is its pid, the run ends when it exits. */
  command?: string;
  /** A process to trace, as -p: $target is it, the run ends when it exits. */
  pid?: number;
  /** Stops the run (as stop()) when aborted. */
  signal?: AbortSignal;
  /** Receives the text the dtrace command would print on stdout (default: dropped; events carry it). */
  onOutput?: (text: string) => void;
  /** Receives diagnostics the dtrace command would print on stderr (default: dropped). */
  onDiagnostic?: (text: string) => void;
}

/** A failure to compile, load or start: the message the dtrace command prints. */
export class DTraceError extends Error {
  constructor(message: string) { super(message); this.name = 'DTraceError'; }
}

/** The values a clause records, in order: what an event's data holds. */
function recordedFields(actions: ConsumedRecord['clause']['actions']): FieldLayout[] {
  const out: FieldLayout[] = [];
  for (const a of actions) {
    if (a.kind === 'trace' || a.kind === 'stack' || a.kind === 'tracemem') out.push(a.field);
    else if (a.kind === 'printf' || a.kind === 'system') out.push(...a.args);
  }
  return out;
}

/** A running (then finished) trace session. */
export class TraceSession implements AsyncIterable<TraceEvent> {
  /** The exit status (exit()'s, else 0) once the run is over. */
  exitStatus: number | undefined;
  /** Resolves with the exit status when the run is over; rejects with a DTraceError if it could not start. */
  readonly done: Promise<number>;
  private session: Session | undefined;
  private final: AggSnapshot[] | undefined;
  private readonly signals = manualStopSignals();
  private readonly queue: TraceEvent[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: unknown;
  private readonly fieldsByClause = new Map<number, FieldLayout[]>();

  constructor(script: string | CompiledScript, private readonly options: RunOptions = {}) {
    if (options.signal) {
      if (options.signal.aborted) this.signals.count++;
      else options.signal.addEventListener('abort', () => this.stop(), { once: true });
    }
    this.done = this.start(script).then(
      (status) => { this.exitStatus = status; return status; },
      (e: unknown) => { this.failure = e instanceof LoadError || e instanceof ProcessError ? new DTraceError(`dtrace: ${e.message}`) : e; throw this.failure; },
    ).finally(() => { this.finished = true; this.wake?.(); });
    // A caller that only iterates sees the failure there; do not report it unhandled as well.
    this.done.catch(() => undefined);
  }

  /** Stops tracing: END runs, the events already consumed are delivered, then the iteration ends. */
  stop(): void {
    this.signals.count++;
    this.signals.notify?.();
  }

  /** Drops so far, by kind. */
  get drops(): DropCounts {
    return this.session ? { ...this.session.drops } : { principal: 0n, aggregation: 0n, dynamic: 0n, speculation: 0n, specunavail: 0n };
  }

  /** Every aggregation entry: live while tracing, the final values once the run is over. */
  aggregations(): AggregationEntry[] {
    const snaps = this.final ?? (this.session && !this.finished ? this.session.snapshotAggregations() : []);
    return snaps.flatMap(aggregationEntries);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TraceEvent> {
    for (;;) {
      const e = this.queue.shift();
      if (e) { yield e; continue; }
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }

  private push(record: ConsumedRecord, strsize: number): void {
    let fields = this.fieldsByClause.get(record.clause.stid);
    if (!fields) { fields = recordedFields(record.clause.actions); this.fieldsByClause.set(record.clause.stid, fields); }
    const { id, provider, module, name } = record.probe;
    this.queue.push({
      probe: { id, provider, module, function: record.probe.function, name },
      cpu: record.cpu,
      data: fields.map((f) => jsValue(decodeField(record.view, record.offset, f, strsize))),
      text: record.text,
    });
    this.wake?.();
  }

  private async start(script: string | CompiledScript): Promise<number> {
    const opts = this.options;
    const targets = startTargets(opts.command !== undefined ? [opts.command] : [], opts.pid !== undefined ? [opts.pid] : []);
    try {
      const target = targets.pid;
      const base = typeof script === 'string' ? { source: script, compileOptions: opts } : script;
      const compiled = typeof script !== 'string' && script.compileOptions.target === target
        ? script
        : compileSource(base.source, { ...base.compileOptions, options: { ...base.compileOptions.options, ...opts.options }, target });
      if (!compiled.ok) throw new DTraceError(compiled.message);
      return await this.trace(compiled, targets);
    } finally {
      targets.kill();
    }
  }

  private async trace(compiled: CompiledScript, targets: Targets): Promise<number> {
    const o = compiled.optionValues;
    const strsize = compiled.program.strsize;
    const session = new Session(compiled.program, {
      ...storeRunOptions(o), testing: false,
      out: this.options.onOutput ?? (() => undefined), err: this.options.onDiagnostic ?? (() => undefined),
      ...exportOptions(o, this.options.onDiagnostic),
      targetPid: targets.pid,
      signals: this.signals,
      onRecord: (r) => this.push(r, strsize),
      keepFinalAggregations: true,
      onAttached: (forks) => targets.release(compiled.program, forks),
    }, this.signals);
    this.session = session;
    const status = await session.run();
    this.final = session.finalAggregations;
    return status;
  }
}
