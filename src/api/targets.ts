/**
 * @fileoverview The -c and -p processes of a run, as the dtrace command and the library's
 * run() both start them: commands created and held at exec, processes grabbed, before the
 * program is compiled (so $target is known and a command that cannot run fails before any
 * tracing, as DTrace does); released once every probe is attached; the run ends when all of
 * them have exited.
 */
import { createProcess, grabProcess, type CreatedProcess, type GrabbedProcess, type WatchedProcess } from '../runtime/process.js';
import { setTargetCommand, setTargetPid, declareTargetsKnown } from '../providers/pid.js';
import { usesUserSymbols } from '../runtime/session.js';
import { keepProcessImage } from '../consume/usyms.js';
import type { CompiledProgram } from '../program/spec.js';
import type { ForkHooks } from '../runtime/descendant-links.js';

export interface Targets {
  /** $target: the first -c or -p process. */
  readonly pid: number | undefined;
  /**
   * Lets the created processes run (probes are attached); the exit of them all, when there are
   * any. With `forks`, the processes a created one forks get its per-process probes too.
   */
  release(compiled: CompiledProgram, forks?: ForkHooks): Promise<void> | undefined;
  /** Kills the created processes still running and stops watching (the run is over). */
  kill(): void;
}

/**
 * Creates the `commands` (held at exec) and grabs the `pids`; with `trace` false (-l, -e and
 * the other modes that enable nothing) a -p process only names $target. Throws ProcessError
 * (having killed what it created) when a command cannot run or a process does not exist.
 */
export function startTargets(commands: readonly string[], pids: readonly number[], trace = true): Targets {
  const created: CreatedProcess[] = [];
  const grabbed: GrabbedProcess[] = [];
  const watched: WatchedProcess[] = [];
  const kill = () => { for (const c of created) c.kill(); for (const w of watched) w.close(); };
  try {
    if (trace) {
      for (const cmd of commands) {
        const c = createProcess(cmd);
        created.push(c);
        watched.push(c);
        // pid/USDT probes of $target resolve against the command it runs.
        setTargetCommand(c.pid, c.executable, c.heldAfterExec);
      }
      for (const pid of pids) { const g = grabProcess(pid); grabbed.push(g); watched.push(g); setTargetPid(pid); }
    } else if (pids[0] !== undefined) setTargetPid(pids[0]);
  } catch (e) {
    kill();
    throw e;
  }
  declareTargetsKnown();
  return {
    pid: watched[0]?.pid ?? pids[0],
    release(compiled, forks) {
      if (watched.length === 0) return undefined;
      // The image of a target held after exec stays readable until it exits: its frames resolve after it is gone.
      for (const c of created) c.release(usesUserSymbols(compiled) ? keepProcessImage : undefined, forks);
      if (forks) {
        for (const g of grabbed) {
          const why = g.follow(forks);
          if (why !== undefined) forks.cannotFollow(g.pid, why);
        }
      }
      return Promise.all(watched.map((w) => w.exited)).then(() => undefined);
    },
    kill,
  };
}
