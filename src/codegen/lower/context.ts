/**
 * @fileoverview The state of one clause being lowered (registers, spill slots, the record being laid out) and the bookkeeping every part of lowering shares: faults, source notes, types of expressions.
 */
import { Asm, R1, R2, R3, R4, R6, R7, R8, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { reportedLine, lineText } from '../../diag/source.js';
import type { DiagnosticSink } from '../../diag/diagnostic.js';
import { type MemLayout, type MemUsage, MST, STATE } from '../layout.js';
import { type VType, type Symbols, type VarInfo, type AggInfo } from '../infer.js';
import { exprType } from '../recorded.js';
import { ErrorRecord, RECORD_HEADER_BYTES, type RecordedAction, type ClauseSpec } from '../../program/spec.js';
import type { CType } from '../../check/ctypes.js';
import { Types, resolve } from '../../check/ctypes.js';
import type { Checked, SymbolRef, KernelTypeSource } from '../../check/checker.js';
import type { ProbeInfo, ProgramSpecData } from '../../program/spec.js';
import type { TracerFrameTable } from '../tracer-skip.js';

/** Where a pointer points: kernel memory (read with probe_read_kernel) or user memory (copyin). */
export type Space = 'kernel' | 'user';

/**
 * A value computed into a register. Strings are pointers to NUL-terminated map memory; an
 * `obj` is the address of a struct, union or array in kernel or user memory (C's lvalues of
 * aggregate type: they are read member by member, or copied when traced).
 */
export type Val = { t: 'int'; reg: Reg; type: VType } | { t: 'str'; reg: Reg } | { t: 'obj'; reg: Reg; ctype: CType; space: Space; direct?: boolean };

/**
 * An address in memory with the type of what is there; `bits` for a bit-field member.
 * `direct`: the register is a map-value pointer the verifier knows (D's own variables), read
 * and written with plain loads and stores.
 */
export interface Place { reg: Reg; ctype: CType; space: Space; bits?: { shift: number; size: number }; direct?: boolean }

/**
 * A D program the checker accepted that this code generator cannot compile, reported as a D
 * error. None repeats a check the checker makes (what the checker rejects is asserted with
 * `unchecked` below). Audit of the throws (issue 11), by reason:
 *
 * | where | what | why it is not the checker's |
 * |---|---|---|
 * | context.ts (3) | out of registers, spill slots, temporary strings | limits of the generated code; DTrace's own "Insufficient registers" is the code generator's too |
 * | storage.ts (4) | clause-local space, tuple registers, tuple size, key nesting | the same: sizes of the code and of the scratch map |
 * | storage.ts args[] | index past the 10 argument slots of mstate | the checker bounds args[] by the probe's own argument count (D_ARGS_IDX); this is the layout's bound |
 * | kernel-reach.ts, task.ts, storage.ts ppid | breakpoint( ), panic( ), bpf_probe_write_user, kernel BTF members | what the running kernel allows or describes; the checker sees no kernel features (dtrace-utils too rejects breakpoint( ) in its code generator, D_UNKNOWN) |
 * | memory.ts `` `sym `` | a kernel symbol with a type but no address | the checker resolves the symbol's type (D_IDENT_UNDEF when unknown); its address comes from kallsyms, which may hide it |
 * | strings.ts | `+`/`-` with a string operand | the checker accepts it as dtrace-utils does (dt_cook_op2 lets strings stand for pointers); not generated |
 * | task.ts uregs | constant index past the register set | not checked by the checker, as in DTrace (an index, not a type) |
 * | actions.ts | a builtin with a prototype but no code (msgsize, ddi_pathname, ...) | the prototype table lists every D name; only the code generator knows which have code |
 * | memory.ts (10), expressions.ts (2) | struct values not in memory, incomplete structs through `*`, translated data from other expressions and translator inputs outside their body, whole-struct xlate and ?:, reads and stores of other types | forms the checker accepts (as DTrace does) that this code generator does not implement yet |
 */
export class LowerError extends Error {
  constructor(message: string, readonly node?: { span: A.Expr['span'] }) { super(message); }
}

/** No register is free for a value: lowering gives up the attempt (`holding` retries it with values spilled). */
export class OutOfRegisters extends LowerError {
  constructor(node?: { span: A.Expr['span'] }) { super('expression too complex: out of registers', node); }
}

/**
 * Lowering relies on the checker's rules: a program it accepted cannot get here. Reaching it
 * is a bug of the checker, reported as an internal error, never as a D error of lowering's own.
 */
export function unchecked(what: string): never {
  throw new Error(`code generation reached ${what}, which the checker rejects`);
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
  /**
   * Offset of a clause-local variable in the lvars region, one layout for the whole program:
   * every clause a probe firing runs must find `this->x` where an earlier clause left it.
   */
  clauseLocalOffset(name: string, size: number): number;
  /** Map name for an associative array / aggregation. */
  assocMap(v: VarInfo): string;
  /** Bytes of an associative array's key after its id prefix: its tuple, padded in a map shared with longer ones (codegen/assoc-maps.ts). */
  assocTupleBytes(v: VarInfo): number;
  /** An aggregation's map, and its tag there when the map is shared (codegen/agg-maps.ts). */
  aggMap(a: AggInfo): { map: string; tag?: number };
  /** Size of one stored value of a type. */
  slotSize(t: VType): number;
  /** Byte size of an aggregation's value. */
  aggValueSize(a: AggInfo): number;
  aggKeySize(a: AggInfo): number;
  tvarValueSize: number;
  options: { target?: number; destructive: boolean; walltimeOffsetNs: bigint; macroArgs: string[]; nspec: number; quiet: boolean; /** pcap(): bytes captured per packet at most. */ pcapsize: number };
  /** Clause record layouts by stid, filled the first time a clause is lowered. */
  clauses: Map<number, ClauseSpec>;
  recMax: number;
  /** The checker's result: types of expressions, constants, what identifiers refer to. */
  checked: Checked;
  /** Address of a kernel symbol (kallsyms), for `` `sym `` references. */
  kernelSymbol(name: string): bigint | undefined;
  /** Kernel types (BTF), for kernel structs the program did not declare. */
  kernelTypes(): KernelTypeSource | undefined;
  /** The program uses alloca()d memory: pointer accesses check for alloca offsets. */
  usesAlloca: boolean;
  /** The program has ERROR clauses: fault paths call the `dt_error` subprogram that runs them. */
  hasErrorClauses: boolean;
  /** Records how much of each scratch region the generated code uses. */
  usage: MemUsage;
  /** String-table offsets of probeprov/probemod/probefunc/probename by probe id (shared code). */
  probeNameOffsets: Map<number, number[]>;
  /** How the program being lowered is attached: where bpf_get_stack() starts (kernel-reach.ts). */
  bpfType?: ProgramSpecData['bpfType'];
  /** The tracer functions' addresses, to skip their frames in kernel stacks (tracer-skip.ts). */
  tracerFrames?: () => TracerFrameTable | undefined;
  /** Whether the kernel lets BPF write user memory (copyout), and why not. */
  writeUser?: () => { available: boolean; reason?: string };
  /** The kfuncs the target kernel offers (KernelCaps.kfuncs): iterators for long loops. */
  kfuncs?: ReadonlySet<string>;
  /** The target kernel has bpf_loop (5.17): chill() waits on it when there are no iterators. */
  bpfLoop?: boolean;
  /** Each CPU's physical package id (`chip`), and whether the program reads it (its table is then a map). */
  cpuPackages?: () => readonly number[] | undefined;
  usesCpuTopology?: boolean;
}

/** Name of the subprogram running the ERROR clauses (compile.ts builds it). */
export const ERROR_SUBPROGRAM = 'dt_error';

export const SCRATCH_REGS: Reg[] = [R6, R7, R8];

/**
 * Spill slots: fp-64 down to fp-64 - 8 * (MAX_SPILLS - 1). The frame above them holds the
 * fixed slots (the context, keys, loop state); below them stays room for the frames of the
 * subprograms a clause calls (string subroutines, the ERROR clauses), which the verifier adds
 * to this one against its 512 bytes.
 */
const MAX_SPILLS = 24;

export abstract class ClauseContext {
  protected free: Reg[] = [...SCRATCH_REGS];

  protected tmpNext = 0;

  protected recOff = RECORD_HEADER_BYTES; // after the prid / stid / cpu header

  protected actions: RecordedAction[] = [];

  protected records = false;

  protected readonly end: string;

  protected readonly mem: MemLayout;

  constructor(protected asm: Asm, protected env: LowerEnv, protected clause: A.Clause, protected stid: number, protected probe: ProbeInfo, protected inError = false) {
    this.end = asm.newLabel(`clause${stid}_end`);
    this.mem = env.mem;
  }

  protected note(span: A.Expr['span']): void {
    const { line } = reportedLine(span.source, span.start);
    this.asm.setSource({ where: `${span.source.name}:${line}`, text: lineText(span.source, span.start), start: span.start, end: span.end });
  }

  protected alloc(node?: A.Expr): Reg {
    const r = this.free.shift();
    if (r === undefined) throw new OutOfRegisters(node);
    return r;
  }

  protected release(v: Val | Reg | undefined): void {
    if (v === undefined) return;
    const r = typeof v === 'number' ? v : v.reg;
    if (SCRATCH_REGS.includes(r) && !this.free.includes(r)) { this.free.unshift(r); this.free.sort((x, y) => x - y); }
  }

  protected resetTemps(): void { this.tmpNext = 0; }

  /** Stack slots (below fp-64) holding values spilled while a sub-expression needs registers. */
  protected spillDepth = 0;

  /** Moves a value to a stack slot, freeing its register (the verifier tracks spilled pointers). */
  protected spill(v: Val): { v: Val; slot: number } {
    if (this.spillDepth >= MAX_SPILLS) throw new LowerError('expression too complex: too many spilled values');
    const slot = -64 - 8 * this.spillDepth++;
    this.asm.stx(8, R10, slot, v.reg);
    this.release(v);
    return { v, slot };
  }

  protected unspill(s: { v: Val; slot: number }, node?: A.Expr): Val {
    const r = this.alloc(node);
    this.asm.ldx(8, r, R10, s.slot);
    this.spillDepth--;
    return { ...s.v, reg: r };
  }

  /** Evaluates `f` with `v` kept live (see `holding`). */
  protected keeping<T>(v: Val, f: () => T, node?: A.Expr): [Val, T] {
    const [[kept], r] = this.holding([v], f, node);
    return [kept!, r];
  }

  /**
   * Evaluates `f` with the values `held` kept live across it; returns them (in registers again,
   * not necessarily the same ones) and f's result. They stay in their registers while f finds
   * the registers it needs. When it runs out, f's code is dropped and lowered again with them
   * spilled to the clause's stack frame and reloaded after it, as dt_cg pushes values on its
   * stack (dt_cg_push_stack): a spill only where the registers do not suffice. A failure with
   * them spilled goes up to the holder of the next register out. `f` returns at most one value
   * in a register, so that the held ones (at most two) can be reloaded beside it.
   */
  protected holding<T>(held: Val[], f: () => T, node?: A.Expr): [Val[], T] {
    if (held.length === 0) return [held, f()];
    if (this.free.length > 0) {
      const rewind = this.checkpoint();
      try {
        return [held, f()];
      } catch (err) {
        if (!(err instanceof OutOfRegisters)) throw err;
        rewind();
      }
    }
    const slots = held.map((v) => this.spill(v));
    const r = f();
    const kept: Val[] = [];
    for (let i = slots.length - 1; i >= 0; i--) kept[i] = this.unspill(slots[i]!, node);
    return [kept, r];
  }

  /** The clause's lowering state now, and how to return to it (the code emitted since dropped). */
  private checkpoint(): () => void {
    const mark = this.asm.mark();
    const free = [...this.free], tmpNext = this.tmpNext, recOff = this.recOff, actions = this.actions.length, records = this.records;
    // (Clause-locals need no undoing: their layout is the program's, the same on a second attempt.)
    const spillDepth = this.spillDepth, keyDepth = this.keyDepth, xlateBindings = this.xlateBindings;
    return () => {
      this.asm.rewind(mark);
      this.free = [...free];
      this.tmpNext = tmpNext;
      this.recOff = recOff;
      this.actions.length = actions;
      this.records = records;
      this.spillDepth = spillDepth;
      this.keyDepth = keyDepth;
      this.xlateBindings = xlateBindings; // (its entries are restored on the way out: try/finally)
    };
  }

  /** Offset (in the scratch value) of a fresh temporary string slot. */
  protected tmpSlot(node?: A.Expr): number {
    const n = this.tmpNext++;
    if (n >= this.mem.ntmp) throw new LowerError('expression too complex: out of temporary strings', node);
    this.env.usage.tmpSlots = Math.max(this.env.usage.tmpSlots, n + 1);
    return this.mem.tmp + n * this.mem.strSlot;
  }

  /** Puts the firing probe's id in `r`: a constant, or mstate's prid in code shared by probes. */
  protected probeId(r: Reg): Asm {
    if (this.probe.shared) return this.asm.ldx(4, r, R9, MST.prid);
    return this.asm.mov(r, imm(this.probe.id));
  }

  /** Reserves `size` bytes of the record at natural alignment; returns the offset from the record start. */
  protected recField(size: number, align: number): number {
    this.recOff = (this.recOff + align - 1) & ~(align - 1);
    const off = this.recOff;
    this.recOff += size;
    return off;
  }

  protected fault(code: number, valueReg?: Reg): void {
    // Error record: header (prid, stid = 0xffffffff), faulting stid, fault code, value, pc.
    const a = this.asm;
    const base = this.mem.rec;
    const E = ErrorRecord;
    if (valueReg !== undefined) a.stx(8, R9, base + E.value, valueReg); else a.st(8, R9, base + E.value, 0);
    this.probeId(R1).stx(4, R9, base + E.prid, R1);
    a.mov(R1, imm(-1)).stx(4, R9, base + E.stid, R1); // StidSpecial.ERROR
    a.mov(R1, imm(this.stid)).stx(4, R9, base + E.faultingStid, R1);
    a.mov(R1, imm(code)).stx(4, R9, base + E.fault, R1);
    a.mov(R1, imm(a.insns.length)).stx(8, R9, base + E.pc, R1);
    a.ldMapFd(R1, 'ringbuf').mov(R2, R9).alu64('add', R2, imm(base)).mov(R3, imm(E.bytes)).mov(R4, imm(0)).call(Helper.ringbuf_output);
    a.ldMapValue(R1, 'state', STATE.errors).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    // A fault inside an ERROR clause does not fire ERROR again (dtrace-utils does the same).
    if (this.env.hasErrorClauses && !this.inError) a.mov(R1, R9).ldx(8, R2, R10, -8).callSub(ERROR_SUBPROGRAM);
    a.ja(this.end);
    this.env.recMax = Math.max(this.env.recMax, E.bytes);
  }

  protected typeOf(e: A.Expr): VType { return exprType(e, this.env.sym); }

  /** Truncates/extends a register holding a value of type t to its canonical 64-bit form. */
  protected normalize(reg: Reg, t: VType): void {
    if (t.t !== 'int' || t.size === 8) return;
    if (t.signed) this.asm.movsx(reg, reg, (t.size * 8) as 8 | 16 | 32);
    else if (t.size === 4) this.asm.mov32(reg, reg);
    else this.asm.alu64('and', reg, imm(t.size === 1 ? 0xff : 0xffff));
  }

  /** The checker's C type of `e`, or undefined when the checker did not type it. */
  protected ct(e: A.Expr): CType | undefined {
    const c = this.env.checked;
    if (!c) return undefined;
    const t = c.typeOf(e);
    return resolve(t).kind === 'void' ? undefined : t;
  }

  protected sym(e: A.Expr): SymbolRef | undefined {
    try { return this.env.checked.symbolOf(e); } catch { return undefined; }
  }

  /** Which memory a pointer-valued expression points into. */
  protected spaceOf(e: A.Expr, t?: CType): Space {
    const r = t && resolve(t);
    if (r?.kind === 'pointer' && r.space === 'user') return 'user';
    try { if (this.env.checked.isUserland(e)) return 'user'; } catch { /* untyped: kernel */ }
    return 'kernel';
  }

  /** Translator input bindings: inside a translator member's expression, its input name → the input expression. */
  protected xlateBindings: { name: string; expr: A.Expr }[] = [];

  /** Key areas in use by keys being built (a key's components may themselves be lookups). */
  protected keyDepth = 0;

  // Implemented by the layers that extend this one.
  protected abstract asStr(v: Val, node: A.Expr | undefined, space?: Space): Extract<Val, { t: 'str' }>;
  protected abstract storeStrAt(src: Reg): void;
  protected abstract tlsKey(v: VarInfo): void;
  protected abstract upsert(map: string, rekey: () => void, dropCounter?: number): void;
  protected abstract assocInfo(obj: A.Expr): VarInfo | undefined;
  protected abstract assocKey(info: VarInfo, indices: A.Expr[], thread: boolean): number;
  protected abstract evalInt(e: A.Expr): Extract<Val, { t: 'int' }>;
  protected abstract evalStr(e: A.Expr): Extract<Val, { t: 'str' }>;
  protected abstract expr(e: A.Expr, discard: boolean): Val | undefined;
  protected abstract aggregate(target: A.Expr, value: A.Expr): void;
  protected abstract call(e: A.Call): Val | undefined;
  protected abstract emitRecorded(call: A.Call, at: number, rt: Extract<VType, { t: 'obj' }>): void;
}

export function typeSize(t: VType, strsize: number): number {
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
