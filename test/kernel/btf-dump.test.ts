/**
 * @fileoverview The running kernel's BTF: our vmlinux.h must compile with clang and match
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c` line for line; the raw listing must
 * match bpftool's too, for vmlinux and for module (split) BTF. Needs no root, only
 * /sys/kernel/btf; skips with a reason when that, clang or bpftool is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { KERNEL_BTF_PATH, loadBtf, loadKernelBtf, loadModuleBtf } from '../../src/bpf/btf/index.js';
import { encodeBtf, type BtfTypeSpec } from '../../src/bpf/btf/encode.js';
import { dumpC } from '../../src/bpf/btf/cdump.js';
import { dumpRaw } from '../../src/bpf/btf/rawdump.js';

const noKernelBtf = existsSync(KERNEL_BTF_PATH) ? false : `${KERNEL_BTF_PATH} is missing (kernel built without CONFIG_DEBUG_INFO_BTF)`;

function tool(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const clang = tool('clang');
const bpftool = tool('bpftool');

/** libbpf version bpftool was built with (`using libbpf v1.1`), as [major, minor]. */
function bpftoolLibbpfVersion(): [number, number] | undefined {
  const out = spawnSync(bpftool!, ['version'], { encoding: 'utf8' }).stdout;
  const m = /libbpf v(\d+)\.(\d+)/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Number of lines `diff` reports as removed or added between two texts. */
function differingLines(a: string, b: string): number {
  if (a === b) return 0;
  const dir = mkdtempSync(join(tmpdir(), 'btf-dump-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    const r = spawnSync('diff', [join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.error) {
      // No diff(1): count positions that differ.
      const la = a.split('\n'), lb = b.split('\n');
      let n = Math.abs(la.length - lb.length);
      for (let i = 0; i < Math.min(la.length, lb.length); i++) if (la[i] !== lb[i]) n++;
      return n;
    }
    return r.stdout.split('\n').filter((l) => l.startsWith('<') || l.startsWith('>')).length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('vmlinux.h from the kernel BTF compiles with clang', { skip: noKernelBtf || (!clang && 'clang is not installed') }, () => {
  const header = dumpC(loadKernelBtf());
  const r = spawnSync(clang!, ['-target', 'bpf', '-c', '-x', 'c', '-', '-o', '/dev/null'], { input: header, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `clang failed:\n${r.stderr.slice(0, 4000)}`);
});

test('vmlinux.h matches bpftool btf dump format c', { skip: noKernelBtf || (!bpftool && 'bpftool is not installed') }, () => {
  const version = bpftoolLibbpfVersion();
  // libbpf before 1.2 writes no mode(byte|word) on sized enums; match whichever we compare with.
  const enumModeAttributes = !version || version[0] > 1 || (version[0] === 1 && version[1] >= 2);
  const ours = dumpC(loadKernelBtf(), { enumModeAttributes });
  const r = spawnSync(bpftool!, ['btf', 'dump', 'file', KERNEL_BTF_PATH, 'format', 'c'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const diff = differingLines(r.stdout, ours);
  console.log(`vmlinux.h: ${ours.split('\n').length} lines, ${diff} differ from bpftool (libbpf v${version?.join('.') ?? '?'})`);
  // Zero against the libbpf 1.1 bpftool this was developed with; newer libbpf releases change
  // a few details (e.g. __ksym kfunc declarations), so allow a small margin there.
  const tested = version && version[0] === 1 && version[1] <= 1;
  assert.ok(diff <= (tested ? 0 : Math.ceil(ours.split('\n').length / 100)), `${diff} lines differ`);
});

test('raw listing matches bpftool for vmlinux and module BTF', { skip: noKernelBtf || (!bpftool && 'bpftool is not installed') }, () => {
  const raw = (file: string): string => {
    const r = spawnSync(bpftool!, ['btf', 'dump', 'file', file, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(differingLines(raw(KERNEL_BTF_PATH), dumpRaw(loadKernelBtf())), 0);
  const modules = readdirSync('/sys/kernel/btf').filter((name) => name !== 'vmlinux').slice(0, 3);
  if (modules.length === 0) console.log('no module BTF under /sys/kernel/btf: split BTF checked only by unit tests');
  for (const name of modules) {
    const btf = loadModuleBtf(name);
    assert.equal(btf.firstId, loadKernelBtf().typeCount);
    assert.equal(differingLines(raw(`/sys/kernel/btf/${name}`), dumpRaw(btf)), 0, `module ${name}`);
  }
});

test('kernel types: task_struct layout and kfunc lookup', { skip: noKernelBtf }, () => {
  const btf = loadKernelBtf();
  const task = btf.findByName('struct', 'task_struct');
  assert.ok(task !== undefined);
  const comm = btf.members(task).find((m) => m.name === 'comm');
  assert.ok(comm);
  assert.equal(btf.typeToString(comm.type), 'char [16]');
  assert.equal(btf.typeToString(btf.members(task).find((m) => m.name === 'parent')!.type), 'struct task_struct *');
  assert.ok(btf.sizeOf(task)! > 1000);
  assert.equal(btf.sizeOf(task)! % btf.alignOf(task), 0);
  const strnlen = btf.findFunc('bpf_strnlen');
  if (strnlen !== undefined) {
    assert.equal(btf.kindOf(strnlen), 'func');
    assert.match(btf.typeToString(strnlen), /^int bpf_strnlen\(const char \*, /);
  }
});

test('split BTF and enum64 match bpftool --base-btf', { skip: !bpftool && 'bpftool is not installed' }, () => {
  const int: BtfTypeSpec = { kind: 'int', name: 'int', sizeBytes: 4, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 32 };
  const long: BtfTypeSpec = { kind: 'int', name: 'long int', sizeBytes: 8, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 64 };
  const baseBytes = encodeBtf([int, long, { kind: 'struct', name: 'shared', sizeBytes: 8, kindFlag: false, members: [{ name: 'x', type: 2, bitOffset: 0, bitfieldSize: 0 }] }]);
  const base = loadBtf(baseBytes);
  const splitBytes = encodeBtf([
    { kind: 'ptr', name: '', type: 3 },
    { kind: 'struct', name: 'module_thing', sizeBytes: 16, kindFlag: false, members: [
      { name: 'owner', type: 4, bitOffset: 0, bitfieldSize: 0 }, { name: 'count', type: 1, bitOffset: 64, bitfieldSize: 0 }] },
    { kind: 'struct', name: 'shared', sizeBytes: 4, kindFlag: false, members: [{ name: 'y', type: 1, bitOffset: 0, bitfieldSize: 0 }] },
    { kind: 'enum64', name: 'deltas', sizeBytes: 8, signed: true, values: [{ name: 'D_NEG', value: -5n }, { name: 'D_MIN', value: -(1n << 63n) }] },
    { kind: 'func_proto', name: '', returnType: 1, params: [], variadic: false, explicitVoid: true },
    { kind: 'typedef', name: 'getter_t', type: 10 },
    { kind: 'ptr', name: '', type: 8 },
  ], { base });
  const split = loadBtf(splitBytes, base);
  const dir = mkdtempSync(join(tmpdir(), 'btf-split-'));
  try {
    writeFileSync(join(dir, 'base.btf'), baseBytes);
    writeFileSync(join(dir, 'split.btf'), splitBytes);
    for (const format of ['c', 'raw'] as const) {
      const r = spawnSync(bpftool!, ['btf', 'dump', 'file', join(dir, 'split.btf'), '--base-btf', join(dir, 'base.btf'), 'format', format], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const ours = format === 'c' ? dumpC(split, { enumModeAttributes: false }) : dumpRaw(split);
      assert.equal(ours, r.stdout, `format ${format}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
