/**
 * @fileoverview -x cpu=N: only the events of CPU N are traced. Ground truth is the CPU the
 * kernel runs the workload on, pinned with taskset(1). Needs root and two CPUs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs' : cpus().length < 2 ? 'needs two CPUs' : false;

function countOn(traced: number, pinned: number): number {
  const loop = buildWorkload('getpid_loop');
  const r = spawnSync(process.execPath, [cli, '-q', '-x', `cpu=${traced}`, '-n', 'syscall::getpid:entry /pid == $target/ { @ = count(); } END { printa("count=%@d\\n", @); }',
    '-c', `taskset -c ${pinned} ${loop} 500`], { encoding: 'latin1', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /count=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

test('-x cpu=N traces the events of CPU N and of no other CPU', { skip }, () => {
  assert.equal(countOn(1, 1), 500);
  assert.equal(countOn(1, 0), 0);
  assert.equal(countOn(0, 0), 500);
});

/** The CPU column of each record the CLI prints (text, or `cpu` of each -x oformat=json probe line) for a workload pinned to `pinned`. */
function cpuColumn(pinned: number, json: boolean): number[] {
  const loop = buildWorkload('getpid_loop');
  const r = spawnSync(process.execPath, [cli, ...(json ? ['-x', 'oformat=json'] : []), '-n', 'syscall::getpid:entry /pid == $target/ { trace(1); }',
    '-c', `taskset -c ${pinned} ${loop} 20`], { encoding: 'latin1', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  if (json) return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cpu?: number }).filter((o) => o.cpu !== undefined).map((o) => o.cpu!);
  return [...r.stdout.matchAll(/^\s*(\d+)\s+\d+\s+getpid:entry\s+1\s*$/gm)].map((m) => Number(m[1]));
}

test('each record carries the CPU its probe fired on: the CPU column and oformat=json\'s cpu', { skip }, () => {
  for (const pinned of [1, 0]) {
    for (const json of [false, true]) {
      const got = cpuColumn(pinned, json);
      assert.equal(got.length, 20, `20 records (${json ? 'json' : 'text'})`);
      assert.deepEqual(new Set(got), new Set([pinned]), `records of a workload pinned to CPU ${pinned} (${json ? 'json' : 'text'})`);
    }
  }
});

test('-x bufpolicy=ring prints at the end the newest records that fit in bufsize', { skip: process.getuid?.() !== 0 ? 'needs root to load BPF programs' : false }, () => {
  // Each record: a 16-byte header and one 8-byte value: 1 KiB holds 42 of them.
  const r = spawnSync(process.execPath, [cli, '-q', '-x', 'bufpolicy=ring', '-x', 'bufsize=1k', '-n',
    'tick-1ms { printf("%d\\n", i++); } tick-1ms /i == 300/ { exit(0); } END { printf("last=%d\\n", i - 1); }'], { encoding: 'latin1', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const last = /^last=(\d+)$/.exec(lines.pop() ?? '');
  assert.ok(last, r.stdout);
  const values = lines.map(Number);
  assert.ok(values.length >= 32 && values.length <= 64, `${values.length} records kept`);
  assert.equal(values[values.length - 1], Number(last[1]));
  values.forEach((v, k) => assert.equal(v, values[0]! + k));
  assert.ok(values[0]! > 0, 'the oldest records were dropped');
});
