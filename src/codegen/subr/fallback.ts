/**
 * @fileoverview Plain-BPF stand-ins for the string kfuncs (bpf_strcmp, bpf_strnlen, bpf_strchr,
 * bpf_strrchr, bpf_strstr, bpf_strspn, bpf_strcspn: Linux 6.17), for kernels without them
 * (5.15 … 6.16), as dtrace-utils' hand-written BPF does for 5.x kernels. Each is a BPF-to-BPF
 * subprogram `dt_f_<name>` that strings.ts calls where it would call the kfunc (Frame.kfuncInt).
 *
 * Calling convention: R1 = the fallback work area (mem.subrFallback, a pointer into the scratch
 * map value); R2, R3, R4 = the kfunc's arguments (FALLBACK_PARAMS), where a string argument is
 * already copied into the work area by the caller (Frame.callFallback: the first string at A,
 * the second at B, with bpf_probe_read_kernel_str) and what is passed is that copy's return
 * (its length + 1, or < 1 when the string could not be read); an integer argument is passed as
 * is. dt_f_strrstr (rindex) takes the upper bound on the match position as its third argument.
 * R0 = what the kfunc returns, as a 64-bit value (-EFAULT when a string cannot be read,
 * -ENOENT when nothing is found).
 *
 * Nothing but the work area and scalars comes in, so each stand-in can be loaded as a BTF global
 * function (FALLBACK_PROTOTYPES; runtime/func-info.ts), which the verifier checks once, on its
 * own, instead of at every call site: there the area is a pointer to memory of its size that may
 * be NULL, and the arguments unknown scalars. Kernels that refuse that load them as static
 * subprograms, the same instructions.
 *
 * How the verifier is kept cheap without iterators (5.15 has neither bpf_iter_num nor bpf_loop):
 * - The strings are first copied into the work area (by the caller), which gives their lengths
 *   and makes every later load a plain bounded load from the area.
 * - Every loop is a bounded loop whose only register-held induction value is its counter, a
 *   known constant the verifier walks through; whatever else changes from one iteration to the
 *   next (match positions, KMP state) lives in the work area, so all paths through one
 *   iteration reach the next one in the same state and are pruned there. The verifier's cost is
 *   then the loop bound times the body, never a product of two loop bounds: substring search is
 *   Knuth–Morris–Pratt (at most 2·len iterations) and span sets are a 256-bit bitmap.
 * - Comparison goes eight bytes at a time.
 */
import { Asm, Class, AluOp, Src, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, imm, type Insn, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import { FALLBACK_SLOTS, fallbackBytes, fallbackSpan, type MemLayout } from '../layout.js';
import type { GlobalPrototype } from '../../bpf/btf/func-info.js';

const EFAULT = 14, ENOENT = 2;
/** Offset of Body.retVia's u16 in the work area (its last variable). */
let RESULT = 0;



/** The kfuncs that have a stand-in here. */
export const FALLBACK_KFUNCS = ['bpf_strcmp', 'bpf_strnlen', 'bpf_strchr', 'bpf_strrchr', 'bpf_strstr', 'bpf_strspn', 'bpf_strcspn'] as const;

/** The stand-in subprogram of kfunc `name` (bpf_strstr -> dt_f_strstr). */
export const fallbackName = (kfunc: string): string => `dt_f_${kfunc.replace(/^bpf_/, '')}`;

/** rindex's stand-in: the last occurrence of t in s that starts at or before its third argument. */
export const STRRSTR = 'dt_f_strrstr';

/** Each stand-in's arguments after the work area: 'str' = a string the caller copies in, 'int' = a scalar. */
export const FALLBACK_PARAMS: Readonly<Record<string, readonly ('str' | 'int')[]>> = {
  [fallbackName('bpf_strcmp')]: ['str', 'str'],
  [fallbackName('bpf_strnlen')]: ['str', 'int'],
  [fallbackName('bpf_strchr')]: ['str', 'int'],
  [fallbackName('bpf_strrchr')]: ['str', 'int'],
  [fallbackName('bpf_strspn')]: ['str', 'str'],
  [fallbackName('bpf_strcspn')]: ['str', 'str'],
  [fallbackName('bpf_strstr')]: ['str', 'str'],
  [STRRSTR]: ['str', 'str', 'int'],
};

/** Where the caller copies a stand-in's k-th string argument (A, then B), from the area's start. */
export const fallbackCopyOffset = (k: number, mem: MemLayout): number => k * fallbackSpan(mem.strsize);

/**
 * The BTF global prototype of stand-in `name` at this layout: `long dt_f_x(struct dt_f_area
 * *area, long a, long b[, long c])`, where the area is the work area's exact size.
 */
export function fallbackPrototype(name: string, mem: MemLayout): GlobalPrototype | undefined {
  const params = FALLBACK_PARAMS[name];
  if (!params) return undefined;
  const names = name === STRRSTR ? ['s', 't', 'limit'] : params.map((p, k) => (p === 'int' ? 'n' : 'st'[k]!));
  return { mem: { struct: 'dt_f_area', name: 'area', bytes: fallbackBytes(mem.strsize) }, scalars: names };
}

/** Work-area offsets (from R6 = the area's start). */
function area(mem: MemLayout) {
  const slot = fallbackSpan(mem.strsize);
  const V = FALLBACK_SLOTS * slot;
  return {
    /** Indices loaded from memory are bounded with `and MASK` (no branch): MASK >= strsize. */
    MASK: slot - 1,
    A: 0, // copy of the first string
    B: slot, // copy of the second string
    T: 2 * slot, // KMP failure table, u16 per position of B (2 spans)
    /** u16 variables */
    v: (k: number) => V + 2 * k,
    BITMAP: V + 32, // 256 bits: the span set
  };
}

class Body {
  readonly a: Asm;
  readonly S: number;
  private readonly retLabel: string;
  constructor(name: string, readonly mem: MemLayout) {
    this.a = new Asm(name);
    this.S = mem.strsize;
    this.retLabel = this.a.newLabel('ret');
    // As a global function's pointer argument the area may be NULL, for the verifier.
    const areaOk = this.a.newLabel('area');
    this.a.jmp('jne', R1, imm(0), areaOk).mov(R0, imm(-EFAULT)).exit();
    this.a.label(areaOk).mov(R6, R1);
    RESULT = area(mem).v(15);
  }
  label(): string { return this.a.newLabel(); }
  ret(value: number): void { this.a.mov(R0, imm(value)).ja(this.retLabel); }
  retR0(): void { this.a.ja(this.retLabel); }
  private viaLabel?: string;
  /**
   * Returns `reg` (a position, 0 .. 65535) through memory. Inside a loop a position is tied to
   * the counter the verifier knows exactly; returned as is, every iteration's return would reach
   * the caller in a different state and the caller's remaining code would be verified once per
   * iteration. Loaded back, it is the same unknown u16 on every path.
   */
  retVia(reg: Reg): void {
    this.viaLabel ??= this.label();
    this.a.stx(2, R6, RESULT, reg).ja(this.viaLabel);
  }
  finish(): Insn[] {
    if (this.viaLabel) this.a.label(this.viaLabel).ldx(2, R0, R6, RESULT);
    this.a.label(this.retLabel).exit();
    for (const emit of this.outOfLine) emit();
    return this.a.insns;
  }
  /** if (reg > max) reg = max (unsigned). */
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
   * dst = the length (<= S) of a string the caller copied in, from `copied`, what the copy
   * returned; to `fault` when the string could not be read.
   */
  length(dst: Reg, copied: Reg, fault: string): void {
    const a = this.a;
    a.jmp('jslt', copied, imm(1), fault);
    if (dst !== copied) a.mov(dst, copied);
    // The copy returns at most S + 1: the clamp is for the verifier, which sees an unknown
    // scalar in a global function. (A mask, `and span - 1`, verifies a global function about
    // a third faster but makes static copies explode past six call sites, on 6.18's verifier.)
    a.alu64('sub', dst, imm(1));
    this.clamp(dst, this.S);
  }
  /** dst = the byte at [R6 + off + idx]. */
  loadByte(dst: Reg, off: number, idx: Reg): void {
    this.a.mov(dst, R6).alu64('add', dst, idx).ldx(1, dst, dst, off);
  }
  /**
   * for (R7 = 0; R7 < count; R7 += step) body — R7 is the only value carried in a register
   * from one iteration to the next; `body` may jump to `brk`.
   */
  loop(count: number, step: number, body: (brk: string) => void): void {
    const a = this.a, head = this.label(), done = this.label();
    a.mov(R7, imm(0)).label(head).jmp('jge', R7, imm(count), done);
    body(done);
    a.alu64('add', R7, imm(step)).ja(head);
    a.label(done);
  }
  /**
   * Leaves the loop (to `brk`) unless `reg op src`. The verifier explores a branch's
   * fall-through first and keeps the other side pending until that path ends: with the exit
   * on the fall-through, a data-dependent exit leaves nothing pending while later iterations
   * are verified (8192 pending states is the kernel's limit).
   */
  stayIf(op: 'jlt' | 'jle' | 'jne' | 'jeq', reg: Reg, src: Reg | { imm: number }, brk: string): void {
    const stay = this.label();
    this.a.jmp(op, reg, src, stay).ja(brk).label(stay);
  }
  /** dst = (x == 0) as 0/1, for x < 2^63, without a branch. */
  isZero(dst: Reg, x: Reg): void {
    if (dst !== x) this.a.mov(dst, x);
    this.a.alu64('sub', dst, imm(1)).alu64('rsh', dst, imm(63));
  }
  /** dst = cond ? b : dst, for cond in {0, 1}, without a branch (clobbers b). */
  select(dst: Reg, cond: Reg, b: Reg): void {
    this.a.alu64('sub', b, dst).alu64('mul', b, cond).alu64('add', dst, b);
  }
}

/** dst = byte-swapped to big-endian (BPF_END | BPF_TO_BE, ISA v1). */
function toBigEndian(a: Asm, dst: Reg): void {
  a.emit({ code: Class.ALU | AluOp.end | Src.X, dst, src: 0, off: 0, imm: 64 });
}

// strcmp(a, b): -1, 0 or 1, bytes compared unsigned.
function buildStrcmp(mem: MemLayout): Insn[] {
  const f = new Body(fallbackName('bpf_strcmp'), mem);
  const a = f.a, { A, B } = area(mem);
  const fault = f.label(), equal = f.label(), full = f.label(), less = f.label();
  f.length(R8, R2, fault);
  f.length(R0, R3, fault);
  // Only the first min(la, lb) + 1 bytes can differ (the shorter string's NUL included).
  a.jmp('jle', R8, R0, full).mov(R8, R0).label(full).alu64('add', R8, imm(1));
  f.loop(mem.strSlot, 8, () => {
    const same = f.label();
    f.stayIf('jlt', R7, R8, equal);
    a.mov(R1, R6).alu64('add', R1, R7).ldx(8, R2, R1, A).ldx(8, R3, R1, B);
    // Past the compared bytes the copies hold leftovers: masked off, without a branch —
    // mask = all ones when 8 or more bytes remain, else (1 << 8·remaining) - 1.
    a.mov(R4, R8).alu64('sub', R4, R7);
    a.mov(R0, R4).alu64('sub', R0, imm(8)).alu64('rsh', R0, imm(63)).alu64('xor', R0, imm(1)).neg(R0);
    a.alu64('lsh', R4, imm(3)).alu64('and', R4, imm(63)).mov(R1, imm(1)).alu64('lsh', R1, R4).alu64('sub', R1, imm(1));
    a.alu64('or', R0, R1).alu64('and', R2, R0).alu64('and', R3, R0);
    a.jmp('jeq', R2, R3, same);
    // The first differing byte is the lowest one: most significant once big-endian.
    toBigEndian(a, R2);
    toBigEndian(a, R3);
    a.jmp('jlt', R2, R3, less);
    f.ret(1);
    a.label(same);
  });
  a.label(equal);
  f.ret(0);
  a.label(less);
  f.ret(-1);
  a.label(fault);
  f.ret(-EFAULT);
  return f.finish();
}

// strnlen(s, n): min(strlen(s), n) — the callers pass n = strsize, which bounds the copy.
function buildStrnlen(mem: MemLayout): Insn[] {
  const f = new Body(fallbackName('bpf_strnlen'), mem);
  const a = f.a, { A } = area(mem);
  const fault = f.label(), shorter = f.label();
  a.mov(R9, R3);
  f.length(R0, R2, fault);
  a.jmp('jle', R0, R9, shorter).mov(R0, R9).label(shorter);
  f.retR0();
  a.label(fault);
  f.ret(-EFAULT);
  return f.finish();
}

// strchr(s, c) / strrchr(s, c): the first / last position of byte c, or -ENOENT.
function buildCharSearch(mem: MemLayout, last: boolean): Insn[] {
  const f = new Body(fallbackName(last ? 'bpf_strrchr' : 'bpf_strchr'), mem);
  const a = f.a, { A, v } = area(mem), BEST = v(0);
  const fault = f.label();
  a.mov(R9, R3).alu64('and', R9, imm(0xff));
  f.length(R8, R2, fault);
  a.st(2, R6, BEST, 0); // match position + 1 (0 = none)
  // Up to and including the NUL: strchr(s, 0) finds the end, as the kfunc does.
  f.loop(mem.strsize + 1, 1, (brk) => {
    f.stayIf('jle', R7, R8, brk);
    f.loadByte(R0, A, R7);
    if (!last) {
      const other = f.label();
      a.jmp('jne', R0, R9, other);
      f.retVia(R7);
      a.label(other);
    } else {
      // BEST = i + 1 where the byte matches, without a branch.
      a.alu64('xor', R0, R9);
      f.isZero(R0, R0);
      a.ldx(2, R1, R6, BEST).mov(R2, R7).alu64('add', R2, imm(1));
      f.select(R1, R0, R2);
      a.stx(2, R6, BEST, R1);
    }
  });
  a.ldx(2, R0, R6, BEST).alu64('sub', R0, imm(1));
  const none = f.label();
  a.jmp('jslt', R0, imm(0), none);
  f.retR0();
  a.label(none);
  f.ret(-ENOENT);
  a.label(fault);
  f.ret(-EFAULT);
  return f.finish();
}

// strspn(s, accept) / strcspn(s, reject): the length of s's prefix of bytes in / not in the set.
function buildSpan(mem: MemLayout, complement: boolean): Insn[] {
  const f = new Body(fallbackName(complement ? 'bpf_strcspn' : 'bpf_strspn'), mem);
  const a = f.a, { A, B, BITMAP } = area(mem);
  const fault = f.label();
  a.mov(R9, R2);
  f.length(R8, R3, fault);
  for (let k = 0; k < 4; k++) a.st(8, R6, BITMAP + 8 * k, 0);
  f.loop(mem.strsize, 1, (brk) => {
    f.stayIf('jlt', R7, R8, brk);
    f.loadByte(R1, B, R7);
    a.mov(R2, R1).alu64('and', R2, imm(7)).mov(R3, imm(1)).alu64('lsh', R3, R2);
    a.alu64('rsh', R1, imm(3)).alu64('add', R1, R6).ldx(1, R2, R1, BITMAP).alu64('or', R2, R3).stx(1, R1, BITMAP, R2);
  });
  f.length(R8, R9, fault);
  f.loop(mem.strsize, 1, (brk) => {
    const member = f.label();
    f.stayIf('jlt', R7, R8, brk);
    f.loadByte(R1, A, R7);
    a.mov(R2, R1).alu64('and', R2, imm(7));
    a.alu64('rsh', R1, imm(3)).alu64('add', R1, R6).ldx(1, R1, R1, BITMAP).alu64('rsh', R1, R2).alu64('and', R1, imm(1));
    a.jmp(complement ? 'jeq' : 'jne', R1, imm(0), member);
    f.retVia(R7);
    a.label(member);
  });
  a.mov(R0, R8);
  f.retR0();
  a.label(fault);
  f.ret(-EFAULT);
  return f.finish();
}

/** rindex's upper bound on the match position (R4, the third argument) saved at LIMIT; a negative one finds nothing. */
function saveLimit(f: Body, LIMIT: number, none: string): void {
  f.a.jmp('jslt', R4, imm(0), none).mov(R0, R4);
  f.clamp(R0, f.S);
  f.a.stx(4, R6, LIMIT, R0);
}

/** The ends both substring searches share: not found, an empty t (found at 0, or at the limit), the fault. */
function findEndings(f: Body, last: boolean, LIMIT: number, at: { none: string; empty: string; fault: string }): Insn[] {
  const a = f.a;
  a.label(at.none);
  f.ret(-ENOENT);
  a.label(at.empty);
  if (last) { a.ldx(4, R0, R6, LIMIT); f.retR0(); } else f.ret(0);
  a.label(at.fault);
  f.ret(-EFAULT);
  return f.finish();
}

/**
 * strstr(s, t): the first position of t in s (0 for an empty t), or -ENOENT. With `last`
 * (rindex), the last position <= R4 instead. Knuth–Morris–Pratt over the copies: A = s, B = t,
 * T = t's failure table (T[0] = 0); positions in the work area. Both loops are branch-free
 * but for their exits (see Body.stayIf): a step either advances i (match, or j = 0) or moves
 * j to T[j - 1], which `select` decides arithmetically.
 */
function buildFind(mem: MemLayout, last: boolean): Insn[] {
  const f = new Body(last ? STRRSTR : fallbackName('bpf_strstr'), mem);
  const a = f.a, S = f.S, { A, B, T, v, MASK } = area(mem);
  const I = v(0), J = v(1), BEST = v(2), N = v(3), M = v(4);
  const LIMIT = v(6); // 4 bytes: v(6), v(7)
  const fault = f.label(), none = f.label(), empty = f.label();
  a.mov(R9, R2);
  if (last) saveLimit(f, LIMIT, none);
  f.length(R8, R3, fault); // R8 = m
  a.jmp('jeq', R8, imm(0), empty);
  a.stx(2, R6, M, R8);
  /** One KMP step with R1 = the position that advances (i or q), R2 = j (or k), R3/R4 their bytes:
   *  R1 = new position, R2 = new j, R0 = whether the position advanced. */
  const step = (): void => {
    a.alu64('xor', R3, R4);
    f.isZero(R3, R3); // eq
    f.isZero(R4, R2); // j == 0
    a.mov(R0, R3).alu64('or', R0, R4); // advance
    // f = T[j - 1], or T[0] = 0 when j = 0
    a.mov(R5, R2).alu64('sub', R5, imm(1)).alu64('add', R5, R4).alu64('and', R5, imm(MASK));
    a.alu64('lsh', R5, imm(1)).alu64('add', R5, R6).ldx(2, R5, R5, T);
    a.alu64('add', R2, imm(1));
    f.select(R5, R3, R2); // R5 = eq ? j + 1 : f
    a.mov(R2, R5).alu64('add', R1, R0);
  };
  // The failure table: T[q] = the longest proper border of t[0..q].
  a.st(2, R6, T, 0).st(2, R6, I, 1).st(2, R6, J, 0); // I = q, J = k
  f.loop(2 * (S + 1), 1, (brk) => {
    a.ldx(2, R1, R6, I);
    f.stayIf('jlt', R1, R8, brk);
    a.alu64('and', R1, imm(MASK)).ldx(2, R2, R6, J).alu64('and', R2, imm(MASK));
    f.loadByte(R3, B, R1);
    f.loadByte(R4, B, R2);
    a.stx(8, R10, -8, R1);
    step();
    a.stx(2, R6, I, R1).stx(2, R6, J, R2);
    // T[q] = k where q advanced (else T[q] is rewritten unchanged)
    a.ldx(8, R1, R10, -8).alu64('lsh', R1, imm(1)).alu64('add', R1, R6).ldx(2, R3, R1, T);
    f.select(R3, R0, R2);
    a.stx(2, R1, T, R3);
  });
  f.length(R0, R9, fault);
  a.stx(2, R6, N, R0);
  a.st(2, R6, I, 0).st(2, R6, J, 0).st(2, R6, BEST, 0);
  f.loop(2 * (S + 1) + 2, 1, (brk) => {
    a.ldx(2, R1, R6, I).alu64('and', R1, imm(MASK)).ldx(2, R2, R6, J).alu64('and', R2, imm(MASK));
    a.ldx(2, R8, R6, M);
    if (!last) {
      const notFound = f.label();
      a.jmp('jne', R2, R8, notFound).mov(R0, R1).alu64('sub', R0, R8); // t occurs at i - m
      f.retVia(R0);
      a.label(notFound);
    } else {
      // BEST = i - m + 1 where t occurs at i - m <= LIMIT, without a branch.
      a.mov(R3, R2).alu64('xor', R3, R8);
      f.isZero(R3, R3);
      a.ldx(4, R4, R6, LIMIT).alu64('add', R4, R8).alu64('sub', R4, R1).alu64('rsh', R4, imm(63)).alu64('xor', R4, imm(1));
      a.alu64('and', R3, R4);
      a.ldx(2, R4, R6, BEST).mov(R5, R1).alu64('sub', R5, R8).alu64('add', R5, imm(1));
      f.select(R4, R3, R5);
      a.stx(2, R6, BEST, R4);
    }
    a.ldx(2, R3, R6, N);
    f.stayIf('jlt', R1, R3, brk);
    f.loadByte(R3, A, R1);
    f.loadByte(R4, B, R2); // B[m] = 0 never equals a byte of s: a full match takes T[m - 1]
    step();
    a.stx(2, R6, I, R1).stx(2, R6, J, R2);
  });
  if (last) {
    a.ldx(2, R0, R6, BEST).alu64('sub', R0, imm(1)).jmp('jslt', R0, imm(0), none);
    f.retR0();
  }
  return findEndings(f, last, LIMIT, { none, empty, fault });
}

/** The per-CPU map of the shift-and search: 256 rows of W u64 (the positions of each byte in t), then D. */
export const SHIFT_AND_MAP = 'shiftand';
/** Shift-and (bitap) is used up to this many 64-bit words of pattern (strsize 512); KMP above. */
const SHIFT_AND_MAX_WORDS = 8;
const shiftAndWords = (strsize: number): number => Math.ceil(strsize / 64);
const usesShiftAnd = (strsize: number): boolean => shiftAndWords(strsize) <= SHIFT_AND_MAX_WORDS;
/** Words of state D: W, and as many as a position masked to the work area's span can name. */
const stateWordsOf = (strsize: number): number => Math.max(shiftAndWords(strsize), fallbackSpan(strsize) / 64);

/** The maps the fallback subprograms in `names` need, at this strsize. */
export function fallbackMaps(names: Iterable<string>, strsize: number): { name: string; valueSize: number }[] {
  const all = new Set(names);
  if (!usesShiftAnd(strsize) || !(all.has(fallbackName('bpf_strstr')) || all.has(STRRSTR))) return [];
  const W = shiftAndWords(strsize);
  return [{ name: SHIFT_AND_MAP, valueSize: 256 * W * 8 + stateWordsOf(strsize) * 8 }];
}

/**
 * strstr / rindex by shift-and (Baeza-Yates–Gonnet): bit k of the state D says whether t[0..k]
 * ends at the current byte of s; one pass over s with W = strsize/64 words of state, unrolled,
 * so the verifier walks strsize iterations of a short body (KMP needs up to 4·strsize steps).
 * The row table (2 KiB per word) is its own per-CPU map, all zeros between calls: a call sets
 * the bits of t's bytes and clears them again before it returns, so its cost follows |t|, not
 * the table's size. (A program interrupting another on the same CPU in the middle of a search
 * could disturb it, as it could any per-CPU scratch memory.)
 */
function buildShiftAnd(mem: MemLayout, last: boolean): Insn[] {
  const f = new Body(last ? STRRSTR : fallbackName('bpf_strstr'), mem);
  const a = f.a, S = f.S, { A, B, v, MASK } = area(mem);
  const W = shiftAndWords(S), ROW = 8 * W, D = 256 * ROW;
  const stateWords = stateWordsOf(S);
  const N = v(0), BEST = v(1), FOUND = v(3), START = v(4), M = v(5); // FOUND, BEST: position + 1
  const LIMIT = v(6); // 4 bytes
  const BIT = -8, TAB = -16; // on the stack: the bit of a full match in its word; the table
  const fault = f.label(), none = f.label(), empty = f.label();
  a.mov(R9, R3);
  if (last) saveLimit(f, LIMIT, none);
  // Everything that can fail comes before the rows are set.
  f.length(R0, R2, fault);
  a.stx(2, R6, N, R0);
  f.length(R8, R9, fault); // R8 = m
  a.jmp('jeq', R8, imm(0), empty);
  a.st(4, R10, -24, 0).mov(R2, R10).alu64('add', R2, imm(-24)).ldMapFd(R1, SHIFT_AND_MAP).call(Helper.map_lookup_elem);
  a.jmp('jeq', R0, imm(0), fault).stx(8, R10, TAB, R0).stx(2, R6, M, R8);
  for (let k = 0; k < stateWords; k++) a.st(8, R0, D + 8 * k, 0);
  /** R1 = the address of the row word of t[R7] that holds bit R7. */
  const rowWord = (): void => {
    f.loadByte(R1, B, R7);
    a.alu64('mul', R1, imm(ROW)).ldx(8, R2, R10, TAB).alu64('add', R1, R2).mov(R2, R7).alu64('rsh', R2, imm(6)).alu64('lsh', R2, imm(3)).alu64('add', R1, R2);
  };
  f.loop(S, 1, (brk) => {
    f.stayIf('jlt', R7, R8, brk);
    rowWord();
    a.mov(R2, R7).alu64('and', R2, imm(63)).mov(R3, imm(1)).alu64('lsh', R3, R2);
    a.ldx(8, R2, R1, 0).alu64('or', R2, R3).stx(8, R1, 0, R2);
  });
  // R8 = the address of the word holding bit m - 1 of D; BIT = that bit. m is reloaded: the
  // loop's exit test left R8 with a range that differs per exit, which would keep the verifier
  // from pruning the search after each of them.
  a.ldx(2, R8, R6, M).alu64('sub', R8, imm(1)).mov(R1, R8).alu64('and', R1, imm(63)).mov(R2, imm(1)).alu64('lsh', R2, R1).stx(8, R10, BIT, R2);
  a.stx(2, R6, START, R8); // m - 1, for the match's start
  a.alu64('and', R8, imm(MASK)).alu64('rsh', R8, imm(6)).alu64('lsh', R8, imm(3)); // < 8 · stateWords, no branch
  a.ldx(8, R1, R10, TAB).alu64('add', R8, R1).alu64('add', R8, imm(D));
  a.st(2, R6, BEST, 0).st(2, R6, FOUND, 0);
  a.ldx(8, R9, R10, TAB);
  f.loop(S, 1, (brk) => {
    a.ldx(2, R1, R6, N);
    f.stayIf('jlt', R7, R1, brk);
    f.loadByte(R5, A, R7);
    a.alu64('mul', R5, imm(ROW)).alu64('add', R5, R9); // the byte's row
    a.mov(R3, imm(1)); // carry into word 0
    for (let w = 0; w < W; w++) {
      a.ldx(8, R2, R9, D + 8 * w);
      if (w < W - 1) a.mov(R4, R2).alu64('rsh', R4, imm(63));
      a.alu64('lsh', R2, imm(1)).alu64('or', R2, R3).ldx(8, R0, R5, 8 * w).alu64('and', R2, R0).stx(8, R9, D + 8 * w, R2);
      if (w < W - 1) a.mov(R3, R4);
    }
    a.ldx(8, R1, R8, 0).ldx(8, R2, R10, BIT).alu64('and', R1, R2);
    // A match of t ends at i: it starts at i - (m - 1).
    a.mov(R0, R7).ldx(2, R2, R6, START).alu64('sub', R0, R2);
    if (!last) {
      const miss = f.label();
      a.jmp('jeq', R1, imm(0), miss);
      a.alu64('add', R0, imm(1)).stx(2, R6, FOUND, R0).ja(brk);
      a.label(miss);
    } else {
      // BEST = start + 1 where a match starts at or before LIMIT, without a branch.
      a.alu64('add', R1, imm(-1)).alu64('rsh', R1, imm(63)).alu64('xor', R1, imm(1)); // found
      a.ldx(4, R3, R6, LIMIT).alu64('sub', R3, R0).alu64('rsh', R3, imm(63)).alu64('xor', R3, imm(1)).alu64('and', R1, R3);
      a.ldx(2, R3, R6, BEST).alu64('add', R0, imm(1));
      f.select(R3, R1, R0);
      a.stx(2, R6, BEST, R3);
    }
  });
  // The rows go back to zero.
  a.ldx(2, R8, R6, M);
  f.loop(S, 1, (brk) => {
    f.stayIf('jlt', R7, R8, brk);
    rowWord();
    a.st(8, R1, 0, 0);
  });
  a.ldx(2, R0, R6, last ? BEST : FOUND).alu64('sub', R0, imm(1)).jmp('jslt', R0, imm(0), none);
  f.retR0();
  return findEndings(f, last, LIMIT, { none, empty, fault });
}

const BUILDERS: Record<string, (mem: MemLayout) => Insn[]> = {
  [fallbackName('bpf_strcmp')]: buildStrcmp,
  [fallbackName('bpf_strnlen')]: buildStrnlen,
  [fallbackName('bpf_strchr')]: (m) => buildCharSearch(m, false),
  [fallbackName('bpf_strrchr')]: (m) => buildCharSearch(m, true),
  [fallbackName('bpf_strspn')]: (m) => buildSpan(m, false),
  [fallbackName('bpf_strcspn')]: (m) => buildSpan(m, true),
  [fallbackName('bpf_strstr')]: (m) => (usesShiftAnd(m.strsize) ? buildShiftAnd(m, false) : buildFind(m, false)),
  [STRRSTR]: (m) => (usesShiftAnd(m.strsize) ? buildShiftAnd(m, true) : buildFind(m, true)),
};

/** The global prototypes of the stand-ins among `names` (subprograms a program calls). */
export function fallbackPrototypes(names: Iterable<string>, mem: MemLayout): Map<string, GlobalPrototype> {
  const out = new Map<string, GlobalPrototype>();
  for (const name of names) {
    const p = fallbackPrototype(name, mem);
    if (p) out.set(name, p);
  }
  return out;
}

/** The stand-in subprogram `name` (dt_f_*) at this layout, or undefined. */
export function buildFallback(name: string, mem: MemLayout): Insn[] | undefined {
  return BUILDERS[name]?.(mem);
}

/** Names of all stand-in subprograms. */
export const FALLBACK_SUBPROGRAMS: readonly string[] = Object.keys(BUILDERS);
