#!/usr/bin/env node
// @fileoverview `npm run bench`: our dtrace and bpftrace measured side by side, alternately in
// one run, the same way the reference harness measured bpftrace 0.17 (see BENCHMARKS.md).
//
// Sections (SECTIONS env, default all, in this order):
//   startup     wall time + peak RSS of `BEGIN { exit(0); }` (and one getpid probe with a map),
//               plus a bare `node -e 0`
//   overhead    ns per getpid of a pinned timed loop, untraced vs traced by 5 programs; the
//               overhead per event = median(traced) - median(untraced), per CPU
//   throughput  printf events delivered at paced rates and unpaced; lost events as reported
//   attach      wall time of a run that attaches to every syscall's entry and exits at once
//   pidwide     pid$target:libc.so.6::entry on a running process: time to attach, time to detach
//   bigagg      time to print a 1,000,000-key aggregation at exit (SIGINT to exit)
//   progcost    kernel-measured cost of each tracer's probe program per getpid event
//               (kernel.bpf_stats_enabled: run_time_ns / run_cnt), beside the wall delta of the
//               same runs (~2-3 min). It is the per-event figure to compare: the overhead
//               section's wall view is kept (N = 1,000,000 calls a run by default, so that the whole
//               default run stays under 15 minutes) but its noise hides per-event differences
// A case one tracer cannot run is recorded with its error and skipped after two failures in a
// row; the bench goes on. Results: printed tables and bench/out/results.json.
//
// Env: REPS (5) OVERHEAD_REPS (3) N (1000000) N_PRINTF (N/10) WORKLOAD_CPUS (all) SETTLE_MS (200)
//      STARTUP_RUNS (2*REPS) OVERHEAD_CASES ("empty count count_execname hist printf")
//      RATES ("25000 50000 100000 200000 400000 1000000 0"; 0 = unpaced) DURATION_S (2)
//      MAX_N (1000000, unpaced calls) THROUGHPUT_REPS (2) DRAIN_S (1)
//      ATTACH_REPS (3) ATTACH_TIMEOUT_S (120) BIGAGG_KEYS (1000000) BIGAGG_REPS (3)
//      BIGAGG_DTRACE_OPTS ("-x aggsize=64m") TRACERS ("dtrace bpftrace")
//      STOP_GRACE_S (15: SIGKILL a tracer this long after SIGINT; bigagg allows 300)
//      DTRACE_CMD ("node dist/cli.js") BPFTRACE_CMD ("bpftrace") PROG_<d|bpftrace>_<case>
//      DTRACE_BASE_CMD (unset; another build of ours run in the same run as 'dtrace-base')
//      PROGCOST_N (100000 getpid calls per CPU per run) PROGCOST_IDLE_MS (200)
//      PROGCOST_CASES ("empty count count_execname hist strpred strjoin")
// TRACERS default "dtrace dtrace515 bpftrace": dtrace515 is ours with DTRACE_TS_KERNEL=5.15 (the
// fallback code), run only in the overhead cases count, count_execname, strpred and strjoin and
// reported as 5.15 / native ratios.
import { execFileSync, spawn } from 'node:child_process';
import { cpus, release, totalmem, tmpdir } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  foreignAttachments, hasGnuTime, median, nowMs, nowNs, runCapture, startSession, stopSession, summarize, tail, waitAttached, waitExit,
} from './lib/harness.mjs';
import { defineTracers, programText, runsCase, tracerArgv } from './lib/tracers.mjs';
import { benchProgcost, progcostSummaryRows } from './lib/progcost.mjs';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(repoRoot);
const env = process.env;
const num = (name, fallback) => (env[name] !== undefined && env[name] !== '' ? Number(env[name]) : fallback);
const list = (name, fallback) => (env[name] ?? fallback).trim().split(/\s+/).filter((w) => w !== '');

const REPS = num('REPS', 5);
const config = {
  reps: REPS,
  // The overhead section's wall view is noise-bound on a VM (progcost is the per-event figure to
  // compare), and it is the longest section: 3 repetitions keep the whole run under 15 minutes.
  overheadReps: num('OVERHEAD_REPS', 3),
  calls: num('N', 1_000_000),
  printfCalls: num('N_PRINTF', Math.floor(num('N', 1_000_000) / 10)),
  workloadCpus: list('WORKLOAD_CPUS', cpus().map((_, i) => String(i)).join(' ')),
  settleMs: num('SETTLE_MS', 200),
  startupRuns: num('STARTUP_RUNS', 2 * REPS),
  overheadCases: list('OVERHEAD_CASES', 'empty count count_execname hist printf strpred strjoin'),
  rates: list('RATES', '25000 50000 100000 200000 400000 1000000 0').map(Number),
  durationS: num('DURATION_S', 2),
  maxCalls: num('MAX_N', 1_000_000),
  throughputReps: num('THROUGHPUT_REPS', 2),
  drainS: num('DRAIN_S', 1),
  attachReps: num('ATTACH_REPS', 3),
  attachTimeoutS: num('ATTACH_TIMEOUT_S', 120),
  bigaggKeys: num('BIGAGG_KEYS', 1_000_000),
  bigaggReps: num('BIGAGG_REPS', 3),
  progcostCalls: num('PROGCOST_N', 100_000),
  progcostIdleMs: num('PROGCOST_IDLE_MS', 200),
  progcostCases: list('PROGCOST_CASES', 'empty count count_execname hist strpred strjoin'),
  sections: list('SECTIONS', 'startup overhead throughput attach pidwide bigagg progcost'),
  // bpftrace 0.17 sometimes never exits after SIGINT (the reference saw it too); its output is
  // complete by then, so waiting the reference's 60 s only wastes time.
  stopGraceMs: num('STOP_GRACE_S', 15) * 1000,
};
const LOST_REGEX = /Lost (\d+) events|(\d+) drops?\b/g;
const MAX_CONSECUTIVE_FAILURES = 2;

// ---------------------------------------------------------------------------------------------
// Results: results.sections[section][case][tracer] = { samples: { metric: number[] }, errors, notes }

const results = { machine: describeMachine(), config, tracers: [], sections: {}, startedAt: new Date().toISOString() };

function cell(section, caseName, tracerName) {
  const bySection = (results.sections[section] ??= {});
  const byCase = (bySection[caseName] ??= {});
  return (byCase[tracerName] ??= { samples: {}, errors: [], notes: [], consecutiveFailures: 0 });
}

function addSample(c, metric, value) {
  if (value === undefined || !Number.isFinite(value)) return;
  (c.samples[metric] ??= []).push(value);
}

function recordError(c, message) {
  c.errors.push(message);
  c.consecutiveFailures++;
  log(`    error: ${message}`);
}

/** True when this tracer should not try this case (unavailable, or failing repeatedly). */
function shouldSkip(c, tracer) {
  if (tracer.unavailable) {
    if (c.errors.length === 0) c.errors.push(`tracer unavailable: ${tracer.unavailable}`);
    return true;
  }
  if (c.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
    if (!c.notes.includes('gave up after repeated failures')) c.notes.push('gave up after repeated failures');
    return true;
  }
  return false;
}

function log(message) {
  process.stdout.write(`${message}\n`);
}

function describeMachine() {
  const read = (cmd, args) => { try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return undefined; } };
  return {
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: read('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    node: process.version,
    bpftrace: read('bpftrace', ['--version']),
    gnuTime: hasGnuTime,
  };
}

// ---------------------------------------------------------------------------------------------
// Workloads

async function buildBenchWorkload() {
  try {
    const { buildWorkload } = await import('../build/test/helpers/workloads.js');
    return buildWorkload('getpid_bench');
  } catch (error) {
    // Not built (node bench/run.mjs without npm run bench): compile it here.
    const out = join(repoRoot, 'bench', 'out', 'bin');
    mkdirSync(out, { recursive: true });
    const binary = join(out, 'getpid_bench');
    execFileSync('gcc', ['-O2', '-Wall', '-o', binary, join(repoRoot, 'test', 'workloads', 'getpid_bench.c')]);
    log(`(built the workload with gcc directly: ${error.message.split('\n')[0]})`);
    return binary;
  }
}

const hasTaskset = (() => { try { execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }); return true; } catch { return false; } })();
const hasBpftool = (() => { try { execFileSync('sh', ['-c', 'command -v bpftool'], { stdio: 'ignore' }); return true; } catch { return false; } })();

function pinned(cpu, argv) {
  return cpu === 'any' || !hasTaskset ? argv : ['taskset', '-c', cpu, ...argv];
}

function parseFields(line) {
  return Object.fromEntries([...line.matchAll(/(\w+)=([\d.]+)/g)].map((m) => [m[1], Number(m[2])]));
}

/**
 * Starts the workload blocked on SIGUSR1 and resolves once it printed "ready PID".
 * Returns { child, pid, done } where done resolves to its parsed result line.
 */
async function startBlockedWorkload(workload, args) {
  const { spawn } = await import('node:child_process');
  const child = spawn(workload, args, { env: { ...env, WAIT_SIGUSR1: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const done = new Promise((resolveDone) => child.on('close', (code) => resolveDone({ status: code, fields: parseFields(stdout.split('\n').find((l) => l.startsWith('calls=')) ?? '') })));
  await new Promise((resolveReady, rejectReady) => {
    child.stdout.on('data', (chunk) => { stdout += chunk; if (/^ready \d+\n/.test(stdout)) resolveReady(); });
    child.on('close', () => rejectReady(new Error('workload exited before it was ready')));
  });
  return { child, pid: child.pid, done };
}

// ---------------------------------------------------------------------------------------------
// Tracer sessions

let scratchDir;
function scratch(name) {
  return join(scratchDir, name);
}

/**
 * Starts `tracer` on the case's program, waits until its processes hold an attachment on
 * sys_enter (fdinfo / bpftool, see hasAttached) plus SETTLE_MS. Resolves { session, readyMs } or { error } (the session stopped).
 */
async function startAttached(tracer, caseName, program, stdoutPath) {
  const session = startSession(tracerArgv(tracer, caseName, program), {
    stdoutPath, stderrPath: scratch('tracer.err'), rusagePath: scratch('rusage'), env: tracer.env,
  });
  const ready = await waitAttached(session, { token: 'sys_enter', timeoutMs: 60_000 });
  if (ready.error !== undefined) {
    await stopSession(session, 5_000);
    return { error: ready.error };
  }
  await sleep(config.settleMs);
  return { session, readyMs: ready.readyMs };
}

function lostReported(...paths) {
  let lost = 0;
  for (const path of paths) {
    if (path === 'ignore' || !existsSync(path)) continue;
    for (const m of readFileSync(path, 'utf8').matchAll(LOST_REGEX)) lost += Number(m[1] ?? m[2]);
  }
  return lost;
}

/**
 * One traced run of the workload that the tracer filters by pid: the workload starts blocked
 * on SIGUSR1 (so its pid can go into the program), the tracer attaches, the workload runs to
 * the end, DRAIN_S passes, the tracer is stopped with SIGINT. Records errors in `c` and
 * returns undefined on failure; else { pid, fields (the workload's result line), stopped, readyMs }.
 */
async function runPidTargeted(tracer, c, { workload, workloadArgs, caseName, outPath, graceMs }) {
  let wl;
  try {
    wl = await startBlockedWorkload(workload, workloadArgs);
  } catch (error) { recordError(c, error.message); return undefined; }
  const started = await startAttached(tracer, caseName, programText(tracer, caseName, { pid: wl.pid }), outPath);
  if (started.error !== undefined) {
    wl.child.kill('SIGKILL');
    await wl.done;
    recordError(c, started.error);
    return undefined;
  }
  addSample(c, 'readyMs', started.readyMs);
  wl.child.kill('SIGUSR1');
  const { fields } = await wl.done;
  await sleep(config.drainS * 1000);
  const stopped = await stopSession(started.session, graceMs);
  return { pid: wl.pid, fields, stopped, readyMs: started.readyMs };
}

/**
 * Runs a tracer (or any command) that exits by itself, under GNU time; records wallMs and
 * rssKiB in `c` (no cell: a warm-up run), or an error when it fails or needs timeoutMs.
 * Returns the finish record, or undefined on failure.
 */
async function runToExit(c, name, argv, tracerEnv, prefix, timeoutMs) {
  const session = startSession(argv, { stdoutPath: scratch(`${prefix}.out`), stderrPath: scratch(`${prefix}.err`), rusagePath: scratch('rusage'), env: tracerEnv });
  const r = await waitExit(session, timeoutMs);
  if (c === undefined) return r;
  if (r.spawnError || r.timedOut || r.exitStatus !== 0) {
    recordError(c, `${name}: ${r.spawnError ?? (r.timedOut ? `did not finish within ${timeoutMs / 1000} s (killed)` : `exit status ${r.exitStatus}`)}: ${tail(scratch(`${prefix}.err`))}`);
    return undefined;
  }
  c.consecutiveFailures = 0;
  addSample(c, 'wallMs', r.wallMs);
  addSample(c, 'rssKiB', r.rssKiB);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Sections

async function benchStartup(tracers) {
  log('\n== startup: whole-process wall time and peak RSS');
  const cases = ['begin_exit', 'tp_map_exit'];
  const runOnce = (name, argv, tracerEnv, c) => runToExit(c, name, argv, tracerEnv, 'startup', 30_000);
  // Warm-up: page cache, the first bpf() of the session.
  for (const tracer of tracers) if (!tracer.unavailable && runsCase(tracer, 'begin_exit')) await runOnce(tracer.name, tracerArgv(tracer, 'begin_exit', programText(tracer, 'begin_exit')), tracer.env, undefined);
  for (let run = 1; run <= config.startupRuns; run++) {
    await runOnce('node', [process.execPath, '-e', '0'], undefined, cell('startup', 'node -e 0', 'node'));
    for (const caseName of cases) {
      for (const tracer of tracers) {
        if (!runsCase(tracer, caseName)) continue;
        const c = cell('startup', caseName, tracer.name);
        if (shouldSkip(c, tracer)) continue;
        await runOnce(tracer.name, tracerArgv(tracer, caseName, programText(tracer, caseName)), tracer.env, c);
      }
    }
    log(`  run ${run}/${config.startupRuns} done`);
  }
}

/** The workload's timed loop of `calls` getpid calls pinned to `cpu`; resolves to its ns per call. */
async function runLoopOf(workload, cpu, calls) {
  const r = await runCapture(pinned(cpu, [workload, 'loop', String(calls)]), { timeoutMs: 600_000 });
  const fields = parseFields(r.stdout);
  if (r.status !== 0 || fields.ns_per_call === undefined) throw new Error(`workload failed: status ${r.status} ${r.stderr.trim()}`);
  return fields.ns_per_call;
}

async function benchOverhead(tracers, workload) {
  log(`\n== overhead: ${config.calls} getpid calls per run (printf: ${config.printfCalls}), cpus ${config.workloadCpus.join(',')}, ${config.overheadReps} reps`);
  const runLoop = (cpu, calls) => runLoopOf(workload, cpu, calls);
  await runLoop(config.workloadCpus[0], config.calls); // warm-up
  for (let rep = 1; rep <= config.overheadReps; rep++) {
    const untraced = cell('overhead', 'untraced', 'none');
    for (const cpu of config.workloadCpus) addSample(untraced, `nsPerCall.cpu${cpu}`, await runLoop(cpu, config.calls));
    for (const caseName of config.overheadCases) {
      for (const tracer of tracers) {
        if (!runsCase(tracer, caseName)) continue;
        const c = cell('overhead', caseName, tracer.name);
        if (shouldSkip(c, tracer)) continue;
        const calls = caseName === 'printf' ? config.printfCalls : config.calls;
        const stdoutPath = caseName === 'printf' ? 'ignore' : scratch('overhead.out');
        const started = await startAttached(tracer, caseName, programText(tracer, caseName), stdoutPath);
        if (started.error !== undefined) { recordError(c, started.error); continue; }
        addSample(c, 'readyMs', started.readyMs);
        const perCpu = [];
        try {
          for (const cpu of config.workloadCpus) {
            const ns = await runLoop(cpu, calls);
            addSample(c, `nsPerCall.cpu${cpu}`, ns);
            perCpu.push(`cpu${cpu} ${ns.toFixed(1)}`);
          }
        } catch (error) {
          recordError(c, error.message);
        }
        const stopped = await stopSession(started.session, config.stopGraceMs);
        addSample(c, 'rssKiB', stopped.rssKiB);
        addSample(c, 'stopMs', stopped.stopMs);
        if (stopped.timedOut) c.notes.push(`rep ${rep}: did not exit within STOP_GRACE_S of SIGINT (killed)`);
        if (caseName === 'count') {
          // The count must cover every call the workload made on every CPU.
          const integers = (readFileSync(scratch('overhead.out'), 'utf8').match(/\d+/g) ?? []).map(Number);
          const largest = integers.length ? Math.max(...integers) : 0;
          const expected = calls * config.workloadCpus.length;
          c.notes.push(largest >= expected ? `rep ${rep}: count ok (${largest})` : `rep ${rep}: count LOW (${largest} < ${expected})`);
        }
        c.consecutiveFailures = 0;
        log(`  rep ${rep} ${caseName.padEnd(14)} ${tracer.name.padEnd(8)} ns/call ${perCpu.join(', ')}`);
      }
    }
  }
  // Derived: overhead per event against the untraced median on the same CPU.
  for (const [caseName, byTracer] of Object.entries(results.sections.overhead ?? {})) {
    if (caseName === 'untraced') continue;
    for (const c of Object.values(byTracer)) {
      c.overheadNs = {};
      for (const cpu of config.workloadCpus) {
        const traced = c.samples[`nsPerCall.cpu${cpu}`];
        const base = results.sections.overhead.untraced.none.samples[`nsPerCall.cpu${cpu}`];
        if (traced?.length && base?.length) c.overheadNs[`cpu${cpu}`] = median(traced) - median(base);
      }
    }
  }
}

async function benchThroughput(tracers, workload) {
  log(`\n== throughput: printf events delivered, rates ${config.rates.join(',')} (0 = unpaced), ${config.durationS} s each, ${config.throughputReps} reps`);
  for (const rate of config.rates) {
    const calls = rate === 0 ? config.maxCalls : rate * config.durationS;
    const caseName = rate === 0 ? 'unpaced' : String(rate);
    for (let rep = 1; rep <= config.throughputReps; rep++) {
      for (const tracer of tracers) {
        if (!runsCase(tracer, 'printf_pid')) continue;
        const c = cell('throughput', caseName, tracer.name);
        c.calls = calls;
        if (shouldSkip(c, tracer)) continue;
        const outPath = scratch('throughput.out');
        const run = await runPidTargeted(tracer, c, { workload, workloadArgs: ['paced', String(calls), String(rate)], caseName: 'printf_pid', outPath, graceMs: config.stopGraceMs });
        if (run === undefined) continue;
        const { fields, stopped } = run;
        const pidText = String(run.pid);
        const received = readFileSync(outPath, 'utf8').split('\n').filter((line) => line === pidText).length;
        const lost = lostReported(outPath, scratch('tracer.err'));
        addSample(c, 'achievedPerS', fields.rate);
        addSample(c, 'deliveredPct', (100 * received) / calls);
        addSample(c, 'lostReported', lost);
        addSample(c, 'lossless', received === calls ? 1 : 0);
        if (stopped.timedOut) c.notes.push(`rep ${rep}: killed after SIGINT timeout`);
        c.consecutiveFailures = 0;
        log(`  rate ${caseName.padEnd(8)} rep ${rep} ${tracer.name.padEnd(8)} achieved ${fields.rate}/s delivered ${received}/${calls} lost(reported) ${lost}`);
      }
    }
  }
}

async function benchAttach(tracers) {
  log(`\n== attach+detach of every syscall entry probe, ${config.attachReps} reps (timeout ${config.attachTimeoutS} s)`);
  for (let rep = 1; rep <= config.attachReps; rep++) {
    for (const tracer of tracers) {
      if (!runsCase(tracer, 'attach_all')) continue;
      const c = cell('attach', 'syscall_entry_all', tracer.name);
      if (shouldSkip(c, tracer)) continue;
      const r = await runToExit(c, tracer.name, tracerArgv(tracer, 'attach_all', programText(tracer, 'attach_all')), tracer.env, 'attach', config.attachTimeoutS * 1000);
      if (r === undefined) continue;
      log(`  rep ${rep} ${tracer.name.padEnd(8)} ${r.wallMs.toFixed(0)} ms`);
    }
  }
}

/**
 * Every function of libc probed in a running process (issue 18 target 3): the program prints a
 * line from a 1 ms tick and exits, so "attach" is the time to that line (startup + attach: our
 * clauses go live only once everything is attached) and "detach" the time from it to the
 * tracer's exit. The target is a `sleep` (it maps libc and does nothing).
 */
async function benchPidWide(tracers) {
  log(`\n== pidwide: pid$target:libc.so.6::entry on a running process, ${config.attachReps} reps (timeout ${config.attachTimeoutS} s)`);
  const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib64/libc.so.6', '/lib64/libc.so.6'].find((p) => existsSync(p));
  for (let rep = 1; rep <= config.attachReps; rep++) {
    for (const tracer of tracers) {
      if (!runsCase(tracer, 'pid_libc')) continue;
      const c = cell('pidwide', 'libc_entry_all', tracer.name);
      if (shouldSkip(c, tracer)) continue;
      const target = spawn('sleep', ['600'], { stdio: 'ignore' });
      try {
        const program = programText(tracer, 'pid_libc', { pid: target.pid, libc });
        const argv = tracerArgv(tracer, 'pid_libc', program);
        const startMs = nowMs();
        const child = spawn(argv[0], [...argv.slice(1), ...(tracer.dialect === 'd' ? ['-p', String(target.pid)] : [])], { stdio: ['ignore', 'pipe', 'pipe'], env: tracer.env ?? process.env });
        let attachedMs, err = '', out = '';
        child.stdout.on('data', (d) => { out += d; if (attachedMs === undefined && /attached/.test(out)) attachedMs = nowMs(); });
        child.stderr.on('data', (d) => { err += d; });
        const exited = new Promise((r) => child.on('close', (code, signal) => r({ code, signal, endMs: nowMs() })));
        const timer = setTimeout(() => child.kill('SIGKILL'), config.attachTimeoutS * 1000);
        const { code, signal, endMs } = await exited;
        clearTimeout(timer);
        if (attachedMs === undefined || code !== 0) {
          recordError(c, `status ${code ?? signal}${attachedMs === undefined ? ', never attached' : ''}: ${err.trim().split('\n').slice(-2).join(' | ')}`);
          continue;
        }
        addSample(c, 'attachMs', attachedMs - startMs);
        addSample(c, 'detachMs', endMs - attachedMs);
        const warnings = (err.match(/warning/g) ?? []).length;
        if (warnings) c.notes.push(`rep ${rep}: ${warnings} warning line(s) (functions skipped)`);
        c.consecutiveFailures = 0;
        log(`  rep ${rep} ${tracer.name.padEnd(8)} attach ${(attachedMs - startMs).toFixed(0)} ms, detach ${(endMs - attachedMs).toFixed(0)} ms`);
      } finally {
        target.kill('SIGKILL');
      }
    }
  }
}

async function benchBigAggregation(tracers, workload) {
  log(`\n== bigagg: ${config.bigaggKeys} distinct keys (getpid arg0 = 0..N-1 from one process), printed at exit, ${config.bigaggReps} reps`);
  const keyLine = /^(?:@\[\d+\]: \d+|\s*\d+\s+\d+)\s*$/;
  for (let rep = 1; rep <= config.bigaggReps; rep++) {
    for (const tracer of tracers) {
      if (!runsCase(tracer, 'bigagg')) continue;
      const c = cell('bigagg', `keys_${config.bigaggKeys}`, tracer.name);
      if (shouldSkip(c, tracer)) continue;
      const outPath = scratch('bigagg.out');
      const run = await runPidTargeted(tracer, c, { workload, workloadArgs: ['keys', String(config.bigaggKeys)], caseName: 'bigagg', outPath, graceMs: 300_000 });
      if (run === undefined) continue;
      const { fields, stopped, readyMs } = run;
      const keysPrinted = readFileSync(outPath, 'utf8').split('\n').filter((line) => keyLine.test(line)).length;
      if (stopped.timedOut) { recordError(c, 'did not finish printing within 300 s of SIGINT (killed)'); continue; }
      addSample(c, 'printMs', stopped.stopMs);
      addSample(c, 'keysPrinted', keysPrinted);
      addSample(c, 'rssKiB', stopped.rssKiB);
      addSample(c, 'fillNsPerCall', fields.ns_total / fields.calls);
      addSample(c, 'lostReported', lostReported(outPath, scratch('tracer.err')));
      if (keysPrinted < config.bigaggKeys) c.notes.push(`rep ${rep}: only ${keysPrinted} keys printed: ${tail(scratch('tracer.err'), 2)}`);
      c.consecutiveFailures = 0;
      log(`  rep ${rep} ${tracer.name.padEnd(8)} attached after ${readyMs.toFixed(0)} ms, fill ${(fields.ns_total / 1e6).toFixed(0)} ms, ` +
        `SIGINT->exit ${stopped.stopMs.toFixed(0)} ms, ${keysPrinted} keys printed, peak RSS ${stopped.rssKiB} KiB`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(value, digits = 1) {
  if (value === undefined) return 'n/a';
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

function describeCell(c, metric) {
  if (c === undefined) return '-';
  const s = summarize(c.samples[metric] ?? []);
  if (s === undefined) return c.errors.length ? 'FAILED' : 'n/a';
  return `${fmt(s.median)} [${fmt(s.min)}..${fmt(s.max)}]`;
}

function ratio(ours, theirs) {
  if (ours === undefined || theirs === undefined || theirs === 0) return 'n/a';
  return `${(ours / theirs).toFixed(2)}x`;
}

function buildSummary() {
  const rows = [];
  const sections = results.sections;
  const row = (section, caseName, metric, pick) => {
    const byTracer = sections[section]?.[caseName];
    if (byTracer === undefined) return;
    const ours = pick(byTracer.dtrace);
    const theirs = pick(byTracer.bpftrace);
    const base = pick(byTracer['dtrace-base']);
    rows.push({ section, case: caseName, metric, dtrace: ours, bpftrace: theirs, ratio: ratio(ours, theirs), base, baseRatio: ratio(ours, base) });
  };
  const med = (metric) => (c) => (c ? median(c.samples[metric] ?? []) : undefined);
  for (const caseName of Object.keys(sections.startup ?? {})) {
    if (caseName === 'node -e 0') continue; // printed on its own line: one process, no tracer
    row('startup', caseName, 'wall ms', med('wallMs'));
    // The issue's second startup target: wall time over a bare `node -e 0` of the same run.
    const nodeMs = median(sections.startup['node -e 0']?.node?.samples.wallMs ?? []);
    if (nodeMs) row('startup', caseName, 'wall / node -e 0', (c) => { const m = med('wallMs')(c); return m === undefined ? undefined : m / nodeMs; });
    row('startup', caseName, 'peak RSS KiB', med('rssKiB'));
  }
  for (const caseName of Object.keys(sections.overhead ?? {})) {
    if (caseName === 'untraced') continue;
    for (const cpu of config.workloadCpus) row('overhead', caseName, `ns/event cpu${cpu}`, (c) => c?.overheadNs?.[`cpu${cpu}`]);
    row('overhead', caseName, 'peak RSS KiB', med('rssKiB'));
  }
  // The fallback paths (DTRACE_TS_KERNEL=5.15) against the native ones: the issue's target is 1.5x.
  for (const [caseName, byTracer] of Object.entries(sections.overhead ?? {})) {
    const native = byTracer.dtrace?.overheadNs, fallback = byTracer.dtrace515?.overheadNs;
    if (!native || !fallback) continue;
    for (const cpu of config.workloadCpus) {
      const n = native[`cpu${cpu}`], f = fallback[`cpu${cpu}`];
      rows.push({ section: 'fallback', case: caseName, metric: `5.15 / native ns/event cpu${cpu}`, dtrace: f, bpftrace: n, ratio: ratio(f, n) });
    }
  }
  for (const caseName of Object.keys(sections.throughput ?? {})) {
    row('throughput', caseName, 'achieved events/s', med('achievedPerS'));
    row('throughput', caseName, 'delivered %', med('deliveredPct'));
  }
  row('attach', 'syscall_entry_all', 'wall ms', med('wallMs'));
  row('pidwide', 'libc_entry_all', 'attach ms', med('attachMs'));
  row('pidwide', 'libc_entry_all', 'detach ms', med('detachMs'));
  for (const caseName of Object.keys(sections.bigagg ?? {})) {
    row('bigagg', caseName, 'SIGINT->exit ms', med('printMs'));
    row('bigagg', caseName, 'keys printed', med('keysPrinted'));
    row('bigagg', caseName, 'fill ns/key', med('fillNsPerCall'));
    row('bigagg', caseName, 'peak RSS KiB', med('rssKiB'));
  }
  rows.push(...progcostSummaryRows(sections.progcost, config.workloadCpus));
  // Highest achieved rate with every event of every rep delivered.
  for (const tracer of ['dtrace', 'bpftrace']) {
    let best;
    for (const byTracer of Object.values(sections.throughput ?? {})) {
      const c = byTracer[tracer];
      const lossless = c?.samples.lossless ?? [];
      if (lossless.length && lossless.every((v) => v === 1)) {
        const achieved = median(c.samples.achievedPerS);
        if (best === undefined || achieved > best) best = achieved;
      }
    }
    results.maxLosslessPrintfPerS = { ...(results.maxLosslessPrintfPerS ?? {}), [tracer]: best };
  }
  return rows;
}

function printReport(rows) {
  log('\n== results (median [min..max] per tracer; ratio = dtrace / bpftrace medians)');
  const untraced = results.sections.overhead?.untraced?.none;
  if (untraced) for (const cpu of config.workloadCpus) log(`untraced getpid ns/call cpu${cpu}: ${describeCell(untraced, `nsPerCall.cpu${cpu}`)}`);
  // With DTRACE_BASE_CMD, two more columns: the other build of ours, and dtrace / that build.
  const withBase = rows.some((r) => r.base !== undefined);
  const header = ['section', 'case', 'metric', 'dtrace', 'bpftrace', 'ratio', ...(withBase ? ['dtrace-base', 'dtrace/base'] : [])];
  const nodeBaseline = results.sections.startup?.['node -e 0']?.node;
  if (nodeBaseline) log(`node -e 0 (the floor of our startup): wall ms ${describeCell(nodeBaseline, 'wallMs')}, peak RSS KiB ${describeCell(nodeBaseline, 'rssKiB')}`);
  const lines = rows.map((r) => [r.section, r.case, r.metric, fmt(r.dtrace), fmt(r.bpftrace), r.ratio, ...(withBase ? [fmt(r.base), r.baseRatio] : [])]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  for (const l of [header, ...lines]) log(l.map((v, i) => String(v).padEnd(widths[i])).join('  '));
  if (results.sections.throughput) log(`max lossless printf rate (median achieved, every rep 100% delivered): dtrace ${fmt(results.maxLosslessPrintfPerS?.dtrace)}/s, bpftrace ${fmt(results.maxLosslessPrintfPerS?.bpftrace)}/s`);
  const problems = results.tracers.filter((t) => t.unavailable).map((t) => `${t.name}: not run at all: ${t.unavailable}`);
  const unavailable = new Set(results.tracers.filter((t) => t.unavailable).map((t) => t.name));
  for (const [section, byCase] of Object.entries(results.sections)) {
    for (const [caseName, byTracer] of Object.entries(byCase)) {
      for (const [tracer, c] of Object.entries(byTracer)) {
        if (unavailable.has(tracer)) continue;
        if (c.errors.length) problems.push(`${section}/${caseName}/${tracer}: ${c.errors.length} error(s), first: ${c.errors[0]}`);
        for (const note of c.notes.filter((n) => /LOW|killed|gave up|only/.test(n))) problems.push(`${section}/${caseName}/${tracer}: ${note}`);
      }
    }
  }
  if (problems.length) { log('\nproblems:'); for (const p of problems) log(`  ${p}`); }
}

async function main() {
  if (process.getuid?.() !== 0) log('warning: not root; tracers will fail to load programs');
  const tracers = defineTracers(repoRoot);
  results.tracers = tracers.map(({ name, command, argv, unavailable }) => ({ name, command, argv, unavailable }));
  for (const t of tracers) log(`tracer ${t.name}: ${t.argv.join(' ')} <program>${t.unavailable ? `  (UNAVAILABLE: ${t.unavailable})` : ''}`);
  log(`machine: ${results.machine.cpuModel}, ${results.machine.cpus} cpus, ${results.machine.memGiB} GiB, kernel ${results.machine.kernel}, ${results.machine.os ?? ''}`);
  if (!hasGnuTime) log('warning: /usr/bin/time missing (apt-get install time): no peak RSS');
  if (!hasBpftool) log('warning: bpftool missing: perf-event attachments (bpftrace) cannot be detected');
  const foreign = hasBpftool ? await foreignAttachments('sys_enter') : 0;
  if (foreign > 0) log(`warning: ${foreign} other BPF attachment(s) on sys_enter: their cost is in every ns/call figure, untraced included`);
  const workload = await buildBenchWorkload();
  scratchDir = mkdtempSync(join(tmpdir(), 'dtrace-bench-'));
  const outDir = join(repoRoot, 'bench', 'out');
  mkdirSync(outDir, { recursive: true });
  const sections = {
    startup: () => benchStartup(tracers),
    overhead: () => benchOverhead(tracers, workload),
    throughput: () => benchThroughput(tracers, workload),
    attach: () => benchAttach(tracers),
    pidwide: () => benchPidWide(tracers),
    progcost: () => benchProgcost({
      tracers, config, results, log, cell, addSample, recordError, shouldSkip, startAttached, stopSession, programText, runsCase,
      runLoop: (cpu, calls) => runLoopOf(workload, cpu, calls),
    }),
    bigagg: () => benchBigAggregation(tracers.filter((t) => t.name === 'dtrace' || env.BIGAGG_BPFTRACE !== '0'), workload),
  };
  try {
    for (const name of config.sections) {
      if (sections[name] === undefined) { log(`unknown section ${name} (known: ${Object.keys(sections).join(' ')})`); continue; }
      const startedMs = Date.now();
      try {
        await sections[name]();
      } catch (error) {
        (results.sectionErrors ??= {})[name] = error.stack ?? String(error);
        log(`section ${name} aborted: ${error.message}`);
      }
      log(`  (${name}: ${((Date.now() - startedMs) / 1000).toFixed(0)} s)`);
    }
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
  for (const byCase of Object.values(results.sections)) for (const byTracer of Object.values(byCase)) for (const c of Object.values(byTracer)) delete c.consecutiveFailures;
  results.summary = buildSummary();
  results.finishedAt = new Date().toISOString();
  printReport(results.summary);
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  log(`\nwrote bench/out/results.json`);
}

await main();
