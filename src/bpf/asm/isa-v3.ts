/**
 * @fileoverview BPF ISA v4 instructions (Linux 6.6) rewritten as ISA v3 sequences, for kernels
 * whose verifier refuses them ("BPF_MOV uses reserved fields"). A pass over one program piece
 * (main or a subprogram) before `link()` resolves jumps: sequences that branch use labels of
 * their own, so jumps around them stay right whatever their length. Code generation keeps
 * writing v4 and stays unaware of the kernel it targets.
 *
 * What is rewritten, and how (dst = d, src = s):
 * - sign-extending moves `d = (s8/s16/s32) s` (64- and 32-bit): a move and two shifts;
 * - sign-extending loads `d = *(s8/s16/s32 *)(s + off)`: a plain load and two shifts;
 * - signed division and modulo (64-bit, register or immediate divisor): unsigned division of
 *   the magnitudes, negated where C says so. Results are the kernel's for v4 `sdiv`/`smod`:
 *   truncation toward zero, the remainder has the dividend's sign, division by zero gives 0
 *   and modulo by zero leaves the dividend, INT64_MIN / -1 is INT64_MIN and INT64_MIN % -1 is 0
 *   (what the verifier's rewrite of v4 sdiv/smod by -1 gives, kernel/bpf/verifier.c). No scratch
 *   register: a negative divisor register is negated for the division and negated back;
 * - `bswap16/32/64 d`: the v1 `be16/32/64 d`, which is a byte swap on little-endian machines;
 * - `gotol`: only where it is never needed (no code generator emits it); rejected otherwise.
 */
import { type Insn, Class, AluOp, Src, Mode, JmpOp, Size } from './insn.js';

export class IsaError extends Error {
  constructor(message: string) { super(message); this.name = 'IsaError'; }
}

const cls = (i: Insn): number => i.code & 0x07;
const op = (i: Insn): number => i.code & 0xf0;
const isAlu = (i: Insn): boolean => cls(i) === Class.ALU || cls(i) === Class.ALU64;

/** Why `i` needs ISA v4 (a short name of the instruction), or undefined when v3 has it. */
export function isaV4Only(i: Insn): string | undefined {
  if (isAlu(i)) {
    const wide = cls(i) === Class.ALU64;
    if (op(i) === AluOp.mov && (i.code & Src.X) && i.off !== 0) return `movsx${wide ? '' : '32'} (s${i.off})`;
    if ((op(i) === AluOp.div || op(i) === AluOp.mod) && i.off !== 0) return `${op(i) === AluOp.div ? 'sdiv' : 'smod'}${wide ? '64' : '32'}`;
    if (op(i) === AluOp.end && wide) return `bswap${i.imm}`;
    return undefined;
  }
  if (cls(i) === Class.LDX && (i.code & 0xe0) === Mode.MEMSX) return 'ldsx';
  if (cls(i) === Class.JMP32 && op(i) === JmpOp.ja) return 'gotol';
  return undefined;
}

/** Bits of a sign-extending load's width field. */
const LOAD_BITS: Record<number, number> = { [Size.B]: 8, [Size.H]: 16, [Size.W]: 32 };

/**
 * Rewrites every ISA v4 instruction of one program piece into v3 (see the file comment). Labels
 * and source notes of a rewritten instruction move to the first instruction of its sequence.
 */
export function toIsaV3(insns: readonly Insn[]): Insn[] {
  const out: Insn[] = [];
  let labelCount = 0;
  // A label no code generator makes (theirs are `hint.N`).
  const newLabel = () => `#v3.${labelCount++}`;
  // Labels waiting for the next instruction written (the end of a branching sequence).
  let pending: string[] = [];
  for (let n = 0; n < insns.length; n++) {
    const orig = insns[n]!;
    const why = isaV4Only(orig);
    const seq: Insn[] = [];
    // Instructions of the sequence carry the original's source note; jumps name labels.
    const put = (code: number, dst: number, src: number, off: number, imm: number, extra: Partial<Insn> = {}) => {
      const i: Insn = { code, dst, src, off, imm, ...extra };
      if (orig.source) i.source = orig.source;
      seq.push(i);
    };
    const label = (name: string) => { seqLabels.push({ at: seq.length, name }); };
    const seqLabels: { at: number; name: string }[] = [];
    const alu64 = (o: number, dst: number, src: number | { imm: number }) =>
      typeof src === 'number' ? put(Class.ALU64 | o | Src.X, dst, src, 0, 0) : put(Class.ALU64 | o | Src.K, dst, 0, 0, src.imm);
    const alu32 = (o: number, dst: number, k: number) => put(Class.ALU | o | Src.K, dst, 0, 0, k);
    const neg = (r: number) => put(Class.ALU64 | AluOp.neg, r, 0, 0, 0);
    const jsge0 = (r: number, target: string) => put(Class.JMP | JmpOp.jsge | Src.K, r, 0, 0, 0, { target });
    const jeq0 = (r: number, target: string) => put(Class.JMP | JmpOp.jeq | Src.K, r, 0, 0, 0, { target });
    const ja = (target: string) => put(Class.JMP | JmpOp.ja, 0, 0, 0, 0, { target });
    const signExtend64 = (r: number, bits: number) => { alu64(AluOp.lsh, r, { imm: 64 - bits }); alu64(AluOp.arsh, r, { imm: 64 - bits }); };

    if (why === undefined) {
      seq.push({ ...orig });
    } else if (isAlu(orig) && op(orig) === AluOp.mov) {
      const bits = orig.off;
      if (bits !== 8 && bits !== 16 && bits !== 32) throw new IsaError(`movsx with offset ${bits}`);
      if (cls(orig) === Class.ALU64) {
        if (orig.dst !== orig.src) alu64(AluOp.mov, orig.dst, orig.src);
        signExtend64(orig.dst, bits);
      } else {
        // w = (s8/s16) w: 32-bit result, upper half zero as every 32-bit ALU result.
        put(Class.ALU | AluOp.mov | Src.X, orig.dst, orig.src, 0, 0);
        alu32(AluOp.lsh, orig.dst, 32 - bits);
        alu32(AluOp.arsh, orig.dst, 32 - bits);
      }
    } else if (isAlu(orig) && op(orig) === AluOp.end) {
      // ALU64|END|src 0 = bswap; ALU|END|TO_BE (src bit set) swaps on little-endian hosts.
      put(Class.ALU | AluOp.end | Src.X, orig.dst, 0, 0, orig.imm);
    } else if (cls(orig) === Class.LDX) {
      const bits = LOAD_BITS[orig.code & 0x18];
      if (bits === undefined) throw new IsaError('sign-extending load of 8 bytes');
      put(Class.LDX | (orig.code & 0x18) | Mode.MEM, orig.dst, orig.src, orig.off, 0);
      signExtend64(orig.dst, bits);
    } else if (isAlu(orig) && (op(orig) === AluOp.div || op(orig) === AluOp.mod)) {
      if (cls(orig) !== Class.ALU64) throw new IsaError(`${why} has no ISA v3 form here (no code generator emits it)`);
      signedDivMod(orig, { alu64, neg, jsge0, jeq0, ja, label, newLabel });
    } else {
      throw new IsaError(`${why} has no ISA v3 form here (no code generator emits it)`);
    }

    // Labels: the original's go to the sequence's first instruction (with any left pending by
    // the sequence before); the sequence's own bind to their instruction or, at its end, to
    // whatever comes next.
    const first = seq[0]!;
    const carried = [...pending, ...(orig.labels ?? [])];
    delete first.labels;
    if (carried.length) first.labels = carried;
    pending = [];
    if (orig.comment !== undefined) seq[seq.length - 1]!.comment = orig.comment;
    for (const { at, name } of seqLabels) {
      if (at === seq.length) { pending.push(name); continue; }
      const target = seq[at]!;
      target.labels = [...(target.labels ?? []), name];
    }
    out.push(...seq);
  }
  if (pending.length) throw new IsaError('a program piece ends with a signed division (nothing to continue at)');
  return out;
}

interface Emit {
  alu64(o: number, dst: number, src: number | { imm: number }): void;
  neg(r: number): void;
  /** if r >= 0 (signed) goto target */
  jsge0(r: number, target: string): void;
  /** if r == 0 goto target */
  jeq0(r: number, target: string): void;
  ja(target: string): void;
  /** Binds `name` to the next instruction of the sequence (or the one after it). */
  label(name: string): void;
  newLabel(): string;
}

/**
 * d = d s/ s or d s% s as unsigned operations on magnitudes. The quotient is negative when the
 * signs differ, the remainder when the dividend is negative; each sign case is its own path so
 * no register beyond d and s is needed.
 */
function signedDivMod(orig: Insn, e: Emit): void {
  const d = orig.dst;
  const o = op(orig);
  const isDiv = o === AluOp.div;
  const unsigned = (divisor: number | { imm: number }) => e.alu64(o, d, divisor);
  const done = e.newLabel();
  if ((orig.code & Src.X) === 0) {
    const k = orig.imm | 0;
    if (k === -0x80000000) throw new IsaError('signed division by the immediate INT32_MIN has no ISA v3 form here');
    const magnitude = { imm: Math.abs(k) };
    // The quotient's sign flips with a negative divisor; the remainder's never does.
    const flip = isDiv && k < 0;
    const dividendPositive = e.newLabel();
    e.jsge0(d, dividendPositive);
    e.neg(d); unsigned(magnitude); if (!flip) e.neg(d);
    e.ja(done);
    e.label(dividendPositive);
    unsigned(magnitude); if (flip) e.neg(d);
    e.label(done);
    return;
  }
  const s = orig.src;
  if (s === d) {
    // x / x is 1, or 0 for x = 0 (division by zero gives 0); x % x is 0 (for x = 0 the dividend, 0).
    if (isDiv) { e.jeq0(d, done); e.alu64(AluOp.mov, d, { imm: 1 }); e.label(done); } else e.alu64(AluOp.mov, d, { imm: 0 });
    return;
  }
  const dividendPositive = e.newLabel();
  const divisorPositive = e.newLabel();
  const bothPositive = e.newLabel();
  e.jsge0(d, dividendPositive);
  e.neg(d);
  e.jsge0(s, divisorPositive);
  e.neg(s); unsigned(s); e.neg(s);
  if (!isDiv) e.neg(d); // d < 0, s < 0: quotient positive, remainder negative
  e.ja(done);
  e.label(divisorPositive);
  unsigned(s); e.neg(d); // d < 0, s >= 0: both negative
  e.ja(done);
  e.label(dividendPositive);
  e.jsge0(s, bothPositive);
  e.neg(s); unsigned(s); e.neg(s);
  if (isDiv) e.neg(d); // d >= 0, s < 0: quotient negative, remainder positive
  e.ja(done);
  e.label(bothPositive);
  unsigned(s);
  e.label(done);
}
