/**
 * @fileoverview Associative arrays share maps, one per key and value size, each element keyed
 * by its array's id and thread before its tuple (codegen/assoc-maps.ts): more arrays than a
 * BPF program may use maps, arrays of the same shape that never see each other's elements,
 * self-> arrays private to their thread, and the shared dynamic variable space reporting
 * drops when full. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function dtrace(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const N = 70;
const value = (i: number) => i * 1000 + i;

test('70 associative arrays with the same key hold 70 distinct values, and 0 deletes one only', { skip }, () => {
  const stores = Array.from({ length: N }, (_, i) => `a${i + 1}[1] = ${value(i + 1)};`).join(' ');
  const prints = (label: string) => `printf("${label}"); ` + Array.from({ length: N }, (_, i) => `printf(" %d", a${i + 1}[1]);`).join(' ') + ' printf("\\n");';
  const r = dtrace(['-q', '-n', `BEGIN { ${stores} ${prints('set')} a35[1] = 0; ${prints('del')} exit(0); }`]);
  assert.equal(r.status, 0, r.stderr);
  const want = Array.from({ length: N }, (_, i) => value(i + 1));
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], `set ${want.join(' ')}`);
  assert.equal(lines[1], `del ${want.map((v, i) => (i === 34 ? 0 : v)).join(' ')}`);
});

test('global and self-> arrays of the same shapes (integer, string and mixed keys) keep to their own elements', { skip }, () => {
  const program = [
    'BEGIN {',
    '  g[1] = 11; self->t[1] = 12; n[2] = 13;',
    '  gs["k"] = 21; self->ts["k"] = 22; gs["l"] = 23;',
    '  gk["k", 1] = 31; self->tk["k", 1] = 32; gk["k", 2] = 33;',
    '  gstr[1] = "global"; self->tstr[1] = "thread";',
    '  printf("a %d %d %d %d %d %d %d %d %d %s %s\\n", g[1], self->t[1], n[2], gs["k"], self->ts["k"], gs["l"], gk["k", 1], self->tk["k", 1], gk["k", 2], gstr[1], self->tstr[1]);',
    // Elements that exist in another array only read as missing.
    '  printf("b %d %d %d %d %d\\n", g[2], n[1], self->t[2], gs["m"], self->tk["k", 2]);',
    '  g[1] = 0; self->ts["k"] = 0;',
    '  printf("c %d %d %d %d\\n", g[1], self->t[1], gs["k"], self->ts["k"]);',
    '}',
    // Another thread (the -c command) sees the global elements and none of BEGIN\'s self-> ones.
    'syscall::exit_group:entry /pid == $target/ {',
    '  self->t[1] = 99;',
    '  printf("d %d %d %d %s %d %d\\n", g[1], gs["l"], gk["k", 2], gstr[1], self->ts["k"] + self->tk["k", 1], self->t[1]);',
    '  exit(0);',
    '}',
  ].join('\n');
  const r = dtrace(['-q', '-n', program, '-c', '/bin/true']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), [
    'a 11 12 13 21 22 23 31 32 33 global thread',
    'b 0 0 0 0 0',
    'c 0 12 21 0',
    'd 0 23 33 global 0 99',
  ].join('\n'));
});

test('the arrays of a map draw on one dynamic variable space: when it is full, stores are dynamic variable drops', { skip }, () => {
  const stores = Array.from({ length: N }, (_, i) => `a${i + 1}[${i}] = ${i + 1};`).join(' ');
  const r = dtrace(['-q', '-x', 'droptags', '-x', 'dynvarsize=256', '-n', `BEGIN { ${stores} } BEGIN { printf("%d %d\\n", a1[0], a${N}[${N - 1}]); exit(0); }`]);
  assert.equal(r.status, 0, r.stderr);
  // The first arrays' elements fit, the last ones' do not (the drop ends the clause).
  assert.match(r.stdout, /^1 0\n/);
  assert.match(r.stderr, /\[DTRACEDROP_DYNAMIC\] 1 dynamic variable drop\b/);
});

test('arrays of more key shapes than a program may use maps share padded keys, shorter tuples zero-filled', { skip }, () => {
  // 64 key shapes: i integers and j strings (1 ≤ i + j ≤ 10, j ≤ 9), one array each.
  const shapes: string[] = [];
  for (let j = 0; j <= 9; j++) {
    for (let i = 0; i + j <= 10; i++) {
      if (i + j > 0) shapes.push([...Array.from({ length: i }, (_, n) => `${n + j}`), ...Array.from({ length: j }, (_, n) => `"s${n}"`)].join(', '));
    }
  }
  // Stored shortest key first, read back after longer keys were built in the same key area.
  const stores = shapes.map((k, n) => `a${n}[${k}] = ${value(n + 1)};`).join(' ');
  const reads = (label: string) => `printf("${label}"); ` + shapes.map((k, n) => `printf(" %d", a${n}[${k}]);`).join(' ') + ' printf("\\n");';
  const program = `BEGIN { ${stores} self->t[${shapes[0]}] = 7; ${reads('set')} a5[${shapes[5]}] = 0; ${reads('del')} ` +
    `printf("t %d %d %d\\n", self->t[${shapes[0]}], a0[${shapes[0]}], a0[99]); exit(0); }`;
  const r = dtrace(['-q', '-n', program]);
  assert.equal(r.status, 0, r.stderr);
  const want = shapes.map((_, n) => value(n + 1));
  assert.equal(r.stdout.trim(), [`set ${want.join(' ')}`, `del ${want.map((v, n) => (n === 5 ? 0 : v)).join(' ')}`, `t 7 ${value(1)} 0`].join('\n'));
});
