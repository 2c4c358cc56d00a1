/**
 * @fileoverview The cpc provider against the kernel: a software event counted for a -c workload
 * agrees with the workload's own getrusage, and a hardware event on a machine without a PMU
 * fails with one line that says so. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';
import { hasHardwarePmu } from '../../src/providers/cpc.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

// A million page faults take seconds on a quiet machine and minutes on a loaded one: the bound is
// only there to end a hung run.
function dtrace(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 600_000 });
}

test('cpc:::page_faults-user-1000 fires once per 1000 of the workload\'s minor faults (within 1 %)', { skip, timeout: 660_000 }, () => {
  const bin = buildWorkload('page_faults');
  // The counter runs per CPU for every process (as in DTrace); the predicate picks the firings
  // that land in the target. A million faults in a tight loop make the target nearly all of
  // its CPU's faults, so the estimate is within 1 %.
  const r = dtrace(['-n', 'cpc:::page_faults-user-1000 /pid == $target/ { @ = count(); }', '-c', `${bin} 100000 10`]);
  assert.equal(r.status, 0, r.stderr);
  const minflt = Number(/minflt (\d+)/.exec(r.stdout)?.[1]);
  const fired = Number(/^\s*(\d+)\s*$/m.exec(r.stdout.replace(/minflt \d+/, ''))?.[1]);
  assert.ok(minflt >= 1_000_000, r.stdout);
  const expected = minflt / 1000;
  assert.ok(Math.abs(fired - expected) <= Math.max(1, expected * 0.01), `fired ${fired} times for ${minflt} minor faults`);
});

test('cpc -l lists the software events; a hardware event without a PMU is one clear line', { skip }, () => {
  const l = dtrace(['-l', '-P', 'cpc']);
  assert.equal(l.status, 0, l.stderr);
  for (const name of ['page_faults-user-1000', 'cpu_clock-all-1000000', 'context_switches-kernel-1000']) assert.match(l.stdout, new RegExp(`cpc\\s+${name}$`, 'm'));
  if (hasHardwarePmu()) return;
  assert.doesNotMatch(l.stdout, /cpu_cycles/);
  const r = dtrace(['-n', 'cpc:::cpu_cycles-all-100000 { @ = count(); }']);
  assert.equal(r.status, 1);
  const errors = r.stderr.trim().split('\n').filter((l) => !/ matched \d+ probe/.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^dtrace: could not enable tracing: .*no hardware performance counters \(no PMU/);
});
