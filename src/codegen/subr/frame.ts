/**
 * @fileoverview What every string subroutine is built with: the Subroutine contract, the fault
 * statuses, and Frame (locals on the stack, one return path, kfunc calls or their plain-BPF
 * stand-ins, loops on bpf_iter_num or bounded). strings.ts and net.ts build on it.
 */
import { Asm, R0, R1, R2, R3, R5, R10, imm, type Insn, type Operand, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import { Fault, SUBR_SCRATCH_SLOTS, type MemLayout } from '../layout.js';
import { NEWEST_KERNEL, type KernelCaps } from '../../bpf/kernel-caps.js';
import { FALLBACK_KFUNCS, FALLBACK_PARAMS, fallbackCopyOffset, fallbackName } from './fallback.js';

export interface Subroutine {
  /** Subprogram name, used with Asm.callSub(name); unique, e.g. 'dt_strjoin'. */
  name: string;
  /** D argument kinds in order (at most 3): 'str' = pointer to a D string, 'int' = 64-bit integer/pointer. */
  params: ('str' | 'int')[];
  /** What R0 means on return: 'str' = status (1 = result written at dst, 0 = NULL result, <0 = fault),
   *  'int' = the integer result (faults impossible). */
  returns: 'str' | 'int';
  /** The body; first instruction is the entry. `kernel` decides kfunc or plain-BPF fallback (fallback.ts). */
  build(mem: MemLayout, kernel?: KernelCaps): Insn[];
  /** Other subprograms of this file it calls. */
  calls?: string[];
}

/** Fault statuses a 'str' subroutine returns: the negated DTRACEFLT_* code. */
export const SubrFault = { BADADDR: -Fault.BADADDR, ILLOP: -Fault.ILLOP } as const;

/** Storing a 0 u64 at `mem.strtok` forgets strtok()'s state (then strtok(NULL, d) faults). */
export const STRTOK_STATE_NONE = 0;

export const SLASH = 0x2f, DOT = 0x2e, COLON = 0x3a;

// ---------------------------------------------------------------------------------------------
// Frame: locals on the stack, one return path.

const ITER_SLOT = -8; // struct bpf_iter_num (8 bytes)
export const TEMP1 = -16, TEMP2 = -24; // locals of the functions that loop (below the iterator)
const MEMBASE = -32; // the scratch map value's base (R5 at entry), for calls to kfunc fallbacks
const FALLBACK_ARGS = [-40, -48, -56]; // a kfunc fallback's arguments while its strings are copied

/** Whether `kernel` lacks a kfunc the string library calls (then the layout needs mem.subrFallback). */
export function needsStringFallback(kernel: KernelCaps): boolean {
  return FALLBACK_KFUNCS.some((k) => !kernel.kfuncs.has(k)) || !kernel.kfuncs.has('bpf_iter_num_new');
}

export class Frame {
  readonly a: Asm;
  readonly S: number;
  private readonly retLabel: string;
  constructor(name: string, readonly mem: MemLayout, readonly kernel: KernelCaps = NEWEST_KERNEL) {
    this.a = new Asm(name);
    this.S = mem.strsize;
    this.retLabel = this.a.newLabel('ret');
    if (needsStringFallback(kernel)) this.a.stx(8, R10, MEMBASE, R5);
  }
  /** Whether the kernel has kfunc `name`. */
  has(name: string): boolean { return this.kernel.kfuncs.has(name); }
  /**
   * reg = the working memory's start. Everything there is then addressed with small offsets:
   * a load or store offset is a signed 16-bit field, and with strsize 1024 the working memory
   * itself starts beyond 32767 bytes into the value.
   */
  scratchBase(reg: Reg): void { this.a.mov(reg, R5).alu64('add', reg, imm(this.mem.subrScratch)); }
  /** Offset from the working memory's start of working slot k (strSlot bytes each). */
  slot(k: number): number { return k * this.mem.strSlot; }
  /** Offset of u16 variable k; variables live in the last working slot (at least 8 bytes). */
  var16(k: number): number {
    if (k >= 4) throw new RangeError('at most 4 u16 variables');
    return this.slot(SUBR_SCRATCH_SLOTS - 1) + 2 * k;
  }
  label(): string { return this.a.newLabel(); }
  /**
   * Leaves a loop (to `brk`) unless `reg op src`, the exit on the fall-through: the verifier
   * keeps a branch's other side pending while it walks the fall-through, so an exit taken as
   * the jump would stay pending through every later iteration of a bounded loop.
   */
  stayIf(op: 'jlt' | 'jle' | 'jne' | 'jeq', reg: Reg, src: Operand, brk: string): void {
    const stay = this.label();
    this.a.jmp(op, reg, src, stay).ja(brk).label(stay);
  }
  /** R0 = value; return. */
  ret(value: number): void { this.a.mov(R0, imm(value)).ja(this.retLabel); }
  /** Return with R0 as it is. */
  retR0(): void { this.a.ja(this.retLabel); }
  finish(): Insn[] {
    this.a.label(this.retLabel).exit();
    for (const emit of this.outOfLine) emit();
    return this.a.insns;
  }
  /** R0 = bpf_probe_read_kernel_str(R1 = dstBase + dstOff, size, src [+ srcAdd]). */
  readStr(dstBase: Reg, dstOff: number, size: Operand, src: Reg, srcAdd?: Operand): void {
    const a = this.a;
    if (src !== R3) a.mov(R3, src);
    if (srcAdd !== undefined) a.alu64('add', R3, srcAdd);
    if (size !== R2) a.mov(R2, size);
    a.mov(R1, dstBase);
    if (dstOff) a.alu64('add', R1, imm(dstOff));
    a.call(Helper.probe_read_kernel_str);
  }
  /**
   * Calls string kfunc `name` (arguments in R1, R2) and sign-extends R0 (the callee leaves bits
   * 32-63 undefined) — or, on a kernel without it, its plain-BPF stand-in (fallback.ts).
   */
  kfuncInt(name: string): void {
    if (this.has(name)) { this.a.callKfunc(name).movsx(R0, R0, 32); return; }
    this.callFallback(fallbackName(name));
  }
  /**
   * Calls plain-BPF stand-in `name` (fallback.ts) with its arguments in R1, R2 (, R3) as the
   * kfunc takes them: its string arguments are copied into the work area here, so that it takes
   * only the area and scalars (R1 = the area, R2.. = each copy's return or the integer) and can
   * be verified once as a global function. R0 = what the kfunc would return.
   */
  callFallback(name: string): void {
    const a = this.a, params = FALLBACK_PARAMS[name];
    if (!params) throw new Error(`no plain-BPF stand-in ${name}`);
    params.forEach((_, k) => a.stx(8, R10, FALLBACK_ARGS[k]!, R1 + k));
    let copies = 0;
    params.forEach((kind, k) => {
      if (kind !== 'str') return;
      this.fallbackArea(R1);
      a.alu64('add', R1, imm(fallbackCopyOffset(copies++, this.mem))).mov(R2, imm(this.S + 1)).ldx(8, R3, R10, FALLBACK_ARGS[k]!);
      a.call(Helper.probe_read_kernel_str).stx(8, R10, FALLBACK_ARGS[k]!, R0);
    });
    this.fallbackArea(R1);
    params.forEach((_, k) => a.ldx(8, R2 + k, R10, FALLBACK_ARGS[k]!));
    // A global function's result is an unknown 64-bit scalar to the caller; sign-extended from
    // 32 bits it has the kfunc's range, which the callers' pointer arithmetic relies on.
    a.callSub(name).movsx(R0, R0, 32);
  }
  /** reg = the kfunc fallbacks' work area (needs the base saved at entry). */
  fallbackArea(reg: Reg): void { this.a.ldx(8, reg, R10, MEMBASE).alu64('add', reg, imm(this.mem.subrFallback)); }
  /** if (reg > max) reg = max (unsigned), so the verifier knows reg <= max. */
  clamp(reg: Reg, max: number): void {
    // The capping is out of line, after the exit: the verifier walks a branch's fall-through
    // first, so the general case (reg <= max, a range) is verified first and the capped one
    // (a constant within that range) is then pruned where the two meet, instead of each
    // carrying its own copy of everything after.
    const ok = this.label(), cap = this.label();
    this.a.jmp('jgt', reg, imm(max), cap).label(ok);
    this.outOfLine.push(() => this.a.label(cap).mov(reg, imm(max)).ja(ok));
  }
  private readonly outOfLine: (() => void)[] = [];
  /**
   * clamp() inline, for the bodies of bounded loops: there an out-of-line cap would stay
   * pending through every later iteration (the verifier allows 8192 pending branches).
   */
  clampInLoop(reg: Reg, max: number): void {
    const ok = this.label();
    this.a.jmp('jle', reg, imm(max), ok).mov(reg, imm(max)).label(ok);
  }
  /** Writes the constant string `text` (at most 7 bytes) plus NUL at [reg + 0]. */
  writeConst(reg: Reg, text: string): void {
    const bytes = [...Buffer.from(text, 'latin1'), 0];
    bytes.forEach((b, i) => this.a.st(1, reg, i, b));
  }
  /**
   * A loop of at most `count` iterations on bpf_iter_num (no verifier walk per iteration).
   * `body` may jump to `brk` to leave the loop; R0-R5 do not survive an iteration.
   */
  iterLoop(count: number, body: (brk: string) => void): void {
    const a = this.a;
    const head = this.label(), done = this.label();
    if (!this.has('bpf_iter_num_new')) {
      // Without iterators (before 6.4): a bounded loop the verifier walks iteration by
      // iteration, its counter on the stack (a known constant), so keep `count` × body small.
      a.st(8, R10, ITER_SLOT, 0);
      a.label(head).ldx(8, R1, R10, ITER_SLOT).jmp('jge', R1, imm(count), done);
      a.alu64('add', R1, imm(1)).stx(8, R10, ITER_SLOT, R1);
      body(done);
      a.ja(head).label(done);
      return;
    }
    a.mov(R1, R10).alu64('add', R1, imm(ITER_SLOT)).mov(R2, imm(0)).mov(R3, imm(count)).callKfunc('bpf_iter_num_new');
    a.label(head).mov(R1, R10).alu64('add', R1, imm(ITER_SLOT)).callKfunc('bpf_iter_num_next');
    a.jmp('jeq', R0, imm(0), done);
    body(done);
    a.ja(head);
    a.label(done).mov(R1, R10).alu64('add', R1, imm(ITER_SLOT)).callKfunc('bpf_iter_num_destroy');
  }
}
