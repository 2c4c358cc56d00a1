/**
 * @fileoverview The aggregating functions, one entry each: how many u64 words its value takes
 * in the aggregation map, the BPF that updates those words when the aggregation fires, and how
 * the per-CPU words merge into the value the consumer prints. Code generation, the compiler's
 * map sizing and the runtime's snapshot all read this one table.
 */
import { type Asm, R0, R1, R2, R3, R4, R5, imm, type Reg } from '../bpf/asm/insn.js';

export type AggFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'stddev' | 'quantize' | 'lquantize' | 'llquantize';

/**
 * The merged (all CPUs) value of one entry.
 * Histogram buckets use DTrace's dense layouts: quantize 127 buckets with 0 in bucket 63;
 * lquantize levels+2 buckets (underflow first); llquantize 2·M·B+3 bins (see histogram.ts).
 */
export type AggValue =
  | { kind: 'scalar'; value: bigint }                                  // count, sum, min, max
  | { kind: 'avg'; count: bigint; sum: bigint }
  | { kind: 'stddev'; count: bigint; sum: bigint; sumSq: bigint }      // sumSq: 128-bit unsigned
  | { kind: 'hist'; buckets: bigint[] };

/** What the update of one aggregation value needs: R0 points at the value words (per-CPU). */
export interface AggUpdate {
  asm: Asm;
  /** The aggregated value (absent for count). */
  value: Reg | undefined;
  /** Constant parameters: lquantize [base, limit, step], llquantize [factor, lmag, hmag, steps]. */
  params: readonly bigint[];
  /** Adds the increment (1, or the optional last argument of the histograms) to the word at R0. */
  bump(): void;
  /** Where an out-of-range bucket index goes (the verifier needs the bound). */
  outOfRange: string;
}

export interface AggregatingFunction {
  /** u64 words of the value, for these constant parameters. */
  valueWords(params: readonly bigint[]): number;
  /** Emits the update of the value words at R0. Uses R1–R5. */
  update(u: AggUpdate): void;
  /** Merges the value words of each CPU (one view each, `valueWords` long) into one value. */
  merge(cpus: readonly DataView[]): AggValue;
  /**
   * Functions whose value is one integer: where it lies in a CPU's words and how CPUs combine,
   * so that a consumer can merge packed map bytes without `merge` (consume/aggtable.ts).
   */
  scalar?: ScalarLayout;
}

/** A one-integer value: the signed word `valueWord`, present when `presentWord` (if any) is non-zero. */
export interface ScalarLayout {
  valueWord: number;
  presentWord?: number;
  combine: 'sum' | 'min' | 'max';
}

const word = (v: DataView, i: number) => v.getBigInt64(8 * i, true);
const uword = (v: DataView, i: number) => v.getBigUint64(8 * i, true);

/** Per-word sums over the CPUs (signed words). */
function sumWords(cpus: readonly DataView[]): bigint[] {
  const words = cpus.length > 0 ? cpus[0]!.byteLength / 8 : 0;
  const sum = new Array<bigint>(words).fill(0n);
  for (const v of cpus) for (let w = 0; w < words; w++) sum[w]! += word(v, w);
  return sum;
}

function scalarSum(cpus: readonly DataView[]): AggValue {
  let s = 0n;
  for (const v of cpus) s += word(v, 0);
  return { kind: 'scalar', value: BigInt.asIntN(64, s) };
}

/** min/max: [has value, value]. */
function extremum(isMin: boolean): AggregatingFunction {
  return {
    valueWords: () => 2,
    scalar: { presentWord: 0, valueWord: 1, combine: isMin ? 'min' : 'max' },
    update({ asm: a, value: v }) {
      const set = a.newLabel('mmset'), skip = a.newLabel('mmskip');
      a.ldx(8, R1, R0, 0).jmp('jeq', R1, imm(0), set);
      a.ldx(8, R2, R0, 8).jmp(isMin ? 'jsle' : 'jsge', R2, v!, skip);
      a.label(set).stx(8, R0, 8, v!).mov(R1, imm(1)).stx(8, R0, 0, R1);
      a.label(skip).mov(R0, R0);
    },
    merge(cpus) {
      let m: bigint | undefined;
      for (const v of cpus) {
        if (uword(v, 0) === 0n) continue;
        const x = word(v, 1);
        if (m === undefined || (isMin ? x < m : x > m)) m = x;
      }
      return { kind: 'scalar', value: m ?? 0n };
    },
  };
}

const histogramMerge = (cpus: readonly DataView[]): AggValue => ({ kind: 'hist', buckets: sumWords(cpus) });

export const AGGREGATING_FUNCTIONS: Readonly<Record<AggFn, AggregatingFunction>> = {
  count: {
    valueWords: () => 1,
    update({ asm: a }) { a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1); },
    merge: scalarSum,
    scalar: { valueWord: 0, combine: 'sum' },
  },
  sum: {
    valueWords: () => 1,
    update({ asm: a, value: v }) { a.ldx(8, R1, R0, 0).alu64('add', R1, v!).stx(8, R0, 0, R1); },
    merge: scalarSum,
    scalar: { valueWord: 0, combine: 'sum' },
  },
  avg: {
    // [n, Σx]
    valueWords: () => 2,
    update({ asm: a, value: v }) {
      a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
      a.ldx(8, R1, R0, 8).alu64('add', R1, v!).stx(8, R0, 8, R1);
    },
    merge(cpus) { const s = sumWords(cpus); return { kind: 'avg', count: s[0]!, sum: BigInt.asIntN(64, s[1]!) }; },
  },
  min: extremum(true),
  max: extremum(false),
  stddev: {
    // [n, Σx, Σx² low, Σx² high]: x² as a 128-bit product of |x| from 32-bit halves.
    valueWords: () => 4,
    update({ asm: a, value: v }) {
      a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
      a.ldx(8, R1, R0, 8).alu64('add', R1, v!).stx(8, R0, 8, R1);
      addSquare128(a, v!);
    },
    merge(cpus) {
      let n = 0n, sum = 0n, sumSq = 0n;
      for (const v of cpus) { n += uword(v, 0); sum += word(v, 1); sumSq += (uword(v, 3) << 64n) | uword(v, 2); }
      return { kind: 'stddev', count: n, sum: BigInt.asIntN(64, sum), sumSq };
    },
  },
  quantize: {
    valueWords: () => 127,
    update({ asm: a, value: v, bump }) {
      quantizeBucket(a, v!);
      // R1 = bucket index (0..126): value + 8*index, bounded for the verifier.
      a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
      bump();
    },
    merge: histogramMerge,
  },
  lquantize: {
    valueWords: (p) => lquantizeLevels(p) + 2,
    update({ asm: a, value: v, params, bump, outOfRange }) {
      const [base, limit, step] = [params[0] ?? 0n, params[1] ?? 0n, params[2] ?? 1n];
      const levels = Number((limit - base) / (step === 0n ? 1n : step));
      const under = a.newLabel('lqu'), over = a.newLabel('lqo'), have = a.newLabel('lqh');
      a.movImm64(R2, base).jmp('jslt', v!, R2, under);
      a.movImm64(R2, limit).jmp('jsge', v!, R2, over);
      a.mov(R1, v!).movImm64(R2, base).alu64('sub', R1, R2).movImm64(R2, step).alu64('div', R1, R2).alu64('add', R1, imm(1));
      a.jmp('jle', R1, imm(levels), have).mov(R1, imm(levels)).ja(have);
      a.label(under).mov(R1, imm(0)).ja(have);
      a.label(over).mov(R1, imm(levels + 1));
      a.label(have).alu64('lsh', R1, imm(3)).jmp('jgt', R1, imm((levels + 1) * 8), outOfRange);
      a.alu64('add', R0, R1);
      bump();
    },
    merge: histogramMerge,
  },
  llquantize: {
    valueWords: (p) => {
      const factor = Number(p[0] ?? 10n), lmag = Number(p[1] ?? 0n), hmag = Number(p[2] ?? 0n), steps = Number(p[3] ?? 1n);
      return (hmag - lmag + 1) * (steps - Math.floor(steps / factor)) * 2 + 3;
    },
    update({ asm: a, value: v, params, bump }) {
      llquantizeBucket(a, v!, params);
      a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
      bump();
    },
    merge: histogramMerge,
  },
};

/** lquantize's number of levels between base and limit (the value has two more buckets). */
function lquantizeLevels(p: readonly bigint[]): number {
  return Number(((p[1] ?? 0n) - (p[0] ?? 0n)) / ((p[2] ?? 1n) || 1n));
}

export function isAggFn(fn: string): fn is AggFn {
  return Object.hasOwn(AGGREGATING_FUNCTIONS, fn);
}

/**
 * R1 = llquantize bin of the signed value in `v` (dt_llquantize's layout: bin0 is |v| <
 * factor^lmag, positive bins above it, negative below), unrolled over the magnitudes with
 * compile-time thresholds and divisors. R0 preserved.
 */
function llquantizeBucket(a: Asm, v: Reg, params: readonly bigint[]): void {
  const factor = params[0] ?? 10n, lmag = Number(params[1] ?? 0n), hmag = Number(params[2] ?? 0n), steps = params[3] ?? 1n;
  const stepsFactor = steps / factor;
  const perMag = Number(steps - stepsFactor);
  const mags = hmag - lmag + 1;
  const bin0 = 1 + mags * perMag, nbins = mags * perMag * 2 + 3;
  const cap = (x: bigint) => (x > 0x7fffffffffffffffn ? 0x7fffffffffffffffn : x);
  // R2 = |v|, R3 = 1 or -1, R1 = index from bin0.
  const pos = a.newLabel('llpos'), signed = a.newLabel('llsign'), done = a.newLabel('lldone');
  a.mov(R2, v).mov(R3, imm(1)).jmp('jsge', R2, imm(0), pos).neg(R2).mov(R3, imm(-1)).label(pos);
  a.movImm64(R4, cap(factor ** BigInt(lmag))).mov(R1, imm(0)).jmp('jlt', R2, R4, signed);
  for (let mag = lmag; mag <= hmag; mag++) {
    const next = a.newLabel('llmag');
    a.movImm64(R4, cap(factor ** BigInt(mag + 1))).jmp('jge', R2, R4, next);
    a.mov(R1, R2);
    if (mag === 0) a.movImm64(R4, steps).alu64('mul', R1, R4).movImm64(R4, factor).alu64('div', R1, R4);
    else a.movImm64(R4, (factor ** BigInt(mag + 1)) / steps || 1n).alu64('div', R1, R4);
    a.movImm64(R4, -stepsFactor + BigInt((mag - lmag) * perMag + 1)).alu64('add', R1, R4).ja(signed);
    a.label(next).mov(R1, R1);
  }
  a.mov(R1, imm(mags * perMag + 1));
  a.label(signed).alu64('mul', R1, R3).alu64('add', R1, imm(bin0));
  a.jmp('jsge', R1, imm(0), done).mov(R1, imm(0));
  a.label(done).jmp('jle', R1, imm(nbins - 1), `${done}.ok`).mov(R1, imm(nbins - 1)).label(`${done}.ok`).mov(R1, R1);
}

/** R1 = quantize bucket of the signed value in `v` (63 ± (⌊log2|v|⌋ + 1)); R0 preserved. */
function quantizeBucket(a: Asm, v: Reg): void {
  // R2 = |v|, R3 = sign, R1 = log2 accumulator.
  a.mov(R2, v).mov(R3, imm(1));
  const pos = a.newLabel('qpos'), zero = a.newLabel('qzero'), done = a.newLabel('qdone');
  a.jmp('jeq', R2, imm(0), zero).jmp('jsgt', R2, imm(0), pos).neg(R2).mov(R3, imm(-1));
  a.label(pos).mov(R1, imm(0));
  for (const shift of [32, 16, 8, 4, 2, 1]) {
    const skip = a.newLabel('qs');
    a.mov(R4, R2).alu64('rsh', R4, imm(shift)).jmp('jeq', R4, imm(0), skip).mov(R2, R4).alu64('add', R1, imm(shift)).label(skip).mov(R4, R4);
  }
  // bucket = 63 + sign * (log2 + 1), clamped to 0..126.
  a.alu64('add', R1, imm(1)).alu64('mul', R1, R3).alu64('add', R1, imm(63));
  a.jmp('jsge', R1, imm(0), done).mov(R1, imm(0)).ja(done);
  a.label(zero).mov(R1, imm(63));
  a.label(done).jmp('jle', R1, imm(126), `${done}.ok`).mov(R1, imm(126)).label(`${done}.ok`).mov(R1, R1);
}

/** Adds x² (128-bit) to the value at R0+16 (low) / R0+24 (high). Uses R1–R5. */
function addSquare128(a: Asm, v: Reg): void {
  // |x| = hi:lo 32-bit halves; x² = hi²·2^64 + 2·hi·lo·2^32 + lo².
  a.mov(R1, v);
  const pos = a.newLabel('sqp');
  a.jmp('jsge', R1, imm(0), pos).neg(R1).label(pos).mov(R2, R1).alu64('rsh', R2, imm(32)).mov32(R1, R1);
  // R1 = lo, R2 = hi. R3 = lo*lo (fits in 64 bits), R4 = hi*lo (fits), R5 = hi*hi.
  a.mov(R3, R1).alu64('mul', R3, R1).mov(R4, R2).alu64('mul', R4, R1).mov(R5, R2).alu64('mul', R5, R2);
  // cross = 2·hi·lo: add (cross << 32) to low with carry, and (cross >> 32) to high.
  // Do it twice with hi·lo to avoid overflow of 2·hi·lo.
  for (let k = 0; k < 2; k++) {
    a.mov(R1, R4).alu64('lsh', R1, imm(32)).mov(R2, R3).alu64('add', R3, R1);
    const nc = a.newLabel('nc');
    a.jmp('jge', R3, R2, nc).alu64('add', R5, imm(1)).label(nc).mov(R1, R4).alu64('rsh', R1, imm(32)).alu64('add', R5, R1);
  }
  // Now R3 = low part of x², R5 = high part. Add into the stored 128-bit sum.
  a.ldx(8, R1, R0, 16).mov(R2, R1).alu64('add', R1, R3).stx(8, R0, 16, R1);
  const nc2 = a.newLabel('nc2');
  a.ldx(8, R4, R0, 24).jmp('jge', R1, R2, nc2).alu64('add', R4, imm(1)).label(nc2).alu64('add', R4, R5).stx(8, R0, 24, R4);
}
