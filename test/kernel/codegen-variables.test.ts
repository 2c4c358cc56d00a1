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

test('struct values are assigned into struct members, from and to globals and clause-locals', { skip }, () => {
  const r = run('struct coords { int x, y; }; struct particle { struct coords position; struct coords velocity; }; ' +
    'struct coords Q; this struct coords q; struct particle C, B; this struct particle b, c; ' +
    'BEGIN { Q.x = 1; Q.y = 2; this->q.x = 3; this->q.y = 4; B.velocity.x = 5; B.velocity.y = 6; this->b.velocity.x = 7; this->b.velocity.y = 8; ' +
    'C.position = Q; C.velocity = this->q; this->c.position = B.velocity; this->c.velocity = this->b.velocity; ' +
    'printf("%d %d %d %d %d %d %d %d\\n", C.position.x, C.position.y, C.velocity.x, C.velocity.y, this->c.position.x, this->c.position.y, this->c.velocity.x, this->c.velocity.y); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1 2 3 4 5 6 7 8\n\n');
});

test('global arrays of 1-byte elements are indexed, read, printed as strings and passed as addresses', { skip }, () => {
  const r = run('uint8_t a[20]; char c[3]; BEGIN { a[0] = 0x10; a[1] = 0x80; a[19] = 0xff; c[0] = 104; c[1] = 105; ' +
    'printf("%d %d %d %s %s\\n", a[0], a[1], a[2], c, link_ntop(ARPHRD_INFINIBAND, a)); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '16 128 0 hi 10:80:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:ff\n\n');
});

test('associative array lookups nest inside each other\'s keys (each level builds its key in its own area)', { skip }, () => {
  const r = run('BEGIN { a[1, 2, 3] = 1234; a[3, 2, 3] = 4321; a[3, 2, 1] = 2; ' +
    'printf("%d %d\\n", a[1, a[3, a[3, a[3, a[3, 2, 1], 1], 1], 1], 3], a[3, 2, a[3, 2, 1] + 1]); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1234 4321\n\n');
});

test('trace() of a character array records its bytes (a hex dump); a string value prints as a string', { skip }, () => {
  const r = spawnSync(process.execPath, [cli, '-n', 'BEGIN { trace(curthread->comm); trace(execname); exit(0); }'], { encoding: 'latin1', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const comm = 'dtrace'.padEnd(16, '\0'); // the tracer names itself
  const hex = [...comm].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(' ');
  const ascii = [...comm].map((c) => (c === '\0' ? '.' : c)).join('');
  assert.ok(r.stdout.includes(`         0: ${hex}  ${ascii}\n`), r.stdout);
  assert.match(r.stdout, /\n  dtrace {27}\s*\n/);
});

test('== and != against a short string literal (compared inline) agree with strcmp in every case', { skip }, () => {
  // Literals of 0, 7, 8 (the NUL in the second word), 12 and 15 bytes; prefixes and extensions;
  // a NULL string; a literal with an embedded NUL (it ends there); one of 16 bytes (strcmp path).
  const prog = 'BEGIN { s["a"] = "getpid_bench"; s["b"] = "getpid"; s["c"] = ""; s["d"] = "abcdefgh"; s["e"] = "abcdefghijklmno"; ' +
    'printf("%d%d%d%d%d ", s["a"] == "getpid_bench", s["a"] == "getpid", s["b"] == "getpid_bench", s["b"] == "getpid", "getpid" != s["b"]); ' +
    'printf("%d%d%d ", s["c"] == "", s["a"] == "", s["c"] != ""); ' +
    'printf("%d%d%d ", s["d"] == "abcdefgh", s["d"] == "abcdefg", s["d"] == "abcdefghi"); ' +
    'printf("%d%d%d ", s["e"] == "abcdefghijklmno", s["e"] == "abcdefghijklmnp", s["e"] == "abcdefghijklmnop"); ' +
    'printf("%d%d ", s["none"] == "x", s["none"] != "x"); ' +
    'printf("%d%d\\n", s["b"] == "getpid\\0zzz", execname == "dtrace"); exit(0); }';
  for (const kernel of [undefined, '5.15']) {
    const r = spawnSync(process.execPath, [cli, '-q', '-n', prog], { encoding: 'latin1', timeout: 60_000, env: { ...process.env, ...(kernel ? { DTRACE_TS_KERNEL: kernel } : {}) } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '10010 100 100 100 01 11\n\n', `kernel ${kernel ?? 'native'}`);
  }
});
