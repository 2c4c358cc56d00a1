/** `dtrace --help` and `--version` (no root needed: nothing is loaded). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/workloads.js';
import { DTRACE_TS_VERSION } from '../src/version.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1' });

test('--version names dtrace-ts, its version and the D version; -V stays Oracle\'s line', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.split('\n')[0]!.startsWith(`dtrace-ts ${DTRACE_TS_VERSION} (D 2.0`), true, v.stdout);
  const V = run(['-V']);
  assert.equal(V.status, 0);
  assert.equal(V.stdout, 'dtrace: Oracle D 2.0\n');
});

test('--help prints the usage and examples on stdout and exits 0', () => {
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^Usage: dtrace /);
  assert.match(h.stdout, /Examples:\n {2}dtrace -n 'BEGIN/);
  assert.equal(h.stderr, '');
});
