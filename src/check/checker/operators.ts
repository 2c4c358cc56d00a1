/**
 * @fileoverview The dispatch on expression kind and the operators: unary, binary, ternary, casts, translators; constant folding.
 */
import type { Expr, Ident, SelfVar, ThisVar, AggRef, Index, Member, Call, TypeName, IntLit, Assign } from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { Types, pointerTo, resolve, sizeOf, typeName, memberOf, type CType, type StructType, type PointerType } from '../ctypes.js';
import { fail } from '../abort.js';
import { resolveTypeName } from '../decl.js';
import { DYN, type TranslatorInfo } from '../checked.js';
import { F_ALLOCA, F_BITFIELD, F_DEREF_ALLOCA, F_LVALUE, F_NONASSIGN, F_USER, F_WRITABLE, ID_MOD, ID_REF, Info, derefFlags, asInt, idkindName, intLitType, isDyn, isIntegerT, isPointerT, isScalarT, isStrCompat, isStringT, isVfptr, promote, typeCompat, widen64, wrap } from './rules.js';
import { AssignmentChecks } from './assignment.js';

export abstract class OperatorChecks extends AssignmentChecks {
  protected override cook(e: Expr, idflags: number): Info {
    switch (e.kind) {
      case 'Paren': {
        const i = this.cook(e.inner, idflags);
        const s = this.symbols.get(e.inner);
        return this.record(e, i, s);
      }
      case 'IntLit': return this.record(e, { type: intLitType(e), flags: 0, node: 'int', constVal: wrap(e.value, intLitType(e)) });
      case 'CharLit': {
        // DTrace's lexer hands a character constant to the parser as an unsuffixed integer
        // constant: 'abcd' is an int, a constant of more than four bytes a long.
        const t = intLitType({ kind: 'IntLit', span: e.span, value: e.value, suffix: '', base: 16 });
        return this.record(e, { type: t, flags: 0, node: 'int', constVal: wrap(e.value, t) });
      }
      case 'FloatLit': return fail('D_FLOAT', 'floating-point constants are not permitted', e.span);
      case 'StringLit': return this.record(e, { type: Types.string, flags: 0, node: 'string', str: e.value });
      case 'MacroVar': return e.stringForm
        ? this.record(e, { type: Types.string, flags: 0, node: 'string' })
        : this.record(e, { type: Types.int, flags: 0, node: 'int' });
      case 'Ident': return this.cookIdent(e, idflags, false);
      case 'KernelSym': {
        const t = this.scope.kernel()?.variableType?.(e.name);
        if (!t) {
          fail('D_IDENT_UNDEF', `failed to resolve ${e.module ?? ''}\`${e.name}: ${this.scope.kernel() ? 'Unknown symbol name' : 'No symbol table is available'}`, e.span);
        }
        return this.record(e, { type: t!, flags: F_LVALUE, node: 'sym' }, { kind: 'kernel-sym', name: e.name, module: e.module, type: t! });
      }
      case 'AggRef': return this.cookAggRef(e, false).info;
      case 'SelfVar': case 'ThisVar': return this.cookScoped(e, idflags);
      case 'Unary': return this.cookUnary(e);
      case 'Postfix': return this.cookIncDec(e, e.op, e.operand);
      case 'Binary': return this.cookBinary(e);
      case 'Logical': {
        const l = this.cook(e.left, ID_REF), r = this.cook(e.right, ID_REF);
        if (!isScalarT(l.type) || !isScalarT(r.type)) fail('D_OP_SCALAR', `operator ${e.op} requires operands of scalar type`, e.span);
        let c: bigint | undefined;
        if (l.constVal !== undefined && r.constVal !== undefined) {
          const a = l.constVal !== 0n, b = r.constVal !== 0n;
          c = (e.op === '&&' ? a && b : e.op === '||' ? a || b : a !== b) ? 1n : 0n;
        }
        return this.record(e, { type: Types.int, flags: (l.flags | r.flags) & F_ALLOCA, node: c !== undefined ? 'int' : 'other', constVal: c });
      }
      case 'Assign': return this.cookAssign(e);
      case 'Ternary': return this.cookTernary(e);
      case 'Cast': return this.cookCast(e);
      case 'SizeofExpr': {
        const o = this.cook(e.operand, 0);
        if (o.flags & F_BITFIELD) fail('D_SIZEOF_BITFIELD', 'cannot apply sizeof to a bit-field', e.span);
        // A string literal's size is its own length plus the NUL (dt_node_sizeof on a string
        // node); any other string-typed operand has the string type's size, strsize.
        let operand: Expr = e.operand;
        while (operand.kind === 'Paren') operand = operand.inner;
        const size = operand.kind === 'StringLit' ? Buffer.byteLength(operand.value, 'latin1') + 1
          : isDyn(o.type) ? 0 : sizeOf(o.type, this.strsize);
        if (size === 0) fail('D_SIZEOF_TYPE', 'cannot apply sizeof to an operand of unknown size', e.span);
        return this.record(e, { type: this.typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(size) });
      }
      case 'SizeofType': {
        const t = resolveTypeName(this.declCtx, e.type);
        const size = sizeOf(t, this.strsize);
        if (size === 0) fail('D_SIZEOF_TYPE', 'cannot apply sizeof to an operand of unknown size', e.span);
        return this.record(e, { type: this.typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(size) });
      }
      case 'Offsetof': {
        const t = resolve(resolveTypeName(this.declCtx, e.type));
        if (t.kind !== 'struct') fail('D_OFFSETOF_TYPE', 'offsetof operand must be a struct or union type', e.span);
        const st = t as StructType;
        if (!st.members) fail('D_OFFSETOF_TYPE', 'offsetof operand must be a struct or union type', e.span);
        const m = memberOf(st, e.member);
        if (!m) fail('D_UNKNOWN', `failed to determine offset of ${e.member}: Member name not found`, e.span);
        if (m!.bitSize !== undefined) fail('D_OFFSETOF_BITFIELD', `cannot take offset of a bit-field: ${e.member}`, e.span);
        return this.record(e, { type: this.typeFromText('size_t')!, flags: 0, node: 'int', constVal: BigInt(m!.bitOffset / 8) });
      }
      case 'Stringof': {
        const o = this.cook(e.operand, ID_REF);
        if (!isScalarT(o.type) && !isPointerT(o.type) && !isStrCompat(o.type)) {
          fail('D_STRINGOF_TYPE', `cannot apply stringof to a value of type ${this.typeNameOf(o)}`, e.span);
        }
        return this.record(e, { type: Types.string, flags: o.flags & F_ALLOCA, node: 'other' });
      }
      case 'Xlate': return this.cookXlate(e.type, e.operand, e);
      case 'Member': return this.cookMember(e, idflags);
      case 'Index': return this.cookIndex(e, idflags);
      case 'Call': return this.cookCall(e);
    }
  }

  protected cookUnary(e: Extract<Expr, { kind: 'Unary' }>): Info {
    if (e.op === '++' || e.op === '--') return this.cookIncDec(e, e.op, e.operand);
    const c = this.cookUnaryOperand(e.operand, ID_REF);
    switch (e.op) {
      case '*': {
        if (c.xlate?.pointer) {
          return this.record(e, { type: DYN, flags: 0, node: 'other', dynKind: 'translated data', xlate: { translator: c.xlate.translator, pointer: false } },
            { kind: 'xlate', translator: c.xlate.translator, pointer: false });
        }
        const r = resolve(c.type);
        if (isDyn(c.type) || (r.kind !== 'pointer' && r.kind !== 'array')) fail('D_DEREF_NONPTR', 'cannot dereference non-pointer type', e.span);
        const t = r.kind === 'pointer' ? r.target : (r as { element: CType }).element;
        const tr = resolve(t);
        if (tr.kind === 'void') fail('D_DEREF_VOID', 'cannot dereference pointer to void', e.span);
        if (tr.kind === 'function') fail('D_DEREF_FUNC', 'cannot dereference pointer to function', e.span);
        return this.record(e, { type: t, flags: derefFlags(c.flags, tr), node: 'other' });
      }
      case '+': case '-': {
        if (!isIntegerT(c.type)) fail('D_OP_ARITH', `operator ${e.op} requires an operand of arithmetic type`, e.span);
        const v = c.constVal !== undefined ? widen64(e.op === '-' ? -c.constVal : c.constVal, c.type) : undefined;
        return this.record(e, { type: c.type, flags: c.flags & F_ALLOCA, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '~': {
        if (!isIntegerT(c.type)) fail('D_OP_INT', `operator ${e.op} requires an operand of integral type`, e.span);
        const v = c.constVal !== undefined ? widen64(~c.constVal, c.type) : undefined;
        return this.record(e, { type: c.type, flags: 0, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '!': {
        if (!isScalarT(c.type)) fail('D_OP_SCALAR', `operator ${e.op} requires an operand of scalar type`, e.span);
        const v = c.constVal !== undefined ? (c.constVal === 0n ? 1n : 0n) : undefined;
        return this.record(e, { type: Types.int, flags: 0, node: v !== undefined ? 'int' : 'other', constVal: v });
      }
      case '&': {
        const o = unparen(e.operand);
        if (c.node === 'var' || c.node === 'agg' || o.kind === 'AggRef') {
          const s = this.symbols.get(o);
          if (!(s?.kind === 'builtin-var' || s?.kind === 'xlate-input') || c.node === 'agg') fail('D_ADDROF_VAR', 'cannot take address of dynamic variable', e.span);
        }
        if (isDyn(c.type)) fail('D_ADDROF_VAR', 'cannot take address of dynamic object', e.span);
        if (!(c.flags & F_LVALUE)) fail('D_ADDROF_LVAL', 'unacceptable operand for unary & operator', e.span);
        if (c.flags & F_BITFIELD) fail('D_ADDROF_BITFIELD', 'cannot take address of bit-field', e.span);
        const alloca = c.flags & (F_ALLOCA | F_DEREF_ALLOCA) ? F_ALLOCA : 0;
        return this.record(e, { type: pointerTo(c.type, c.flags & F_USER ? 'user' : undefined), flags: (c.flags & F_USER) | alloca, node: 'other' });
      }
    }
    return c;
  }

  /**
   * The operand of a unary operator (dt_cook_op1): cooked without marking it referenced, so a
   * variable or associative array never assigned takes the type int64_t instead of being an
   * error — `events[probename]++` counts from 0, `/!pending[dev]/` before any assignment
   * (iosnoop) and `!self->traced` test 0. Only `++`/`--` create a global scalar.
   */
  protected cookUnaryOperand(operand: Expr, idflags: number): Info {
    const o = unparen(operand);
    let c: Info;
    if (o.kind === 'Ident') c = this.cookIdent(o, 0, (idflags & ID_MOD) !== 0);
    else c = this.cook(operand, 0);
    const s = this.symbols.get(o);
    if (s?.kind === 'variable' && s.info.type === undefined && !s.info.declared && (s.info.kind === 'scalar' || s.info.kind === 'assoc')) {
      s.info.type = this.typeFromText('int64_t')!;
      c = this.record(o, { ...c, type: s.info.type, dynKind: undefined });
    }
    if (s?.kind === 'variable') {
      const ent = o.kind === 'Ident' ? this.globals.get(o.name) : o.kind === 'SelfVar' ? this.tls.get(o.name) : o.kind === 'ThisVar' ? this.locals.get(o.name) : undefined;
      if (ent && 'flags' in ent) ent.flags |= idflags;
    }
    return c;
  }

  protected cookIncDec(e: Expr, op: string, operand: Expr): Info {
    const c = this.cookUnaryOperand(operand, ID_REF | ID_MOD);
    if (!isScalarT(c.type)) fail('D_OP_SCALAR', `operator ${op} requires operand of scalar type`, e.span);
    if (isVfptr(c.type)) fail('D_OP_VFPTR', `operator ${op} requires an operand of known size`, e.span);
    if (!(c.flags & F_LVALUE)) fail('D_OP_LVAL', `operator ${op} requires modifiable lvalue as an operand`, e.span);
    if (!(c.flags & F_WRITABLE)) fail('D_OP_WRITE', `operator ${op} can only be applied to a writable variable`, e.span);
    return this.record(e, { type: c.type, flags: 0, node: 'other' });
  }

  protected cookBinary(e: Extract<Expr, { kind: 'Binary' }>): Info {
    const op = e.op;
    if (op === ',') {
      const l = this.cook(e.left, ID_REF), r = this.cook(e.right, ID_REF);
      if (isDyn(l.type) || isDyn(r.type)) fail('D_OP_DYN', `operator ${op} operands cannot be of dynamic type`, e.span);
      if (l.fn?.kind === 'action' || r.fn?.kind === 'action') fail('D_OP_ACT', `operator ${op} operands cannot be actions`, e.span);
      return this.record(e, { ...r, flags: r.flags & F_ALLOCA, node: 'other' });
    }
    if (op === '<' || op === '<=' || op === '>' || op === '>=' || op === '==' || op === '!=') {
      const l = this.cook(e.left, ID_REF);
      // An identifier compared with an enum value may name one of its enumerators.
      const ru = unparen(e.right);
      let r: Info | undefined;
      const lr = resolve(l.type);
      if (lr.kind === 'enum' && ru.kind === 'Ident' && !isDyn(l.type)) {
        const ev = lr.values.find((v) => v.name === ru.name);
        if (ev) {
          const g = this.globals.get(ru.name);
          if (g && !(g.kind === 'enum-const' && g.type === lr)) {
            fail('D_IDENT_AMBIG', `ambiguous use of operator ${op}: ${ru.name} is both a ${typeName(l.type)} enum tag and a global ${idkindName(g)}`, e.span);
          }
          r = this.record(ru, { type: l.type, flags: 0, node: 'int', constVal: ev.value }, { kind: 'enum-const', name: ev.name, value: ev.value, type: lr });
          if (ru !== e.right) this.record(e.right, r);
        }
      }
      r ??= this.cook(e.right, ID_REF);
      if (typeCompat(l.type, r.type) && !isDyn(l.type)) { /* same type */ }
      else if (isIntegerT(l.type) && isIntegerT(r.type)) { /* integers */ }
      else if (isStrCompat(l.type) && isStrCompat(r.type) && (isStringT(l.type) || isStringT(r.type))) { /* strcmp */ }
      else if ((isStringT(l.type) && r.node === 'int' && r.constVal === 0n) || (isStringT(r.type) && l.node === 'int' && l.constVal === 0n)) { /* string vs NULL */ }
      else if (!this.ptrCompat(l, r)) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(l)}" ${op} "${this.typeNameOf(r)}"`, e.span);
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
      return this.record(e, { type: Types.int, flags: 0, node: c !== undefined ? 'int' : 'other', constVal: c });
    }
    const l = this.cook(e.left, ID_REF), r = this.cook(e.right, ID_REF);
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
        const c = l.constVal !== undefined && r.constVal !== undefined ? this.foldBinary(op, l.constVal, r.constVal, t) : undefined;
        return this.record(e, { type: t, flags: (l.flags | r.flags) & F_ALLOCA, node: c !== undefined ? 'int' : 'other', constVal: c });
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
        else if (lp && rp && op === '-' && this.ptrCompat(l, r)) t = this.typeFromText('ptrdiff_t')!;
        else return fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(l)}" ${op} "${this.typeNameOf(r)}"`, e.span);
        if (lp && rp && ((l.flags & F_ALLOCA) !== (r.flags & F_ALLOCA))) {
          fail('D_OP_INCOMPAT', `adding or subtracting pointers to alloca and non-alloca space is meaningless: "${this.typeNameOf(l)}" ${op} "${this.typeNameOf(r)}"`, e.span);
        }
        // Arrays decay to pointers in arithmetic.
        const tr = resolve(t);
        if (tr.kind === 'array' && !isStringT(t)) t = pointerTo(tr.element);
        const c = li && ri && l.constVal !== undefined && r.constVal !== undefined ? this.foldBinary(op, l.constVal, r.constVal, t) : undefined;
        return this.record(e, { type: t, flags, node: c !== undefined ? 'int' : 'other', constVal: c });
      }
    }
    return fail('D_UNKNOWN', `invalid binary op ${op}`, e.span);
  }

  protected cookTernary(e: Extract<Expr, { kind: 'Ternary' }>): Info {
    const c = this.cook(e.cond, ID_REF), l = this.cook(e.then, ID_REF), r = this.cook(e.else, ID_REF);
    if (!isScalarT(c.type)) fail('D_OP_SCALAR', 'operator ?: expression must be of scalar type', e.span);
    if (isDyn(l.type) || isDyn(r.type)) fail('D_OP_DYN', 'operator ?: operands cannot be of dynamic type', e.span);
    let t: CType;
    if (typeCompat(l.type, r.type)) t = l.type;
    else if (isIntegerT(l.type) && isIntegerT(r.type)) t = promote(l.type, r.type);
    else if (isStrCompat(l.type) && isStrCompat(r.type) && (isStringT(l.type) || isStringT(r.type))) t = Types.string;
    else if (this.ptrCompat(l, r)) t = (l.node === 'int' ? r.type : l.type);
    else return fail('D_OP_INCOMPAT', 'operator ?: operands must have compatible types', e.span);
    if (l.fn?.kind === 'action' || r.fn?.kind === 'action') fail('D_OP_ACT', 'action cannot be used in a conditional context', e.span);
    let flags = 0;
    if ((l.flags & F_ALLOCA) !== (r.flags & F_ALLOCA)) flags |= F_NONASSIGN;
    if ((l.flags | r.flags) & F_NONASSIGN) flags |= F_NONASSIGN;
    if (l.flags & F_ALLOCA) flags |= F_ALLOCA;
    const cv = c.constVal !== undefined ? (c.constVal !== 0n ? l.constVal : r.constVal) : undefined;
    return this.record(e, { type: t, flags, node: cv !== undefined ? 'int' : 'other', constVal: cv });
  }

  protected cookCast(e: Extract<Expr, { kind: 'Cast' }>): Info {
    const t = resolveTypeName(this.declCtx, e.type);
    const r = this.cook(e.operand, ID_REF);
    const lk = resolve(t).kind, rk = isDyn(r.type) ? 'dyn' : resolve(r.type).kind;
    let ok = false;
    if (!isDyn(r.type) && typeCompat(t, r.type)) ok = true;
    else if (isScalarT(t) && (isScalarT(r.type) || rk === 'function')) ok = true;
    else if (lk === 'void') ok = true;
    else if (lk === 'pointer' && isPointerT(r.type)) ok = true;
    else if (isStringT(t) && (isScalarT(r.type) || isPointerT(r.type) || isStrCompat(r.type))) ok = true;
    if (!ok) fail('D_CAST_INVAL', `invalid cast expression: "${this.typeNameOf(r)}" to "${typeName(t)}"`, e.span);
    const c = r.constVal !== undefined && isIntegerT(t) ? wrap(r.constVal, t) : undefined;
    return this.record(e, { type: t, flags: r.flags & (F_ALLOCA | F_USER), node: c !== undefined ? 'int' : 'other', constVal: c });
  }

  protected override findTranslator(input: Info, output: StructType): TranslatorInfo | undefined {
    const it = input.type;
    // Exact match first, then a fuzzy one (pointer/struct kinds equal, e.g. derived structs).
    for (const tr of this.translators) if (tr.output === output && typeCompat(tr.input, it)) return tr;
    for (const tr of this.translators) {
      if (tr.output !== output && !(tr.output.name !== undefined && tr.output.name === output.name)) continue;
      if (typeCompat(tr.input, it) || (isPointerT(tr.input) && this.ptrCompat(this.typeInfo(tr.input), input))) return tr;
    }
    return undefined;
  }

  protected cookXlate(tn: TypeName, operand: Expr, e: Expr): Info {
    const t = resolveTypeName(this.declCtx, tn);
    const r = this.cook(operand, ID_REF);
    const tr = resolve(t);
    const pointer = tr.kind === 'pointer';
    const out = resolve(pointer ? (tr as PointerType).target : t);
    const x = out.kind === 'struct' ? this.findTranslator(r, out) : undefined;
    if (!x) fail('D_XLATE_NONE', `cannot translate from "${this.typeNameOf(r)}" to "${typeName(t)}"`, e.span);
    const dynKind = pointer ? 'pointer to translated data' : 'translated data';
    return this.record(e, { type: DYN, flags: r.flags & F_ALLOCA, node: 'other', dynKind, xlate: { translator: x!, pointer } },
      { kind: 'xlate', translator: x!, pointer });
  }
}
