/**
 * @fileoverview Aggregation updates: the key, the bucket and the per-function update of the value words.
 */
import { R0, R1, R2, R3, R4, R5, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { STATE } from '../layout.js';
import { LowerError, type Val } from './context.js';
import { ExpressionLowering } from './expressions.js';

export abstract class AggregationLowering extends ExpressionLowering {
  protected override aggregate(target: A.Expr, value: A.Expr): void {
    const a = this.asm;
    const ref = target.kind === 'AggRef' ? target : unparen((target as A.Index).object) as A.AggRef;
    const indices = target.kind === 'Index' ? target.indices : [];
    const info = this.env.sym.aggs.get(ref.name);
    const call = unparen(value);
    if (!info || call.kind !== 'Call') throw new LowerError('invalid aggregation', target);
    const fn = info.fn;
    // The value argument first (into a callee-saved register), then the key, then the update.
    let v: Extract<Val, { t: 'int' }> | undefined;
    if (fn !== 'count') v = this.evalInt(call.args[0]!);
    // The optional increment of the histograms (quantize(v, n), lquantize(v, b, l, s, n),
    // llquantize(v, f, lo, hi, steps, n)): kept on the stack, 1 by default.
    const incArg = fn === 'quantize' ? call.args[1] : fn === 'lquantize' ? call.args[4] : fn === 'llquantize' ? call.args[5] : undefined;
    if (incArg) {
      const [vv, inc] = this.keeping(v!, () => this.evalInt(incArg), call);
      v = vv as Extract<Val, { t: 'int' }>;
      a.stx(8, R10, -32, inc.reg);
      this.release(inc);
    }
    const bump = () => {
      if (incArg) a.ldx(8, R2, R0, 0).ldx(8, R3, R10, -32).alu64('add', R2, R3).stx(8, R0, 0, R2);
      else a.ldx(8, R2, R0, 0).alu64('add', R2, imm(1)).stx(8, R0, 0, R2);
    };
    const map = this.env.aggMap(info);
    if (info.keys.length === 0) {
      a.mov(R1, imm(0)).stx(4, R10, -16, R1).mov(R2, R10).alu64('add', R2, imm(-16));
      a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
      const ok = a.newLabel('aggok');
      a.jmp('jne', R0, imm(0), ok).ja(this.end).label(ok).st(8, R0, this.env.aggValueSize(info), 1);
    } else {
      const area = this.keyArea(target);
      this.buildKey(indices, info.keys, area);
      const rekey = () => a.mov(R2, R9).alu64('add', R2, imm(area));
      rekey();
      this.upsert(map, rekey, STATE.aggDrops);
    }
    // R0 = value pointer (per-CPU: no atomics needed).
    switch (fn) {
      case 'count': a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1); break;
      case 'sum': a.ldx(8, R1, R0, 0).alu64('add', R1, v!.reg).stx(8, R0, 0, R1); break;
      case 'avg':
        a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
        a.ldx(8, R1, R0, 8).alu64('add', R1, v!.reg).stx(8, R0, 8, R1);
        break;
      case 'min': case 'max': {
        // [has value, value]
        const set = a.newLabel('mmset'), skip = a.newLabel('mmskip');
        a.ldx(8, R1, R0, 0).jmp('jeq', R1, imm(0), set);
        a.ldx(8, R2, R0, 8).jmp(fn === 'min' ? 'jsle' : 'jsge', R2, v!.reg, skip);
        a.label(set).stx(8, R0, 8, v!.reg).mov(R1, imm(1)).stx(8, R0, 0, R1);
        a.label(skip).mov(R0, R0);
        break;
      }
      case 'stddev': {
        // [n, Σx, Σx² low, Σx² high]: x² as a 128-bit product of |x| from 32-bit halves.
        a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
        a.ldx(8, R1, R0, 8).alu64('add', R1, v!.reg).stx(8, R0, 8, R1);
        this.addSquare128(v!.reg);
        break;
      }
      case 'quantize': {
        this.quantizeBucket(v!.reg);
        // R1 = bucket index (0..126): value + 8*index, bounded for the verifier.
        a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
        bump();
        break;
      }
      case 'lquantize': {
        const [base, limit, step] = [info.params[0] ?? 0n, info.params[1] ?? 0n, info.params[2] ?? 1n];
        const levels = Number((limit - base) / (step === 0n ? 1n : step));
        const under = a.newLabel('lqu'), over = a.newLabel('lqo'), have = a.newLabel('lqh');
        a.movImm64(R2, base).jmp('jslt', v!.reg, R2, under);
        a.movImm64(R2, limit).jmp('jsge', v!.reg, R2, over);
        a.mov(R1, v!.reg).movImm64(R2, base).alu64('sub', R1, R2).movImm64(R2, step).alu64('div', R1, R2).alu64('add', R1, imm(1));
        a.jmp('jle', R1, imm(levels), have).mov(R1, imm(levels)).ja(have);
        a.label(under).mov(R1, imm(0)).ja(have);
        a.label(over).mov(R1, imm(levels + 1));
        a.label(have).alu64('lsh', R1, imm(3)).jmp('jgt', R1, imm((levels + 1) * 8), this.end);
        a.alu64('add', R0, R1);
        bump();
        break;
      }
      case 'llquantize': {
        this.llquantizeBucket(v!.reg, info.params);
        a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
        bump();
        break;
      }
      default:
        throw new LowerError(`${fn}( ) is not supported by the code generator yet`, call);
    }
    this.release(v);
  }

  /**
   * R1 = llquantize bin of the signed value in `v` (dt_llquantize's layout: bin0 is |v| <
   * factor^lmag, positive bins above it, negative below), unrolled over the magnitudes with
   * compile-time thresholds and divisors. R0 preserved.
   */
  protected llquantizeBucket(v: Reg, params: bigint[]): void {
    const a = this.asm;
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
  protected quantizeBucket(v: Reg): void {
    const a = this.asm;
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
  protected addSquare128(v: Reg): void {
    const a = this.asm;
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
}
