/**
 * @fileoverview pid$target and USDT $target probes follow the -c target's forks, against the
 * real kernel through the built command: every process the target forks (vforks, forks from
 * a thread) and every process those fork count exactly as many calls as they make, under the
 * child's own pid; a child that execs another image stops matching without breaking anything;
 * a grandchild that outlives the target is neither killed nor left traced. Each case runs with
 * uprobe_multi links (when the kernel has them) and with one perf uprobe per site
 * (DTRACE_TS_KERNEL=5.15). The workload (test/workloads/fork_tree.c) is built at test time
 * with the header `dtrace -h` makes for its USDT provider. Needs root, gcc and the uprobe PMU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, uprobeWorkloadSkip, workloadsDir } from '../helpers/workloads.js';

const root = repoRoot();
const cli = join(root, 'dist', 'cli.js');
const skip = uprobeWorkloadSkip(cli);

const CALLS = 250;
const CHILDREN = 3;
/** Kernel levels: this kernel as it is, and 5.15 (no uprobe_multi: one perf uprobe per site). */
const KERNELS: (string | undefined)[] = [undefined, '5.15'];

/** The workload built with its USDT provider, in a fresh directory (removed by the caller). */
function buildForkTree(): { dir: string; exe: string } {
  const dir = mkdtempSync(join(tmpdir(), 'follow-forks-'));
  writeFileSync(join(dir, 'forks.d'), 'provider forks { probe tick(int); };\n');
  const h = spawnSync(process.execPath, [cli, '-h', '-s', join(dir, 'forks.d'), '-o', join(dir, 'forks.h')], { encoding: 'latin1' });
  assert.equal(h.status, 0, h.stderr);
  const exe = join(dir, 'fork_tree');
  const cc = spawnSync('gcc', ['-O2', '-g', '-fno-omit-frame-pointer', '-Wall', '-pthread', '-DFORKS_USDT', `-I${dir}`, '-o', exe, join(workloadsDir(), 'fork_tree.c')], { encoding: 'latin1' });
  assert.equal(cc.status, 0, cc.stderr);
  return { dir, exe };
}

const SCRIPT = 'pid$target::thefunc:entry { @c[pid] = count(); } forks$target:::tick { @u[pid] = count(); } ' +
  'END { printa("c %d %@d\\n", @c); printa("u %d %@d\\n", @u); }';

interface Run { status: number | null; stderr: string; counts: Map<number, number>; ticks: Map<number, number>; log: [number, string][] }

/** dtrace -c 'fork_tree N K LOG MODE' with SCRIPT: the per-pid counts and the workload's log. */
function runForkTree(exe: string, dir: string, mode: string, kernel: string | undefined): Run {
  const log = join(dir, `${mode}-${kernel ?? 'native'}.log`);
  rmSync(log, { force: true });
  const env = { ...process.env };
  if (kernel === undefined) delete env['DTRACE_TS_KERNEL']; else env['DTRACE_TS_KERNEL'] = kernel;
  const r = spawnSync(process.execPath, [cli, '-q', '-n', SCRIPT, '-c', `${exe} ${CHILDREN} ${CALLS} ${log} ${mode}`], { encoding: 'latin1', env, timeout: 120_000 });
  const counts = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const m of r.stdout.matchAll(/^([cu]) (\d+) (\d+)$/gm)) (m[1] === 'c' ? counts : ticks).set(Number(m[2]), Number(m[3]));
  const lines = existsSync(log) ? readFileSync(log, 'latin1').split('\n').filter((l) => l !== '') : [];
  return { status: r.status, stderr: r.stderr, counts, ticks, log: lines.map((l) => { const [pid, role] = l.split(' '); return [Number(pid), role!]; }) };
}

/** What each process must count: K per work() it logged under its pid before any exec. */
function expected(log: [number, string][], roles: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const [pid, role] of log) if (roles.includes(role)) out.set(pid, (out.get(pid) ?? 0) + CALLS);
  return out;
}

const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

for (const kernel of KERNELS) {
  const label = kernel === undefined ? '' : ` (DTRACE_TS_KERNEL=${kernel})`;

  test(`children and grandchildren of the -c target count exactly their own calls${label}`, { skip }, () => {
    const { dir, exe } = buildForkTree();
    try {
      const r = runForkTree(exe, dir, 'fork', kernel);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const want = expected(r.log, ['parent', 'parent-again', 'child', 'grandchild']);
      // The target, CHILDREN children and one grandchild each.
      assert.equal(want.size, 1 + 2 * CHILDREN, JSON.stringify(r.log));
      assert.deepEqual(sorted(r.counts), sorted(want));
      assert.deepEqual(sorted(r.ticks), sorted(want));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`vfork children and children forked by a thread of the target are followed${label}`, { skip }, () => {
    const { dir, exe } = buildForkTree();
    try {
      for (const mode of ['vfork', 'thread']) {
        const r = runForkTree(exe, dir, mode, kernel);
        assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
        const want = expected(r.log, ['parent', 'parent-again', 'child']);
        assert.equal(want.size, 1 + CHILDREN, `${mode}: ${JSON.stringify(r.log)}`);
        assert.deepEqual(sorted(r.counts), sorted(want), mode);
        assert.deepEqual(sorted(r.ticks), sorted(want), mode);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`a child that execs another image stops matching; the target and the others are unaffected${label}`, { skip }, () => {
    const { dir, exe } = buildForkTree();
    try {
      const r = runForkTree(exe, dir, 'exec', kernel);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      // Each child ran K calls before its exec and K more after it, in the new image: only the first count.
      assert.equal(r.log.filter(([, role]) => role === 'after-exec').length, CHILDREN, JSON.stringify(r.log));
      const want = expected(r.log, ['parent', 'parent-again', 'child']);
      assert.equal(want.size, 1 + CHILDREN);
      assert.deepEqual(sorted(r.counts), sorted(want));
      assert.deepEqual(sorted(r.ticks), sorted(want));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a grandchild that outlives the target is let go: not killed, no longer traced', { skip }, async () => {
  const { dir, exe } = buildForkTree();
  try {
    const r = runForkTree(exe, dir, 'orphan', undefined);
    assert.equal(r.status, 0, r.stderr);
    // The orphan waits for the target's end and for its tracer to let it go (10 s at most).
    const log = join(dir, 'orphan-native.log');
    let roles: string[] = [];
    for (let i = 0; i < 150 && !roles.some((x) => x.startsWith('orphan')); i++) {
      await sleep(100);
      roles = readFileSync(log, 'latin1').split('\n').map((l) => l.split(' ')[1] ?? '');
    }
    assert.ok(roles.includes('orphan'), `the orphan's log: ${roles.join(',')}`);
    assert.equal(r.counts.get(r.log[0]![0]), CALLS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-p: the processes a grabbed process forks are followed too', { skip }, async () => {
  const { dir, exe } = buildForkTree();
  const log = join(dir, 'grabbed.log');
  const target = spawn(exe, [String(CHILDREN), String(CALLS), log, 'wait-fork'], { stdio: 'ignore' });
  try {
    // The first tick fires once every probe is attached: then the target may go on.
    const dt = spawn(process.execPath, [cli, '-q', '-n', `${SCRIPT} tick-10ms /!started/ { started = 1; printf("attached\\n"); }`, '-p', String(target.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    dt.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString('latin1');
      if (stdout.includes('attached\n') && !existsSync(`${log}.go`)) writeFileSync(`${log}.go`, '');
    });
    dt.stderr!.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    const status = await new Promise<number | null>((resolve) => dt.once('exit', (code) => resolve(code)));
    assert.equal(status, 0, stderr);
    const counts = new Map<number, number>();
    for (const m of stdout.matchAll(/^c (\d+) (\d+)$/gm)) counts.set(Number(m[1]), Number(m[2]));
    const lines = readFileSync(log, 'latin1').split('\n').filter((l) => l !== '').map((l): [number, string] => { const [pid, role] = l.split(' '); return [Number(pid), role!]; });
    // It waited for the go-ahead before its first work(): all of it counts.
    const want = expected(lines, ['parent', 'parent-again', 'child', 'grandchild']);
    assert.equal(want.size, 1 + 2 * CHILDREN, JSON.stringify(lines));
    assert.deepEqual(sorted(counts), sorted(want));
  } finally {
    target.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-p: a grabbed process is let go when the run ends (alive, no tracer)', { skip }, async () => {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await sleep(100);
    const r = spawnSync(process.execPath, [cli, '-q', '-n', 'pid$target::clock_nanosleep:entry { @ = count(); } tick-300ms { exit(0); }', '-p', String(sleeper.pid)], { encoding: 'latin1', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const status = readFileSync(`/proc/${sleeper.pid}/status`, 'latin1');
    assert.match(status, /^TracerPid:\s+0$/m);
    assert.match(status, /^State:\s+S/m);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('-p: a process another tracer holds is traced without following its forks, with a warning', { skip }, async () => {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  const program = 'pid$target::clock_nanosleep:entry { @ = count(); } tick-10ms /!started/ { started = 1; printf("attached\\n"); }';
  const first = spawn(process.execPath, [cli, '-q', '-n', program, '-p', String(sleeper.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      first.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); if (out.includes('attached')) resolve(); });
      first.once('exit', () => reject(new Error(`the first tracer ended early: ${out}`)));
    });
    // The first tracer holds it (ptrace): the second cannot follow its forks, and says so.
    const r = spawnSync(process.execPath, [cli, '-q', '-n', 'pid$target::clock_nanosleep:entry { @ = count(); } tick-100ms { exit(0); }', '-p', String(sleeper.pid)], { encoding: 'latin1', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, `dtrace: warning: pid ${sleeper.pid} cannot be ptraced (EPERM): the processes it forks are not traced\n`);
  } finally {
    if (first.exitCode === null && first.signalCode === null) {
      const closed = new Promise((resolve) => first.once('close', resolve));
      first.kill('SIGINT');
      await closed;
    }
    sleeper.kill('SIGKILL');
  }
});

test('a followed child has its own uprobes while it lives, detached when it exits (DTRACE_TS_KERNEL=5.15: one perf uprobe per site)', { skip: skip || (spawnSync('bpftool', ['version']).status !== 0 ? 'bpftool not installed' : false) }, async () => {
  const { dir, exe } = buildForkTree();
  const log = join(dir, 'hold.log');
  const dt = spawn(process.execPath, [cli, '-q', '-n', SCRIPT, '-c', `${exe} 2 ${CALLS} ${log} hold`],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DTRACE_TS_KERNEL: '5.15' } });
  try {
    let stderr = '';
    dt.stderr!.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    const exited = new Promise<number | null>((resolve) => dt.once('exit', (code) => resolve(code)));
    const uprobes = () => spawnSync('bpftool', ['perf', 'list'], { encoding: 'latin1' }).stdout.split('\n').filter((l) => l.startsWith(`pid ${dt.pid} `) && /\buprobe\b/.test(l)).length;
    const roles = () => (existsSync(log) ? readFileSync(log, 'latin1') : '').split('\n').map((l) => l.split(' ')[1]);
    /** Polls `ok` every 50 ms, 30 s at most. */
    const until = async (ok: () => boolean, what: string) => {
      for (let i = 0; i < 600 && !ok(); i++) await sleep(50);
      assert.ok(ok(), `${what} (stderr: ${stderr})`);
    };
    // Two sites (thefunc:entry, forks:::tick) for the target and for each of its two children.
    await until(() => roles().filter((r) => r === 'child').length === 2, 'both children worked');
    assert.equal(uprobes(), 6);
    writeFileSync(`${log}.release`, '');
    await until(() => roles().includes('parent-again'), 'the target went on once its children exited');
    await until(() => uprobes() === 2, `the children's uprobes were detached (${uprobes()} left)`);
    writeFileSync(`${log}.done`, '');
    assert.equal(await exited, 0, stderr);
  } finally {
    dt.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
