/**
 * @fileoverview A dependent probe with alternative ways to be built uses the first way whose
 * events all exist, alone (never two ways at once: the probe would fire twice), and `-lv` names
 * the events it uses (lockstat on lock:contention_* or on fbt, for instance).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependentProvider, type Underlying } from './dependent.js';
import { hasRawTracepoint } from './kernel-events.js';

const missing: Underlying = { kind: 'rawtp', tp: 'dtrace_ts_no_such_tracepoint' };
const present: Underlying = { kind: 'rawtp', tp: 'sched_switch' };
const alsoPresent: Underlying = { kind: 'rawtp', tp: 'sched_wakeup' };
const skip = hasRawTracepoint('sched_switch') && hasRawTracepoint('sched_wakeup') ? false : 'kernel BTF without sched_switch/sched_wakeup prototypes';

const provider = dependentProvider('demo', [
  // The first way lacks one event: the second is used, not half of the first.
  { name: 'fallback', args: [], sources: [missing, present, alsoPresent], alternatives: [[missing, present], [alsoPresent]], emit() { /* none */ } },
  { name: 'best', args: [], sources: [present, alsoPresent], alternatives: [[present], [alsoPresent]], emit() { /* none */ } },
  { name: 'none', args: [], sources: [missing], alternatives: [[missing]], emit() { /* none */ } },
], { showMechanism: true });
const site = (name: string) => ({ provider: 'demo', module: 'vmlinux', function: '', name });

test('the first complete alternative is used, alone', { skip }, () => {
  assert.equal(provider.mechanism?.(site('fallback')), 'tracepoint sched_wakeup');
  assert.equal(provider.mechanism?.(site('best')), 'tracepoint sched_switch');
  const plans = provider.plan([{ id: 1, site: site('fallback') }, { id: 2, site: site('best') }]);
  assert.deepEqual(plans.map((p) => [p.attach, p.probes.map((q) => q.id)]).sort(), [['sched_switch', [2]], ['sched_wakeup', [1]]]);
});

test('a probe with no complete alternative is not offered', { skip }, () => {
  assert.deepEqual(provider.match({ provider: 'demo', module: '', function: '', name: 'none' }), []);
  assert.deepEqual(provider.match({ provider: 'demo', module: '', function: '', name: '*' }).map((s) => s.name).sort(), ['best', 'fallback']);
});
