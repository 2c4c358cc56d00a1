/**
 * @fileoverview The D type checker ("cook" in DTrace's dt_parser.c): gives every expression a
 * CType, resolves every identifier, creates variables by first assignment, checks aggregations,
 * actions and subroutines, printf formats, and reports DTrace's semantic errors with its tags
 * and wording. The AST is never mutated: results live in side tables behind `Checked`.
 *
 * Order follows DTrace so the *first* error is the one Oracle reports: declarations, inlines
 * and translators are handled in program order at "parse time", together with the parse-time
 * checks inside clauses (unknown function names, constant division by zero); then each clause is
 * cooked (actions first, then the predicate, retried the other way round if an identifier is
 * unknown) and its actions are checked in statement order (what DTrace does in code generation).
 * The checker stops at the first error.
 */
import type {
  Program, Clause, Expr, Stmt, Ident, SelfVar, ThisVar, AggRef, Index, Member, Call, Declaration,
  InlineDecl, TranslatorDecl, Pragma, TypeName, IntLit, Assign,
} from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import type { DiagnosticSink } from '../diag/diagnostic.js';
import { reportedLine, type Span } from '../diag/source.js';
import {
  Types, typedef, pointerTo, resolve, isInteger, sizeOf, typeName, sameType, isCharPointerOrArray, memberOf,
  type CType, type StructType, type EnumType, type StructMemberType, type IntType, type PointerType,
} from './ctypes.js';
import { fail, isCheckFailure, type CheckFailure } from './abort.js';
import {
  createTypeScope, resolveSpecifier, applyDeclarator, resolveTypeName, parseTypeText,
  type TypeScope, type DeclContext, type KernelTypeSource,
} from './decl.js';
import { lookupBuiltinFunction, BUILTIN_FUNCTIONS, type BuiltinFunction } from '../builtins/signatures.js';
import { BUILTIN_VARIABLES, type BuiltinVariable } from '../builtins/variables.js';
import { parseFormat, type FormatConversion } from './printf-check.js';

export type { KernelTypeSource } from './decl.js';

// ---------------------------------------------------------------------------------------------
// Public API

export interface CheckOptions {
  /** Maximum string length (option strsize); default 256. */
  strsize: number;
  /** Argument types of a clause's probes (args[] typing); undefined = untyped (int64 argN). */
  probeArgTypes?: (clause: Clause) => CType[] | undefined;
  /**
   * args[] of a clause's probes as providers describe them (type texts parsed in the program's
   * scope): `native` is what the probe carries in raw argument `mapping`; `xlate`, when given,
   * is the type args[i] has, through the D library's translator from the native type.
   */
  probeArgDescs?: (clause: Clause) => { mapping: number; native: string; xlate?: string; userland?: boolean }[] | undefined;
  /** Kernel types (BTF), asked lazily; absent → kernel type names are unknown. */
  kernelTypes?: () => KernelTypeSource | undefined;
  /** -w given: destructive actions allowed. */
  destructive: boolean;
  /** Program pieces of the D library (lib/*.d), parsed; checked before the program, errors ignored. */
  library?: () => Program[];
  /** scratchsize option, for alloca() size checks (default 256 + 8). */
  scratchsizeBytes?: number;
}

/** A D variable: global, thread-local (`self->`) or clause-local (`this->`), scalar or associative. */
export interface VariableInfo {
  /** Index in `Checked.variables` (first-appearance order). */
  index: number;
  name: string;
  scope: 'global' | 'thread' | 'clause';
  kind: 'scalar' | 'assoc';
  /** Value type; `undefined` while only referenced (e.g. an associative array never assigned). */
  type: CType | undefined;
  /** Key types of an associative array (same signature everywhere). */
  keyTypes?: CType[];
  /** Declared with a declaration (`int x;`, `self int y;`) rather than by first assignment. */
  declared: boolean;
  /** Holds a pointer into user space (assigned from a userland value). */
  userland: boolean;
  span: Span;
}

/** One aggregation; `index` is the order of first appearance in the program text. */
export interface AggregationInfo {
  index: number;
  /** Name without `@` ('' for the anonymous aggregation `@`). */
  name: string;
  fn: string;
  keyTypes: CType[] | undefined;
  /** Constant parameters: lquantize [base, limit, step], llquantize [factor, lmag, hmag, steps]. */
  params: bigint[];
  /** Type of the aggregated value argument, when the function takes one. */
  valueType?: CType;
  span: Span;
}

export interface InlineInfo {
  name: string;
  type: CType;
  value: Expr;
  /** Parameters of an associative inline (`inline int f[int x] = x + 1;`). */
  params?: { name: string; type: CType }[];
  span: Span;
}

export interface TranslatorInfo {
  output: StructType;
  input: CType;
  inputName: string;
  members: Map<string, Expr>;
  decl: TranslatorDecl;
}

export type SymbolRef =
  | { kind: 'builtin-var'; name: string; variable: BuiltinVariable; type: CType }
  | { kind: 'variable'; info: VariableInfo }
  | { kind: 'agg'; info: AggregationInfo }
  | { kind: 'inline'; info: InlineInfo }
  | { kind: 'enum-const'; name: string; value: bigint; type: EnumType }
  | { kind: 'kernel-sym'; name: string; module?: string; type: CType }
  | { kind: 'function'; fn: BuiltinFunction }
  | { kind: 'member'; struct: StructType; member: StructMemberType }
  /** A member of translated data: code generation evaluates `expr` with the translator input bound. */
  | { kind: 'xlate-member'; translator: TranslatorInfo; member: string; expr: Expr }
  /** `xlate<T>(e)` itself, or an inline/variable holding translated data. */
  | { kind: 'xlate'; translator: TranslatorInfo; pointer: boolean }
  /** The translator input name inside a translator body. */
  | { kind: 'xlate-input'; translator: TranslatorInfo; type: CType }
  /** A parameter of an associative inline, inside its definition. */
  | { kind: 'inline-param'; inline: string; index: number; type: CType }
  | { kind: 'args'; index: number; type: CType; mapping?: number }
  | { kind: 'uregs'; index: number };

export interface Checked {
  program: Program;
  typeOf(e: Expr): CType;
  constValue(e: Expr): bigint | undefined;
  stringConst(e: Expr): string | undefined;
  symbolOf(e: Ident | SelfVar | ThisVar | AggRef | Index | Member | Call | Expr): SymbolRef | undefined;
  /** User space pointer: the value needs copyin to be read. */
  isUserland(e: Expr): boolean;
  variables: VariableInfo[];
  aggregations: AggregationInfo[];
  typedefs: Map<string, CType>;
  /** Struct/union tags (`struct foo`) declared by the program and library. */
  structs: Map<string, StructType>;
  enums: Map<string, EnumType>;
  inlines: Map<string, InlineInfo>;
  translators: TranslatorInfo[];
  /** `#pragma D option` settings in program order: [name, value or undefined]. */
  options: [string, string | undefined][];
  /** The program uses destructive actions (enabling fails without -w). */
  usesDestructive: boolean;
}

/** The type of `@a` and `a` (an associative array) used as values: DTrace's `<DYN>` type. */
export const DYN: CType = typedef('<DYN>', Types.void);

// ---------------------------------------------------------------------------------------------
// Internal state

const F_LVALUE = 1, F_WRITABLE = 2, F_BITFIELD = 4, F_USER = 8, F_ALLOCA = 16, F_NONASSIGN = 32;
/** A dereference of an alloca pointer: taking its address gives an alloca pointer again. */
const F_DEREF_ALLOCA = 64;
const ID_REF = 1, ID_MOD = 2, ID_ALLOCA = 4;

interface Info {
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

type GlobalIdent =
  | { kind: 'builtin-var'; v: BuiltinVariable }
  | { kind: 'function'; fn: BuiltinFunction }
  | { kind: 'variable'; info: VariableInfo; flags: number }
  | { kind: 'inline'; info: InlineInfo; xlate?: { translator: TranslatorInfo; pointer: boolean } }
  | { kind: 'enum-const'; name: string; value: bigint; type: EnumType };

interface VarEntry { info: VariableInfo; flags: number }

function idkindName(g: GlobalIdent): string {
  switch (g.kind) {
    case 'builtin-var': return g.v.indexed ? 'associative array' : 'scalar';
    case 'function': return g.fn.kind === 'action' ? 'tracing function' : g.fn.kind === 'aggregation' ? 'aggregating function' : 'function';
    case 'variable': return g.info.kind === 'assoc' ? 'associative array' : 'scalar';
    case 'inline': return 'scalar';
    case 'enum-const': return 'enumerator';
  }
}

const isDyn = (t: CType) => t === DYN;
/** What a pointer, array or string (an array of char) refers to. */
function pointee(t: CType): CType {
  const r = resolve(t);
  if (r.kind === 'pointer') return r.target;
  if (r.kind === 'array') return r.element;
  return Types.char;
}
const isVoid = (t: CType) => !isDyn(t) && resolve(t).kind === 'void';
const isStringT = (t: CType) => resolve(t).kind === 'string';
function isIntegerT(t: CType): boolean { return !isDyn(t) && !isStackT(t) && isInteger(t); }
/** D's `stack` (what stack()/ustack() record) is a type of its own, not an integer. */
function isStackT(t: CType): boolean { return t.kind === 'typedef' && t.name === 'stack'; }
function isPointerT(t: CType): boolean {
  if (isDyn(t)) return false;
  const r = resolve(t);
  return r.kind === 'pointer' || r.kind === 'array';
}
function isScalarT(t: CType): boolean {
  if (isDyn(t)) return false;
  const r = resolve(t);
  return r.kind === 'int' || r.kind === 'enum' || r.kind === 'pointer';
}
function isStrCompat(t: CType): boolean { return !isDyn(t) && (isStringT(t) || isCharPointerOrArray(t)); }
function isVfptr(t: CType): boolean {
  const r = resolve(t);
  if (r.kind !== 'pointer') return false;
  const target = resolve(r.target);
  return target.kind === 'void' || target.kind === 'function';
}
function isStructLike(t: CType): boolean { const r = resolve(t); return r.kind === 'struct'; }

function typeCompat(a: CType, b: CType): boolean {
  if (isDyn(a) || isDyn(b)) return a === b;
  const x = resolve(a), y = resolve(b);
  if (x.kind === 'pointer' && y.kind === 'pointer') return typeCompat(x.target, y.target);
  return sameType(x, y);
}

/** Integer rank for the usual arithmetic conversions. */
function rankOf(t: IntType): number { return t.sizeBytes * 2 + (t.signed ? 0 : 1); }

function asInt(t: CType): IntType {
  const r = resolve(t);
  if (r.kind === 'enum') return Types.int;
  return r as IntType;
}

const INT_BY_SIZE: Record<number, [IntType, IntType]> = {
  1: [Types.char, Types.uchar], 2: [Types.short, Types.ushort], 4: [Types.int, Types.uint], 8: [Types.long, Types.ulong],
};

/**
 * The type of a binary arithmetic result (dt_type_promote): the operand type of greater rank —
 * size first, unsigned above signed at the same size. Unlike C there is no promotion to int:
 * `unsigned char + char` is unsigned char in D.
 */
function promote(l: CType, r: CType): CType {
  const li = asInt(l), ri = asInt(r);
  const lr = rankOf(li), rr = rankOf(ri);
  if (lr === rr) return resolve(l).kind === 'enum' ? r : l;
  return lr > rr ? (resolve(l).kind === 'enum' ? INT_BY_SIZE[li.sizeBytes]![li.signed ? 0 : 1] : l) : (resolve(r).kind === 'enum' ? INT_BY_SIZE[ri.sizeBytes]![ri.signed ? 0 : 1] : r);
}

/** A constant as a 64-bit register holds it: signed or unsigned by its type, never narrowed. */
function widen64(v: bigint, t: CType): bigint {
  const r = resolve(t);
  if (r.kind === 'int' && r.isBool) return v !== 0n ? 1n : 0n;
  const signed = r.kind === 'enum' || (r.kind === 'int' && r.signed);
  return signed ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
}

/** Wraps a value to a type's width and signedness. */
function wrap(v: bigint, t: CType): bigint {
  const r = resolve(t);
  if (r.kind === 'pointer') return BigInt.asUintN(64, v);
  if (r.kind !== 'int' && r.kind !== 'enum') return v;
  const bits = r.sizeBytes * 8;
  const signed = r.kind === 'enum' ? true : r.signed;
  if (r.kind === 'int' && r.isBool) return v !== 0n ? 1n : 0n;
  return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
}

/** C's rules for the type of an integer constant (spec §2.4). */
function intLitType(lit: IntLit): CType {
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

function descText(clause: Clause | undefined): string {
  const p = clause?.probes[0];
  return p ? `${p.provider}:${p.module}:${p.function}:${p.name}` : '';
}

// ---------------------------------------------------------------------------------------------
// check()

export function check(program: Program, sink: DiagnosticSink, opts: CheckOptions): Checked {
  const strsize = opts.strsize || 256;
  let kernelCache: KernelTypeSource | undefined | null = null;
  const kernel = () => {
    if (kernelCache === null) kernelCache = opts.kernelTypes?.();
    return kernelCache;
  };
  const scope: TypeScope = createTypeScope(kernel);
  const infos = new Map<Expr, Info>();
  const symbols = new Map<Expr, SymbolRef>();
  const globals = new Map<string, GlobalIdent>();
  const tls = new Map<string, VarEntry>();
  const locals = new Map<string, VarEntry>();
  /** Translator-input / inline-parameter names in scope (dt_idstack pushes). */
  const overlays: Map<string, SymbolRef & { type: CType }>[] = [];
  const variables: VariableInfo[] = [];
  const aggs = new Map<string, { info: AggregationInfo; flags: number; fnLine: number }>();
  const aggregations: AggregationInfo[] = [];
  const inlines = new Map<string, InlineInfo>();
  const translators: TranslatorInfo[] = [];
  const options: [string, string | undefined][] = [];
  let usesDestructive = false;
  let currentClause: Clause | undefined;
  let libraryMode = false;

  for (const [name, v] of BUILTIN_VARIABLES) if (!v.library) globals.set(name, { kind: 'builtin-var', v });
  const builtinVarTypes = new Map<string, CType>();

  const declCtx: DeclContext = {
    scope, strsize,
    constValue: (e) => {
      try { return cook(e, ID_REF).constVal; } catch (err) { if (isCheckFailure(err)) return undefined; throw err; }
    },
    defineEnumerator(name, value, type, span) {
      const prev = globals.get(name);
      if (prev) fail('D_DECL_IDRED', `identifier redeclared: ${name}`, span);
      globals.set(name, { kind: 'enum-const', name, value, type });
    },
  };

  function builtinVarType(v: BuiltinVariable): CType {
    let t = builtinVarTypes.get(v.name);
    if (t) return t;
    t = parseTypeText(scope, v.type);
    if (!t && v.name === 'curthread') t = pointerTo({ kind: 'struct', tag: 'struct', name: 'task_struct', sizeBytes: 0, alignBytes: 1 });
    t ??= Types.long;
    builtinVarTypes.set(v.name, t);
    return t;
  }

  function record(e: Expr, info: Info, sym?: SymbolRef): Info {
    infos.set(e, info);
    if (sym) symbols.set(e, sym);
    return info;
  }

  function newVar(name: string, varScope: VariableInfo['scope'], kind: VariableInfo['kind'], span: Span, declared = false): VariableInfo {
    const info: VariableInfo = { index: variables.length, name, scope: varScope, kind, type: undefined, declared, userland: false, span };
    variables.push(info);
    return info;
  }

  const unref = (flags: number, info: VariableInfo) => !info.declared && (flags & (ID_REF | ID_MOD)) === 0;

  function typeNameOf(i: Info): string {
    if (isDyn(i.type) && i.dynKind) return i.dynKind;
    return typeName(i.type);
  }

  // ------------------------------------------------------------------------------------------
  // Compatibility (dt_node_is_argcompat / dt_node_is_ptrcompat)

  function ptrCompat(l: Info, r: Info): boolean {
    const lt = l.type, rt = r.type;
    const lNull = l.node === 'int' && l.constVal === 0n;
    const rNull = r.node === 'int' && r.constVal === 0n;
    const lp = isPointerT(lt) || isStringT(lt), rp = isPointerT(rt) || isStringT(rt);
    if ((lp && rNull) || (rp && lNull)) return true;
    if (!lp || !rp) return false;
    const lb = resolve(pointee(lt)), rb = resolve(pointee(rt));
    if (lb.kind === 'void' || rb.kind === 'void') return true;
    return typeCompat(lb, rb);
  }

  function argCompat(proto: Info, arg: Info): boolean {
    if (isDyn(proto.type) || isDyn(arg.type)) return false;
    if (isIntegerT(proto.type) && isIntegerT(arg.type)) return true;
    if (isStrCompat(proto.type) && isStrCompat(arg.type)) return true;
    const k = resolve(proto.type).kind;
    if (k === 'function' || k === 'struct') return typeCompat(proto.type, arg.type);
    if (k === 'float' || resolve(arg.type).kind === 'float') return typeCompat(proto.type, arg.type);
    return ptrCompat(proto, arg);
  }

  const typeInfo = (t: CType): Info => ({ type: t, flags: 0, node: 'other' });

  // ------------------------------------------------------------------------------------------
  // Expressions

  function cookList(es: Expr[]): Info[] { return es.map((e) => cook(e, ID_REF)); }

  function lookupGlobal(name: string): GlobalIdent | undefined { return globals.get(name); }

  function cookIdent(e: Ident, idflags: number, create: boolean): Info {
    for (let i = overlays.length - 1; i >= 0; i--) {
      const o = overlays[i]!.get(e.name);
      if (o) return record(e, { type: o.type, flags: o.kind === 'xlate-input' ? F_LVALUE : 0, node: 'var' }, o);
    }
    const g = lookupGlobal(e.name);
    if (g) {
      switch (g.kind) {
        case 'builtin-var': {
          if (g.v.indexed) fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
          const t = builtinVarType(g.v);
          return record(e, { type: t, flags: F_LVALUE, node: 'var' }, { kind: 'builtin-var', name: e.name, variable: g.v, type: t });
        }
        case 'function':
          fail('D_IDENT_BADREF', `${idkindName(g)} '${e.name}' may not be referenced as scalar`, e.span);
        // eslint-disable-next-line no-fallthrough
        case 'variable': {
          if (g.info.kind === 'assoc') fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
          if ((idflags & ID_REF) && unref(g.flags, g.info) && g.info.type === undefined) {
            fail('D_VAR_UNDEF', `${e.name} has not yet been declared or assigned`, e.span);
          }
          g.flags |= idflags;
          return record(e, { type: g.info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (g.info.userland ? F_USER : 0) | (g.flags & ID_ALLOCA ? F_ALLOCA : 0), node: 'var' },
            { kind: 'variable', info: g.info });
        }
        case 'inline': {
          const v = infos.get(g.info.value);
          const info: Info = { type: g.info.type, flags: 0, node: 'var', constVal: v?.constVal !== undefined ? wrap(v.constVal, g.info.type) : undefined, str: v?.str };
          if (g.xlate) { info.xlate = g.xlate; info.type = DYN; info.dynKind = g.xlate.pointer ? 'pointer to translated data' : 'translated data'; }
          return record(e, info, { kind: 'inline', info: g.info });
        }
        case 'enum-const':
          return record(e, { type: g.type, flags: 0, node: 'int', constVal: g.value }, { kind: 'enum-const', name: g.name, value: g.value, type: g.type });
      }
    }
    if (e.name === 'NULL' && !create) {
      // D's built-in NULL is the int constant 0 (sizeof (NULL) is 4, as in DTrace); an integer
      // constant 0 is compatible with any pointer, so it still compares with and assigns to them.
      return record(e, { type: Types.int, flags: 0, node: 'int', constVal: 0n });
    }
    if (create) {
      const info = newVar(e.name, 'global', 'scalar', e.span);
      const entry: GlobalIdent = { kind: 'variable', info, flags: 0 };
      globals.set(e.name, entry);
      return record(e, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var' }, { kind: 'variable', info });
    }
    return fail('D_IDENT_UNDEF', `failed to resolve ${e.name}: Unknown variable name`, e.span);
  }

  function cookScoped(e: SelfVar | ThisVar, idflags: number, asArrayBase = false): Info {
    const isSelf = e.kind === 'SelfVar';
    const table = isSelf ? tls : locals;
    let entry = table.get(e.name);
    if (!entry) {
      entry = { info: newVar(e.name, isSelf ? 'thread' : 'clause', 'scalar', e.span), flags: 0 };
      table.set(e.name, entry);
    }
    if (!asArrayBase && entry.info.kind === 'assoc') {
      fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
    }
    if (!asArrayBase && (idflags & ID_REF) && unref(entry.flags, entry.info) && entry.info.type === undefined) {
      fail('D_VAR_UNDEF', `${isSelf ? 'self->' : 'this->'}${e.name} has not yet been declared or assigned`, e.span);
    }
    if (!asArrayBase) entry.flags |= idflags;
    return record(e, { type: entry.info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (entry.info.userland ? F_USER : 0) | (entry.flags & ID_ALLOCA ? F_ALLOCA : 0), node: 'var' },
      { kind: 'variable', info: entry.info });
  }

  function cookAggRef(e: AggRef, create: boolean): { info: Info; agg: { info: AggregationInfo; flags: number; fnLine: number } } {
    let a = aggs.get(e.name);
    if (!a) {
      if (!create) fail('D_IDENT_UNDEF', `failed to resolve @${e.name}: Unknown variable name`, e.span);
      const info: AggregationInfo = { index: aggregations.length, name: e.name, fn: '', keyTypes: undefined, params: [], span: e.span };
      aggregations.push(info);
      a = { info, flags: 0, fnLine: 0 };
      aggs.set(e.name, a);
    }
    return { info: record(e, { type: DYN, flags: F_LVALUE, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: a.info }), agg: a };
  }

  /** dt_idcook_sign for associative-array keys: first use fixes the signature. */
  function checkKeys(prefix: string, name: string, keyTypes: CType[] | undefined, keys: Info[], keyExprs: Expr[], kindName: string, span: Span): CType[] {
    if (keyTypes === undefined) {
      keys.forEach((k, i) => {
        if (isDyn(k.type) || isVoid(k.type)) {
          fail('D_KEY_TYPE', `${typeNameOf(k)} expression may not be used as ${kindName} index: key #${i + 1}`, keyExprs[i]!.span);
        }
      });
      return keys.map((k) => k.type);
    }
    if (keys.length !== keyTypes.length) {
      fail('D_PROTO_LEN', `${prefix}${name}[ ] prototype mismatch: ${keys.length} key${keys.length === 1 ? ' ' : 's '}passed, ${keyTypes.length} expected`, span);
    }
    keys.forEach((k, i) => {
      if (!argCompat(typeInfo(keyTypes[i]!), k)) {
        fail('D_PROTO_ARG', `${prefix}${name}[ ] key #${i + 1} is incompatible with prototype:\n\tprototype: ${typeName(keyTypes[i]!)}\n\t      key: ${typeNameOf(k)}`, keyExprs[i]!.span);
      }
    });
    return keyTypes;
  }

  function cookIndex(e: Index, idflags: number): Info {
    const obj = unparen(e.object);
    if (obj.kind === 'AggRef') {
      const { agg } = cookAggRef(obj, idflags !== ID_REF || aggs.has(obj.name) ? true : false);
      const keys = cookList(e.indices);
      if ((idflags & ID_MOD) === 0) {
        // A reference, not the target of an aggregating assignment.
        return record(e, { type: DYN, flags: 0, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
      }
      agg.info.keyTypes = checkKeys('@', obj.name, agg.info.keyTypes, keys, e.indices, 'aggregation', e.span);
      return record(e, { type: DYN, flags: F_LVALUE, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
    }
    if (obj.kind === 'Index' && unparen(obj.object).kind === 'AggRef') {
      const a = unparen(obj.object) as AggRef;
      fail('D_AGG_MDIM', `improper attempt to reference @${a.name} as a multi-dimensional array`, e.span);
    }
    if (obj.kind === 'Ident') {
      const g = lookupGlobal(obj.name);
      if (g?.kind === 'builtin-var' && g.v.indexed) return cookBuiltinArray(e, obj, g.v);
      const libVar = g ? undefined : BUILTIN_VARIABLES.get(obj.name);
      if (libVar?.indexed && parseTypeText(scope, libVar.type)) return cookBuiltinArray(e, obj, libVar);
      if (g?.kind === 'inline' && g.info.params) {
        const keys = cookList(e.indices);
        checkKeys('', obj.name, g.info.params.map((p) => p.type), keys, e.indices, 'associative array', e.span);
        record(obj, { type: DYN, flags: 0, node: 'var', dynKind: 'associative array' }, { kind: 'inline', info: g.info });
        const info: Info = { type: g.info.type, flags: 0, node: 'other' };
        if (g.xlate) { info.xlate = g.xlate; info.type = DYN; info.dynKind = g.xlate.pointer ? 'pointer to translated data' : 'translated data'; }
        return record(e, info, { kind: 'inline', info: g.info });
      }
      if (!g || (g.kind === 'variable' && g.info.kind === 'assoc') || (g.kind === 'variable' && unref(g.flags, g.info) && g.info.type === undefined)) {
        let entry = g?.kind === 'variable' ? g : undefined;
        if (entry && entry.info.kind === 'scalar') {
          fail('D_IDENT_BADREF', `scalar '${obj.name}' may not be referenced as associative array`, obj.span);
        }
        if (!entry) {
          const info = newVar(obj.name, 'global', 'assoc', obj.span);
          entry = { kind: 'variable', info, flags: 0 };
          globals.set(obj.name, entry);
        }
        record(obj, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var', dynKind: 'associative array' }, { kind: 'variable', info: entry.info });
        return cookAssoc(e, obj.name, '', entry.info, entry, idflags);
      }
      if (g.kind === 'function') fail('D_IDENT_BADREF', `${idkindName(g)} '${obj.name}' may not be referenced as associative array`, obj.span);
    }
    if (obj.kind === 'SelfVar' || obj.kind === 'ThisVar') {
      const table = obj.kind === 'SelfVar' ? tls : locals;
      const entry = table.get(obj.name);
      if (!entry || entry.info.kind === 'assoc' || (unref(entry.flags, entry.info) && entry.info.type === undefined)) {
        if (obj.kind === 'ThisVar' && (!entry || entry.info.kind !== 'assoc')) {
          fail('D_ARR_LOCAL', `local variables may not be used as associative arrays: ${obj.name}`, obj.span);
        }
        let ent = entry;
        if (!ent) {
          ent = { info: newVar(obj.name, 'thread', 'assoc', obj.span), flags: 0 };
          table.set(obj.name, ent);
        }
        ent.info.kind = 'assoc';
        record(obj, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var', dynKind: 'associative array' }, { kind: 'variable', info: ent.info });
        return cookAssoc(e, obj.name, 'self->', ent.info, ent, idflags);
      }
    }
    // E1[E2] is *(E1 + E2).
    const base = cook(e.object, ID_REF);
    const idx = cookList(e.indices);
    const i0 = idx[0]!;
    if (!isIntegerT(base.type) && !(isPointerT(base.type) || isStringT(base.type)) || !isIntegerT(i0.type)) {
      if (!(isIntegerT(base.type) && isIntegerT(i0.type))) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(base)}" + "${typeNameOf(i0)}"`, e.span);
      }
    }
    if (idx.length > 1) {
      const name = obj.kind === 'Ident' ? `scalar ${obj.name}` : typeNameOf(base);
      fail('D_ARR_BADREF', `cannot access ${name} as an associative array`, e.span);
    }
    const r = resolve(base.type);
    if (r.kind === 'array' && r.length !== undefined && r.length > 0 && i0.constVal !== undefined && BigInt.asUintN(64, i0.constVal) >= BigInt(r.length)) {
      fail('D_ARR_BOUNDS', `index outside array bounds: ${BigInt.asUintN(64, i0.constVal)}, max is ${r.length}`, e.indices[0]!.span);
    }
    if (r.kind !== 'pointer' && r.kind !== 'array' && r.kind !== 'string') fail('D_DEREF_NONPTR', 'cannot dereference non-pointer type', e.span);
    const elem = pointee(r);
    const er = resolve(elem);
    if (er.kind === 'void') fail('D_DEREF_VOID', 'cannot dereference pointer to void', e.span);
    let flags = er.kind !== 'array' ? F_LVALUE : 0;
    if (base.flags & F_WRITABLE) flags |= F_WRITABLE;
    if ((base.flags & F_USER) && er.kind === 'pointer') flags |= F_USER;
    if (base.flags & F_ALLOCA) flags |= F_DEREF_ALLOCA;
    return record(e, { type: elem, flags, node: 'other' });
  }

  function cookAssoc(e: Index, name: string, prefix: string, info: VariableInfo, entry: { flags: number }, idflags: number): Info {
    const keys = cookList(e.indices);
    info.keyTypes = checkKeys('', name, info.keyTypes, keys, e.indices, 'associative array', e.span);
    void prefix;
    if ((idflags & ID_REF) && info.type === undefined && !info.declared) {
      fail('D_VAR_UNDEF', `${info.scope === 'thread' ? 'self->' : ''}${name} has not yet been declared or assigned`, e.span);
    }
    entry.flags |= idflags;
    return record(e, { type: info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (info.userland ? F_USER : 0), node: 'var', dynKind: info.type ? undefined : 'associative array' },
      { kind: 'variable', info });
  }

  function cookBuiltinArray(e: Index, obj: Ident, v: BuiltinVariable): Info {
    const idx = cookList(e.indices);
    if (idx.length !== 1) fail('D_PROTO_LEN', `${v.name}[ ] prototype mismatch: ${idx.length} arg${idx.length === 1 ? ' ' : 's '}passed, 1 expected`, e.span);
    const i0 = idx[0]!;
    if (i0.node !== 'int' || i0.constVal === undefined) {
      fail('D_PROTO_ARG', `${v.name}[ ] argument #1 is incompatible with prototype:\n\tprototype: integer constant\n\t argument: ${typeNameOf(i0)}`, e.indices[0]!.span);
    }
    const index = Number(BigInt.asIntN(64, i0.constVal));
    record(obj, { type: DYN, flags: 0, node: 'var', dynKind: 'associative array' });
    if (v.name === 'uregs') {
      if (index < 0) fail('D_REGS_IDX', `index ${index} is out of range for array ${v.name}`, e.span);
      return record(e, { type: typeFromText('uint64_t')!, flags: 0, node: 'var' }, { kind: 'uregs', index });
    }
    if (v.name === 'args') {
      if (!currentClause) fail('D_ARGS_NONE', `args[ ] may not be referenced outside of a probe clause`, e.span);
      const descs = opts.probeArgTypes ? undefined : opts.probeArgDescs?.(currentClause!);
      if (descs !== undefined) {
        if (index < 0 || index >= descs.length) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(currentClause)} args[ ]`, e.span);
        const d = descs[index]!;
        const native = parseTypeText(scope, d.native) ?? typeFromText('int64_t')!;
        if (d.xlate) {
          const xt = parseTypeText(scope, d.xlate);
          const xr = xt && resolve(xt);
          const pointer = xr?.kind === 'pointer';
          const out = xr && resolve(pointer ? (xr as PointerType).target : xr);
          const x = out?.kind === 'struct' ? findTranslator({ type: native, flags: 0, node: 'var' }, out) : undefined;
          if (x) {
            return record(e, { type: DYN, flags: 0, node: 'other', dynKind: pointer ? 'pointer to translated data' : 'translated data', xlate: { translator: x, pointer } },
              { kind: 'args', index, type: xt!, mapping: d.mapping });
          }
        }
        return record(e, { type: native, flags: d.userland ? F_USER : 0, node: 'var' }, { kind: 'args', index, type: native, mapping: d.mapping });
      }
      const types = opts.probeArgTypes?.(currentClause!);
      if (types === undefined) {
        if (index < 0 || index > 9) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(currentClause)} args[ ]`, e.span);
        const t = typeFromText('int64_t')!;
        return record(e, { type: t, flags: 0, node: 'var' }, { kind: 'args', index, type: t });
      }
      if (index < 0 || index >= types.length) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(currentClause)} args[ ]`, e.span);
      const t = types[index]!;
      return record(e, { type: t, flags: 0, node: 'var' }, { kind: 'args', index, type: t });
    }
    // fds[] (D library): fileinfo_t
    const t = parseTypeText(scope, v.type);
    if (!t) fail('D_IDENT_UNDEF', `failed to resolve ${v.name}: Unknown variable name`, obj.span);
    return record(e, { type: t!, flags: 0, node: 'var' });
  }

  function completeStruct(st: StructType, op: string, span: Span): StructType {
    if (st.members) return st;
    if (st.name !== undefined) {
      const found = scope.tags.get(`${st.tag} ${st.name}`) ?? scope.kernel()?.structType(st.tag, st.name);
      if (found?.members) return found;
    }
    return fail('D_OP_INCOMPLETE', `operator ${op} cannot be applied to a forward declaration: no ${st.tag} ${st.name ?? ''} definition is available`, span);
  }

  function cookMember(e: Member, idflags: number): Info {
    void idflags;
    const op = e.arrow ? '->' : '.';
    const base = cook(e.object, ID_REF);
    if (base.xlate) {
      const tr = base.xlate.translator;
      if (e.arrow && !base.xlate.pointer) fail('D_OP_PTR', `operator ${op} must be applied to a pointer`, e.span);
      if (!e.arrow && base.xlate.pointer) fail('D_OP_SOU', `operator . cannot be applied to type "${typeName(pointerTo(tr.output))}"; must be applied to a struct or union`, e.span);
      const expr = tr.members.get(e.member);
      if (!expr) {
        if (!memberOf(tr.output, e.member)) fail('D_TYPE_MEMBER', `${e.member} is not a member of ${typeName(tr.output)}`, e.memberSpan);
        fail('D_XLATE_NOCONV', `translator does not define conversion for member: ${e.member}`, e.memberSpan);
      }
      const m = memberOf(tr.output, e.member)!;
      return record(e, { type: m.type, flags: 0, node: 'other' }, { kind: 'xlate-member', translator: tr, member: e.member, expr: expr! });
    }
    let t = resolve(base.type);
    if (e.arrow) {
      if (isDyn(base.type) || t.kind !== 'pointer') fail('D_OP_PTR', `operator -> must be applied to a pointer`, e.span);
      t = resolve((t as PointerType).target);
    }
    if (t.kind === 'struct' && !t.members) t = completeStruct(t, op, e.span);
    if (t.kind !== 'struct') {
      if (e.arrow) fail('D_OP_SOU', `operator -> cannot be applied to pointer to type "${typeName(t)}"; must be applied to a struct or union pointer`, e.span);
      fail('D_OP_SOU', `operator ${op} cannot be applied to type "${typeNameOf(base)}"; must be applied to a struct or union`, e.span);
    }
    const st = t as StructType;
    const m = memberOf(st, e.member);
    if (!m) fail('D_TYPE_MEMBER', `${e.member} is not a member of ${typeName(st)}`, e.memberSpan);
    const mr = resolve(m!.type);
    let flags = 0;
    if (e.arrow && mr.kind !== 'array') flags |= F_LVALUE;
    if (!e.arrow && (base.flags & F_LVALUE) && mr.kind !== 'array') flags |= F_LVALUE;
    if (base.flags & F_WRITABLE) flags |= F_WRITABLE;
    if (m!.bitSize !== undefined) flags |= F_BITFIELD;
    if ((base.flags & F_USER) && (mr.kind === 'pointer' || mr.kind === 'struct' || mr.kind === 'array')) flags |= F_USER;
    return record(e, { type: m!.type, flags, node: 'other' }, { kind: 'member', struct: st, member: m! });
  }

  function cookCall(e: Call): Info {
    const fn = lookupBuiltinFunction(e.callee.name);
    const g = lookupGlobal(e.callee.name);
    if (!fn || (g && g.kind !== 'function')) {
      if (g && g.kind !== 'function') fail('D_FUNC_IDKIND', `${idkindName(g)} '${e.callee.name}' may not be referenced as a function`, e.callee.span);
      fail('D_FUNC_UNDEF', `undefined function name: ${e.callee.name}`, e.callee.span);
    }
    const f = fn!;
    const args = e.args.map((a, i) => {
      // printa()/clear()/trunc()/normalize() name aggregations as arguments.
      const au = unparen(a);
      if (au.kind === 'AggRef') return cookAggRef(au, false).info;
      void i;
      return cook(a, ID_REF);
    });
    const argc = args.length;
    const min = f.variadicFrom ?? f.params.filter((p) => !p.optional).length;
    const max = f.variadicFrom !== undefined ? Infinity : f.params.length;
    const hasOpt = f.params.some((p) => p.optional);
    let limit = argc;
    if (f.variadicFrom !== undefined) {
      if (argc < min) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at least ${min} expected`, e.span);
      limit = min;
    } else if (hasOpt) {
      if (argc < min) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at least ${min} expected`, e.span);
      if (argc > max) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at most ${max} expected`, e.span);
    } else if (argc !== max) {
      fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, ${max} expected`, e.span);
    }
    for (let i = 0; i < limit; i++) {
      const p = f.params[i]!;
      if (p.type === '@') continue;
      const pt = typeFromText(p.type);
      if (!pt) continue;
      if (!argCompat(typeInfo(pt), args[i]!)) {
        fail('D_PROTO_ARG', `${f.name}( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: ${typeName(pt)}\n\t argument: ${typeNameOf(args[i]!)}`, e.args[i]!.span);
      }
    }
    if (f.destructive) usesDestructive = true;
    // The destination of bcopy()/copyinto() must be scratch memory from alloca().
    const dstIndex = f.name === 'bcopy' ? 1 : f.name === 'copyinto' ? 2 : -1;
    if (dstIndex >= 0 && args[dstIndex] && !(args[dstIndex]!.flags & F_ALLOCA)) {
      fail('D_PROTO_ARG', `${f.name}( ) argument #${dstIndex + 1} is incompatible with prototype:\n\tprototype: alloca pointer\n\t argument: non-alloca pointer`, e.args[dstIndex]!.span);
    }
    // A constant size larger than scratch space cannot be allocated (copyin() allocates too).
    if ((f.name === 'alloca' || f.name === 'copyin') && args[f.name === 'alloca' ? 0 : 1]?.constVal !== undefined) {
      const size = BigInt.asUintN(64, args[f.name === 'alloca' ? 0 : 1]!.constVal!);
      const scratch = scratchsize();
      if (size > BigInt(scratch)) {
        fail('D_ALLOCA_SIZE', `alloca(${size}) size larger than scratchsize ${scratch}`, e.span);
      }
    }
    const ret = f.kind === 'aggregation' ? DYN : (typeFromText(f.returns) ?? Types.void);
    let flags = 0;
    if (f.name === 'alloca' || f.name === 'copyin') flags |= F_ALLOCA;
    return record(e, { type: ret, flags, node: 'func', fn: f, dynKind: f.kind === 'aggregation' ? 'aggregating function' : undefined },
      { kind: 'function', fn: f });
  }

  function cookAssign(e: Assign): Info {
    const target = unparen(e.target);
    const opName = e.op;
    // Aggregation assignment: @a[keys] = fn(args)
    if (e.op === '=' && (target.kind === 'AggRef' || (target.kind === 'Index' && unparen(target.object).kind === 'AggRef'))) {
      const aggRef = (target.kind === 'AggRef' ? target : unparen((target as Index).object)) as AggRef;
      if (target.kind === 'Index' && unparen(target.object).kind === 'Index') {
        fail('D_AGG_MDIM', `improper attempt to reference @${aggRef.name} as a multi-dimensional array`, target.span);
      }
      const { agg } = cookAggRef(aggRef, true);
      const rhs = cook(e.value, ID_REF);
      const vu = unparen(e.value);
      if (rhs.node !== 'func' || rhs.fn?.kind !== 'aggregation') {
        fail('D_AGG_FUNC', `@${aggRef.name} must be assigned the result of an aggregating function`, e.span);
      }
      if (agg.info.fn && agg.info.fn !== rhs.fn!.name) {
        fail('D_AGG_REDEF', `aggregation redefined: @${aggRef.name}\n\t current: @${aggRef.name} = ${rhs.fn!.name}( )\n\tprevious: @${aggRef.name} = ${agg.info.fn}( ) : line ${agg.fnLine}`, e.span);
      }
      if (!agg.info.fn) {
        agg.info.fn = rhs.fn!.name;
        agg.fnLine = lineOf(e.span);
      }
      if (target.kind === 'Index') cookIndex(target, ID_MOD);
      else agg.info.keyTypes = checkKeys('@', aggRef.name, agg.info.keyTypes, [], [], 'aggregation', e.span);
      agg.flags |= ID_MOD;
      void vu;
      return record(e, { type: DYN, flags: 0, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
    }
    // Create variables on first assignment.
    let lhs: Info;
    if (target.kind === 'Ident') lhs = cookIdent(target, 0, true);
    else if (target.kind === 'SelfVar' || target.kind === 'ThisVar') lhs = cookScoped(target, 0);
    else if (target.kind === 'Index') lhs = cookIndex(target, 0);
    else lhs = cook(e.target, 0);
    const lsym = symbols.get(target);
    const varInfo = lsym?.kind === 'variable' ? lsym.info : undefined;
    if (e.op === '=') {
      const rhs = cook(e.value, ID_REF);
      if (varInfo && varInfo.type === undefined && !varInfo.declared) {
        // A new variable takes the type of its first assignment.
        let t = rhs.type;
        if (rhs.xlate) {
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" = "${typeNameOf(rhs)}"`, e.span);
        }
        if (isDyn(t) || isVoid(t)) {
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" = "${typeNameOf(rhs)}"`, e.span);
        }
        const rr = resolve(t);
        if (isCharPointerOrArray(t) && rr.kind === 'array') t = Types.string;
        varInfo.type = t;
        if (rhs.flags & F_USER) varInfo.userland = true;
        lhs = record(target, { ...lhs, type: t, dynKind: undefined, flags: lhs.flags | (rhs.flags & F_USER) });
      }
      if (!isStringT(lhs.type)) {
        const k = resolve(lhs.type).kind;
        if (k === 'array' || k === 'function') {
          fail('D_OP_ARRFUN', `operator ${opName} may not be applied to operand of type "${typeNameOf(lhs)}"`, e.span);
        }
      }
      // Storing a literal 0 into a thread-local or associative element deletes it, whatever its type.
      const deletes = rhs.node === 'int' && rhs.constVal === 0n && varInfo !== undefined && (varInfo.scope === 'thread' || varInfo.kind === 'assoc');
      if (!deletes && !argCompat(lhs, rhs)) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" ${opName} "${typeNameOf(rhs)}"`, e.span);
      }
      return asgnCommon(e, lhs, rhs, varInfo);
    }
    if (varInfo && varInfo.type === undefined && !varInfo.declared && target.kind !== 'Index') {
      if ((e.op === '+=' || e.op === '-=')) {
        // DTrace reads an unassigned variable here: report it as undeclared.
      }
    }
    const rhs = cook(e.value, ID_REF | ID_MOD);
    if (varInfo && varInfo.type === undefined) {
      fail('D_VAR_UNDEF', `${varInfo.scope === 'thread' ? 'self->' : varInfo.scope === 'clause' ? 'this->' : ''}${varInfo.name} has not yet been declared or assigned`, e.target.span);
    }
    switch (e.op) {
      case '|=': case '^=': case '&=': case '<<=': case '>>=': case '%=':
        if (!isIntegerT(lhs.type) || !isIntegerT(rhs.type)) fail('D_OP_INT', `operator ${opName} requires operands of integral type`, e.span);
        break;
      case '*=': case '/=':
        if (!isIntegerT(lhs.type) || !isIntegerT(rhs.type)) fail('D_OP_ARITH', `operator ${opName} requires operands of arithmetic type`, e.span);
        break;
      case '+=': case '-=':
        if (isStringT(lhs.type) || isStringT(rhs.type)) {
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" ${opName} "${typeNameOf(rhs)}"`, e.span);
        }
        if (!isIntegerT(lhs.type) || !isIntegerT(rhs.type)) {
          if (!isPointerT(lhs.type) || isVfptr(lhs.type) || resolve(lhs.type).kind === 'array') {
            fail('D_OP_VFPTR', `operator ${opName} requires left-hand scalar operand of known size`, e.span);
          } else if (!isIntegerT(rhs.type) && !ptrCompat(lhs, rhs)) {
            fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" ${opName} "${typeNameOf(rhs)}"`, e.span);
          }
        }
        break;
    }
    return asgnCommon(e, lhs, rhs, varInfo);
  }

  function asgnCommon(e: Assign, lhs: Info, rhs: Info, varInfo: VariableInfo | undefined): Info {
    if (!(lhs.flags & F_LVALUE)) fail('D_OP_LVAL', `operator ${e.op} requires modifiable lvalue as an operand`, e.span);
    if (!(lhs.flags & F_WRITABLE)) fail('D_OP_WRITE', `operator ${e.op} can only be applied to a writable variable`, e.span);
    if (varInfo && (rhs.flags & F_NONASSIGN)) {
      fail('D_ALLOCA_INCOMPAT', 'ternary conditional with alloca and non-alloca branches cannot be assigned to a variable', e.span);
    }
    const target = unparen(e.target);
    const ent = target.kind === 'Ident' ? globals.get(target.name)
      : target.kind === 'SelfVar' ? tls.get(target.name) : target.kind === 'ThisVar' ? locals.get(target.name) : undefined;
    if (ent && 'flags' in ent) {
      ent.flags |= ID_MOD;
      if (rhs.flags & F_ALLOCA) ent.flags |= ID_ALLOCA;
    }
    if (target.kind === 'Index') {
      const s = symbols.get(target);
      if (s?.kind === 'variable') {
        const o = unparen(target.object);
        const ent2 = o.kind === 'Ident' ? globals.get(o.name) : o.kind === 'SelfVar' ? tls.get(o.name) : undefined;
        if (ent2 && 'flags' in ent2) ent2.flags |= ID_MOD;
        if (s.info.type === undefined) {
          if (isDyn(rhs.type) || isVoid(rhs.type)) {
            fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(lhs)}" ${e.op} "${typeNameOf(rhs)}"`, e.span);
          }
          let t = rhs.type;
          if (isCharPointerOrArray(t) && resolve(t).kind === 'array') t = Types.string;
          s.info.type = t;
          if (rhs.flags & F_USER) s.info.userland = true;
        }
      }
    }
    return record(e, { type: lhs.type, flags: 0, node: 'other' });
  }

  function scratchsize(): number {
    if (opts.scratchsizeBytes !== undefined) return opts.scratchsizeBytes;
    let v = 256;
    for (const [name, value] of options) {
      if (name !== 'scratchsize' || value === undefined) continue;
      const m = /^(\d+)([kmgt]?)$/i.exec(value);
      if (m) v = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1);
    }
    return v;
  }

  function lineOf(span: Span): number { return reportedLine(span.source, span.start).line; }

  /** Builtin prototype and variable type names, resolved once per check. */
  const typeTextCache = new Map<string, CType | undefined>();
  function typeFromText(text: string): CType | undefined {
    if (typeTextCache.has(text)) return typeTextCache.get(text);
    const t = parseTypeText(scope, text);
    // Library types may appear later; only cache successes.
    if (t) typeTextCache.set(text, t);
    return t;
  }

  /**
   * Folds a binary operator on integer constants in 64 bits, as DTrace does (dt_node_op2): the
   * value is not narrowed to the operator's type; only a cast or a store narrows it.
   */
  function foldBinary(op: string, l: bigint, r: bigint, t: CType): bigint | undefined {
    const lv = widen64(l, t), rv = widen64(r, t);
    switch (op) {
      case '+': return widen64(lv + rv, t);
      case '-': return widen64(lv - rv, t);
      case '*': return widen64(lv * rv, t);
      case '/': return rv === 0n ? undefined : widen64(lv / rv, t);
      case '%': return rv === 0n ? undefined : widen64(lv % rv, t);
      case '&': return widen64(lv & rv, t);
      case '|': return widen64(lv | rv, t);
      case '^': return widen64(lv ^ rv, t);
      case '<<': return widen64(lv << (rv & 63n), t);
      case '>>': return widen64(lv >> (rv & 63n), t);
      default: return undefined;
    }
  }

  function cook(e: Expr, idflags: number): Info {
    switch (e.kind) {
      case 'Paren': {
        const i = cook(e.inner, idflags);
        const s = symbols.get(e.inner);
        return record(e, i, s);
      }
      case 'IntLit': return record(e, { type: intLitType(e), flags: 0, node: 'int', constVal: wrap(e.value, intLitType(e)) });
      case 'CharLit': {
        // DTrace's lexer hands a character constant to the parser as an unsuffixed integer
        // constant: 'abcd' is an int, a constant of more than four bytes a long.
        const t = intLitType({ kind: 'IntLit', span: e.span, value: e.value, suffix: '', base: 16 });
        return record(e, { type: t, flags: 0, node: 'int', constVal: wrap(e.value, t) });
      }
      case 'FloatLit': return fail('D_FLOAT', 'floating-point constants are not permitted', e.span);
      case 'StringLit': return record(e, { type: Types.string, flags: 0, node: 'string', str: e.value });
      case 'MacroVar': return e.stringForm
        ? record(e, { type: Types.string, flags: 0, node: 'string' })
        : record(e, { type: Types.int, flags: 0, node: 'int' });
      case 'Ident': return cookIdent(e, idflags, false);
      case 'KernelSym': {
        const t = scope.kernel()?.variableType?.(e.name);
        if (!t) {
          fail('D_IDENT_UNDEF', `failed to resolve ${e.module ?? ''}\`${e.name}: ${scope.kernel() ? 'Unknown symbol name' : 'No symbol table is available'}`, e.span);
        }
        return record(e, { type: t!, flags: F_LVALUE, node: 'sym' }, { kind: 'kernel-sym', name: e.name, module: e.module, type: t! });
      }
      case 'AggRef': return cookAggRef(e, false).info;
      case 'SelfVar': case 'ThisVar': return cookScoped(e, idflags);
      case 'Unary': return cookUnary(e);
      case 'Postfix': return cookIncDec(e, e.op, e.operand);
      case 'Binary': return cookBinary(e);
      case 'Logical': {
        const l = cook(e.left, ID_REF), r = cook(e.right, ID_REF);
        if (!isScalarT(l.type) || !isScalarT(r.type)) fail('D_OP_SCALAR', `operator ${e.op} requires operands of scalar type`, e.span);
        let c: bigint | undefined;
        if (l.constVal !== undefined && r.constVal !== undefined) {
          const a = l.constVal !== 0n, b = r.constVal !== 0n;
          c = (e.op === '&&' ? a && b : e.op === '||' ? a || b : a !== b) ? 1n : 0n;
        }
        return record(e, { type: Types.int, flags: (l.flags | r.flags) & F_ALLOCA, node: c !== undefined ? 'int' : 'other', constVal: c });
      }
      case 'Assign': return cookAssign(e);
      case 'Ternary': return cookTernary(e);
      case 'Cast': return cookCast(e);
      case 'SizeofExpr': {
        const o = cook(e.operand, 0);
        if (o.flags & F_BITFIELD) fail('D_SIZEOF_BITFIELD', 'cannot apply sizeof to a bit-field', e.span);
        // A string literal's size is its own length plus the NUL (dt_node_sizeof on a string
        // node); any other string-typed operand has the string type's size, strsize.
        let operand: Expr = e.operand;
        while (operand.kind === 'Paren') operand = operand.inner;
        const size = operand.kind === 'StringLit' ? Buffer.byteLength(operand.value, 'latin1') + 1
          : isDyn(o.type) ? 0 : sizeOf(o.type, strsize);
        if (size === 0) fail('D_SIZEOF_TYPE', 'cannot apply sizeof to an operand of unknown size', e.span);
        return record(e, { type: typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(size) });
      }
      case 'SizeofType': {
        const t = resolveTypeName(declCtx, e.type);
        const size = sizeOf(t, strsize);
        if (size === 0) fail('D_SIZEOF_TYPE', 'cannot apply sizeof to an operand of unknown size', e.span);
        return record(e, { type: typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(size) });
      }
      case 'Offsetof': {
        const t = resolve(resolveTypeName(declCtx, e.type));
        if (t.kind !== 'struct') fail('D_OFFSETOF_TYPE', 'offsetof operand must be a struct or union type', e.span);
        const st = t as StructType;
        if (!st.members) fail('D_OFFSETOF_TYPE', 'offsetof operand must be a struct or union type', e.span);
        const m = memberOf(st, e.member);
        if (!m) fail('D_UNKNOWN', `failed to determine offset of ${e.member}: Member name not found`, e.span);
        if (m!.bitSize !== undefined) fail('D_OFFSETOF_BITFIELD', `cannot take offset of a bit-field: ${e.member}`, e.span);
        return record(e, { type: typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(m!.bitOffset / 8) });
      }
      case 'Stringof': {
        const o = cook(e.operand, ID_REF);
        if (!isScalarT(o.type) && !isPointerT(o.type) && !isStrCompat(o.type)) {
          fail('D_STRINGOF_TYPE', `cannot apply stringof to a value of type ${typeNameOf(o)}`, e.span);
        }
        return record(e, { type: Types.string, flags: o.flags & F_ALLOCA, node: 'other' });
      }
      case 'Xlate': return cookXlate(e.type, e.operand, e);
      case 'Member': return cookMember(e, idflags);
      case 'Index': return cookIndex(e, idflags);
      case 'Call': return cookCall(e);
    }
  }

  function cookUnary(e: Extract<Expr, { kind: 'Unary' }>): Info {
    if (e.op === '++' || e.op === '--') return cookIncDec(e, e.op, e.operand);
    const c = cook(e.operand, ID_REF);
    switch (e.op) {
      case '*': {
        if (c.xlate?.pointer) {
          return record(e, { type: DYN, flags: 0, node: 'other', dynKind: 'translated data', xlate: { translator: c.xlate.translator, pointer: false } },
            { kind: 'xlate', translator: c.xlate.translator, pointer: false });
        }
        const r = resolve(c.type);
        if (isDyn(c.type) || (r.kind !== 'pointer' && r.kind !== 'array')) fail('D_DEREF_NONPTR', 'cannot dereference non-pointer type', e.span);
        const t = r.kind === 'pointer' ? r.target : (r as { element: CType }).element;
        const tr = resolve(t);
        if (tr.kind === 'void') fail('D_DEREF_VOID', 'cannot dereference pointer to void', e.span);
        if (tr.kind === 'function') fail('D_DEREF_FUNC', 'cannot dereference pointer to function', e.span);
        let flags = tr.kind !== 'array' ? F_LVALUE : 0;
        if (c.flags & F_WRITABLE) flags |= F_WRITABLE;
        if ((c.flags & F_USER) && tr.kind === 'pointer') flags |= F_USER;
        if (c.flags & F_ALLOCA) flags |= F_DEREF_ALLOCA;
        return record(e, { type: t, flags, node: 'other' });
      }
      case '+': case '-': {
        if (!isIntegerT(c.type)) fail('D_OP_ARITH', `operator ${e.op} requires an operand of arithmetic type`, e.span);
        const v = c.constVal !== undefined ? widen64(e.op === '-' ? -c.constVal : c.constVal, c.type) : undefined;
        return record(e, { type: c.type, flags: c.flags & F_ALLOCA, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '~': {
        if (!isIntegerT(c.type)) fail('D_OP_INT', `operator ${e.op} requires an operand of integral type`, e.span);
        const v = c.constVal !== undefined ? widen64(~c.constVal, c.type) : undefined;
        return record(e, { type: c.type, flags: 0, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '!': {
        if (!isScalarT(c.type)) fail('D_OP_SCALAR', `operator ${e.op} requires an operand of scalar type`, e.span);
        const v = c.constVal !== undefined ? (c.constVal === 0n ? 1n : 0n) : undefined;
        return record(e, { type: Types.int, flags: 0, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '&': {
        const o = unparen(e.operand);
        if (c.node === 'var' || c.node === 'agg' || o.kind === 'AggRef') {
          const s = symbols.get(o);
          if (!(s?.kind === 'builtin-var' || s?.kind === 'xlate-input') || c.node === 'agg') fail('D_ADDROF_VAR', 'cannot take address of dynamic variable', e.span);
        }
        if (isDyn(c.type)) fail('D_ADDROF_VAR', 'cannot take address of dynamic object', e.span);
        if (!(c.flags & F_LVALUE)) fail('D_ADDROF_LVAL', 'unacceptable operand for unary & operator', e.span);
        if (c.flags & F_BITFIELD) fail('D_ADDROF_BITFIELD', 'cannot take address of bit-field', e.span);
        const alloca = c.flags & (F_ALLOCA | F_DEREF_ALLOCA) ? F_ALLOCA : 0;
        return record(e, { type: pointerTo(c.type, c.flags & F_USER ? 'user' : undefined), flags: (c.flags & F_USER) | alloca, node: 'other' });
      }
    }
    return c;
  }

  function cookIncDec(e: Expr, op: string, operand: Expr): Info {
    const o = unparen(operand);
    let c: Info;
    if (o.kind === 'Ident') c = cookIdent(o, 0, true);
    else c = cook(operand, 0);
    const s = symbols.get(o);
    if (s?.kind === 'variable' && s.info.type === undefined && !s.info.declared && s.info.kind === 'scalar') {
      s.info.type = typeFromText('int64_t')!;
      c = record(o, { ...c, type: s.info.type });
    }
    if (s?.kind === 'variable') {
      const ent = o.kind === 'Ident' ? globals.get(o.name) : o.kind === 'SelfVar' ? tls.get(o.name) : o.kind === 'ThisVar' ? locals.get(o.name) : undefined;
      if (ent && 'flags' in ent) ent.flags |= ID_REF | ID_MOD;
    }
    if (!isScalarT(c.type)) fail('D_OP_SCALAR', `operator ${op} requires operand of scalar type`, e.span);
    if (isVfptr(c.type)) fail('D_OP_VFPTR', `operator ${op} requires an operand of known size`, e.span);
    if (!(c.flags & F_LVALUE)) fail('D_OP_LVAL', `operator ${op} requires modifiable lvalue as an operand`, e.span);
    if (!(c.flags & F_WRITABLE)) fail('D_OP_WRITE', `operator ${op} can only be applied to a writable variable`, e.span);
    return record(e, { type: c.type, flags: 0, node: 'other' });
  }

  function cookBinary(e: Extract<Expr, { kind: 'Binary' }>): Info {
    const op = e.op;
    if (op === ',') {
      const l = cook(e.left, ID_REF), r = cook(e.right, ID_REF);
      if (isDyn(l.type) || isDyn(r.type)) fail('D_OP_DYN', `operator ${op} operands cannot be of dynamic type`, e.span);
      if (l.fn?.kind === 'action' || r.fn?.kind === 'action') fail('D_OP_ACT', `operator ${op} operands cannot be actions`, e.span);
      return record(e, { ...r, flags: r.flags & F_ALLOCA, node: 'other' });
    }
    if (op === '<' || op === '<=' || op === '>' || op === '>=' || op === '==' || op === '!=') {
      const l = cook(e.left, ID_REF);
      // An identifier compared with an enum value may name one of its enumerators.
      const ru = unparen(e.right);
      let r: Info | undefined;
      const lr = resolve(l.type);
      if (lr.kind === 'enum' && ru.kind === 'Ident' && !isDyn(l.type)) {
        const ev = lr.values.find((v) => v.name === ru.name);
        if (ev) {
          const g = globals.get(ru.name);
          if (g && !(g.kind === 'enum-const' && g.type === lr)) {
            fail('D_IDENT_AMBIG', `ambiguous use of operator ${op}: ${ru.name} is both a ${typeName(l.type)} enum tag and a global ${idkindName(g)}`, e.span);
          }
          r = record(ru, { type: l.type, flags: 0, node: 'int', constVal: ev.value }, { kind: 'enum-const', name: ev.name, value: ev.value, type: lr });
          if (ru !== e.right) record(e.right, r);
        }
      }
      r ??= cook(e.right, ID_REF);
      if (typeCompat(l.type, r.type) && !isDyn(l.type)) { /* same type */ }
      else if (isIntegerT(l.type) && isIntegerT(r.type)) { /* integers */ }
      else if (isStrCompat(l.type) && isStrCompat(r.type) && (isStringT(l.type) || isStringT(r.type))) { /* strcmp */ }
      else if ((isStringT(l.type) && r.node === 'int' && r.constVal === 0n) || (isStringT(r.type) && l.node === 'int' && l.constVal === 0n)) { /* string vs NULL */ }
      else if (!ptrCompat(l, r)) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(l)}" ${op} "${typeNameOf(r)}"`, e.span);
      }
      let c: bigint | undefined;
      if (l.constVal !== undefined && r.constVal !== undefined && isIntegerT(l.type) && isIntegerT(r.type)) {
        const t = promote(l.type, r.type);
        const signed = asInt(t).signed;
        const a = signed ? BigInt.asIntN(64, l.constVal) : BigInt.asUintN(64, l.constVal);
        const b = signed ? BigInt.asIntN(64, r.constVal) : BigInt.asUintN(64, r.constVal);
        const res = op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : op === '==' ? a === b : a !== b;
        c = res ? 1n : 0n;
      }
      return record(e, { type: Types.int, flags: 0, node: c !== undefined ? 'int' : 'other', constVal: c });
    }
    const l = cook(e.left, ID_REF), r = cook(e.right, ID_REF);
    if ((op === '/' || op === '%') && r.node === 'int' && r.constVal === 0n) {
      fail('D_DIV_ZERO', 'expression contains division by zero', e.span);
    }
    switch (op) {
      case '&': case '^': case '|': case '%': case '<<': case '>>': case '*': case '/': {
        if (!isIntegerT(l.type) || !isIntegerT(r.type)) {
          if (op === '*' || op === '/') fail('D_OP_ARITH', `operator ${op} requires operands of arithmetic type`, e.span);
          fail('D_OP_INT', `operator ${op} requires operands of integral type`, e.span);
        }
        const t = op === '<<' || op === '>>' ? l.type : promote(l.type, r.type);
        const c = l.constVal !== undefined && r.constVal !== undefined ? foldBinary(op, l.constVal, r.constVal, t) : undefined;
        return record(e, { type: t, flags: (l.flags | r.flags) & F_ALLOCA, node: c !== undefined ? 'int' : 'other', constVal: c });
      }
      case '+': case '-': {
        const lp = isStringT(l.type) || (isPointerT(l.type) && !isVfptr(l.type));
        const rp = isStringT(r.type) || (isPointerT(r.type) && !isVfptr(r.type));
        const li = isIntegerT(l.type), ri = isIntegerT(r.type);
        let t: CType;
        let flags = (l.flags | r.flags) & F_ALLOCA;
        if (li && ri) t = promote(l.type, r.type);
        else if (lp && ri) { t = l.type; flags |= l.flags & F_USER; }
        else if (li && rp && op === '+') { t = r.type; flags |= r.flags & F_USER; }
        else if (lp && rp && op === '-' && ptrCompat(l, r)) t = typeFromText('ptrdiff_t')!;
        else return fail('D_OP_INCOMPAT', `operands have incompatible types: "${typeNameOf(l)}" ${op} "${typeNameOf(r)}"`, e.span);
        if (lp && rp && ((l.flags & F_ALLOCA) !== (r.flags & F_ALLOCA))) {
          fail('D_OP_INCOMPAT', `adding or subtracting pointers to alloca and non-alloca space is meaningless: "${typeNameOf(l)}" ${op} "${typeNameOf(r)}"`, e.span);
        }
        // Arrays decay to pointers in arithmetic.
        const tr = resolve(t);
        if (tr.kind === 'array' && !isStringT(t)) t = pointerTo(tr.element);
        const c = li && ri && l.constVal !== undefined && r.constVal !== undefined ? foldBinary(op, l.constVal, r.constVal, t) : undefined;
        return record(e, { type: t, flags, node: c !== undefined ? 'int' : 'other', constVal: c });
      }
    }
    return fail('D_UNKNOWN', `invalid binary op ${op}`, e.span);
  }

  function cookTernary(e: Extract<Expr, { kind: 'Ternary' }>): Info {
    const c = cook(e.cond, ID_REF), l = cook(e.then, ID_REF), r = cook(e.else, ID_REF);
    if (!isScalarT(c.type)) fail('D_OP_SCALAR', 'operator ?: expression must be of scalar type', e.span);
    if (isDyn(l.type) || isDyn(r.type)) fail('D_OP_DYN', 'operator ?: operands cannot be of dynamic type', e.span);
    let t: CType;
    if (typeCompat(l.type, r.type)) t = l.type;
    else if (isIntegerT(l.type) && isIntegerT(r.type)) t = promote(l.type, r.type);
    else if (isStrCompat(l.type) && isStrCompat(r.type) && (isStringT(l.type) || isStringT(r.type))) t = Types.string;
    else if (ptrCompat(l, r)) t = (l.node === 'int' ? r.type : l.type);
    else return fail('D_OP_INCOMPAT', 'operator ?: operands must have compatible types', e.span);
    if (l.fn?.kind === 'action' || r.fn?.kind === 'action') fail('D_OP_ACT', 'action cannot be used in a conditional context', e.span);
    let flags = 0;
    if ((l.flags & F_ALLOCA) !== (r.flags & F_ALLOCA)) flags |= F_NONASSIGN;
    if ((l.flags | r.flags) & F_NONASSIGN) flags |= F_NONASSIGN;
    if (l.flags & F_ALLOCA) flags |= F_ALLOCA;
    const cv = c.constVal !== undefined ? (c.constVal !== 0n ? l.constVal : r.constVal) : undefined;
    return record(e, { type: t, flags, node: cv !== undefined ? 'int' : 'other', constVal: cv });
  }

  function cookCast(e: Extract<Expr, { kind: 'Cast' }>): Info {
    const t = resolveTypeName(declCtx, e.type);
    const r = cook(e.operand, ID_REF);
    const lk = resolve(t).kind, rk = isDyn(r.type) ? 'dyn' : resolve(r.type).kind;
    let ok = false;
    if (!isDyn(r.type) && typeCompat(t, r.type)) ok = true;
    else if (isScalarT(t) && (isScalarT(r.type) || rk === 'function')) ok = true;
    else if (lk === 'void') ok = true;
    else if (lk === 'pointer' && isPointerT(r.type)) ok = true;
    else if (isStringT(t) && (isScalarT(r.type) || isPointerT(r.type) || isStrCompat(r.type))) ok = true;
    if (!ok) fail('D_CAST_INVAL', `invalid cast expression: "${typeNameOf(r)}" to "${typeName(t)}"`, e.span);
    const c = r.constVal !== undefined && isIntegerT(t) ? wrap(r.constVal, t) : undefined;
    return record(e, { type: t, flags: r.flags & (F_ALLOCA | F_USER), node: c !== undefined ? 'int' : 'other', constVal: c });
  }

  function findTranslator(input: Info, output: StructType): TranslatorInfo | undefined {
    const it = input.type;
    // Exact match first, then a fuzzy one (pointer/struct kinds equal, e.g. derived structs).
    for (const tr of translators) if (tr.output === output && typeCompat(tr.input, it)) return tr;
    for (const tr of translators) {
      if (tr.output !== output && !(tr.output.name !== undefined && tr.output.name === output.name)) continue;
      if (typeCompat(tr.input, it) || (isPointerT(tr.input) && ptrCompat(typeInfo(tr.input), input))) return tr;
    }
    return undefined;
  }

  function cookXlate(tn: TypeName, operand: Expr, e: Expr): Info {
    const t = resolveTypeName(declCtx, tn);
    const r = cook(operand, ID_REF);
    const tr = resolve(t);
    const pointer = tr.kind === 'pointer';
    const out = resolve(pointer ? (tr as PointerType).target : t);
    const x = out.kind === 'struct' ? findTranslator(r, out) : undefined;
    if (!x) fail('D_XLATE_NONE', `cannot translate from "${typeNameOf(r)}" to "${typeName(t)}"`, e.span);
    const dynKind = pointer ? 'pointer to translated data' : 'translated data';
    return record(e, { type: DYN, flags: r.flags & F_ALLOCA, node: 'other', dynKind, xlate: { translator: x!, pointer } },
      { kind: 'xlate', translator: x!, pointer });
  }

  // ------------------------------------------------------------------------------------------
  // Parse-time pass: declarations, inlines, translators, and checks DTrace makes while parsing.

  function declareVariable(d: Declaration): void {
    const storage = d.storage;
    if (storage === 'register' || storage === 'auto' || storage === 'static') {
      fail('D_DECL_BADCLASS', 'specified storage class not appropriate in D', d.span);
    }
    const base = resolveSpecifier(declCtx, d.specifiers);
    if (storage === 'typedef') {
      for (const id of d.declarators) {
        const r = applyDeclarator(declCtx, base, id.declarator);
        if (r.name === undefined) continue;
        if (scope.typedefs.has(r.name)) fail('D_DECL_IDRED', `typedef redeclared: ${r.name}`, id.span);
        scope.typedefs.set(r.name, typedef(r.name, r.type));
      }
      return;
    }
    if (d.declarators.length === 0) {
      const sk = d.specifiers.kind;
      const defines = (sk === 'StructSpec' && d.specifiers.members !== undefined) || (sk === 'EnumSpec' && d.specifiers.members !== undefined)
        || (sk === 'StructSpec' && d.specifiers.name !== undefined);
      if (!defines) fail('D_DECL_USELESS', 'useless declaration', d.span);
      return;
    }
    for (const id of d.declarators) {
      const r = applyDeclarator(declCtx, base, id.declarator);
      if (r.name === undefined) fail('D_DECL_USELESS', 'useless declaration', id.span);
      const name = r.name!;
      if (r.isFunction || storage === 'extern') continue; // prototypes and kernel externs declare nothing we store
      const rt = resolve(r.type);
      if (rt.kind === 'void') fail('D_DECL_VOIDOBJ', `cannot have void object: ${name}`, id.span);
      if (rt.kind === 'struct' && !rt.members) fail('D_DECL_INCOMPLETE', `incomplete struct/union/enum ${typeName(r.type)}: ${name}`, id.span);
      if (rt.kind === 'array' && rt.length === undefined && !r.keyTypes) {
        fail('D_DECL_ARRNULL', `array declaration requires array dimension or tuple signature: ${name}`, id.span);
      }
      if (storage === 'this' && r.keyTypes) fail('D_DECL_LOCASSC', `associative arrays may not be declared as local variables: ${name}`, id.span);
      const kind: VariableInfo['kind'] = r.keyTypes ? 'assoc' : 'scalar';
      if (storage === 'self' || storage === 'this') {
        const table = storage === 'self' ? tls : locals;
        const prev = table.get(name);
        if (prev) {
          if (prev.info.type && sameType(prev.info.type, r.type) && prev.info.kind === kind) continue;
          fail('D_DECL_IDRED', `identifier redeclared: ${name}`, id.span);
        }
        const info = newVar(name, storage === 'self' ? 'thread' : 'clause', kind, id.span, true);
        info.type = r.type; info.keyTypes = r.keyTypes;
        table.set(name, { info, flags: 0 });
        continue;
      }
      const prev = globals.get(name);
      if (prev) {
        if (prev.kind === 'variable' && prev.info.type && sameType(prev.info.type, r.type) && prev.info.kind === kind) continue;
        fail('D_DECL_IDRED', `identifier redeclared: ${name}`, id.span);
      }
      const info = newVar(name, 'global', kind, id.span, true);
      info.type = r.type; info.keyTypes = r.keyTypes;
      globals.set(name, { kind: 'variable', info, flags: 0 });
    }
  }

  function declareInline(d: InlineDecl): void {
    const decl = d.type.declarator;
    let params: { name: string; type: CType }[] | undefined;
    let t: CType;
    if (decl?.kind === 'ArrayDeclarator' && decl.keyTypes) {
      const base = resolveSpecifier(declCtx, d.type.specifiers);
      t = applyDeclarator(declCtx, base, decl.inner).type;
      params = decl.keyTypes.map((k) => ({ name: paramName(k), type: resolveTypeName(declCtx, k) }));
    } else {
      t = resolveTypeName(declCtx, d.type);
    }
    const prev = globals.get(d.name);
    if (prev) {
      const pk = prev.kind === 'inline' ? 'scalar inline' : `${idkindName(prev)} `;
      fail('D_DECL_IDRED', `identifier redefined: ${d.name}\n\t current: inline definition\n\tprevious: ${pk}`, d.span);
    }
    if (resolve(t).kind === 'void') fail('D_DECL_VOIDOBJ', `cannot declare void inline: ${d.name}`, d.span);
    if (params) {
      overlays.push(new Map(params.map((p, index) => [p.name, { kind: 'inline-param' as const, inline: d.name, index, type: p.type }])));
    }
    let v: Info;
    try { v = cook(d.value, ID_REF); } finally { if (params) overlays.pop(); }
    const info: InlineInfo = { name: d.name, type: t, value: d.value, span: d.span, ...(params ? { params } : {}) };
    if (v.xlate) {
      const lt = resolve(t);
      const lbase = lt.kind === 'pointer' ? resolve(lt.target) : lt;
      if (!(lbase.kind === 'struct' && (lbase === v.xlate.translator.output || lbase.name === v.xlate.translator.output.name))) {
        fail('D_OP_INCOMPAT', `inline ${d.name} definition uses incompatible types: "${typeName(lbase)}" = "${typeName(v.xlate.translator.output)}"`, d.span);
      }
      globals.set(d.name, { kind: 'inline', info, xlate: v.xlate });
    } else {
      if (!argCompat(typeInfo(t), v)) {
        fail('D_OP_INCOMPAT', `inline ${d.name} definition uses incompatible types: "${typeName(t)}" = "${typeNameOf(v)}"`, d.span);
      }
      globals.set(d.name, { kind: 'inline', info });
    }
    inlines.set(d.name, info);
  }

  /** The parameter name of an inline's key type (`int x`), read from the source text after the type. */
  function paramName(k: TypeName): string {
    const named = k.declarator ? declName(k.declarator) : undefined;
    if (named) return named;
    // The parser keeps the name inside the key type's span (`int x`): take its last word.
    const text = k.span.source.text.slice(k.span.start, k.span.end);
    const m = /([A-Za-z_]\w*)\s*$/.exec(text);
    return m && text.trim().includes(' ') ? m[1]! : '';
  }

  function declareTranslator(d: TranslatorDecl): void {
    // DTrace checks a translator when its final `;` is parsed, with that line (d.span.lineAt).
    const atDecl = (s: Span): Span => ({ ...s, lineAt: d.span.lineAt });
    const out = resolveTypeName(declCtx, d.output);
    const input = resolveTypeName(declCtx, d.input);
    const ro = resolve(out);
    if (ro.kind === 'struct' && !ro.members) fail('D_XLATE_SOU', `incomplete struct/union/enum ${typeName(out)}`, d.span);
    if (ro.kind !== 'struct') fail('D_XLATE_SOU', 'translator output type must be a struct or union', d.span);
    const output = ro as StructType;
    if (translators.some((t) => t.output === output && sameType(t.input, input))) {
      fail('D_XLATE_REDECL', `translator from ${typeName(input)} to ${typeName(out)} has already been declared`, d.span);
    }
    const tr: TranslatorInfo = { output, input, inputName: d.inputName, members: new Map(), decl: d };
    overlays.push(new Map([[d.inputName, { kind: 'xlate-input', type: input, translator: tr }]]));
    try {
      for (const m of d.members) {
        const mm = memberOf(output, m.name);
        if (!mm) fail('D_XLATE_MEMB', `translator member ${m.name} is not a member of ${typeName(output)}`, atDecl(m.span));
        const v = cook(m.value, ID_REF);
        if (!argCompat(typeInfo(mm!.type), v)) {
          fail('D_XLATE_INCOMPAT', `translator member ${m.name} definition uses incompatible types: "${typeName(mm!.type)}" = "${typeNameOf(v)}"`, atDecl(m.span));
        }
        tr.members.set(m.name, m.value);
      }
    } finally {
      overlays.pop();
    }
    translators.push(tr);
  }

  function parseTimeChecks(e: Expr | undefined): void {
    if (!e) return;
    walkExpr(e, (x) => {
      if (x.kind === 'Call') {
        const g = globals.get(x.callee.name);
        if (!lookupBuiltinFunction(x.callee.name)) {
          if (g) fail('D_FUNC_IDKIND', `${idkindName(g)} '${x.callee.name}' may not be referenced as a function`, x.callee.span);
          fail('D_FUNC_UNDEF', `undefined function name: ${x.callee.name}`, x.callee.span);
        }
      } else if (x.kind === 'Binary' && (x.op === '/' || x.op === '%')) {
        const r = unparen(x.right);
        if ((r.kind === 'IntLit' || r.kind === 'CharLit') && r.value === 0n) fail('D_DIV_ZERO', 'expression contains division by zero', x.span);
      } else if (x.kind === 'Cast' || x.kind === 'SizeofType' || x.kind === 'Offsetof' || x.kind === 'Xlate') {
        resolveTypeName(declCtx, x.type);
      }
    });
  }

  function parseTimeStmts(stmts: Stmt[]): void {
    for (const s of stmts) {
      switch (s.kind) {
        case 'ExprStmt': parseTimeChecks(s.expr); break;
        case 'IfStmt': parseTimeChecks(s.cond); parseTimeStmts([s.then, ...(s.else ? [s.else] : [])]); break;
        case 'BlockStmt': parseTimeStmts(s.body); break;
        case 'Declaration': declareVariable(s); break;
        case 'EmptyStmt': break;
      }
    }
  }

  function pragma(p: Pragma): void {
    if (p.directive !== 'option') return;
    for (const a of p.args) {
      const eq = a.indexOf('=');
      options.push(eq < 0 ? [a, undefined] : [a.slice(0, eq), a.slice(eq + 1)]);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Clauses

  function cookStmts(stmts: Stmt[]): void {
    for (const s of stmts) {
      switch (s.kind) {
        case 'ExprStmt': cook(s.expr, 0); break;
        case 'IfStmt': {
          const c = cook(s.cond, ID_REF);
          if (!isScalarT(c.type)) fail('D_PRED_SCALAR', 'predicate result must be of scalar type', s.cond.span);
          cookStmts([s.then, ...(s.else ? [s.else] : [])]);
          break;
        }
        case 'BlockStmt': cookStmts(s.body); break;
        case 'Declaration': case 'EmptyStmt': break;
      }
    }
  }

  function cookClause(c: Clause): void {
    currentClause = c;
    let retried = false;
    try {
      cookStmts(c.body);
    } catch (err) {
      if (!isCheckFailure(err) || !c.predicate || (err.tag !== 'D_IDENT_UNDEF' && err.tag !== 'D_VAR_UNDEF')) throw err;
      retried = true;
    }
    if (c.predicate) {
      const p = cook(c.predicate, ID_REF);
      // DTrace reports this with the lexer's line while cooking the clause: the clause's own.
      if (!isScalarT(p.type)) fail('D_PRED_SCALAR', 'predicate result must be of scalar type', { ...c.predicate.span, lineAt: c.span.lineAt });
    }
    if (retried) cookStmts(c.body);
    checkActions(c);
    currentClause = undefined;
  }

  /** The checks DTrace makes while generating code for a clause, in statement order. */
  function checkActions(c: Clause): void {
    const st = { spec: false, commit: false, drec: false, agg: false };
    const flat: Stmt[] = [];
    const flatten = (ss: Stmt[]) => {
      for (const s of ss) {
        if (s.kind === 'BlockStmt') flatten(s.body);
        else if (s.kind === 'IfStmt') flatten([s.then, ...(s.else ? [s.else] : [])]);
        else flat.push(s);
      }
    };
    flatten(c.body);
    for (const s of flat) {
      if (s.kind !== 'ExprStmt') continue;
      const x = unparen(s.expr);
      if (x.kind === 'Assign' && symbols.get(x)?.kind === 'agg') {
        if (st.spec) fail('D_AGG_SPEC', 'aggregating actions may not follow speculate( )', x.span);
        if (st.commit) fail('D_AGG_COMM', 'aggregating actions may not follow commit( )', x.span);
        checkAggregation(x);
        st.agg = true;
        continue;
      }
      if (x.kind === 'AggRef' || (x.kind === 'Index' && symbols.get(x)?.kind === 'agg')) {
        const a = symbols.get(x);
        fail('D_AGG_NULL', `expression has null effect: @${a?.kind === 'agg' ? a.info.name : ''}`, x.span);
      }
      if (x.kind !== 'Call') continue;
      const fn = infos.get(x)?.fn;
      if (!fn) continue;
      if (fn.kind === 'aggregation') {
        fail('D_CG_EXPR', `${fn.name}( ) may not be called from a D expression (D program context required)`, x.span);
      }
      if (fn.kind !== 'action' && !fn.destructive) continue;
      const name = fn.name;
      if (name === 'speculate') {
        if (st.spec) fail('D_SPEC_SPEC', 'speculate( ) may not follow speculate( )', x.span);
        if (st.commit) fail('D_SPEC_COMM', 'speculate( ) may not follow commit( )', x.span);
        if (st.drec) fail('D_SPEC_DREC', 'speculate( ) may not follow data-recording action(s)', x.span);
        if (st.agg) fail('D_SPEC_AGG', 'speculate( ) may not follow aggregating action(s)', x.span);
        st.spec = true;
        continue;
      }
      if (name === 'commit' || name === 'discard') {
        if (st.drec && name === 'commit') fail('D_COMM_DREC', 'commit( ) may not follow data-recording action(s)', x.span);
        if (st.spec) fail(name === 'commit' ? 'D_COMM_SPEC' : 'D_DISC_SPEC', `${name}( ) may not follow speculate( )`, x.span);
        if (name === 'commit') st.commit = true;
        continue;
      }
      if (name === 'exit' && st.spec) fail('D_EXIT_SPEC', 'exit( ) may not follow speculate( )', x.span);
      if (fn.destructive && st.spec) fail('D_ACT_SPEC', 'destructive actions may not follow speculate( )', x.span);
      if (fn.recordsData && st.commit) fail('D_DREC_COMM', 'data-recording actions may not follow commit( )', x.span);
      checkAction(x, fn);
      if (fn.recordsData) st.drec = true;
    }
  }

  const isPosConst = (i: Info | undefined) => i !== undefined && i.node === 'int' && i.constVal !== undefined && BigInt.asIntN(64, i.constVal) > 0n;

  function checkAction(x: Call, fn: BuiltinFunction): void {
    const args = x.args.map((a) => infos.get(a)!);
    switch (fn.name) {
      case 'trace':
        if (isVoid(args[0]!.type)) fail('D_TRACE_VOID', 'trace( ) may not be applied to a void expression', x.args[0]!.span);
        if (isDyn(args[0]!.type)) fail('D_TRACE_DYN', 'trace( ) may not be applied to a dynamic expression', x.args[0]!.span);
        break;
      case 'tracemem':
        if (!isIntegerT(args[0]!.type) && !isPointerT(args[0]!.type)) {
          fail('D_TRACEMEM_ADDR', `tracemem( ) argument #1 is incompatible with prototype:\n\tprototype: pointer or integer\n\t argument: ${typeNameOf(args[0]!)}`, x.args[0]!.span);
        }
        if (!isPosConst(args[1])) fail('D_TRACEMEM_SIZE', 'tracemem( ) argument #2 must be a non-zero positive integral constant expression', x.args[1]!.span);
        break;
      case 'stack':
        if (args[0] && !isPosConst(args[0])) fail('D_STACK_SIZE', 'stack( ) argument #1 must be a non-zero positive integer constant', x.args[0]!.span);
        break;
      case 'ustack': case 'jstack':
        if (args[0] && !isPosConst(args[0])) fail('D_USTACK_FRAMES', `${fn.name}( ) argument #1 must be a non-zero positive integer constant`, x.args[0]!.span);
        if (args[1] && (args[1].node !== 'int' || args[1].constVal === undefined || BigInt.asIntN(64, args[1].constVal) < 0n)) {
          fail('D_USTACK_STRSIZE', `${fn.name}( ) argument #2 must be a positive integer constant`, x.args[1]!.span);
        }
        break;
      case 'printf': case 'system': case 'freopen': checkPrintf(x, fn, args); break;
      case 'printa': checkPrinta(x, args); break;
      case 'clear': case 'denormalize':
        if (args[0]!.node !== 'agg') fail(fn.name === 'clear' ? 'D_CLEAR_AGGARG' : 'D_NORMALIZE_AGGARG', `${fn.name}( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${typeNameOf(args[0]!)}`, x.span);
        break;
      case 'normalize':
        if (args.length !== 2) fail('D_NORMALIZE_PROTO', `normalize( ) prototype mismatch: ${args.length} args passed, 2 expected`, x.span);
        if (args[0]!.node !== 'agg') fail('D_NORMALIZE_AGGARG', `normalize( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${typeNameOf(args[0]!)}`, x.span);
        if (!isScalarT(args[1]!.type)) fail('D_NORMALIZE_SCALAR', 'normalize( ) argument #2 must be of scalar type', x.span);
        break;
      case 'trunc':
        if (args[0]!.node !== 'agg') fail('D_TRUNC_AGGARG', `trunc( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${typeNameOf(args[0]!)}`, x.span);
        if (args[1] && !isScalarT(args[1].type)) fail('D_TRUNC_SCALAR', 'trunc( ) argument #2 must be of scalar type', x.span);
        break;
      case 'print': {
        const t = resolve(args[0]!.type);
        if (t.kind === 'pointer' && sizeOf(t.target, strsize) === 0) fail('D_PRINT_SIZE', `print( ) argument #1 reference has type '${typeName(t.target)}' with size 0; cannot print( ) it.`, x.args[0]!.span);
        break;
      }
    }
  }

  function checkPrintf(x: Call, fn: BuiltinFunction, args: Info[]): void {
    const f = args[0]!;
    if (f.node !== 'string' || f.str === undefined) {
      fail('D_PRINTF_ARG_FMT', `${fn.name}( ) argument #1 is incompatible with prototype:\n\tprototype: string constant\n\t argument: ${typeNameOf(f)}`, x.args[0]!.span);
    }
    if (fn.name === 'freopen' && f.str === '.') fail('D_FREOPEN_INVALID', 'freopen( ) argument #1 cannot be "."', x.span);
    if (f.str === '' && fn.name !== 'freopen') fail('D_PRINTF_FMT_EMPTY', `${fn.name}( ) format string is empty`, x.span);
    const convs = parseFormat(f.str!, x.span);
    validateFormat(fn.name, convs, args.slice(1), x.args.slice(1), 2, x.span, false);
  }

  function validateFormat(name: string, convs: FormatConversion[], args: Info[], argExprs: Expr[], firstArgNo: number, span: Span, printa: boolean, aggInfo?: Info): void {
    let ai = 0;
    convs.forEach((cv, ci) => {
      const n = ci + 1;
      for (const [dyn, what] of [[cv.dynamicWidth, '*'], [cv.dynamicPrecision, '.*']] as const) {
        if (!dyn) continue;
        const a = args[ai];
        if (!a) fail('D_PRINTF_DYN_PROTO', `${name}( ) prototype mismatch: conversion #${n} (%${cv.length}${cv.conv}) is missing a corresponding "${what}" argument`, span);
        if (!isIntegerT(a!.type)) {
          fail('D_PRINTF_DYN_TYPE', `${name}( ) argument #${ai + firstArgNo} is incompatible with conversion #${n} prototype:\n\tconversion: % ${what} ${cv.length}${cv.conv}\n\t prototype: int\n\t  argument: ${typeNameOf(a!)}`, argExprs[ai]?.span ?? span);
        }
        ai++;
      }
      if (cv.aggValue) {
        if (!printa) fail('D_PRINTF_AGG_CONV', '%@ conversion requires an aggregation and is not for use with printf( )', span);
        void aggInfo;
        return;
      }
      const a = args[ai];
      if (!a) fail('D_PRINTF_ARG_PROTO', `${name}( ) prototype mismatch: conversion #${n} (%${cv.length}${cv.conv}) is missing a corresponding value argument`, span);
      if (!convAccepts(cv, a!)) {
        fail('D_PRINTF_ARG_TYPE', `${name}( ) argument #${ai + firstArgNo} is incompatible with conversion #${n} prototype:\n\tconversion: %${cv.length}${cv.conv}\n\t prototype: ${cv.prototype}\n\t  argument: ${typeNameOf(a!)}`, argExprs[ai]?.span ?? span);
      }
      ai++;
    });
    if (!printa && ai < args.length) {
      fail('D_PRINTF_ARG_EXTRA', `${name}( ) prototype mismatch: only ${ai} arguments required by this format string`, span);
    }
  }

  function convAccepts(cv: FormatConversion, a: Info): boolean {
    const t = a.type;
    if (isDyn(t)) return false;
    const r = resolve(t);
    const intSize = r.kind === 'int' ? r.sizeBytes : r.kind === 'enum' ? 4 : 0;
    switch (cv.cls) {
      case 'int':
        if (!isIntegerT(t)) return false;
        if (cv.length === 'h') return intSize === 2;
        if (cv.length === 'l' || cv.length === 'll') return intSize === 8;
        return true;
      case 'char': return isIntegerT(t) && intSize <= 4;
      case 'float': return r.kind === 'float';
      case 'ptr': case 'addr': return isIntegerT(t) || r.kind === 'pointer' || r.kind === 'array';
      case 'uaddr': return isIntegerT(t) || r.kind === 'pointer';
      case 'string': return isStringT(t) || (r.kind === 'array' && isCharPointerOrArray(t));
      case 'wstring': return r.kind === 'array';
      case 'stack': return t.kind === 'typedef' && t.name === 'stack';
      case 'time': return isIntegerT(t) && intSize === 8;
      default: return true;
    }
  }

  function checkPrinta(x: Call, args: Info[]): void {
    let fmt: string | undefined;
    let first = 0;
    if (args[0]!.node === 'string') { fmt = args[0]!.str; first = 1; }
    if (args.length < first + 1) fail('D_PRINTA_PROTO', `printa( ) prototype mismatch: ${args.length} args passed, ${first + 1} expected`, x.span);
    let proto: { info: AggregationInfo; name: string } | undefined;
    for (let i = first; i < args.length; i++) {
      const a = args[i]!;
      if (a.node !== 'agg') {
        fail('D_PRINTA_AGGARG', `printa( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${typeNameOf(a)}`, x.args[i]!.span);
      }
      const s = symbols.get(unparen(x.args[i]!));
      if (s?.kind !== 'agg') continue;
      const ag = aggs.get(s.info.name);
      if (ag && !(ag.flags & ID_MOD)) fail('D_PRINTA_AGGBAD', `undefined aggregation: @${s.info.name}`, x.args[i]!.span);
      if (!proto) proto = { info: s.info, name: s.info.name };
      else {
        const pk = proto.info.keyTypes ?? [], ak = s.info.keyTypes ?? [];
        if (pk.length !== ak.length) {
          fail('D_PRINTA_AGGKEY', `printa( ): @${proto.name} and @${s.info.name} do not have matching key signatures: @${proto.name} has ${pk.length} key${pk.length === 1 ? '' : 's'}, @${s.info.name} has ${ak.length} key${ak.length === 1 ? '' : 's'}`, x.span);
        }
        pk.forEach((k, j) => {
          if (!argCompat(typeInfo(k), typeInfo(ak[j]!))) {
            // dt_printa_validate: each aggregation's name right-aligned in 9 columns.
            const keyLine = (name: string, t: CType): string => `${name.padStart(9)} key #${j + 1}: ${typeName(t)}`;
            fail('D_PRINTA_AGGPROTO', `printa( ): @${s.info.name}[ ] key #${j + 1} is incompatible with @${proto!.name}:\n${keyLine(proto!.name, k)}\n${keyLine(s.info.name, ak[j]!)}`, x.span);
          }
        });
      }
    }
    if (fmt !== undefined && proto) {
      if (fmt === '') fail('D_PRINTF_FMT_EMPTY', 'printa( ) format string is empty', x.span);
      const convs = parseFormat(fmt, x.span);
      const keys = (proto.info.keyTypes ?? []).map(typeInfo);
      validateFormat('printa', convs, keys, [], 2, x.span, true);
    }
  }

  function constArg(a: Info | undefined): bigint | undefined {
    return a && a.node === 'int' && a.constVal !== undefined ? BigInt.asIntN(64, a.constVal) : undefined;
  }

  function checkAggregation(x: Assign): void {
    const sym = symbols.get(x);
    if (sym?.kind !== 'agg') return;
    const info = sym.info;
    const call = unparen(x.value) as Call;
    const args = call.args.map((a) => infos.get(a)!);
    const fn = info.fn;
    const scalarArg = (i: number) => {
      const a = args[i];
      if (a && !isScalarT(a.type)) fail('D_AGG_SCALAR', `${fn}( ) argument #${i + 1} must be of scalar type`, call.args[i]!.span);
    };
    if (fn !== 'count') scalarArg(0);
    if (args[0] && fn !== 'count') info.valueType ??= args[0].type;
    let params: bigint[] = [];
    const incrArg = (i: number) => {
      const a = args[i];
      if (a && !isScalarT(a.type)) {
        fail('D_PROTO_ARG', `${fn}( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: int64_t\n\t argument: ${typeNameOf(a)}`, call.args[i]!.span);
      }
    };
    if (fn === 'quantize') {
      if (args.length > 2) fail('D_PROTO_LEN', `quantize( ) prototype mismatch: ${args.length} args passed, at most 2 expected`, call.span);
      incrArg(1);
    } else if (fn === 'lquantize') {
      const base = constArg(args[1]);
      if (base === undefined) fail('D_LQUANT_BASETYPE', 'lquantize( ) argument #2 must be an integer constant', call.args[1]!.span);
      if (base! >= 2147483647n || base! < -2147483648n) fail('D_LQUANT_BASEVAL', 'lquantize( ) argument #2 must be a 32-bit quantity', call.args[1]!.span);
      const limit = constArg(args[2]);
      if (limit === undefined) fail('D_LQUANT_LIMTYPE', 'lquantize( ) argument #3 must be an integer constant', call.args[2]!.span);
      if (limit! >= 2147483647n || limit! < -2147483648n) fail('D_LQUANT_LIMVAL', 'lquantize( ) argument #3 must be a 32-bit quantity', call.args[2]!.span);
      if (limit! <= base!) fail('D_LQUANT_MISMATCH', 'lquantize( ) base (argument #2) must be less than limit (argument #3)', call.span);
      let step = 1n;
      if (args[3]) {
        const s = constArg(args[3]);
        if (s === undefined || s <= 0n) fail('D_LQUANT_STEPTYPE', 'lquantize( ) argument #4 must be a non-zero positive integer constant', call.args[3]!.span);
        if (s! > 65535n) fail('D_LQUANT_STEPVAL', 'lquantize( ) argument #4 must be a 16-bit quantity', call.args[3]!.span);
        step = s!;
      }
      const levels = (limit! - base!) / step;
      if (levels > 65535n) fail('D_LQUANT_STEPSMALL', 'lquantize( ) step (argument #4) too small: number of quantization levels must be a 16-bit quantity', call.span);
      if (levels === 0n) fail('D_LQUANT_STEPLARGE', 'lquantize( ) step (argument #4) too large: must have at least one quantization level', call.span);
      if (args.length > 5) fail('D_PROTO_LEN', `lquantize( ) prototype mismatch: ${args.length} args passed, at most 5 expected`, call.span);
      if (args[4]) incrArg(4);
      params = [base!, limit!, step];
      if (info.params.length) {
        const [pb, pl, ps] = info.params as [bigint, bigint, bigint];
        if (pb !== base) fail('D_LQUANT_MATCHBASE', `lquantize( ) base (argument #2) doesn't match previous declaration: expected ${pb}, found ${base}`, call.span);
        if (pl !== limit) fail('D_LQUANT_MATCHLIM', `lquantize( ) limit (argument #3) doesn't match previous declaration: expected ${pl}, found ${limit}`, call.span);
        if (ps !== step) fail('D_LQUANT_MATCHSTEP', `lquantize( ) step (argument #4) doesn't match previous declaration: expected ${ps}, found ${step}`, call.span);
      }
    } else if (fn === 'llquantize') {
      if (args.length > 6) fail('D_PROTO_LEN', `llquantize( ) prototype mismatch: ${args.length} args passed, at most 6 expected`, call.span);
      const factor = constArg(args[1]);
      if (factor === undefined) fail('D_LLQUANT_FACTORTYPE', 'llquantize( ) argument #2 must be an integer constant', call.args[1]!.span);
      if (factor! < 2n || factor! > 65535n) fail('D_LLQUANT_FACTORVAL', 'llquantize( ) argument #2 must be a 16-bit quantity greater than 1', call.args[1]!.span);
      const lmag = constArg(args[2]);
      if (lmag === undefined) fail('D_LLQUANT_LMAGTYPE', 'llquantize( ) argument #3 must be an integer constant', call.args[2]!.span);
      if (lmag! < 0n || lmag! > 65535n) fail('D_LLQUANT_LMAGVAL', 'llquantize( ) argument #3 must be a non-negative 16-bit quantity', call.args[2]!.span);
      const hmag = constArg(args[3]);
      if (hmag === undefined) fail('D_LLQUANT_HMAGTYPE', 'llquantize( ) argument #4 must be an integer constant', call.args[3]!.span);
      if (hmag! < 0n || hmag! > 65535n) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) argument #4 must be a non-negative 16-bit quantity', call.args[3]!.span);
      if (hmag! < lmag!) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) argument #4 (high magnitude) must be at least argument #3 (low magnitude)', call.args[3]!.span);
      if (factor! ** (hmag! + 1n) > 0xffffffffffffffffn) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) factor (argument #2) raised to power of high magnitude (argument #4) plus 1 must fit in 64 bits', call.args[3]!.span);
      const steps = constArg(args[4]);
      if (steps === undefined || steps <= 0n) fail('D_LLQUANT_STEPTYPE', 'llquantize( ) argument #5 must be a non-zero positive integer constant', call.args[4]?.span ?? call.span);
      if (steps! > 65535n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 must be a 16-bit quantity', call.args[4]!.span);
      if (steps! < factor!) {
        if (factor! % steps! !== 0n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 (steps) must evenly divide argument #2 (factor) when steps<factor', call.args[4]!.span);
      } else if (steps! > factor!) {
        const pw = lmag === 0n ? factor! * factor! : factor! ** (lmag! + 1n);
        if (steps! % factor! !== 0n || pw % steps! !== 0n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 (steps) must be a multiple of argument #2 (factor) and divide factor^(lmag+1) when steps>factor', call.args[4]!.span);
      }
      if (args[5]) incrArg(5);
      if (args.length > 6) fail('D_PROTO_LEN', `llquantize( ) prototype mismatch: ${args.length} args passed, at most 6 expected`, call.span);
      params = [factor!, lmag!, hmag!, steps!];
      if (info.params.length) {
        const [pf, pl, ph, ps] = info.params as [bigint, bigint, bigint, bigint];
        if (pf !== factor) fail('D_LLQUANT_MATCHFACTOR', `llquantize( ) factor (argument #2) doesn't match previous declaration: expected ${pf}, found ${factor}`, call.span);
        if (pl !== lmag) fail('D_LLQUANT_MATCHLMAG', `llquantize( ) lmag (argument #3) doesn't match previous declaration: expected ${pl}, found ${lmag}`, call.span);
        if (ph !== hmag) fail('D_LLQUANT_MATCHHMAG', `llquantize( ) hmag (argument #4) doesn't match previous declaration: expected ${ph}, found ${hmag}`, call.span);
        if (ps !== steps) fail('D_LLQUANT_MATCHSTEPS', `llquantize( ) steps (argument #5) doesn't match previous declaration: expected ${ps}, found ${steps}`, call.span);
      }
    } else if (args.length > (fn === 'count' ? 0 : 1)) {
      fail('D_PROTO_LEN', `${fn}( ) prototype mismatch: ${args.length} args passed, ${fn === 'count' ? 0 : 1} expected`, call.span);
    }
    if (!info.params.length) info.params = params;
  }

  // ------------------------------------------------------------------------------------------
  // Drive

  function processItems(p: Program, phase: 'decl' | 'clauses'): void {
    for (const item of p.items) {
      if (phase === 'decl') {
        switch (item.kind) {
          case 'Declaration': declareVariable(item); break;
          case 'InlineDecl': declareInline(item); break;
          case 'TranslatorDecl': declareTranslator(item); break;
          case 'Pragma': if (!libraryMode) pragma(item); break;
          case 'Clause': currentClause = item; parseTimeChecks(item.predicate); parseTimeStmts(item.body); currentClause = undefined; break;
          case 'ProviderDecl': break;
        }
      } else if (item.kind === 'Clause') cookClause(item);
    }
  }

  for (const [name, fn] of BUILTIN_FUNCTIONS) globals.set(name, { kind: 'function', fn });

  const needsLibrary = opts.library !== undefined;
  if (needsLibrary) {
    libraryMode = true;
    for (const lib of opts.library!()) {
      // Library items that fail (e.g. translators from kernel types when BTF is absent) are skipped.
      for (const item of lib.items) {
        try { processItems({ ...lib, items: [item] }, 'decl'); } catch (err) {
          if (!isCheckFailure(err)) throw err;
          if (process.env.DTRACE_TS_DEBUG_LIBRARY) console.error(`library: ${err.tag} ${err.message}`);
        }
      }
    }
    libraryMode = false;
  }

  try {
    processItems(program, 'decl');
    processItems(program, 'clauses');
  } catch (err) {
    if (!isCheckFailure(err)) throw err;
    const f = err as CheckFailure;
    sink.error(f.tag, f.message, f.span);
  }

  return {
    program,
    typeOf: (e) => infos.get(e)?.type ?? Types.void,
    constValue: (e) => infos.get(e)?.constVal,
    stringConst: (e) => infos.get(e)?.str,
    symbolOf: (e) => symbols.get(e),
    isUserland: (e) => ((infos.get(e)?.flags ?? 0) & F_USER) !== 0,
    variables, aggregations,
    typedefs: scope.typedefs, structs: scope.tags, enums: scope.enums, inlines, translators, options,
    usesDestructive,
  };
}

function declName(d: import('../lang/ast.js').Declarator): string | undefined {
  return d.kind === 'NameDeclarator' ? d.name : declName(d.inner);
}

/** Calls `visit` on every expression node under `e` (pre-order). */
export function walkExpr(e: Expr, visit: (x: Expr) => void): void {
  visit(e);
  switch (e.kind) {
    case 'Paren': walkExpr(e.inner, visit); break;
    case 'Unary': case 'Postfix': walkExpr(e.operand, visit); break;
    case 'Binary': case 'Logical': walkExpr(e.left, visit); walkExpr(e.right, visit); break;
    case 'Assign': walkExpr(e.target, visit); walkExpr(e.value, visit); break;
    case 'Ternary': walkExpr(e.cond, visit); walkExpr(e.then, visit); walkExpr(e.else, visit); break;
    case 'Cast': case 'Xlate': case 'SizeofExpr': case 'Stringof': walkExpr(e.operand, visit); break;
    case 'Member': walkExpr(e.object, visit); break;
    case 'Index': walkExpr(e.object, visit); e.indices.forEach((i) => walkExpr(i, visit)); break;
    case 'Call': e.args.forEach((a) => walkExpr(a, visit)); break;
    default: break;
  }
}

export { isStructLike as isStructOrUnion };
