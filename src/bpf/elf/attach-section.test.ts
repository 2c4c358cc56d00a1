import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kprobeMultiTargets, resolveBinaryPath } from './attach-section.js';

test('kprobe.multi targets: the glob over available_filter_functions, each name once, module tags and ftrace placeholders ignored', () => {
  const listing = ['vfs_read', 'vfs_write', 'vfs_read', 'do_sys_openat2', 'vfs_fsync [ext4]', '__ftrace_invalid_address___64', ''].join('\n');
  assert.deepEqual(kprobeMultiTargets('vfs_*', listing), ['vfs_read', 'vfs_write', 'vfs_fsync']);
  assert.deepEqual(kprobeMultiTargets('do_sys_openat?', listing), ['do_sys_openat2']);
  assert.throws(() => kprobeMultiTargets('tcp_*', listing), /no kernel function matches tcp_\*/);
});

test('uprobe section paths: absolute paths as given, bare names searched in fixed system directories', () => {
  assert.equal(resolveBinaryPath('/opt/x/libfoo.so'), '/opt/x/libfoo.so');
  assert.match(resolveBinaryPath('sh'), /^\/(usr\/)?(local\/)?s?bin\/sh$/);
  assert.throws(() => resolveBinaryPath('libdtrace-ts-no-such.so.1'), /is not found in \/lib/);
});
