/**
 * @fileoverview Calls: actions (recorded for the consumer) and subroutines, dispatched through a table of handlers.
 */
import { R0, R1, R2, R3, R4, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { MST, STATE, Activity, Fault } from '../layout.js';
import { type VType, I64, I32, U64, STR } from '../infer.js';
import { recordedCallType } from '../recorded.js';
import type { FieldLayout } from '../../program/spec.js';
import { Types, resolve, sizeOf, isCharPointerOrArray } from '../../check/ctypes.js';
import { compilePrintf, isPrintfError } from '../../builtins/printf-format.js';
import { STRING_SUBRS } from '../subr/strings.js';
import { LowerError, unchecked, type Val, type Space, intCType } from './context.js';
import { AggregationLowering } from './aggregations.js';

export abstract class ActionLowering extends AggregationLowering {
  protected override call(e: A.Call): Val | undefined {
    const name = e.callee.name;
    const args = e.args;
    const handler = ActionLowering.handlers.get(name);
    if (handler) return handler.call(this, e, args);
    const subr = STRING_SUBRS[`${name}/${args.length}`] ?? STRING_SUBRS[name];
    if (subr) return this.stringSubr(subr, name === 'inet_ntoa6' ? [...args, undefined] : args, e);
    throw new LowerError(`${name}( ) is not supported by the code generator yet`, e);
  }

  /** The actions and subroutines with code of their own (the string subroutines have a table of their own). */
  private static readonly handlers = new Map<string, (this: ActionLowering, e: A.Call, args: A.Expr[]) => Val | undefined>([
    ['stack', ActionLowering.prototype.callTraceValue],
    ['ustack', ActionLowering.prototype.callTraceValue],
    ['jstack', ActionLowering.prototype.callTraceValue],
    // The symbol functions as statements record their value, as trace() of it would.
    ...['sym', 'func', 'mod', 'usym', 'ufunc', 'umod', 'uaddr'].map((n) => [n, ActionLowering.prototype.callTraceValue] as const),
    ['trace', ActionLowering.prototype.callTraceValue],
    ['printf', ActionLowering.prototype.callFormatted],
    ['system', ActionLowering.prototype.callFormatted],
    ['freopen', ActionLowering.prototype.callFormatted],
    ['tracemem', ActionLowering.prototype.callTracemem],
    ['ftruncate', ActionLowering.prototype.callFtruncate],
    ['exit', ActionLowering.prototype.callExit],
    ['printa', ActionLowering.prototype.callPrinta],
    ['clear', ActionLowering.prototype.callAggAction],
    ['trunc', ActionLowering.prototype.callAggAction],
    ['normalize', ActionLowering.prototype.callAggAction],
    ['denormalize', ActionLowering.prototype.callAggAction],
    ['setopt', ActionLowering.prototype.callSetopt],
    ['strlen', ActionLowering.prototype.callStrlen],
    ['copyinstr', ActionLowering.prototype.callCopyinstr],
    ['__psargs', ActionLowering.prototype.callPsargs],
    ['speculation', ActionLowering.prototype.callSpeculation],
    ['speculate', ActionLowering.prototype.callSpeculate],
    ['commit', ActionLowering.prototype.callCommitDiscard],
    ['discard', ActionLowering.prototype.callCommitDiscard],
    ['alloca', ActionLowering.prototype.callAlloca],
    ['bcopy', ActionLowering.prototype.callCopyBytes],
    ['copyinto', ActionLowering.prototype.callCopyBytes],
    ['copyin', ActionLowering.prototype.callCopyin],
    ['lltostr', ActionLowering.prototype.callLltostr],
    ['rand', ActionLowering.prototype.callRand],
    ['htons', ActionLowering.prototype.callByteOrder],
    ['ntohs', ActionLowering.prototype.callByteOrder],
    ['htonl', ActionLowering.prototype.callByteOrder],
    ['ntohl', ActionLowering.prototype.callByteOrder],
    ['htonll', ActionLowering.prototype.callByteOrder],
    ['ntohll', ActionLowering.prototype.callByteOrder],
  ]);

  private callTraceValue(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    const arg = name === 'trace' ? unparen(args[0]!) : e;
    const recorded = this.recordCallField(arg);
    if (recorded) {
      const { field, decode } = recorded;
      if (decode === 'stack' || decode === 'ustack') this.actions.push({ kind: 'stack', field, user: decode === 'ustack' });
      else this.actions.push({ kind: 'trace', field });
      return undefined;
    }
    const v = this.expr(args[0]!, false)!;
    // trace() of a character array (curthread->comm) records the array's bytes, as dtrace-utils
    // does: only a string value prints as a string.
    const field = this.recordValue(v, this.typeOf(args[0]!), args[0], { charArrayBytes: true });
    this.actions.push({ kind: 'trace', field });
    this.release(v);
    return undefined;
  }

  /**
   * stack(), ustack() and the symbol functions record their raw form (the consumer symbolises
   * it): the field they fill, or undefined when `arg` is not one of them.
   */
  private recordCallField(arg: A.Expr): { field: FieldLayout; decode: FieldLayout['decode'] } | undefined {
    const rt = arg.kind === 'Call' ? recordedCallType(arg, this.env.sym) : undefined;
    if (!rt || rt.t !== 'obj' || arg.kind !== 'Call') return undefined;
    const off = this.recField(rt.size, 8);
    this.records = true;
    this.emitRecorded(arg, this.mem.rec + off, rt);
    const decode = rt.decode ?? 'bytes';
    const field: FieldLayout = { offset: off, sizeBytes: rt.size, type: rt.ctype, decode, ...(rt.symbolForm ? { symbolForm: rt.symbolForm } : {}), ...(rt.jitStrsize !== undefined ? { jitStrsize: rt.jitStrsize } : {}) };
    return { field, decode };
  }

  private callFormatted(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    // system() and freopen() are formatted like printf; the consumer runs the command /
    // reopens its output.
    const fmt = unparen(args[0]!);
    if (fmt.kind !== 'StringLit') unchecked(`${name}( ) with a format that is not a string constant (D_PRINTF_ARG_FMT)`);
    const fields: FieldLayout[] = [];
    const wantsString = printfStringArgs(fmt.value);
    args.slice(1).forEach((arg, i) => {
      // printf("%k", stack()), printf("%s", func(pc)): recorded as trace() records them.
      const recorded = this.recordCallField(unparen(arg));
      if (recorded) { fields.push(recorded.field); this.resetTemps(); return; }
      const v = this.expr(arg, false)!;
      const t = this.typeOf(arg);
      // %s of a `char *` or char array prints the characters it points to.
      fields.push(this.recordValue(v, wantsString[i] && t.t === 'int' && v.t !== 'str' && this.isCharData(arg) ? STR : t, arg));
      this.release(v);
      this.resetTemps();
    });
    this.actions.push({ kind: kindOf(name, ['printf', 'system', 'freopen']), format: fmt.value, args: fields });
    return undefined;
  }

  private callTracemem(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    // tracemem(addr, n [, dynsize]): n bytes (a constant) copied into the record.
    const n = Number(this.env.checked.constValue(args[1]!) ?? 0n);
    if (n <= 0) unchecked('tracemem( ) of a size that is not a positive constant');
    const src = this.expr(args[0]!, false)!;
    const off = this.recField(n, 8);
    this.records = true;
    if (src.t === 'int') this.allocaAccess(src.reg, n, 'read');
    a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + off)).mov(R2, imm(n)).mov(R3, src.reg).call(Helper.probe_read_kernel);
    const ok = a.newLabel('tmok');
    a.jmp('jeq', R0, imm(0), ok);
    this.fault(Fault.BADADDR, src.reg);
    a.label(ok);
    this.release(src);
    const field: FieldLayout = { offset: off, sizeBytes: n, type: Types.uchar, decode: 'bytes' };
    let dynSize: FieldLayout | undefined;
    if (args[2]) { const d = this.evalInt(args[2]); dynSize = this.recordValue(d, I64); this.release(d); }
    this.actions.push(dynSize ? { kind: 'tracemem', field, dynSize } : { kind: 'tracemem', field });
    return undefined;
  }

  private callFtruncate(e: A.Call, args: A.Expr[]): Val | undefined {
    this.actions.push({ kind: 'ftruncate' });
    this.records = true;
    return undefined;
  }

  private callExit(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const v = this.evalInt(args[0]!);
    const field = this.recordValue(v, I32);
    this.actions.push({ kind: 'exit', field });
    this.release(v);
    a.ldMapValue(R1, 'state', STATE.activity).mov(R2, imm(Activity.DRAINING)).stx(8, R1, 0, R2);
    return undefined;
  }

  private callPrinta(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    let fmt: string | undefined;
    let rest = args;
    const first = args[0] && unparen(args[0]);
    if (first?.kind === 'StringLit') { fmt = first.value; rest = args.slice(1); }
    const ids = rest.map((x) => {
      const r = unparen(x);
      if (r.kind !== 'AggRef') unchecked('printa( ) of something not an aggregation');
      const info = this.env.sym.aggs.get(r.name);
      return info ? info.id : -1;
    }).filter((id) => id > 0);
    this.actions.push({ kind: 'printa', format: fmt, aggIds: ids });
    this.records = true;
    return undefined;
  }

  private callAggAction(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    const r = unparen(args[0]!);
    if (r.kind !== 'AggRef') unchecked(`${name}( ) of something not an aggregation`);
    const info = this.env.sym.aggs.get(r.name);
    let field: FieldLayout | undefined;
    if (args[1]) { const v = this.evalInt(args[1]); field = this.recordValue(v, I64); this.release(v); }
    if (info) this.actions.push({ kind: kindOf(name, ['clear', 'trunc', 'normalize', 'denormalize']), aggId: info.id, arg: field });
    this.records = true;
    return undefined;
  }

  private callSetopt(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    // Constant strings travel in the action; any other string is recorded (DTrace evaluates both).
    const n = unparen(args[0]!), v = args[1] ? unparen(args[1]) : undefined;
    const field = (x: A.Expr): FieldLayout => { const s = this.evalStr(x); const f = this.recordValue(s, STR, x); this.release(s); return f; };
    this.actions.push({
      kind: 'setopt', name: n.kind === 'StringLit' ? n.value : field(n),
      value: v === undefined ? undefined : v.kind === 'StringLit' ? v.value : field(v),
    });
    this.records = true;
    return undefined;
  }

  private callStrlen(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const s = this.evalStr(args[0]!);
    const r = s.reg;
    // probe_read_kernel_str into a temporary returns the length including the NUL.
    const off = this.tmpSlot(e);
    a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(this.mem.strsize + 1)).mov(R3, r).call(Helper.probe_read_kernel_str);
    a.mov(r, R0).alu64('sub', r, imm(1));
    const ok = a.newLabel('slen');
    a.jmp('jsge', r, imm(0), ok).mov(r, imm(0)).label(ok).mov(r, r);
    return { t: 'int', reg: r, type: U64 };
  }

  private callCopyinstr(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const p = this.evalInt(args[0]!);
    const off = this.tmpSlot(e);
    // As dtrace-utils: at most min(maxlen, strsize) bytes, the NUL included.
    let max = this.mem.strsize;
    const lim = args[1] ? this.env.checked.constValue(args[1]) : undefined;
    if (lim !== undefined && lim > 0n && lim < BigInt(max)) max = Number(lim);
    a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(max)).mov(R3, p.reg).call(Helper.probe_read_user_str);
    const ok = a.newLabel('cinok');
    a.jmp('jsge', R0, imm(0), ok);
    this.fault(Fault.BADADDR, p.reg);
    a.label(ok).mov(p.reg, R9).alu64('add', p.reg, imm(off));
    return { t: 'str', reg: p.reg };
  }

  /**
   * `__psargs(start, len)`: the user bytes [start, start + len) — a process's arguments, each
   * NUL-terminated — as one string, the arguments separated by spaces (pr_psargs), cut to
   * strsize. A bounded loop turns every NUL but the last into a space.
   */
  private callPsargs(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const [p, n] = this.evalArgs([args[0]!, args[1]!]) as [Extract<Val, { t: 'int' }>, Extract<Val, { t: 'int' }>];
    const off = this.tmpSlot(e);
    const max = this.mem.strsize;
    const empty = a.newLabel('psempty'), read = a.newLabel('psread'), loop = a.newLabel('psloop'), next = a.newLabel('psnext'), done = a.newLabel('psdone'), cut = a.newLabel('pscut');
    // n = min(len, strsize); nothing to read when len <= 0.
    a.jmp('jsle', n.reg, imm(0), empty).jmp('jle', n.reg, imm(max), read).mov(n.reg, imm(max));
    a.label(read).mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, n.reg).mov(R3, p.reg).call(Helper.probe_read_user);
    const ok = a.newLabel('psok');
    a.jmp('jeq', R0, imm(0), ok);
    this.fault(Fault.BADADDR, p.reg);
    a.label(ok).mov(R2, imm(0));
    // i in R2 from 0 while i < n - 1: a NUL becomes a space; the byte at n is the terminator.
    a.label(loop).mov(R3, n.reg).alu64('sub', R3, imm(1)).jmp('jge', R2, R3, done).jmp('jge', R2, imm(max), done);
    a.mov(R1, R9).alu64('add', R1, imm(off)).alu64('add', R1, R2).ldx(1, R4, R1, 0).jmp('jne', R4, imm(0), next);
    // Two NULs in a row end the arguments (an argument area padded after a process retitled itself).
    a.ldx(1, R4, R1, 1).jmp('jeq', R4, imm(0), cut).st(1, R1, 0, 0x20);
    a.label(next).alu64('add', R2, imm(1)).ja(loop);
    a.label(cut).mov(n.reg, R2).ja(done);
    a.label(empty).mov(n.reg, imm(0));
    // n ≤ strsize on every path; the verifier is shown it by a forward branch (a jump back to
    // `empty`, which falls through into `done`, is a fall-through back-edge 6.1's verifier refuses).
    const bounded = a.newLabel('psbounded');
    a.label(done).jmp('jle', n.reg, imm(max), bounded).mov(n.reg, imm(0));
    a.label(bounded).mov(R1, R9).alu64('add', R1, imm(off)).alu64('add', R1, n.reg).st(1, R1, 0, 0);
    this.release(n);
    a.mov(p.reg, R9).alu64('add', p.reg, imm(off));
    return { t: 'str', reg: p.reg };
  }

  private callSpeculation(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    // The first free buffer, claimed with compare-and-exchange; 0 when none is free.
    const r = this.alloc(e);
    const got = a.newLabel('specgot'), none = a.newLabel('specnone');
    const n = Math.min(this.env.options.nspec, 16);
    for (let i = 1; i <= n; i++) {
      a.ldMapValue(R1, 'specs', 8 * i).mov(R0, imm(0)).mov(R2, imm(1)).cmpxchg(8, R1, 0, R2);
      a.mov(r, imm(i)).jmp('jeq', R0, imm(0), got);
    }
    a.label(none).mov(r, imm(0)).ldMapValue(R1, 'state', STATE.specUnavail).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    a.label(got).mov(r, r);
    return { t: 'int', reg: r, type: I32 };
  }

  private callSpeculate(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const id = this.evalInt(args[0]!);
    // speculate() of 0, of an id no buffer has (unlike commit/discard, no fault: DTrace's
    // dt_speculation_speculate finds no buffer) or of an inactive buffer: the rest of the
    // clause is skipped silently.
    a.jmp('jeq', id.reg, imm(0), this.end);
    a.jmp('jgt', id.reg, imm(Math.min(this.env.options.nspec, 16)), this.end);
    a.mov(R1, id.reg).alu64('lsh', R1, imm(3)).ldMapValue(R2, 'specs', 0).alu64('add', R2, R1).ldx(8, R1, R2, 0).jmp('jeq', R1, imm(0), this.end);
    a.stx(8, R9, MST.specId, id.reg);
    this.release(id);
    return undefined;
  }

  private callCommitDiscard(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const name = e.callee.name;
    const id = this.evalInt(args[0]!);
    this.checkSpecId(id.reg);
    const field = this.recordValue(id, I64);
    this.actions.push({ kind: kindOf(name, ['commit', 'discard']), field });
    // Free the buffer now: records reach the consumer in ring order, so the ones
    // written before this commit are behind it and later ones belong to the next user.
    const skip = a.newLabel('specfree');
    a.jmp('jeq', id.reg, imm(0), skip);
    a.mov(R1, id.reg).alu64('lsh', R1, imm(3)).ldMapValue(R2, 'specs', 0).alu64('add', R2, R1).st(8, R2, 0, 0);
    a.label(skip).mov(R0, R0);
    this.release(id);
    return undefined;
  }

  private callAlloca(e: A.Call, args: A.Expr[]): Val | undefined {
    const n = this.evalInt(args[0]!);
    const ptr = this.allocaBytes(n.reg, e);
    this.release(n);
    return ptr;
  }

  private callCopyBytes(e: A.Call, args: A.Expr[]): Val | undefined {
    const name = e.callee.name;
    // bcopy(src, dst, n); copyinto(uaddr, n, dst)
    // Arguments are evaluated left to right, as written (their side effects may depend on it).
    const [first, second, third] = this.evalArgs([args[0]!, args[1]!, args[2]!]) as [Val, Extract<Val, { t: 'int' }>, Extract<Val, { t: 'int' }>];
    const [src, dst, n] = name === 'bcopy' ? [first, second, third] : [first, third, second];
    const srcE = args[0]!;
    this.copyInto(src.reg, dst.reg, n.reg, name === 'copyinto' ? 'user' : this.spaceOf(srcE, this.ct(srcE)), src.t === 'int');
    this.release(src); this.release(dst); this.release(n);
    return undefined;
  }

  private callCopyin(e: A.Call, args: A.Expr[]): Val | undefined {
    const [src0, n] = this.evalArgs([args[0]!, args[1]!]) as [Extract<Val, { t: 'int' }>, Extract<Val, { t: 'int' }>];
    const [src, ptr] = this.keeping(src0, () => this.allocaBytes(n.reg, e), e);
    this.copyInto(src.reg, ptr.reg, n.reg, 'user', false);
    this.release(src); this.release(n);
    return ptr;
  }

  private callLltostr(e: A.Call, args: A.Expr[]): Val | undefined {
    const v = this.evalInt(args[0]!);
    return this.lltostr(v, e);
  }

  private callRand(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const r = this.alloc(e);
    a.call(Helper.get_prandom_u32).mov(r, R0);
    return { t: 'int', reg: r, type: I32 };
  }

  private callByteOrder(e: A.Call, args: A.Expr[]): Val | undefined {
    const a = this.asm;
    const name = e.callee.name;
    const v = this.evalInt(args[0]!);
    const bits = name.endsWith('ll') ? 64 : name.endsWith('l') ? 32 : 16;
    a.emit({ code: 0xd4 | 0x08, dst: v.reg, src: 0, off: 0, imm: bits }); // be16/32/64 (to big endian)
    return { t: 'int', reg: v.reg, type: bits === 64 ? U64 : bits === 32 ? { t: 'int', size: 4, signed: false } : { t: 'int', size: 2, signed: false } };
  }

  /** Writes what stack()/ustack()/sym()/… record at R9 + `at` (a record or a key). */
  protected override emitRecorded(call: A.Call, at: number, rt: Extract<VType, { t: 'obj' }>): void {
    const a = this.asm;
    const user = rt.decode === 'ustack' || rt.decode === 'usymbol';
    if (user) a.call(Helper.get_current_pid_tgid).alu64('rsh', R0, imm(32)).stx(8, R9, at, R0);
    const first = at + (user ? 8 : 0);
    if (rt.decode === 'stack' || rt.decode === 'ustack') {
      const bytes = rt.size - (user ? 8 : 0);
      // bpf_get_stack zero-fills what it does not write, so unused frames read as 0.
      a.ldx(8, R1, R10, -8).mov(R2, R9).alu64('add', R2, imm(first)).mov(R3, imm(bytes)).mov(R4, imm(user ? 256 /* BPF_F_USER_STACK */ : 0));
      a.call(Helper.get_stack);
      return;
    }
    const v = this.evalInt(call.args[0]!);
    a.stx(8, R9, first, v.reg);
    this.release(v);
  }

  /** A speculation id above nspec is an illegal operation (DTRACEFLT_ILLOP). */
  protected checkSpecId(id: Reg): void {
    const ok = this.asm.newLabel('specok');
    this.asm.jmp('jle', id, imm(Math.min(this.env.options.nspec, 16)), ok);
    this.fault(Fault.ILLOP, id);
    this.asm.label(ok);
  }

  /** Evaluates several arguments (at most three) left to right, the earlier ones kept live while later ones are computed. */
  protected evalArgs(exprs: A.Expr[]): Val[] {
    let vals: Val[] = [];
    for (const x of exprs) {
      const one = (): Val => {
        const v = this.expr(x, false)!;
        return v.t === 'obj' ? { t: 'int', reg: v.reg, type: U64 } : v;
      };
      const [kept, v] = this.holding(vals, one, x);
      vals = [...kept, v];
    }
    return vals;
  }

  /**
   * alloca(n): the next 8-aligned offset of this clause's scratch memory (NOSCRATCH when it
   * would exceed scratchsize). `n` stays live.
   */
  protected allocaBytes(n: Reg, e: A.Expr): Extract<Val, { t: 'int' }> {
    const a = this.asm;
    const r = this.alloc(e);
    const ok = a.newLabel('allocok');
    a.ldx(8, r, R9, MST.allocaTop).mov(R2, r).alu64('add', R2, n);
    a.jmp('jle', R2, imm(this.mem.scratchsize), ok);
    this.fault(Fault.NOSCRATCH, n);
    a.label(ok).alu64('add', R2, imm(7)).alu64('and', R2, imm(-8)).stx(8, R9, MST.allocaTop, R2);
    return { t: 'int', reg: r, type: U64 };
  }

  /** Copies n bytes from `src` (kernel or user memory, or alloca) into alloca()d memory at `dst`. */
  protected copyInto(src: Reg, dst: Reg, n: Reg, space: Space, srcMayBeAlloca: boolean): void {
    const a = this.asm;
    const ok = a.newLabel('cpnok');
    a.jmp('jle', n, imm(this.mem.scratchsize), ok);
    this.fault(Fault.BADSIZE, n);
    a.label(ok);
    // An alloca()d source or destination too small for n bytes is a size fault.
    if (srcMayBeAlloca && space === 'kernel') this.allocaAccess(src, { reg: n }, 'read', true);
    this.allocaAccess(dst, { reg: n }, 'write', true);
    a.mov(R2, n).alu64('and', R2, imm(0x7fffffff)).jmp('jle', R2, imm(this.mem.scratchsize), `${ok}.b`).mov(R2, imm(0)).label(`${ok}.b`);
    a.mov(R3, src).call(space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
    const done = a.newLabel('cpdone');
    a.jmp('jeq', R0, imm(0), done);
    this.fault(Fault.BADADDR, src);
    a.label(done);
  }

  /**
   * Stores a value into the record; returns its layout. A character array is recorded as a
   * string unless `charArrayBytes` (trace()), which records its bytes.
   */
  protected recordValue(v: Val, t: VType, node?: A.Expr, opts: { charArrayBytes?: boolean } = {}): FieldLayout {
    const a = this.asm;
    this.records = true;
    if (v.t === 'obj' && (!isCharPointerOrArray(v.ctype) || (opts.charArrayBytes && resolve(v.ctype).kind === 'array'))) {
      // A struct, union or non-character array: its bytes, printed as a memory dump.
      const size = Math.max(1, sizeOf(v.ctype, this.mem.strsize));
      const off = this.recField(size, 8);
      if (!v.direct) this.allocaAccess(v.reg, size, 'read');
      a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + off)).mov(R2, imm(size)).mov(R3, v.reg);
      a.call(v.space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
      const ok = a.newLabel('recok');
      a.jmp('jeq', R0, imm(0), ok);
      this.fault(Fault.BADADDR, v.reg);
      a.label(ok);
      return { offset: off, sizeBytes: size, type: v.ctype, decode: 'bytes' };
    }
    if (v.t !== 'str' && (t.t === 'str' || v.t === 'obj')) v = this.asStr(v, node, node && this.spaceOf(node, this.ct(node)));
    if (v.t === 'str') {
      const off = this.recField(this.mem.strSlot, 8);
      a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + off)).mov(R2, imm(this.mem.strsize + 1)).mov(R3, v.reg).call(Helper.probe_read_kernel_str);
      // Tracing the NULL string is a read of address 0.
      const ok = a.newLabel('recstr');
      a.jmp('jsge', R0, imm(0), ok);
      this.fault(Fault.BADADDR, v.reg);
      a.label(ok);
      return { offset: off, sizeBytes: this.mem.strsize + 1, type: Types.string, decode: 'string' };
    }
    const vt: Extract<VType, { t: 'int' }> = t.t === 'int' ? t : { t: 'int', size: 8, signed: true };
    const off = this.recField(8, 8);
    a.stx(8, R9, this.mem.rec + off, v.reg);
    const ft = node && this.ct(node);
    const fr = ft && resolve(ft);
    if (fr?.kind === 'float') return { offset: off, sizeBytes: fr.sizeBytes === 4 ? 4 : 8, type: ft!, decode: 'float' };
    return { offset: off, sizeBytes: vt.size, type: intCType(vt), decode: 'int', signed: vt.signed };
  }
}

/** For each printf argument after the format, whether a %s directive consumes it. */
function printfStringArgs(format: string): boolean[] {
  const prog = compilePrintf(format);
  const out: boolean[] = [];
  if (isPrintfError(prog)) return out;
  for (const d of prog.directives) {
    if (d.flags.dynWidth) out.push(false);
    if (d.flags.dynPrec) out.push(false);
    if (d.conv.name === '%') continue;
    out.push(d.conv.outConv === 's' && d.conv.print !== 'addr' && d.conv.print !== 'uaddr' && d.conv.print !== 'time');
  }
  return out;
}

/** `name` as one of the action names its handler serves (the handler table sends only those). */
function kindOf<T extends string>(name: string, names: readonly T[]): T {
  const kind = names.find((n) => n === name);
  if (kind === undefined) throw new Error(`${name}( ) reached the handler of ${names.join('/')}`);
  return kind;
}
