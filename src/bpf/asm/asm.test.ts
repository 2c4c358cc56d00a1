import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R1, R2, R10, imm } from './insn.js';
import { link, encode, decode } from './encode.js';
import { disassemble, formatInsn } from './disasm.js';

test('encodes r0 = 0; exit exactly as the kernel expects', () => {
  const a = new Asm('t').mov(R0, imm(0)).exit();
  const bytes = encode(link(a.insns));
  assert.deepEqual([...bytes], [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
});

test('resolves forward and backward labels in slots (ld_imm64 counts two)', () => {
  const a = new Asm('t');
  a.label('top').ldImm64(R1, 0x1122334455667788n).jmp('jeq', R1, imm(0), 'out').ja('top').label('out').exit();
  const linked = link(a.insns);
  assert.equal(linked[1]!.off, 1); // jeq at slot 2 → out at slot 4
  assert.equal(linked[2]!.off, -4); // ja at slot 3 → top at slot 0
  const round = decode(encode(linked));
  assert.equal(round[0]!.imm64, 0x1122334455667788n);
});

test('appends called subprograms once and resolves call offsets', () => {
  const main = new Asm('main').callSub('f').callSub('f').exit();
  const f = new Asm('f').mov(R0, imm(7)).exit();
  const linked = link(main.insns, { get: (n) => (n === 'f' ? f.insns : undefined) });
  assert.equal(linked.length, 5);
  assert.equal(linked[0]!.imm, 2); // from slot 0 to slot 3
  assert.equal(linked[1]!.imm, 1);
});

test('fills map fds and value offsets', () => {
  const a = new Asm('t').ldMapFd(R1, 'agg').ldMapValue(R2, 'gvars', 16).exit();
  const bytes = encode(link(a.insns), { mapFd: (n) => (n === 'agg' ? 5 : 9) });
  const dv = new DataView(bytes.buffer);
  assert.equal(bytes[1], 0x11); // src=1 (MAP_FD), dst=1
  assert.equal(dv.getInt32(4, true), 5);
  assert.equal(bytes[17], 0x22); // src=2 (MAP_VALUE), dst=2
  assert.equal(dv.getInt32(20, true), 9);
  assert.equal(dv.getInt32(28, true), 16);
});

test('disassembles in kernel syntax with source lines', () => {
  const a = new Asm('t');
  a.setSource({ where: 'x.d:1', text: 'BEGIN { x = 1; }' });
  a.stx(8, R10, -8, R1).ldx(4, R0, R1, 4).jmp('jgt', R1, imm(5), 'l').label('l').call(1).exit();
  const text = disassemble(link(a.insns), { withSource: true, helperName: (id) => (id === 1 ? 'bpf_map_lookup_elem' : undefined) });
  assert.match(text, /; BEGIN \{ x = 1; \}/);
  assert.match(text, /\*\(u64 \*\)\(r10 -8\) = r1/);
  assert.match(text, /r0 = \*\(u32 \*\)\(r1 \+4\)/);
  assert.match(text, /if r1 > 0x5 goto l\n/);
  assert.match(text, /call bpf_map_lookup_elem#1/);
  assert.equal(formatInsn({ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }), 'exit');
});

test('rewind drops what was emitted after a mark, pending labels and source note included', () => {
  const a = new Asm('t');
  a.setSource({ where: 'a:1', text: 'x', start: 0, end: 1 }).mov(R0, imm(0)).label('next');
  const m = a.mark();
  a.setSource({ where: 'a:2', text: 'y', start: 0, end: 1 }).mov(R1, imm(1)).label('dropped').mov(R2, imm(2));
  a.rewind(m);
  a.exit();
  assert.equal(a.insns.length, 2);
  assert.deepEqual(a.insns[1]!.labels, ['next']);
  assert.equal(a.insns[1]!.source?.where, 'a:1');
});
