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

test('cpc -l lists the software events under libpfm4\'s names and aliases, as dtrace-utils does; a hardware event without a PMU is one clear line', { skip }, () => {
  const l = dtrace(['-l', '-P', 'cpc']);
  assert.equal(l.status, 0, l.stderr);
  for (const name of ['perf_count_sw_cpu_clock', 'cpu_clock', 'perf_count_sw_task_clock', 'page_faults', 'faults', 'cs', 'minor_faults']) {
    assert.match(l.stdout, new RegExp(`cpc\\s+${name}-all-1000000000$`, 'm'));
  }
  // An alias is the same event: both names count the same page faults.
  const both = dtrace(['-q', '-n', 'cpc:::faults-all-1 /pid == $target/ { @a = count(); } cpc:::perf_count_sw_page_faults-all-1 /pid == $target/ { @b = count(); } END { printa("%@d ", @a); printa("%@d\\n", @b); }', '-c', '/bin/true']);
  assert.equal(both.status, 0, both.stderr);
  const [a, b] = both.stdout.trim().split(/\s+/).map(Number);
  assert.ok(a! > 10 && a === b, both.stdout);
  if (hasHardwarePmu()) return;
  assert.doesNotMatch(l.stdout, /cpu_cycles|perf_count_hw/);
  const r = dtrace(['-n', 'cpc:::cpu_cycles-all-100000 { @ = count(); }']);
  assert.equal(r.status, 1);
  const errors = r.stderr.trim().split('\n').filter((l) => !/ matched \d+ probe/.test(l));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^dtrace: could not enable tracing: .*no hardware performance counters \(no PMU/);
});
