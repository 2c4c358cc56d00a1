/**
 * @fileoverview Feature probes and tracefs against the running kernel. Probes must agree with
 * what sysfs says, and a missing feature must produce one clear sentence. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { FEATURES, featureStatus, hasFeature, hasKfunc, helperStatus, kernelCaps, requireAnyFeature, requireFeature, resetFeatureCache, versionBelow, type FeatureName } from '../../src/bpf/features.js';
import { Helper } from '../../src/bpf/uapi.js';
import { UnsupportedError } from '../../src/bpf/errors.js';
import { listTracepointCategories, listTracepoints, tracepointFormat, tracepointId } from '../../src/bpf/tracefs.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (bpf(2), tracefs)';

test('probes agree with sysfs', { skip }, () => {
  assert.equal(hasFeature('bpf'), true);
  assert.equal(hasFeature('uprobe_pmu'), existsSync('/sys/bus/event_source/devices/uprobe/type'));
  assert.equal(hasFeature('kprobe_pmu'), existsSync('/sys/bus/event_source/devices/kprobe/type'));
  assert.equal(hasFeature('btf_vmlinux'), existsSync('/sys/kernel/btf/vmlinux'));
  const all = Object.keys(FEATURES) as FeatureName[];
  for (const name of all) {
    const s = featureStatus(name);
    // Every unavailable feature says why, in words that follow "this kernel".
    if (!s.available) assert.match(s.reason ?? '', /^this (kernel|process) /, `${name}: ${s.reason}`);
  }
});

test('BTF global functions with pointer arguments load on a kernel of 5.12 or later', { skip }, () => {
  // The string stand-ins are verified once each where this probe succeeds (runtime/func-info.ts).
  const version = /^(\d+\.\d+)/.exec(release())?.[1] ?? '0.0';
  if (process.env.DTRACE_TS_KERNEL || versionBelow(version, '5.12')) return;
  assert.deepEqual(featureStatus('global_func_args'), { available: true });
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

/** Runs `fn` with DTRACE_TS_KERNEL set to `level` (fresh probes), then restores the environment. */
function atLevel<T>(level: string | undefined, fn: () => T): T {
  const saved = process.env.DTRACE_TS_KERNEL;
  if (level === undefined) delete process.env.DTRACE_TS_KERNEL; else process.env.DTRACE_TS_KERNEL = level;
  resetFeatureCache();
  try { return fn(); } finally {
    if (saved === undefined) delete process.env.DTRACE_TS_KERNEL; else process.env.DTRACE_TS_KERNEL = saved;
    resetFeatureCache();
  }
}

test('an emulated kernel level only takes away what is newer than it', { skip }, () => {
  const native = atLevel(undefined, () => ({
    isaV4: hasFeature('isa_v4'), ringbuf: hasFeature('ringbuf'), uprobeMulti: hasFeature('uprobe_multi'),
    strcmp: hasKfunc('bpf_strcmp'), loop: helperStatus(Helper.loop).available, loops: hasFeature('bounded_loops'),
  }));
  // This machine (6.18) has them all; elsewhere the emulation checks below still hold.
  atLevel('5.15', () => {
    assert.equal(hasFeature('isa_v4'), false);
    assert.match(featureStatus('isa_v4').reason ?? '', /^this kernel has no BPF ISA v4 .*Linux 6\.6; emulating 5\.15 with DTRACE_TS_KERNEL/);
    assert.equal(hasFeature('uprobe_multi'), false);
    assert.equal(hasKfunc('bpf_strcmp'), false);
    assert.equal(helperStatus(Helper.loop).available, false);
    assert.equal(hasFeature('ringbuf'), native.ringbuf, 'ring buffers (5.8) are older than 5.15');
    assert.equal(hasFeature('bounded_loops'), native.loops);
    const caps = kernelCaps();
    assert.equal(caps.version, '5.15');
    assert.equal(caps.isaV4, false);
    assert.equal(caps.kfuncs.has('bpf_strcmp'), false);
    assert.equal(caps.bpfLoop, false);
  });
  atLevel('6.6', () => {
    assert.equal(hasFeature('isa_v4'), native.isaV4);
    assert.equal(hasFeature('uprobe_multi'), native.uprobeMulti);
    assert.equal(hasKfunc('bpf_strcmp'), false, 'string kfuncs are 6.17');
  });
  atLevel('99.0', () => {
    assert.equal(hasKfunc('bpf_strcmp'), native.strcmp, 'a level above this kernel adds nothing');
    assert.equal(helperStatus(Helper.loop).available, native.loop);
    const caps = kernelCaps();
    assert.equal(caps.isaV4, native.isaV4);
    assert.match(caps.version, /^99\.0$/);
  });
  atLevel(undefined, () => assert.match(kernelCaps().version, /^\d+\.\d+$/));
});
