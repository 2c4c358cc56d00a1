/**
 * @fileoverview Which probe arguments a piece of D reads as user-space strings
 * (`copyinstr(arg1)`, `copyinstr(args[1])`, with casts and parentheses around the argument):
 * a syscall entry trampoline can then check, before any clause runs, that those strings are
 * readable without a page fault, and replay the whole firing at the system call's return when
 * they are not (providers/syscall.ts).
 */
import * as A from '../lang/ast.js';
import { someNode } from '../lang/walk.js';

/** The argument index an expression names (`argN`, `args[N]`, through casts), if any. */
function argIndexOf(e: A.Expr): number | undefined {
  let x = A.unparen(e);
  while (x.kind === 'Cast') x = A.unparen(x.operand);
  if (x.kind === 'Ident') {
    const m = /^arg([0-9])$/.exec(x.name);
    return m ? Number(m[1]) : undefined;
  }
  if (x.kind === 'Index' && x.indices.length === 1) {
    const obj = A.unparen(x.object);
    const ix = A.unparen(x.indices[0]!);
    if (obj.kind === 'Ident' && obj.name === 'args' && ix.kind === 'IntLit' && ix.value >= 0n && ix.value <= 9n) return Number(ix.value);
  }
  return undefined;
}

/** Sorted, distinct argument indices that `node` passes to copyinstr(). */
export function userStringArgs(node: unknown): number[] {
  const found = new Set<number>();
  someNode(node, (o) => {
    if (o.kind !== 'Call') return false;
    const call = o as unknown as A.Call;
    if (call.callee.name !== 'copyinstr' || call.args.length === 0) return false;
    const i = argIndexOf(call.args[0]!);
    if (i !== undefined) found.add(i);
    return false;
  });
  return [...found].sort((a, b) => a - b);
}
