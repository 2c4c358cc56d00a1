/**
 * @fileoverview Lowering of D clauses to BPF: expressions, statements, variables, actions and
 * aggregation updates. Clauses are emitted inline into each probe's program, in script order,
 * each guarded by the activity gate and its predicate (dtrace-utils' dt_cg_tramp_call_clauses,
 * with the clause body inlined rather than called).
 *
 * Register conventions: R9 = the per-CPU scratch value (layout.ts), R6–R8 = expression
 * temporaries (kept across helper calls), R0–R5 = scratch for helper calls. fp-8 holds the
 * program context.
 */
import { Asm, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, imm, type Reg } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import type * as A from '../lang/ast.js';
import { unparen } from '../lang/ast.js';
import { reportedLine, lineText } from '../diag/source.js';
import type { DiagnosticSink } from '../diag/diagnostic.js';
import { type MemLayout, MST, STATE, Activity, Fault } from './layout.js';
import { type VType, type Symbols, type VarInfo, type AggInfo, I64, I32, U64, STR, BUILTIN_VARS, exprType, castType, constInt, arith } from './infer.js';
import type { FieldLayout, RecordedAction, ClauseSpec } from './spec.js';
import type { CType } from '../check/ctypes.js';
import { Types } from '../check/ctypes.js';
import type { ProbeInfo } from './spec.js';

/** A value computed into a register. Strings are pointers to NUL-terminated map memory. */
type Val = { t: 'int'; reg: Reg; type: VType } | { t: 'str'; reg: Reg };

export class LowerError extends Error {
  constructor(message: string, readonly node?: { span: A.Expr['span'] }) { super(message); }
}

/** Shared, program-wide state: string table, map names, per-clause record layouts. */
export interface LowerEnv {
  sym: Symbols;
  mem: MemLayout;
  sink: DiagnosticSink;
  /** Adds a string literal to the string table; returns its offset. */
  literal(text: string): number;
  /** Offsets of global scalars in the gvars map, by name. */
  globalOffset(v: VarInfo): number;
  /** Map name for an associative array / aggregation. */
  assocMap(v: VarInfo): string;
  aggMap(a: AggInfo): string;
  /** Size of one stored value of a type. */
  slotSize(t: VType): number;
  /** Byte size of an aggregation's value. */
  aggValueSize(a: AggInfo): number;
  aggKeySize(a: AggInfo): number;
  tvarValueSize: number;
  options: { target?: number; destructive: boolean; walltimeOffsetNs: bigint; macroArgs: string[] };
  /** Clause record layouts by stid, filled the first time a clause is lowered. */
  clauses: Map<number, ClauseSpec>;
  recMax: number;
}

const SCRATCH_REGS: Reg[] = [R6, R7, R8];

/**
 * Emits one clause for one probe. `probe` is known at compile time (clauses are inlined per
 * probe), so probeprov/probemod/probefunc/probename are literals.
 */
export function lowerClause(asm: Asm, env: LowerEnv, clause: A.Clause, stid: number, probe: ProbeInfo, gate: number): void {
  const c = new ClauseLowering(asm, env, clause, stid, probe);
  c.emit(gate);
}

class ClauseLowering {
  private free: Reg[] = [...SCRATCH_REGS];
  private tmpNext = 0;
  private recOff = 8; // after the u32 prid / u32 stid header
  private actions: RecordedAction[] = [];
  private records = false;
  private readonly end: string;
  private readonly mem: MemLayout;
  private lvarOffsets = new Map<string, number>();

  constructor(private asm: Asm, private env: LowerEnv, private clause: A.Clause, private stid: number, private probe: ProbeInfo) {
    this.end = asm.newLabel(`clause${stid}_end`);
    this.mem = env.mem;
  }

  emit(gate: number): void {
    const a = this.asm;
    const cl = this.clause;
    this.note(cl.probes[0]?.span ?? cl.span);
    // Activity gate, re-checked before every clause so that exit() stops later clauses.
    a.ldMapValue(R1, 'state', STATE.activity).ldx(8, R1, R1, 0).jmp('jne', R1, imm(gate), this.end);
    if (cl.predicate) {
      this.note(cl.predicate.span);
      const v = this.evalInt(cl.predicate);
      a.jmp('jeq', v.reg, imm(0), this.end);
      this.release(v);
    }
    this.resetTemps();
    for (const s of cl.body) this.stmt(s);
    const hasData = this.actions.length > 0 || cl.body.length === 0 || this.records;
    const recordSize = (this.recOff + 7) & ~7;
    if (hasData) {
      // Header, then the whole record in one ring-buffer write: a faulting clause emits nothing.
      a.mov(R1, imm(this.probe.id)).stx(4, R9, this.mem.rec, R1);
      a.mov(R1, imm(this.stid)).stx(4, R9, this.mem.rec + 4, R1);
      a.ldMapFd(R1, 'ringbuf').mov(R2, R9).alu64('add', R2, imm(this.mem.rec)).mov(R3, imm(recordSize)).mov(R4, imm(0)).call(Helper.ringbuf_output);
      a.jmp('jeq', R0, imm(0), this.end);
      a.ldMapValue(R1, 'state', STATE.bufDrops).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    }
    a.label(this.end);
    if (!this.env.clauses.has(this.stid)) {
      this.env.clauses.set(this.stid, { stid: this.stid, span: cl.span, recordSize: hasData ? recordSize : 0, actions: this.actions, printsPrefix: hasData });
      this.env.recMax = Math.max(this.env.recMax, recordSize);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Bookkeeping

  private note(span: A.Expr['span']): void {
    const { line } = reportedLine(span.source, span.start);
    this.asm.setSource({ where: `${span.source.name}:${line}`, text: lineText(span.source, span.start), start: span.start, end: span.end });
  }

  private alloc(node?: A.Expr): Reg {
    const r = this.free.shift();
    if (r === undefined) throw new LowerError('expression too complex: out of registers', node);
    return r;
  }
  private release(v: Val | Reg | undefined): void {
    if (v === undefined) return;
    const r = typeof v === 'number' ? v : v.reg;
    if (SCRATCH_REGS.includes(r) && !this.free.includes(r)) { this.free.unshift(r); this.free.sort((x, y) => x - y); }
  }
  private resetTemps(): void { this.tmpNext = 0; }
  /** Offset (in the scratch value) of a fresh temporary string slot. */
  private tmpSlot(node?: A.Expr): number {
    const n = this.tmpNext++;
    if (n >= 8) throw new LowerError('expression too complex: out of temporary strings', node);
    return this.mem.tmp + n * this.mem.strSlot;
  }

  /** Reserves `size` bytes of the record at natural alignment; returns the offset from the record start. */
  private recField(size: number, align: number): number {
    this.recOff = (this.recOff + align - 1) & ~(align - 1);
    const off = this.recOff;
    this.recOff += size;
    return off;
  }

  private fault(code: number, valueReg?: Reg): void {
    // Error record: header (prid, stid = 0xffffffff), faulting stid, fault code, value, pc.
    const a = this.asm;
    const base = this.mem.rec;
    if (valueReg !== undefined) a.stx(8, R9, base + 16, valueReg); else a.st(8, R9, base + 16, 0);
    a.mov(R1, imm(this.probe.id)).stx(4, R9, base, R1);
    a.mov(R1, imm(-1)).stx(4, R9, base + 4, R1);
    a.mov(R1, imm(this.stid)).stx(4, R9, base + 8, R1);
    a.mov(R1, imm(code)).stx(4, R9, base + 12, R1);
    a.mov(R1, imm(a.insns.length)).stx(8, R9, base + 24, R1);
    a.ldMapFd(R1, 'ringbuf').mov(R2, R9).alu64('add', R2, imm(base)).mov(R3, imm(32)).mov(R4, imm(0)).call(Helper.ringbuf_output);
    a.ldMapValue(R1, 'state', STATE.errors).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    a.ja(this.end);
    this.env.recMax = Math.max(this.env.recMax, 32);
  }

  // ------------------------------------------------------------------------------------------
  // Statements

  private stmt(s: A.Stmt): void {
    switch (s.kind) {
      case 'ExprStmt': {
        this.note(s.span);
        const v = this.expr(s.expr, true);
        this.release(v);
        this.resetTemps();
        return;
      }
      case 'BlockStmt': s.body.forEach((x) => this.stmt(x)); return;
      case 'EmptyStmt': return;
      case 'Declaration': return;
      case 'IfStmt': {
        this.note(s.cond.span);
        const v = this.evalInt(s.cond);
        const elseL = this.asm.newLabel('else'), endL = this.asm.newLabel('endif');
        this.asm.jmp('jeq', v.reg, imm(0), elseL);
        this.release(v);
        this.resetTemps();
        this.stmt(s.then);
        this.asm.ja(endL).label(elseL);
        if (s.else) this.stmt(s.else);
        this.asm.mov(R0, R0).label(endL); // a no-op so both labels bind to an instruction
        this.asm.mov(R0, R0);
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Expressions

  private typeOf(e: A.Expr): VType { return exprType(e, this.env.sym); }

  private evalInt(e: A.Expr): Extract<Val, { t: 'int' }> {
    const v = this.expr(e, false);
    if (!v) throw new LowerError('expression has no value', e);
    if (v.t !== 'int') {
      // A string in a boolean context: non-NULL → true (its pointer is never NULL here).
      this.asm.mov(v.reg, imm(1));
      return { t: 'int', reg: v.reg, type: I32 };
    }
    return v;
  }

  private evalStr(e: A.Expr): Extract<Val, { t: 'str' }> {
    const v = this.expr(e, false);
    if (!v || v.t !== 'str') throw new LowerError('expected a string', e);
    return v;
  }

  /** Truncates/extends a register holding a value of type t to its canonical 64-bit form. */
  private normalize(reg: Reg, t: VType): void {
    if (t.t !== 'int' || t.size === 8) return;
    if (t.signed) this.asm.movsx(reg, reg, (t.size * 8) as 8 | 16 | 32);
    else if (t.size === 4) this.asm.mov32(reg, reg);
    else this.asm.alu64('and', reg, imm(t.size === 1 ? 0xff : 0xffff));
  }

  private expr(e: A.Expr, discard: boolean): Val | undefined {
    const a = this.asm;
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
        const t = castType(e.type);
        const v = this.expr(e.operand, false)!;
        if (t.t === 'str' || v.t === 'str') return v;
        this.normalize(v.reg, t);
        return { t: 'int', reg: v.reg, type: t };
      }
      case 'SizeofType': case 'SizeofExpr': case 'Offsetof': {
        const r = this.alloc(e);
        const size = e.kind === 'SizeofType' ? typeSize(castType(e.type), this.mem.strsize)
          : e.kind === 'SizeofExpr' ? typeSize(this.typeOf(e.operand), this.mem.strsize) : 0;
        a.mov(r, imm(size));
        return { t: 'int', reg: r, type: U64 };
      }
      case 'Stringof': {
        const v = this.expr(e.operand, false)!;
        if (v.t === 'str') return v;
        // stringof(int) is not meaningful for us yet: print the number as a decimal string is
        // what lltostr does; keep the pointer semantics of DTrace out of scope here.
        return this.lltostr(v, e);
      }
      case 'Call': return this.call(e);
      case 'AggRef': throw new LowerError('an aggregation cannot be used as a value', e);
      case 'FloatLit': throw new LowerError('floating-point values are not supported in D', e);
      case 'KernelSym': case 'Member': case 'Xlate':
        throw new LowerError(`${e.kind === 'KernelSym' ? 'kernel symbols' : e.kind === 'Member' ? 'member access' : 'xlate'} is not supported by the code generator yet`, e);
    }
  }

  private strLiteral(text: string, node: A.Expr): Val {
    const r = this.alloc(node);
    this.asm.ldMapValue(r, 'strtab', this.env.literal(text));
    return { t: 'str', reg: r };
  }

  private macroVar(e: A.MacroVar): Val {
    const a = this.asm;
    const o = this.env.options;
    if (e.name === 'target' || e.name === 'pid') {
      const r = this.alloc(e);
      a.movImm64(r, BigInt(e.name === 'target' ? (o.target ?? 0) : process.pid));
      return { t: 'int', reg: r, type: I32 };
    }
    const n = Number(e.name);
    const text = Number.isInteger(n) && n >= 1 ? o.macroArgs[n - 1] : undefined;
    if (text === undefined) {
      // DTrace: an unset macro argument is 0 / "" only with -x defaultargs (checked earlier).
      if (e.stringForm) return this.strLiteral('', e);
      const r = this.alloc(e); a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 };
    }
    const t = this.typeOf(e);
    if (t.t === 'str') return this.strLiteral(text, e);
    const r = this.alloc(e);
    a.movImm64(r, BigInt(text.trim()));
    return { t: 'int', reg: r, type: I64 };
  }

  private ident(e: A.Ident): Val {
    const a = this.asm;
    const name = e.name;
    const g = this.env.sym.globals.get(name);
    if (g && !BUILTIN_VARS[name]) return this.loadGlobal(g, e);
    const r = this.alloc(e);
    const int = (type: VType): Val => ({ t: 'int', reg: r, type });
    switch (name) {
      case 'pid': a.call(Helper.get_current_pid_tgid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(I32);
      case 'tid': a.call(Helper.get_current_pid_tgid).mov32(r, R0); return int(I32);
      case 'uid': a.call(Helper.get_current_uid_gid).mov32(r, R0); return int(BUILTIN_VARS.uid!);
      case 'gid': a.call(Helper.get_current_uid_gid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(BUILTIN_VARS.gid!);
      case 'cpu': a.call(Helper.get_smp_processor_id).mov(r, R0); return int(I32);
      case 'timestamp': case 'vtimestamp': a.call(Helper.ktime_get_ns).mov(r, R0); return int(U64);
      case 'walltimestamp':
        a.call(Helper.ktime_get_ns).mov(r, R0).ldImm64(R1, this.env.options.walltimeOffsetNs).alu64('add', r, R1);
        return int(I64);
      case 'epid': case 'id': a.mov(r, imm(this.probe.id)); return int(BUILTIN_VARS[name]!);
      case 'errno': a.mov(r, imm(0)); return int(I32);
      case 'ppid': {
        // The parent's tgid: task->real_parent->tgid, read through bpf_get_current_task and
        // BTF offsets would be the kernel way; until the BTF bridge lands the helper
        // get_current_task_btf is not usable from raw tracepoints, so use a helper-free path:
        // DTrace semantics are kept by reading /proc at compile time only for the tracer itself.
        this.release(r);
        throw new LowerError('ppid is not supported by the code generator yet', e);
      }
      case 'execname': {
        this.release(r);
        return this.execname(e);
      }
      case 'probeprov': this.release(r); return this.strLiteral(this.probe.provider, e);
      case 'probemod': this.release(r); return this.strLiteral(this.probe.module, e);
      case 'probefunc': this.release(r); return this.strLiteral(this.probe.function, e);
      case 'probename': this.release(r); return this.strLiteral(this.probe.name, e);
    }
    const m = /^arg([0-9])$/.exec(name);
    if (m) { a.ldx(8, r, R9, MST.argv + 8 * Number(m[1])); return int(I64); }
    this.release(r);
    throw new LowerError(`failed to resolve ${name}: Unknown variable name`, e);
  }

  private execname(e: A.Expr): Val {
    const a = this.asm;
    const off = this.tmpSlot(e);
    const r = this.alloc(e);
    a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(16)).call(Helper.get_current_comm);
    a.mov(r, R9).alu64('add', r, imm(off));
    return { t: 'str', reg: r };
  }

  // ----- variables

  private loadGlobal(v: VarInfo, node: A.Expr): Val {
    const r = this.alloc(node);
    const off = this.env.globalOffset(v);
    if (v.type.t === 'str') { this.asm.ldMapValue(r, 'gvars', off); return { t: 'str', reg: r }; }
    this.asm.ldMapValue(r, 'gvars', off).ldx(8, r, r, 0);
    return { t: 'int', reg: r, type: v.type };
  }

  private storeGlobal(v: VarInfo, val: Val): void {
    const off = this.env.globalOffset(v);
    if (v.type.t === 'str') {
      if (val.t !== 'str') throw new LowerError(`operands have incompatible types`);
      this.copyStr(() => this.asm.ldMapValue(R1, 'gvars', off), val.reg);
      return;
    }
    if (val.t !== 'int') throw new LowerError('operands have incompatible types');
    this.normalize(val.reg, v.type);
    this.asm.ldMapValue(R1, 'gvars', off).stx(8, R1, 0, val.reg);
  }

  /** Copies a string (NUL-terminated, at most strsize bytes) into map memory at R1 (set by `dst`). */
  private copyStr(dst: () => void, src: Reg): void {
    dst();
    this.asm.mov(R2, imm(this.mem.strsize + 1)).mov(R3, src).call(Helper.probe_read_kernel_str);
  }

  private clauseLocalOffset(name: string, node: A.Expr): number {
    let off = this.lvarOffsets.get(name);
    if (off === undefined) {
      off = this.mem.lvars + [...this.lvarOffsets.values()].length * this.mem.strSlot;
      if (off + this.mem.strSlot > this.mem.lvars + this.mem.lvarsMax) throw new LowerError('too many clause-local variables', node);
      this.lvarOffsets.set(name, off);
    }
    return off;
  }

  private loadClauseLocal(e: A.ThisVar): Val {
    const info = this.env.sym.clauseLocals.get(e.name);
    const off = this.clauseLocalOffset(e.name, e);
    const r = this.alloc(e);
    if (info?.type.t === 'str') { this.asm.mov(r, R9).alu64('add', r, imm(off)); return { t: 'str', reg: r }; }
    this.asm.ldx(8, r, R9, off);
    return { t: 'int', reg: r, type: info?.type ?? I64 };
  }

  /** Builds the thread-local key {tid, var id} on the stack at fp-16; leaves R2 pointing at it. */
  private tlsKey(v: VarInfo): void {
    const a = this.asm;
    a.call(Helper.get_current_pid_tgid).stx(4, R10, -16, R0).mov(R1, imm(v.id)).stx(4, R10, -12, R1);
    a.mov(R2, R10).alu64('add', R2, imm(-16));
  }

  private loadThread(v: VarInfo | undefined, node: A.Expr): Val {
    const a = this.asm;
    const r = this.alloc(node);
    if (!v) { a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 }; }
    this.tlsKey(v);
    return this.loadDynamic('tvars', v.type, r);
  }

  private storeThread(v: VarInfo, val: Val): void {
    this.storeDynamic('tvars', v.type, val, () => this.tlsKey(v));
  }

  /**
   * Loads the element at key R2 of a dynamic-variable map into `r`: the value, or 0 / "" when
   * the element does not exist (thread-locals and associative arrays alike).
   */
  private loadDynamic(map: string, type: VType, r: Reg): Val {
    const a = this.asm;
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
    const found = a.newLabel('dyn_found'), done = a.newLabel('dyn_done');
    a.jmp('jne', R0, imm(0), found);
    if (type.t === 'str') a.ldMapValue(r, 'zeros', 0); else a.mov(r, imm(0));
    a.ja(done).label(found);
    if (type.t === 'str') a.mov(r, R0); else a.ldx(8, r, R0, 0);
    a.label(done).mov(r, r);
    return type.t === 'str' ? { t: 'str', reg: r } : { t: 'int', reg: r, type };
  }

  /**
   * Stores `val` at the key `rekey` puts in R2 (helpers clobber R2, so it is re-materialised
   * each time): a non-zero value creates or updates the element, 0 deletes it (D semantics).
   */
  private storeDynamic(map: string, type: VType, val: Val, rekey: () => void): void {
    const a = this.asm;
    const del = a.newLabel('dyn_del'), done = a.newLabel('dyn_done');
    if (val.t === 'int') { this.normalize(val.reg, type); a.jmp('jeq', val.reg, imm(0), del); }
    rekey();
    this.upsert(map, rekey);
    // R0 = value pointer
    if (val.t !== 'int') {
      // A string value never deletes: no delete path (the verifier rejects unreachable code).
      a.mov(R1, R0).mov(R2, imm(this.mem.strsize + 1)).mov(R3, val.reg).call(Helper.probe_read_kernel_str);
      return;
    }
    a.stx(8, R0, 0, val.reg);
    a.ja(done).label(del);
    rekey();
    a.ldMapFd(R1, map).call(Helper.map_delete_elem);
    a.label(done).mov(R0, R0);
  }

  /**
   * Looks up key R2 in `map`; creates the element from zeros when missing. Leaves R0 = value
   * pointer, or jumps to the clause end (counting a drop in `dropCounter`: dynamic variable
   * drops by default, aggregation drops for aggregations) when the map is full.
   * `rekey` re-materialises R2 (helpers clobber it).
   */
  private upsert(map: string, rekey: () => void, dropCounter: number = STATE.dynvarDrops): void {
    const a = this.asm;
    const have = a.newLabel('have');
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    rekey();
    a.ldMapFd(R1, map).ldMapValue(R3, 'zeros', 0).mov(R4, imm(1 /* BPF_NOEXIST */)).call(Helper.map_update_elem);
    rekey();
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    a.ldMapValue(R1, 'state', dropCounter).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2).ja(this.end);
    a.label(have).mov(R0, R0);
  }

  // ----- associative arrays

  /** Writes the key tuple into the KEY area (zeroed first); returns its size. */
  private buildKey(indices: A.Expr[], keyTypes: VType[], area: number): number {
    const a = this.asm;
    let size = 0;
    const sizes = keyTypes.map((t) => (t.t === 'str' ? this.mem.strSlot : 8));
    const total = sizes.reduce((x, y) => x + y, 0) || 8;
    if (total > this.mem.keyMax) throw new LowerError('tuple too large');
    // Zero the area: string tails and padding must be byte-exact for hashing.
    a.mov(R1, R9).alu64('add', R1, imm(area)).mov(R2, imm(total)).ldMapValue(R3, 'zeros', 0).call(Helper.probe_read_kernel);
    indices.forEach((ix, i) => {
      const v = this.expr(ix, false)!;
      if (keyTypes[i]?.t === 'str') {
        if (v.t !== 'str') throw new LowerError('key type mismatch', ix);
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(this.mem.strsize + 1)).mov(R3, v.reg).call(Helper.probe_read_kernel_str);
      } else {
        if (v.t !== 'int') throw new LowerError('key type mismatch', ix);
        a.stx(8, R9, area + size, v.reg);
      }
      this.release(v);
      size += sizes[i]!;
    });
    return total;
  }

  private assocInfo(obj: A.Expr): VarInfo | undefined {
    if (obj.kind === 'Ident') return this.env.sym.assocs.get(obj.name);
    if (obj.kind === 'SelfVar') return this.env.sym.threadAssocs.get(obj.name);
    return undefined;
  }

  private index(e: A.Index): Val {
    const a = this.asm;
    const obj = unparen(e.object);
    if (obj.kind === 'Ident' && obj.name === 'args') {
      const ix = constInt(e.indices[0]!, this.env.sym);
      if (ix === undefined || ix < 0n || ix > 9n) throw new LowerError('args[] index must be a constant 0..9', e);
      const r = this.alloc(e);
      a.ldx(8, r, R9, MST.argv + 8 * Number(ix));
      return { t: 'int', reg: r, type: I64 };
    }
    const info = this.assocInfo(obj);
    const r = this.alloc(e);
    if (!info) { a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 }; }
    this.assocKey(info, e.indices, obj.kind === 'SelfVar');
    return this.loadDynamic(this.env.assocMap(info), info.type, r);
  }

  /** Key of an associative array element in KEY area 0 (with the thread id for self-> arrays); R2 = key. */
  private assocKey(info: VarInfo, indices: A.Expr[], thread: boolean): void {
    const keys = [...(info.keys ?? indices.map((i) => this.typeOf(i)))];
    const size = this.buildKey(indices, keys, this.mem.key);
    if (thread) {
      this.asm.call(Helper.get_current_pid_tgid).stx(8, R9, this.mem.key + size, R0);
    }
    this.asm.mov(R2, R9).alu64('add', R2, imm(this.mem.key));
  }

  private storeAssoc(e: A.Index, val: Val): void {
    const a = this.asm;
    const obj = unparen(e.object);
    const info = this.assocInfo(obj);
    if (!info) throw new LowerError('unknown associative array', e);
    // The key is built once into KEY area 0 (it lives there; helpers only clobber R1–R5).
    this.assocKey(info, e.indices, obj.kind === 'SelfVar');
    this.storeDynamic(this.env.assocMap(info), info.type, val, () => a.mov(R2, R9).alu64('add', R2, imm(this.mem.key)));
  }

  // ----- operators

  private unary(e: A.Unary, discard: boolean): Val {
    const a = this.asm;
    if (e.op === '++' || e.op === '--') return this.incdec(e.operand, e.op, false, discard)!;
    if (e.op === '*' || e.op === '&') throw new LowerError('pointers are not supported by the code generator yet', e);
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
    this.normalize(v.reg, t);
    return { t: 'int', reg: v.reg, type: t };
  }

  private binary(e: A.Binary): Val {
    const a = this.asm;
    if (e.op === ',') {
      this.release(this.expr(e.left, true));
      return this.expr(e.right, false)!;
    }
    const lt = this.typeOf(e.left), rt = this.typeOf(e.right);
    if (lt.t === 'str' || rt.t === 'str') return this.strCompare(e);
    const l = this.evalInt(e.left);
    const r = this.evalInt(e.right);
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
    const resT = e.op === '<<' || e.op === '>>' ? (lt.t === 'int' && lt.size < 4 ? I32 : lt) : t;
    this.normalize(l.reg, resT);
    return { t: 'int', reg: l.reg, type: resT };
  }

  /** String comparison: a byte loop over at most strsize bytes of two map-memory strings. */
  private strCompare(e: A.Binary): Val {
    const a = this.asm;
    const l = this.evalStr(e.left);
    const r = this.evalStr(e.right);
    // R1 = i, R2/R3 = bytes, result (-1/0/1) → R4, then mapped by the operator.
    const loop = a.newLabel('scmp'), diff = a.newLabel('sdiff'), eq = a.newLabel('seq'), out = a.newLabel('sout');
    a.mov(R1, imm(0));
    a.label(loop).mov(R4, l.reg).alu64('add', R4, R1).ldx(1, R2, R4, 0);
    a.mov(R4, r.reg).alu64('add', R4, R1).ldx(1, R3, R4, 0);
    a.jmp('jne', R2, R3, diff).jmp('jeq', R2, imm(0), eq);
    a.alu64('add', R1, imm(1)).jmp('jlt', R1, imm(this.mem.strsize), loop);
    a.label(eq).mov(R4, imm(0)).ja(out);
    a.label(diff).mov(R4, imm(1)).jmp('jgt', R2, R3, out).mov(R4, imm(-1));
    a.label(out).mov(R4, R4);
    const res = l.reg;
    this.release(r);
    const yes = a.newLabel('scmpy'), done = a.newLabel('scmpd');
    const ops: Record<string, ['jeq' | 'jne' | 'jsgt' | 'jsge' | 'jslt' | 'jsle']> = {
      '==': ['jeq'], '!=': ['jne'], '<': ['jslt'], '<=': ['jsle'], '>': ['jsgt'], '>=': ['jsge'],
    };
    const op = ops[e.op];
    if (!op) throw new LowerError(`operator ${e.op} is not defined for strings`, e);
    a.jmp(op[0], R4, imm(0), yes).mov(res, imm(0)).ja(done).label(yes).mov(res, imm(1)).label(done).mov(res, res);
    return { t: 'int', reg: res, type: I32 };
  }

  private logical(e: A.Logical): Val {
    const a = this.asm;
    const l = this.evalInt(e.left);
    const res = l.reg;
    const done = a.newLabel('logic');
    // Normalise left to 0/1.
    const lz = a.newLabel('lz');
    a.jmp('jeq', res, imm(0), lz).mov(res, imm(1)).label(lz).mov(res, res);
    if (e.op === '&&') a.jmp('jeq', res, imm(0), done);
    else if (e.op === '||') a.jmp('jne', res, imm(0), done);
    const r = this.evalInt(e.right);
    const rz = a.newLabel('rz');
    a.jmp('jeq', r.reg, imm(0), rz).mov(r.reg, imm(1)).label(rz).mov(r.reg, r.reg);
    if (e.op === '^^') a.alu64('xor', res, r.reg); else a.mov(res, r.reg);
    this.release(r);
    a.label(done).mov(res, res);
    return { t: 'int', reg: res, type: I32 };
  }

  private ternary(e: A.Ternary): Val {
    const a = this.asm;
    const c = this.evalInt(e.cond);
    const res = c.reg;
    const elseL = a.newLabel('telse'), done = a.newLabel('tdone');
    a.jmp('jeq', res, imm(0), elseL);
    const t = this.typeOf(e);
    const x = this.expr(e.then, false)!;
    a.mov(res, x.reg);
    this.release(x);
    a.ja(done).label(elseL);
    const y = this.expr(e.else, false)!;
    a.mov(res, y.reg);
    this.release(y);
    a.label(done).mov(res, res);
    if (t.t === 'str') return { t: 'str', reg: res };
    this.normalize(res, t);
    return { t: 'int', reg: res, type: t };
  }

  private assign(e: A.Assign, discard: boolean): Val | undefined {
    const target = unparen(e.target);
    if (target.kind === 'AggRef' || (target.kind === 'Index' && unparen(target.object).kind === 'AggRef')) {
      this.aggregate(target, e.value);
      return undefined;
    }
    let val: Val;
    if (e.op === '=') val = this.expr(e.value, false)!;
    else {
      const op = e.op.slice(0, -1) as A.BinaryOp;
      val = this.binary({ kind: 'Binary', span: e.span, op, left: e.target, right: e.value });
    }
    this.store(target, val, e);
    if (discard) { this.release(val); return undefined; }
    return val;
  }

  private store(target: A.Expr, val: Val, node: A.Expr): void {
    switch (target.kind) {
      case 'Ident': {
        const g = this.env.sym.globals.get(target.name);
        if (!g || BUILTIN_VARS[target.name]) throw new LowerError(`operator = can only be applied to a writable variable`, node);
        this.storeGlobal(g, val);
        return;
      }
      case 'SelfVar': this.storeThread(this.env.sym.threads.get(target.name)!, val); return;
      case 'ThisVar': {
        const off = this.clauseLocalOffset(target.name, target);
        if (val.t === 'str') this.copyStr(() => this.asm.mov(R1, R9).alu64('add', R1, imm(off)), val.reg);
        else {
          const info = this.env.sym.clauseLocals.get(target.name);
          if (info) this.normalize(val.reg, info.type);
          this.asm.stx(8, R9, off, val.reg);
        }
        return;
      }
      case 'Index': this.storeAssoc(target, val); return;
      default: throw new LowerError('invalid assignment target', node);
    }
  }

  private incdec(operand: A.Expr, op: '++' | '--', post: boolean, discard: boolean): Val | undefined {
    const target = unparen(operand);
    const v = this.evalInt(target);
    const a = this.asm;
    let old: Reg | undefined;
    if (post && !discard) { old = this.alloc(operand); a.mov(old, v.reg); }
    a.alu64(op === '++' ? 'add' : 'sub', v.reg, imm(1));
    this.normalize(v.reg, v.type);
    this.store(target, v, operand);
    if (old !== undefined) { this.release(v); return { t: 'int', reg: old, type: v.type }; }
    if (discard) { this.release(v); return undefined; }
    return v;
  }

  // ------------------------------------------------------------------------------------------
  // Calls: actions and subroutines

  private call(e: A.Call): Val | undefined {
    const a = this.asm;
    const name = e.callee.name;
    const args = e.args;
    switch (name) {
      case 'trace': {
        const v = this.expr(args[0]!, false)!;
        const field = this.recordValue(v, this.typeOf(args[0]!));
        this.actions.push({ kind: 'trace', field });
        this.release(v);
        return undefined;
      }
      case 'printf': {
        const fmt = unparen(args[0]!);
        if (fmt.kind !== 'StringLit') throw new LowerError('printf( ) format must be a string constant', e);
        const fields: FieldLayout[] = [];
        for (const arg of args.slice(1)) {
          const v = this.expr(arg, false)!;
          fields.push(this.recordValue(v, this.typeOf(arg)));
          this.release(v);
          this.resetTemps();
        }
        this.actions.push({ kind: 'printf', format: fmt.value, args: fields });
        return undefined;
      }
      case 'exit': {
        const v = this.evalInt(args[0]!);
        const field = this.recordValue(v, I32);
        this.actions.push({ kind: 'exit', field });
        this.release(v);
        a.ldMapValue(R1, 'state', STATE.activity).mov(R2, imm(Activity.DRAINING)).stx(8, R1, 0, R2);
        return undefined;
      }
      case 'printa': {
        let fmt: string | undefined;
        let rest = args;
        const first = args[0] && unparen(args[0]);
        if (first?.kind === 'StringLit') { fmt = first.value; rest = args.slice(1); }
        const ids = rest.map((x) => {
          const r = unparen(x);
          if (r.kind !== 'AggRef') throw new LowerError('printa( ) argument must be an aggregation', x);
          const info = this.env.sym.aggs.get(r.name);
          return info ? info.id : -1;
        }).filter((id) => id > 0);
        this.actions.push({ kind: 'printa', format: fmt, aggIds: ids });
        this.records = true;
        return undefined;
      }
      case 'clear': case 'trunc': case 'normalize': case 'denormalize': {
        const r = unparen(args[0]!);
        if (r.kind !== 'AggRef') throw new LowerError(`${name}( ) argument must be an aggregation`, e);
        const info = this.env.sym.aggs.get(r.name);
        let field: FieldLayout | undefined;
        if (args[1]) { const v = this.evalInt(args[1]); field = this.recordValue(v, I64); this.release(v); }
        if (info) this.actions.push({ kind: name, aggId: info.id, arg: field });
        this.records = true;
        return undefined;
      }
      case 'setopt': {
        const n = unparen(args[0]!), v = args[1] ? unparen(args[1]) : undefined;
        if (n.kind !== 'StringLit' || (v && v.kind !== 'StringLit')) throw new LowerError('setopt( ) arguments must be string constants', e);
        this.actions.push({ kind: 'setopt', name: n.value, value: v?.kind === 'StringLit' ? v.value : undefined });
        this.records = true;
        return undefined;
      }
      case 'strlen': {
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
      case 'copyinstr': {
        const p = this.evalInt(args[0]!);
        const off = this.tmpSlot(e);
        let max = this.mem.strsize + 1;
        const lim = args[1] ? constInt(args[1], this.env.sym) : undefined;
        if (lim !== undefined && lim >= 0n && lim < BigInt(max)) max = Number(lim) + 1;
        a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(max)).mov(R3, p.reg).call(Helper.probe_read_user_str);
        const ok = a.newLabel('cinok');
        a.jmp('jsge', R0, imm(0), ok);
        this.fault(Fault.BADADDR, p.reg);
        a.label(ok).mov(p.reg, R9).alu64('add', p.reg, imm(off));
        return { t: 'str', reg: p.reg };
      }
      case 'lltostr': {
        const v = this.evalInt(args[0]!);
        return this.lltostr(v, e);
      }
      case 'rand': {
        const r = this.alloc(e);
        a.call(Helper.get_prandom_u32).mov(r, R0);
        return { t: 'int', reg: r, type: I32 };
      }
      case 'htons': case 'ntohs': case 'htonl': case 'ntohl': case 'htonll': case 'ntohll': {
        const v = this.evalInt(args[0]!);
        const bits = name.endsWith('ll') ? 64 : name.endsWith('l') ? 32 : 16;
        a.emit({ code: 0xd4 | 0x08, dst: v.reg, src: 0, off: 0, imm: bits }); // be16/32/64 (to big endian)
        return { t: 'int', reg: v.reg, type: bits === 64 ? U64 : bits === 32 ? { t: 'int', size: 4, signed: false } : { t: 'int', size: 2, signed: false } };
      }
    }
    throw new LowerError(`${name}( ) is not supported by the code generator yet`, e);
  }

  /** lltostr(): decimal text of a signed 64-bit value, written right to left into a temporary. */
  private lltostr(v: Extract<Val, { t: 'int' }>, e: A.Expr): Val {
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

  /** Stores a value into the record; returns its layout. */
  private recordValue(v: Val, t: VType): FieldLayout {
    const a = this.asm;
    this.records = true;
    if (v.t === 'str') {
      const off = this.recField(this.mem.strSlot, 8);
      a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + off)).mov(R2, imm(this.mem.strsize + 1)).mov(R3, v.reg).call(Helper.probe_read_kernel_str);
      return { offset: off, sizeBytes: this.mem.strsize + 1, type: Types.string, decode: 'string' };
    }
    const vt: Extract<VType, { t: 'int' }> = t.t === 'int' ? t : { t: 'int', size: 8, signed: true };
    const off = this.recField(8, 8);
    a.stx(8, R9, this.mem.rec + off, v.reg);
    return { offset: off, sizeBytes: vt.size, type: intCType(vt), decode: 'int', signed: vt.signed };
  }

  // ------------------------------------------------------------------------------------------
  // Aggregations

  private aggregate(target: A.Expr, value: A.Expr): void {
    const a = this.asm;
    const ref = target.kind === 'AggRef' ? target : unparen((target as A.Index).object) as A.AggRef;
    const indices = target.kind === 'Index' ? target.indices : [];
    const info = this.env.sym.aggs.get(ref.name);
    const call = unparen(value);
    if (!info || call.kind !== 'Call') throw new LowerError('invalid aggregation', target);
    const fn = info.fn;
    // The value argument first (into a callee-saved register), then the key, then the update.
    let v: Extract<Val, { t: 'int' }> | undefined;
    if (fn !== 'count') v = this.evalInt(call.args[0]!);
    const map = this.env.aggMap(info);
    if (info.keys.length === 0) {
      a.mov(R1, imm(0)).stx(4, R10, -16, R1).mov(R2, R10).alu64('add', R2, imm(-16));
      a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
      const ok = a.newLabel('aggok');
      a.jmp('jne', R0, imm(0), ok).ja(this.end).label(ok).mov(R0, R0);
    } else {
      this.buildKey(indices, info.keys, this.mem.key);
      const rekey = () => a.mov(R2, R9).alu64('add', R2, imm(this.mem.key));
      rekey();
      this.upsert(map, rekey, STATE.aggDrops);
    }
    // R0 = value pointer (per-CPU: no atomics needed).
    switch (fn) {
      case 'count': a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1); break;
      case 'sum': a.ldx(8, R1, R0, 0).alu64('add', R1, v!.reg).stx(8, R0, 0, R1); break;
      case 'avg':
        a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
        a.ldx(8, R1, R0, 8).alu64('add', R1, v!.reg).stx(8, R0, 8, R1);
        break;
      case 'min': case 'max': {
        // [has value, value]
        const set = a.newLabel('mmset'), skip = a.newLabel('mmskip');
        a.ldx(8, R1, R0, 0).jmp('jeq', R1, imm(0), set);
        a.ldx(8, R2, R0, 8).jmp(fn === 'min' ? 'jsle' : 'jsge', R2, v!.reg, skip);
        a.label(set).stx(8, R0, 8, v!.reg).mov(R1, imm(1)).stx(8, R0, 0, R1);
        a.label(skip).mov(R0, R0);
        break;
      }
      case 'stddev': {
        // [n, Σx, Σx² low, Σx² high]: x² as a 128-bit product of |x| from 32-bit halves.
        a.ldx(8, R1, R0, 0).alu64('add', R1, imm(1)).stx(8, R0, 0, R1);
        a.ldx(8, R1, R0, 8).alu64('add', R1, v!.reg).stx(8, R0, 8, R1);
        this.addSquare128(v!.reg);
        break;
      }
      case 'quantize': {
        this.quantizeBucket(v!.reg);
        // R1 = bucket index (0..126): value + 8*index, bounded for the verifier.
        a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1).ldx(8, R2, R0, 0).alu64('add', R2, imm(1)).stx(8, R0, 0, R2);
        break;
      }
      case 'lquantize': {
        const [base, limit, step] = [info.params[0] ?? 0n, info.params[1] ?? 0n, info.params[2] ?? 1n];
        const levels = Number((limit - base) / (step === 0n ? 1n : step));
        const under = a.newLabel('lqu'), over = a.newLabel('lqo'), have = a.newLabel('lqh');
        a.movImm64(R2, base).jmp('jslt', v!.reg, R2, under);
        a.movImm64(R2, limit).jmp('jsge', v!.reg, R2, over);
        a.mov(R1, v!.reg).movImm64(R2, base).alu64('sub', R1, R2).movImm64(R2, step).alu64('div', R1, R2).alu64('add', R1, imm(1));
        a.jmp('jle', R1, imm(levels), have).mov(R1, imm(levels)).ja(have);
        a.label(under).mov(R1, imm(0)).ja(have);
        a.label(over).mov(R1, imm(levels + 1));
        a.label(have).alu64('lsh', R1, imm(3)).jmp('jgt', R1, imm((levels + 1) * 8), this.end);
        a.alu64('add', R0, R1).ldx(8, R2, R0, 0).alu64('add', R2, imm(1)).stx(8, R0, 0, R2);
        break;
      }
      default:
        throw new LowerError(`${fn}( ) is not supported by the code generator yet`, call);
    }
    this.release(v);
  }

  /** R1 = quantize bucket of the signed value in `v` (63 ± (⌊log2|v|⌋ + 1)); R0 preserved. */
  private quantizeBucket(v: Reg): void {
    const a = this.asm;
    // R2 = |v|, R3 = sign, R1 = log2 accumulator.
    a.mov(R2, v).mov(R3, imm(1));
    const pos = a.newLabel('qpos'), zero = a.newLabel('qzero'), done = a.newLabel('qdone');
    a.jmp('jeq', R2, imm(0), zero).jmp('jsgt', R2, imm(0), pos).neg(R2).mov(R3, imm(-1));
    a.label(pos).mov(R1, imm(0));
    for (const shift of [32, 16, 8, 4, 2, 1]) {
      const skip = a.newLabel('qs');
      a.mov(R4, R2).alu64('rsh', R4, imm(shift)).jmp('jeq', R4, imm(0), skip).mov(R2, R4).alu64('add', R1, imm(shift)).label(skip).mov(R4, R4);
    }
    // bucket = 63 + sign * (log2 + 1), clamped to 0..126.
    a.alu64('add', R1, imm(1)).alu64('mul', R1, R3).alu64('add', R1, imm(63));
    a.jmp('jsge', R1, imm(0), done).mov(R1, imm(0)).ja(done);
    a.label(zero).mov(R1, imm(63));
    a.label(done).jmp('jle', R1, imm(126), `${done}.ok`).mov(R1, imm(126)).label(`${done}.ok`).mov(R1, R1);
  }

  /** Adds x² (128-bit) to the value at R0+16 (low) / R0+24 (high). Uses R1–R5. */
  private addSquare128(v: Reg): void {
    const a = this.asm;
    // |x| = hi:lo 32-bit halves; x² = hi²·2^64 + 2·hi·lo·2^32 + lo².
    a.mov(R1, v);
    const pos = a.newLabel('sqp');
    a.jmp('jsge', R1, imm(0), pos).neg(R1).label(pos).mov(R2, R1).alu64('rsh', R2, imm(32)).mov32(R1, R1);
    // R1 = lo, R2 = hi. R3 = lo*lo (fits in 64 bits), R4 = hi*lo (fits), R5 = hi*hi.
    a.mov(R3, R1).alu64('mul', R3, R1).mov(R4, R2).alu64('mul', R4, R1).mov(R5, R2).alu64('mul', R5, R2);
    // cross = 2·hi·lo: add (cross << 32) to low with carry, and (cross >> 32) to high.
    // Do it twice with hi·lo to avoid overflow of 2·hi·lo.
    for (let k = 0; k < 2; k++) {
      a.mov(R1, R4).alu64('lsh', R1, imm(32)).mov(R2, R3).alu64('add', R3, R1);
      const nc = a.newLabel('nc');
      a.jmp('jge', R3, R2, nc).alu64('add', R5, imm(1)).label(nc).mov(R1, R4).alu64('rsh', R1, imm(32)).alu64('add', R5, R1);
    }
    // Now R3 = low part of x², R5 = high part. Add into the stored 128-bit sum.
    a.ldx(8, R1, R0, 16).mov(R2, R1).alu64('add', R1, R3).stx(8, R0, 16, R1);
    const nc2 = a.newLabel('nc2');
    a.ldx(8, R4, R0, 24).jmp('jge', R1, R2, nc2).alu64('add', R4, imm(1)).label(nc2).alu64('add', R4, R5).stx(8, R0, 24, R4);
  }
}

function typeSize(t: VType, strsize: number): number {
  return t.t === 'str' ? strsize : t.size;
}

export function intCType(t: VType): CType {
  if (t.t === 'str') return Types.string;
  switch (t.size) {
    case 1: return t.signed ? Types.char : Types.uchar;
    case 2: return t.signed ? Types.short : Types.ushort;
    case 4: return t.signed ? Types.int : Types.uint;
    default: return t.signed ? Types.long : Types.ulong;
  }
}

