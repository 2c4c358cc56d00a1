// @fileoverview The `progcost` bench section: what each tracer's probe program costs per event,
// measured by the kernel (kernel.bpf_stats_enabled: run_time_ns and run_cnt per program), not
// by timing the traced process. The overhead section's wall-clock figure (traced − untraced
// ns per getpid) carries ±100 ns of noise per run; the kernel's per-program sum over hundreds
// of thousands of runs does not.
//
// Per case, tracer and rep: the tracer is started and attached; its programs are found in the
// fdinfo of its own processes (prog_id, run_time_ns, run_cnt, verified_insns; links name their
// raw tracepoint; `bpftool perf list` names a perf-event tracepoint); an idle window prices the
// runs that are not the workload's (see perEventCost); then the workload makes PROGCOST_N
// getpid calls pinned to each CPU in turn, and the programs that ran at least that often are
// the ones on the getpid path.
//
// What run_time_ns holds: the program itself plus one sched_clock() read (the stats' own
// bracket), the same for every tracer. What it leaves out: the hook's dispatch to the program
// (raw tracepoint: bpf_trace_run; a perf-event syscall tracepoint: perf_syscall_enter's
// bitmap test, record build and trace_call_bpf), so the wall delta of the same run is reported
// beside it.
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fdinfoTexts, linksHeldBy, median, nowMs, pidsInGroup, runCapture } from './harness.mjs';
import { addPerfAttachments, perEventCost, programsFromFdinfo, programsOnPath, statDeltas, sumDeltas } from './progcost-stats.mjs';

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/** Every fdinfo text of `pids` that names a BPF program (program fds and link fds). */
function programFdinfos(pids) {
  return [...linksHeldBy(pids), ...fdinfoTexts(pids, 'run_cnt:')];
}

/** The tracer session's programs now: Map id → stats. */
function snapshot(pids) {
  return programsFromFdinfo(programFdinfos(pids)).programs;
}

async function bpftoolJson(args) {
  const r = await runCapture(['bpftool', '-j', ...args], { timeoutMs: 10_000 });
  if (r.status !== 0) return undefined;
  try { return JSON.parse(r.stdout || 'null'); } catch { return undefined; }
}

/** How each program of `pids` is attached (progId → descriptions), and bpftool's sizes of the path programs. */
async function describePrograms(pids, pathIds) {
  const { links } = programsFromFdinfo(programFdinfos(pids));
  addPerfAttachments(links, (await bpftoolJson(['perf', 'list'])) ?? [], pids);
  const sizes = {};
  for (const id of pathIds) {
    const show = await bpftoolJson(['prog', 'show', 'id', String(id)]);
    if (show) sizes[id] = { name: show.name, xlatedInsns: show.bytes_xlated / 8, jitedBytes: show.bytes_jited };
  }
  return { links, sizes };
}

/**
 * Runs fn with kernel.bpf_stats_enabled = 1 and puts the old value back after (also on SIGINT/
 * SIGTERM of the bench). Returns fn's result; throws when the sysctl cannot be set.
 */
export async function withBpfStats(fn) {
  const old = readFileSync(STATS_SYSCTL, 'utf8').trim();
  if (old !== '1') writeFileSync(STATS_SYSCTL, '1');
  const restore = () => { if (old !== '1') { try { writeFileSync(STATS_SYSCTL, old); } catch { /* not ours to fail on */ } } };
  const onSignal = (signal) => { restore(); process.kill(process.pid, signal); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    restore();
  }
}

/**
 * The section. ctx: { tracers, config, log, cell, addSample, recordError, shouldSkip, startAttached,
 * stopSession, runLoop(cpu, calls) → ns per call, programText, runsCase }.
 */
export async function benchProgcost(ctx) {
  const { config, log } = ctx;
  const cases = config.progcostCases;
  const calls = config.progcostCalls;
  log(`\n== progcost: kernel-measured BPF program cost (bpf_stats), ${calls} getpid calls per CPU per run, cpus ${config.workloadCpus.join(',')}, ${config.reps} reps, cases ${cases.join(' ')}`);
  await withBpfStats(async () => {
    await ctx.runLoop(config.workloadCpus[0], calls); // warm-up
    for (let rep = 1; rep <= config.reps; rep++) {
      const untraced = ctx.cell('progcost', 'untraced', 'none');
      for (const cpu of config.workloadCpus) ctx.addSample(untraced, `wallNsPerCall.cpu${cpu}`, await ctx.runLoop(cpu, calls));
      for (const caseName of cases) {
        for (const tracer of ctx.tracers) {
          if (!ctx.runsCase(tracer, caseName)) continue;
          const c = ctx.cell('progcost', caseName, tracer.name);
          if (ctx.shouldSkip(c, tracer)) continue;
          await measureSession(ctx, c, tracer, caseName, rep);
        }
      }
    }
  });
  deriveWallDeltas(ctx);
  printProgcostTable(ctx);
}

async function measureSession(ctx, c, tracer, caseName, rep) {
  const { config } = ctx;
  const calls = config.progcostCalls;
  const t0 = nowMs();
  const started = await ctx.startAttached(tracer, caseName, ctx.programText(tracer, caseName), 'ignore');
  if (started.error !== undefined) { ctx.recordError(c, started.error); return; }
  ctx.addSample(c, 'readyMs', started.readyMs);
  const pids = pidsInGroup(started.session.child.pid);
  const parts = [];
  try {
    const idleBefore = snapshot(pids);
    await sleep(config.progcostIdleMs);
    const idle = statDeltas(idleBefore, snapshot(pids));
    for (const cpu of config.workloadCpus) {
      const before = snapshot(pids);
      const wallNs = await ctx.runLoop(cpu, calls);
      const window = statDeltas(before, snapshot(pids));
      const onPath = programsOnPath(window, calls);
      if (onPath.length === 0) {
        ctx.recordError(c, `cpu${cpu}: no program ran ${calls} times (programs: ${[...window.values()].map((d) => `${d.id}:${d.runCnt}`).join(' ') || 'none found'})`);
        continue;
      }
      const ids = onPath.map((d) => d.id);
      const cost = perEventCost(sumDeltas(onPath), sumDeltas(ids.map((id) => idle.get(id)).filter((d) => d !== undefined)), calls);
      ctx.addSample(c, `nsPerEvent.cpu${cpu}`, cost.nsPerEvent);
      ctx.addSample(c, `nsPerRun.cpu${cpu}`, cost.nsPerRun);
      ctx.addSample(c, `othersPct.cpu${cpu}`, (100 * cost.others) / calls);
      // What the program costs an event it does not trace (a raw tracepoint on every system call
      // runs for every other process's calls too): the idle window's ns per run.
      if (cost.otherNsPerRun !== undefined && cpu === config.workloadCpus[0]) ctx.addSample(c, 'idleNsPerRun', cost.otherNsPerRun);
      ctx.addSample(c, `wallNsPerCall.cpu${cpu}`, wallNs);
      if (c.program === undefined) {
        const { links, sizes } = await describePrograms(pids, ids);
        const stats = snapshot(pids);
        c.program = ids.map((id) => ({ id, attach: (links.get(id) ?? ['?']).join(', '), verifiedInsns: stats.get(id)?.verifiedInsns, ...sizes[id] }));
      }
      parts.push(`cpu${cpu} ${cost.nsPerEvent.toFixed(1)} ns/event (others ${cost.others}, wall ${wallNs.toFixed(0)} ns/call)`);
    }
    c.consecutiveFailures = 0;
  } catch (error) {
    ctx.recordError(c, error.message);
  } finally {
    const stopped = await ctx.stopSession(started.session, config.stopGraceMs);
    ctx.addSample(c, 'stopMs', stopped.stopMs);
    if (stopped.timedOut) c.notes.push(`rep ${rep}: did not exit within STOP_GRACE_S of SIGINT (killed)`);
  }
  ctx.log(`  rep ${rep} ${caseName.padEnd(14)} ${tracer.name.padEnd(9)} ${parts.join(', ')} [ready ${fmt(started.readyMs, 0)} ms, ${fmt(nowMs() - t0, 0)} ms in all]`);
}

/** Wall view of the same runs: traced ns/call − the section's untraced median, per CPU. */
function deriveWallDeltas(ctx) {
  const section = ctx.results.sections.progcost ?? {};
  const untraced = section.untraced?.none;
  for (const [caseName, byTracer] of Object.entries(section)) {
    if (caseName === 'untraced') continue;
    for (const c of Object.values(byTracer)) {
      c.wallDeltaNs = {};
      for (const cpu of ctx.config.workloadCpus) {
        const traced = c.samples[`wallNsPerCall.cpu${cpu}`];
        const base = untraced?.samples[`wallNsPerCall.cpu${cpu}`];
        if (traced?.length && base?.length) c.wallDeltaNs[`cpu${cpu}`] = median(traced) - median(base);
      }
    }
  }
}

const fmt = (v, digits = 1) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));
const ratioText = (a, b) => (a === undefined || b === undefined || !(b > 0) ? 'n/a' : `${(a / b).toFixed(2)}x`);
const med = (c, metric) => (c ? median(c.samples[metric] ?? []) : undefined);
const net = (value, floor) => (value === undefined ? undefined : value - floor);

/**
 * The stats' own cost per run on `cpu`: bpftrace's empty program is two instructions (r0 = 0;
 * exit), so what the kernel charges it is the sched_clock() bracket around every run (with
 * kvm-clock under a hypervisor, tens of ns). Undefined when that case did not run.
 */
export function statsFloor(section, cpu) {
  return med(section?.empty?.bpftrace, `nsPerEvent.cpu${cpu}`);
}

/**
 * Summary rows for run.mjs's report: per case, per CPU, the kernel-measured ns/event of ours and
 * bpftrace's (ratio ours / bpftrace) and the wall delta; then 5.15 / native.
 */
export function progcostSummaryRows(section, cpus) {
  const rows = [];
  if (section === undefined) return rows;
  for (const [caseName, byTracer] of Object.entries(section)) {
    if (caseName === 'untraced') continue;
    for (const cpu of cpus) {
      const ours = med(byTracer.dtrace, `nsPerEvent.cpu${cpu}`), theirs = med(byTracer.bpftrace, `nsPerEvent.cpu${cpu}`);
      rows.push({ section: 'progcost', case: caseName, metric: `prog ns/event cpu${cpu}`, dtrace: ours, bpftrace: theirs, ratio: ratioText(ours, theirs) });
    }
    for (const cpu of cpus) {
      const floor = statsFloor(section, cpu);
      if (floor === undefined || caseName === 'empty') continue;
      const ours = net(med(byTracer.dtrace, `nsPerEvent.cpu${cpu}`), floor), theirs = net(med(byTracer.bpftrace, `nsPerEvent.cpu${cpu}`), floor);
      rows.push({ section: 'progcost', case: caseName, metric: `prog ns/event - floor cpu${cpu}`, dtrace: ours, bpftrace: theirs, ratio: ratioText(ours, theirs) });
    }
    for (const cpu of cpus) {
      const ours = byTracer.dtrace?.wallDeltaNs?.[`cpu${cpu}`], theirs = byTracer.bpftrace?.wallDeltaNs?.[`cpu${cpu}`];
      rows.push({ section: 'progcost', case: caseName, metric: `wall delta ns cpu${cpu}`, dtrace: ours, bpftrace: theirs, ratio: ratioText(ours, theirs) });
    }
  }
  for (const [caseName, byTracer] of Object.entries(section)) {
    if (!byTracer.dtrace515 || !byTracer.dtrace) continue;
    for (const cpu of cpus) {
      const fallback = med(byTracer.dtrace515, `nsPerEvent.cpu${cpu}`), native = med(byTracer.dtrace, `nsPerEvent.cpu${cpu}`);
      rows.push({ section: 'progcost-fallback', case: caseName, metric: `5.15 / native prog ns/event cpu${cpu}`, dtrace: fallback, bpftrace: native, ratio: ratioText(fallback, native) });
      const floor = statsFloor(section, cpu);
      if (floor !== undefined) {
        const f = net(fallback, floor), n = net(native, floor);
        rows.push({ section: 'progcost-fallback', case: caseName, metric: `5.15 / native (- floor) cpu${cpu}`, dtrace: f, bpftrace: n, ratio: ratioText(f, n) });
      }
    }
  }
  return rows;
}

/** The section's own table: every tracer, its attach point and program size, both views. */
function printProgcostTable(ctx) {
  const { config, log } = ctx;
  const section = ctx.results.sections.progcost ?? {};
  const cpus = config.workloadCpus;
  const header = ['case', 'tracer', 'attach', 'insns v/x', ...cpus.map((c) => `prog ns cpu${c}`), 'idle ns/run', ...cpus.map((c) => `others% cpu${c}`), ...cpus.map((c) => `wall Δ cpu${c}`)];
  const lines = [];
  for (const [caseName, byTracer] of Object.entries(section)) {
    if (caseName === 'untraced') continue;
    for (const [tracerName, c] of Object.entries(byTracer)) {
      const progs = c.program ?? [];
      lines.push([
        caseName, tracerName,
        progs.map((p) => p.attach).join(' + ') || (c.errors.length ? 'FAILED' : '?'),
        progs.map((p) => `${p.verifiedInsns ?? '?'}/${p.xlatedInsns ?? '?'}`).join('+'),
        ...cpus.map((cpu) => fmt(med(c, `nsPerEvent.cpu${cpu}`))),
        fmt(med(c, 'idleNsPerRun')),
        ...cpus.map((cpu) => fmt(med(c, `othersPct.cpu${cpu}`), 2)),
        ...cpus.map((cpu) => fmt(c.wallDeltaNs?.[`cpu${cpu}`], 0)),
      ]);
    }
  }
  const untraced = section.untraced?.none;
  log(`\nprogcost (medians; prog ns = kernel run_time_ns per getpid event of the programs on the path, others priced at the idle rate;`);
  log(`  wall Δ = traced − untraced ns per getpid of the same runs, stats on; untraced ${cpus.map((cpu) => `cpu${cpu} ${fmt(med(untraced, `wallNsPerCall.cpu${cpu}`), 0)}`).join(', ')} ns/call;`);
  log('  idle ns/run = ns per run in an idle window: what the program costs events it does not trace (other system calls);');
  log(`  insns v/x = verified / xlated instructions; floor (bpftrace's 2-instruction empty program: the stats bracket, in every figure): ${cpus.map((cpu) => `cpu${cpu} ${fmt(statsFloor(section, cpu))}`).join(', ')} ns)`);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  for (const l of [header, ...lines]) log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
}
