import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSectionName } from './section-defs.js';
import { AttachType } from '../uapi.js';

test('SEC() names: program type, attach kind, target and BTF target', () => {
  assert.deepEqual(parseSectionName('tracepoint/syscalls/sys_enter_getpid'),
    { progType: 'tracepoint', expectedAttachType: undefined, attach: 'tracepoint', target: 'syscalls/sys_enter_getpid', btfTarget: undefined, flags: 0 });
  assert.equal(parseSectionName('tp/sched/sched_switch')?.target, 'sched/sched_switch');
  assert.deepEqual(parseSectionName('tp_btf/sched_switch')?.btfTarget, { kind: 'typedef', name: 'btf_trace_sched_switch' });
  assert.equal(parseSectionName('fexit/vfs_read')?.expectedAttachType, AttachType.TRACE_FEXIT);
  assert.equal(parseSectionName('fentry.s/vfs_read')?.flags, 1 << 4);
  assert.equal(parseSectionName('ksyscall/openat')?.attach, 'ksyscall');
  assert.equal(parseSectionName('uretprobe//bin/bash:readline')?.target, '/bin/bash:readline');
  assert.equal(parseSectionName('raw_tp/sys_enter')?.progType, 'raw_tracepoint');
  assert.equal(parseSectionName('tracepoint')?.attach, 'none', 'a bare section: a tail-call target');
  assert.deepEqual(parseSectionName('kprobe.multi/vfs_*'),
    { progType: 'kprobe', expectedAttachType: AttachType.TRACE_KPROBE_MULTI, attach: 'kprobe_multi', target: 'vfs_*', btfTarget: undefined, flags: 0 });
  assert.equal(parseSectionName('kretprobe.multi/vfs_read')?.attach, 'kretprobe_multi');
  assert.equal(parseSectionName('uprobe.multi/libc.so.6:getp*')?.expectedAttachType, AttachType.TRACE_UPROBE_MULTI);
  assert.equal(parseSectionName('uretprobe.multi.s//bin/bash:read*')?.flags, 1 << 4);
  assert.equal(parseSectionName('uretprobe.multi.s//bin/bash:read*')?.target, '/bin/bash:read*');
  assert.equal(parseSectionName('tpx/foo'), undefined);
  assert.equal(parseSectionName('.text'), undefined);
});
