/**
 * @fileoverview The ISA v3 sequences (bpf/asm/isa-v3.ts) against the kernel's own ISA v4
 * instructions: each operation is loaded twice — as the v4 instruction and as its v3 rewrite —
 * into a raw_tracepoint program that reads its operands from the test-run context, and both are
 * run over edge values (INT64_MIN, -1, 0, ±1, INT64_MAX, values of every width's sign boundary,
 * positive/negative mixes). The 64-bit result and the divisor register after the operation come
 * back 32 bits at a time. Needs root and a kernel with ISA v4 (6.6) to compare against.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProgram, rawTracepointArgs, testRun, type BpfProgram } from '../../src/bpf/program.js';
import { hasFeature } from '../../src/bpf/features.js';
import { Asm, Class, AluOp, Src, Mode, Size, R0, R1, R6, R7, R8, R10, imm, type Insn } from '../../src/bpf/asm/insn.js';
import { link, encode } from '../../src/bpf/asm/encode.js';
import { toIsaV3, isaV4Only } from '../../src/bpf/asm/isa-v3.js';

const skip = process.getuid?.() !== 0 ? 'needs root (bpf(2))'
  : !hasFeature('test_run_raw_tp') ? 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints'
    : !hasFeature('isa_v4') ? 'kernel lacks ISA v4 to compare against' : false;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const EDGES: bigint[] = [
  INT64_MIN, INT64_MIN + 1n, -(1n << 32n), -(1n << 31n) - 1n, -(1n << 31n), -65536n, -32769n, -32768n, -256n, -129n, -128n,
  -7n, -3n, -2n, -1n, 0n, 1n, 2n, 3n, 7n, 127n, 128n, 255n, 32767n, 32768n, 65535n,
  (1n << 31n) - 1n, 1n << 31n, (1n << 32n) - 1n, 1n << 32n, 0x123456789abcdef0n - (1n << 64n), 0x0123456789abcdefn, INT64_MAX - 1n, INT64_MAX,
];

/**
 * A program: r6 = ctx[0], r7 = ctx[1]; `op` (on r6 with r7); then returns the low or high half
 * of r6 (ctx[2] = 0/1) or of r7 (2/3) — r7 to show the sequence left the divisor as it was.
 */
function program(op: Insn[], v3: boolean): BpfProgram {
  const a = new Asm('isa');
  a.ldx(8, R6, R1, 0).ldx(8, R7, R1, 8).ldx(8, R8, R1, 16);
  for (const i of op) a.emit({ ...i });
  a.jmp('jlt', R8, imm(2), 'result').mov(R6, R7).alu64('add', R8, imm(-2));
  a.label('result').jmp('jeq', R8, imm(0), 'out').alu64('rsh', R6, imm(32));
  a.label('out').mov(R0, R6).exit();
  const insns = v3 ? toIsaV3(a.insns) : a.insns;
  if (v3) assert.deepEqual(insns.map(isaV4Only).filter((x) => x !== undefined), []);
  return loadProgram({ name: v3 ? 'isa_v3' : 'isa_v4', type: 'raw_tracepoint', insns: encode(link(insns)) });
}

function run(prog: BpfProgram, a: bigint, b: bigint): { result: bigint; divisor: bigint } {
  const half = (sel: number) => BigInt(testRun(prog, { ctxIn: rawTracepointArgs([BigInt.asUintN(64, a), BigInt.asUintN(64, b), sel]) }).retval);
  return { result: BigInt.asIntN(64, half(0) | (half(1) << 32n)), divisor: BigInt.asIntN(64, half(2) | (half(3) << 32n)) };
}

/** Runs `op` as v4 and as v3 over every pair of `lefts` × `rights`; returns how many pairs agreed. */
function compare(name: string, op: Insn[], lefts: bigint[], rights: bigint[] = [0n]): number {
  const v4 = program(op, false);
  const v3 = program(op, true);
  let pairs = 0;
  try {
    for (const a of lefts) {
      for (const b of rights) {
        const want = run(v4, a, b);
        const got = run(v3, a, b);
        assert.deepEqual(got, want, `${name} with r6 = ${a}, r7 = ${b}`);
        pairs++;
      }
    }
  } finally {
    v4.close();
    v3.close();
  }
  return pairs;
}

const alu64 = (op: number, dst: number, src: number, off: number): Insn => ({ code: Class.ALU64 | op | Src.X, dst, src, off, imm: 0 });
const alu64k = (op: number, dst: number, k: number, off: number): Insn => ({ code: Class.ALU64 | op | Src.K, dst, src: 0, off, imm: k });

test('signed division and modulo by a register match sdiv/smod (C semantics, /0 and INT64_MIN / -1 included)', { skip }, () => {
  for (const op of [AluOp.div, AluOp.mod]) {
    const name = op === AluOp.div ? 'sdiv' : 'smod';
    assert.equal(compare(`${name} r6, r7`, [alu64(op, R6, R7, 1)], EDGES, EDGES), EDGES.length ** 2);
    // Dividend and divisor in one register.
    compare(`${name} r6, r6`, [alu64(op, R6, R6, 1)], EDGES);
  }
});

test('signed division and modulo by an immediate match sdiv/smod', { skip }, () => {
  for (const op of [AluOp.div, AluOp.mod]) {
    for (const k of [1, -1, 2, -2, 3, -3, 7, -7, 256, 0x7fffffff, -0x7fffffff]) {
      compare(`${op === AluOp.div ? 'sdiv' : 'smod'} r6, ${k}`, [alu64k(op, R6, k, 1)], EDGES);
    }
  }
});

test('sign-extending moves (64- and 32-bit, all widths) match movsx', { skip }, () => {
  for (const bits of [8, 16, 32]) {
    compare(`r6 = (s${bits}) r7`, [alu64(AluOp.mov, R6, R7, bits)], [0n], EDGES);
    compare(`r6 = (s${bits}) r6`, [alu64(AluOp.mov, R6, R6, bits)], EDGES);
  }
  for (const bits of [8, 16]) {
    compare(`w6 = (s${bits}) w7`, [{ code: Class.ALU | AluOp.mov | Src.X, dst: R6, src: R7, off: bits, imm: 0 }], [0n], EDGES);
  }
});

test('sign-extending loads (all widths) match ldsx', { skip }, () => {
  for (const [width, size] of [[1, Size.B], [2, Size.H], [4, Size.W]] as const) {
    const op: Insn[] = [
      { code: Class.STX | Size.DW | Mode.MEM, dst: R10, src: R6, off: -8, imm: 0 },
      { code: Class.LDX | size | Mode.MEMSX, dst: R6, src: R10, off: -8, imm: 0 },
    ];
    compare(`r6 = *(s${width * 8} *)(r10 - 8)`, op, EDGES);
  }
});

test('bswap16/32/64 match the v1 byte swap', { skip }, () => {
  for (const bits of [16, 32, 64]) compare(`r6 = bswap${bits} r6`, [{ code: Class.ALU64 | AluOp.end, dst: R6, src: 0, off: 0, imm: bits }], EDGES);
});
