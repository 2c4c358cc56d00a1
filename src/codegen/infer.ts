/**
 * @fileoverview How code generation represents D values (integers by size and sign, strings, objects held by
 * value) and the symbol tables it lays out. Types are the checker's (`Checked`); this maps them to representations.
 */
import type * as A from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import { type CType, resolve, isCharPointerOrArray, sizeOf } from '../check/ctypes.js';
import type { Checked } from '../check/checked.js';
import { TRACER_SLACK_FRAMES } from './tracer-skip.js';

export type VType =
  | { t: 'int'; size: 1 | 2 | 4 | 8; signed: boolean }
  /** `max`: a string known to be shorter (bytes with its NUL) than strsize — an aggregation key of execname. */
  | { t: 'str'; max?: number }
  /**
   * A struct, union or array held by value (variables declared with such a type); also the
   * recorded forms of stack()/ustack() and of the symbol functions (`decode` says which).
   */
  | { t: 'obj'; ctype: CType; size: number; decode?: 'stack' | 'ustack' | 'symbol' | 'usymbol'; symbolForm?: 'sym' | 'func' | 'mod' | 'uaddr' };

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

/** The representation of an expression: the checker's type's, or what the variable it names holds. */
export function exprType(e: A.Expr, sym: Symbols): VType {
  if (e.kind === 'Call') { const r = recordedCallType(e, sym); if (r) return r; }
  const known = representation(sym.checked.typeOf(e));
  if (known) return known;
  const x = unparen(e);
  const obj = x.kind === 'Index' ? unparen(x.object) : undefined;
  const held = x.kind === 'Ident' ? sym.globals.get(x.name) : x.kind === 'SelfVar' ? sym.threads.get(x.name) : x.kind === 'ThisVar' ? sym.clauseLocals.get(x.name)
    : obj?.kind === 'Ident' ? sym.assocs.get(obj.name) : obj?.kind === 'SelfVar' ? sym.threadAssocs.get(obj.name) : undefined;
  return held?.type ?? I64;
}

const STACK_ELEMENT: CType = { kind: 'int', name: 'uint64_t', sizeBytes: 8, signed: false };
const KERNEL_FORMS: Record<string, 'sym' | 'func' | 'mod'> = { sym: 'sym', func: 'func', mod: 'mod' };
const USER_FORMS: Record<string, 'sym' | 'func' | 'mod' | 'uaddr'> = { usym: 'sym', ufunc: 'func', umod: 'mod', uaddr: 'uaddr' };

/** stack()/ustack() and the symbol functions: what they record (by value, in records and keys). */
export function recordedCallType(e: A.Call, sym: Symbols): VType | undefined {
  const n = e.callee.name;
  if (n === 'stack' || n === 'ustack' || n === 'jstack') {
    const arg = e.args[0] ? sym.checked.constValue(e.args[0]) : undefined;
    const asked = Number(arg ?? BigInt(n === 'stack' ? (sym.stackframes ?? 20) : n === 'jstack' ? (sym.jstackframes ?? 50) : (sym.ustackframes ?? 100)));
    // A depth beyond the kernel's ceiling (ustack(2147483647)) records the deepest stack the
    // kernel gives, as DTrace caps it at maxframes, rather than a record the verifier refuses.
    const frames = sym.maxframes !== undefined ? Math.min(asked, sym.maxframes) : asked;
    // A kernel stack has room for the tracer's frames above the traced ones (kernel-reach.ts
    // skips them and zeroes what is left); a user stack starts with the process id.
    const size = n === 'stack' ? (frames + TRACER_SLACK_FRAMES) * 8 : frames * 8 + 8;
    return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: size / 8 }, size, decode: n === 'stack' ? 'stack' : 'ustack' };
  }
  if (KERNEL_FORMS[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 1 }, size: 8, decode: 'symbol', symbolForm: KERNEL_FORMS[n] };
  if (USER_FORMS[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 2 }, size: 16, decode: 'usymbol', symbolForm: USER_FORMS[n] };
  return undefined;
}

/** An upper bound on a string key's bytes (NUL included) known from the expression: execname is a task's comm (TASK_COMM_LEN). */
export function stringBound(e: A.Expr): number | undefined {
  const x = unparen(e);
  return x.kind === 'Ident' && x.name === 'execname' ? 16 : undefined;
}
