/**
 * @fileoverview The pure parts of the progcost bench section (bench/lib/progcost-stats.mjs):
 * a program's statistics and attachments read from /proc/PID/fdinfo and `bpftool perf list`,
 * and the per-event cost of a window where other events ran the same program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Stats { id: number; type?: number; tag?: string; runTimeNs: number; runCnt: number; verifiedInsns?: number }
interface Delta { id: number; runTimeNs: number; runCnt: number }
interface Cost { nsPerEvent: number; nsPerRun: number; others: number; otherNsPerRun?: number }
interface PerfEntry { pid: number; fd: number; prog_id: number; fd_type: string; tracepoint?: string }
interface ProgcostStats {
  parseFdinfo(text: string): Record<string, string>;
  programsFromFdinfo(texts: string[]): { programs: Map<number, Stats>; links: Map<number, string[]> };
  addPerfAttachments(links: Map<number, string[]>, entries: PerfEntry[], pids: Set<number>): Map<number, string[]>;
  statDeltas(before: Map<number, Stats>, after: Map<number, Stats>): Map<number, Delta>;
  programsOnPath(deltas: Map<number, Delta>, calls: number): Delta[];
  perEventCost(window: { runTimeNs: number; runCnt: number }, idle: { runTimeNs: number; runCnt: number } | undefined, calls: number): Cost | undefined;
  sumDeltas(deltas: Delta[]): { runTimeNs: number; runCnt: number };
}

async function stats(): Promise<ProgcostStats> {
  // build/test/ → the repository's bench/lib/ (plain .mjs, not part of the TypeScript build).
  const url: string = new URL('../../bench/lib/progcost-stats.mjs', import.meta.url).href;
  const m: ProgcostStats = await import(url);
  return m;
}

// As Linux 6.18 prints them: a program fd, then the raw tracepoint link that holds it.
const PROG_FDINFO = 'pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1039\nprog_type:\t17\nprog_jited:\t1\nprog_tag:\t5bd8e7ecbe2edeb3\nmemlock:\t4096\nprog_id:\t114023\nrun_time_ns:\t123456789\nrun_cnt:\t1000000\nrecursion_misses:\t0\nverified_insns:\t41\n';
const LINK_FDINFO = 'pos:\t0\nflags:\t02000000\nmnt_id:\t17\nino:\t1039\nlink_type:\traw_tracepoint\nlink_id:\t78298\nprog_tag:\t5bd8e7ecbe2edeb3\nprog_id:\t114023\ntp_name:\tsys_enter\ncookie:\t0\n';
const MAP_FDINFO = 'pos:\t0\nflags:\t02000002\nmap_type:\t2\nkey_size:\t4\nmap_id:\t5\n';

test('programsFromFdinfo: stats of program fds, attach points of link fds, maps ignored', async () => {
  const { programsFromFdinfo } = await stats();
  const { programs, links } = programsFromFdinfo([PROG_FDINFO, LINK_FDINFO, MAP_FDINFO, PROG_FDINFO]);
  assert.deepEqual([...programs.keys()], [114023]);
  assert.deepEqual(programs.get(114023), { id: 114023, type: 17, tag: '5bd8e7ecbe2edeb3', runTimeNs: 123456789, runCnt: 1000000, verifiedInsns: 41 });
  assert.deepEqual(links.get(114023), ['raw_tracepoint sys_enter']);
});

test('addPerfAttachments: only the tracer\'s pids; a raw tracepoint already known as a link is not repeated', async () => {
  const { addPerfAttachments } = await stats();
  const links = new Map([[7, ['raw_tracepoint sys_enter']]]);
  addPerfAttachments(links, [
    { pid: 100, fd: 8, prog_id: 9, fd_type: 'tracepoint', tracepoint: 'sys_enter_getpid' },
    { pid: 100, fd: 9, prog_id: 7, fd_type: 'raw_tracepoint', tracepoint: 'sys_enter' },
    { pid: 555, fd: 3, prog_id: 11, fd_type: 'tracepoint', tracepoint: 'sys_enter_read' },
  ], new Set([100]));
  assert.deepEqual(links.get(9), ['tracepoint sys_enter_getpid (perf_event)']);
  assert.deepEqual(links.get(7), ['raw_tracepoint sys_enter']);
  assert.equal(links.has(11), false);
});

test('statDeltas and programsOnPath: the programs that ran at least once per call', async () => {
  const { statDeltas, programsOnPath } = await stats();
  const s = (id: number, runTimeNs: number, runCnt: number): [number, Stats] => [id, { id, runTimeNs, runCnt }];
  const before = new Map([s(1, 1000, 10), s(2, 500, 5), s(3, 0, 0)]);
  const after = new Map([s(1, 101000, 1010), s(2, 600, 6), s(4, 9, 9)]);
  const deltas = statDeltas(before, after);
  assert.deepEqual([...deltas.values()], [{ id: 1, runTimeNs: 100000, runCnt: 1000 }, { id: 2, runTimeNs: 100, runCnt: 1 }]);
  assert.deepEqual(programsOnPath(deltas, 1000).map((d) => d.id), [1]);
  assert.deepEqual(programsOnPath(deltas, 1001), []);
});

test('perEventCost: other runs are charged at the idle price, the rest divided among the calls', async () => {
  const { perEventCost, sumDeltas } = await stats();
  // 1,000 traced calls at 100 ns and 100 other runs at 10 ns: 101,000 ns over 1,100 runs.
  const cost = perEventCost({ runTimeNs: 101_000, runCnt: 1_100 }, { runTimeNs: 500, runCnt: 50 }, 1_000);
  assert.ok(cost !== undefined);
  assert.equal(cost.nsPerEvent, 100);
  assert.equal(cost.others, 100);
  assert.equal(cost.otherNsPerRun, 10);
  assert.ok(Math.abs(cost.nsPerRun - 101_000 / 1_100) < 1e-9);
  // No idle runs to price the others with: every run is charged alike.
  assert.equal(perEventCost({ runTimeNs: 110_000, runCnt: 1_100 }, { runTimeNs: 0, runCnt: 0 }, 1_000)?.nsPerEvent, 100);
  // Exactly the calls: the plain ratio, idle or not.
  assert.equal(perEventCost({ runTimeNs: 42_000, runCnt: 1_000 }, { runTimeNs: 500, runCnt: 50 }, 1_000)?.nsPerEvent, 42);
  // An idle price above what the window holds never makes the cost negative.
  assert.equal(perEventCost({ runTimeNs: 1_000, runCnt: 1_100 }, { runTimeNs: 5_000, runCnt: 50 }, 1_000)?.nsPerEvent, 0);
  // Fewer runs than calls: the program was not on the path for all of them.
  assert.equal(perEventCost({ runTimeNs: 1_000, runCnt: 999 }, undefined, 1_000), undefined);
  assert.deepEqual(sumDeltas([{ id: 1, runTimeNs: 5, runCnt: 2 }, { id: 2, runTimeNs: 7, runCnt: 3 }]), { runTimeNs: 12, runCnt: 5 });
});

test('parseFdinfo: keys and values of every line', async () => {
  const { parseFdinfo } = await stats();
  assert.deepEqual(parseFdinfo('a:\t1\nb_c:  x y\n\nnot a field\n'), { a: '1', b_c: 'x y' });
});
