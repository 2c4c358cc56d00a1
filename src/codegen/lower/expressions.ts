/**
 * @fileoverview Expressions: the dispatch on expression kind, operators, assignment, increment and decrement.
 */
import { R1, R9, imm, type Reg } from '../../bpf/asm/insn.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { Fault } from '../layout.js';
import { I64, I32, U64, arith } from '../infer.js';
import { resolve, sizeOf } from '../../check/ctypes.js';
import { LowerError, unchecked, type Val, typeSize } from './context.js';
import { StorageLowering } from './storage.js';

export abstract class ExpressionLowering extends StorageLowering {
  protected override evalInt(e: A.Expr): Extract<Val, { t: 'int' }> {
    // A global byte array (kept as a string) decays to its address too.
    const ct = unparen(e).kind === 'Ident' ? this.ct(e) : undefined;
    const arr = ct && resolve(ct);
    const bytes = arr?.kind === 'array' ? this.byteArrayGlobal(e, arr.length) : undefined;
    if (bytes !== undefined) return { t: 'int', reg: bytes, type: U64 };
    const v = this.expr(e, false);
    if (!v) unchecked('a void expression used as a value');
    if (v.t === 'obj') return { t: 'int', reg: v.reg, type: U64 }; // an array decays to its address
    if (v.t !== 'int') {
      // A string in a boolean context: non-NULL → true (its pointer is never NULL here).
      this.asm.mov(v.reg, imm(1));
      return { t: 'int', reg: v.reg, type: I32 };
    }
    return v;
  }

  protected override evalStr(e: A.Expr): Extract<Val, { t: 'str' }> {
    const v = this.expr(e, false);
    if (!v) unchecked('a void expression used as a string');
    return this.asStr(v, e, this.spaceOf(e, this.ct(e)));
  }

  protected override expr(e: A.Expr, discard: boolean): Val | undefined {
    const a = this.asm;
    const folded = this.folded(e);
    if (folded) return folded;
    switch (e.kind) {
      case 'Paren': return this.expr(e.inner, discard);
      case 'IntLit': case 'CharLit': {
        const r = this.alloc(e);
        a.movImm64(r, e.value);
        return { t: 'int', reg: r, type: e.kind === 'IntLit' ? this.typeOf(e) : I32 };
      }
      case 'StringLit': return this.strLiteral(e.value, e);
      case 'MacroVar': return this.macroVar(e);
      case 'Ident': return this.ident(e);
      case 'SelfVar': return this.loadThread(this.env.sym.threads.get(e.name), e);
      case 'ThisVar': return this.loadClauseLocal(e);
      case 'Index': return this.index(e);
      case 'Unary': return this.unary(e, discard);
      case 'Postfix': return this.incdec(e.operand, e.op, true, discard);
      case 'Binary': return this.binary(e);
      case 'Logical': return this.logical(e);
      case 'Ternary': return this.ternary(e);
      case 'Assign': return this.assign(e, discard);
      case 'Cast': {
        const t = this.typeOf(e);
        const v = this.expr(e.operand, false)!;
        // (string)p reads the characters at p; (char *)"abc" is the string's address.
        if (t.t === 'str') return this.asStr(v, e, this.spaceOf(e.operand, this.ct(e.operand)));
        if (v.t === 'str') return { t: 'int', reg: v.reg, type: U64 };
        if (v.t === 'obj') {
          // A struct/union cast to a struct/union type is the same memory seen with that type.
          const ct = this.ct(e);
          const cr = ct && resolve(ct);
          if (cr && (cr.kind === 'struct' || cr.kind === 'array')) return { ...v, ctype: ct! };
          return t.t === 'obj' ? v : { t: 'int', reg: v.reg, type: U64 };
        }
        if (t.t !== 'int') return v;
        this.normalize(v.reg, t);
        return { t: 'int', reg: v.reg, type: t };
      }
      case 'SizeofType': case 'SizeofExpr': case 'Offsetof': {
        const r = this.alloc(e);
        const size = e.kind === 'SizeofType' ? Number(this.env.checked.constValue(e) ?? unchecked('sizeof of a type without a size'))
          : e.kind === 'SizeofExpr' ? typeSize(this.typeOf(e.operand), this.mem.strsize) : 0;
        a.mov(r, imm(size));
        return { t: 'int', reg: r, type: U64 };
      }
      case 'Stringof': {
        const v = this.expr(e.operand, false)!;
        if (v.t === 'str') return v;
        const ot = this.ct(e.operand);
        const ro = ot && resolve(ot);
        // stringof(pointer) and stringof(char array) read the characters; stringof(integer)
        // gives its decimal text.
        // A `string` argument held as its address (proc:::exec's args[0]) is read like a pointer.
        if (v.t === 'obj' || ro?.kind === 'pointer' || ro?.kind === 'string') return this.asStr(v, e, this.spaceOf(e.operand, ot));
        return this.lltostr(v, e);
      }
      case 'Call': return this.call(e);
      case 'AggRef': return unchecked('an aggregation used as a value');
      case 'FloatLit': return unchecked('a floating-point constant');
      case 'KernelSym': return this.loadPlace(this.kernelSymPlace(e), e);
      case 'Member': return this.member(e);
      case 'Xlate': throw new LowerError('xlate of a whole structure is not supported by the code generator yet; use a member', e);
    }
  }

  /** Integer constants and constant strings the checker folded (enumerators, inlines, NULL, sizeof …). */
  protected folded(e: A.Expr): Val | undefined {
    const c = this.env.checked;
    if (!c || e.kind === 'IntLit' || e.kind === 'CharLit' || e.kind === 'StringLit' || e.kind === 'MacroVar' || e.kind === 'Paren') return undefined;
    const k = c.constValue(e);
    if (k !== undefined) {
      const t = this.typeOf(e);
      if (t.t !== 'int') return undefined;
      const r = this.alloc(e);
      this.asm.movImm64(r, k); // folded in 64 bits, as the register would hold it
      return { t: 'int', reg: r, type: t };
    }
    return undefined;
  }

  protected unary(e: A.Unary, discard: boolean): Val {
    const a = this.asm;
    if (e.op === '++' || e.op === '--') return this.incdec(e.operand, e.op, false, discard)!;
    if (e.op === '*') return this.loadPlace(this.placeOf(e), e);
    if (e.op === '&') {
      const p = this.placeOf(e.operand);
      return { t: 'int', reg: p.reg, type: U64 };
    }
    const v = this.evalInt(e.operand);
    const t = e.op === '!' ? I32 : arith(v.type, I32);
    switch (e.op) {
      case '-': a.neg(v.reg); break;
      case '~': a.alu64('xor', v.reg, imm(-1)); break;
      case '!': {
        const z = a.newLabel('not');
        const r = v.reg;
        a.jmp('jeq', r, imm(0), z).mov(r, imm(1)).label(z).alu64('xor', r, imm(1));
        // r was 0 → stays 0 then xor 1 = 1; r non-zero → 1 xor 1 = 0.
        break;
      }
      case '+': break;
    }
    // D keeps 64 bits in registers: no narrowing here, only on a cast, a store or output.
    return { t: 'int', reg: v.reg, type: t };
  }

  /** `e` is an operator of the program, or (`synthesized`) the arithmetic of a compound assignment, which the checker did not type. */
  protected binary(e: A.Binary, synthesized = false): Val {
    const a = this.asm;
    if (e.op === ',') {
      this.release(this.expr(e.left, true));
      return this.expr(e.right, false)!;
    }
    const lt = this.typeOf(e.left), rt = this.typeOf(e.right);
    if (lt.t === 'str' || rt.t === 'str') return this.strCompare(e);
    const l0 = this.evalInt(e.left);
    const [lv, r] = this.keeping(l0, () => this.evalInt(e.right), e);
    const l = lv as Extract<Val, { t: 'int' }>;
    const t = arith(l.type, r.type);
    const signed = t.t === 'int' && t.signed;
    const cmp: Record<string, ['jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle']> = {
      '==': ['jeq'], '!=': ['jne'], '<': [signed ? 'jslt' : 'jlt'], '<=': [signed ? 'jsle' : 'jle'],
      '>': [signed ? 'jsgt' : 'jgt'], '>=': [signed ? 'jsge' : 'jge'],
    };
    if (cmp[e.op]) {
      const yes = a.newLabel('cmp');
      const res = l.reg;
      a.jmp(cmp[e.op]![0], l.reg, r.reg, yes).mov(res, imm(0));
      const done = a.newLabel('cmpd');
      a.ja(done).label(yes).mov(res, imm(1)).label(done).mov(res, res);
      this.release(r);
      return { t: 'int', reg: res, type: I32 };
    }
    // Pointer arithmetic counts in elements of the pointed-to type.
    const lElem = this.pointee(e.left), rElem = this.pointee(e.right);
    if ((e.op === '+' || e.op === '-') && (lElem || rElem)) {
      if (lElem && rElem && e.op === '-') {
        a.alu64('sub', l.reg, r.reg);
        if (lElem > 1) a.mov(R1, imm(lElem)).sdiv64('div', l.reg, R1);
        this.release(r);
        return { t: 'int', reg: l.reg, type: I64 };
      }
      if (lElem && lElem > 1) a.alu64('mul', r.reg, imm(lElem));
      if (rElem && rElem > 1 && e.op === '+') a.alu64('mul', l.reg, imm(rElem));
      a.alu64(e.op === '+' ? 'add' : 'sub', l.reg, r.reg);
      this.release(r);
      return { t: 'int', reg: l.reg, type: U64 };
    }
    switch (e.op) {
      case '+': a.alu64('add', l.reg, r.reg); break;
      case '-': a.alu64('sub', l.reg, r.reg); break;
      case '*': a.alu64('mul', l.reg, r.reg); break;
      case '&': a.alu64('and', l.reg, r.reg); break;
      case '|': a.alu64('or', l.reg, r.reg); break;
      case '^': a.alu64('xor', l.reg, r.reg); break;
      case '<<': a.alu64('lsh', l.reg, r.reg); break;
      case '>>': a.alu64(lt.t === 'int' && lt.signed ? 'arsh' : 'rsh', l.reg, r.reg); break;
      case '/': case '%': {
        const ok = a.newLabel('divok');
        a.jmp('jne', r.reg, imm(0), ok);
        this.fault(Fault.DIVZERO);
        a.label(ok);
        if (signed) a.sdiv64(e.op === '/' ? 'div' : 'mod', l.reg, r.reg);
        else a.alu64(e.op === '/' ? 'div' : 'mod', l.reg, r.reg);
        break;
      }
    }
    this.release(r);
    // The result type is the checker's (D's conversions: `unsigned char + char` stays
    // unsigned char, unlike C); C's conversions of the operands for a compound assignment's.
    const checkedT = synthesized ? undefined : this.typeOf(e);
    const resT = checkedT?.t === 'int' ? checkedT : e.op === '<<' || e.op === '>>' ? (lt.t === 'int' && lt.size < 4 ? I32 : lt) : t;
    // D keeps 64 bits in registers (dt_cg_arithmetic_op): no narrowing to resT here.
    return { t: 'int', reg: l.reg, type: resT };
  }

  /** Size of what `e` points to when it is a pointer or array (pointer arithmetic), else undefined. */
  protected pointee(e: A.Expr): number | undefined {
    const t = this.ct(e);
    const r = t && resolve(t);
    if (!r || (r.kind !== 'pointer' && r.kind !== 'array')) return undefined;
    const elem = resolve(r.kind === 'pointer' ? r.target : r.element);
    if (elem.kind === 'void' || elem.kind === 'function') return 1;
    return Math.max(1, sizeOf(elem, this.mem.strsize));
  }

  /** Claims a specific register that is currently free (the join point of two branches). */
  protected take(r: Reg): void {
    const i = this.free.indexOf(r);
    if (i < 0) throw new Error(`register r${r} is not free at a join point`);
    this.free.splice(i, 1);
  }

  /** Puts `v` in register `res` (free at this point) and releases v's own register. */
  protected into(res: Reg, v: Val): void {
    if (v.reg === res) return;
    this.take(res);
    this.asm.mov(res, v.reg);
    this.release(v);
  }

  protected logical(e: A.Logical): Val {
    const a = this.asm;
    const l = this.evalInt(e.left);
    const res = l.reg;
    const done = a.newLabel('logic');
    // Normalise left to 0/1.
    const lz = a.newLabel('lz');
    a.jmp('jeq', res, imm(0), lz).mov(res, imm(1)).label(lz).mov(res, res);
    if (e.op === '^^') {
      const [lv, r] = this.keeping(l, () => this.evalInt(e.right), e);
      const rz = a.newLabel('rz');
      a.jmp('jeq', r.reg, imm(0), rz).mov(r.reg, imm(1)).label(rz).mov(r.reg, r.reg);
      a.alu64('xor', lv.reg, r.reg);
      this.release(r);
      return { t: 'int', reg: lv.reg, type: I32 };
    }
    // && and ||: the left value is known on the fall-through path, so only the join register
    // is needed while the right operand is computed.
    a.jmp(e.op === '&&' ? 'jeq' : 'jne', res, imm(0), done);
    this.release(l);
    const r = this.evalInt(e.right);
    const rz = a.newLabel('rz');
    a.jmp('jeq', r.reg, imm(0), rz).mov(r.reg, imm(1)).label(rz).mov(r.reg, r.reg);
    this.into(res, r);
    a.label(done).mov(res, res);
    return { t: 'int', reg: res, type: I32 };
  }

  protected ternary(e: A.Ternary): Val {
    const a = this.asm;
    const c = this.evalInt(e.cond);
    const res = c.reg;
    const elseL = a.newLabel('telse'), done = a.newLabel('tdone');
    a.jmp('jeq', res, imm(0), elseL);
    this.release(c);
    const t = this.typeOf(e);
    const branch = (x: A.Expr) => {
      let v = this.expr(x, false)!;
      if (v.t !== 'str' && t.t === 'str') v = this.asStr(v, x, this.spaceOf(x, this.ct(x)));
      this.into(res, v);
      this.release(res);
    };
    branch(e.then);
    a.ja(done).label(elseL);
    branch(e.else);
    this.take(res);
    a.label(done).mov(res, res);
    if (t.t === 'str') return { t: 'str', reg: res };
    if (t.t === 'obj') throw new LowerError('a conditional expression of struct type is not supported by the code generator yet', e);
    return { t: 'int', reg: res, type: t }; // each branch is already in its 64-bit form
  }

  protected assign(e: A.Assign, discard: boolean): Val | undefined {
    const target = unparen(e.target);
    if (target.kind === 'AggRef' || (target.kind === 'Index' && unparen(target.object).kind === 'AggRef')) {
      this.aggregate(target, e.value);
      return undefined;
    }
    let val: Val;
    if (e.op === '=') {
      val = this.expr(e.value, false)!;
      if (val.t !== 'str' && this.typeOf(target).t === 'str') {
        // `s = NULL` stores the NULL string; any other pointer is read as characters.
        val = val.t === 'int' && this.env.checked.constValue(e.value) === 0n ? { t: 'str', reg: val.reg } : this.asStr(val, e.value, this.spaceOf(e.value, this.ct(e.value)));
      }
      else if (val.t === 'obj' && this.typeOf(target).t === 'int' && !this.isStructTyped(target)) {
        // An array assigned to a pointer: its address.
        val = { t: 'int', reg: val.reg, type: U64 };
      } else if (val.t === 'obj') {
        this.copyObj(target, val, e);
        if (discard) { this.release(val); return undefined; }
        return val;
      }
    }
    else {
      const op = e.op.slice(0, -1) as A.BinaryOp;
      val = this.binary({ kind: 'Binary', span: e.span, op, left: e.target, right: e.value }, true);
    }
    val = this.store(target, val, e);
    if (discard) { this.release(val); return undefined; }
    return val;
  }

  /** A struct or union member or element (exprType calls it an integer; the checker knows). */
  private isStructTyped(e: A.Expr): boolean {
    const t = this.ct(e);
    return t !== undefined && resolve(t).kind === 'struct';
  }

  /** Stores `val` in `target`; returns it, live (in another register when the target's address needed its register). */
  protected store(target: A.Expr, val: Val, node: A.Expr): Val {
    switch (target.kind) {
      case 'Ident': {
        const g = this.env.sym.globals.get(target.name);
        if (!g) unchecked(`an assignment to ${target.name}, which is not a variable`);
        this.storeGlobal(g, val);
        return val;
      }
      case 'SelfVar': this.storeThread(this.env.sym.threads.get(target.name)!, val); return val;
      case 'ThisVar': {
        const off = this.clauseLocalOffset(target.name, target);
        const info = this.env.sym.clauseLocals.get(target.name);
        // A string stored in a pointer variable (`this char *s; this->s = "x"`) is its address.
        if (val.t === 'str' && info?.type.t !== 'int') this.copyStr(() => this.asm.mov(R1, R9).alu64('add', R1, imm(off)), val.reg);
        else {
          if (info && val.t !== 'str') this.normalize(val.reg, info.type);
          this.asm.stx(8, R9, off, val.reg);
        }
        return val;
      }
      case 'Index': {
        const [[v], place] = this.holding([val], () => this.elementPlace(target, true), node);
        if (place) { this.storePlace(place, v!, node); return v!; }
        return this.storeAssoc(target, v!);
      }
      case 'Member': case 'Unary': {
        const [[v], place] = this.holding([val], () => this.placeOf(target, true), node);
        this.storePlace(place, v!, node);
        return v!;
      }
      default: unchecked('an assignment to something not an lvalue');
    }
  }

  protected incdec(operand: A.Expr, op: '++' | '--', post: boolean, discard: boolean): Val | undefined {
    const target = unparen(operand);
    const v = this.evalInt(target);
    const a = this.asm;
    let old: Reg | undefined;
    if (post && !discard) { old = this.alloc(operand); a.mov(old, v.reg); }
    a.alu64(op === '++' ? 'add' : 'sub', v.reg, imm(this.pointee(target) ?? 1));
    this.normalize(v.reg, v.type);
    if (old !== undefined) {
      // The old value stays live while the new one is stored (the store may compute the address again).
      const [[kept], stored] = this.holding([{ t: 'int', reg: old, type: v.type }], () => this.store(target, v, operand), operand);
      this.release(stored);
      return kept;
    }
    const stored = this.store(target, v, operand);
    if (discard) { this.release(stored); return undefined; }
    return stored;
  }
}
