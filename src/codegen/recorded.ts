/**
 * @fileoverview What the recording functions store by value, in records and aggregation keys:
 * stack()/ustack()/jstack() frames (their depth from the options, capped at maxframes) and the
 * symbol functions (sym/func/mod, usym/ufunc/umod/uaddr), with the decoding the consumer applies;
 * and so the representation of any expression the code generator evaluates.
 */
import type * as A from '../lang/ast.js';
import type { CType } from '../check/ctypes.js';
import { type VType, type Symbols, I64, representation } from './infer.js';
import { unparen } from '../lang/ast.js';
import { TRACER_SLACK_FRAMES } from './tracer-skip.js';

/** DTrace's default jstackstrsize. */
const JSTACK_STRSIZE = 512;
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
    // jstack(n, strsize): the bytes of JIT frame names it may show (DTrace's string space for the
    // ustack helper), from its second argument or jstackstrsize.
    const strsize = n === 'jstack' ? Number((e.args[1] ? sym.checked.constValue(e.args[1]) : undefined) ?? BigInt(sym.jstackstrsize ?? JSTACK_STRSIZE)) : undefined;
    return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: size / 8 }, size, decode: n === 'stack' ? 'stack' : 'ustack', ...(strsize !== undefined ? { jitStrsize: strsize } : {}) };
  }
  if (KERNEL_FORMS[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 1 }, size: 8, decode: 'symbol', symbolForm: KERNEL_FORMS[n] };
  if (USER_FORMS[n]) return { t: 'obj', ctype: { kind: 'array', element: STACK_ELEMENT, length: 2 }, size: 16, decode: 'usymbol', symbolForm: USER_FORMS[n] };
  return undefined;
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
