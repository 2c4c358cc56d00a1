/**
 * @fileoverview Where the recording functions may appear. stack(), ustack(), jstack() and the
 * symbol functions (sym, func, mod, usym, ufunc, umod, uaddr) are DTrace's tracing functions:
 * their value is recorded and symbolised by the consumer, never computed in the probe, so they
 * have a place only as an action of their own, as what trace() or printf() records, or as an
 * aggregation key. Anywhere else (`x = stack()`, `a[func(pc)]`, `func(a) == func(b)`) DTrace's
 * code generator refuses them (D_CG_EXPR).
 */
import type { Expr } from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import { exprChildren, someNode } from '../lang/walk.js';
import { fail } from './abort.js';

const RECORDING = new Set(['stack', 'ustack', 'jstack', 'sym', 'func', 'mod', 'usym', 'ufunc', 'umod', 'uaddr']);
/** Actions whose arguments are recorded one by one (a recording function's raw form among them). */
const RECORDING_ACTIONS = new Set(['trace', 'printf', 'printa', 'system', 'freopen']);

const EXPR_KINDS = new Set(['Paren', 'Unary', 'Postfix', 'Binary', 'Logical', 'Assign', 'Ternary', 'Cast', 'Xlate', 'SizeofExpr', 'Stringof', 'Member', 'Index', 'Call']);

function allowsRecordingOperand(parent: Expr): boolean {
  if (parent.kind === 'Paren') return true; // decided by the parentheses' own parent
  if (parent.kind === 'Call') return RECORDING_ACTIONS.has(parent.callee.name);
  return parent.kind === 'Index' && unparen(parent.object).kind === 'AggRef';
}

/** Fails with D_CG_EXPR at the first recording function used as a value in `body` (statements or an expression). */
export function checkRecordingCalls(body: unknown): void {
  someNode(body, (n) => {
    if (typeof n.kind !== 'string' || !EXPR_KINDS.has(n.kind)) return false;
    const parent = n as unknown as Expr;
    if (allowsRecordingOperand(parent)) return false;
    for (const child of exprChildren(parent)) {
      const c = unparen(child);
      if (c.kind === 'Call' && RECORDING.has(c.callee.name)) {
        fail('D_CG_EXPR', `tracing function ${c.callee.name}( ) may not be called from a D expression (D program context required)`, c.span);
      }
    }
    return false;
  });
}
