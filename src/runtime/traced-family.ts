/**
 * @fileoverview A released `-c` target that stays traced, and the tasks its tracing brings:
 * its threads and, when its forks are followed (runtime/descendant-links.ts), the processes it
 * forks, vforks or clones, and theirs. PTRACE_O_TRACEFORK/VFORK/CLONE stop the parent at the
 * fork and start the new task traced, in a stop before its first instruction: the probes of a
 * new process are attached while it waits there, and then it is let go. Threads are traced too
 * (a fork from any thread must be seen) and let go at once: they share the target's memory and
 * tgid, which its probes already cover. A followed child that execs runs another image: its
 * probes go and it is detached, as is every task still traced when the run ends (a child that
 * outlives the run is never killed for it).
 *
 * A `-p` process is seized when its forks are to be followed (every thread it has), and let
 * go at the end like the rest.
 *
 * A `-c` target's own stops arrive through its exit watch (process.ts reaps it); every other
 * task's are collected here, on SIGCHLD, by waiting for each known task by id (never -1: the
 * tracer's other children are not ours to reap).
 */
import { readFileSync, readdirSync } from 'node:fs';
import {
  waitProcess, ptraceTry, PTRACE_SEIZE, ptraceEventMessage, WALL, WNOHANG, PTRACE_CONT, PTRACE_DETACH, PTRACE_LISTEN, PTRACE_INTERRUPT,
  PTRACE_SETOPTIONS, PTRACE_O_TRACEEXEC, PTRACE_O_TRACEFORK, PTRACE_O_TRACEVFORK, PTRACE_O_TRACECLONE,
  PTRACE_EVENT_EXEC, PTRACE_EVENT_EXIT, PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, PTRACE_EVENT_CLONE, PTRACE_EVENT_STOP, type WaitResult,
} from '../bpf/sys.js';
import type { ForkHooks } from './descendant-links.js';

/** A ptrace stop, as wait4 reported it. */
export type StopReport = Extract<WaitResult, { kind: 'stopped' }>;

/** Stopping signals: a group-stop for one of them keeps the task stopped (PTRACE_LISTEN). */
const STOP_SIGNALS = new Set([19 /* SIGSTOP */, 20 /* SIGTSTP */, 21 /* SIGTTIN */, 22 /* SIGTTOU */]);

/** The options that follow forks (threads included: see the file comment). */
export const FOLLOW_FORK_OPTIONS = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE;

/** Options of a followed child: its execs and forks, and no PTRACE_O_EXITKILL (it is not ours to kill). */
const CHILD_OPTIONS = PTRACE_O_TRACEEXEC | FOLLOW_FORK_OPTIONS;

interface Task {
  tgid: number;
  /** Not yet seen in its first stop (it was created traced and stops before its first instruction). */
  starting: boolean;
  /** Detach it at its first stop instead of letting it run traced. */
  detachAtStart: boolean;
}

function tgidOf(tid: number): number | undefined {
  try {
    const m = /^Tgid:\s+(\d+)$/m.exec(readFileSync(`/proc/${tid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const sleepMs = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };

/** The traced tasks of one `-c` target after its release, or of one `-p` target. */
export class TracedFamily {
  /** Every traced task but a `-c` target itself (a `-p` target's are all here), by task id. */
  private readonly tasks = new Map<number, Task>();
  private readonly onSigchld = () => this.poll();
  private listening = false;
  /** A slow poll as a safety net: SIGCHLDs coalesce, and one may come while another is handled. */
  private timer: NodeJS.Timeout | undefined;

  /**
   * `grabbed`: the target is a `-p` process, not our child: its threads are tasks like the
   * others (their stops are collected here) and it is let go at the end, never killed.
   */
  constructor(
    private readonly root: number,
    private readonly beforeExit: ((pid: number) => void) | undefined,
    private readonly forks: ForkHooks | undefined,
    private readonly grabbed = false,
  ) {}

  /**
   * Seizes every thread of running process `pid` (a `-p` target) to follow its forks. Returns
   * the family, or the errno name why the process cannot be traced (EPERM: another tracer holds
   * it, or ptrace is forbidden).
   */
  static grab(pid: number, forks: ForkHooks): TracedFamily | string {
    const family = new TracedFamily(pid, undefined, forks, true);
    // Threads made while the list is read are seized by their creator's tracing or the next pass.
    for (let pass = 0; pass < 3; pass++) {
      let tids: number[];
      try { tids = readdirSync(`/proc/${pid}/task`).map(Number); } catch { tids = []; }
      let added = 0;
      for (const tid of tids) {
        if (family.tasks.has(tid)) continue;
        const r = ptraceTry(PTRACE_SEIZE, tid, 0, CHILD_OPTIONS);
        if (r < 0) {
          if (tid !== pid) continue; // a thread that has just exited
          family.detachOthers();
          return r === -1 ? 'EPERM' : r === -3 ? 'ESRCH' : `errno ${-r}`;
        }
        family.tasks.set(tid, { tgid: pid, starting: false, detachAtStart: false });
        added++;
      }
      if (added === 0) break;
    }
    family.listen();
    return family;
  }

  /** Starts collecting the stops of the tasks other than the target (SIGCHLD). */
  listen(): void {
    if (this.listening) return;
    this.listening = true;
    process.on('SIGCHLD', this.onSigchld);
    this.timer = setInterval(() => { this.adoptThreads(); this.poll(); }, 100);
    this.timer.unref();
  }

  /** The target's task ids now (none once it is gone). */
  private rootThreads(): number[] {
    try { return readdirSync(`/proc/${this.root}/task`).map(Number).filter((tid) => tid !== this.root); } catch { return []; }
  }

  /**
   * Takes in the target's threads it does not know: a thread whose creator was killed at its
   * clone stop is traced without the event ever being seen, and must be reaped by us (the
   * target's exit waits for it).
   */
  private adoptThreads(): void {
    for (const tid of this.rootThreads()) if (!this.tasks.has(tid)) this.tasks.set(tid, { tgid: this.root, starting: false, detachAtStart: false });
  }

  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    process.off('SIGCHLD', this.onSigchld);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A stop of the target, from its exit watch: handled, then the other tasks are looked at. */
  onRootStop(w: StopReport): void {
    this.onStop(this.root, this.root, w);
    this.poll();
  }

  /** Collects what the other tasks reported until none has anything new. */
  poll(): void {
    for (let progressed = true; progressed;) {
      progressed = false;
      for (const [tid, task] of [...this.tasks]) {
        let w: WaitResult;
        try {
          w = waitProcess(tid, WNOHANG | WALL, 'wait for a traced task');
        } catch {
          this.taskGone(tid, task); // ECHILD: no longer ours
          continue;
        }
        if (w.kind === 'none') continue;
        progressed = true;
        if (w.kind === 'exited' || w.kind === 'signaled') this.taskGone(tid, task);
        else this.onStop(tid, task.tgid, w);
      }
    }
  }

  private taskGone(tid: number, task: Task): void {
    this.tasks.delete(tid);
    if (tid === task.tgid) this.forks?.gone(tid);
  }

  private onStop(tid: number, tgid: number, w: StopReport): void {
    const task = this.tasks.get(tid);
    switch (w.event) {
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE:
        this.onNewTask(tid, tgid, w.event);
        ptraceTry(PTRACE_CONT, tid, 0, 0);
        return;
      case PTRACE_EVENT_EXEC:
        if (tgid === this.root) this.runBeforeExit(tid);
        else {
          // Another image: its probes go and it is no longer followed.
          this.forks?.gone(tgid);
          this.tasks.delete(tid);
          ptraceTry(PTRACE_DETACH, tid, 0, 0);
        }
        return;
      case PTRACE_EVENT_EXIT:
        if (tid === this.root) this.runBeforeExit(tid);
        else ptraceTry(PTRACE_CONT, tid, 0, 0);
        return;
      case PTRACE_EVENT_STOP:
        if (task?.starting) { this.onStart(tid, task); return; }
        if (STOP_SIGNALS.has(w.signal)) ptraceTry(PTRACE_LISTEN, tid, 0, 0);
        else ptraceTry(PTRACE_CONT, tid, 0, 0);
        return;
      default:
        // A signal on its way: delivered as it would have been.
        ptraceTry(PTRACE_CONT, tid, 0, w.signal);
    }
  }

  private runBeforeExit(tid: number): void {
    try { this.beforeExit?.(this.root); } finally { ptraceTry(PTRACE_CONT, tid, 0, 0); }
  }

  /** A task of `tgid` made a new task (its parent is stopped at the event): trace or let go. */
  private onNewTask(parent: number, tgid: number, event: number): void {
    const tid = ptraceEventMessage(parent);
    // Unknown, or a thread of the target already taken in by adoptThreads().
    if (tid === undefined || tid <= 0 || this.tasks.has(tid)) return;
    const thread = event === PTRACE_EVENT_CLONE && tgidOf(tid) === tgid;
    const task: Task = { tgid: thread ? tgid : tid, starting: true, detachAtStart: false };
    if (!thread) {
      // A new process: its probes are attached now, while it cannot run; else it goes free.
      if (this.forks?.follows(tgid)) this.forks.forked(tgid, tid, event === PTRACE_EVENT_VFORK);
      else task.detachAtStart = true;
    }
    this.tasks.set(tid, task);
    this.awaitStart(tid, task);
  }

  /**
   * Waits for a new task's first stop and lets it go on. It is certain and near: the kernel woke
   * the task before reporting its creation, and it stops before its first instruction (or dies).
   * Taking it now, instead of at the next SIGCHLD, halves the round trips through the event loop
   * a thread's creation costs the target.
   */
  private awaitStart(tid: number, task: Task): void {
    let w: WaitResult;
    try { w = waitProcess(tid, WALL, 'wait for a new traced task'); } catch { this.taskGone(tid, task); return; }
    if (w.kind === 'exited' || w.kind === 'signaled') this.taskGone(tid, task);
    else if (w.kind === 'stopped') this.onStop(tid, task.tgid, w);
  }

  private onStart(tid: number, task: Task): void {
    task.starting = false;
    if (task.detachAtStart) {
      this.tasks.delete(tid);
      ptraceTry(PTRACE_DETACH, tid, 0, 0);
      return;
    }
    if (task.tgid !== this.root) ptraceTry(PTRACE_SETOPTIONS, tid, 0, CHILD_OPTIONS);
    ptraceTry(PTRACE_CONT, tid, 0, 0);
  }

  /**
   * Lets every task but a `-c` target's own go (the run is over): each is interrupted and detached
   * at its next stop, with the signal it was stopped for. Waits at most `timeoutMs`.
   */
  detachOthers(timeoutMs = 2000): void {
    this.stopListening();
    const ours = (task: Task) => task.tgid === this.root && !this.grabbed;
    for (const [tid, task] of this.tasks) if (!ours(task)) ptraceTry(PTRACE_INTERRUPT, tid, 0, 0);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let left = 0;
      for (const [tid, task] of [...this.tasks]) {
        if (ours(task)) continue;
        left++;
        let w: WaitResult;
        try { w = waitProcess(tid, WNOHANG | WALL, 'detach a traced task'); } catch { this.tasks.delete(tid); continue; }
        if (w.kind === 'none') continue;
        this.tasks.delete(tid);
        if (w.kind !== 'stopped') continue;
        if (w.event === PTRACE_EVENT_FORK || w.event === PTRACE_EVENT_VFORK || w.event === PTRACE_EVENT_CLONE) {
          // Its new task starts traced: it is detached at its first stop.
          const child = ptraceEventMessage(tid);
          if (child !== undefined && child > 0) this.tasks.set(child, { tgid: child, starting: true, detachAtStart: true });
        }
        ptraceTry(PTRACE_DETACH, tid, 0, w.event === 0 ? w.signal : 0);
      }
      if (left === 0) return;
      sleepMs(1);
    }
  }

  /** Reaps the target's own traced threads once it has been killed (its exit waits for them). */
  reapThreads(): void {
    this.adoptThreads();
    for (const [tid, task] of [...this.tasks]) {
      if (task.tgid !== this.root) continue;
      for (let i = 0; i < 100; i++) {
        let w: WaitResult;
        try { w = waitProcess(tid, WALL, 'reap a traced thread'); } catch { break; }
        if (w.kind !== 'stopped') break;
        ptraceTry(PTRACE_CONT, tid, 0, 0);
      }
      this.tasks.delete(tid);
    }
  }

  /** Stops listening and lets every task go (the target is gone or killed). */
  close(): void {
    this.detachOthers();
    this.stopListening();
  }
}
