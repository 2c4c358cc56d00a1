/**
 * @fileoverview statusrate: how often the consumer checks the tracing state and reports drops.
 * A program that overflows a tiny dynvarsize in its first milliseconds and traces for 4 s has
 * its drops reported within about a second with statusrate=200ms, and only when tracing ends
 * with statusrate=10s. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** Runs the tracer; resolves with when (ms after the first output line) the drop report came, and the status. */
function firstDropAfter(statusrate: string): Promise<{ dropAt: number; runMs: number; status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, '-q', '-x', 'dynvarsize=64', '-x', `statusrate=${statusrate}`, '-n',
      'BEGIN { printf("started\\n"); } tick-1ms /n++ < 50/ { a[n] = 1; } tick-4s { exit(0); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let started = 0, dropAt = -1, stderr = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => { if (!started && d.includes('started')) started = Date.now(); });
    child.stderr.setEncoding('latin1').on('data', (d: string) => {
      stderr += d;
      if (dropAt < 0 && /dynamic variable drops/.test(stderr)) dropAt = Date.now() - started;
    });
    child.on('close', (status) => resolve({ dropAt, runMs: Date.now() - started, status, stderr }));
  });
}

test('statusrate sets how soon drops are reported', { skip }, async () => {
  const fast = await firstDropAfter('200ms');
  assert.equal(fast.status, 0, fast.stderr);
  assert.ok(fast.dropAt >= 0 && fast.dropAt < 2500, `reported after ${fast.dropAt} ms of ${fast.runMs}`);
  const slow = await firstDropAfter('10s');
  assert.equal(slow.status, 0, slow.stderr);
  assert.ok(slow.dropAt >= 3500, `reported after ${slow.dropAt} ms of ${slow.runMs}`);
});
