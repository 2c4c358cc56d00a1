/**
 * @fileoverview The types code generation needs: integer size/signedness vs string, and the
 * symbol table of variables and aggregations in first-appearance order. This is the
 * code generator's own light inference; the full D checker (check/) validates programs and
 * reports D_* errors before this runs, so here every construct can be assumed well formed.
 */
import type * as A from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import type { CType } from '../check/ctypes.js';

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

/** Builtin variables: their value types. */
export const BUILTIN_VARS: Record<string, VType> = {
  pid: I32, tid: I32, ppid: I32, uid: U32, gid: U32, cpu: I32, epid: U32, id: U32,
  timestamp: U64, vtimestamp: U64, walltimestamp: I64, errno: I32, ipl: U32,
  execname: STR, probeprov: STR, probemod: STR, probefunc: STR, probename: STR,
  arg0: I64, arg1: I64, arg2: I64, arg3: I64, arg4: I64, arg5: I64, arg6: I64, arg7: I64, arg8: I64, arg9: I64,
  curthread: U64, stackdepth: U32, ustackdepth: U32, caller: U64, ucaller: U64, uregs: I64,
};

/** Integer typedef names D predefines, with their representation. */
export const INT_TYPES: Record<string, VType> = {
  char: { t: 'int', size: 1, signed: true }, 'signed char': { t: 'int', size: 1, signed: true },
  'unsigned char': { t: 'int', size: 1, signed: false }, short: { t: 'int', size: 2, signed: true },
  'unsigned short': { t: 'int', size: 2, signed: false }, int: I32, 'signed int': I32, signed: I32,
  'unsigned int': U32, unsigned: U32, long: I64, 'long int': I64, 'unsigned long': U64, 'long long': I64,
  'unsigned long long': U64, int8_t: { t: 'int', size: 1, signed: true }, uint8_t: { t: 'int', size: 1, signed: false },
  int16_t: { t: 'int', size: 2, signed: true }, uint16_t: { t: 'int', size: 2, signed: false },
  int32_t: I32, uint32_t: U32, int64_t: I64, uint64_t: U64, intptr_t: I64, uintptr_t: U64,
  size_t: U64, ssize_t: I64, pid_t: I32, uid_t: U32, gid_t: U32, id_t: I32, processorid_t: I32,
  time_t: I64, off_t: I64, caddr_t: U64, _Bool: { t: 'int', size: 1, signed: false }, bool: { t: 'int', size: 1, signed: false },
};

export interface VarInfo {
  name: string;
  scope: 'global' | 'thread' | 'clause';
  type: VType;
  /** Associative arrays: key types. */
  keys?: VType[];
  id: number;
}

export interface AggInfo {
  name: string;
  id: number;
  fn: string;
  keys: VType[];
  /** Constant arguments after the value (lquantize base/limit/step, …). */
  params: bigint[];
}

export interface Symbols {
  globals: Map<string, VarInfo>;
  assocs: Map<string, VarInfo>;
  threads: Map<string, VarInfo>;
  threadAssocs: Map<string, VarInfo>;
  clauseLocals: Map<string, VarInfo>;
  aggs: Map<string, AggInfo>;
  macroArgs: string[];
  /** The checker's type of an expression, as a representation type, when the checker knows it. */
  oracle?: (e: A.Expr) => VType | undefined;
  stackframes?: number;
  ustackframes?: number;
  /** The checker's type of a declared variable, as a representation type. */
  declared?: (scope: VarInfo['scope'], name: string) => VType | undefined;
}

export function typeFromWords(words: string[]): VType | undefined {
  const key = words.join(' ');
  if (key === 'string') return STR;
  return INT_TYPES[key] ?? (words.includes('long') ? (words.includes('unsigned') ? U64 : I64) : undefined);
}

export function castType(tn: A.TypeName): VType {
  if (tn.declarator && tn.declarator.kind !== 'NameDeclarator') return U64; // pointers and the like
  const s = tn.specifiers;
  if (s.kind === 'BuiltinTypeSpec') return typeFromWords(s.words) ?? I64;
  if (s.kind === 'TypedefNameSpec') return INT_TYPES[s.name] ?? (s.name === 'string' ? STR : I64);
  if (s.kind === 'EnumSpec') return I32;
  return I64;
}

/** C's integer promotions and usual arithmetic conversions for two integer operands. */
export function arith(a: VType, b: VType): VType {
  if (a.t !== 'int' || b.t !== 'int') return I64;
  const pa = a.size < 4 ? I32 : a, pb = b.size < 4 ? I32 : b;
  if (pa.t !== 'int' || pb.t !== 'int') return I64;
  if (pa.size !== pb.size) return pa.size > pb.size ? pa : pb;
  return { t: 'int', size: pa.size, signed: pa.signed && pb.signed };
}

export function literalType(e: A.IntLit): VType {
  const v = e.value;
  const u = e.suffix.includes('u');
  const l = e.suffix.includes('l');
  const uv = BigInt.asUintN(64, v);
  if (!l) {
    if (!u && uv <= 0x7fffffffn) return I32;
    if ((u || e.base !== 10) && uv <= 0xffffffffn) return U32;
  }
  if (!u && uv <= 0x7fffffffffffffffn) return I64;
  return U64;
}

/**
 * Walks the program once in text order, recording each variable at its first assignment with
 * the type of the value assigned (D's implicit declaration), and each aggregation at its first
 * appearance.
 */
export function collectSymbols(program: A.Program, macroArgs: string[], oracle?: (e: A.Expr) => VType | undefined,
  declared?: (scope: VarInfo['scope'], name: string) => VType | undefined, frames: { stackframes?: number; ustackframes?: number } = {}): Symbols {
  const sym: Symbols = {
    globals: new Map(), assocs: new Map(), threads: new Map(), threadAssocs: new Map(),
    clauseLocals: new Map(), aggs: new Map(), macroArgs, oracle, declared, ...frames,
  };
  let nextId = 1;
  const declare = (map: Map<string, VarInfo>, name: string, scope: VarInfo['scope'], type: VType, keys?: VType[]) => {
    if (!map.has(name)) map.set(name, { name, scope, type, keys, id: nextId++ });
  };
  // Explicit declarations first (`int x;`, `self string s;`, `this int t;`).
  for (const item of program.items) {
    if (item.kind === 'Declaration') declareFrom(item);
  }
  function declareFrom(d: A.Declaration): void {
    if (d.storage === 'typedef' || d.storage === 'extern') return;
    const base = d.specifiers.kind === 'BuiltinTypeSpec' ? typeFromWords(d.specifiers.words) : d.specifiers.kind === 'TypedefNameSpec' ? (INT_TYPES[d.specifiers.name] ?? (d.specifiers.name === 'string' ? STR : undefined)) : undefined;
    for (const id of d.declarators) {
      let decl = id.declarator;
      let keys: VType[] | undefined;
      if (decl.kind === 'ArrayDeclarator' && decl.keyTypes) { keys = decl.keyTypes.map(castType); decl = decl.inner; }
      const scope = d.storage === 'self' ? 'thread' : d.storage === 'this' ? 'clause' : 'global';
      let type = base;
      if (decl.kind !== 'NameDeclarator' || !base) {
        // Pointers, arrays, structs, typedefs: the checker knows the declared type.
        let inner: A.Declarator = decl;
        while (inner.kind !== 'NameDeclarator') inner = inner.inner;
        if (!inner.name) continue;
        type = sym.declared?.(scope, inner.name);
        if (!type) continue;
        decl = inner;
      }
      if (decl.kind !== 'NameDeclarator' || !decl.name || !type) continue;
      const base2 = type;
      const map = scope === 'thread' ? (keys ? sym.threadAssocs : sym.threads) : scope === 'clause' ? sym.clauseLocals : keys ? sym.assocs : sym.globals;
      declare(map, decl.name, scope, base2, keys);
    }
  }
  const clauseLocalTypes = sym.clauseLocals;
  const tyOf = (e: A.Expr): VType => exprType(e, sym);
  const visitExpr = (e: A.Expr): void => {
    switch (e.kind) {
      case 'Assign': {
        visitExpr(e.value);
        const target = unparen(e.target);
        const vt = tyOf(e.value);
        if (target.kind === 'Ident' && !BUILTIN_VARS[target.name]) declare(sym.globals, target.name, 'global', vt);
        else if (target.kind === 'SelfVar') declare(sym.threads, target.name, 'thread', vt);
        else if (target.kind === 'ThisVar') declare(clauseLocalTypes, target.name, 'clause', vt);
        else if (target.kind === 'Index') {
          const obj = unparen(target.object);
          target.indices.forEach(visitExpr);
          if (obj.kind === 'AggRef') {
            visitAgg(obj, target.indices, e.value);
            return;
          }
          const keys = target.indices.map(tyOf);
          if (obj.kind === 'Ident') declare(sym.assocs, obj.name, 'global', vt, keys);
          else if (obj.kind === 'SelfVar') declare(sym.threadAssocs, obj.name, 'thread', vt, keys);
        } else if (target.kind === 'AggRef') {
          visitAgg(target, [], e.value);
          return;
        } else visitExpr(e.target);
        return;
      }
      case 'Unary': case 'Postfix':
        if ((e.op === '++' || e.op === '--')) {
          const t = unparen(e.operand);
          if (t.kind === 'Ident' && !BUILTIN_VARS[t.name]) declare(sym.globals, t.name, 'global', I64);
          else if (t.kind === 'SelfVar') declare(sym.threads, t.name, 'thread', I64);
          else if (t.kind === 'ThisVar') declare(clauseLocalTypes, t.name, 'clause', I64);
        }
        visitExpr(e.operand); return;
      case 'Binary': case 'Logical': visitExpr(e.left); visitExpr(e.right); return;
      case 'Ternary': visitExpr(e.cond); visitExpr(e.then); visitExpr(e.else); return;
      case 'Call': e.args.forEach(visitExpr); return;
      case 'Cast': case 'SizeofExpr': case 'Stringof': case 'Xlate': visitExpr(e.operand); return;
      case 'Paren': visitExpr(e.inner); return;
      case 'Member': visitExpr(e.object); return;
      case 'Index': visitExpr(e.object); e.indices.forEach(visitExpr); return;
      default: return;
    }
  };
  const visitAgg = (ref: A.AggRef, keys: A.Expr[], value: A.Expr): void => {
    const v = unparen(value);
    if (v.kind !== 'Call') return;
    v.args.forEach(visitExpr);
    const bounds = keys.map(stringBound);
    const known = sym.aggs.get(ref.name);
    if (!known) {
      const params = v.args.slice(1).map((a) => constInt(a, sym) ?? 0n);
      const types = keys.map((k, i) => { const t = tyOf(k); return t.t === 'str' && bounds[i] !== undefined ? { t: 'str' as const, max: bounds[i] } : t; });
      sym.aggs.set(ref.name, { name: ref.name, id: sym.aggs.size + 1, fn: v.callee.name, keys: types, params });
    } else {
      // A key position keeps its short form only while every use of the aggregation is short.
      known.keys = known.keys.map((t, i) => (t.t === 'str' && t.max !== undefined ? (bounds[i] !== undefined ? { t: 'str', max: Math.max(t.max, bounds[i]!) } : { t: 'str' }) : t));
    }
  };
  const visitStmt = (s: A.Stmt): void => {
    switch (s.kind) {
      case 'ExprStmt': visitExpr(s.expr); return;
      case 'IfStmt': visitExpr(s.cond); visitStmt(s.then); if (s.else) visitStmt(s.else); return;
      case 'BlockStmt': s.body.forEach(visitStmt); return;
      case 'Declaration': declareFrom(s); return;
      case 'EmptyStmt': return;
    }
  };
  for (const item of program.items) {
    if (item.kind !== 'Clause') continue;
    if (item.predicate) visitExpr(item.predicate);
    item.body.forEach(visitStmt);
  }
  // Aggregations referenced only by printa()/clear() still get ids in order of appearance.
  return sym;
}

/**
 * An upper bound on a string key's bytes (NUL included) known from the expression itself:
 * execname is a task's comm (TASK_COMM_LEN = 16). Keys built from it need not be strsize long.
 */
function stringBound(e: A.Expr): number | undefined {
  const x = unparen(e);
  if (x.kind === 'Ident' && x.name === 'execname') return 16;
  return undefined;
}

/** The value of an integer constant expression, when it is one. */
export function constInt(e: A.Expr, sym?: Symbols): bigint | undefined {
  e = unparen(e);
  switch (e.kind) {
    case 'IntLit': case 'CharLit': return e.value;
    case 'Unary': {
      const v = constInt(e.operand, sym);
      if (v === undefined) return undefined;
      if (e.op === '-') return BigInt.asIntN(64, -v);
      if (e.op === '+') return v;
      if (e.op === '~') return BigInt.asIntN(64, ~v);
      if (e.op === '!') return v === 0n ? 1n : 0n;
      return undefined;
    }
    case 'Binary': {
      const a = constInt(e.left, sym), b = constInt(e.right, sym);
      if (a === undefined || b === undefined) return undefined;
      switch (e.op) {
        case '+': return BigInt.asIntN(64, a + b);
        case '-': return BigInt.asIntN(64, a - b);
        case '*': return BigInt.asIntN(64, a * b);
        case '/': return b === 0n ? undefined : a / b;
        case '%': return b === 0n ? undefined : a % b;
        case '<<': return BigInt.asIntN(64, a << b);
        case '>>': return a >> b;
        case '&': return a & b;
        case '|': return a | b;
        case '^': return a ^ b;
        default: return undefined;
      }
    }
    case 'MacroVar': {
      if (!sym || e.stringForm) return undefined;
      const n = Number(e.name);
      if (!Number.isInteger(n) || n < 1) return undefined;
      const text = sym.macroArgs[n - 1];
      if (text === undefined || !/^-?(0x[0-9a-f]+|\d+)$/i.test(text.trim())) return undefined;
      return BigInt(text.trim());
    }
    default: return undefined;
  }
}

/** The representation type of an expression. */
export function exprType(e: A.Expr, sym: Symbols): VType {
  if (e.kind === 'Call') { const r = recordedCallType(e, sym); if (r) return r; }
  const known = sym.oracle?.(e);
  if (known) return known;
  switch (e.kind) {
    case 'IntLit': return literalType(e);
    case 'CharLit': return I32;
    case 'FloatLit': return I64;
    case 'StringLit': return STR;
    case 'Ident': return BUILTIN_VARS[e.name] ?? sym.globals.get(e.name)?.type ?? I64;
    case 'MacroVar': {
      if (e.stringForm) return STR;
      const n = Number(e.name);
      if (Number.isInteger(n) && n >= 1) {
        const text = sym.macroArgs[n - 1];
        if (text !== undefined && !/^-?(0x[0-9a-f]+|\d+)$/i.test(text.trim())) return STR;
      }
      return I64;
    }
    case 'KernelSym': return I64;
    case 'AggRef': return I64;
    case 'SelfVar': return sym.threads.get(e.name)?.type ?? I64;
    case 'ThisVar': return sym.clauseLocals.get(e.name)?.type ?? I64;
    case 'Unary':
      if (e.op === '!') return I32;
      if (e.op === '-' || e.op === '~' || e.op === '+') return arith(exprType(e.operand, sym), I32);
      return exprType(e.operand, sym);
    case 'Postfix': return exprType(e.operand, sym);
    case 'Binary': {
      if (['<', '<=', '>', '>=', '==', '!='].includes(e.op)) return I32;
      if (e.op === ',') return exprType(e.right, sym);
      if (e.op === '<<' || e.op === '>>') { const l = exprType(e.left, sym); return l.t === 'int' && l.size < 4 ? I32 : l; }
      return arith(exprType(e.left, sym), exprType(e.right, sym));
    }
    case 'Logical': return I32;
    case 'Assign': return exprType(e.target, sym);
    case 'Ternary': {
      const a = exprType(e.then, sym), b = exprType(e.else, sym);
      if (a.t === 'str' || b.t === 'str') return STR;
      return arith(a, b);
    }
    case 'Cast': return castType(e.type);
    case 'SizeofExpr': case 'SizeofType': case 'Offsetof': return U64;
    case 'Stringof': return STR;
    case 'Xlate': return I64;
    case 'Member': return I64;
    case 'Index': {
      const obj = unparen(e.object);
      if (obj.kind === 'Ident') return sym.assocs.get(obj.name)?.type ?? I64;
      if (obj.kind === 'SelfVar') return sym.threadAssocs.get(obj.name)?.type ?? I64;
      return I64;
    }
    case 'Call': return recordedCallType(e, sym) ?? callType(e);
    case 'Paren': return exprType(e.inner, sym);
  }
}

const STACK_ELEMENT: CType = { kind: 'int', name: 'uint64_t', sizeBytes: 8, signed: false };

/** stack()/ustack() and the symbol functions: what they record (by value, in records and keys). */
export function recordedCallType(e: A.Call, sym?: Symbols): VType | undefined {
  const n = e.callee.name;
  if (n === 'stack' || n === 'ustack') {
    const arg = e.args[0] ? constInt(e.args[0], sym) : undefined;
    const frames = Number(arg ?? BigInt(n === 'stack' ? (sym?.stackframes ?? 20) : (sym?.ustackframes ?? 100)));
    const size = frames * 8 + (n === 'ustack' ? 8 : 0);
    return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: size / 8 }, size, decode: n };
  }
  const kernelForms: Record<string, 'sym' | 'func' | 'mod'> = { sym: 'sym', func: 'func', mod: 'mod' };
  const userForms: Record<string, 'sym' | 'func' | 'mod' | 'uaddr'> = { usym: 'sym', ufunc: 'func', umod: 'mod', uaddr: 'uaddr' };
  if (kernelForms[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 1 }, size: 8, decode: 'symbol', symbolForm: kernelForms[n] };
  if (userForms[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 2 }, size: 16, decode: 'usymbol', symbolForm: userForms[n] };
  return undefined;
}

const STRING_FUNCS = new Set(['copyinstr', '__psargs', 'strjoin', 'substr', 'lltostr', 'toupper', 'tolower', 'basename', 'dirname',
  'cleanpath', 'strchr', 'strrchr', 'strstr', 'strtok', 'inet_ntoa', 'inet_ntoa6', 'inet_ntop', 'stringof', 'ulltostr']);

function callType(e: A.Call): VType {
  const n = e.callee.name;
  if (STRING_FUNCS.has(n)) return STR;
  if (n === 'strlen' || n === 'index' || n === 'rindex') return I64;
  return I64;
}
