/**
 * @fileoverview Running a compiled program: load it (load.ts), run BEGIN, attach, consume the
 * ring buffer until exit()/a signal/the -c command ends, detach, run END, and print what is
 * left (aggregations). A Session is one run; the CLI and the library API (src/index.ts) both
 * drive it. Records are consumed by records.ts, aggregations read by aggregations.ts.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { snapshotProcess } from '../consume/usyms.js';
import { possibleCpus } from '../bpf/map.js';
import { testRun, rawTracepointArgs } from '../bpf/program.js';
import type { Link } from '../bpf/link.js';
import { STATE, Activity } from '../codegen/layout.js';
import type { CompiledProgram, FieldLayout } from '../program/spec.js';
import type { Provider } from '../providers/provider.js';
import { allProviders } from '../providers/registry.js';
import type { AggSnapshot, AggSortOptions } from '../consume/format/values.js';
import { formatDrop } from '../consume/format/messages.js';
import { load, type Loaded } from './load.js';
import { catchStopSignals, type StopSignals } from './signals.js';
import { formatsUseUserAddresses } from './format-symbols.js';
import { TraceOutput } from './output.js';
import { AggregationTable } from './aggregations.js';
import { RecordConsumer, type ConsumedRecord } from './records.js';
import { JsonRecordConsumer, jsonExitAggregation } from './json-records.js';
import { jsonInternalLine } from '../consume/format/json-output.js';
// Exporters (-x oformat=folded, flamegraph, metrics) are loaded on use: a chunk of the CLI bundle of their own.
import type { MetricsServer } from './exporters.js';
import { LoadError } from './load.js';
import { AttachProgress } from './progress.js';
import { attachPrograms } from './attach.js';
import { detachLinks } from './detach.js';
import { DescendantLinks, followedMapOf, type ForkHooks } from './descendant-links.js';
import { RecordRing } from './record-ring.js';

export { LoadError, load } from './load.js';
export { catchStopSignals, manualStopSignals, type StopSignals } from './signals.js';
export type { ConsumedRecord } from './records.js';

export interface RunOptions {
  quiet: boolean;
  testing: boolean;
  flowindent: boolean;
  /** rawbytes: trace() prints every value as a hex dump of its recorded bytes. */
  rawbytes?: boolean;
  droptags: boolean;
  /** aggrate: printa() shows the aggregations as last snapshot at this period (0: live). */
  aggrateMs?: number;
  /** specsize: the bytes one speculation may hold (unbounded when absent). */
  specsizeBytes?: number;
  aggsort: AggSortOptions;
  switchrateMs: number;
  /**
   * statusrate: how often the consumer checks the tracing state for drops to report (DTrace's
   * dtrace_status() cadence; 1 s by default). cleanrate has nothing to act on here: a BPF hash
   * map frees a dynamic variable's element the moment it is deleted.
   */
  statusrateMs?: number;
  /** Write trace output (stdout or -o file). */
  out(text: string): void;
  /** The same as bytes, one per latin1 character (large aggregations are printed so); else `out`. */
  outBytes?(bytes: Uint8Array): void;
  /** Write a diagnostic line (stderr), already prefixed. */
  err(text: string): void;
  /**
   * Called once probes are attached (start a -c command here); returns a promise of its exit.
   * `forks` attaches the per-process probes of the processes a target forks.
   */
  onAttached?(forks?: ForkHooks): Promise<void> | undefined;
  /** setopt() while tracing: sets an option; returns DTrace's message when it cannot. */
  setopt?: (name: string, value: string | undefined) => string | undefined;
  /** bufresize (auto: the principal buffer is halved until the kernel can give it), and who hears it was. */
  bufresize?: 'auto' | 'manual';
  onBufferLowered?: (bytes: number) => void;
  /** printsize and pcapsize as they are now (setopt() may change them). */
  printsize?: () => number;
  pcapsize?: () => number;
  /** SIGINT/SIGTERM caught by the caller since before the run (catchStopSignals). */
  signals?: StopSignals;
  /** True once the run must stop without more output (our reader has gone: EPIPE). */
  stopRequested?: () => boolean;
  /** The -c / -p process, whose mappings are kept for user symbols. */
  targetPid?: number;
  /** Extra stop trigger (e.g. -c child exit). */
  providers?: readonly Provider[];
  /** Sees every clause record printed, with its text (the library API's events). */
  onRecord?: (record: ConsumedRecord) => void;
  /** bufpolicy=ring (fill): the bytes of newest (oldest) records whose output is kept and printed at the end. */
  ringBufferBytes?: number;
  bufpolicy?: 'ring' | 'fill';
  /** Keep a snapshot of every aggregation as it is at exit (finalAggregations), before the maps go. */
  keepFinalAggregations?: boolean;
  /**
   * -x oformat: json is FreeBSD-shaped JSON, one probe object per line (json-records.ts);
   * folded prints stack-keyed aggregations at exit as folded stacks (flamegraph.pl's input).
   */
  oformat?: 'text' | 'json' | 'folded';
  /** -x flamegraph=FILE: an SVG flame graph of the stack-keyed aggregations, written at exit. */
  flamegraphPath?: string;
  /** -x metrics=HOST:PORT: every aggregation on /metrics while tracing, at most maxSeries keys each. */
  metrics?: { address: string; maxSeries: number };
  /** Told where the metrics endpoint listens once it does. */
  onMetricsListening?: (address: string) => void;
  /** Where a long attach shows its progress line (a terminal's stderr, not under -q). */
  progress?: (text: string) => void;
}

/** Drops counted so far, by kind (DTrace's drop messages). */
export interface DropCounts {
  principal: bigint;
  aggregation: bigint;
  dynamic: bigint;
  speculation: bigint;
  specunavail: bigint;
}

/** Whether records of the program name user addresses (ustack, usym, ufunc, umod, uaddr). */
export function usesUserSymbols(compiled: CompiledProgram): boolean {
  const user = (f: FieldLayout) => f.decode === 'ustack' || f.decode === 'usymbol';
  // printf("%k", ustack()) and printf("%A", ufunc(pc)) record them as printf arguments.
  return compiled.clauses.some((c) => c.actions.some((x) => ('field' in x && user(x.field)) || ('args' in x && x.args.some(user))))
    || compiled.aggregations.some((a) => a.keyFields.some(user))
    || formatsUseUserAddresses(compiled);
}

/** Poll period while the producer is busy (see ringbuf.ts: no wake-ups then). */
const BUSY_POLL_MS = 1;
const ZERO_KEY = new Uint8Array(4);

/** Runs a loaded program to completion; returns the exit status. */
export async function run(compiled: CompiledProgram, opts: RunOptions): Promise<number> {
  const signals = opts.signals ?? catchStopSignals();
  try {
    return await new Session(compiled, opts, signals).run();
  } finally {
    if (!opts.signals) signals.release();
  }
}

/** One run of a compiled program: created loaded; run() traces until the end and cleans up. */
export class Session {
  readonly aggregations: AggregationTable;
  /** Drops reported so far. */
  readonly drops: DropCounts = { principal: 0n, aggregation: 0n, dynamic: 0n, speculation: 0n, specunavail: 0n };
  /** Every aggregation at exit (with keepFinalAggregations), once the run is over. */
  finalAggregations: AggSnapshot[] | undefined;
  private readonly loaded: Loaded;
  private readonly output: TraceOutput;
  private readonly records: RecordConsumer | JsonRecordConsumer;
  /** bufpolicy=ring: the newest records' output, printed when tracing stops. */
  private readonly kept: RecordRing | undefined;
  /** What each record in the ring buffer goes to (through `kept` under bufpolicy=ring). */
  private readonly consumeRecord: (view: DataView, offset: number, length: number) => void;
  private readonly json: boolean;
  private metricsServer: MetricsServer | undefined;
  private readonly links: Link[] = [];
  /** The links of the processes the targets forked (pid$target and USDT probes follow forks). */
  private descendants: DescendantLinks | undefined;
  private newlinePrinted = false;
  /** Set once tracing has stopped: a signal then changes nothing (no newline either). */
  private stopped = false;
  private stopping = false;
  /** Ends the wait for records, once it has begun. */
  private stopWaiting: (() => void) | undefined;
  /** While the producer is busy the reader holds the last record (see traceUntilDone). */
  private busy = false;

  constructor(private readonly compiled: CompiledProgram, private readonly opts: RunOptions, private readonly signals: StopSignals) {
    this.loaded = load(compiled, { bufresize: opts.bufresize, onLowered: opts.onBufferLowered });
    this.output = new TraceOutput(opts.out, opts.err, opts.outBytes);
    this.aggregations = new AggregationTable(compiled, this.loaded.maps, possibleCpus().length, opts.aggrateMs, opts.aggsort);
    this.json = opts.oformat === 'json';
    this.records = this.json ? new JsonRecordConsumer(compiled, opts, this.output, this.aggregations) : new RecordConsumer(compiled, opts, this.output, this.aggregations);
    const output = this.output;
    this.kept = opts.ringBufferBytes !== undefined ? new RecordRing(opts.ringBufferBytes, { get: () => output.pendingText, set: (t) => { output.pendingText = t; } }, opts.bufpolicy) : undefined;
    this.consumeRecord = this.kept ? this.kept.consumer(this.records.onRecord) : this.records.onRecord;
    signals.notify = () => {
      if (this.stopped) return;
      if (!this.newlinePrinted && !opts.testing && !this.json) { this.newlinePrinted = true; this.output.write('\n'); this.output.flush(); }
      this.stopWaiting?.();
    };
    if (this.interrupted()) signals.notify();
  }

  /** The status exit() set, if it was called. */
  get exitStatus(): number | undefined { return this.records.exitStatus; }

  private interrupted(): boolean { return this.signals.count > 0; }

  private setActivity(v: number): void {
    const state = this.loaded.maps.get('state')!;
    const buf = state.lookup(ZERO_KEY)!;
    new DataView(buf.buffer, buf.byteOffset).setBigUint64(STATE.activity, BigInt(v), true);
    state.update(ZERO_KEY, buf);
  }

  private readState() {
    const buf = this.loaded.maps.get('state')!.lookup(ZERO_KEY)!;
    const dv = new DataView(buf.buffer, buf.byteOffset);
    return { activity: Number(dv.getBigUint64(STATE.activity, true)), dynvarDrops: dv.getBigUint64(STATE.dynvarDrops, true), aggDrops: dv.getBigUint64(STATE.aggDrops, true), bufDrops: dv.getBigUint64(STATE.bufDrops, true), specUnavail: dv.getBigUint64(STATE.specUnavail, true) };
  }

  /** Every aggregation as it is now (merged across CPUs). */
  snapshotAggregations(): AggSnapshot[] {
    return this.compiled.aggregations.map((a) => this.aggregations.snapshot(a));
  }

  private drain(): number {
    const n = this.loaded.ring.drain(this.consumeRecord, Infinity, this.busy);
    this.output.flush();
    return n;
  }

  private reportDrops(): void {
    const s = this.readState();
    const d = this.drops;
    const droptags = this.opts.droptags;
    const specDrops = BigInt(this.records.specDrops);
    // Under oformat=json a drop is a pseudo-probe object in the output stream (FreeBSD's shape).
    const report = (kind: Parameters<typeof formatDrop>[0], n: bigint) => {
      const msg = formatDrop(kind, n, 0, droptags);
      if (this.json) this.output.write(jsonInternalLine('DROP', msg, { count: n, kind }));
      else this.output.err(msg);
    };
    if (s.bufDrops > d.principal) report('principal', s.bufDrops - d.principal);
    if (s.aggDrops > d.aggregation) report('aggregation', s.aggDrops - d.aggregation);
    if (s.dynvarDrops > d.dynamic) report('dynamic', s.dynvarDrops - d.dynamic);
    if (specDrops > d.speculation) report('speculation', specDrops - d.speculation);
    d.speculation = specDrops;
    if (s.specUnavail > d.specunavail) report('specunavail', s.specUnavail - d.specunavail);
    d.principal = s.bufDrops; d.aggregation = s.aggDrops; d.dynamic = s.dynvarDrops; d.specunavail = s.specUnavail;
  }

  private runSpecial(mode: 'begin' | 'end'): void {
    const rawCtx = rawTracepointArgs([0, 0]);
    if (mode === 'end') { this.drain(); this.kept?.acceptAll(); }
    for (const p of this.loaded.programs) if (p.spec.runMode === mode) testRun(p.prog, { ctxIn: rawCtx });
    // BEGIN's records are consumed once the probes are attached: what they do (system(),
    // output) must be seen by the enabled probes, as in DTrace where the consumer runs after
    // dtrace_go().
    if (mode === 'end') {
      this.drain();
      if (this.kept) { this.output.write(this.kept.take()); this.output.flush(); }
    }
  }

  /** BEGIN, attach, trace until the end, detach, END, the exit output; returns the exit status. */
  async run(): Promise<number> {
    try {
      if (this.opts.metrics) await this.startMetrics(this.opts.metrics);
      // BEGIN runs first, in this process, before anything is attached.
      this.runSpecial('begin');
      if (this.exitStatus === undefined && this.readState().activity === Activity.INACTIVE && !this.interrupted() && !this.opts.stopRequested?.()) {
        // Every probe of the enabling is attached while the clauses are still switched off, and
        // then all of them go live at once (dtrace-utils: attach, then BEGIN sets the activity):
        // an entry probe must not fire before its return probe exists, or a speculation or a
        // self-> timestamp it opens is never closed, and counts differ from run to run.
        // A signal during a long attach stops it there: what was attached is detached below.
        if (await this.attach()) {
          if (this.readState().activity === Activity.INACTIVE) this.setActivity(Activity.ACTIVE);
          this.drain();
          const followed = followedMapOf(this.loaded.maps);
          this.descendants = followed && new DescendantLinks(this.loaded.programs, this.compiled.probes, this.opts.providers ?? allProviders(), followed,
            (line) => this.output.err(`dtrace: warning: ${line}\n`));
          const childDone = this.opts.onAttached?.(this.descendants);
          await this.traceUntilDone(childDone, this.keepTargetSymbols());
        }
      }
      await this.finish();
      return this.exitStatus ?? 0;
    } finally {
      this.close();
    }
  }

  private async startMetrics(m: { address: string; maxSeries: number }): Promise<void> {
    try {
      this.metricsServer = await (await import('./exporters.js')).serveMetrics(m.address, () => this.snapshotAggregations(), m.maxSeries);
    } catch (e) {
      throw new LoadError(`could not serve metrics on ${m.address}: ${(e as Error).message}`);
    }
    this.opts.onMetricsListening?.(this.metricsServer.address);
  }

  /** Attaches every program; false when a stop (signal, stop request) came first. */
  private async attach(): Promise<boolean> {
    const progress = this.opts.progress && new AttachProgress(this.opts.progress);
    try {
      return await attachPrograms(this.loaded.programs, this.compiled.probes, {
        providers: this.opts.providers ?? allProviders(),
        links: this.links,
        warn: (line) => this.output.err(`dtrace: warning: ${line}\n`),
        shouldStop: () => this.interrupted() || !!this.opts.stopRequested?.(),
        progress,
      });
    } finally {
      progress?.finish();
    }
  }

  /**
   * User stacks and symbols are resolved from the process's mappings, which are gone once it
   * exits: while a -c/-p target lives, keep a fresh snapshot of them. Returns the timer.
   */
  private keepTargetSymbols(): NodeJS.Timeout | undefined {
    const compiled = this.compiled;
    if (!usesUserSymbols(compiled) || !this.opts.targetPid) return undefined;
    const pid = this.opts.targetPid;
    snapshotProcess(pid);
    return setInterval(() => { if (existsSync(`/proc/${pid}`)) snapshotProcess(pid); }, 20);
  }

  /** Consumes records until exit(), the end of tracing, a signal, a stop request or the target's exit. */
  private traceUntilDone(childDone: Promise<void> | undefined, snapTimer: NodeJS.Timeout | undefined): Promise<void> {
    const ring = this.loaded.ring;
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let busyTimer: NodeJS.Timeout | undefined;
      let statusTimer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (this.stopping) return;
        this.stopping = true;
        ring.stopWaiting();
        if (timer) clearInterval(timer);
        if (statusTimer) clearInterval(statusTimer);
        if (snapTimer) clearInterval(snapTimer);
        if (busyTimer) clearTimeout(busyTimer);
        this.busy = false;
        ring.release();
        this.stopWaiting = undefined;
        resolve();
      };
      const done = () => this.exitStatus !== undefined || !!this.kept?.full || this.readState().activity !== Activity.ACTIVE || this.interrupted() || !!this.opts.stopRequested?.();
      const check = () => {
        if (this.stopping) return;
        this.drain();
        if (done()) finish();
      };
      // While the producer is busy the reader holds the last record (no kernel wake-ups, see
      // ringbuf.ts) and polls on a short timer; when a poll finds nothing new it releases the
      // record and goes back to sleeping in epoll.
      const busyPoll = () => {
        busyTimer = undefined;
        if (this.stopping) return;
        const n = this.drain();
        if (done()) { finish(); return; }
        if (n === 0) {
          this.busy = false;
          ring.release();
          ring.wait(onReadable); // level-triggered: fires at once if a record slipped in
          return;
        }
        // More than a quarter of the ring filled in one period: poll again at once.
        busyTimer = ring.available() * 4 > ring.sizeBytes ? setTimeout(busyPoll, 0) : setTimeout(busyPoll, BUSY_POLL_MS);
      };
      const onReadable = () => {
        if (this.stopping) return;
        this.busy = true;
        ring.stopWaiting();
        check();
        if (!this.stopping && busyTimer === undefined) busyTimer = setTimeout(busyPoll, BUSY_POLL_MS);
      };
      this.stopWaiting = finish;
      ring.wait(onReadable);
      timer = setInterval(() => { check(); this.aggregations.snapIfDue(); }, Math.max(1, this.opts.switchrateMs));
      statusTimer = setInterval(() => this.reportDrops(), Math.max(1, this.opts.statusrateMs ?? 1000));
      childDone?.then(() => { if (this.stopping) return; check(); finish(); }, () => finish());
      check();
    });
  }

  /** Stop: gate new firings, detach, run END, drain what is left, print the aggregations. */
  private async finish(): Promise<void> {
    this.stopped = true;
    this.setActivity(Activity.DRAINING);
    await this.descendants?.detachAll({ inBackground: this.interrupted() });
    await detachLinks(this.links.splice(0).reverse(), { inBackground: this.interrupted() });
    const exporters = this.opts.oformat === 'folded' || this.opts.flamegraphPath ? await import('./exporters.js') : undefined;
    this.drain();
    this.runSpecial('end');
    this.reportDrops();
    if (!this.json) this.output.write('\n');
    // dt_aggregate_walk_sorted ranks by aggregation first: aggsortrev reverses that order too.
    const atExit = this.compiled.aggregations.filter((a) => !this.aggregations.printed.has(a.id));
    if (this.opts.aggsort.aggsortrev) atExit.reverse();
    for (const a of atExit) {
      if (this.json) this.output.write(jsonExitAggregation(a, this.aggregations));
      else if (exporters && this.opts.oformat === 'folded' && a.keyFields.some((k) => k.decode === 'stack' || k.decode === 'ustack')) this.output.write(exporters.foldedText([this.aggregations.snapshot(a)]));
      else this.aggregations.printAtExit(a, (t) => this.output.write(t), (b) => this.output.writeBytes(b));
    }
    this.output.flush();
    if (exporters && this.opts.flamegraphPath) this.writeFlameGraph(this.opts.flamegraphPath, exporters);
    await this.metricsServer?.close();
    this.metricsServer = undefined;
    if (this.opts.keepFinalAggregations) this.finalAggregations = this.snapshotAggregations();
  }

  private writeFlameGraph(path: string, { hasStackKey, flameGraphSvg }: typeof import('./exporters.js')): void {
    const snaps = this.snapshotAggregations().filter(hasStackKey);
    if (snaps.length === 0) this.output.err('dtrace: flamegraph: no aggregation is keyed by stack() or ustack(); writing an empty graph\n');
    const title = snaps.map((s) => `@${s.desc.name} = ${s.desc.fn}()`).join(', ') || 'no stack aggregation';
    try { writeFileSync(path, flameGraphSvg(snaps, title)); } catch (e) { this.output.err(`dtrace: failed to write flame graph ${path}: ${(e as Error).message}\n`); }
  }

  private close(): void {
    void this.metricsServer?.close();
    this.descendants?.close();
    for (const l of this.links) l.close();
    this.loaded.ring.close();
    for (const p of this.loaded.programs) p.prog.close();
    for (const m of this.loaded.maps.values()) m.close();
  }
}
