/**
 * @fileoverview The checker's own vocabulary: expression facts (`Info`), identifier kinds, flags, and the typing
 * rules of C that DTrace applies (promotion, compatibility, literal types).
 */
import type { Clause, IntLit } from '../../lang/ast.js';
import { Types, typedef, resolve, isInteger, sameType, isCharPointerOrArray, type CType, type EnumType, type IntType } from '../ctypes.js';
import { type BuiltinFunction } from '../../builtins/signatures.js';
import { type BuiltinVariable } from '../../builtins/variables.js';
import { DYN, type InlineInfo, type TranslatorInfo, type VariableInfo } from '../checked.js';

export const F_LVALUE = 1, F_WRITABLE = 2, F_BITFIELD = 4, F_USER = 8, F_ALLOCA = 16, F_NONASSIGN = 32;
/** A dereference of an alloca pointer: taking its address gives an alloca pointer again. */
export const F_DEREF_ALLOCA = 64;
export const ID_REF = 1, ID_MOD = 2, ID_ALLOCA = 4;

/**
 * The flags of `*p` (and `p[i]`) where p has flags `pointer` and points to `target` (resolved),
 * as dt_cook_op gives them: an lvalue unless the target is an array, writable when p is, user
 * memory passed on to a pointer target, and alloca()'d memory remembered.
 */
export function derefFlags(pointer: number, target: CType): number {
  let flags = target.kind !== 'array' ? F_LVALUE : 0;
  if (pointer & F_WRITABLE) flags |= F_WRITABLE;
  if ((pointer & F_USER) && target.kind === 'pointer') flags |= F_USER;
  if (pointer & F_ALLOCA) flags |= F_DEREF_ALLOCA;
  return flags;
}

export interface Info {
  type: CType;
  flags: number;
  /** For dynamic values: what kind of identifier it is (for messages: "aggregation"). */
  dynKind?: string;
  constVal?: bigint;
  str?: string;
  /** Expression node class as DTrace sees it: int/string literal, variable, aggregation, function call. */
  node: 'int' | 'string' | 'var' | 'agg' | 'func' | 'sym' | 'other';
  fn?: BuiltinFunction;
  xlate?: { translator: TranslatorInfo; pointer: boolean };
}

export type GlobalIdent =
  | { kind: 'builtin-var'; v: BuiltinVariable }
  | { kind: 'function'; fn: BuiltinFunction }
  | { kind: 'variable'; info: VariableInfo; flags: number }
  | { kind: 'inline'; info: InlineInfo; xlate?: { translator: TranslatorInfo; pointer: boolean } }
  | { kind: 'enum-const'; name: string; value: bigint; type: EnumType };

export interface VarEntry { info: VariableInfo; flags: number }

export function idkindName(g: GlobalIdent): string {
  switch (g.kind) {
    case 'builtin-var': return g.v.indexed ? 'associative array' : 'scalar';
    case 'function': return g.fn.kind === 'action' ? 'tracing function' : g.fn.kind === 'aggregation' ? 'aggregating function' : 'function';
    case 'variable': return g.info.kind === 'assoc' ? 'associative array' : 'scalar';
    case 'inline': return 'scalar';
    case 'enum-const': return 'enumerator';
  }
}

export const isDyn = (t: CType) => t === DYN;
/** What a pointer, array or string (an array of char) refers to. */
export function pointee(t: CType): CType {
  const r = resolve(t);
  if (r.kind === 'pointer') return r.target;
  if (r.kind === 'array') return r.element;
  return Types.char;
}
export const isVoid = (t: CType) => !isDyn(t) && resolve(t).kind === 'void';
export const isStringT = (t: CType) => resolve(t).kind === 'string';
export function isIntegerT(t: CType): boolean { return !isDyn(t) && !isStackT(t) && isInteger(t); }
/** D's `stack` (what stack()/ustack() record) is a type of its own, not an integer. */
export function isStackT(t: CType): boolean { return t.kind === 'typedef' && t.name === 'stack'; }
export function isPointerT(t: CType): boolean {
  if (isDyn(t)) return false;
  const r = resolve(t);
  return r.kind === 'pointer' || r.kind === 'array';
}
export function isScalarT(t: CType): boolean {
  if (isDyn(t)) return false;
  const r = resolve(t);
  return r.kind === 'int' || r.kind === 'enum' || r.kind === 'pointer';
}
export function isStrCompat(t: CType): boolean { return !isDyn(t) && (isStringT(t) || isCharPointerOrArray(t)); }
export function isVfptr(t: CType): boolean {
  const r = resolve(t);
  if (r.kind !== 'pointer') return false;
  const target = resolve(r.target);
  return target.kind === 'void' || target.kind === 'function';
}
export function isStructLike(t: CType): boolean { const r = resolve(t); return r.kind === 'struct'; }

export function typeCompat(a: CType, b: CType): boolean {
  if (isDyn(a) || isDyn(b)) return a === b;
  const x = resolve(a), y = resolve(b);
  if (x.kind === 'pointer' && y.kind === 'pointer') return typeCompat(x.target, y.target);
  return sameType(x, y);
}

/** Integer rank for the usual arithmetic conversions. */
export function rankOf(t: IntType): number { return t.sizeBytes * 2 + (t.signed ? 0 : 1); }

export function asInt(t: CType): IntType {
  const r = resolve(t);
  if (r.kind === 'enum') return Types.int;
  return r as IntType;
}

export const INT_BY_SIZE: Record<number, [IntType, IntType]> = {
  1: [Types.char, Types.uchar], 2: [Types.short, Types.ushort], 4: [Types.int, Types.uint], 8: [Types.long, Types.ulong],
};

/**
 * The type of a binary arithmetic result (dt_type_promote): the operand type of greater rank —
 * size first, unsigned above signed at the same size. Unlike C there is no promotion to int:
 * `unsigned char + char` is unsigned char in D.
 */
export function promote(l: CType, r: CType): CType {
  const li = asInt(l), ri = asInt(r);
  const lr = rankOf(li), rr = rankOf(ri);
  if (lr === rr) return resolve(l).kind === 'enum' ? r : l;
  return lr > rr ? (resolve(l).kind === 'enum' ? INT_BY_SIZE[li.sizeBytes]![li.signed ? 0 : 1] : l) : (resolve(r).kind === 'enum' ? INT_BY_SIZE[ri.sizeBytes]![ri.signed ? 0 : 1] : r);
}

/** A constant as a 64-bit register holds it: signed or unsigned by its type, never narrowed. */
export function widen64(v: bigint, t: CType): bigint {
  const r = resolve(t);
  if (r.kind === 'int' && r.isBool) return v !== 0n ? 1n : 0n;
  const signed = r.kind === 'enum' || (r.kind === 'int' && r.signed);
  return signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
}

/** Wraps a value to a type's width and signedness. */
export function wrap(v: bigint, t: CType): bigint {
  const r = resolve(t);
  if (r.kind === 'pointer') return BigInt.asUintN(64, v);
  if (r.kind !== 'int' && r.kind !== 'enum') return v;
  const bits = r.sizeBytes * 8;
  const signed = r.kind === 'enum' ? true : r.signed;
  if (r.kind === 'int' && r.isBool) return v !== 0n ? 1n : 0n;
  return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/** C's rules for the type of an integer constant (spec §2.4). */
export function intLitType(lit: IntLit): CType {
  const s = lit.suffix;
  const us = (s.match(/u/gi) ?? []).length, ls = (s.match(/l/gi) ?? []).length;
  const cands: [CType, bigint][] = [
    [Types.int, 0x7fffffffn], [Types.uint, 0xffffffffn], [Types.long, 0x7fffffffffffffffn],
    [Types.ulong, 0xffffffffffffffffn], [Types.longlong, 0x7fffffffffffffffn], [Types.ulonglong, 0xffffffffffffffffn],
  ];
  const step = lit.base === 10 || s.startsWith('u') ? 2 : 1;
  const value = BigInt.asUintN(64, lit.value);
  for (let i = us + 2 * ls; i < cands.length; i += step) if (value <= cands[i]![1]) return cands[i]![0];
  return Types.ulong;
}

export function descText(clause: Clause | undefined): string {
  const p = clause?.probes[0];
  return p ? `${p.provider}:${p.module}:${p.function}:${p.name}` : '';
}

export function declName(d: import('../../lang/ast.js').Declarator): string | undefined {
  return d.kind === 'NameDeclarator' ? d.name : declName(d.inner);
}
