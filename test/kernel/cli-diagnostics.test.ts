/**
 * @fileoverview Diagnostics of the built command outside the test harness: nearest-name hints
 * and the column, output write errors as DTrace reports them, and values beyond what BPF can
 * hold refused in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root';

function dtrace(args: string[]) {
  const env = { ...process.env };
  delete env._DTRACE_TESTING;
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000, env });
}

test('a misspelt provider, function or variable gets a hint and a column', { skip }, () => {
  const p = dtrace(['-e', '-n', 'syscal::getpid:entry { }']);
  assert.equal(p.status, 1);
  assert.match(p.stderr, /^hint: did you mean `syscall`\?$/m);
  const f = dtrace(['-e', '-n', 'BEGIN { trace(strln("a")); }']);
  assert.match(f.stderr, /^ --> <probe description>:1:15$/m);
  assert.match(f.stderr, /^hint: did you mean `strlen`\?$/m);
  assert.doesNotMatch(f.stderr, /internal error|\n\s+at /);
});

test('output that cannot be written (-o /dev/full): "processing aborted", status 1', { skip }, () => {
  const r = dtrace(['-o', '/dev/full', '-n', 'BEGIN { trace(1); exit(0); }']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^dtrace: processing aborted: No space left on device$/m);
  assert.doesNotMatch(r.stderr, /internal error/);
});

test('stack depths beyond the kernel\'s ceiling are capped, not rejected by the verifier', { skip }, () => {
  const r = dtrace(['-q', '-n', 'BEGIN { ustack(2147483647); stack(2147483647); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
});
