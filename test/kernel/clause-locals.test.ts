/**
 * @fileoverview Clause-local variables as the kernel runs them: every clause a probe firing runs
 * finds `this->x` where an earlier clause of the same firing left it, whatever order each clause
 * names its variables in (the DTrace book's soclose.d sets this->f in one clause and tests it in
 * the next). Needs root.
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

test('a later clause reads clause-locals set earlier, named in another order', { skip }, () => {
  const r = run('BEGIN { this->a = 5; this->b = 7; this->c = 9; } ' +
    'BEGIN { printf("%d %d\\n", this->c, this->a); } BEGIN { printf("%d\\n", this->b); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '9 5\n7\n\n');
});

test('strings, alloca pointers and integers keep their places across clauses', { skip }, () => {
  const r = run('BEGIN { this->p = (char *)alloca(8); this->s = probename; this->n = -3; this->f = 42; } ' +
    'BEGIN /this->f == 42/ { printf("%d %s %d\\n", this->n, this->s, this->f); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '-3 BEGIN 42\n\n');
});

test('a string stored in a declared pointer clause-local is its address', { skip }, () => {
  const r = run('this char *x; BEGIN { this->x = "abc"; this->y = 3; } BEGIN { printf("%s %d\\n", stringof(this->x), this->y); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'abc 3\n\n');
});
