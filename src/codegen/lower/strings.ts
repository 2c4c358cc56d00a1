/**
 * @fileoverview String values: literals, copies into temporaries, comparisons and the string subroutines (codegen/subr/strings.ts).
 */
import { R0, R1, R2, R3, R4, R5, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { Fault } from '../layout.js';
import { I64, I32 } from '../infer.js';
import { resolve, isCharPointerOrArray } from '../../check/ctypes.js';
import { STRING_SUBRS, type Subroutine } from '../subr/strings.js';
import { LowerError, type Val, type Space } from './context.js';
import { MemoryLowering } from './memory.js';

/** `==`/`!=` against a string literal shorter than this compares inline (two 8-byte words). */
const INLINE_COMPARE_MAX = 16;

export abstract class StringLowering extends MemoryLowering {
  /**
   * A string from a value that is not one yet: a char array in memory or a pointer to
   * characters, copied NUL-terminated into a temporary (BADADDR when unreadable).
   */
  protected override asStr(v: Val, node: A.Expr | undefined, space?: Space): Extract<Val, { t: 'str' }> {
    if (v.t === 'str') return v;
    const a = this.asm;
    const off = this.tmpSlot(node);
    let max = this.mem.strsize + 1;
    let sp: Space = space ?? 'kernel';
    if (v.t === 'obj') {
      const r = resolve(v.ctype);
      if (r.kind === 'array' && r.length !== undefined) max = Math.min(max, r.length + 1);
      sp = v.space;
    }
    if (sp === 'kernel') this.allocaAccess(v.reg, 1, 'read');
    a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(max)).mov(R3, v.reg);
    a.call(sp === 'user' ? Helper.probe_read_user_str : Helper.probe_read_kernel_str);
    const ok = a.newLabel('strok');
    a.jmp('jsge', R0, imm(0), ok);
    this.fault(Fault.BADADDR, v.reg);
    a.label(ok).mov(v.reg, R9).alu64('add', v.reg, imm(off));
    return { t: 'str', reg: v.reg };
  }

  protected strLiteral(text: string, node: A.Expr): Val {
    const r = this.alloc(node);
    this.asm.ldMapValue(r, 'strtab', this.env.literal(text));
    return { t: 'str', reg: r };
  }

  /** Copies a string (NUL-terminated, at most strsize bytes) into map memory at R1 (set by `dst`). */
  protected copyStr(dst: () => void, src: Reg): void {
    dst();
    this.storeStrAt(src);
  }

  /**
   * Copies the string at `src` into the variable storage at R1. A NULL string (src = 0, the
   * copy fails) is stored as DTrace's NULL marker: NUL followed by 0x7f.
   */
  protected override storeStrAt(src: Reg): void {
    const a = this.asm;
    a.stx(8, R10, -40, R1).mov(R2, imm(this.mem.strsize + 1)).mov(R3, src).call(Helper.probe_read_kernel_str);
    const ok = a.newLabel('strst');
    a.jmp('jsge', R0, imm(0), ok).ldx(8, R1, R10, -40).st(1, R1, 0, 0).st(1, R1, 1, 0x7f).label(ok).mov(R0, R0);
  }

  /** `r` points at stored string data: make it 0 when the data is the NULL marker. */
  protected nullIfMarker(r: Reg): void {
    const a = this.asm;
    const done = a.newLabel('nmk');
    a.ldx(1, R1, r, 0).jmp('jne', R1, imm(0), done).ldx(1, R1, r, 1).jmp('jne', R1, imm(0x7f), done).mov(r, imm(0)).label(done).mov(r, r);
  }

  /**
   * String comparison through the strcmp subroutine (string kfuncs): <0, 0 or >0, then the
   * operator. A NULL string (or the constant NULL) compares as a pointer, as in DTrace.
   */
  protected strCompare(e: A.Binary): Val {
    const a = this.asm;
    const ops: Record<string, 'jeq' | 'jne' | 'jsgt' | 'jsge' | 'jslt' | 'jsle'> = {
      '==': 'jeq', '!=': 'jne', '<': 'jslt', '<=': 'jsle', '>': 'jsgt', '>=': 'jsge',
    };
    const op = ops[e.op];
    if (!op) throw new LowerError(`operator ${e.op} is not defined for strings`, e);
    if (e.op === '==' || e.op === '!=') {
      const lit = (x: A.Expr): string | undefined => { const u = unparen(x); return u.kind === 'StringLit' ? u.value : undefined; };
      const [other, text] = lit(e.right) !== undefined && lit(e.left) === undefined ? [e.left, lit(e.right)!]
        : lit(e.left) !== undefined && lit(e.right) === undefined ? [e.right, lit(e.left)!] : [undefined, undefined];
      if (other && text !== undefined && this.typeOf(other).t === 'str' && this.mem.strsize >= INLINE_COMPARE_MAX) {
        const bytes = Buffer.from(text, 'latin1');
        const n = bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0);
        if (n < INLINE_COMPARE_MAX) return this.strEqualsLiteral(this.evalStr(other), bytes.subarray(0, n), e.op === '!=');
      }
    }
    const operand = (x: A.Expr): Val => {
      if (this.typeOf(x).t !== 'str' && this.env.checked.constValue(x) === 0n) {
        const r = this.alloc(x);
        a.mov(r, imm(0));
        return { t: 'str', reg: r };
      }
      return this.evalStr(x);
    };
    const [l, r] = this.keeping(operand(e.left), () => operand(e.right), e);
    const nul = a.newLabel('scmpnull'), cmp = a.newLabel('scmpop'), lt = a.newLabel('scmplt');
    a.jmp('jeq', l.reg, imm(0), nul).jmp('jeq', r.reg, imm(0), nul);
    a.mov(R1, R9).mov(R2, l.reg).mov(R3, r.reg).mov(R5, R9).callSub(STRING_SUBRS.strcmp!.name);
    this.env.usage.strings = true;
    a.ja(cmp);
    a.label(nul).mov(R0, imm(0)).jmp('jeq', l.reg, r.reg, cmp).mov(R0, imm(1)).jmp('jlt', l.reg, r.reg, lt).ja(cmp);
    a.label(lt).mov(R0, imm(-1));
    a.label(cmp).mov(R0, R0);
    this.release(r);
    const res = l.reg;
    const yes = a.newLabel('scmpy'), done = a.newLabel('scmpd');
    a.jmp(op, R0, imm(0), yes).mov(res, imm(0)).ja(done).label(yes).mov(res, imm(1)).label(done).mov(res, res);
    return { t: 'int', reg: res, type: I32 };
  }

  /**
   * `s == "literal"` for a literal shorter than 16 bytes, inline: the string's first one or two
   * 8-byte words, masked to the literal's length and its NUL, against the literal's bytes (no
   * call; under the BPF-loop fallback of older kernels, no loop). Every string value lives in a
   * buffer of at least strsize + 1 ≥ 16 bytes (a scratch temporary, a variable, the literal
   * table), so both words are inside it; bytes after the NUL are masked off. A NULL string is
   * unequal to every literal.
   */
  protected strEqualsLiteral(s: Extract<Val, { t: 'str' }>, text: Buffer, negate: boolean): Val {
    const a = this.asm;
    const want = Buffer.alloc(16);
    text.copy(want);
    const differ = a.newLabel('slitne'), done = a.newLabel('slitd');
    a.jmp('jeq', s.reg, imm(0), differ);
    const bytes = text.length + 1; // the NUL included
    for (let at = 0; at < bytes; at += 8) {
      const inWord = Math.min(8, bytes - at);
      const mask = (1n << BigInt(8 * inWord)) - 1n;
      a.ldx(8, R1, s.reg, at);
      if (inWord < 8) a.movImm64(R2, mask).alu64('and', R1, R2);
      a.movImm64(R2, want.readBigUInt64LE(at) & mask).jmp('jne', R1, R2, differ);
    }
    a.mov(s.reg, imm(negate ? 0 : 1)).ja(done);
    a.label(differ).mov(s.reg, imm(negate ? 1 : 0));
    a.label(done).mov(s.reg, s.reg);
    return { t: 'int', reg: s.reg, type: I32 };
  }

  /**
   * Calls a string subroutine (codegen/subr/strings.ts): R1 = a temporary for the result,
   * R2..R4 = the arguments, R5 = the scratch value. Faults come back as negative codes.
   * An `undefined` argument is passed as 0 (inet_ntoa6's non-strict form).
   */
  protected stringSubr(subr: Subroutine, args: (A.Expr | undefined)[], e: A.Expr): Val {
    const a = this.asm;
    const spilled: { v: Val; slot: number }[] = [];
    args.forEach((x, i) => {
      let v: Val;
      const isNull = x !== undefined && this.env.checked.constValue(x) === 0n;
      if (x === undefined || (subr.params[i] === 'str' && isNull)) { const r = this.alloc(e); a.mov(r, imm(0)); v = { t: 'int', reg: r, type: I64 }; }
      else {
        v = subr.params[i] === 'str' ? this.evalStr(x) : this.evalInt(x);
        // A pointer argument (inet_ntoa's address …) may point into alloca()d memory.
        const pt = subr.params[i] === 'int' ? this.ct(x) : undefined;
        if (pt && resolve(pt).kind === 'pointer') this.allocaAccess(v.reg, 1, 'read');
      }
      spilled.push(this.spill(v));
    });
    const dst = subr.returns === 'str' ? this.tmpSlot(e) : 0;
    const argRegs = [R2, R3, R4];
    spilled.forEach((sp, i) => a.ldx(8, argRegs[i]!, R10, sp.slot));
    this.spillDepth -= spilled.length;
    a.mov(R1, R9);
    if (dst) a.alu64('add', R1, imm(dst));
    a.mov(R5, R9).callSub(subr.name);
    this.env.usage.strings = true;
    const r = this.alloc(e);
    if (subr.returns === 'int') { a.mov(r, R0); return { t: 'int', reg: r, type: I64 }; }
    const ok = a.newLabel('subrok'), illop = a.newLabel('subrillop'), isNull = a.newLabel('subrnull'), done = a.newLabel('subrdone');
    a.jmp('jsgt', R0, imm(0), ok).jmp('jeq', R0, imm(0), isNull).jmp('jeq', R0, imm(-Fault.ILLOP), illop);
    this.fault(Fault.BADADDR);
    a.label(illop);
    this.fault(Fault.ILLOP);
    a.label(isNull).mov(r, imm(0)).ja(done);
    a.label(ok).mov(r, R9).alu64('add', r, imm(dst));
    a.label(done).mov(r, r);
    return { t: 'str', reg: r };
  }

  protected isCharData(e: A.Expr): boolean {
    const t = this.ct(e);
    return t !== undefined && isCharPointerOrArray(t);
  }

  /** lltostr(): decimal text of a signed 64-bit value, written right to left into a temporary. */
  protected lltostr(v: Extract<Val, { t: 'int' }>, e: A.Expr): Val {
    const a = this.asm;
    const off = this.tmpSlot(e);
    // R1 = |v|, R2 = write position (index into the temporary), R3 = negative flag, R4 = digit.
    const pos0 = 24;
    a.mov(R1, v.reg).mov(R3, imm(0));
    const nonneg = a.newLabel('ltsnn');
    a.jmp('jsge', R1, imm(0), nonneg).neg(R1).mov(R3, imm(1)).label(nonneg).mov(R2, imm(pos0));
    a.mov(R4, R9).alu64('add', R4, imm(off + pos0 + 1)).st(1, R4, 0, 0);
    const loop = a.newLabel('ltsl'), done = a.newLabel('ltsd');
    a.label(loop);
    a.mov(R4, R1).alu64('mod', R4, imm(10)).alu64('add', R4, imm(48));
    a.mov(R5, R9).alu64('add', R5, R2).alu64('add', R5, imm(off)).stx(1, R5, 0, R4);
    a.alu64('div', R1, imm(10)).jmp('jeq', R1, imm(0), done);
    a.alu64('sub', R2, imm(1)).jmp('jgt', R2, imm(0), loop);
    a.label(done).jmp('jeq', R3, imm(0), `${done}.p`);
    a.alu64('sub', R2, imm(1)).mov(R5, R9).alu64('add', R5, R2).alu64('add', R5, imm(off)).st(1, R5, 0, 45);
    a.label(`${done}.p`).mov(v.reg, R9).alu64('add', v.reg, imm(off)).alu64('add', v.reg, R2);
    // R2 ≤ 24 keeps the pointer inside the temporary for the verifier.
    return { t: 'str', reg: v.reg };
  }
}
