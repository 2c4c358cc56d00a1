/**
 * @fileoverview The D string library as BPF-to-BPF subprograms (dtrace-utils' bpf/*.S, written
 * here with the Asm DSL): strjoin, substr, index/rindex, strchr/strrchr, strstr, strtok,
 * toupper/tolower, basename/dirname/cleanpath, inet_ntoa/inet_ntoa6/inet_ntop, link_ntop and
 * the string comparison behind <, ==, ... . lower.ts calls them by name through STRING_SUBRS.
 *
 * Calling convention (the caller guarantees it): R1 = dst, a strSlot-byte region of the scratch
 * map value (unused for 'int' results); R2..R4 = the D arguments (a 'str' is a pointer to a
 * NUL-terminated string of at most strsize characters in kernel-readable memory); R5 = the
 * scratch map value's base. R0 on return: for 'str' results 1 = string written at dst, 0 = the
 * NULL string, < 0 = a fault, as the negated DTRACEFLT_* code (-1 BADADDR, -3 ILLOP); for 'int'
 * results the value itself. R6-R9 need no saving: across a BPF-to-BPF call the kernel keeps
 * the caller's, and the verifier starts the callee with them unset.
 *
 * How the verifier is kept cheap, at any strsize:
 * - Scanning is done by the kernel's string kfuncs (bpf_strstr, bpf_strchr, bpf_strspn, ...),
 *   not by byte loops; copying and truncation by bpf_probe_read_kernel_str, whose size argument
 *   is the only bound the verifier has to check.
 * - The few real loops run on bpf_iter_num and keep what changes from one iteration to the
 *   next in the scratch map, not in registers: a value loaded from a map is an unknown scalar,
 *   so every iteration starts in the same verifier state and the loop body is verified once or
 *   twice instead of once per possible iteration. Those values are re-bounded after each load.
 * - Number formatting (inet_*, link_ntop) is branch-free arithmetic, as dtrace-utils does it.
 * On kernels without the string kfuncs (before 6.17) each kfunc call becomes a call to its
 * plain-BPF stand-in (fallback.ts, through Frame.kfuncInt), and without bpf_iter_num (before
 * 6.4) loops are bounded loops the verifier walks (Frame.iterLoop); rindex and cleanpath then
 * take one-pass forms, since a scan nested in a walked loop would cost the verifier strsize².
 * Fixed-length byte work (toupper over words, address formatting) uses plain code.
 */
import { Asm, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, imm, type Insn, type Operand, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import { Fault, SUBR_SCRATCH_SLOTS, type MemLayout } from '../layout.js';
import { NEWEST_KERNEL, type KernelCaps } from '../../bpf/kernel-caps.js';
import { FALLBACK_KFUNCS, FALLBACK_SUBPROGRAMS, STRRSTR, buildFallback, fallbackName } from './fallback.js';

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

/** Address families and hardware types the network formatters accept (linux/socket.h, if_arp.h). */
const AF_INET = 2, AF_INET6 = 10;
const ARPHRD_ETHER = 1, ARPHRD_INFINIBAND = 32;

const SLASH = 0x2f, DOT = 0x2e, COLON = 0x3a;

// ---------------------------------------------------------------------------------------------
// Frame: locals on the stack, one return path.

const ITER_SLOT = -8; // struct bpf_iter_num (8 bytes)
const TEMP1 = -16, TEMP2 = -24; // locals of the functions that loop (below the iterator)
const MEMBASE = -32; // the scratch map value's base (R5 at entry), for calls to kfunc fallbacks

/** Whether `kernel` lacks a kfunc the string library calls (then the layout needs mem.subrFallback). */
export function needsStringFallback(kernel: KernelCaps): boolean {
  return FALLBACK_KFUNCS.some((k) => !kernel.kfuncs.has(k)) || !kernel.kfuncs.has('bpf_iter_num_new');
}

class Frame {
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
    this.fallbackArea(R3);
    this.a.callSub(fallbackName(name));
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

// ---------------------------------------------------------------------------------------------
// strjoin(a, b): a then b, truncated to strsize.

function buildStrjoin(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_strjoin', mem, kernel);
  const a = f.a, S = f.S, W0 = f.slot(0);
  f.scratchBase(R6);
  a.mov(R7, R1).mov(R8, R3);
  // Joined in working memory: the second copy's size (strsize+1 - len) and offset (len) are
  // both variable, and working memory has the 2*strsize+1 bytes the verifier wants for that.
  f.readStr(R6, W0, imm(S + 1), R2);
  const fault = f.label();
  a.jmp('jslt', R0, imm(1), fault);
  a.alu64('sub', R0, imm(1));
  f.clamp(R0, S);
  a.mov(R2, imm(S + 1)).alu64('sub', R2, R0);
  a.mov(R1, R6).alu64('add', R1, imm(W0)).alu64('add', R1, R0);
  a.mov(R3, R8).call(Helper.probe_read_kernel_str);
  a.jmp('jslt', R0, imm(1), fault);
  f.readStr(R7, 0, imm(S + 1), R6, imm(W0));
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// strcmp(a, b) -> <0, 0, >0 (bytes compared unsigned: the kernel's char is unsigned).

function buildStrcmp(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_strcmp', mem, kernel);
  f.a.mov(R1, R2).mov(R2, R3);
  f.kfuncInt('bpf_strcmp');
  f.retR0();
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// substr(s, idx [, cnt]) with dtrace-utils' rules (bpf/substr.S): idx and cnt are ints.

function buildSubstr(mem: MemLayout, withCount: boolean, kernel?: KernelCaps): Insn[] {
  const f = new Frame(withCount ? 'dt_substr3' : 'dt_substr2', mem, kernel);
  const a = f.a, S = f.S, W0 = f.slot(0);
  const empty = f.label(), checkIdx = f.label(), copy = f.label(), fault = f.label();
  f.scratchBase(R6);
  a.mov(R7, R1).movsx(R8, R3, 32); // R8 = idx
  if (withCount) a.movsx(R9, R4, 32); else a.mov(R9, imm(S)); // R9 = cnt
  f.readStr(R6, W0, imm(S + 1), R2); // a copy, and the length
  a.jmp('jslt', R0, imm(1), fault);
  a.alu64('sub', R0, imm(1)).mov(R4, R0); // R4 = len
  // A negative idx counts from the end; what lies before the start shortens cnt.
  a.jmp('jsge', R8, imm(0), checkIdx);
  a.alu64('add', R8, R4).jmp('jsge', R8, imm(0), checkIdx);
  a.mov(R0, imm(0)).alu64('sub', R0, R8); // -idx
  a.jmp('jsle', R9, R0, empty);
  a.alu64('add', R9, R8).mov(R8, imm(0));
  a.label(checkIdx).jmp('jsge', R8, R4, empty);
  // A negative cnt counts back from the end of the string.
  a.jmp('jsge', R9, imm(0), copy);
  a.mov(R0, R4).alu64('sub', R0, R8).alu64('add', R9, R0);
  a.jmp('jsle', R9, imm(0), empty);
  a.label(copy);
  f.clamp(R9, S);
  a.alu64('add', R9, imm(1));
  a.mov(R3, R6).alu64('add', R3, imm(W0)).alu64('add', R3, R8);
  f.readStr(R7, 0, R9, R3);
  f.ret(1);
  a.label(empty).st(1, R7, 0, 0);
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// index(s, t [, start]): lowest position >= max(start, 0) where t occurs, else -1.

function buildIndex(mem: MemLayout, withStart: boolean, kernel?: KernelCaps): Insn[] {
  const f = new Frame(withStart ? 'dt_index3' : 'dt_index2', mem, kernel);
  const a = f.a, S = f.S;
  const none = f.label(), haveStart = f.label();
  a.mov(R6, R2).mov(R7, R3); // s, t
  if (withStart) a.movsx(R8, R4, 32); else a.mov(R8, imm(0));
  a.jmp('jsge', R8, imm(0), haveStart).mov(R8, imm(0)).label(haveStart);
  a.mov(R1, R6).mov(R2, imm(S));
  f.kfuncInt('bpf_strnlen');
  a.jmp('jslt', R0, imm(0), none);
  a.jmp('jsgt', R8, R0, none); // start beyond the end
  a.mov(R1, R6).alu64('add', R1, R8).mov(R2, R7);
  f.kfuncInt('bpf_strstr');
  a.jmp('jslt', R0, imm(0), none);
  a.alu64('add', R0, R8);
  f.retR0();
  a.label(none);
  f.ret(-1);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// rindex(s, t [, start]): highest position <= start (default and cap: len(s) - len(t)) where t
// occurs, else -1; a negative start finds nothing. Found by scanning forward with bpf_strstr.

function buildRindex(mem: MemLayout, withStart: boolean, kernel?: KernelCaps): Insn[] {
  const f = new Frame(withStart ? 'dt_rindex3' : 'dt_rindex2', mem, kernel);
  const a = f.a, S = f.S;
  const none = f.label(), capped = f.label(), done = f.label();
  const NEXT = f.var16(0), BEST = f.var16(1); // next scan position; best match + 1 (0 = none)
  f.scratchBase(R6);
  a.mov(R8, R2).mov(R9, R3); // s, t
  if (withStart) a.movsx(R7, R4, 32).jmp('jslt', R7, imm(0), none);
  a.mov(R1, R8).mov(R2, imm(S));
  f.kfuncInt('bpf_strnlen');
  a.jmp('jslt', R0, imm(0), none);
  a.stx(8, R10, TEMP1, R0); // len(s)
  a.mov(R1, R9).mov(R2, imm(S));
  f.kfuncInt('bpf_strnlen');
  a.jmp('jslt', R0, imm(0), none);
  a.ldx(8, R1, R10, TEMP1).alu64('sub', R1, R0); // the last possible position
  a.jmp('jslt', R1, imm(0), none);
  if (withStart) a.jmp('jsle', R7, R1, capped);
  a.mov(R7, R1).label(capped); // R7 = start
  a.jmp('jeq', R0, imm(0), done); // an empty t occurs at start
  if (!f.has('bpf_strstr')) {
    // One Knuth–Morris–Pratt pass keeping the last match <= start (fallback.ts).
    a.mov(R1, R8).mov(R2, R9).mov(R4, R7);
    f.fallbackArea(R3);
    a.callSub(STRRSTR).jmp('jslt', R0, imm(0), none);
    f.retR0();
  } else {
  a.st(2, R6, NEXT, 0).st(2, R6, BEST, 0);
  f.iterLoop(S + 1, (brk) => {
    a.ldx(2, R1, R6, NEXT);
    a.jmp('jsgt', R1, R7, brk);
    a.stx(8, R10, TEMP1, R1);
    a.alu64('add', R1, R8).mov(R2, R9);
    f.kfuncInt('bpf_strstr');
    a.jmp('jslt', R0, imm(0), brk);
    a.ldx(8, R1, R10, TEMP1).alu64('add', R0, R1); // absolute position
    a.jmp('jsgt', R0, R7, brk);
    a.jmp('jsgt', R0, imm(S), brk);
    a.alu64('add', R0, imm(1)).stx(2, R6, BEST, R0).stx(2, R6, NEXT, R0);
  });
  a.ldx(2, R0, R6, BEST).alu64('sub', R0, imm(1));
  f.retR0();
  }
  a.label(done).mov(R0, R7);
  f.retR0();
  a.label(none);
  f.ret(-1);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// strchr/strrchr(s, c), strstr(s, t): the suffix from the match, or NULL. As in dtrace-utils,
// searching for '\0' finds nothing.

function buildCharSearch(mem: MemLayout, last: boolean, kernel?: KernelCaps): Insn[] {
  const f = new Frame(last ? 'dt_strrchr' : 'dt_strchr', mem, kernel);
  const a = f.a, S = f.S;
  const none = f.label();
  a.mov(R6, R1).mov(R7, R2); // dst, s
  a.mov(R2, R3).alu64('and', R2, imm(0xff)).jmp('jeq', R2, imm(0), none);
  a.mov(R1, R7);
  f.kfuncInt(last ? 'bpf_strrchr' : 'bpf_strchr');
  a.jmp('jslt', R0, imm(0), none);
  f.readStr(R6, 0, imm(S + 1), R7, R0);
  f.ret(1);
  a.label(none);
  f.ret(0);
  return f.finish();
}

function buildStrstr(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_strstr', mem, kernel);
  const a = f.a, S = f.S;
  const none = f.label();
  a.mov(R6, R1).mov(R7, R2);
  a.mov(R1, R2).mov(R2, R3);
  f.kfuncInt('bpf_strstr');
  a.jmp('jslt', R0, imm(0), none);
  f.readStr(R6, 0, imm(S + 1), R7, R0);
  f.ret(1);
  a.label(none);
  f.ret(0);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// strtok(s, delims). State at mem.strtok: u64 (next position + 1; 0 = no string yet), then a
// copy of the string being tokenised. s = NULL (R2 = 0) continues; with no state it faults.

function buildStrtok(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_strtok', mem, kernel);
  const a = f.a, S = f.S;
  const STATE = 0, TEXT = 8; // from R6 = the strtok region
  const cont = f.label(), fault = f.label(), exhausted = f.label();
  a.mov(R6, R5).alu64('add', R6, imm(mem.strtok)).mov(R7, R1).mov(R8, R3); // state, dst, delims
  a.jmp('jeq', R2, imm(0), cont);
  f.readStr(R6, TEXT, imm(S + 1), R2);
  a.jmp('jslt', R0, imm(1), fault);
  a.st(8, R6, STATE, 1);
  a.label(cont).ldx(8, R9, R6, STATE);
  a.jmp('jeq', R9, imm(STRTOK_STATE_NONE), fault);
  a.alu64('sub', R9, imm(1));
  f.clamp(R9, S); // R9 = position
  // Skip leading delimiters; the end of the string means no more tokens.
  a.mov(R1, R6).alu64('add', R1, imm(TEXT)).alu64('add', R1, R9).mov(R2, R8);
  f.kfuncInt('bpf_strspn');
  a.jmp('jslt', R0, imm(0), exhausted);
  a.alu64('add', R9, R0);
  f.clamp(R9, S);
  a.mov(R1, R6).alu64('add', R1, R9).ldx(1, R0, R1, TEXT);
  a.jmp('jeq', R0, imm(0), exhausted);
  // The token runs to the next delimiter.
  a.mov(R1, R6).alu64('add', R1, imm(TEXT)).alu64('add', R1, R9).mov(R2, R8);
  f.kfuncInt('bpf_strcspn');
  a.jmp('jslt', R0, imm(1), exhausted);
  f.clamp(R0, S);
  a.mov(R8, R0);
  a.mov(R2, R8).alu64('add', R2, imm(1));
  a.mov(R3, R6).alu64('add', R3, imm(TEXT)).alu64('add', R3, R9);
  f.readStr(R7, 0, R2, R3);
  a.alu64('add', R9, R8).alu64('add', R9, imm(1)).stx(8, R6, STATE, R9);
  f.ret(1);
  a.label(exhausted).alu64('add', R9, imm(1)).stx(8, R6, STATE, R9);
  f.ret(0);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// toupper/tolower(s): ASCII case mapping, eight bytes at a time without branches.

function buildCase(mem: MemLayout, upper: boolean, kernel?: KernelCaps): Insn[] {
  const f = new Frame(upper ? 'dt_toupper' : 'dt_tolower', mem, kernel);
  const a = f.a, S = f.S;
  const fault = f.label(), loop = f.label(), done = f.label();
  const first = upper ? 0x61 : 0x41, last = upper ? 0x7a : 0x5a;
  const bytes = (b: number): bigint => BigInt(b) * 0x0101010101010101n;
  a.mov(R6, R1);
  f.readStr(R6, 0, imm(S + 1), R2);
  a.jmp('jslt', R0, imm(1), fault);
  a.mov(R7, R0); // bytes copied, NUL included
  a.mov(R1, imm(0));
  a.label(loop).jmp('jge', R1, R7, done);
  a.jmp('jge', R1, imm(mem.strSlot), done);
  a.mov(R2, R6).alu64('add', R2, R1).ldx(8, R3, R2, 0); // w
  // A byte b < 0x80 is in [first, last] iff (b & 0x7f) + (0x80 - first) sets bit 7 and
  // (b & 0x7f) + (0x80 - last - 1) does not; no carry crosses into the next byte.
  a.ldImm64(R4, bytes(0x7f)).alu64('and', R4, R3);
  a.ldImm64(R5, bytes(0x80 - first)).alu64('add', R5, R4);
  a.ldImm64(R0, bytes(0x80 - last - 1)).alu64('add', R0, R4);
  a.alu64('xor', R0, imm(-1)).alu64('and', R5, R0);
  a.mov(R0, R3).alu64('xor', R0, imm(-1)).alu64('and', R5, R0);
  a.ldImm64(R4, bytes(0x80)).alu64('and', R5, R4);
  a.alu64('rsh', R5, imm(2)).alu64('xor', R3, R5); // flip 0x20 of the letters
  a.stx(8, R2, 0, R3);
  a.alu64('add', R1, imm(8)).ja(loop);
  a.label(done);
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// basename, dirname (POSIX rules, as the corpus's tst.basename0.d expects) and cleanpath.

/** Copies s (R2) into working slot 0; R0 = length, R6 = base; faults to `fault`. */
function copyIn(f: Frame, fault: string): void {
  f.readStr(R6, f.slot(0), imm(f.S + 1), R2);
  f.a.jmp('jslt', R0, imm(1), fault).alu64('sub', R0, imm(1));
  f.clamp(R0, f.S);
}

/** var16(0) = end: moved back over the '/' characters that end slot0[0..end). */
function stripTrailingSlashes(f: Frame): void {
  const a = f.a, END = f.var16(0), W0 = f.slot(0);
  f.iterLoop(f.S + 1, (brk) => {
    a.ldx(2, R1, R6, END);
    f.stayIf('jne', R1, imm(0), brk);
    f.stayIf('jle', R1, imm(f.S), brk);
    a.mov(R2, R6).alu64('add', R2, R1).ldx(1, R3, R2, W0 - 1);
    f.stayIf('jeq', R3, imm(SLASH), brk);
    a.alu64('sub', R1, imm(1)).stx(2, R6, END, R1);
  });
}

/** R1 = var16(0) bounded to [0, strsize]. */
function loadEnd(f: Frame): void {
  f.a.ldx(2, R1, R6, f.var16(0));
  f.clamp(R1, f.S);
}

/**
 * slot0[0..R0) is a path: end it before its trailing slashes (to `root` when nothing but
 * slashes is left); leaves R1 = the new end.
 */
function cutTrailingSlashes(f: Frame, root: string): void {
  const a = f.a;
  a.stx(2, R6, f.var16(0), R0);
  stripTrailingSlashes(f);
  loadEnd(f);
  a.jmp('jeq', R1, imm(0), root);
  a.alu64('add', R1, R6).st(1, R1, f.slot(0), 0);
}

/** The results basename and dirname share: "." (`dot`), "/" (`root`), and the fault. */
function pathEndings(f: Frame, dot: string, root: string, fault: string): void {
  const a = f.a;
  a.label(dot);
  f.writeConst(R7, '.');
  f.ret(1);
  a.label(root);
  f.writeConst(R7, '/');
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
}

function buildBasename(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_basename', mem, kernel);
  const a = f.a, W0 = f.slot(0);
  const fault = f.label(), dot = f.label(), root = f.label(), fromStart = f.label();
  f.scratchBase(R6);
  a.mov(R7, R1);
  copyIn(f, fault);
  a.jmp('jeq', R0, imm(0), dot);
  cutTrailingSlashes(f, root);
  a.mov(R1, R6).alu64('add', R1, imm(W0)).mov(R2, imm(SLASH));
  f.kfuncInt('bpf_strrchr');
  a.mov(R3, imm(0)).jmp('jslt', R0, imm(0), fromStart);
  a.mov(R3, R0).alu64('add', R3, imm(1));
  a.label(fromStart).alu64('add', R3, R6).alu64('add', R3, imm(W0));
  f.readStr(R7, 0, imm(f.S + 1), R3);
  f.ret(1);
  pathEndings(f, dot, root, fault);
  return f.finish();
}

function buildDirname(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_dirname', mem, kernel);
  const a = f.a, W0 = f.slot(0);
  const fault = f.label(), dot = f.label(), root = f.label();
  f.scratchBase(R6);
  a.mov(R7, R1);
  copyIn(f, fault);
  a.jmp('jeq', R0, imm(0), dot);
  cutTrailingSlashes(f, root);
  // The last component goes, then the slashes before it.
  a.mov(R1, R6).alu64('add', R1, imm(W0)).mov(R2, imm(SLASH));
  f.kfuncInt('bpf_strrchr');
  a.jmp('jslt', R0, imm(0), dot);
  cutTrailingSlashes(f, root);
  f.readStr(R7, 0, imm(f.S + 1), R6, imm(W0));
  f.ret(1);
  pathEndings(f, dot, root, fault);
  return f.finish();
}

/**
 * cleanpath(s): lexical clean-up, component by component (Go's path.Clean, except that "" stays
 * ""): empty and "." components go; ".." removes the previous component, stays at "/" when
 * rooted and is kept when nothing is left to remove in a relative path; "." when nothing is left.
 */
function buildCleanpath(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_cleanpath', mem, kernel);
  if (!(f.has('bpf_iter_num_new') && f.has('bpf_strspn') && f.has('bpf_strcspn') && f.has('bpf_strrchr'))) return buildCleanpathFlat(f);
  const a = f.a, S = f.S, W0 = f.slot(0), OUT = f.slot(1), DELIM = f.slot(2);
  const IN = f.var16(0), W = f.var16(1), DOTDOT = f.var16(2); // read position, out length, floor of ".." removal
  const fault = f.label(), emptyIn = f.label(), relative = f.label();
  f.scratchBase(R6);
  a.mov(R7, R1);
  copyIn(f, fault);
  a.jmp('jeq', R0, imm(0), emptyIn);
  a.st(2, R6, DELIM, SLASH); // "/\0": the delimiter set for bpf_strspn/bpf_strcspn
  a.st(2, R6, IN, 0).st(2, R6, W, 0).st(2, R6, DOTDOT, 0);
  a.ldx(1, R9, R6, W0).alu64('xor', R9, imm(SLASH)); // R9 = 0 when rooted
  a.jmp('jne', R9, imm(0), relative);
  a.st(1, R6, OUT, SLASH).st(2, R6, W, 1).st(2, R6, DOTDOT, 1);
  a.label(relative);
  f.iterLoop(S + 1, (brk) => {
    const next = f.label(), notDot = f.label(), dotdotDone = f.label(), push = f.label(), noSep = f.label();
    // R8 = start of the next component (leading slashes skipped).
    a.ldx(2, R8, R6, IN).jmp('jgt', R8, imm(S), brk);
    a.mov(R1, R6).alu64('add', R1, imm(W0)).alu64('add', R1, R8);
    a.mov(R2, R6).alu64('add', R2, imm(DELIM));
    f.kfuncInt('bpf_strspn');
    a.jmp('jslt', R0, imm(0), brk);
    a.alu64('add', R8, R0).jmp('jgt', R8, imm(S), brk);
    a.mov(R1, R6).alu64('add', R1, R8).ldx(1, R0, R1, W0).jmp('jeq', R0, imm(0), brk);
    a.mov(R1, R6).alu64('add', R1, imm(W0)).alu64('add', R1, R8);
    a.mov(R2, R6).alu64('add', R2, imm(DELIM));
    f.kfuncInt('bpf_strcspn');
    a.jmp('jslt', R0, imm(1), brk).jmp('jgt', R0, imm(S), brk);
    a.stx(8, R10, TEMP1, R0); // component length
    a.mov(R1, R8).alu64('add', R1, R0).stx(2, R6, IN, R1);
    // Classify: ".", "..", or a name.
    a.mov(R1, R6).alu64('add', R1, R8).ldx(1, R2, R1, W0);
    a.jmp('jne', R2, imm(DOT), push);
    a.jmp('jeq', R0, imm(1), next); // "."
    a.jmp('jne', R0, imm(2), push);
    a.ldx(1, R2, R1, W0 + 1).jmp('jne', R2, imm(DOT), push);
    // "..": back to the last '/' above the floor, or append ".." to a relative path.
    a.ldx(2, R1, R6, W).ldx(2, R2, R6, DOTDOT);
    f.clamp(R1, S);
    f.clamp(R2, S);
    a.jmp('jle', R1, R2, notDot);
    a.stx(8, R10, TEMP2, R2);
    a.alu64('add', R1, R6).st(1, R1, OUT, 0);
    a.mov(R1, R6).alu64('add', R1, imm(OUT)).mov(R2, imm(SLASH));
    f.kfuncInt('bpf_strrchr');
    a.ldx(8, R2, R10, TEMP2);
    a.jmp('jsgt', R0, R2, dotdotDone);
    a.mov(R0, R2);
    a.label(dotdotDone).stx(2, R6, W, R0).ja(next);
    a.label(notDot).jmp('jeq', R9, imm(0), next); // rooted: ".." at the root stays there
    a.jmp('jeq', R1, imm(0), noSep);
    a.mov(R3, R6).alu64('add', R3, R1).st(1, R3, OUT, SLASH).alu64('add', R1, imm(1));
    a.label(noSep);
    f.clamp(R1, S);
    a.mov(R3, R6).alu64('add', R3, R1).st(1, R3, OUT, DOT).st(1, R3, OUT + 1, DOT);
    a.alu64('add', R1, imm(2)).stx(2, R6, W, R1).stx(2, R6, DOTDOT, R1).ja(next);
    // A name: a '/' first unless the output is still empty ("" or the root's "/").
    const noSlash = f.label();
    a.label(push).ldx(2, R1, R6, W);
    f.clamp(R1, S);
    a.mov(R2, imm(0)).jmp('jne', R9, imm(0), noSlash + '.empty').mov(R2, imm(1));
    a.label(noSlash + '.empty').jmp('jeq', R1, R2, noSlash);
    a.mov(R3, R6).alu64('add', R3, R1).st(1, R3, OUT, SLASH).alu64('add', R1, imm(1));
    a.label(noSlash);
    f.clamp(R1, S);
    a.stx(2, R6, W, R1);
    a.ldx(8, R2, R10, TEMP1);
    f.clamp(R2, S);
    a.alu64('add', R1, R6).alu64('add', R1, imm(OUT));
    a.mov(R3, R6).alu64('add', R3, imm(W0)).alu64('add', R3, R8);
    a.call(Helper.probe_read_kernel);
    a.ldx(2, R1, R6, W).ldx(8, R2, R10, TEMP1).alu64('add', R1, R2).stx(2, R6, W, R1);
    a.label(next);
  });
  a.ldx(2, R1, R6, W);
  f.clamp(R1, S);
  const dot = f.label();
  a.jmp('jeq', R1, imm(0), dot);
  a.alu64('add', R1, R6).st(1, R1, OUT, 0);
  f.readStr(R7, 0, imm(S + 1), R6, imm(OUT));
  f.ret(1);
  a.label(dot);
  f.writeConst(R7, '.');
  f.ret(1);
  a.label(emptyIn).st(1, R7, 0, 0);
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

/**
 * cleanpath() for kernels without iterators and string kfuncs: the same rules in one pass over
 * the characters, a bounded loop the verifier walks once per position (nested scans would cost
 * it strsize²). Each component is handled at the '/' or NUL that ends it; the output offsets at
 * which names were appended are kept on a stack, so ".." pops instead of searching back for '/'.
 * All state lives in memory, so every path through one character meets the next one in the
 * same verifier state.
 */
function buildCleanpathFlat(f: Frame): Insn[] {
  const a = f.a, S = f.S, W0 = f.slot(0), OUT = f.slot(1);
  const W = f.var16(0), DOTDOT = f.var16(1), START = f.var16(2), DEPTH = f.var16(3);
  const ROOTED = 0; // u16 in the fallback area's variables (after the name stack)
  const STACK = 0; // u16 per pushed name, from R8 = the fallback area
  const VARS = 2 * f.mem.strSlot + 16;
  const fault = f.label(), emptyIn = f.label(), relative = f.label(), head = f.label(), done = f.label();
  f.scratchBase(R6);
  a.mov(R7, R1);
  copyIn(f, fault);
  a.jmp('jeq', R0, imm(0), emptyIn);
  f.fallbackArea(R8);
  a.st(2, R6, W, 0).st(2, R6, DOTDOT, 0).st(2, R6, START, 0).st(2, R6, DEPTH, 0).st(2, R8, VARS + ROOTED, 0);
  a.ldx(1, R1, R6, W0).jmp('jne', R1, imm(SLASH), relative);
  a.st(1, R6, OUT, SLASH).st(2, R6, W, 1).st(2, R6, DOTDOT, 1).st(2, R8, VARS + ROOTED, 1);
  a.label(relative).mov(R9, imm(0));
  a.label(head).jmp('jgt', R9, imm(S), done);
  {
    const next = f.label(), dotdot = f.label(), name = f.label(), noSep = f.label(), emptyOut = f.label();
    a.mov(R1, R6).alu64('add', R1, R9).ldx(1, R1, R1, W0).stx(8, R10, TEMP2, R1); // c
    a.jmp('jeq', R1, imm(0), next + '.end').jmp('jne', R1, imm(SLASH), next);
    a.label(next + '.end');
    // The component in[START..i).
    a.ldx(2, R2, R6, START);
    f.clampInLoop(R2, S);
    a.mov(R1, R9).alu64('add', R1, imm(1)).stx(2, R6, START, R1);
    a.mov(R3, R9).alu64('sub', R3, R2).jmp('jsle', R3, imm(0), next); // R3 = its length, R2 its start
    f.clampInLoop(R3, S);
    a.mov(R1, R6).alu64('add', R1, R2).ldx(1, R4, R1, W0);
    a.jmp('jne', R4, imm(DOT), name);
    a.jmp('jeq', R3, imm(1), next); // "."
    a.jmp('jne', R3, imm(2), name);
    a.ldx(1, R4, R1, W0 + 1).jmp('jeq', R4, imm(DOT), dotdot);
    // A name: remember where it starts, a '/' unless the output is still empty, then the name.
    a.label(name).ldx(2, R1, R6, W);
    f.clampInLoop(R1, S);
    a.ldx(2, R4, R6, DEPTH);
    f.clampInLoop(R4, S);
    a.mov(R5, R4).alu64('add', R5, imm(1)).stx(2, R6, DEPTH, R5);
    a.alu64('lsh', R4, imm(1)).alu64('add', R4, R8).stx(2, R4, STACK, R1);
    a.ldx(2, R4, R8, VARS + ROOTED).jmp('jeq', R1, R4, noSep);
    a.mov(R4, R6).alu64('add', R4, R1).st(1, R4, OUT, SLASH).alu64('add', R1, imm(1));
    f.clampInLoop(R1, S);
    a.label(noSep).mov(R4, R1).alu64('add', R4, R3).stx(2, R6, W, R4);
    a.alu64('add', R1, R6).alu64('add', R1, imm(OUT)).mov(R4, R2).mov(R2, R3);
    a.mov(R3, R6).alu64('add', R3, imm(W0)).alu64('add', R3, R4);
    a.call(Helper.probe_read_kernel).ja(next);
    // "..": back to where the last name started, or kept when there is none (relative paths).
    a.label(dotdot).ldx(2, R1, R6, W).ldx(2, R2, R6, DOTDOT);
    f.clampInLoop(R1, S);
    a.jmp('jle', R1, R2, emptyOut);
    a.ldx(2, R4, R6, DEPTH).jmp('jeq', R4, imm(0), next);
    a.alu64('sub', R4, imm(1)).stx(2, R6, DEPTH, R4);
    f.clampInLoop(R4, S);
    a.alu64('lsh', R4, imm(1)).alu64('add', R4, R8).ldx(2, R4, R4, STACK).stx(2, R6, W, R4).ja(next);
    a.label(emptyOut).ldx(2, R4, R8, VARS + ROOTED).jmp('jne', R4, imm(0), next);
    const first = f.label();
    a.jmp('jeq', R1, imm(0), first);
    a.mov(R4, R6).alu64('add', R4, R1).st(1, R4, OUT, SLASH).alu64('add', R1, imm(1));
    f.clampInLoop(R1, S);
    a.label(first).mov(R4, R6).alu64('add', R4, R1).st(1, R4, OUT, DOT).st(1, R4, OUT + 1, DOT);
    a.alu64('add', R1, imm(2)).stx(2, R6, W, R1).stx(2, R6, DOTDOT, R1);
    a.label(next).ldx(8, R1, R10, TEMP2).jmp('jeq', R1, imm(0), done);
    a.alu64('add', R9, imm(1)).ja(head);
  }
  a.label(done).ldx(2, R1, R6, W);
  f.clampInLoop(R1, S);
  const dot = f.label();
  a.jmp('jeq', R1, imm(0), dot);
  a.alu64('add', R1, R6).st(1, R1, OUT, 0);
  f.readStr(R7, 0, imm(S + 1), R6, imm(OUT));
  f.ret(1);
  a.label(dot);
  f.writeConst(R7, '.');
  f.ret(1);
  a.label(emptyIn).st(1, R7, 0, 0);
  f.ret(1);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// Network addresses. Text is built on the stack (byte stores, so variable offsets need no
// alignment) and copied to dst with truncation to strsize.

const NET_IN = -64; // 24 bytes of address (up to the 20 of InfiniBand)
const NET_OUT = -128; // 64 bytes of text

/**
 * Appends the dotted quad of the 4 bytes at [fp + inOff] at R8 (a stack pointer that advances),
 * each number followed by '.'; R8 ends one past the last '.'. Branch-free: a number's digits
 * are packed into a word and its leading zeros shifted out.
 */
function emitDottedQuad(a: Asm, inOff: number): void {
  for (let j = 0; j < 4; j++) {
    a.ldx(1, R0, R10, inOff + j);
    a.mov(R1, R0).alu64('div', R1, imm(100)).alu64('add', R1, imm(0x30));
    a.mov(R2, R0).alu64('div', R2, imm(10)).alu64('mod', R2, imm(10)).alu64('add', R2, imm(0x30));
    a.mov(R3, R0).alu64('mod', R3, imm(10)).alu64('add', R3, imm(0x30));
    // digits = 1 + (b >= 10) + (b >= 100), each test as a carry into bit 8
    a.mov(R4, R0).alu64('add', R4, imm(256 - 10)).alu64('rsh', R4, imm(8));
    a.alu64('add', R0, imm(256 - 100)).alu64('rsh', R0, imm(8)).alu64('add', R4, R0).alu64('add', R4, imm(1));
    a.alu64('lsh', R2, imm(8)).alu64('or', R1, R2).alu64('lsh', R3, imm(16)).alu64('or', R1, R3);
    a.alu64('or', R1, imm(DOT << 24));
    a.mov(R2, imm(3)).alu64('sub', R2, R4).alu64('lsh', R2, imm(3)).alu64('rsh', R1, R2);
    for (let k = 0; k < 4; k++) {
      a.stx(1, R8, k, R1);
      if (k < 3) a.alu64('rsh', R1, imm(8));
    }
    a.alu64('add', R8, R4).alu64('add', R8, imm(1));
  }
}

/** Reads `n` bytes at R2 into [fp + NET_IN]; faults (BADADDR) to `fault`. */
function readAddress(f: Frame, n: number, fault: string): void {
  f.a.mov(R3, R2).mov(R2, imm(n)).mov(R1, R10).alu64('add', R1, imm(NET_IN)).call(Helper.probe_read_kernel);
  f.a.jmp('jne', R0, imm(0), fault);
}

/** Copies the text at [fp + NET_OUT] to dst (R7), truncated; returns 1. */
function copyOut(f: Frame): void {
  f.a.mov(R3, R10).alu64('add', R3, imm(NET_OUT));
  f.readStr(R7, 0, imm(f.S + 1), R3);
  f.ret(1);
}

function buildInetNtoa(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_inet_ntoa', mem, kernel);
  const a = f.a;
  const fault = f.label();
  a.mov(R7, R1);
  readAddress(f, 4, fault);
  a.mov(R8, R10).alu64('add', R8, imm(NET_OUT));
  emitDottedQuad(a, NET_IN);
  a.st(1, R8, -1, 0); // the last '.' ends the string
  copyOut(f);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

/**
 * inet_ntoa6(addr, strict): RFC 5952 text with dtrace-utils' IPv4 rules (5 zero groups and
 * ffff = mapped; 6 zero groups and not :: or ::1 = compatible); the IPv4 forms print only the
 * dotted quad unless `strict` is non-zero, which keeps the "::ffff:" or "::" prefix.
 */
function buildInetNtoa6(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_inet_ntoa6', mem, kernel);
  const a = f.a;
  const V_S = -8, V_E = -16, V_SZERO = -24, V_KEEP = -32, V_STRICT = -40;
  const fault = f.label(), ipv4 = f.label(), mapped = f.label(), notIpv4 = f.label(), quad = f.label();
  a.mov(R7, R1).stx(8, R10, V_STRICT, R3);
  readAddress(f, 16, fault);
  a.mov(R8, R10).alu64('add', R8, imm(NET_OUT));
  // R9 = bitmap of zero groups (bit i = group i).
  const group = (dst: Reg, i: number): void => {
    a.ldx(1, dst, R10, NET_IN + 2 * i).alu64('lsh', dst, imm(8)).ldx(1, R5, R10, NET_IN + 2 * i + 1).alu64('or', dst, R5);
  };
  a.mov(R9, imm(0));
  for (let i = 0; i < 8; i++) {
    group(R0, i);
    a.alu64('sub', R0, imm(1)).alu64('rsh', R0, imm(63)).alu64('lsh', R0, imm(i)).alu64('or', R9, R0);
  }
  // IPv4 embeddings.
  a.mov(R0, R9).alu64('and', R0, imm(0x1f)).jmp('jne', R0, imm(0x1f), notIpv4);
  group(R0, 5);
  a.jmp('jeq', R0, imm(0xffff), mapped);
  a.jmp('jne', R0, imm(0), notIpv4);
  group(R0, 6);
  a.jmp('jne', R0, imm(0), ipv4);
  group(R0, 7);
  a.jmp('jgt', R0, imm(1), ipv4);
  a.ja(notIpv4);
  a.label(mapped).ldx(8, R0, R10, V_STRICT).jmp('jeq', R0, imm(0), quad);
  for (const [k, c] of [...'::ffff:'].entries()) a.st(1, R8, k, c.charCodeAt(0));
  a.alu64('add', R8, imm(7)).ja(quad);
  a.label(ipv4).ldx(8, R0, R10, V_STRICT).jmp('jeq', R0, imm(0), quad);
  a.st(1, R8, 0, COLON).st(1, R8, 1, COLON).alu64('add', R8, imm(2));
  a.label(quad);
  emitDottedQuad(a, NET_IN + 12);
  a.st(1, R8, -1, 0);
  copyOut(f);

  // The longest run of zero groups, leftmost on ties: m_k has bit i set when groups i..i+k-1
  // are all zero; the run length L is the number of non-zero m_k, its start the lowest bit of
  // m_L. (x != 0 for x <= 0xff is (x + 0xff) >> 8.)
  a.label(notIpv4);
  a.mov(R1, R9); // m_k
  a.mov(R2, R9).alu64('add', R2, imm(0xff)).alu64('rsh', R2, imm(8)); // L
  a.mov(R3, R9); // m_L so far
  for (let k = 2; k <= 8; k++) {
    a.mov(R4, R9).alu64('rsh', R4, imm(k - 1)).alu64('and', R1, R4);
    a.mov(R4, R1).alu64('add', R4, imm(0xff)).alu64('rsh', R4, imm(8)).alu64('add', R2, R4);
    a.mov(R5, imm(0)).alu64('sub', R5, R4); // all ones when m_k != 0
    a.mov(R0, R3).alu64('xor', R0, R1).alu64('and', R0, R5).alu64('xor', R3, R0);
  }
  a.mov(R4, imm(0)).alu64('sub', R4, R3).alu64('and', R4, R3).alu64('and', R4, imm(0xff)); // lowest bit
  const bitTest = (mask: number, weight: number): void => {
    a.mov(R5, R4).alu64('and', R5, imm(mask)).alu64('add', R5, imm(0xff)).alu64('rsh', R5, imm(8));
    if (weight > 1) a.alu64('mul', R5, imm(weight));
    a.alu64('add', R0, R5);
  };
  a.mov(R0, imm(0));
  bitTest(0xf0, 4);
  bitTest(0xcc, 2);
  bitTest(0xaa, 1); // R0 = start
  // Only runs of two or more are compressed; otherwise start = end = 8.
  a.mov(R5, R2).alu64('add', R5, imm(14)).alu64('rsh', R5, imm(4)); // comp
  a.alu64('sub', R0, imm(8)).alu64('mul', R0, R5).alu64('add', R0, imm(8)).stx(8, R10, V_S, R0);
  a.alu64('mul', R2, R5).alu64('add', R2, R0).stx(8, R10, V_E, R2);
  a.alu64('sub', R0, imm(1)).alu64('rsh', R0, imm(63)).stx(8, R10, V_SZERO, R0); // start == 0
  a.alu64('xor', R2, imm(8)).alu64('sub', R2, imm(1)).alu64('rsh', R2, imm(63)).alu64('and', R2, R5);
  a.stx(8, R10, V_KEEP, R2); // a run reaching the end keeps its trailing ':'
  for (let i = 0; i < 8; i++) {
    group(R9, i);
    // R1 = the hex digits (most significant first) then ':', packed little-endian.
    a.mov(R1, imm(0));
    for (let n = 0; n < 4; n++) {
      a.mov(R2, R9).alu64('rsh', R2, imm(12 - 4 * n)).alu64('and', R2, imm(0xf));
      a.mov(R3, imm(9)).alu64('sub', R3, R2).alu64('rsh', R3, imm(63)).alu64('mul', R3, imm(0x61 - 0x30 - 10));
      a.alu64('add', R2, R3).alu64('add', R2, imm(0x30)).alu64('lsh', R2, imm(8 * n)).alu64('or', R1, R2);
    }
    a.ldImm64(R2, BigInt(COLON) << 32n).alu64('or', R1, R2);
    // R4 = digits = 1 + (g >= 0x10) + (g >= 0x100) + (g >= 0x1000)
    a.mov(R4, imm(1));
    for (const k of [0x10, 0x100, 0x1000]) a.mov(R2, R9).alu64('add', R2, imm(0x10000 - k)).alu64('rsh', R2, imm(16)).alu64('add', R4, R2);
    a.mov(R2, imm(4)).alu64('sub', R2, R4).alu64('lsh', R2, imm(3)).alu64('rsh', R1, R2);
    for (let k = 0; k < 5; k++) {
      a.stx(1, R8, k, R1);
      if (k < 4) a.alu64('rsh', R1, imm(8));
    }
    // inRun = start <= i < end; text counts only outside it (`and`: pre-6.10 verifiers lose products' ranges).
    a.ldx(8, R2, R10, V_S).alu64('sub', R2, imm(i + 1)).alu64('rsh', R2, imm(63));
    a.mov(R3, imm(i)).ldx(8, R5, R10, V_E).alu64('sub', R3, R5).alu64('rsh', R3, imm(63)).alu64('and', R2, R3);
    a.mov(R3, imm(1)).alu64('sub', R3, R2).alu64('add', R4, imm(1)).alu64('mul', R4, R3).alu64('and', R4, imm(7)).alu64('add', R8, R4);
    // The run's first group writes ':' ("::" at the very start).
    a.st(1, R8, 0, COLON).st(1, R8, 1, COLON);
    a.ldx(8, R2, R10, V_S).alu64('xor', R2, imm(i)).alu64('sub', R2, imm(1)).alu64('rsh', R2, imm(63));
    a.ldx(8, R3, R10, V_SZERO).alu64('add', R3, imm(1)).alu64('mul', R2, R3).alu64('and', R2, imm(3)).alu64('add', R8, R2);
  }
  a.ldx(8, R2, R10, V_KEEP).alu64('and', R2, imm(1)).alu64('add', R8, imm(-1)).alu64('add', R8, R2); // no 'sub' on a stack pointer
  a.st(1, R8, 0, 0);
  copyOut(f);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

/** inet_ntop(af, addr): AF_INET as inet_ntoa, AF_INET6 as strict inet_ntoa6, else ILLOP. */
function buildInetNtop(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_inet_ntop', mem, kernel);
  const a = f.a;
  const v6 = f.label(), illop = f.label();
  a.mov(R0, R2).mov(R2, R3);
  a.jmp('jeq', R0, imm(AF_INET6), v6);
  a.jmp('jne', R0, imm(AF_INET), illop);
  a.callSub('dt_inet_ntoa');
  f.retR0();
  a.label(v6).mov(R3, imm(1)).callSub('dt_inet_ntoa6');
  f.retR0();
  a.label(illop);
  f.ret(SubrFault.ILLOP);
  return f.finish();
}

/** link_ntop(hwtype, addr): colon-separated lowercase hex of 6 (Ethernet) or 20 (InfiniBand) bytes. */
function buildLinkNtop(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_link_ntop', mem, kernel);
  const a = f.a;
  const fault = f.label(), ib = f.label(), illop = f.label();
  a.mov(R7, R1);
  a.jmp('jeq', R2, imm(ARPHRD_INFINIBAND), ib);
  a.jmp('jne', R2, imm(ARPHRD_ETHER), illop);
  const format = (n: number): void => {
    a.mov(R2, R3);
    readAddress(f, n, fault);
    for (let i = 0; i < n; i++) {
      a.ldx(1, R1, R10, NET_IN + i);
      for (const [shift, k] of [[4, 0], [0, 1]] as const) {
        a.mov(R2, R1);
        if (shift) a.alu64('rsh', R2, imm(shift));
        a.alu64('and', R2, imm(0xf));
        a.mov(R3, imm(9)).alu64('sub', R3, R2).alu64('rsh', R3, imm(63)).alu64('mul', R3, imm(0x61 - 0x30 - 10));
        a.alu64('add', R2, R3).alu64('add', R2, imm(0x30)).stx(1, R10, NET_OUT + 3 * i + k, R2);
      }
      a.st(1, R10, NET_OUT + 3 * i + 2, i === n - 1 ? 0 : COLON);
    }
    copyOut(f);
  };
  format(6);
  a.label(ib);
  format(20);
  a.label(illop);
  f.ret(SubrFault.ILLOP);
  a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------

const subr = (name: string, params: ('str' | 'int')[], returns: 'str' | 'int', build: (mem: MemLayout, kernel?: KernelCaps) => Insn[], calls?: string[]): Subroutine =>
  (calls ? { name, params, returns, build, calls } : { name, params, returns, build });

/** The string subroutines, by D name (plus arity where it varies). */
export const STRING_SUBRS: Record<string, Subroutine> = {
  strjoin: subr('dt_strjoin', ['str', 'str'], 'str', buildStrjoin),
  strcmp: subr('dt_strcmp', ['str', 'str'], 'int', buildStrcmp),
  'substr/2': subr('dt_substr2', ['str', 'int'], 'str', (m, k) => buildSubstr(m, false, k)),
  'substr/3': subr('dt_substr3', ['str', 'int', 'int'], 'str', (m, k) => buildSubstr(m, true, k)),
  'index/2': subr('dt_index2', ['str', 'str'], 'int', (m, k) => buildIndex(m, false, k)),
  'index/3': subr('dt_index3', ['str', 'str', 'int'], 'int', (m, k) => buildIndex(m, true, k)),
  'rindex/2': subr('dt_rindex2', ['str', 'str'], 'int', (m, k) => buildRindex(m, false, k)),
  'rindex/3': subr('dt_rindex3', ['str', 'str', 'int'], 'int', (m, k) => buildRindex(m, true, k)),
  strchr: subr('dt_strchr', ['str', 'int'], 'str', (m, k) => buildCharSearch(m, false, k)),
  strrchr: subr('dt_strrchr', ['str', 'int'], 'str', (m, k) => buildCharSearch(m, true, k)),
  strstr: subr('dt_strstr', ['str', 'str'], 'str', buildStrstr),
  strtok: subr('dt_strtok', ['str', 'str'], 'str', buildStrtok),
  toupper: subr('dt_toupper', ['str'], 'str', (m, k) => buildCase(m, true, k)),
  tolower: subr('dt_tolower', ['str'], 'str', (m, k) => buildCase(m, false, k)),
  basename: subr('dt_basename', ['str'], 'str', buildBasename),
  dirname: subr('dt_dirname', ['str'], 'str', buildDirname),
  cleanpath: subr('dt_cleanpath', ['str'], 'str', buildCleanpath),
  inet_ntoa: subr('dt_inet_ntoa', ['int'], 'str', buildInetNtoa),
  inet_ntoa6: subr('dt_inet_ntoa6', ['int', 'int'], 'str', buildInetNtoa6),
  inet_ntop: subr('dt_inet_ntop', ['int', 'int'], 'str', buildInetNtop, ['dt_inet_ntoa', 'dt_inet_ntoa6']),
  link_ntop: subr('dt_link_ntop', ['int', 'int'], 'str', buildLinkNtop),
};

/** Subroutines by subprogram name (for the linker's Subprograms.get). */
export function stringSubprograms(mem: MemLayout, kernel: KernelCaps | (() => KernelCaps) = NEWEST_KERNEL): { get(name: string): Insn[] | undefined } {
  const byName = new Map(Object.values(STRING_SUBRS).map((s) => [s.name, s]));
  const fallbacks = new Set(FALLBACK_SUBPROGRAMS);
  const built = new Map<string, Insn[]>();
  let caps: KernelCaps | undefined;
  const kernelCaps = (): KernelCaps => (caps ??= typeof kernel === 'function' ? kernel() : kernel);
  return {
    get(name) {
      const s = byName.get(name);
      if (!s && !fallbacks.has(name)) return undefined;
      let insns = built.get(name);
      if (!insns) built.set(name, (insns = s ? s.build(mem, kernelCaps()) : buildFallback(name, mem)!));
      return insns;
    },
  };
}
