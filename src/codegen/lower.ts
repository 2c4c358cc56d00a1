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
import { type MemLayout, type MemUsage, MST, STATE, Activity, Fault, MAX_KEY_COMPONENTS } from './layout.js';
import { type VType, type Symbols, type VarInfo, type AggInfo, I64, I32, U64, STR, BUILTIN_VARS, exprType, castType, constInt, arith, recordedCallType } from './infer.js';
import type { FieldLayout, RecordedAction, ClauseSpec } from './spec.js';
import type { CType, StructType, StructMemberType, PointerType } from '../check/ctypes.js';
import { Types, resolve, sizeOf, isCharPointerOrArray, memberOf } from '../check/ctypes.js';
import type { Checked, SymbolRef } from '../check/checker.js';
import { kernelTypeSource } from '../check/btf-types.js';
import type { ProbeInfo } from './spec.js';
import { compilePrintf, isPrintfError } from '../consume/format/printf.js';
import { STRING_SUBRS, type Subroutine } from './subr/strings.js';
import { callsAny } from './walk.js';

/** Where a pointer points: kernel memory (read with probe_read_kernel) or user memory (copyin). */
type Space = 'kernel' | 'user';

/**
 * A value computed into a register. Strings are pointers to NUL-terminated map memory; an
 * `obj` is the address of a struct, union or array in kernel or user memory (C's lvalues of
 * aggregate type: they are read member by member, or copied when traced).
 */
type Val = { t: 'int'; reg: Reg; type: VType } | { t: 'str'; reg: Reg } | { t: 'obj'; reg: Reg; ctype: CType; space: Space; direct?: boolean };

/**
 * An address in memory with the type of what is there; `bits` for a bit-field member.
 * `direct`: the register is a map-value pointer the verifier knows (D's own variables), read
 * and written with plain loads and stores.
 */
interface Place { reg: Reg; ctype: CType; space: Space; bits?: { shift: number; size: number }; direct?: boolean }

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
  options: { target?: number; destructive: boolean; walltimeOffsetNs: bigint; macroArgs: string[]; nspec: number; quiet: boolean };
  /** Clause record layouts by stid, filled the first time a clause is lowered. */
  clauses: Map<number, ClauseSpec>;
  recMax: number;
  /** The checker's result: types of expressions, constants, what identifiers refer to. */
  checked?: Checked;
  /** Address of a kernel symbol (kallsyms), for `` `sym `` references. */
  kernelSymbol(name: string): bigint | undefined;
  /** The program uses alloca()d memory: pointer accesses check for alloca offsets. */
  usesAlloca: boolean;
  /** The program has ERROR clauses: fault paths call the `dt_error` subprogram that runs them. */
  hasErrorClauses: boolean;
  /** Records how much of each scratch region the generated code uses. */
  usage: MemUsage;
  /** String-table offsets of probeprov/probemod/probefunc/probename by probe id (shared code). */
  probeNameOffsets: Map<number, number[]>;
}

/** Name of the subprogram running the ERROR clauses (compile.ts builds it). */
export const ERROR_SUBPROGRAM = 'dt_error';

const SCRATCH_REGS: Reg[] = [R6, R7, R8];

/**
 * Emits one clause for one probe. `probe` is known at compile time (clauses are inlined per
 * probe), so probeprov/probemod/probefunc/probename are literals.
 */
export function lowerClause(asm: Asm, env: LowerEnv, clause: A.Clause, stid: number, probe: ProbeInfo, gate: number, inError = false): void {
  const c = new ClauseLowering(asm, env, clause, stid, probe, inError);
  c.emit(gate);
}

/**
 * The body of the ERROR subprogram: called from a fault path with R1 = the scratch value (whose
 * record area holds the error record) and R2 = the program context. It sets arg0..arg5 as
 * DTrace's ERROR probe has them, runs the ERROR clauses, and restores the faulting probe's
 * arguments for the clauses that follow it.
 */
export function lowerErrorSubprogram(env: LowerEnv, clauses: { clause: A.Clause; stid: number }[], probe: ProbeInfo): Asm {
  const a = new Asm(ERROR_SUBPROGRAM);
  const rec = env.mem.rec;
  a.stx(8, R10, -8, R2).mov(R9, R1);
  for (let i = 0; i < 6; i++) a.ldx(8, R1, R9, MST.argv + 8 * i).stx(8, R9, MST.savedArgv + 8 * i, R1);
  a.st(8, R9, MST.argv, 0);
  a.ldx(4, R1, R9, rec).stx(8, R9, MST.argv + 8, R1);
  a.ldx(4, R1, R9, rec + 8).stx(8, R9, MST.argv + 16, R1);
  a.ldx(8, R1, R9, rec + 24).stx(8, R9, MST.argv + 24, R1);
  a.ldx(4, R1, R9, rec + 12).stx(8, R9, MST.argv + 32, R1);
  a.ldx(8, R1, R9, rec + 16).stx(8, R9, MST.argv + 40, R1);
  for (const c of clauses) lowerClause(a, env, c.clause, c.stid, probe, -1, true);
  a.setSource(undefined);
  for (let i = 0; i < 6; i++) a.ldx(8, R1, R9, MST.savedArgv + 8 * i).stx(8, R9, MST.argv + 8 * i, R1);
  a.mov(R0, imm(0)).exit();
  return a;
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

  constructor(private asm: Asm, private env: LowerEnv, private clause: A.Clause, private stid: number, private probe: ProbeInfo, private inError = false) {
    this.end = asm.newLabel(`clause${stid}_end`);
    this.mem = env.mem;
  }

  emit(gate: number): void {
    const a = this.asm;
    const cl = this.clause;
    this.note(cl.probes[0]?.span ?? cl.span);
    // Activity gate, re-checked before every clause so that exit() stops later clauses.
    // (ERROR clauses run in whatever state the faulting clause ran in: gate < 0.)
    if (gate >= 0) a.ldMapValue(R1, 'state', STATE.activity).ldx(8, R1, R1, 0).jmp('jne', R1, imm(gate), this.end);
    if (cl.predicate) {
      this.note(cl.predicate.span);
      const v = this.evalInt(cl.predicate);
      a.jmp('jeq', v.reg, imm(0), this.end);
      this.release(v);
    }
    this.resetTemps();
    // alloca() memory lives for one clause: a pointer from an earlier clause is invalid.
    if (this.env.usesAlloca) a.st(8, R9, MST.allocaTop, 8);
    const speculative = callsAny(cl.body, ['speculate']);
    if (speculative) a.st(8, R9, MST.specId, 0);
    for (const s of cl.body) this.stmt(s);
    // A clause without data prints its probe line — unless quiet, when it needs no record.
    // A clause that only speculates has its probe line speculated (committed with the buffer).
    const hasData = this.actions.length > 0 || this.records || ((cl.body.length === 0 || speculative) && !this.env.options.quiet);
    const recordSize = (this.recOff + 7) & ~7;
    if (hasData) {
      // Header, then the whole record in one ring-buffer write: a faulting clause emits nothing.
      this.probeId(R1).stx(4, R9, this.mem.rec, R1);
      if (speculative) {
        // The speculation id rides in the high half of the clause id; speculate(0) (no buffer
        // was available) discards the record, as DTrace does.
        a.ldx(8, R1, R9, MST.specId).jmp('jeq', R1, imm(0), this.end);
        a.alu64('lsh', R1, imm(16)).alu64('or', R1, imm(this.stid)).stx(4, R9, this.mem.rec + 4, R1);
      } else a.mov(R1, imm(this.stid)).stx(4, R9, this.mem.rec + 4, R1);
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

  /** Stack slots (below fp-64) holding values spilled while a sub-expression needs registers. */
  private spillDepth = 0;

  /** Moves a value to a stack slot, freeing its register (the verifier tracks spilled pointers). */
  private spill(v: Val): { v: Val; slot: number } {
    if (this.spillDepth >= 24) throw new LowerError('expression too complex: too many spilled values');
    const slot = -64 - 8 * this.spillDepth++;
    this.asm.stx(8, R10, slot, v.reg);
    this.release(v);
    return { v, slot };
  }

  private unspill(s: { v: Val; slot: number }, node?: A.Expr): Val {
    const r = this.alloc(node);
    this.asm.ldx(8, r, R10, s.slot);
    this.spillDepth--;
    return { ...s.v, reg: r };
  }

  /** Evaluates `f` with `v` kept live: spilled around it when registers are short. */
  private keeping<T extends Val | undefined>(v: Val, f: () => T, node?: A.Expr): [Val, T] {
    if (this.free.length >= 2) return [v, f()];
    const s = this.spill(v);
    const r = f();
    return [this.unspill(s, node), r];
  }
  /** Offset (in the scratch value) of a fresh temporary string slot. */
  private tmpSlot(node?: A.Expr): number {
    const n = this.tmpNext++;
    if (n >= this.mem.ntmp) throw new LowerError('expression too complex: out of temporary strings', node);
    this.env.usage.tmpSlots = Math.max(this.env.usage.tmpSlots, n + 1);
    return this.mem.tmp + n * this.mem.strSlot;
  }

  /** Puts the firing probe's id in `r`: a constant, or mstate's prid in code shared by probes. */
  private probeId(r: Reg): Asm {
    if (this.probe.shared) return this.asm.ldx(4, r, R9, MST.prid);
    return this.asm.mov(r, imm(this.probe.id));
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
    this.probeId(R1).stx(4, R9, base, R1);
    a.mov(R1, imm(-1)).stx(4, R9, base + 4, R1);
    a.mov(R1, imm(this.stid)).stx(4, R9, base + 8, R1);
    a.mov(R1, imm(code)).stx(4, R9, base + 12, R1);
    a.mov(R1, imm(a.insns.length)).stx(8, R9, base + 24, R1);
    a.ldMapFd(R1, 'ringbuf').mov(R2, R9).alu64('add', R2, imm(base)).mov(R3, imm(32)).mov(R4, imm(0)).call(Helper.ringbuf_output);
    a.ldMapValue(R1, 'state', STATE.errors).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    // A fault inside an ERROR clause does not fire ERROR again (dtrace-utils does the same).
    if (this.env.hasErrorClauses && !this.inError) a.mov(R1, R9).ldx(8, R2, R10, -8).callSub(ERROR_SUBPROGRAM);
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
    if (v.t === 'obj') return { t: 'int', reg: v.reg, type: U64 }; // an array decays to its address
    if (v.t !== 'int') {
      // A string in a boolean context: non-NULL → true (its pointer is never NULL here).
      this.asm.mov(v.reg, imm(1));
      return { t: 'int', reg: v.reg, type: I32 };
    }
    return v;
  }

  private evalStr(e: A.Expr): Extract<Val, { t: 'str' }> {
    const v = this.expr(e, false);
    if (!v) throw new LowerError('expected a string', e);
    return this.asStr(v, e, this.spaceOf(e, this.ct(e)));
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
        const size = e.kind === 'SizeofType' ? typeSize(castType(e.type), this.mem.strsize)
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
      case 'AggRef': throw new LowerError('an aggregation cannot be used as a value', e);
      case 'FloatLit': throw new LowerError('floating-point values are not supported in D', e);
      case 'KernelSym': return this.loadPlace(this.kernelSymPlace(e), e);
      case 'Member': return this.member(e);
      case 'Xlate': throw new LowerError('xlate of a whole structure is not supported by the code generator yet; use a member', e);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Types from the checker, constants, memory

  /** The checker's C type of `e`, or undefined when the checker did not type it. */
  private ct(e: A.Expr): CType | undefined {
    const c = this.env.checked;
    if (!c) return undefined;
    const t = c.typeOf(e);
    return resolve(t).kind === 'void' ? undefined : t;
  }

  private sym(e: A.Expr): SymbolRef | undefined {
    try { return this.env.checked?.symbolOf(e); } catch { return undefined; }
  }

  /** Integer constants and constant strings the checker folded (enumerators, inlines, NULL, sizeof …). */
  private folded(e: A.Expr): Val | undefined {
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

  /** Which memory a pointer-valued expression points into. */
  private spaceOf(e: A.Expr, t?: CType): Space {
    const r = t && resolve(t);
    if (r?.kind === 'pointer' && r.space === 'user') return 'user';
    try { if (this.env.checked?.isUserland(e)) return 'user'; } catch { /* untyped: kernel */ }
    return 'kernel';
  }

  private completeStruct(t: CType, node?: A.Expr): StructType {
    const r = resolve(t);
    if (r.kind !== 'struct') throw new LowerError('member access on a value that is not a struct or union', node);
    if (r.members) return r;
    if (r.name !== undefined) {
      const found = this.env.checked?.structs.get(`${r.tag} ${r.name}`) ?? kernelTypeSource()?.structType(r.tag, r.name);
      if (found?.members) return found;
    }
    throw new LowerError(`${r.tag} ${r.name ?? ''} has no definition`, node);
  }

  private findMember(st: StructType, name: string): StructMemberType | undefined {
    return memberOf(st, name, (t) => this.completeStruct(t));
  }

  /** Address of `e.member` (of `e.object->member` or `e.object.member`). */
  /**
   * A struct/union/array-valued expression as a place that can be written: D's own variables
   * (created on first write for thread-locals and associative arrays), or nested members.
   */
  private writableObj(e: A.Expr): Place | undefined {
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

  private memberPlace(e: A.Member, write = false): Place {
    const objT = this.ct(e.object);
    if (!objT) throw new LowerError('member access needs the type of its operand', e);
    let base: Place;
    if (e.arrow) {
      const p = this.evalInt(e.object);
      const pt = resolve(objT);
      const target = pt.kind === 'pointer' ? pt.target : pt.kind === 'array' ? pt.element : undefined;
      if (!target) throw new LowerError('operator -> must be applied to a pointer', e);
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
    if (!m) throw new LowerError(`${e.member} is not a member of ${st.tag} ${st.name ?? ''}`, e);
    const byteOff = Math.floor(m.bitOffset / 8);
    if (byteOff) this.asm.alu64('add', base.reg, imm(byteOff));
    const shift = m.bitOffset % 8;
    if (m.bitSize !== undefined) return { reg: base.reg, ctype: m.type, space: base.space, bits: { shift, size: m.bitSize }, direct: base.direct };
    return { reg: base.reg, ctype: m.type, space: base.space, direct: base.direct };
  }

  private member(e: A.Member): Val {
    const s = this.sym(e);
    if (s?.kind === 'xlate-member') return this.xlateMember(e, s.translator.inputName, s.expr);
    return this.loadPlace(this.memberPlace(e), e);
  }

  /** Translator input bindings: inside a translator member's expression, its input name → the input expression. */
  private xlateBindings: { name: string; expr: A.Expr }[] = [];

  private xlateMember(e: A.Member, inputName: string, expr: A.Expr): Val {
    const input = this.xlateInput(e.object);
    this.xlateBindings.push({ name: inputName, expr: input });
    try { return this.expr(expr, false)!; } finally { this.xlateBindings.pop(); }
  }

  /** The expression a translated value was translated from (`xlate<T *>(input)`, through inlines). */
  private xlateInput(obj: A.Expr): A.Expr {
    const o = unparen(obj);
    if (o.kind === 'Xlate') return o.operand;
    // A translated args[i]: its raw argument is the translator's input.
    if (o.kind === 'Index' && unparen(o.object).kind === 'Ident' && (unparen(o.object) as A.Ident).name === 'args') return o;
    if (o.kind === 'Unary' && o.op === '*') return this.xlateInput(o.operand);
    const s = this.sym(o);
    if (s?.kind === 'inline' && !s.info.params) return this.xlateInput(s.info.value);
    if (s?.kind === 'builtin-var') {
      const inl = this.env.checked?.inlines.get(s.name);
      if (inl) return this.xlateInput(inl.value);
    }
    throw new LowerError('translated data from this expression is not supported by the code generator yet', obj);
  }

  private bindingOf(name: string): { expr: A.Expr; depth: number } | undefined {
    for (let i = this.xlateBindings.length - 1; i >= 0; i--) if (this.xlateBindings[i]!.name === name) return { expr: this.xlateBindings[i]!.expr, depth: i };
    return undefined;
  }

  /** Evaluates a translator input (bound outside the translator body it is used in). */
  private xlateInputValue(e: A.Ident): Val {
    const b = this.bindingOf(e.name);
    if (!b) throw new LowerError(`translator input ${e.name} used outside its translator`, e);
    const saved = this.xlateBindings;
    this.xlateBindings = saved.slice(0, b.depth);
    try { return this.expr(b.expr, false)!; } finally { this.xlateBindings = saved; }
  }

  private kernelSymPlace(e: A.KernelSym): Place {
    const addr = this.env.kernelSymbol(e.name);
    if (addr === undefined) throw new LowerError(`failed to resolve \`${e.name}: Unknown symbol name`, e);
    const r = this.alloc(e);
    this.asm.ldImm64(r, addr);
    return { reg: r, ctype: this.ct(e) ?? Types.long, space: 'kernel' };
  }

  /** The address of an lvalue (for `&`, and for member/index chains). */
  private placeOf(e: A.Expr, write = false): Place {
    const x = unparen(e);
    switch (x.kind) {
      case 'Member': return this.memberPlace(x, write);
      case 'KernelSym': return this.kernelSymPlace(x);
      case 'Unary':
        if (x.op === '*') {
          const pt = this.ct(x.operand);
          const r = pt && resolve(pt);
          const target = r?.kind === 'pointer' ? r.target : r?.kind === 'array' ? r.element : undefined;
          if (!target) throw new LowerError('operator * must be applied to a pointer', x);
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
  private elementPlace(e: A.Index, write = false): Place | undefined {
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
    if (r.kind === 'array') {
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
    const k = this.env.checked?.constValue(e.indices[0]!);
    if (k !== undefined) {
      if (k !== 0n) this.asm.movImm64(R1, k * BigInt(size)).alu64('add', base.reg, R1);
      return base;
    }
    const ix = this.evalInt(e.indices[0]!);
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

  /** Reads what is at a place: scalars into the register, aggregates stay addresses. */
  private loadPlace(p: Place, node: A.Expr): Val {
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
  private readMemory(addr: Reg, size: number, space: Space, direct = false): void {
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
  private allocaAccess(reg: Reg, size: number | { reg: Reg }, mode: 'read' | 'write', sizeFault = false): void {
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
  private copyObj(target: A.Expr, val: Extract<Val, { t: 'obj' }>, node: A.Expr): void {
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
  private storePlace(p: Place, val: Val, node: A.Expr): void {
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

  /**
   * A string from a value that is not one yet: a char array in memory or a pointer to
   * characters, copied NUL-terminated into a temporary (BADADDR when unreadable).
   */
  private asStr(v: Val, node: A.Expr | undefined, space?: Space): Extract<Val, { t: 'str' }> {
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
    const s = this.sym(e);
    if (s?.kind === 'xlate-input' || s?.kind === 'inline-param' || (!s && this.bindingOf(name))) return this.xlateInputValue(e);
    if (s?.kind === 'inline' && !s.info.params && !BUILTIN_VARS[name]) return this.expr(s.info.value, false)!;
    if (s?.kind === 'builtin-var' && !BUILTIN_VARS[name]) {
      const inl = this.env.checked?.inlines.get(name);
      if (inl) return this.expr(inl.value, false)!;
    }
    const r = this.alloc(e);
    const int = (type: VType): Val => ({ t: 'int', reg: r, type });
    switch (name) {
      case 'pid': a.call(Helper.get_current_pid_tgid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(I32);
      case 'tid': a.call(Helper.get_current_pid_tgid).mov32(r, R0); return int(I32);
      case 'uid': a.call(Helper.get_current_uid_gid).mov32(r, R0); return int(BUILTIN_VARS.uid!);
      case 'gid': a.call(Helper.get_current_uid_gid).alu64('rsh', R0, imm(32)).mov(r, R0); return int(BUILTIN_VARS.gid!);
      case 'cpu': a.call(Helper.get_smp_processor_id).mov(r, R0); return int(I32);
      case 'curthread': a.call(Helper.get_current_task).mov(r, R0); return int(U64);
      case 'curcpu': {
        // Linux has no cpu_t: fill a cpuinfo_t in the scratch value and point at it (its
        // address as a number, read like any kernel pointer).
        const ci = MST.cpuinfo;
        a.call(Helper.get_smp_processor_id).stx(4, R9, ci, R0).st(4, R9, ci + 4, 0).st(4, R9, ci + 8, 0);
        a.call(Helper.get_numa_node_id).stx(4, R9, ci + 12, R0).st(4, R9, ci + 16, 0);
        a.mov(r, R9).alu64('add', r, imm(ci)).stx(8, R9, MST.scratchU64, r).ldx(8, r, R9, MST.scratchU64);
        return int(U64);
      }
      case 'timestamp': case 'vtimestamp': {
        // One value per probe firing, as in DTrace: read the clock on first use, then reuse it.
        const have = a.newLabel('tsok');
        a.ldx(8, r, R9, MST.timestamp).jmp('jne', r, imm(0), have);
        a.call(Helper.ktime_get_ns).mov(r, R0).stx(8, R9, MST.timestamp, R0);
        a.label(have).mov(r, r);
        return int(U64);
      }
      case 'walltimestamp':
        a.call(Helper.ktime_get_ns).mov(r, R0).ldImm64(R1, this.env.options.walltimeOffsetNs).alu64('add', r, R1);
        return int(I64);
      case 'epid': case 'id': this.probeId(r); return int(BUILTIN_VARS[name]!);
      case 'errno': a.ldx(4, r, R9, MST.errno); return int(I32);
      case 'ppid': {
        // curthread->real_parent->tgid, with offsets from the kernel's BTF.
        const task = kernelTypeSource()?.structType('struct', 'task_struct');
        const parent = task && this.findMember(task, 'real_parent');
        const tgid = task && this.findMember(task, 'tgid');
        if (!parent || !tgid) { this.release(r); throw new LowerError('ppid needs struct task_struct from the kernel BTF', e); }
        a.call(Helper.get_current_task).mov(r, R0).alu64('add', r, imm(parent.bitOffset / 8));
        this.readMemory(r, 8, 'kernel');
        a.ldx(8, r, R9, MST.scratchU64).alu64('add', r, imm(tgid.bitOffset / 8));
        this.readMemory(r, 4, 'kernel');
        a.ldx(4, r, R9, MST.scratchU64).movsx(r, r, 32);
        return int(I32);
      }
      case 'execname': {
        this.release(r);
        return this.execname(e);
      }
      case 'probeprov': case 'probemod': case 'probefunc': case 'probename': {
        const field = (['probeprov', 'probemod', 'probefunc', 'probename'] as const).indexOf(name);
        const key = (['provider', 'module', 'function', 'name'] as const)[field]!;
        const members = this.probe.shared ?? [this.probe];
        if (members.every((m) => m[key] === this.probe[key])) { this.release(r); return this.strLiteral(this.probe[key], e); }
        // Shared code: the probe's own name, from the table compile.ts builds.
        let bound = 0;
        for (const m of members) {
          const off = this.env.literal(m[key]);
          bound = Math.max(bound, off);
          const row = this.env.probeNameOffsets.get(m.id) ?? [0, 0, 0, 0];
          row[field] = off;
          this.env.probeNameOffsets.set(m.id, row);
        }
        const maxId = Math.max(...members.map((m) => m.id));
        const ok = a.newLabel('pnok');
        a.ldx(4, R1, R9, MST.prid).jmp('jle', R1, imm(maxId), ok).mov(R1, imm(0)).label(ok);
        a.alu64('lsh', R1, imm(4)).ldMapValue(R2, 'probenames', field * 4).alu64('add', R2, R1).ldx(4, R2, R2, 0);
        const inb = a.newLabel('pnin');
        a.jmp('jle', R2, imm(bound), inb).mov(R2, imm(0)).label(inb);
        a.ldMapValue(r, 'strtab', 0).alu64('add', r, R2);
        return { t: 'str', reg: r };
      }
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
    if (v.type.t === 'str') { this.asm.ldMapValue(r, 'gvars', off); this.nullIfMarker(r); return { t: 'str', reg: r }; }
    if (v.type.t === 'obj') { this.asm.ldMapValue(r, 'gvars', off); return { t: 'obj', reg: r, ctype: v.type.ctype, space: 'kernel', direct: true }; }
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
    // A string stored in a pointer variable (`char *s = probeprov`) is its address.
    if (val.t === 'obj') throw new LowerError('operands have incompatible types');
    if (val.t === 'int') this.normalize(val.reg, v.type);
    this.asm.ldMapValue(R1, 'gvars', off).stx(8, R1, 0, val.reg);
  }

  /** Copies a string (NUL-terminated, at most strsize bytes) into map memory at R1 (set by `dst`). */
  private copyStr(dst: () => void, src: Reg): void {
    dst();
    this.storeStrAt(src);
  }

  /**
   * Copies the string at `src` into the variable storage at R1. A NULL string (src = 0, the
   * copy fails) is stored as DTrace's NULL marker: NUL followed by 0x7f.
   */
  private storeStrAt(src: Reg): void {
    const a = this.asm;
    a.stx(8, R10, -40, R1).mov(R2, imm(this.mem.strsize + 1)).mov(R3, src).call(Helper.probe_read_kernel_str);
    const ok = a.newLabel('strst');
    a.jmp('jsge', R0, imm(0), ok).ldx(8, R1, R10, -40).st(1, R1, 0, 0).st(1, R1, 1, 0x7f).label(ok).mov(R0, R0);
  }

  /** `r` points at stored string data: make it 0 when the data is the NULL marker. */
  private nullIfMarker(r: Reg): void {
    const a = this.asm;
    const done = a.newLabel('nmk');
    a.ldx(1, R1, r, 0).jmp('jne', R1, imm(0), done).ldx(1, R1, r, 1).jmp('jne', R1, imm(0x7f), done).mov(r, imm(0)).label(done).mov(r, r);
  }

  private lvarNext = 0;
  private clauseLocalOffset(name: string, node: A.Expr): number {
    let off = this.lvarOffsets.get(name);
    if (off === undefined) {
      const t = this.env.sym.clauseLocals.get(name)?.type;
      const size = t?.t === 'obj' ? (t.size + 7) & ~7 : this.mem.strSlot;
      off = this.mem.lvars + this.lvarNext;
      if (off + size > this.mem.lvars + this.mem.lvarsMax) throw new LowerError('too many clause-local variables', node);
      this.lvarNext += Math.max(size, 8);
      this.env.usage.lvarBytes = Math.max(this.env.usage.lvarBytes, this.lvarNext);
      this.lvarOffsets.set(name, off);
    }
    return off;
  }

  private loadClauseLocal(e: A.ThisVar): Val {
    const info = this.env.sym.clauseLocals.get(e.name);
    const off = this.clauseLocalOffset(e.name, e);
    const r = this.alloc(e);
    if (info?.type.t === 'str') { this.asm.mov(r, R9).alu64('add', r, imm(off)); this.nullIfMarker(r); return { t: 'str', reg: r }; }
    if (info?.type.t === 'obj') { this.asm.mov(r, R9).alu64('add', r, imm(off)); return { t: 'obj', reg: r, ctype: info.type.ctype, space: 'kernel', direct: true }; }
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
    // A missing string element is the NULL string; a missing struct reads as zeros.
    if (type.t === 'obj') a.ldMapValue(r, 'zeros', 0); else a.mov(r, imm(0));
    a.ja(done).label(found);
    if (type.t !== 'int') a.mov(r, R0); else a.ldx(8, r, R0, 0);
    if (type.t === 'str') this.nullIfMarker(r);
    a.label(done).mov(r, r);
    if (type.t === 'obj') return { t: 'obj', reg: r, ctype: type.ctype, space: 'kernel', direct: true };
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
    if (val.t !== 'int' && type.t === 'int') {
      a.stx(8, R0, 0, val.reg); // a string's address into a pointer variable
      return;
    }
    if (val.t !== 'int') {
      // A string value never deletes: no delete path (the verifier rejects unreachable code).
      a.mov(R1, R0);
      this.storeStrAt(val.reg);
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
  private upsert(map: string, rekey: () => void, dropCounter: number = STATE.dynvarDrops, full: string = this.end): void {
    const a = this.asm;
    const have = a.newLabel('have');
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    rekey();
    a.ldMapFd(R1, map).ldMapValue(R3, 'zeros', 0).mov(R4, imm(1 /* BPF_NOEXIST */)).call(Helper.map_update_elem);
    rekey();
    a.ldMapFd(R1, map).call(Helper.map_lookup_elem).jmp('jne', R0, imm(0), have);
    a.ldMapValue(R1, 'state', dropCounter).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2).ja(full);
    a.label(have).mov(R0, R0);
  }

  // ----- associative arrays

  /** Writes the key tuple into the KEY area (zeroed first); returns its size. */
  private buildKey(indices: A.Expr[], keyTypes: VType[], area: number): number {
    const a = this.asm;
    let size = 0;
    // dtrace-utils has ten tuple registers; more components is a compile-time error there.
    if (indices.length > MAX_KEY_COMPONENTS) throw new LowerError('Insufficient tuple registers to generate code');
    const sizes = keyTypes.map((t) => this.env.slotSize(t));
    const total = sizes.reduce((x, y) => x + y, 0) || 8;
    if (total + 8 > this.mem.keyMax) throw new LowerError('tuple too large');
    // (+8: a self-> array's key ends with the thread id.)
    this.env.usage.keyBytes = Math.max(this.env.usage.keyBytes, total + 8);
    // Zero the area: string tails and padding must be byte-exact for hashing. A short key is
    // zeroed with stores, a long one with one copy from the zeros map.
    if (total <= 64) for (let o = 0; o < total; o += 8) a.st(8, R9, area + o, 0);
    else a.mov(R1, R9).alu64('add', R1, imm(area)).mov(R2, imm(total)).ldMapValue(R3, 'zeros', 0).call(Helper.probe_read_kernel);
    // Lookups inside the components build their keys in the next area.
    this.keyDepth++;
    try {
    indices.forEach((ix, i) => {
      const kt = keyTypes[i];
      const call = unparen(ix);
      if (kt?.t === 'obj' && kt.decode && call.kind === 'Call') {
        this.emitRecorded(call, area + size, kt);
        size += sizes[i]!;
        return;
      }
      if (kt?.t === 'str' && kt.max === 16 && call.kind === 'Ident' && call.name === 'execname' && !this.env.sym.globals.has('execname')) {
        // The task's comm straight into the key (zero-padded by the helper): no temporary.
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(16)).call(Helper.get_current_comm);
        size += sizes[i]!;
        return;
      }
      let v = this.expr(ix, false)!;
      if (kt?.t === 'str') {
        v = this.asStr(v, ix, this.spaceOf(ix, this.ct(ix)));
        const max = Math.min(this.mem.strsize + 1, kt.max ?? this.mem.strsize + 1);
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(max)).mov(R3, v.reg).call(Helper.probe_read_kernel_str);
      } else if (keyTypes[i]?.t === 'obj' && v.t === 'obj') {
        // A struct key: its bytes.
        a.mov(R1, R9).alu64('add', R1, imm(area + size)).mov(R2, imm(Math.min(sizes[i]!, sizeOf(v.ctype, this.mem.strsize)))).mov(R3, v.reg);
        a.call(v.space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
      } else {
        if (v.t === 'str') throw new LowerError('key type mismatch', ix);
        a.stx(8, R9, area + size, v.reg);
      }
      this.release(v);
      size += sizes[i]!;
    });
    } finally {
      this.keyDepth--;
    }
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
      // args[i] is the raw argument its provider maps it to (translated members read it).
      const s = this.sym(e);
      const ix = s?.kind === 'args' ? BigInt(s.mapping ?? s.index) : constInt(e.indices[0]!, this.env.sym);
      if (ix === undefined || ix < 0n || ix > 9n) throw new LowerError('args[] index must be a constant 0..9', e);
      const r = this.alloc(e);
      a.ldx(8, r, R9, MST.argv + 8 * Number(ix));
      const t = this.typeOf(e);
      if (t.t === 'int') { this.normalize(r, t); return { t: 'int', reg: r, type: t }; }
      return { t: 'int', reg: r, type: I64 };
    }
    // An inline with parameters (`inline int f[int x] = x + 1;` used as f[2]): its value
    // with the parameters bound to the index expressions.
    const os = this.sym(obj);
    if (os?.kind === 'inline' && os.info.params) {
      const params = os.info.params;
      const saved = this.xlateBindings.length;
      params.forEach((p, i) => this.xlateBindings.push({ name: p.name, expr: e.indices[i]! }));
      try { return this.expr(os.info.value, false)!; } finally { this.xlateBindings.length = saved; }
    }
    const place = this.elementPlace(e);
    if (place) return this.loadPlace(place, e);
    const info = this.assocInfo(obj);
    const r = this.alloc(e);
    if (!info) { a.mov(r, imm(0)); return { t: 'int', reg: r, type: I64 }; }
    this.assocKey(info, e.indices, obj.kind === 'SelfVar');
    return this.loadDynamic(this.env.assocMap(info), info.type, r);
  }

  /** Key areas in use by keys being built (a key's components may themselves be lookups). */
  private keyDepth = 0;

  /** The key area for a key built now: one per nesting level. */
  private keyArea(node?: A.Expr): number {
    if (this.keyDepth >= 2) throw new LowerError('associative array keys nested too deeply', node);
    this.env.usage.keyAreas = Math.max(this.env.usage.keyAreas, this.keyDepth + 1);
    return this.mem.key + this.keyDepth * this.mem.keyMax;
  }

  /**
   * Key of an associative array element (with the thread id for self-> arrays) in a key area;
   * leaves R2 = key and returns the area's offset.
   */
  private assocKey(info: VarInfo, indices: A.Expr[], thread: boolean): number {
    const keys = [...(info.keys ?? indices.map((i) => this.typeOf(i)))];
    const area = this.keyArea(indices[0]);
    const size = this.buildKey(indices, keys, area);
    if (thread) {
      this.asm.call(Helper.get_current_pid_tgid).stx(8, R9, area + size, R0);
    }
    this.asm.mov(R2, R9).alu64('add', R2, imm(area));
    return area;
  }

  private storeAssoc(e: A.Index, val: Val): void {
    const a = this.asm;
    const obj = unparen(e.object);
    const info = this.assocInfo(obj);
    if (!info) throw new LowerError('unknown associative array', e);
    // The key is built once into a key area (it lives there; helpers only clobber R1–R5).
    const area = this.assocKey(info, e.indices, obj.kind === 'SelfVar');
    this.storeDynamic(this.env.assocMap(info), info.type, val, () => a.mov(R2, R9).alu64('add', R2, imm(area)));
  }

  // ----- operators

  private unary(e: A.Unary, discard: boolean): Val {
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

  private binary(e: A.Binary): Val {
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
    // unsigned char, unlike C); the inferred one only when the checker is absent.
    const checkedT = this.env.checked ? this.typeOf(e) : undefined;
    const resT = checkedT?.t === 'int' ? checkedT : e.op === '<<' || e.op === '>>' ? (lt.t === 'int' && lt.size < 4 ? I32 : lt) : t;
    // D keeps 64 bits in registers (dt_cg_arithmetic_op): no narrowing to resT here.
    return { t: 'int', reg: l.reg, type: resT };
  }

  /**
   * String comparison through the strcmp subroutine (string kfuncs): <0, 0 or >0, then the
   * operator. A NULL string (or the constant NULL) compares as a pointer, as in DTrace.
   */
  private strCompare(e: A.Binary): Val {
    const a = this.asm;
    const ops: Record<string, 'jeq' | 'jne' | 'jsgt' | 'jsge' | 'jslt' | 'jsle'> = {
      '==': 'jeq', '!=': 'jne', '<': 'jslt', '<=': 'jsle', '>': 'jsgt', '>=': 'jsge',
    };
    const op = ops[e.op];
    if (!op) throw new LowerError(`operator ${e.op} is not defined for strings`, e);
    const operand = (x: A.Expr): Val => {
      if (this.typeOf(x).t !== 'str' && this.env.checked?.constValue(x) === 0n) {
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

  /** Size of what `e` points to when it is a pointer or array (pointer arithmetic), else undefined. */
  private pointee(e: A.Expr): number | undefined {
    const t = this.ct(e);
    const r = t && resolve(t);
    if (!r || (r.kind !== 'pointer' && r.kind !== 'array')) return undefined;
    const elem = resolve(r.kind === 'pointer' ? r.target : r.element);
    if (elem.kind === 'void' || elem.kind === 'function') return 1;
    return Math.max(1, sizeOf(elem, this.mem.strsize));
  }

  /** Claims a specific register that is currently free (the join point of two branches). */
  private take(r: Reg): void {
    const i = this.free.indexOf(r);
    if (i < 0) throw new LowerError('internal error: register is not free');
    this.free.splice(i, 1);
  }

  /** Puts `v` in register `res` (free at this point) and releases v's own register. */
  private into(res: Reg, v: Val): void {
    if (v.reg === res) return;
    this.take(res);
    this.asm.mov(res, v.reg);
    this.release(v);
  }

  private logical(e: A.Logical): Val {
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

  private ternary(e: A.Ternary): Val {
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

  private assign(e: A.Assign, discard: boolean): Val | undefined {
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
        val = val.t === 'int' && this.env.checked?.constValue(e.value) === 0n ? { t: 'str', reg: val.reg } : this.asStr(val, e.value, this.spaceOf(e.value, this.ct(e.value)));
      }
      else if (val.t === 'obj' && this.typeOf(target).t === 'int') {
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
      case 'Index': {
        const place = this.elementPlace(target, true);
        if (place) this.storePlace(place, val, node); else this.storeAssoc(target, val);
        return;
      }
      case 'Member': case 'Unary': this.storePlace(this.placeOf(target, true), val, node); return;
      default: throw new LowerError('invalid assignment target', node);
    }
  }

  private incdec(operand: A.Expr, op: '++' | '--', post: boolean, discard: boolean): Val | undefined {
    const target = unparen(operand);
    const v = this.evalInt(target);
    const a = this.asm;
    let old: Reg | undefined;
    if (post && !discard) { old = this.alloc(operand); a.mov(old, v.reg); }
    a.alu64(op === '++' ? 'add' : 'sub', v.reg, imm(this.pointee(target) ?? 1));
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
      case 'stack': case 'ustack': case 'trace': {
        const arg = name === 'trace' ? unparen(args[0]!) : e;
        const rt = arg.kind === 'Call' ? recordedCallType(arg, this.env.sym) : undefined;
        if (rt && rt.t === 'obj' && arg.kind === 'Call') {
          // stack(), ustack() and the symbol functions record their raw form; the consumer
          // symbolises it.
          const off = this.recField(rt.size, 8);
          this.records = true;
          this.emitRecorded(arg, this.mem.rec + off, rt);
          const field: FieldLayout = { offset: off, sizeBytes: rt.size, type: rt.ctype, decode: rt.decode ?? 'bytes', ...(rt.symbolForm ? { symbolForm: rt.symbolForm } : {}) };
          if (rt.decode === 'stack' || rt.decode === 'ustack') this.actions.push({ kind: 'stack', field, user: rt.decode === 'ustack' });
          else this.actions.push({ kind: 'trace', field });
          return undefined;
        }
        const v = this.expr(args[0]!, false)!;
        const field = this.recordValue(v, this.typeOf(args[0]!), args[0]);
        this.actions.push({ kind: 'trace', field });
        this.release(v);
        return undefined;
      }
      case 'printf': case 'system': case 'freopen': {
        // system() and freopen() are formatted like printf; the consumer runs the command /
        // reopens its output.
        const fmt = unparen(args[0]!);
        if (fmt.kind !== 'StringLit') throw new LowerError(`${name}( ) format must be a string constant`, e);
        const fields: FieldLayout[] = [];
        const wantsString = printfStringArgs(fmt.value);
        args.slice(1).forEach((arg, i) => {
          const v = this.expr(arg, false)!;
          const t = this.typeOf(arg);
          // %s of a `char *` or char array prints the characters it points to.
          fields.push(this.recordValue(v, wantsString[i] && t.t === 'int' && v.t !== 'str' && this.isCharData(arg) ? STR : t, arg));
          this.release(v);
          this.resetTemps();
        });
        this.actions.push({ kind: name, format: fmt.value, args: fields });
        return undefined;
      }
      case 'tracemem': {
        // tracemem(addr, n [, dynsize]): n bytes (a constant) copied into the record.
        const n = Number(this.env.checked?.constValue(args[1]!) ?? constInt(args[1]!, this.env.sym) ?? 0n);
        if (n <= 0) throw new LowerError('tracemem( ) size must be a positive integer constant', args[1]);
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
      case 'ftruncate': {
        this.actions.push({ kind: 'ftruncate' });
        this.records = true;
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
        // As dtrace-utils: at most min(maxlen, strsize) bytes, the NUL included.
        let max = this.mem.strsize;
        const lim = args[1] ? constInt(args[1], this.env.sym) : undefined;
        if (lim !== undefined && lim > 0n && lim < BigInt(max)) max = Number(lim);
        a.mov(R1, R9).alu64('add', R1, imm(off)).mov(R2, imm(max)).mov(R3, p.reg).call(Helper.probe_read_user_str);
        const ok = a.newLabel('cinok');
        a.jmp('jsge', R0, imm(0), ok);
        this.fault(Fault.BADADDR, p.reg);
        a.label(ok).mov(p.reg, R9).alu64('add', p.reg, imm(off));
        return { t: 'str', reg: p.reg };
      }
      case 'speculation': {
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
      case 'speculate': {
        const id = this.evalInt(args[0]!);
        this.checkSpecId(id.reg);
        // speculate(0) or an inactive buffer: the rest of the clause is skipped silently.
        a.jmp('jeq', id.reg, imm(0), this.end);
        a.mov(R1, id.reg).alu64('lsh', R1, imm(3)).ldMapValue(R2, 'specs', 0).alu64('add', R2, R1).ldx(8, R1, R2, 0).jmp('jeq', R1, imm(0), this.end);
        a.stx(8, R9, MST.specId, id.reg);
        this.release(id);
        return undefined;
      }
      case 'commit': case 'discard': {
        const id = this.evalInt(args[0]!);
        this.checkSpecId(id.reg);
        const field = this.recordValue(id, I64);
        this.actions.push({ kind: name, field });
        // Free the buffer now: records reach the consumer in ring order, so the ones
        // written before this commit are behind it and later ones belong to the next user.
        const skip = a.newLabel('specfree');
        a.jmp('jeq', id.reg, imm(0), skip);
        a.mov(R1, id.reg).alu64('lsh', R1, imm(3)).ldMapValue(R2, 'specs', 0).alu64('add', R2, R1).st(8, R2, 0, 0);
        a.label(skip).mov(R0, R0);
        this.release(id);
        return undefined;
      }
      case 'alloca': {
        const n = this.evalInt(args[0]!);
        const ptr = this.allocaBytes(n.reg, e);
        this.release(n);
        return ptr;
      }
      case 'bcopy': case 'copyinto': {
        // bcopy(src, dst, n); copyinto(uaddr, n, dst)
        const [srcE, dstE, nE] = name === 'bcopy' ? [args[0]!, args[1]!, args[2]!] : [args[0]!, args[2]!, args[1]!];
        const [src, dst, n] = this.evalArgs([srcE, dstE, nE]) as [Val, Extract<Val, { t: 'int' }>, Extract<Val, { t: 'int' }>];
        this.copyInto(src.reg, dst.reg, n.reg, name === 'copyinto' ? 'user' : this.spaceOf(srcE, this.ct(srcE)), src.t === 'int');
        this.release(src); this.release(dst); this.release(n);
        return undefined;
      }
      case 'copyin': {
        const src = this.evalInt(args[0]!);
        const n = this.evalInt(args[1]!);
        const ptr = this.allocaBytes(n.reg, e);
        this.copyInto(src.reg, ptr.reg, n.reg, 'user', false);
        this.release(src); this.release(n);
        return ptr;
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
    const subr = STRING_SUBRS[`${name}/${args.length}`] ?? STRING_SUBRS[name];
    if (subr) return this.stringSubr(subr, name === 'inet_ntoa6' ? [...args, undefined] : args, e);
    throw new LowerError(`${name}( ) is not supported by the code generator yet`, e);
  }

  /**
   * Calls a string subroutine (codegen/subr/strings.ts): R1 = a temporary for the result,
   * R2..R4 = the arguments, R5 = the scratch value. Faults come back as negative codes.
   * An `undefined` argument is passed as 0 (inet_ntoa6's non-strict form).
   */
  private stringSubr(subr: Subroutine, args: (A.Expr | undefined)[], e: A.Expr): Val {
    const a = this.asm;
    const spilled: { v: Val; slot: number }[] = [];
    args.forEach((x, i) => {
      let v: Val;
      const isNull = x !== undefined && this.env.checked?.constValue(x) === 0n;
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

  private isCharData(e: A.Expr): boolean {
    const t = this.ct(e);
    return t !== undefined && isCharPointerOrArray(t);
  }

  /** Writes what stack()/ustack()/sym()/… record at R9 + `at` (a record or a key). */
  private emitRecorded(call: A.Call, at: number, rt: Extract<VType, { t: 'obj' }>): void {
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
  private checkSpecId(id: Reg): void {
    const ok = this.asm.newLabel('specok');
    this.asm.jmp('jle', id, imm(Math.min(this.env.options.nspec, 16)), ok);
    this.fault(Fault.ILLOP, id);
    this.asm.label(ok);
  }

  /** Evaluates several arguments, spilling earlier ones while later ones are computed. */
  private evalArgs(exprs: A.Expr[]): Val[] {
    const spilled: { v: Val; slot: number }[] = [];
    exprs.forEach((x, i) => {
      const v = this.expr(x, false)!;
      const val = v.t === 'obj' ? { t: 'int' as const, reg: v.reg, type: U64 } : v;
      if (i < exprs.length - 1) spilled.push(this.spill(val)); else spilled.push({ v: val, slot: 0 });
    });
    return spilled.map((s, i) => (i < exprs.length - 1 ? this.unspill(s) : s.v));
  }

  /**
   * alloca(n): the next 8-aligned offset of this clause's scratch memory (NOSCRATCH when it
   * would exceed scratchsize). `n` stays live.
   */
  private allocaBytes(n: Reg, e: A.Expr): Extract<Val, { t: 'int' }> {
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
  private copyInto(src: Reg, dst: Reg, n: Reg, space: Space, srcMayBeAlloca: boolean): void {
    const a = this.asm;
    const ok = a.newLabel('cpnok');
    a.jmp('jle', n, imm(this.mem.scratchsize), ok);
    this.fault(Fault.BADSIZE, n);
    a.label(ok);
    if (srcMayBeAlloca && space === 'kernel') this.allocaAccess(src, { reg: n }, 'read');
    this.allocaAccess(dst, { reg: n }, 'write', true);
    a.mov(R2, n).alu64('and', R2, imm(0x7fffffff)).jmp('jle', R2, imm(this.mem.scratchsize), `${ok}.b`).mov(R2, imm(0)).label(`${ok}.b`);
    a.mov(R3, src).call(space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
    const done = a.newLabel('cpdone');
    a.jmp('jeq', R0, imm(0), done);
    this.fault(Fault.BADADDR, src);
    a.label(done);
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
  private recordValue(v: Val, t: VType, node?: A.Expr): FieldLayout {
    const a = this.asm;
    this.records = true;
    if (v.t === 'obj' && !isCharPointerOrArray(v.ctype)) {
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
    // The optional increment of the histograms (quantize(v, n), lquantize(v, b, l, s, n),
    // llquantize(v, f, lo, hi, steps, n)): kept on the stack, 1 by default.
    const incArg = fn === 'quantize' ? call.args[1] : fn === 'lquantize' ? call.args[4] : fn === 'llquantize' ? call.args[5] : undefined;
    if (incArg) {
      const [vv, inc] = this.keeping(v!, () => this.evalInt(incArg), call);
      v = vv as Extract<Val, { t: 'int' }>;
      a.stx(8, R10, -32, inc.reg);
      this.release(inc);
    }
    const bump = () => {
      if (incArg) a.ldx(8, R2, R0, 0).ldx(8, R3, R10, -32).alu64('add', R2, R3).stx(8, R0, 0, R2);
      else a.ldx(8, R2, R0, 0).alu64('add', R2, imm(1)).stx(8, R0, 0, R2);
    };
    const map = this.env.aggMap(info);
    const aggDone = a.newLabel('aggdone');
    if (info.keys.length === 0) {
      a.mov(R1, imm(0)).stx(4, R10, -16, R1).mov(R2, R10).alu64('add', R2, imm(-16));
      a.ldMapFd(R1, map).call(Helper.map_lookup_elem);
      const ok = a.newLabel('aggok');
      a.jmp('jne', R0, imm(0), ok).ja(this.end).label(ok).st(8, R0, this.env.aggValueSize(info), 1);
    } else {
      const area = this.keyArea(target);
      this.buildKey(indices, info.keys, area);
      const rekey = () => a.mov(R2, R9).alu64('add', R2, imm(area));
      rekey();
      // A full aggregation drops this update only; the clause goes on (as in DTrace).
      this.upsert(map, rekey, STATE.aggDrops, aggDone);
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
        a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
        bump();
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
        a.alu64('add', R0, R1);
        bump();
        break;
      }
      case 'llquantize': {
        this.llquantizeBucket(v!.reg, info.params);
        a.alu64('lsh', R1, imm(3)).alu64('add', R0, R1);
        bump();
        break;
      }
      default:
        throw new LowerError(`${fn}( ) is not supported by the code generator yet`, call);
    }
    a.label(aggDone).mov(R0, R0);
    this.release(v);
  }

  /**
   * R1 = llquantize bin of the signed value in `v` (dt_llquantize's layout: bin0 is |v| <
   * factor^lmag, positive bins above it, negative below), unrolled over the magnitudes with
   * compile-time thresholds and divisors. R0 preserved.
   */
  private llquantizeBucket(v: Reg, params: bigint[]): void {
    const a = this.asm;
    const factor = params[0] ?? 10n, lmag = Number(params[1] ?? 0n), hmag = Number(params[2] ?? 0n), steps = params[3] ?? 1n;
    const stepsFactor = steps / factor;
    const perMag = Number(steps - stepsFactor);
    const mags = hmag - lmag + 1;
    const bin0 = 1 + mags * perMag, nbins = mags * perMag * 2 + 3;
    const cap = (x: bigint) => (x > 0x7fffffffffffffffn ? 0x7fffffffffffffffn : x);
    // R2 = |v|, R3 = 1 or -1, R1 = index from bin0.
    const pos = a.newLabel('llpos'), signed = a.newLabel('llsign'), done = a.newLabel('lldone');
    a.mov(R2, v).mov(R3, imm(1)).jmp('jsge', R2, imm(0), pos).neg(R2).mov(R3, imm(-1)).label(pos);
    a.movImm64(R4, cap(factor ** BigInt(lmag))).mov(R1, imm(0)).jmp('jlt', R2, R4, signed);
    for (let mag = lmag; mag <= hmag; mag++) {
      const next = a.newLabel('llmag');
      a.movImm64(R4, cap(factor ** BigInt(mag + 1))).jmp('jge', R2, R4, next);
      a.mov(R1, R2);
      if (mag === 0) a.movImm64(R4, steps).alu64('mul', R1, R4).movImm64(R4, factor).alu64('div', R1, R4);
      else a.movImm64(R4, (factor ** BigInt(mag + 1)) / steps || 1n).alu64('div', R1, R4);
      a.movImm64(R4, -stepsFactor + BigInt((mag - lmag) * perMag + 1)).alu64('add', R1, R4).ja(signed);
      a.label(next).mov(R1, R1);
    }
    a.mov(R1, imm(mags * perMag + 1));
    a.label(signed).alu64('mul', R1, R3).alu64('add', R1, imm(bin0));
    a.jmp('jsge', R1, imm(0), done).mov(R1, imm(0));
    a.label(done).jmp('jle', R1, imm(nbins - 1), `${done}.ok`).mov(R1, imm(nbins - 1)).label(`${done}.ok`).mov(R1, R1);
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

function typeSize(t: VType, strsize: number): number {
  return t.t === 'str' ? strsize : t.size;
}

export function intCType(t: VType): CType {
  if (t.t === 'str') return Types.string;
  if (t.t === 'obj') return t.ctype;
  switch (t.size) {
    case 1: return t.signed ? Types.char : Types.uchar;
    case 2: return t.signed ? Types.short : Types.ushort;
    case 4: return t.signed ? Types.int : Types.uint;
    default: return t.signed ? Types.long : Types.ulong;
  }
}

