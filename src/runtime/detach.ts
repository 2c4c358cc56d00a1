/**
 * @fileoverview Detaching every probe at the end of a run. A per-site uprobe or kprobe (kernels
 * without uprobe_multi/kprobe_multi links, Debian 12's 6.1) is a BPF link over a perf event,
 * and the kernel releases each of them after RCU grace periods, under locks that make the
 * releases one at a time whatever the number of threads closing them: ≈28 ms for the link and
 * ≈40 ms for the perf event on this machine, three minutes for the 2,600 functions of libc.
 * When its user stops it with a signal (Ctrl-C during a long attach, or while tracing), the
 * tracer does not make them wait for that. By the time it detaches, its programs are inert
 * (the activity gate of every attached program says DRAINING: a firing returns at once), so
 * it hands those descriptors to a helper process, closes its own references (not the last
 * ones: at once) and lets the helper go; the helper's exit releases them after the tracer has
 * gone. A run that ends by itself (exit(), the -c command's end) releases them in place, as
 * DTrace does: nothing it attached outlives it, and the next tracer's attach does not queue
 * behind the releases (the kernel lock is the same). So do a few of them, always.
 */
import { closeLinksAsync, type Link } from '../bpf/link.js';

/** From this many perf events on, releasing them in place would keep the user waiting (≈0.5 s; more in a VM). */
export const RELEASE_IN_BACKGROUND_FROM = 8;

/** A link over a perf event: its BPF link fd, then the perf event fd (bpf/link.ts). */
const overPerfEvent = (l: Link): boolean => l.fds.length === 2;

/**
 * Hands `fds` to a helper process that holds them until its stdin closes, then exits. Returns
 * a function that lets it go, or undefined when it could not be started (the caller then
 * releases the fds itself).
 */
function handOff(fds: readonly number[]): (() => void) | undefined {
  try {
    // uv_spawn returns once the child has exec'd: it holds its copies of the fds by then.
    // node:child_process on first use: it pulls in net, dgram and streams (~8 ms of every start-up).
    const helper = process.getBuiltinModule('node:child_process').spawn('/bin/sh', ['-c', 'read _'], { stdio: ['pipe', 'ignore', 'ignore', ...fds], detached: true });
    if (helper.pid === undefined || !helper.stdin) return undefined;
    helper.on('error', () => { /* the helper went early: the kernel released its copies */ });
    helper.unref();
    const stdin = helper.stdin;
    return () => stdin.destroy();
  } catch {
    return undefined;
  }
}

/**
 * Detaches `links` (closes them). With `inBackground` (a signal stopped the run), many per-site
 * perf events are released after the tracer's exit: call this once the programs are inert
 * (activity DRAINING).
 */
export async function detachLinks(links: readonly Link[], opts: { inBackground: boolean }): Promise<void> {
  const perf = links.filter(overPerfEvent);
  const letGo = opts.inBackground && perf.length >= RELEASE_IN_BACKGROUND_FROM ? handOff(perf.flatMap((l) => l.fds)) : undefined;
  if (!letGo) {
    await closeLinksAsync(links);
    return;
  }
  for (const l of perf) l.close();
  letGo();
  await closeLinksAsync(links.filter((l) => !overPerfEvent(l)));
}
