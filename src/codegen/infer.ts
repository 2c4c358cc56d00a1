/**
 * @fileoverview How code generation represents D values (integers by size and sign, strings, objects held by
 * value) and the symbol tables it lays out. Types are the checker's (`Checked`); this maps them to representations.
 */
import type * as A from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import { type CType, resolve, isCharPointerOrArray, sizeOf } from '../check/ctypes.js';
import type { Checked } from '../check/checked.js';

export type VType =
  | { t: 'int'; size: 1 | 2 | 4 | 8; signed: boolean }
  /** `max`: a string known to be shorter (bytes with its NUL) than strsize — an aggregation key of execname. */
  | { t: 'str'; max?: number }
  /**
   * A struct, union or array held by value (variables declared with such a type); also the
   * recorded forms of stack()/ustack() and of the symbol functions (`decode` says which).
   */
  | { t: 'obj'; ctype: CType; size: number; decode?: 'stack' | 'ustack' | 'symbol' | 'usymbol'; symbolForm?: 'sym' | 'func' | 'mod' | 'uaddr'; /** jstack(): see FieldLayout.jitStrsize. */ jitStrsize?: number };

export const I64: VType = { t: 'int', size: 8, signed: true };
export const U64: VType = { t: 'int', size: 8, signed: false };
export const I32: VType = { t: 'int', size: 4, signed: true };
export const U32: VType = { t: 'int', size: 4, signed: false };
export const STR: VType = { t: 'str' };

export interface VarInfo {
  name: string;
  scope: 'global' | 'thread' | 'clause';
  type: VType;
  keys?: VType[]; // associative arrays: key types
  id: number;
}

export interface AggInfo {
  name: string;
  id: number;
  fn: string;
  keys: VType[];
  params: bigint[]; // lquantize base/limit/step, llquantize factor/lmag/hmag/steps
}

/** The variables and aggregations of a program (codegen/symbols.ts builds them from `Checked`). */
export interface Symbols {
  globals: Map<string, VarInfo>;
  assocs: Map<string, VarInfo>;
  threads: Map<string, VarInfo>;
  threadAssocs: Map<string, VarInfo>;
  clauseLocals: Map<string, VarInfo>;
  aggs: Map<string, AggInfo>;
  checked: Checked;
  stackframes?: number;
  ustackframes?: number;
  jstackframes?: number;
  /** jstack()'s default string space (option jstackstrsize). */
  jstackstrsize?: number;
  /** The kernel's stack-depth ceiling (option maxframes): stack(n)/ustack(n) ask for at most this. */
  maxframes?: number;
}

/** The representation of a value of C type `t`; undefined for what is held by value or not at all. */
export function representation(t: CType): VType | undefined {
  const r = resolve(t);
  switch (r.kind) {
    case 'int': case 'enum': return { t: 'int', size: r.sizeBytes, signed: r.signed };
    case 'pointer': return { t: 'int', size: 8, signed: false };
    // Floating-point values are only carried (variables, printf): their bits, as an integer.
    case 'float': return { t: 'int', size: r.sizeBytes === 4 ? 4 : 8, signed: false };
    case 'string': return { t: 'str' };
    case 'array': return isCharPointerOrArray(r) ? { t: 'str' } : undefined;
    default: return undefined;
  }
}

/** Structs, unions and arrays held by value in variables. */
export function byValue(t: CType, strsize: number): VType | undefined {
  const r = resolve(t);
  if (r.kind !== 'struct' && r.kind !== 'array') return undefined;
  const size = sizeOf(t, strsize);
  return size > 0 ? { t: 'obj', ctype: t, size } : undefined;
}

/** C's integer promotions and usual arithmetic conversions for two integer operands. */
export function arith(a: VType, b: VType): VType {
  if (a.t !== 'int' || b.t !== 'int') return I64;
  const pa = a.size < 4 ? I32 : a, pb = b.size < 4 ? I32 : b;
  if (pa.t !== 'int' || pb.t !== 'int') return I64;
  if (pa.size !== pb.size) return pa.size > pb.size ? pa : pb;
  return { t: 'int', size: pa.size, signed: pa.signed && pb.signed };
}


/** An upper bound on a string key's bytes (NUL included) known from the expression: execname is a task's comm (TASK_COMM_LEN). */
export function stringBound(e: A.Expr): number | undefined {
  const x = unparen(e);
  return x.kind === 'Ident' && x.name === 'execname' ? 16 : undefined;
}
