/**
 * @fileoverview chill() near DTrace's cap (500 ms): on a kernel with bpf_iter_num the probe
 * is delayed by the whole time asked for — measured with walltimestamp around it, and by the
 * wall clock of the whole run — while just above the cap it is an illegal operation and the
 * probe goes on. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { kernelCaps } from '../../src/bpf/features.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs'
  : !kernelCaps().kfuncs.has('bpf_iter_num_new') ? 'chill() waits its whole time only with bpf_iter_num (Linux 6.4); before, it gives out after 65,536 clock reads' : false;

test('chill(480 ms), just under the cap, delays its probe by 480 ms; chill(500 ms + 1) is refused', { skip }, () => {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, '-q', '-w', '-n', [
    'tick-1ms /n++ == 0/ { this->t = walltimestamp; chill(480000000); printf("chilled %d\\n", walltimestamp - this->t); }',
    'tick-1ms /n == 3/ { chill(500000001); printf("not reached\\n"); }',
    'tick-1ms /n == 4/ { exit(0); }',
  ].join('\n')], { encoding: 'latin1', timeout: 60_000 });
  const elapsed = Date.now() - started;
  assert.equal(r.status, 0, r.stderr);
  const ns = Number(/chilled (\d+)/.exec(r.stdout)?.[1]);
  assert.ok(ns >= 480_000_000 && ns < 600_000_000, r.stdout);
  assert.ok(elapsed >= 480, `the run took ${elapsed} ms`);
  assert.doesNotMatch(r.stdout, /not reached/);
  assert.match(r.stderr, /illegal operation/);
});
