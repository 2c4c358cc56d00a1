/**
 * @fileoverview Spot checks of uapi.ts against values fixed by the kernel ABI (these numbers never
 * change once released), and of the lookup helpers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachType, BpfCmd, Helper, MapType, ProgType, LinkType, PerfEventAttr, LinkCreateAttr, bpfCmdName, errnoName, Errno, cEnum } from './uapi.js';

test('helper ids match include/uapi/linux/bpf.h', () => {
  assert.equal(Helper.map_lookup_elem, 1);
  assert.equal(Helper.get_current_pid_tgid, 14);
  assert.equal(Helper.get_stackid, 27);
  assert.equal(Helper.probe_read_user, 112);
  assert.equal(Helper.probe_read_kernel, 113);
  assert.equal(Helper.probe_read_user_str, 114);
  assert.equal(Helper.ringbuf_output, 130);
  assert.equal(Helper.ringbuf_query, 134);
  assert.equal(Helper.get_func_ip, 173);
  assert.equal(Helper.user_ringbuf_drain, 209);
  assert.equal(Helper.cgrp_storage_delete, 211);
  // Ids are dense: 0..211 with no gaps or duplicates.
  const ids = Object.values(Helper).sort((a, b) => a - b);
  assert.deepEqual(ids, Array.from({ length: 212 }, (_, i) => i));
});

test('enum values used by the tracer', () => {
  assert.equal(BpfCmd.PROG_TEST_RUN, 10);
  assert.equal(BpfCmd.LINK_CREATE, 28);
  assert.equal(MapType.ringbuf, 27);
  assert.equal(MapType.percpu_array, 6);
  assert.equal(ProgType.raw_tracepoint, 17);
  assert.equal(ProgType.tracing, 26);
  assert.equal(AttachType.PERF_EVENT, 41);
  assert.equal(AttachType.TRACE_UPROBE_MULTI, 48);
});

test('cEnum numbers names as C numbers an enum without initialisers', () => {
  assert.deepEqual(cEnum(['A', 'B', 'C']), { A: 0, B: 1, C: 2 });
  assert.deepEqual(cEnum(['EXITED', 'KILLED', 'DUMPED'], 1), { EXITED: 1, KILLED: 2, DUMPED: 3 });
  // The last members of the kernel enums written as name lists (include/uapi/linux/bpf.h, 6.18).
  assert.equal(BpfCmd.TOKEN_CREATE, 36);
  assert.equal(MapType.arena, 33);
  assert.equal(ProgType.netfilter, 32);
  assert.equal(LinkType.SOCKMAP, 14);
  assert.equal(AttachType.TRACE_UPROBE_SESSION, 57);
});

test('struct layouts', () => {
  assert.equal(PerfEventAttr.config1, 56);
  assert.equal(PerfEventAttr.sizeBytes, 128);
  assert.equal(LinkCreateAttr.uprobe_multi_pid, 56);
});

test('names for errors', () => {
  assert.equal(bpfCmdName(BpfCmd.MAP_CREATE), 'BPF_MAP_CREATE');
  assert.equal(bpfCmdName(999), 'BPF_CMD_999');
  assert.equal(errnoName(Errno.EACCES), 'EACCES');
  assert.equal(errnoName(524), 'ENOTSUPP');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(4242), 'E4242');
});
