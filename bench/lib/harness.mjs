// @fileoverview Process plumbing for the tracer benchmarks: run a command and time it, start a
// tracer in its own process group under GNU time (peak RSS), detect when its probe is
// attached (bpftool), stop it with SIGINT, and small statistics helpers.
//
// Everything here is tracer-agnostic: a tracer is an argv prefix to which the program text is
// appended. Times come from process.hrtime (CLOCK_MONOTONIC), the same clock the C workload
// uses for its end_ns stamp.
import { spawn, execFile } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = existsSync(GNU_TIME);

/** Monotonic clock in ms (float). */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Monotonic clock in ns (BigInt), comparable with the workload's end_ns. */
export function nowNs() {
  return process.hrtime.bigint();
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function summarize(values) {
  if (values.length === 0) return undefined;
  return { min: Math.min(...values), median: median(values), max: Math.max(...values), n: values.length };
}

// ---------------------------------------------------------------------------------------------
// Running commands

/**
 * Runs argv to completion and captures stdout/stderr (for the workload and small tools).
 * Resolves { status, signal, stdout, stderr, wallMs }; never rejects.
 */
export function runCapture(argv, { timeoutMs = 120_000, env } = {}) {
  return new Promise((resolveRun) => {
    const startMs = nowMs();
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 << 20, env: env ?? process.env, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : undefined) : 0;
        resolveRun({ status, signal: error?.signal ?? undefined, stdout, stderr, wallMs: nowMs() - startMs,
          error: error && typeof error.code !== 'number' ? error.message : undefined });
      });
  });
}

/** Opens an output target for a child: a path (truncated) or 'ignore' for /dev/null. */
function openOutput(target) {
  return target === 'ignore' ? 'ignore' : openSync(target, 'w');
}

function readRusageFile(path) {
  // GNU time writes "Command exited with non-zero status N" or "Command terminated by signal N"
  // before the format line when the command did not exit 0; the format line is last.
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const [rss, exitStatus] = lines[lines.length - 1].trim().split(/\s+/).map(Number);
    return { rssKiB: Number.isFinite(rss) ? rss : undefined, exitStatus: Number.isFinite(exitStatus) ? exitStatus : undefined };
  } catch {
    return { rssKiB: undefined, exitStatus: undefined };
  }
}

/**
 * Starts argv in a new process group (session), under GNU time when available, with stdout
 * and stderr going to files. Returns a session handle for waitExit/stopSession.
 */
export function startSession(argv, { stdoutPath, stderrPath, rusagePath, env }) {
  rmSync(rusagePath, { force: true });
  const fullArgv = hasGnuTime ? [GNU_TIME, '-f', '%M %x', '-o', rusagePath, ...argv] : argv;
  const outFd = openOutput(stdoutPath);
  const errFd = openOutput(stderrPath);
  const startMs = nowMs();
  const child = spawn(fullArgv[0], fullArgv.slice(1), { detached: true, stdio: ['ignore', outFd, errFd], env: env ?? process.env });
  if (typeof outFd === 'number') closeSync(outFd);
  if (typeof errFd === 'number') closeSync(errFd);
  const session = { child, argv, startMs, endMs: undefined, exitCode: undefined, signal: undefined, spawnError: undefined, rusagePath, stderrPath };
  session.exited = new Promise((resolveExit) => {
    child.on('error', (error) => { session.spawnError = error.message; session.endMs = nowMs(); resolveExit(); });
    child.on('exit', (code, signal) => {
      session.endMs = nowMs();
      session.exitCode = code ?? undefined;
      session.signal = signal ?? undefined;
      resolveExit();
    });
  });
  return session;
}

export function isRunning(session) {
  return session.endMs === undefined;
}

function signalGroup(session, signal) {
  try { process.kill(-session.child.pid, signal); } catch { /* already gone */ }
}

/**
 * Resolves true after ms, without holding the process open: a grace period the tracer did not
 * need (bigagg allows 300 s) must not keep the bench alive for minutes after its report.
 */
const graceTimer = (ms) => sleep(ms, true, { ref: false });

/** Waits for the session to exit on its own, up to timeoutMs; then SIGKILLs the group. */
export async function waitExit(session, timeoutMs) {
  const timedOut = await Promise.race([session.exited.then(() => false), graceTimer(timeoutMs)]);
  if (timedOut) {
    signalGroup(session, 'SIGKILL');
    await session.exited;
  }
  return finish(session, { timedOut });
}

/**
 * SIGINT to the group (as a user's ^C), wait up to graceMs, then SIGKILL.
 * Returns the finish record with stopMs = SIGINT to exit.
 */
export async function stopSession(session, graceMs = 60_000) {
  const signalMs = nowMs();
  const wasRunning = isRunning(session);
  if (wasRunning) signalGroup(session, 'SIGINT');
  const killed = await Promise.race([session.exited.then(() => false), graceTimer(graceMs)]);
  if (killed) {
    signalGroup(session, 'SIGKILL');
    await session.exited;
  }
  const result = finish(session, { timedOut: killed });
  result.stopMs = wasRunning ? session.endMs - signalMs : 0;
  return result;
}

function finish(session, { timedOut }) {
  const { rssKiB, exitStatus } = hasGnuTime ? readRusageFile(session.rusagePath) : { rssKiB: undefined, exitStatus: session.exitCode };
  return {
    wallMs: session.endMs - session.startMs,
    rssKiB,
    exitStatus: exitStatus ?? session.exitCode,
    timedOut,
    spawnError: session.spawnError,
  };
}

/** Last lines of a file, for error reports. */
export function tail(path, lines = 5) {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Readiness: has the tracer attached its probe?

/** Pids whose process group is pgid (the tracer session and everything it started). */
export function pidsInGroup(pgid) {
  const pids = new Set();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.add(Number(name));
    } catch { /* exited meanwhile */ }
  }
  return pids;
}

async function bpftoolJson(args) {
  const r = await runCapture(['bpftool', '-j', ...args], { timeoutMs: 10_000 });
  if (r.status !== 0) return [];
  try {
    const parsed = JSON.parse(r.stdout || '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/** The /proc/PID/fdinfo texts of `pids`' descriptors that contain `marker` (a BPF object's field). */
export function fdinfoTexts(pids, marker) {
  const texts = [];
  for (const pid of pids) {
    let fds = [];
    try { fds = readdirSync(`/proc/${pid}/fdinfo`); } catch { continue; }
    for (const fd of fds) {
      try {
        const text = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
        if (text.includes(marker)) texts.push(text);
      } catch { /* closed meanwhile */ }
    }
  }
  return texts;
}

/**
 * BPF links held by `pids`, from /proc/PID/fdinfo (the kernel prints link_type, link_id and,
 * for raw tracepoints, tp_name there). Returned as the fdinfo texts.
 */
export function linksHeldBy(pids) {
  return fdinfoTexts(pids, 'link_id:');
}

/**
 * Has one of `pids` attached a probe whose tracepoint name contains `token` (e.g.
 * "sys_enter": bpftrace's perf-event tracepoint sys_enter_getpid, or a raw_tracepoint link on
 * sys_enter)? Counting only attachments held by the tracer's own processes keeps other
 * tracers on the machine from faking readiness. Perf-event tracepoints are found with
 * `bpftool perf list` (it names the owning pid); links from fdinfo. A tp_btf ("tracing")
 * link does not name its tracepoint in fdinfo, so any such link counts.
 */
export async function hasAttached(pids, token) {
  for (const text of linksHeldBy(pids)) {
    if (text.includes(token) || /^link_type:\s*tracing$/m.test(text)) return true;
  }
  const perfEvents = await bpftoolJson(['perf', 'list']);
  return perfEvents.some((entry) => pids.has(entry.pid) && JSON.stringify(entry).includes(token));
}

/** Number of attachments to `token` on the whole machine (to warn about other tracers). */
export async function foreignAttachments(token) {
  const [perfEvents, links] = await Promise.all([bpftoolJson(['perf', 'list']), bpftoolJson(['link', 'list'])]);
  return [...perfEvents, ...links].filter((entry) => JSON.stringify(entry).includes(token)).length;
}

/**
 * Polls until the session's processes hold an attachment matching token (see hasAttached),
 * the session exits, or timeoutMs passes. Returns { readyMs } (from session start) or { error }.
 */
export async function waitAttached(session, { token, timeoutMs = 30_000, pollMs = 10 }) {
  for (;;) {
    if (await hasAttached(pidsInGroup(session.child.pid), token)) return { readyMs: nowMs() - session.startMs };
    if (!isRunning(session)) return { error: `tracer exited (status ${session.exitCode ?? session.signal}) before attaching: ${tail(session.stderrPath)}` };
    if (nowMs() - session.startMs > timeoutMs) return { error: `not attached after ${timeoutMs} ms: ${tail(session.stderrPath)}` };
    await sleep(pollMs);
  }
}
