/**
 * @fileoverview Aggregation updates: the key, the bucket and the per-function update of the value words.
 */
import { R0, R1, R2, R3, R4, R5, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { STATE } from '../layout.js';
import { AGGREGATING_FUNCTIONS, isAggFn } from '../../builtins/aggregations.js';
import { unchecked, type Val } from './context.js';
import { SHARED_AGG_KEY_PREFIX_BYTES } from '../../program/spec.js';
import { ExpressionLowering } from './expressions.js';

export abstract class AggregationLowering extends ExpressionLowering {
  protected override aggregate(target: A.Expr, value: A.Expr): void {
    const a = this.asm;
    const ref = target.kind === 'AggRef' ? target : unparen((target as A.Index).object) as A.AggRef;
    const indices = target.kind === 'Index' ? target.indices : [];
    const info = this.env.sym.aggs.get(ref.name);
    const call = unparen(value);
    if (!info || call.kind !== 'Call') unchecked('an aggregation assigned something not an aggregating function');
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
    // In a shared map (codegen/agg-maps.ts) the tag is a keyless aggregation's element, and
    // the first word of a keyed one's key.
    const { map, tag } = this.env.aggMap(info);
    const aggDone = a.newLabel('aggdone');
    if (info.keys.length === 0) {
      a.mov(R1, imm(tag ?? 0)).stx(4, R10, -16, R1).mov(R2, R10).alu64('add', R2, imm(-16));
      a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
      const ok = a.newLabel('aggok');
      a.jmp('jne', R0, imm(0), ok).ja(this.end).label(ok).st(8, R0, this.env.aggValueSize(info), 1);
    } else {
      const area = this.keyArea(target);
      // (buildKey leaves room for the tag: a key area holds the key and 8 bytes more.)
      const key = () => this.buildKey(indices, info.keys, tag === undefined ? area : area + SHARED_AGG_KEY_PREFIX_BYTES);
      // The value stays live while the key is built (in the stack frame when the key needs its register).
      if (v) v = this.keeping(v, key, target)[0] as Extract<Val, { t: 'int' }>; else key();
      if (tag !== undefined) a.st(8, R9, area, tag);
      const rekey = () => a.mov(R2, R9).alu64('add', R2, imm(area));
      rekey();
      // A full aggregation drops this update only; the clause goes on (as in DTrace).
      this.upsert(map, rekey, STATE.aggDrops, aggDone);
    }
    // R0 = value pointer (per-CPU: no atomics needed).
    if (!isAggFn(fn)) unchecked(`${fn}( ), not an aggregating function`);
    AGGREGATING_FUNCTIONS[fn].update({ asm: a, value: v?.reg, params: info.params, bump, outOfRange: this.end });
    a.label(aggDone).mov(R0, R0);
    this.release(v);
  }
}
