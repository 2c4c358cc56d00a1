/**
 * @fileoverview chill() near DTrace's cap (500 ms): on a kernel with bpf_iter_num (6.4) or
 * bpf_loop (5.17) the probe is delayed by the whole time asked for — measured with
 * walltimestamp around it, and by the wall clock of the whole run — while just above the cap
 * it is an illegal operation and the probe goes on. Where this kernel has iterators, the
 * bpf_loop code is run too (DTRACE_TS_KERNEL=6.1 compiles for Debian 12's kernel). Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { kernelCaps } from '../../src/bpf/features.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const caps = process.getuid?.() === 0 ? kernelCaps() : undefined;
const skip = !caps ? 'needs root to load BPF programs'
  : !caps.kfuncs.has('bpf_iter_num_new') && !caps.bpfLoop ? 'chill() waits its whole time only with bpf_iter_num (6.4) or bpf_loop (5.17); before, it gives out after 65,536 clock reads' : false;

function chillNearCap(env: NodeJS.ProcessEnv): void {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, '-q', '-w', '-n', [
    'tick-1ms /n++ == 0/ { this->t = walltimestamp; chill(480000000); printf("chilled %d\\n", walltimestamp - this->t); }',
    'tick-1ms /n == 3/ { chill(500000001); printf("not reached\\n"); }',
    'tick-1ms /n == 4/ { exit(0); }',
  ].join('\n')], { encoding: 'latin1', timeout: 60_000, env });
  const elapsed = Date.now() - started;
  assert.equal(r.status, 0, r.stderr);
  const ns = Number(/chilled (\d+)/.exec(r.stdout)?.[1]);
  assert.ok(ns >= 480_000_000 && ns < 600_000_000, r.stdout);
  assert.ok(elapsed >= 480, `the run took ${elapsed} ms`);
  assert.doesNotMatch(r.stdout, /not reached/);
  assert.match(r.stderr, /illegal operation/);
}

test('chill(480 ms), just under the cap, delays its probe by 480 ms; chill(500 ms + 1) is refused', { skip }, () => {
  chillNearCap(process.env);
});

test('the same on bpf_loop, as compiled for a 6.1 kernel', { skip: skip || (caps!.bpfLoop ? false : 'no bpf_loop here') }, () => {
  chillNearCap({ ...process.env, DTRACE_TS_KERNEL: '6.1' });
});
