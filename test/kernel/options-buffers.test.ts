/**
 * @fileoverview The principal buffer's options against the kernel: bufresize=auto halves a
 * buffer the kernel cannot give until it can (and says so, as dtrace(8) does, unless
 * quietresize), bufresize=manual refuses to trace with DTrace's message (the size asked for,
 * 16 GiB, is more than a BPF ring buffer can be); bufpolicy=fill keeps the oldest records that
 * fit in bufsize and stops tracing once it is full, END's output still printed; bufpolicy=switch
 * (the default) prints every record. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { RECORD_HEADER_BYTES } from '../../src/program/spec.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function run(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, '-q', ...args], { encoding: 'latin1', timeout: 120_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROGRAM = 'tick-10ms { printf("traced\\n"); exit(0); }';

test('bufresize=auto (the default) lowers a buffer too large to the size the kernel gives, and says so', { skip }, () => {
  const r = run(['-x', 'bufsize=16g', '-n', PROGRAM]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'traced\n\n');
  const m = /^dtrace: buffer size lowered to (\d+)([kmg])\n$/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const bytes = Number(m[1]) * 1024 ** (' kmg'.indexOf(m[2]!));
  assert.ok(bytes >= 4096 && bytes <= 2 ** 30, r.stderr);
  // quietresize (set by _DTRACE_TESTING, as in DTrace's test suite) keeps it quiet.
  const quiet = run(['-x', 'bufsize=16g', '-x', 'quietresize', '-n', PROGRAM]);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
});

test('bufresize=manual refuses a buffer the kernel cannot give', { skip }, () => {
  const r = run(['-x', 'bufsize=16g', '-x', 'bufresize=manual', '-n', PROGRAM]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'dtrace: could not enable tracing: Cannot allocate memory\n');
  // A size it can give is not resized.
  const ok = run(['-x', 'bufsize=1m', '-x', 'bufresize=manual', '-n', PROGRAM]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr, '');
});

const COUNTER = 'tick-1ms { printf("%d\\n", i++); } tick-1ms /i == 300/ { exit(0); } END { printf("last=%d\\n", i - 1); }';

test('bufpolicy=fill keeps the oldest records that fit, stops tracing when full, and still runs END', { skip }, () => {
  // Each record: the record header and one 8-byte value (1 KiB held 64 with an 8-byte header).
  const fits = Math.floor(1024 / (RECORD_HEADER_BYTES + 8));
  const r = run(['-x', 'bufpolicy=fill', '-x', 'bufsize=1k', '-n', COUNTER]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const last = /^last=(\d+)$/.exec(lines.pop() ?? '');
  assert.ok(last, r.stdout);
  assert.deepEqual(lines.map(Number), Array.from({ length: fits }, (_, i) => i));
  // Tracing stopped when the buffer filled, long before the 300th tick's exit().
  assert.ok(Number(last[1]) < 299, r.stdout);
});

test('bufpolicy=switch, the default, prints every record', { skip }, () => {
  const r = run(['-x', 'bufpolicy=switch', '-x', 'bufsize=1k', '-n', COUNTER]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.pop(), 'last=299');
  assert.deepEqual(lines.map(Number), Array.from({ length: 300 }, (_, i) => i));
});
