/**
 * @fileoverview The processes a run controls: `-c` commands (created stopped, released once every
 * probe is enabled), `-p` processes (grabbed: the run ends when they exit) and system() commands.
 *
 * A `-c` command is split into words as DTrace's make_argv does (blanks only, no quoting) and
 * looked up in PATH as execvp(3) would, so a missing command fails before any tracing with
 * DTrace's message. Node cannot run code between fork and exec, so the child starts as a stub
 * shell blocked on a pipe; it never parses the command (the words are its positional
 * parameters). The stub is PTRACE_SEIZEd with PTRACE_O_TRACEEXEC before the pipe is written, so
 * it stops right after the command's execve, before the command's first instruction (the
 * dynamic linker has not run): probes are attached while it is stopped there, and pid$target
 * probes see the program's own work and nothing of the stub's. PTRACE_O_EXITKILL kills it if
 * the tracer dies while holding it; `setpriv --pdeathsig KILL` (when installed) keeps that
 * true after release. Without ptrace (a seccomp profile forbidding it) the stub is released
 * through the pipe after attaching, as before. When the program has per-process probes of the
 * target, it stays traced after its release to follow its forks (runtime/traced-family.ts).
 */
import { accessSync, constants, statSync, writeSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  spawnProcess, waitProcess, killProcess, ptraceTry, pidfdOpenTry, pipeCloexec, closeFd, watchReadable, type FdWatch,
  WALL, WNOHANG, PTRACE_SEIZE, PTRACE_CONT, PTRACE_DETACH, PTRACE_O_TRACEEXEC, PTRACE_O_EXITKILL, PTRACE_EVENT_EXEC,
  PTRACE_SETOPTIONS, PTRACE_O_TRACEEXIT, PTRACE_EVENT_STOP, type WaitResult,
} from '../bpf/sys.js';
import { TracedFamily, FOLLOW_FORK_OPTIONS, type StopReport } from './traced-family.js';
import type { ForkHooks } from './descendant-links.js';

const SIGKILL = 9;
const SIGPIPE = 13;
const SIGXFSZ = 25;
/** Signals Node ignores and a child must not inherit ignored. */
const RESET_SIGNALS = [SIGPIPE, SIGXFSZ];

/** A failure to create or grab a process: `message` is DTrace's text (without `dtrace: `). */
export class ProcessError extends Error {
  constructor(message: string) { super(message); this.name = 'ProcessError'; }
}

/** Splits a `-c` argument into words as DTrace's make_argv(): on blanks, no quoting. */
export function splitCommandWords(cmd: string): string[] {
  const words = cmd.split(/[\f\n\r\t\v ]+/).filter((w) => w !== '');
  return words.length > 0 ? words : [cmd];
}

/** execvp(3)'s lookup: the path that would be executed, or the errno name why none would. */
export function resolveExecutable(name: string, pathVar = process.env['PATH'] ?? '/bin:/usr/bin'): { path: string } | { errno: string } {
  const check = (p: string): string | undefined => {
    try {
      if (statSync(p).isDirectory()) return 'EACCES';
      accessSync(p, constants.X_OK);
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    }
  };
  if (name === '') return { errno: 'ENOENT' };
  if (name.includes('/')) {
    const why = check(name);
    return why === undefined ? { path: name } : { errno: why };
  }
  let sawEacces = false;
  for (const dir of pathVar.split(':')) {
    const candidate = join(dir === '' ? '.' : dir, name);
    const why = check(candidate);
    if (why === undefined) return { path: candidate };
    if (why === 'EACCES') sawEacces = true;
  }
  return { errno: sawEacces ? 'EACCES' : 'ENOENT' };
}

/** A process whose end ends the run. */
export interface WatchedProcess {
  readonly pid: number;
  /** Resolves when the process has exited (reaped, when it is our child). */
  readonly exited: Promise<void>;
  /** Stops watching (the run is over). */
  close(): void;
}

/** A `-c` command, held stopped until release(). */
export interface CreatedProcess extends WatchedProcess {
  /** The executable the command runs (resolved like execvp). */
  readonly executable: string;
  /** True while stopped after its execve (ptrace); false when held before exec by the stub. */
  readonly heldAfterExec: boolean;
  /**
   * Lets it run. With `beforeExit`, a target held after its execve stays traced: `beforeExit`
   * runs while its image is still mapped — at each later execve and at its exit (ptrace's exit
   * stop) — so what it mapped while running can still be read (DTrace keeps a process handle).
   * With `forks` following it, it stays traced too, and so do the processes it forks
   * (runtime/traced-family.ts): their probes are attached before they run.
   */
  release(beforeExit?: (pid: number) => void, forks?: ForkHooks): void;
  /** SIGKILL if still running (the run ended first, or failed). */
  kill(): void;
}

/**
 * Watches `pid` until it exits: pidfd_open when the kernel has it, else polling /proc. A child
 * still traced after its release (traceStops) also reports its ptrace stops: those wake us
 * through SIGCHLD (a pidfd only wakes at the exit), with a slow poll as a safety net.
 */
function watchExit(pid: number, reap: boolean): { exited: Promise<void>; close(): void; traceStops(onStop: (w: StopReport) => void): void } {
  let resolveExit!: () => void;
  const exited = new Promise<void>((r) => { resolveExit = r; });
  let watch: FdWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let stopHandler: ((w: StopReport) => void) | undefined;
  let pidfd = -1;
  let done = false;
  const close = () => {
    if (watch) { watch.close(); watch = undefined; }
    if (timer) { clearInterval(timer); timer = undefined; }
    if (stopTimer) { clearInterval(stopTimer); stopTimer = undefined; }
    if (stopHandler) { process.off('SIGCHLD', onEvent); stopHandler = undefined; }
    if (pidfd >= 0) { closeFd(pidfd); pidfd = -1; }
  };
  const gone = (): boolean => {
    if (reap) {
      for (;;) {
        let w: WaitResult;
        try {
          w = waitProcess(pid, WNOHANG | WALL, 'wait for the traced command');
        } catch {
          return true; // ECHILD: already reaped
        }
        if (w.kind === 'exited' || w.kind === 'signaled') return true;
        if (w.kind !== 'stopped' || !stopHandler) return false;
        stopHandler(w);
      }
    }
    return !existsSync(`/proc/${pid}`) || /^State:\s+[ZX]/m.test(procStatus(pid));
  };
  function onEvent(): void {
    if (done || !gone()) return;
    done = true;
    close();
    resolveExit();
  }
  pidfd = pidfdOpenTry(pid);
  if (pidfd >= 0) watch = watchReadable(pidfd, onEvent);
  else timer = setInterval(onEvent, 50);
  return {
    exited,
    close: () => { done = true; close(); },
    traceStops(onStop) {
      if (done || stopHandler) return;
      stopHandler = onStop;
      process.on('SIGCHLD', onEvent);
      stopTimer = setInterval(onEvent, 100);
      stopTimer.unref();
    },
  };
}

function readCmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1'); } catch { return ''; }
}

function procStatus(pid: number): string {
  try { return readFileSync(`/proc/${pid}/status`, 'latin1'); } catch { return ''; }
}

/** strerror(3) text of the errors exec and grab report. */
function errnoMessage(code: string): string {
  return ({ ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOEXEC: 'Exec format error', ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long', ENOTDIR: 'Not a directory' } as Record<string, string>)[code] ?? code;
}

/** A `-p` process. */
export interface GrabbedProcess extends WatchedProcess {
  /**
   * Follows its forks from now on (ptrace, runtime/traced-family.ts) when `forks` follows it;
   * returns the errno name when it cannot be traced.
   */
  follow(forks: ForkHooks): string | undefined;
}

/** `-p PID`: the process must exist; the run ends when it exits. */
export function grabProcess(pid: number): GrabbedProcess {
  if (killProcess(pid, 0) === -3 /* ESRCH */ || !existsSync(`/proc/${pid}`)) throw new ProcessError(`failed to grab pid ${pid}: No such process`);
  const w = watchExit(pid, false);
  let family: TracedFamily | undefined;
  return {
    pid,
    exited: w.exited,
    close() { w.close(); family?.close(); family = undefined; },
    follow(forks) {
      if (family || !forks.follows(pid)) return undefined;
      const grabbed = TracedFamily.grab(pid, forks);
      if (typeof grabbed === 'string') return grabbed;
      family = grabbed;
      return undefined;
    },
  };
}

/**
 * `-c CMD`: creates the process, stopped right after its execve when ptrace is allowed.
 * Throws ProcessError with DTrace's message when the command cannot be executed.
 */
export function createProcess(cmd: string): CreatedProcess {
  const words = splitCommandWords(cmd);
  const resolved = resolveExecutable(words[0]!);
  if ('errno' in resolved) throw new ProcessError(`failed to execute ${words[0]}: ${errnoMessage(resolved.errno)}`);
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => { try { accessSync(p, constants.X_OK); return true; } catch { return false; } });
  // The stub: wait for the go-ahead on fd 3, then exec the words unparsed ("$0" "$@").
  const stub = `read _ <&3 || exit 127; exec 3<&-; exec ${setpriv ? `${setpriv} --pdeathsig KILL -- ` : ''}"$0" "$@"`;
  const [readEnd, writeEnd] = pipeCloexec('hold the -c command');
  const stubArgv = ['sh', '-c', stub, ...words];
  const stubCmdline = stubArgv.join('\0') + '\0';
  let pid: number;
  try {
    pid = spawnProcess({ path: '/bin/sh', argv: stubArgv, env: process.env, dup2: [[readEnd, 3]], defaultSignals: RESET_SIGNALS }, `execute ${words[0]}`);
  } catch (e) {
    closeFd(readEnd); closeFd(writeEnd);
    throw new ProcessError(`failed to execute ${words[0]}: ${e instanceof Error ? e.message : String(e)}`);
  }
  closeFd(readEnd);
  let writeOpen = true;
  const go = () => { if (!writeOpen) return; writeOpen = false; try { writeSync(writeEnd, 'go\n'); } catch { /* the stub died */ } closeFd(writeEnd); };
  const seized = ptraceTry(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) === 0;
  let stoppedAtExec = false;
  if (seized) {
    go();
    // setpriv is one execve before the command's.
    let execsLeft = setpriv ? 2 : 1;
    for (;;) {
      const w = waitProcess(pid, WALL, `wait for ${words[0]} to start`);
      if (w.kind === 'exited' || w.kind === 'signaled') {
        throw new ProcessError(`failed to execute ${words[0]}: ${w.kind === 'exited' ? `exit status ${w.status}` : `killed by signal ${w.signal}`}`);
      }
      if (w.kind !== 'stopped') continue;
      if (w.event === PTRACE_EVENT_EXEC) {
        // posix_spawn returns once the stub's execve has released our memory (vfork), which
        // can be before that execve completes: its own exec event may still be reported.
        if (readCmdline(pid) === stubCmdline) { ptraceTry(PTRACE_CONT, pid, 0, 0); continue; }
        if (--execsLeft === 0) { stoppedAtExec = true; break; }
        ptraceTry(PTRACE_CONT, pid, 0, 0);
      } else {
        // A signal on its way to the stub is delivered; a group-stop is resumed.
        ptraceTry(PTRACE_CONT, pid, 0, w.event === PTRACE_EVENT_STOP ? 0 : w.signal);
      }
    }
  }
  const watch = watchExit(pid, true);
  let running = true;
  let family: TracedFamily | undefined;
  watch.exited.then(() => { running = false; }, () => { running = false; });
  return {
    pid,
    executable: resolved.path,
    heldAfterExec: stoppedAtExec,
    exited: watch.exited,
    close: watch.close,
    release(beforeExit, forks) {
      if (stoppedAtExec) {
        stoppedAtExec = false;
        const follow = forks?.follows(pid) === true;
        const options = PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | (beforeExit ? PTRACE_O_TRACEEXIT : 0) | (follow ? FOLLOW_FORK_OPTIONS : 0);
        const traced = (beforeExit !== undefined || follow) && running && ptraceTry(PTRACE_SETOPTIONS, pid, 0, options) === 0;
        if (traced) {
          const tracing = new TracedFamily(pid, beforeExit, follow ? forks : undefined);
          family = tracing;
          tracing.listen();
          watch.traceStops((w: StopReport) => tracing.onRootStop(w));
          ptraceTry(PTRACE_CONT, pid, 0, 0);
        } else {
          ptraceTry(PTRACE_DETACH, pid, 0, 0);
        }
      }
      go();
    },
    kill() {
      // The processes it forked are let go, never killed.
      family?.detachOthers();
      if (!running) { family?.close(); return; }
      running = false;
      killProcess(pid, SIGKILL);
      if (writeOpen) { writeOpen = false; closeFd(writeEnd); }
      watch.close();
      // Its traced threads are reaped by us: its own exit waits for them.
      family?.reapThreads();
      // A traced target may still report a stop on its way out (older kernels stop at the exit
      // event even when killed): resume it until it is reaped.
      for (let i = 0; i < 100; i++) {
        let w: WaitResult;
        try { w = waitProcess(pid, WALL, 'reap the -c command'); } catch { break; /* reaped */ }
        if (w.kind !== 'stopped') break;
        ptraceTry(PTRACE_CONT, pid, 0, 0);
      }
      family?.close();
    },
  };
}

/**
 * system(): `/bin/sh -c CMD`, as DTrace's system(3) does, run to completion. Output goes to `stdoutFd`
 * (an freopen() file) when given.
 */
export function runSystemCommand(cmd: string, stdoutFd?: number): void {
  let pid: number;
  try {
    pid = spawnProcess({ path: '/bin/sh', argv: ['sh', '-c', cmd], env: process.env, dup2: stdoutFd !== undefined ? [[stdoutFd, 1]] : [], defaultSignals: RESET_SIGNALS }, 'run system()');
  } catch {
    return;
  }
  try { waitProcess(pid, 0, 'wait for system()'); } catch { /* already reaped */ }
}
