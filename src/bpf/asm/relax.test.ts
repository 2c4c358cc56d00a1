import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R1, imm, slots, Class, JmpOp, type Insn } from './insn.js';
import { link } from './encode.js';

/** Runs a linked program of mov/add immediates, jeq/jne immediates, ja and exit; returns r0 and the steps taken. */
function execute(prog: Insn[], r1: number): { r0: number; steps: number } {
  const bySlot = new Map<number, Insn>();
  let s = 0;
  for (const i of prog) { bySlot.set(s, i); s += slots(i); }
  const regs = [0, r1];
  let pc = 0;
  for (let steps = 0; steps < 1_000_000; steps++) {
    const i = bySlot.get(pc);
    assert.ok(i, `no instruction at slot ${pc}`);
    const cls = i.code & 0x07;
    if (cls === Class.ALU64) {
      if ((i.code & 0xf0) === 0xb0) regs[i.dst] = i.imm; else regs[i.dst] = (regs[i.dst] ?? 0) + i.imm;
      pc++;
      continue;
    }
    const op = i.code & 0xf0;
    if (op === JmpOp.exit) return { r0: regs[R0]!, steps };
    assert.ok(i.off >= -32768 && i.off <= 32767);
    const taken = op === JmpOp.ja || (op === JmpOp.jeq ? regs[i.dst] === i.imm : regs[i.dst] !== i.imm);
    pc += 1 + (taken ? i.off : 0);
  }
  throw new Error('did not stop');
}

test('jumps farther than a 16-bit offset go through islands of hops; fall-through skips the islands', () => {
  // Forward: r1 == 1 jumps over 70,000 additions to the exit; backward: a far loop back once.
  const a = new Asm('far').mov(R0, imm(0)).jmp('jeq', R1, imm(1), 'end').label('top');
  for (let n = 0; n < 70_000; n++) a.alu64('add', R0, imm(1));
  a.jmp('jne', R1, imm(2), 'end').mov(R1, imm(3)).ja('top').label('end').exit();
  const linked = link(a.insns);
  assert.equal(execute(linked, 1).r0, 0);
  assert.equal(execute(linked, 0).r0, 70_000);
  assert.equal(execute(linked, 2).r0, 140_000);
  // Islands only where needed, and the hops are few (shared per target).
  assert.ok(linked.length - a.insns.length < 20, `${linked.length - a.insns.length} instructions added`);
  // A program that needs no islands is left exactly as it was.
  const near = new Asm('near').mov(R0, imm(0)).jmp('jeq', R1, imm(1), 'end').mov(R0, imm(1)).label('end').exit();
  assert.equal(link(near.insns).length, near.insns.length);
});
