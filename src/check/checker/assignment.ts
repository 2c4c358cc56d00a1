/**
 * @fileoverview Assignment: the type rules of `=` and the compound operators, first assignment creating a variable.
 */
import type { Ident, SelfVar, ThisVar, AggRef, Index, Assign } from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { Types, resolve, isCharPointerOrArray } from '../ctypes.js';
import { fail } from '../abort.js';
import { DYN, type VariableInfo } from '../checked.js';
import { F_ALLOCA, F_LVALUE, F_NONASSIGN, F_USER, F_WRITABLE, ID_ALLOCA, ID_MOD, ID_REF, Info, isDyn, isIntegerT, isPointerT, isStringT, isVfptr, isVoid } from './rules.js';
import { IdentifierChecks } from './identifiers.js';

export abstract class AssignmentChecks extends IdentifierChecks {
  protected cookAssign(e: Assign): Info {
    const target = unparen(e.target);
    const opName = e.op;
    // Aggregation assignment: @a[keys] = fn(args)
    if (e.op === '=' && (target.kind === 'AggRef' || (target.kind === 'Index' && unparen(target.object).kind === 'AggRef'))) {
      const aggRef = (target.kind === 'AggRef' ? target : unparen((target as Index).object)) as AggRef;
      if (target.kind === 'Index' && unparen(target.object).kind === 'Index') {
        fail('D_AGG_MDIM', `improper attempt to reference @${aggRef.name} as a multi-dimensional array`, target.span);
      }
      const { agg } = this.cookAggRef(aggRef, true);
      const rhs = this.cook(e.value, ID_REF);
      const vu = unparen(e.value);
      if (rhs.node !== 'func' || rhs.fn?.kind !== 'aggregation') {
        fail('D_AGG_FUNC', `@${aggRef.name} must be assigned the result of an aggregating function`, e.span);
      }
      if (agg.info.fn && agg.info.fn !== rhs.fn!.name) {
        fail('D_AGG_REDEF', `aggregation redefined: @${aggRef.name}\n\t current: @${aggRef.name} = ${rhs.fn!.name}( )\n\tprevious: @${aggRef.name} = ${agg.info.fn}( ) : line ${agg.fnLine}`, e.span);
      }
      if (!agg.info.fn) {
        agg.info.fn = rhs.fn!.name;
        agg.fnLine = this.lineOf(e.span);
      }
      if (target.kind === 'Index') this.cookIndex(target, ID_MOD);
      else agg.info.keyTypes = this.checkKeys('@', aggRef.name, agg.info.keyTypes, [], [], 'aggregation', e.span);
      agg.flags |= ID_MOD;
      void vu;
      return this.record(e, { type: DYN, flags: 0, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
    }
    // Create variables on first assignment.
    let lhs: Info;
    if (target.kind === 'Ident') lhs = this.cookIdent(target, 0, true);
    else if (target.kind === 'SelfVar' || target.kind === 'ThisVar') lhs = this.cookScoped(target, 0);
    else if (target.kind === 'Index') lhs = this.cookIndex(target, 0);
    else lhs = this.cook(e.target, 0);
    const lsym = this.symbols.get(target);
    const varInfo = lsym?.kind === 'variable' ? lsym.info : undefined;
    if (e.op === '=') {
      const rhs = this.cook(e.value, ID_REF);
      if (varInfo && varInfo.type === undefined && !varInfo.declared) {
        // A new variable takes the type of its first assignment.
        let t = rhs.type;
        if (rhs.xlate) {
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" = "${this.typeNameOf(rhs)}"`, e.span);
        }
        if (isDyn(t) || isVoid(t)) {
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" = "${this.typeNameOf(rhs)}"`, e.span);
        }
        const rr = resolve(t);
        if (isCharPointerOrArray(t) && rr.kind === 'array') t = Types.string;
        varInfo.type = t;
        if (rhs.flags & F_USER) varInfo.userland = true;
        lhs = this.record(target, { ...lhs, type: t, dynKind: undefined, flags: lhs.flags | (rhs.flags & F_USER) });
      }
      if (!isStringT(lhs.type)) {
        const k = resolve(lhs.type).kind;
        if (k === 'array' || k === 'function') {
          fail('D_OP_ARRFUN', `operator ${opName} may not be applied to operand of type "${this.typeNameOf(lhs)}"`, e.span);
        }
      }
      // Storing a literal 0 into a thread-local or associative element deletes it, whatever its type.
      const deletes = rhs.node === 'int' && rhs.constVal === 0n && varInfo !== undefined && (varInfo.scope === 'thread' || varInfo.kind === 'assoc');
      if (!deletes && !this.argCompat(lhs, rhs)) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" ${opName} "${this.typeNameOf(rhs)}"`, e.span);
      }
      return this.asgnCommon(e, lhs, rhs, varInfo);
    }
    if (varInfo && varInfo.type === undefined && !varInfo.declared && target.kind !== 'Index') {
      if ((e.op === '+=' || e.op === '-=')) {
        // DTrace reads an unassigned variable here: report it as undeclared.
      }
    }
    const rhs = this.cook(e.value, ID_REF | ID_MOD);
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
          fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" ${opName} "${this.typeNameOf(rhs)}"`, e.span);
        }
        if (!isIntegerT(lhs.type) || !isIntegerT(rhs.type)) {
          if (!isPointerT(lhs.type) || isVfptr(lhs.type) || resolve(lhs.type).kind === 'array') {
            fail('D_OP_VFPTR', `operator ${opName} requires left-hand scalar operand of known size`, e.span);
          } else if (!isIntegerT(rhs.type) && !this.ptrCompat(lhs, rhs)) {
            fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" ${opName} "${this.typeNameOf(rhs)}"`, e.span);
          }
        }
        break;
    }
    return this.asgnCommon(e, lhs, rhs, varInfo);
  }

  protected asgnCommon(e: Assign, lhs: Info, rhs: Info, varInfo: VariableInfo | undefined): Info {
    if (!(lhs.flags & F_LVALUE)) fail('D_OP_LVAL', `operator ${e.op} requires modifiable lvalue as an operand`, e.span);
    if (!(lhs.flags & F_WRITABLE)) fail('D_OP_WRITE', `operator ${e.op} can only be applied to a writable variable`, e.span);
    if (varInfo && (rhs.flags & F_NONASSIGN)) {
      fail('D_ALLOCA_INCOMPAT', 'ternary conditional with alloca and non-alloca branches cannot be assigned to a variable', e.span);
    }
    const target = unparen(e.target);
    const ent = target.kind === 'Ident' ? this.globals.get(target.name)
      : target.kind === 'SelfVar' ? this.tls.get(target.name) : target.kind === 'ThisVar' ? this.locals.get(target.name) : undefined;
    if (ent && 'flags' in ent) {
      ent.flags |= ID_MOD;
      // Strings are assigned by value: a string made from alloca space does not taint its variable.
      if ((rhs.flags & F_ALLOCA) && !isStringT(rhs.type)) ent.flags |= ID_ALLOCA;
    }
    if (target.kind === 'Index') {
      const s = this.symbols.get(target);
      if (s?.kind === 'variable') {
        const o = unparen(target.object);
        const ent2 = o.kind === 'Ident' ? this.globals.get(o.name) : o.kind === 'SelfVar' ? this.tls.get(o.name) : undefined;
        if (ent2 && 'flags' in ent2) ent2.flags |= ID_MOD;
        if (s.info.type === undefined) {
          if (isDyn(rhs.type) || isVoid(rhs.type)) {
            fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(lhs)}" ${e.op} "${this.typeNameOf(rhs)}"`, e.span);
          }
          let t = rhs.type;
          if (isCharPointerOrArray(t) && resolve(t).kind === 'array') t = Types.string;
          s.info.type = t;
          if (rhs.flags & F_USER) s.info.userland = true;
        }
      }
    }
    return this.record(e, { type: lhs.type, flags: 0, node: 'other' });
  }
}
