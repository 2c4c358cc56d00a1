/**
 * @fileoverview Faults of the environment, made real in a private mount namespace (unshare -m)
 * so nothing else on the machine sees them: tracefs unmounted (the tracer mounts it again and
 * traces), the kernel's BTF unreadable or corrupt (a program that needs kernel types ends in one
 * clear line and a hint, status 1, never a stack trace; one that does not still runs). Also the
 * -p target dying mid-run, and two tracers on one probe at once. Prints an `env-faults:` line for
 * the reliability report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() !== 0 ? 'needs root (mount namespaces, BPF)'
  : spawnSync('unshare', ['-m', 'true']).status !== 0 ? 'unshare -m is not available'
    : false;

const NEEDS_BTF = 'BEGIN { printf("%s\\n", stringof(curthread->comm)); exit(0); }';
// Any system call of anyone in 100 ms (the tracer's own included): the count is never empty.
const NO_BTF = 'syscall:::entry { @ = count(); } tick-100ms { exit(0); }';

/** Runs `setup` (shell, as root) and then the tracer on `program`, inside a new mount namespace. */
function inNamespace(setup: string, program: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `${setup} && exec "$0" "$1" -q -n "$2"`, process.execPath, cli, program],
    { encoding: 'latin1', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneClearLine(r: { status: number | null; stderr: string }, first: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.match(lines[0] ?? '', first);
  assert.ok(lines.length <= 2 && lines.slice(1).every((l) => l.startsWith('hint: ')), `one line and at most a hint:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
}

test('environment faults: tracefs unmounted, kernel BTF unreadable or corrupt', { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-env-faults-'));
  let reported = 0;
  try {
    // tracefs not mounted anywhere: the tracer mounts it at /sys/kernel/tracing and traces.
    const unmounted = inNamespace('(umount /sys/kernel/debug/tracing; umount /sys/kernel/tracing; true) 2>/dev/null && ! grep -q " tracefs " /proc/mounts', NO_BTF);
    assert.equal(unmounted.status, 0, unmounted.stderr);
    assert.match(unmounted.stdout, /^\s+\d+\s*$/m, 'the count is printed');
    reported++;

    // The kernel's BTF reads as nothing: programs that need kernel types fail in one line; others run.
    const empty = inNamespace('mount --bind /dev/null /sys/kernel/btf/vmlinux', NEEDS_BTF);
    assertOneClearLine(empty, /^dtrace: failed to load kernel type information: /);
    const emptyButUnneeded = inNamespace('mount --bind /dev/null /sys/kernel/btf/vmlinux', NO_BTF);
    assert.equal(emptyButUnneeded.status, 0, emptyButUnneeded.stderr);
    reported++;

    // The kernel's BTF cut short (corrupt): the same one line.
    const truncated = join(dir, 'vmlinux');
    writeFileSync(truncated, readFileSync('/sys/kernel/btf/vmlinux').subarray(0, 5000));
    const corrupt = inNamespace(`mount --bind ${truncated} /sys/kernel/btf/vmlinux`, NEEDS_BTF);
    assertOneClearLine(corrupt, /^dtrace: failed to load kernel type information: /);
    reported++;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    console.log(`env-faults: 3 made real (tracefs unmounted, BTF empty, BTF truncated), ${reported} handled cleanly`);
  }
});

test('the -p target dies mid-run (SIGKILL): the tracer runs END and exits 0, no stack trace', { skip, timeout: 120_000 }, async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const tracer = spawn(process.execPath, [cli, '-q', '-n', 'syscall::getpid:entry /pid == $target/ { @ = count(); } END { printf("end\\n"); }', '-p', String(target.pid)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  tracer.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  tracer.stderr!.on('data', (d: Buffer) => { err += d.toString('latin1'); });
  const exited = new Promise<number | null>((resolve) => tracer.on('close', (code) => resolve(code)));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  target.kill('SIGKILL');
  const timer = setTimeout(() => tracer.kill('SIGKILL'), 60_000);
  const status = await exited;
  clearTimeout(timer);
  assert.equal(status, 0, err);
  assert.match(out, /^end$/m);
  assert.doesNotMatch(err, /\n\s+at |internal error/);
});

test('two tracers on the same probe at once each count every call', { skip, timeout: 180_000 }, async () => {
  const calls = 5000;
  // The workload waits 3 s before its first call, time for both tracers to attach.
  const workload = spawn(buildWorkload('getpid_loop'), [String(calls), '3000'], { stdio: 'ignore' });
  const program = `syscall::getpid:entry /pid == ${workload.pid}/ { @ = count(); }`;
  const tracers = [0, 1].map(() => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const t = spawn(process.execPath, [cli, '-q', '-n', program, '-p', String(workload.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    t.stdout!.on('data', (d: Buffer) => { stdout += d.toString('latin1'); });
    t.stderr!.on('data', (d: Buffer) => { stderr += d.toString('latin1'); });
    t.on('close', (status) => resolve({ status, stdout, stderr }));
  }));
  const results = await Promise.all(tracers);
  for (const r of results) {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), calls, `each tracer counts every call: ${r.stdout}`);
  }
});
