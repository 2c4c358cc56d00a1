/**
 * @fileoverview Places in memory: struct members, array elements, translated members, kernel symbols; loads and stores through them, alloca bounds.
 */
import { R0, R1, R2, R3, R4, R9, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { MST, Fault } from '../layout.js';
import { type VType, U64 } from '../infer.js';
import type { CType, StructType, StructMemberType } from '../../check/ctypes.js';
import { Types, resolve, sizeOf, memberOf } from '../../check/ctypes.js';
import { ClauseContext, LowerError, unchecked, type Val, type Place, type Space } from './context.js';

export abstract class MemoryLowering extends ClauseContext {
  protected completeStruct(t: CType, node?: A.Expr): StructType {
    const r = resolve(t);
    if (r.kind !== 'struct') unchecked('member access on a value that is not a struct or union');
    if (r.members) return r;
    if (r.name !== undefined) {
      const found = this.env.checked.structs.get(`${r.tag} ${r.name}`) ?? this.env.kernelTypes()?.structType(r.tag, r.name);
      if (found?.members) return found;
    }
    throw new LowerError(`${r.tag} ${r.name ?? ''} has no definition`, node);
  }

  protected findMember(st: StructType, name: string): StructMemberType | undefined {
    return memberOf(st, name, (t) => this.completeStruct(t));
  }

  /** Address of `e.member` (of `e.object->member` or `e.object.member`). */
  /**
   * A struct/union/array-valued expression as a place that can be written: D's own variables
   * (created on first write for thread-locals and associative arrays), or nested members.
   */
  protected writableObj(e: A.Expr): Place | undefined {
    const x = unparen(e);
    const a = this.asm;
    const t = this.typeOf(x);
    if (x.kind === 'Member') return this.memberPlace(x, true);
    if (x.kind === 'Index') {
      const el = this.elementPlace(x, true);
      if (el) return el;
    }
    if (t.t !== 'obj') return undefined;
    if (x.kind === 'SelfVar') {
      const v = this.env.sym.threads.get(x.name);
      if (!v) return undefined;
      const rekey = () => this.tlsKey(v);
      rekey();
      this.upsert('tvars', rekey);
      const r = this.alloc(x);
      a.mov(r, R0);
      return { reg: r, ctype: t.ctype, space: 'kernel', direct: true };
    }
    if (x.kind === 'Index') {
      const obj = unparen(x.object);
      const info = this.assocInfo(obj);
      if (!info) return undefined;
      const area = this.assocKey(info, x.indices, obj.kind === 'SelfVar');
      const rekey = () => a.mov(R2, R9).alu64('add', R2, imm(area));
      this.upsert(this.env.assocMap(info), rekey);
      const r = this.alloc(x);
      a.mov(r, R0);
      return { reg: r, ctype: t.ctype, space: 'kernel', direct: true };
    }
    if (x.kind === 'Ident' || x.kind === 'ThisVar') {
      const v = this.expr(x, false)!;
      if (v.t === 'obj') return { reg: v.reg, ctype: v.ctype, space: v.space, direct: v.direct };
    }
    return undefined;
  }

  protected memberPlace(e: A.Member, write = false): Place {
    const objT = this.ct(e.object);
    if (!objT) unchecked('a member access whose operand has no type');
    let base: Place;
    if (e.arrow) {
      const p = this.evalInt(e.object);
      const pt = resolve(objT);
      const target = pt.kind === 'pointer' ? pt.target : pt.kind === 'array' ? pt.element : undefined;
      if (!target) unchecked('operator -> applied to something not a pointer');
      base = { reg: p.reg, ctype: target, space: this.spaceOf(e.object, objT) };
    } else {
      const w = write ? this.writableObj(e.object) : undefined;
      if (w) base = w;
      else {
        const v = this.expr(e.object, false)!;
        if (v.t !== 'obj') throw new LowerError('operator . needs a struct or union in memory', e);
        base = { reg: v.reg, ctype: v.ctype, space: v.space, direct: v.direct };
      }
    }
    const st = this.completeStruct(base.ctype, e);
    const m = this.findMember(st, e.member);
    if (!m) unchecked(`${e.member}, not a member of ${st.tag} ${st.name ?? ''}`);
    const byteOff = Math.floor(m.bitOffset / 8);
    if (byteOff) this.asm.alu64('add', base.reg, imm(byteOff));
    const shift = m.bitOffset % 8;
    if (m.bitSize !== undefined) return { reg: base.reg, ctype: m.type, space: base.space, bits: { shift, size: m.bitSize }, direct: base.direct };
    return { reg: base.reg, ctype: m.type, space: base.space, direct: base.direct };
  }

  protected member(e: A.Member): Val {
    const s = this.sym(e);
    if (s?.kind === 'xlate-member') return this.xlateMember(e, s.translator.inputName, s.expr);
    return this.loadPlace(this.memberPlace(e), e);
  }

  protected xlateMember(e: A.Member, inputName: string, expr: A.Expr): Val {
    const input = this.xlateInput(e.object);
    this.xlateBindings.push({ name: inputName, expr: input });
    try { return this.expr(expr, false)!; } finally { this.xlateBindings.pop(); }
  }

  /** The expression a translated value was translated from (`xlate<T *>(input)`, through inlines). */
  protected xlateInput(obj: A.Expr): A.Expr {
    const o = unparen(obj);
    if (o.kind === 'Xlate') return o.operand;
    // A translated args[i]: its raw argument is the translator's input.
    if (o.kind === 'Index' && unparen(o.object).kind === 'Ident' && (unparen(o.object) as A.Ident).name === 'args') return o;
    if (o.kind === 'Unary' && o.op === '*') return this.xlateInput(o.operand);
    const s = this.sym(o);
    if (s?.kind === 'inline' && !s.info.params) return this.xlateInput(s.info.value);
    if (s?.kind === 'builtin-var') {
      const inl = this.env.checked.inlines.get(s.name);
      if (inl) return this.xlateInput(inl.value);
    }
    throw new LowerError('translated data from this expression is not supported by the code generator yet', obj);
  }

  protected bindingOf(name: string): { expr: A.Expr; depth: number } | undefined {
    for (let i = this.xlateBindings.length - 1; i >= 0; i--) if (this.xlateBindings[i]!.name === name) return { expr: this.xlateBindings[i]!.expr, depth: i };
    return undefined;
  }

  /** Evaluates a translator input (bound outside the translator body it is used in). */
  protected xlateInputValue(e: A.Ident): Val {
    const b = this.bindingOf(e.name);
    if (!b) throw new LowerError(`translator input ${e.name} used outside its translator`, e);
    const saved = this.xlateBindings;
    this.xlateBindings = saved.slice(0, b.depth);
    try { return this.expr(b.expr, false)!; } finally { this.xlateBindings = saved; }
  }

  protected kernelSymPlace(e: A.KernelSym): Place {
    const addr = this.env.kernelSymbol(e.name);
    if (addr === undefined) throw new LowerError(`failed to resolve \`${e.name}: Unknown symbol name`, e);
    const r = this.alloc(e);
    this.asm.ldImm64(r, addr);
    return { reg: r, ctype: this.ct(e) ?? Types.long, space: 'kernel' };
  }

  /** The address of an lvalue (for `&`, and for member/index chains). */
  protected placeOf(e: A.Expr, write = false): Place {
    const x = unparen(e);
    switch (x.kind) {
      case 'Member': return this.memberPlace(x, write);
      case 'KernelSym': return this.kernelSymPlace(x);
      case 'Unary':
        if (x.op === '*') {
          const pt = this.ct(x.operand);
          const r = pt && resolve(pt);
          const target = r?.kind === 'pointer' ? r.target : r?.kind === 'array' ? r.element : undefined;
          if (!target) unchecked('operator * applied to something not a pointer');
          const p = this.evalInt(x.operand);
          return { reg: p.reg, ctype: target, space: this.spaceOf(x.operand, pt) };
        }
        break;
      case 'Index': {
        const p = this.elementPlace(x, write);
        if (p) return p;
        break;
      }
    }
    if (write) { const w = this.writableObj(x); if (w) return w; }
    const v = this.expr(x, false)!;
    if (v.t === 'obj') return { reg: v.reg, ctype: v.ctype, space: v.space, direct: v.direct };
    throw new LowerError('cannot take the address of this expression', e);
  }

  /** `p[i]` for a pointer or a C array (not an associative array): the element's address. */
  protected elementPlace(e: A.Index, write = false): Place | undefined {
    const objT = this.ct(e.object);
    const r = objT && resolve(objT);
    if (r?.kind === 'string' && e.indices.length === 1) {
      // s[i] of a D string: the character (as DTrace, no bounds check beyond the buffer).
      const sv = this.evalStr(e.object);
      const a = this.asm;
      a.stx(8, R9, MST.scratchU64, sv.reg).ldx(8, sv.reg, R9, MST.scratchU64); // the address as a plain number
      const [b, ix] = this.keeping(sv, () => this.evalInt(e.indices[0]!), e);
      a.alu64('add', b.reg, ix.reg);
      this.release(ix);
      return { reg: b.reg, ctype: Types.char, space: 'kernel' };
    }
    if (!r || (r.kind !== 'pointer' && r.kind !== 'array') || e.indices.length !== 1) return undefined;
    const s = this.sym(unparen(e.object));
    if (s?.kind === 'variable' && s.info.kind === 'assoc') return undefined;
    const elem = r.kind === 'pointer' ? r.target : r.element;
    const size = Math.max(1, sizeOf(elem, this.mem.strsize));
    let base: Place;
    const bytes = r.kind === 'array' ? this.byteArrayGlobal(e.object, r.length) : undefined;
    if (bytes !== undefined) base = { reg: bytes, ctype: elem, space: 'kernel', direct: true };
    else if (r.kind === 'array') {
      const w = write ? this.writableObj(e.object) : undefined;
      if (w) base = { ...w, ctype: elem };
      else {
        const v = this.expr(e.object, false)!;
        if (v.t !== 'obj') throw new LowerError('array is not in memory', e);
        base = { reg: v.reg, ctype: elem, space: v.space, direct: v.direct };
      }
    } else {
      const p = this.evalInt(e.object);
      base = { reg: p.reg, ctype: elem, space: this.spaceOf(e.object, objT) };
    }
    const k = this.env.checked.constValue(e.indices[0]!);
    if (k !== undefined) {
      if (k !== 0n) this.asm.movImm64(R1, k * BigInt(size)).alu64('add', base.reg, R1);
      return base;
    }
    const [b, ix] = this.keeping({ t: 'int', reg: base.reg, type: U64 }, () => this.evalInt(e.indices[0]!), e);
    base = { ...base, reg: b.reg };
    if (r.kind === 'array' && r.length !== undefined) {
      const ok = this.asm.newLabel('ixok');
      this.asm.jmp('jlt', ix.reg, imm(r.length), ok);
      this.fault(Fault.BADINDEX, ix.reg);
      this.asm.label(ok);
    }
    this.asm.alu64('mul', ix.reg, imm(size)).alu64('add', base.reg, ix.reg);
    this.release(ix);
    return base;
  }

  /**
   * A global array of 1-byte elements (`char`, `int8_t`, `uint8_t`) is kept as a string (its
   * value type): its elements are the bytes of that slot, addressed directly (no NULL-string
   * marker check). The address, in a fresh register; undefined for anything else.
   */
  protected byteArrayGlobal(obj: A.Expr, length: number | undefined): Reg | undefined {
    const x = unparen(obj);
    if (x.kind !== 'Ident' || length === undefined || length > this.mem.strsize) return undefined;
    const g = this.env.sym.globals.get(x.name);
    if (!g || g.type.t !== 'str') return undefined;
    const reg = this.alloc(x);
    this.asm.ldMapValue(reg, 'gvars', this.env.globalOffset(g));
    return reg;
  }

  /** Reads what is at a place: scalars into the register, aggregates stay addresses. */
  protected loadPlace(p: Place, node: A.Expr): Val {
    const a = this.asm;
    const r = resolve(p.ctype);
    if (r.kind === 'struct' || r.kind === 'array') return { t: 'obj', reg: p.reg, ctype: p.ctype, space: p.space, direct: p.direct };
    if (r.kind === 'string') {
      // A D string in memory (e.g. `*(string *)alloca(…)`): copied into a temporary.
      return this.asStr({ t: 'int', reg: p.reg, type: U64 }, node, p.space);
    }
    let size: number, signed: boolean;
    if (r.kind === 'int') { size = r.sizeBytes; signed = r.signed; }
    else if (r.kind === 'enum') { size = r.sizeBytes; signed = r.signed; }
    else if (r.kind === 'pointer') { size = 8; signed = false; }
    else throw new LowerError(`values of type ${r.kind} cannot be read by the code generator yet`, node);
    if (p.direct && !p.bits) {
      a.ldx(size as 1 | 2 | 4 | 8, p.reg, p.reg, 0);
      const t: VType = { t: 'int', size: size as 1 | 2 | 4 | 8, signed };
      this.normalize(p.reg, t);
      return { t: 'int', reg: p.reg, type: t };
    }
    if (p.bits) {
      const nbytes = Math.min(8, Math.ceil((p.bits.shift + p.bits.size) / 8));
      this.readMemory(p.reg, nbytes, p.space, p.direct);
      a.ldx(8, p.reg, R9, MST.scratchU64);
      // Little-endian: the field starts `shift` bits into the first byte.
      const top = 64 - p.bits.shift - p.bits.size;
      if (top) a.alu64('lsh', p.reg, imm(top));
      a.alu64(signed ? 'arsh' : 'rsh', p.reg, imm(top + p.bits.shift));
      return { t: 'int', reg: p.reg, type: { t: 'int', size: size as 1 | 2 | 4 | 8, signed } };
    }
    this.readMemory(p.reg, size, p.space);
    a.ldx(size as 1 | 2 | 4 | 8, p.reg, R9, MST.scratchU64);
    const t: VType = { t: 'int', size: size as 1 | 2 | 4 | 8, signed };
    this.normalize(p.reg, t);
    return { t: 'int', reg: p.reg, type: t };
  }

  /** Reads `size` (≤ 8) bytes at the address in `addr` into MST.scratchU64 (zeroed first); BADADDR on failure. */
  protected readMemory(addr: Reg, size: number, space: Space, direct = false): void {
    const a = this.asm;
    if (!direct) this.allocaAccess(addr, size, 'read');
    a.st(8, R9, MST.scratchU64, 0);
    a.mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(size)).mov(R3, addr);
    a.call(space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
    const ok = a.newLabel('rdok');
    a.jmp('jeq', R0, imm(0), ok);
    this.fault(Fault.BADADDR, addr);
    a.label(ok);
  }

  /**
   * alloca()d memory is addressed by offsets below `allocaLimit` (dtrace-utils' scheme). For
   * such a value in `reg`, checks that [reg, reg + size) lies inside this clause's allocations
   * (BADADDR, or BADSIZE when only the end is out and `sizeFault` says so). A read then gets
   * the real address (a scalar) in `reg`; a write gets R1 = a map-value pointer to the first
   * byte. Other values are ordinary addresses: reads pass them through, writes fault.
   */
  protected allocaAccess(reg: Reg, size: number | { reg: Reg }, mode: 'read' | 'write', sizeFault = false): void {
    const a = this.asm;
    if (mode === 'read' && !this.env.usesAlloca) return;
    const m = this.mem;
    const bad = a.newLabel('abad'), badSize = a.newLabel('abadsz'), normal = a.newLabel('anorm'), ok = a.newLabel('aok');
    a.jmp('jge', reg, imm(m.allocaLimit), mode === 'read' ? normal : bad);
    a.jmp('jlt', reg, imm(8), bad);
    a.ldx(8, R1, R9, MST.allocaTop).jmp('jge', reg, R1, bad);
    a.mov(R2, reg);
    if (typeof size === 'number') a.alu64('add', R2, imm(size)); else a.alu64('add', R2, size.reg);
    a.jmp('jgt', R2, R1, sizeFault ? badSize : bad);
    if (mode === 'read') {
      // The real address as a scalar: a map-value pointer stored to memory and read back.
      a.mov(R1, R9).alu64('add', R1, imm(m.alloca)).stx(8, R9, MST.scratchU64, R1).ldx(8, R1, R9, MST.scratchU64);
      a.alu64('add', reg, R1).ja(ok);
    } else {
      // A constant bound the verifier can see: offsets never exceed scratchsize + 8.
      a.jmp('jgt', reg, imm(m.scratchsize + 8), bad);
      a.mov(R1, R9).alu64('add', R1, imm(m.alloca)).alu64('add', R1, reg).ja(ok);
    }
    a.label(badSize);
    if (sizeFault) this.fault(Fault.BADSIZE, reg);
    a.label(bad);
    this.fault(Fault.BADADDR, reg);
    a.label(normal).label(ok).mov(R0, R0);
  }

  /** Struct/union/array assignment: the bytes of `val` copied into the variable or member `target`. */
  protected copyObj(target: A.Expr, val: Extract<Val, { t: 'obj' }>, node: A.Expr): void {
    let dst: Place | undefined;
    const [v] = this.keeping(val, () => { dst = this.writableObj(target); return undefined; }, node);
    if (!dst || !dst.direct) throw new LowerError('assignment of a struct, union or array to this target is not supported by the code generator yet', node);
    const src = v as Extract<Val, { t: 'obj' }>;
    const size = Math.min(sizeOf(dst.ctype, this.mem.strsize), sizeOf(src.ctype, this.mem.strsize));
    const a = this.asm;
    if (!src.direct) this.allocaAccess(src.reg, size, 'read');
    a.mov(R1, dst.reg).mov(R2, imm(size)).mov(R3, src.reg).call(src.space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
    const ok = a.newLabel('cpyok');
    a.jmp('jeq', R0, imm(0), ok);
    this.fault(Fault.BADADDR, src.reg);
    a.label(ok);
    this.release(dst.reg);
  }

  /** Stores an integer at a place (only alloca()d memory is writable from D). */
  protected storePlace(p: Place, val: Val, node: A.Expr): void {
    const r = resolve(p.ctype);
    if (r.kind === 'string' && val.t === 'str') {
      const a = this.asm;
      if (p.direct) a.mov(R1, p.reg); else this.allocaAccess(p.reg, this.mem.strsize + 1, 'write');
      this.storeStrAt(val.reg);
      this.release(p.reg);
      return;
    }
    if (val.t !== 'int') throw new LowerError('only scalar values can be stored through a pointer', node);
    const size = r.kind === 'int' || r.kind === 'enum' ? r.sizeBytes : r.kind === 'pointer' ? 8 : 0;
    if (!size) throw new LowerError('values of this type cannot be stored through a pointer', node);
    const a = this.asm;
    if (p.direct) a.mov(R1, p.reg); else this.allocaAccess(p.reg, size, 'write');
    if (p.bits) {
      // Read-modify-write of the smallest power-of-two unit holding the field.
      const need = Math.ceil((p.bits.shift + p.bits.size) / 8);
      const w = (need <= 1 ? 1 : need <= 2 ? 2 : need <= 4 ? 4 : 8) as 1 | 2 | 4 | 8;
      const mask = ((1n << BigInt(p.bits.size)) - 1n) << BigInt(p.bits.shift);
      a.ldx(w, R2, R1, 0).movImm64(R3, BigInt.asIntN(64, ~mask)).alu64('and', R2, R3);
      a.mov(R4, val.reg).alu64('lsh', R4, imm(p.bits.shift)).movImm64(R3, mask).alu64('and', R4, R3);
      a.alu64('or', R2, R4).stx(w, R1, 0, R2);
    } else a.stx(size as 1 | 2 | 4 | 8, R1, 0, val.reg);
    this.release(p.reg);
  }
}
