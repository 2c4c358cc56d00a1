/**
 * @fileoverview Spot checks of uapi.ts against values fixed by the kernel ABI (these numbers never
 * change once released), and of the lookup helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachType, BpfCmd, Helper, MapType, ProgType, LinkType, PerfEventAttr, PerfIoctl, LinkCreateAttr, bpfCmdName, errnoName, Errno, cEnum } from './uapi.js';

/** The members of `table` that `expected` names, to compare with `expected` in one assertion. */
function members(table: Readonly<Record<string, number>>, expected: Record<string, number>): Record<string, number | undefined> {
  return Object.fromEntries(Object.keys(expected).map((name) => [name, table[name]]));
}

/** Spot values from include/uapi/linux/bpf.h (6.18) and perf_event.h, per table. */
const KERNEL_VALUES: [string, Readonly<Record<string, number>>, Record<string, number>][] = [
  ['Helper', Helper, {
    map_lookup_elem: 1, get_current_pid_tgid: 14, get_stackid: 27, probe_read_user: 112, probe_read_kernel: 113,
    probe_read_user_str: 114, ringbuf_output: 130, ringbuf_query: 134, get_func_ip: 173, user_ringbuf_drain: 209, cgrp_storage_delete: 211,
  }],
  // The last member of each enum written as a name list checks the whole list's numbering (cEnum).
  ['BpfCmd', BpfCmd, { PROG_TEST_RUN: 10, LINK_CREATE: 28, TOKEN_CREATE: 36 }],
  ['MapType', MapType, { percpu_array: 6, ringbuf: 27, arena: 33 }],
  ['ProgType', ProgType, { raw_tracepoint: 17, tracing: 26, netfilter: 32 }],
  ['AttachType', AttachType, { PERF_EVENT: 41, TRACE_UPROBE_MULTI: 48, TRACE_UPROBE_SESSION: 57 }],
  ['LinkType', LinkType, { SOCKMAP: 14 }],
  ['PerfEventAttr', PerfEventAttr, { config1: 56, sizeBytes: 128 }],
  ['LinkCreateAttr', LinkCreateAttr, { uprobe_multi_pid: 56 }],
  ['PerfIoctl', PerfIoctl, { ENABLE: 0x2400, DISABLE: 0x2401, REFRESH: 0x2402, RESET: 0x2403, SET_BPF: 0x40042408 }],
];

test('enum values and struct offsets match the kernel headers', () => {
  for (const [name, table, expected] of KERNEL_VALUES) assert.deepEqual(members(table, expected), expected, name);
  // Helper ids are dense: 0..211 with no gaps or duplicates.
  const ids = Object.values(Helper).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 212 }, (_, i) => i));
});

test('cEnum numbers names as C numbers an enum without initialisers', () => {
  assert.deepEqual(cEnum(['A', 'B', 'C']), { A: 0, B: 1, C: 2 });
  assert.deepEqual(cEnum(['EXITED', 'KILLED', 'DUMPED'], 1), { EXITED: 1, KILLED: 2, DUMPED: 3 });
});

test('names for errors', () => {
  assert.equal(bpfCmdName(BpfCmd.MAP_CREATE), 'BPF_MAP_CREATE');
  assert.equal(bpfCmdName(999), 'BPF_CMD_999');
  assert.equal(errnoName(Errno.EACCES), 'EACCES');
  assert.equal(errnoName(524), 'ENOTSUPP');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(4242), 'E4242');
});
