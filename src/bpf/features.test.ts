/** @fileoverview The minimal BTF walk used by feature probes, on a hand-built BTF blob. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURES, HELPER_SINCE, KFUNC_SINCE, findBtfTypeId, findBtfTypeIdInFile, mainlineCaps, parseKernelLevel, versionBelow } from './features.js';
import { NEWEST_KERNEL } from './kernel-caps.js';
import { Helper } from './uapi.js';

/** Builds a BTF blob: [1] INT "int", [2] STRUCT "s" {a: int}, [3] TYPEDEF "btf_trace_x" → 2, [4] FUNC "f". */
function fixture(): Uint8Array {
  const strings = '\0int\0s\0a\0btf_trace_x\0f\0';
  const off = (name: string) => strings.indexOf(`\0${name}\0`) + 1;
  const types: number[] = [];
  const u32 = (...xs: number[]) => types.push(...xs);
  u32(off('int'), 1 << 24, 4, 0x20); // INT + 4-byte trailer
  u32(off('s'), (4 << 24) | 1, 4, off('a'), 1, 0); // STRUCT vlen 1 + 12-byte member
  u32(off('btf_trace_x'), 8 << 24, 2); // TYPEDEF
  u32(off('f'), 12 << 24, 0); // FUNC
  const typeBytes = types.length * 4;
  const out = new Uint8Array(24 + typeBytes + strings.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeBytes, true);
  v.setUint32(16, typeBytes, true);
  v.setUint32(20, strings.length, true);
  types.forEach((x, i) => v.setUint32(24 + i * 4, x, true));
  out.set(Buffer.from(strings, 'latin1'), 24 + typeBytes);
  return out;
}

test('finds types by name and kind past variable-size records', () => {
  const btf = fixture();
  assert.equal(findBtfTypeId(btf, 'int', 1), 1);
  assert.equal(findBtfTypeId(btf, 's', 4), 2);
  assert.equal(findBtfTypeId(btf, 'btf_trace_x', 8), 3);
  assert.equal(findBtfTypeId(btf, 'f', 12), 4);
  assert.equal(findBtfTypeId(btf, 'f', 8), undefined);
  assert.equal(findBtfTypeId(btf, 'missing', 8), undefined);
  assert.equal(findBtfTypeId(new Uint8Array(24), 'int', 1), undefined);
});

test('the file walk, in chunks of any size (records and names cut by chunk ends), finds what the blob walk finds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btf-id-'));
  try {
    const path = join(dir, 'btf');
    writeFileSync(path, fixture());
    for (const chunk of [1, 24, 25, 30, 37, 64, 4096]) {
      for (const [name, kind] of [['int', 1], ['s', 4], ['btf_trace_x', 8], ['f', 12], ['f', 8], ['missing', 8], ['a', 4]] as const) {
        assert.equal(findBtfTypeIdInFile(path, name, kind, chunk), findBtfTypeId(fixture(), name, kind), `${name}/${kind} in chunks of ${chunk}`);
      }
    }
    writeFileSync(path, new Uint8Array(24));
    assert.equal(findBtfTypeIdInFile(path, 'int', 1), undefined);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('the file walk agrees with the blob walk on this kernel\'s BTF', { skip: existsSync('/sys/kernel/btf/vmlinux') ? false : 'no /sys/kernel/btf/vmlinux' }, async () => {
  const { readFileSync } = await import('node:fs');
  const blob = readFileSync('/sys/kernel/btf/vmlinux');
  for (const [name, kind] of [['bpf_iter_bpf_map_elem', 12], ['btf_trace_sys_enter', 8], ['do_nanosleep', 12], ['task_struct', 4]] as const) {
    assert.equal(findBtfTypeIdInFile('/sys/kernel/btf/vmlinux', name, kind), findBtfTypeId(blob, name, kind), name);
  }
});

test('kernel levels parse as major.minor and compare numerically', () => {
  assert.equal(parseKernelLevel(undefined), undefined);
  assert.equal(parseKernelLevel(''), undefined);
  assert.equal(parseKernelLevel('5.15'), '5.15');
  assert.equal(parseKernelLevel('6.1.0-57-amd64'), '6.1');
  assert.throws(() => parseKernelLevel('six'), /DTRACE_TS_KERNEL=six: expected a mainline kernel version/);
  assert.equal(versionBelow('5.15', '6.6'), true);
  assert.equal(versionBelow('5.9', '5.15'), true, 'numeric, not lexical');
  assert.equal(versionBelow('6.6', '6.6'), false);
  assert.equal(versionBelow('6.17', '6.6'), false);
});

test('every feature in the table says when it came and how it is detected', () => {
  for (const [name, spec] of Object.entries(FEATURES)) {
    assert.match(spec.since, /^\d+\.\d+$/, name);
    assert.ok(spec.detect.length > 10, name);
  }
  for (const name of NEWEST_KERNEL.kfuncs) assert.match(KFUNC_SINCE[name] ?? '', /^\d+\.\d+$/, `kfunc ${name}`);
});

test('mainline levels: 5.15 has no ISA v4, string kfuncs or bpf_loop; 6.6 has v4; 6.17 everything', () => {
  const old = mainlineCaps('5.15');
  assert.equal(old.isaV4, false);
  assert.equal(old.kfuncs.size, 0);
  assert.equal(old.bpfLoop, false);
  assert.equal(old.boundedLoops, true);
  assert.equal(old.helpers.has(Helper.get_func_ip), true);
  assert.equal(old.helpers.has(Helper.user_ringbuf_drain), false);
  assert.equal(HELPER_SINCE[Helper.user_ringbuf_drain], '6.1');
  const v66 = mainlineCaps('6.6');
  assert.equal(v66.isaV4, true);
  assert.deepEqual([...v66.kfuncs].sort(), ['bpf_iter_num_destroy', 'bpf_iter_num_new', 'bpf_iter_num_next']);
  assert.deepEqual([...mainlineCaps('6.17').kfuncs].sort(), [...NEWEST_KERNEL.kfuncs].sort());
});
