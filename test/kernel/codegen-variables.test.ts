/**
 * @fileoverview Variables as the kernel runs them: thread-locals and associative arrays holding
 * integers and strings, reads of missing elements, and deletion by assigning 0. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function run(program: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, '-q', '-n', program], { encoding: 'latin1', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('self-> and associative arrays store integers and strings, and 0 deletes', { skip }, () => {
  const r = run('BEGIN { self->x = 3; self->s = "hi"; a["k", 2] = 10; b[1] = "str"; ' +
    'printf("%d %s %d %s %d\\n", self->x, self->s, a["k", 2], b[1], a["none", 1]); ' +
    'a["k", 2] = 0; self->x = 0; printf("%d %d\\n", a["k", 2], self->x); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '3 hi 10 str 0\n0 0\n\n');
});
