/**
 * @fileoverview D semantics as the kernel runs them (issue 13): 64-bit arithmetic in registers,
 * speculation edge cases, sizes and drops, aggregation ordering. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('integer arithmetic keeps 64 bits in registers; casts, stores and output narrow', { skip }, () => {
  const r = run(['-qn', 'BEGIN { x = 2000000000; printf("%d %d %d\\n", (x * 4) / 4, x * 4 > 0, x * 4); ' +
    's = 40; printf("%d %d\\n", (1 << s) >> 38, ((int)(1 << s)) >> 38); ' +
    'y = x * 4; printf("%d %d\\n", y, y / 4); self->t = x * 2; printf("%d\\n", self->t / 2); ' +
    'c = (char)127; printf("%d %d\\n", c + 1, (c + 1) / 2); @s = sum(x * 4); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '2000000000 1 -589934592\n4 0\n-589934592 -147483648\n-147483648\n128 64\n\n       8000000000\n');
});
