import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilterFunctions, parseKprobeBlacklist } from './fbt.js';

test('parseKprobeBlacklist: the function name of each "start-end name" line', () => {
  const text = '0xffffffff81000000-0xffffffff81000010\tdo_int3\n0x0000000000000000-0x0000000000000000\tnmi_handle\n\n';
  assert.deepEqual([...parseKprobeBlacklist(text)], ['do_int3', 'nmi_handle']);
});

test('parseFilterFunctions: vmlinux and module functions, blacklist removed, duplicate names counted once', () => {
  const text = [
    'vfs_read',
    'do_int3',
    'show_stat',
    'show_stat',
    'ext4_file_read_iter [ext4]',
    'show_stat [ext4]',
    'foo.isra.0',
    '',
  ].join('\n');
  const fns = parseFilterFunctions(text, new Set(['do_int3']));
  assert.deepEqual(fns, [
    { name: 'vfs_read', module: 'vmlinux', copies: 1 },
    { name: 'show_stat', module: 'vmlinux', copies: 2 },
    { name: 'ext4_file_read_iter', module: 'ext4', copies: 1 },
    { name: 'show_stat', module: 'ext4', copies: 1 },
    { name: 'foo.isra.0', module: 'vmlinux', copies: 1 },
  ]);
});
