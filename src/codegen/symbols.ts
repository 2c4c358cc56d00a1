/**
 * @fileoverview The variables and aggregations code generation lays out, taken from the
 * checker's tables (`Checked.variables`, `Checked.aggregations`) and given their
 * representation. The only thing read from the program text here is what a representation
 * needs beyond a C type: the recorded form of a stack()/sym() key and the short bound of an
 * execname key, from the keys the aggregation is indexed with.
 */
import type * as A from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import { someNode } from '../lang/walk.js';
import type { Checked } from '../check/checked.js';
import { type VType, type VarInfo, type AggInfo, type Symbols, representation, byValue, stringBound } from './infer.js';
import { recordedCallType } from './recorded.js';

export interface SymbolOptions {
  strsize: number;
  stackframes?: number;
  ustackframes?: number;
  jstackframes?: number;
  jstackstrsize?: number;
  /** The kernel's stack-depth ceiling: explicit stack(n)/ustack(n) depths are capped to it. */
  maxframes?: number;
}

/** The symbol tables of a checked program, in the checker's first-appearance order. */
export function symbolsOf(checked: Checked, opts: SymbolOptions): Symbols {
  const sym: Symbols = {
    globals: new Map(), assocs: new Map(), threads: new Map(), threadAssocs: new Map(), clauseLocals: new Map(), aggs: new Map(),
    stackframes: opts.stackframes, ustackframes: opts.ustackframes, jstackframes: opts.jstackframes, jstackstrsize: opts.jstackstrsize, maxframes: opts.maxframes, checked,
  };
  for (const v of checked.variables) {
    // A variable only read, never assigned or declared, has no storage.
    const type = v.type && (representation(v.type) ?? byValue(v.type, opts.strsize));
    if (!type) continue;
    const keys = v.kind === 'assoc' ? (v.keyTypes ?? []).map((k) => representation(k) ?? byValue(k, opts.strsize) ?? { t: 'int', size: 8, signed: true } as VType) : undefined;
    const info: VarInfo = { name: v.name, scope: v.scope, type, keys, id: v.index + 1 };
    const map = v.scope === 'thread' ? (keys ? sym.threadAssocs : sym.threads) : v.scope === 'clause' ? sym.clauseLocals : keys ? sym.assocs : sym.globals;
    map.set(v.name, info);
  }
  const keyUses = aggregationKeyUses(checked.program);
  const assigned = [...checked.aggregations].filter((a) => a.fn !== '').sort((a, b) => a.index - b.index);
  for (const a of assigned) {
    const uses = keyUses.get(a.name) ?? [];
    const keys = (a.keyTypes ?? []).map((k, i): VType => {
      const first = uses[0]?.[i];
      const recorded = first?.kind === 'Call' ? recordedCallType(first, sym) : undefined;
      const t = recorded ?? representation(k) ?? byValue(k, opts.strsize) ?? { t: 'int', size: 8, signed: true };
      if (t.t !== 'str') return t;
      // A key position keeps its short form only while every use of the aggregation is short.
      const bounds = uses.map((u) => u[i] && stringBound(u[i]!));
      return bounds.length > 0 && bounds.every((b) => b !== undefined) ? { t: 'str', max: Math.max(...(bounds as number[])) } : t;
    });
    const info: AggInfo = { name: a.name, id: sym.aggs.size + 1, fn: a.fn, keys, params: a.params };
    sym.aggs.set(a.name, info);
  }
  return sym;
}

/** The key expressions of every update of each aggregation (`@a[k…] = f(…)`), in text order. */
function aggregationKeyUses(program: A.Program): Map<string, A.Expr[][]> {
  const uses = new Map<string, A.Expr[][]>();
  someNode(program.items, (o) => {
    if (o.kind !== 'Assign') return false;
    const target = unparen((o as unknown as A.Assign).target);
    const ref = target.kind === 'Index' ? unparen(target.object) : target;
    if (ref.kind !== 'AggRef') return false;
    const list = uses.get(ref.name) ?? [];
    list.push(target.kind === 'Index' ? target.indices : []);
    uses.set(ref.name, list);
    return false;
  });
  return uses;
}
