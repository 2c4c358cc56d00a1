/**
 * @fileoverview Tests for the workload builder: each workload compiles, runs, and does what
 * its header promises. Exact call counts are checked with `perf stat` (syscall count) and
 * bpftrace (uprobe count) when those tools and root are available; otherwise those two
 * checks skip with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkload, workloadsDir } from './workloads.js';

const isRoot = process.getuid?.() === 0;

function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function run(binaryPath: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(binaryPath, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('buildWorkload compiles into test/workloads/bin and caches by mtime', () => {
  const binaryPath = buildWorkload('getpid_loop');
  assert.equal(binaryPath, join(workloadsDir(), 'bin', 'getpid_loop'));
  accessSync(binaryPath, constants.X_OK);
  const builtAtMs = statSync(binaryPath).mtimeMs;
  assert.ok(builtAtMs >= statSync(join(workloadsDir(), 'getpid_loop.c')).mtimeMs);
  assert.equal(buildWorkload('getpid_loop'), binaryPath);
  assert.equal(statSync(binaryPath).mtimeMs, builtAtMs, 'second call must not recompile');
});

test('buildWorkload rejects unknown and malformed names', () => {
  assert.throws(() => buildWorkload('no_such_workload'), /no such workload source/);
  assert.throws(() => buildWorkload('../etc/passwd'), /bad workload name/);
});

test('getpid_loop runs silently, exits 0, and rejects bad arguments', () => {
  const binaryPath = buildWorkload('getpid_loop');
  const ok = run(binaryPath, ['1000']);
  assert.equal(ok.status, 0);
  assert.equal(ok.stdout, '');
  const delayed = run(binaryPath, ['10', '20']);
  assert.equal(delayed.status, 0);
  const bad = run(binaryPath, ['ten']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad N/);
});

test('getpid_loop makes exactly N getpid system calls (perf stat)', (t) => {
  if (!isRoot) return t.skip('needs root for the syscalls tracepoint');
  if (!hasTool('perf')) return t.skip('perf not installed (scripts/ci-setup.sh installs linux-perf)');
  const calls = 12_345;
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_getpid', buildWorkload('getpid_loop'), String(calls)], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const countLine = r.stderr.split('\n').find((line) => line.includes('syscalls:sys_enter_getpid'));
  if (r.status !== 0 || countLine === undefined || countLine.startsWith('<not')) {
    return t.skip(`perf cannot count the tracepoint here: ${r.stderr.trim().split('\n')[0]}`);
  }
  assert.equal(Number(countLine.split(',')[0]), calls);
});

test('malloc_loop exports malloc_free_once and runs', () => {
  const binaryPath = buildWorkload('malloc_loop');
  const symbols = execFileSync('nm', [binaryPath], { encoding: 'utf8' });
  assert.match(symbols, /^[0-9a-f]+ T malloc_free_once$/m);
  const r = run(binaryPath, ['500', '128']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, '');
  assert.equal(run(binaryPath, ['1', '2', '3', '4']).status, 2);
});

test('malloc_loop calls malloc_free_once and malloc exactly N times (bpftrace uprobes)', (t) => {
  if (!isRoot) return t.skip('needs root for uprobes');
  if (!hasTool('bpftrace')) return t.skip('bpftrace not installed (scripts/ci-setup.sh installs it)');
  const binaryPath = buildWorkload('malloc_loop');
  const calls = 777;
  const program =
    `uprobe:${binaryPath}:malloc_free_once /pid == cpid/ { @once = count(); } ` +
    `uretprobe:${binaryPath}:malloc_free_once /pid == cpid && retval == 65/ { @ret = count(); } ` +
    `uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc /pid == cpid/ { @malloc = count(); }`;
  const r = spawnSync('bpftrace', ['-e', program, '-c', `${binaryPath} ${calls} 64`], { encoding: 'utf8', timeout: 60_000 });
  const counts = new Map([...r.stdout.matchAll(/^@(\w+): (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
  if (r.status !== 0 || counts.size === 0) return t.skip(`bpftrace could not attach uprobes: ${r.stderr.trim().split('\n').pop()}`);
  assert.equal(counts.get('once'), calls);
  assert.equal(counts.get('ret'), calls, 'return value must be SIZE_BYTES + 1');
  // libc may allocate on its own in some versions; our loop contributes exactly `calls`.
  assert.ok((counts.get('malloc') ?? 0) >= calls);
});

test('getpid_bench reports timed loops, paced rates and key calls', () => {
  const binaryPath = buildWorkload('getpid_bench');
  const loop = run(binaryPath, ['loop', '20000']);
  assert.equal(loop.status, 0);
  const loopMatch = /^calls=20000 ns_total=(\d+) ns_per_call=([\d.]+) end_ns=(\d+)\n$/.exec(loop.stdout);
  assert.ok(loopMatch, `unexpected output: ${loop.stdout}`);
  assert.ok(Math.abs(Number(loopMatch[1]) / 20000 - Number(loopMatch[2])) < 0.01);

  // 2,000 calls at 100,000/s take >= 20 ms by construction: the achieved rate cannot exceed it.
  const paced = run(binaryPath, ['paced', '2000', '100000']);
  assert.equal(paced.status, 0);
  const pacedMatch = /^calls=2000 ns_total=(\d+) rate=(\d+) end_ns=\d+\n$/.exec(paced.stdout);
  assert.ok(pacedMatch, `unexpected output: ${paced.stdout}`);
  assert.ok(Number(pacedMatch[1]) >= 19_990_000, `paced loop too fast: ${pacedMatch[1]} ns`);
  assert.ok(Number(pacedMatch[2]) <= 100_100);

  const keys = run(binaryPath, ['keys', '1000']);
  assert.equal(keys.status, 0);
  assert.match(keys.stdout, /^calls=1000 ns_total=\d+ end_ns=\d+\n$/);
  assert.equal(run(binaryPath, ['bogus', '1']).status, 2);
});

test('getpid_bench waits for SIGUSR1 when WAIT_SIGUSR1=1', async () => {
  const binaryPath = buildWorkload('getpid_bench');
  const { spawn } = await import('node:child_process');
  const child = spawn(binaryPath, ['loop', '10'], { env: { ...process.env, WAIT_SIGUSR1: '1' } });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
  await new Promise<void>((resolveReady) => {
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolveReady();
    });
  });
  assert.equal(stdout, `ready ${child.pid}\n`);
  assert.equal(child.exitCode, null, 'must block until signalled');
  child.kill('SIGUSR1');
  assert.equal(await exited, 0);
  assert.match(stdout, /calls=10 /);
});
