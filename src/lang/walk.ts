/**
 * @fileoverview Walks over the AST, in one place: the children of each expression node in
 * source order (`exprChildren`, for walks whose visiting order matters, as the checker's
 * first-error reporting does), and a search over every node under any piece of the AST
 * (`someNode`, for the questions code generation asks: does it call exit()? read errno?).
 */
import type { Expr, Ident } from './ast.js';

/** The expression operands of `e`, in source order (a call's callee is a name, not an operand). */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case 'Paren': return [e.inner];
    case 'Unary': case 'Postfix': return [e.operand];
    case 'Binary': case 'Logical': return [e.left, e.right];
    case 'Assign': return [e.target, e.value];
    case 'Ternary': return [e.cond, e.then, e.else];
    case 'Cast': case 'Xlate': case 'SizeofExpr': case 'Stringof': return [e.operand];
    case 'Member': return [e.object];
    case 'Index': return [e.object, ...e.indices];
    case 'Call': return e.args;
    default: return [];
  }
}

/** Calls `visit` on every expression node under `e` (pre-order). */
export function walkExpr(e: Expr, visit: (x: Expr) => void): void {
  visit(e);
  for (const child of exprChildren(e)) walkExpr(child, visit);
}

/**
 * Visits every AST node under `node` (statements, declarations, expressions, type names: any
 * array or nested object but spans) until `test` returns true; returns whether it did.
 */
export function someNode(node: unknown, test: (n: { kind?: unknown } & Record<string, unknown>) => boolean): boolean {
  const visit = (x: unknown): boolean => {
    if (x === null || typeof x !== 'object') return false;
    if (Array.isArray(x)) return x.some(visit);
    const o = x as Record<string, unknown>;
    if (test(o)) return true;
    for (const [k, v] of Object.entries(o)) if (k !== 'span' && k !== 'memberSpan' && visit(v)) return true;
    return false;
  };
  return visit(node);
}

/** Whether `node` calls any of the named functions. */
export function callsAny(node: unknown, names: readonly string[]): boolean {
  return someNode(node, (o) => o.kind === 'Call' && names.includes((o.callee as Ident).name));
}
