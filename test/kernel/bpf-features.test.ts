/**
 * @fileoverview Feature probes and tracefs against the running kernel. Probes must agree with
 * what sysfs says, and a missing feature must produce one clear sentence. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { featureStatus, hasFeature, requireAnyFeature, requireFeature, type FeatureName } from '../../src/bpf/features.js';
import { UnsupportedError } from '../../src/bpf/errors.js';
import { listTracepointCategories, listTracepoints, tracepointFormat, tracepointId } from '../../src/bpf/tracefs.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (bpf(2), tracefs)';

test('probes agree with sysfs', { skip }, () => {
  assert.equal(hasFeature('bpf'), true);
  assert.equal(hasFeature('uprobe_pmu'), existsSync('/sys/bus/event_source/devices/uprobe/type'));
  assert.equal(hasFeature('kprobe_pmu'), existsSync('/sys/bus/event_source/devices/kprobe/type'));
  assert.equal(hasFeature('btf_vmlinux'), existsSync('/sys/kernel/btf/vmlinux'));
  const all: FeatureName[] = ['bpf', 'ringbuf', 'raw_tp', 'tp_btf', 'uprobe_pmu', 'uprobe_multi', 'kprobe_pmu', 'fentry', 'test_run_raw_tp', 'probe_write_user', 'btf_vmlinux'];
  for (const name of all) {
    const s = featureStatus(name);
    // Every unavailable feature says why, in words that follow "this kernel".
    if (!s.available) assert.match(s.reason ?? '', /^this (kernel|process) /, `${name}: ${s.reason}`);
  }
});

test('requireFeature names what is missing and for what', { skip }, () => {
  requireFeature('bpf', 'BEGIN'); // available: no throw
  const missing = (['kprobe_pmu', 'fentry', 'probe_write_user'] as FeatureName[]).find((n) => !hasFeature(n));
  if (missing) {
    assert.throws(() => requireFeature(missing, 'fbt'), (e: unknown) =>
      e instanceof UnsupportedError && e.feature === missing && e.forWhat === 'fbt' && /^fbt: this kernel /.test(e.message));
  }
  if (!hasFeature('kprobe_pmu') && !hasFeature('fentry')) {
    assert.throws(() => requireAnyFeature(['kprobe_pmu', 'fentry'], 'fbt'), (e: unknown) =>
      e instanceof UnsupportedError && /^fbt: this kernel has no kprobes \(CONFIG_KPROBES is not set\) and no fentry support/.test(e.message));
  } else {
    assert.ok(['kprobe_pmu', 'fentry'].includes(requireAnyFeature(['kprobe_pmu', 'fentry'], 'fbt')));
  }
});

test('tracefs: ids, formats and lists', { skip }, () => {
  const id = tracepointId('syscalls', 'sys_enter_openat');
  assert.ok(id > 0);
  const f = tracepointFormat('syscalls', 'sys_enter_openat');
  assert.equal(f.id, id);
  assert.equal(f.name, 'sys_enter_openat');
  const filename = f.fields.find((x) => x.name === 'filename');
  assert.equal(filename?.sizeBytes, 8);
  assert.equal(filename?.type, 'const char *');
  assert.ok(f.fields.some((x) => x.common && x.name === 'common_pid'));
  const all = listTracepoints();
  assert.ok(all.some((t) => t.category === 'syscalls' && t.name === 'sys_enter_openat'));
  assert.ok(all.some((t) => t.category === 'sched' && t.name === 'sched_switch'));
  const cats = listTracepointCategories();
  assert.ok(cats.includes('syscalls') && cats.includes('sched'));
  assert.deepEqual(cats, [...cats].sort());
});
