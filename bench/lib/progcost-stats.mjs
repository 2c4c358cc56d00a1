// @fileoverview The pure parts of the progcost bench section (bench/lib/progcost.mjs): reading
// a BPF program's statistics and attachments from /proc/PID/fdinfo texts and `bpftool perf list`
// entries, and turning two snapshots of them into a per-event cost.
//
// The kernel counts, per program, run_cnt (times it ran) and run_time_ns (sched_clock() read
// before and after each run, summed) while kernel.bpf_stats_enabled is 1. Both appear in the
// fdinfo of a program fd; the tracer's own processes hold those fds, so reading their fdinfo
// finds exactly the tracer's programs, whatever else is loaded on the machine.

/** fdinfo text → { key: value } (values as the kernel printed them). */
export function parseFdinfo(text) {
  const fields = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) fields[m[1]] = m[2].trim();
  }
  return fields;
}

/**
 * The programs and the attachments described by a set of fdinfo texts (one process's or
 * several's; a program held twice is one). Returns { programs: Map<id, stats>, links: Map<progId,
 * string[]> } where stats = { id, type, runTimeNs, runCnt, verifiedInsns, tag } and a link
 * reads e.g. "raw_tracepoint sys_enter".
 */
export function programsFromFdinfo(texts) {
  const programs = new Map();
  const links = new Map();
  for (const text of texts) {
    const f = parseFdinfo(text);
    if (f.prog_id === undefined) continue;
    const id = Number(f.prog_id);
    if (f.link_type !== undefined) {
      const what = [f.link_type, f.tp_name ?? f.target_name ?? f.func_name].filter((w) => w !== undefined).join(' ');
      const list = links.get(id) ?? [];
      if (!list.includes(what)) list.push(what);
      links.set(id, list);
      continue;
    }
    if (f.run_cnt === undefined) continue;
    programs.set(id, {
      id,
      type: f.prog_type === undefined ? undefined : Number(f.prog_type),
      tag: f.prog_tag,
      runTimeNs: Number(f.run_time_ns ?? 0),
      runCnt: Number(f.run_cnt),
      verifiedInsns: f.verified_insns === undefined ? undefined : Number(f.verified_insns),
    });
  }
  return { programs, links };
}

/**
 * Adds the perf-event attachments of `bpftool -j perf list` (entries { pid, fd, prog_id, fd_type,
 * tracepoint | func | filename ... }) held by `pids` to `links` (progId → descriptions).
 */
export function addPerfAttachments(links, perfEntries, pids) {
  for (const e of perfEntries) {
    if (!pids.has(e.pid) || e.prog_id === undefined) continue;
    const target = e.tracepoint ?? e.func ?? e.filename ?? e.event?.config ?? '';
    const kind = `${e.fd_type ?? ''}${target === '' ? '' : ` ${target}`}`.replace(/\s+/g, ' ').trim();
    const list = links.get(e.prog_id) ?? [];
    // A raw tracepoint opened as a link is listed by bpftool too (fd_type raw_tracepoint).
    if (list.includes(kind)) continue;
    const what = `${kind} (perf_event)`;
    if (!list.includes(what)) list.push(what);
    links.set(e.prog_id, list);
  }
  return links;
}

/** Per-program deltas between two snapshots (Map id → stats); programs in both only. */
export function statDeltas(before, after) {
  const deltas = new Map();
  for (const [id, b] of before) {
    const a = after.get(id);
    if (a === undefined) continue;
    deltas.set(id, { id, runTimeNs: a.runTimeNs - b.runTimeNs, runCnt: a.runCnt - b.runCnt });
  }
  return deltas;
}

/**
 * The programs that ran for (nearly) every one of `calls` events in a window: those on the
 * traced path. A program on a broader hook (a raw tracepoint on every system call) runs more
 * often; one that runs less (BEGIN, a tick) is not on the path.
 */
export function programsOnPath(deltas, calls) {
  return [...deltas.values()].filter((d) => d.runCnt >= calls);
}

/**
 * ns per traced event in a window where the workload made `calls` traced calls.
 *
 * `window` and `idle` are summed deltas { runTimeNs, runCnt } of the programs on the path, over
 * the workload's window and over an idle window of the same session (no workload). Runs beyond
 * `calls` in the window are other events (other processes' system calls when the program sits
 * on every system call, the workload's own start-up): they are charged at the idle window's
 * ns per run, the rest is divided among the calls. Without idle runs to price them, every run
 * is charged alike.
 *
 * Returns { nsPerEvent, nsPerRun (undivided Δtime/Δcount), others (runs beyond calls),
 * otherNsPerRun } or undefined when the window holds fewer runs than calls.
 */
export function perEventCost(window, idle, calls) {
  if (calls <= 0 || window.runCnt < calls) return undefined;
  const nsPerRun = window.runTimeNs / window.runCnt;
  const others = window.runCnt - calls;
  const otherNsPerRun = idle !== undefined && idle.runCnt > 0 ? idle.runTimeNs / idle.runCnt : undefined;
  if (others === 0 || otherNsPerRun === undefined) return { nsPerEvent: nsPerRun, nsPerRun, others, otherNsPerRun };
  // Never below zero nor above the undivided figure's total: the idle price is an estimate.
  const charged = Math.min(others * otherNsPerRun, window.runTimeNs);
  return { nsPerEvent: (window.runTimeNs - charged) / calls, nsPerRun, others, otherNsPerRun };
}

/** Sum of { runTimeNs, runCnt } over deltas. */
export function sumDeltas(deltas) {
  return deltas.reduce((s, d) => ({ runTimeNs: s.runTimeNs + d.runTimeNs, runCnt: s.runCnt + d.runCnt }), { runTimeNs: 0, runCnt: 0 });
}
