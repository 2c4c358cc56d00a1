/**
 * @fileoverview Parse-time integer constants, as DTrace's node-construction pass knows them
 * (dt_node_int, dt_node_op1/op2/op3, dt_node_ident of an inline whose value is one): integer and
 * character constants, the unary and binary operators over them, and inlines defined earlier as
 * such a constant. DTrace folds `c ? a : b` to `a` or `b` while parsing when `c` is one, before
 * anything is type-checked, so the branch not taken is never checked and an action in the branch
 * taken is a statement: the DTraceToolkit's `OPT_time ? printf("%-14s ", "TIME") : 1;` idiom,
 * with `inline int OPT_time = 0;` set by the shell wrapper.
 */
import type * as A from './ast.js';

/** An integer constant: its value reduced to its type's width (unsigned bits), and that type. */
export interface ParseInt {
  /** The value's bits, 0 ≤ value < 2^bits. */
  value: bigint;
  bits: 32 | 64;
  signed: boolean;
}

const INT: Pick<ParseInt, 'bits' | 'signed'> = { bits: 32, signed: true };

function make(value: bigint, bits: 32 | 64, signed: boolean): ParseInt {
  return { value: BigInt.asUintN(bits, value), bits, signed };
}

/** The value as a signed or unsigned number of its type. */
function numeric(c: ParseInt): bigint {
  return c.signed ? BigInt.asIntN(c.bits, c.value) : c.value;
}

/** C's type of an integer constant: the first of int, (unsigned int,) long, unsigned long that holds it. */
function literalType(e: A.IntLit): ParseInt {
  const u = e.suffix.includes('u'), l = e.suffix.includes('l');
  const v = e.value;
  const fits = (bits: number, signed: boolean): boolean => v < (1n << BigInt(signed ? bits - 1 : bits));
  const candidates: Array<[32 | 64, boolean]> = [];
  if (!l) { if (!u) candidates.push([32, true]); if (u || e.base !== 10) candidates.push([32, false]); }
  if (!u) candidates.push([64, true]);
  candidates.push([64, false]);
  for (const [bits, signed] of candidates) if (fits(bits, signed)) return make(v, bits, signed);
  return make(v, 64, false);
}

/** The usual arithmetic conversions (dt_type_promote): the greater of size plus unsignedness. */
function promoted(l: ParseInt, r: ParseInt): Pick<ParseInt, 'bits' | 'signed'> {
  const rank = (c: ParseInt): number => c.bits + (c.signed ? 0 : 1);
  return rank(l) >= rank(r) ? { bits: l.bits, signed: l.signed } : { bits: r.bits, signed: r.signed };
}

function truth(b: boolean): ParseInt {
  return make(b ? 1n : 0n, INT.bits, INT.signed);
}

function binary(op: A.BinaryOp | '&&' | '||' | '^^', l: ParseInt, r: ParseInt): ParseInt | undefined {
  switch (op) {
    case '&&': return truth(l.value !== 0n && r.value !== 0n);
    case '||': return truth(l.value !== 0n || r.value !== 0n);
    case '^^': return truth((l.value !== 0n) !== (r.value !== 0n));
    case '==': return truth(l.value === r.value);
    case '!=': return truth(l.value !== r.value);
    case '<<': return make(l.value << (r.value & 63n), l.bits, l.signed);
    case '>>': return make(numeric(l) >> (r.value & 63n), l.bits, l.signed);
    case ',': return undefined;
    default: break;
  }
  const t = promoted(l, r);
  const a = numeric(make(numeric(l), t.bits, t.signed)), b = numeric(make(numeric(r), t.bits, t.signed));
  switch (op) {
    case '<': return truth(a < b);
    case '<=': return truth(a <= b);
    case '>': return truth(a > b);
    case '>=': return truth(a >= b);
    case '+': return make(a + b, t.bits, t.signed);
    case '-': return make(a - b, t.bits, t.signed);
    case '*': return make(a * b, t.bits, t.signed);
    // Division by zero is the checker's D_DIV_ZERO: leave the expression as written.
    case '/': return b === 0n ? undefined : make(a / b, t.bits, t.signed);
    case '%': return b === 0n ? undefined : make(a % b, t.bits, t.signed);
    case '&': return make(a & b, t.bits, t.signed);
    case '|': return make(a | b, t.bits, t.signed);
    case '^': return make(a ^ b, t.bits, t.signed);
  }
}

/**
 * `e`'s value when DTrace's parser would have made it an integer constant node; undefined for
 * anything else (variables, casts, sizeof, strings, macro variables left unresolved).
 * `inlines` holds the inlines defined so far whose value is such a constant.
 */
export function parseTimeInt(e: A.Expr, inlines: ReadonlyMap<string, ParseInt>): ParseInt | undefined {
  switch (e.kind) {
    case 'IntLit': return literalType(e);
    case 'CharLit': return make(e.value, INT.bits, INT.signed);
    case 'Paren': return parseTimeInt(e.inner, inlines);
    case 'Ident': return inlines.get(e.name);
    case 'Unary': {
      const c = parseTimeInt(e.operand, inlines);
      if (c === undefined) return undefined;
      switch (e.op) {
        case '-': return make(-c.value, c.bits, c.signed);
        case '+': return c;
        case '~': return make(~c.value, c.bits, c.signed);
        case '!': return truth(c.value === 0n);
        default: return undefined;
      }
    }
    case 'Binary': case 'Logical': {
      const l = parseTimeInt(e.left, inlines);
      const r = l === undefined ? undefined : parseTimeInt(e.right, inlines);
      return l === undefined || r === undefined ? undefined : binary(e.op, l, r);
    }
    default: return undefined;
  }
}

/** `cond ? then : otherwise` as DTrace's parser leaves it: the branch taken when `cond` is a constant. */
export function foldConditional(t: A.Ternary, inlines: ReadonlyMap<string, ParseInt>): A.Expr {
  const c = parseTimeInt(t.cond, inlines);
  if (c === undefined) return t;
  return c.value !== 0n ? t.then : t.else;
}
