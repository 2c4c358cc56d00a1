/**
 * @fileoverview Walks over the AST: the children of each expression node, in one place.
 */
import type { Expr } from './ast.js';

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
