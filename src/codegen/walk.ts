/**
 * @fileoverview Questions code generation asks of a piece of the AST before lowering it (does
 * it call exit()? alloca()? which argN does it read?), answered by one walk over the plain AST
 * objects rather than a visitor per question.
 */
import type * as A from '../lang/ast.js';

/**
 * Visits every AST node under `node` (arrays and nested objects, spans skipped) until `test`
 * returns true; returns whether it did.
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
  return someNode(node, (o) => o.kind === 'Call' && names.includes((o.callee as A.Ident).name));
}
