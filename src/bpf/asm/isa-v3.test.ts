/**
 * @fileoverview The ISA v3 rewrite without a kernel: no v4 instruction is left, labels and jumps
 * around rewritten instructions still land where they did, and the sequences compute C's
 * results — run by a small interpreter of the v3 instructions they use, against BigInt
 * arithmetic (the kernel test compares with the real v4 instructions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, Class, AluOp, JmpOp, Src, Mode, Size, R0, R1, R6, R7, imm, type Insn } from './insn.js';
import { link } from './encode.js';
import { toIsaV3, isaV4Only, IsaError } from './isa-v3.js';

const U64 = (x: bigint) => BigInt.asUintN(64, x);
const S64 = (x: bigint) => BigInt.asIntN(64, x);

/** Runs linked v3 code with r6, r7 preset; returns r6, r7 at exit. Only what the sequences use. */
function interpret(insns: Insn[], r6: bigint, r7: bigint): { r6: bigint; r7: bigint } {
  const r: bigint[] = new Array<bigint>(11).fill(0n);
  r[6] = U64(r6); r[7] = U64(r7);
  const stack = new Map<number, bigint>();
  for (let pc = 0, steps = 0; steps < 1000; steps++) {
    const i = insns[pc]!;
    assert.equal(isaV4Only(i), undefined, `v4 instruction at ${pc}`);
    const cls = i.code & 7, op = i.code & 0xf0, x = (i.code & Src.X) !== 0;
    const srcVal = x ? r[i.src]! : U64(BigInt(i.imm));
    pc++;
    if (cls === Class.ALU64 || cls === Class.ALU) {
      const wide = cls === Class.ALU64;
      const bits = wide ? 64 : 32;
      const a = BigInt.asUintN(bits, r[i.dst]!), b = BigInt.asUintN(bits, srcVal);
      const sa = BigInt.asIntN(bits, a);
      let v: bigint;
      switch (op) {
        case AluOp.mov: v = b; break;
        case AluOp.add: v = a + b; break;
        case AluOp.neg: v = -a; break;
        case AluOp.div: v = b === 0n ? 0n : a / b; break;
        case AluOp.mod: v = b === 0n ? a : a % b; break;
        case AluOp.lsh: v = a << (b & BigInt(bits - 1)); break;
        case AluOp.rsh: v = a >> (b & BigInt(bits - 1)); break;
        case AluOp.arsh: v = sa >> (b & BigInt(bits - 1)); break;
        default: throw new Error(`interpreter lacks ALU op ${op}`);
      }
      r[i.dst] = BigInt.asUintN(bits, v);
    } else if (cls === Class.JMP) {
      if (op === JmpOp.exit) return { r6: S64(r[6]!), r7: S64(r[7]!) };
      const a = r[i.dst]!;
      const taken = op === JmpOp.ja ? true : op === JmpOp.jeq ? a === srcVal : op === JmpOp.jsge ? S64(a) >= S64(srcVal)
        : op === JmpOp.jlt ? a < srcVal : (() => { throw new Error(`interpreter lacks jump ${op}`); })();
      if (taken) pc += i.off;
    } else if (cls === Class.STX) {
      stack.set(i.off, r[i.src]!);
    } else if (cls === Class.LDX) {
      const bytes = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 }[i.code & 0x18]!;
      r[i.dst] = BigInt.asUintN(bytes * 8, stack.get(i.off) ?? 0n);
    } else {
      throw new Error(`interpreter lacks class ${cls}`);
    }
  }
  throw new Error('no exit');
}

function runV3(op: Insn, a: bigint, b: bigint): { r6: bigint; r7: bigint } {
  const asm = new Asm('t');
  asm.emit({ ...op }).exit();
  return interpret(link(toIsaV3(asm.insns)), a, b);
}

/** C's signed division and remainder (truncation), with BPF's x/0 = 0 and x%0 = x, on 64 bits. */
function cDiv(a: bigint, b: bigint): bigint { return b === 0n ? 0n : S64(a / b); }
function cMod(a: bigint, b: bigint): bigint { return b === 0n ? a : a % b; }

const VALUES = [-(1n << 63n), -(1n << 63n) + 1n, -(1n << 32n), -65537n, -129n, -7n, -2n, -1n, 0n, 1n, 2n, 3n, 7n, 128n, 65535n, 1n << 32n, (1n << 63n) - 1n];
const sx = (v: bigint, bits: number) => BigInt.asIntN(bits, v);

test('signed division and modulo sequences give C results and leave the divisor as it was', () => {
  for (const a of VALUES) {
    for (const b of VALUES) {
      const div = runV3({ code: Class.ALU64 | AluOp.div | Src.X, dst: R6, src: R7, off: 1, imm: 0 }, a, b);
      assert.deepEqual(div, { r6: cDiv(a, b), r7: b }, `${a} / ${b}`);
      const mod = runV3({ code: Class.ALU64 | AluOp.mod | Src.X, dst: R6, src: R7, off: 1, imm: 0 }, a, b);
      assert.deepEqual(mod, { r6: cMod(a, b), r7: b }, `${a} % ${b}`);
    }
    assert.equal(runV3({ code: Class.ALU64 | AluOp.div | Src.X, dst: R6, src: R6, off: 1, imm: 0 }, a, 0n).r6, a === 0n ? 0n : 1n);
    assert.equal(runV3({ code: Class.ALU64 | AluOp.mod | Src.X, dst: R6, src: R6, off: 1, imm: 0 }, a, 0n).r6, 0n);
    for (const k of [1, -1, 3, -3, 0x7fffffff, -0x7fffffff]) {
      assert.equal(runV3({ code: Class.ALU64 | AluOp.div | Src.K, dst: R6, src: 0, off: 1, imm: k }, a, 0n).r6, cDiv(a, BigInt(k)), `${a} / ${k}`);
      assert.equal(runV3({ code: Class.ALU64 | AluOp.mod | Src.K, dst: R6, src: 0, off: 1, imm: k }, a, 0n).r6, cMod(a, BigInt(k)), `${a} % ${k}`);
    }
  }
});

test('sign extension of moves and loads by shifts', () => {
  for (const v of VALUES) {
    for (const bits of [8, 16, 32]) {
      assert.equal(runV3({ code: Class.ALU64 | AluOp.mov | Src.X, dst: R6, src: R7, off: bits, imm: 0 }, 0n, v).r6, sx(v, bits));
      assert.equal(runV3({ code: Class.ALU64 | AluOp.mov | Src.X, dst: R6, src: R6, off: bits, imm: 0 }, v, 0n).r6, sx(v, bits));
    }
    for (const bits of [8, 16]) {
      const w = runV3({ code: Class.ALU | AluOp.mov | Src.X, dst: R6, src: R7, off: bits, imm: 0 }, 0n, v).r6;
      assert.equal(U64(w), BigInt.asUintN(32, sx(v, bits)), `w = (s${bits}) ${v}`);
    }
    for (const [bits, size] of [[8, Size.B], [16, Size.H], [32, Size.W]] as const) {
      const asm = new Asm('t');
      asm.stx(8, 10, -8, R6).emit({ code: Class.LDX | size | Mode.MEMSX, dst: R6, src: 10, off: -8, imm: 0 }).exit();
      assert.equal(interpret(link(toIsaV3(asm.insns)), v, 0n).r6, sx(v, bits));
    }
  }
});

test('labels of a rewritten instruction move to its sequence; jumps over it still land', () => {
  const a = new Asm('t');
  a.jmp('jeq', R7, imm(0), 'skip');
  a.label('div').sdiv64('div', R6, R7);
  a.label('skip').movsx(R6, R6, 32);
  a.jmp('jlt', R7, imm(0), 'div'); // never taken (unsigned < 0): the label must still resolve
  a.mov(R0, imm(0)).exit();
  const v3 = toIsaV3(a.insns);
  assert.deepEqual(v3.map(isaV4Only).filter((x) => x !== undefined), []);
  assert.deepEqual(v3.find((i) => i.labels?.includes('div'))!.code & 0xf0, JmpOp.jsge, 'the sequence starts with its sign test');
  const linked = link(v3);
  assert.equal(interpret(linked, -9n, 2n).r6, -4n);
  assert.equal(interpret(linked, 0x1_8000_0000n, 0n).r6, -(1n << 31n), 'jumped over the division to the sign extension');
});

test('code without v4 instructions is left as it was; a piece cannot end in a division', () => {
  const a = new Asm('t').mov(R1, imm(3)).alu64('div', R1, imm(2)).exit();
  assert.deepEqual(toIsaV3(a.insns), a.insns);
  assert.throws(() => toIsaV3(new Asm('t').sdiv64('mod', R6, R7).insns), IsaError);
});
