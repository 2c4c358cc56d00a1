/**
 * @fileoverview A dependent probe whose kernel event is missing is reported, not dropped in
 * silence: the description matches nothing and the provider names what the kernel lacks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependentProvider } from './dependent.js';
import { hasRawTracepoint } from './kernel-events.js';

const missingTp = 'dtrace_ts_no_such_tracepoint';
const provider = dependentProvider('demo', [
  { name: 'gone', args: [], sources: [{ kind: 'rawtp', tp: missingTp }], missingHint: 'only kernels from the future have it', emit() { /* none */ } },
  { name: 'gone-too', args: [], sources: [{ kind: 'rawtp', tp: missingTp }], emit() { /* none */ } },
]);
const desc = (name: string) => ({ provider: 'demo', module: '', function: '', name });

test('a probe whose raw tracepoint the kernel lacks is named with the missing event and the hint', () => {
  assert.equal(hasRawTracepoint(missingTp), false);
  assert.deepEqual(provider.match(desc('gone')), []);
  assert.equal(provider.unavailableReason?.(desc('gone')),
    `demo:::gone is not available on this kernel: it needs the kernel's raw tracepoint ${missingTp} (only kernels from the future have it)`);
  assert.match(provider.unavailableReason?.(desc('gone*')) ?? '', /demo:::gone is .*; demo:::gone-too is not available/);
});

test('alternative sources: only the first one the kernel has is attached', { skip: hasRawTracepoint('sched_switch') ? false : 'kernel BTF has no raw tracepoint prototypes' }, () => {
  const sources = [{ kind: 'rawtp', tp: missingTp }, { kind: 'rawtp', tp: 'sched_switch' }, { kind: 'rawtp', tp: 'sched_wakeup' }] as const;
  const plans = (firstSourceOnly: boolean) => dependentProvider('alt', [{ name: 'p', args: [], sources, firstSourceOnly, emit() { /* none */ } }])
    .plan([{ id: 1, site: { provider: 'alt', module: 'vmlinux', function: '', name: 'p' } }]).map((p) => p.attach);
  assert.deepEqual(plans(true), ['sched_switch']);
  assert.deepEqual(plans(false), ['sched_switch', 'sched_wakeup']);
});

test('no reason for names outside the table, other modules, or without a description', () => {
  assert.equal(provider.unavailableReason?.(desc('elsewhere')), undefined);
  assert.equal(provider.unavailableReason?.({ ...desc('gone'), module: 'kernel' }), undefined);
  assert.equal(provider.unavailableReason?.(), undefined);
});
