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
import { Asm, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, imm, type Insn, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import { type MemLayout } from '../layout.js';
import { NEWEST_KERNEL, type KernelCaps } from '../../bpf/kernel-caps.js';
import { FALLBACK_SUBPROGRAMS, STRRSTR, buildFallback } from './fallback.js';
import { Frame, SubrFault, STRTOK_STATE_NONE, TEMP1, TEMP2, SLASH, DOT, type Subroutine } from './frame.js';
import { buildInetNtoa, buildInetNtoa6, buildInetNtop, buildLinkNtop } from './net.js';

export { type Subroutine, SubrFault, STRTOK_STATE_NONE, needsStringFallback } from './frame.js';

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

/** The end of index and rindex: the position in R0, or -1 from `none`. */
function positionOrNone(f: Frame, none: string): Insn[] {
  f.retR0();
  f.a.label(none);
  f.ret(-1);
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
  return positionOrNone(f, none);
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
    a.mov(R1, R8).mov(R2, R9).mov(R3, R7);
    f.callFallback(STRRSTR);
    a.jmp('jslt', R0, imm(0), none);
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
  return positionOrNone(f, none);
}

// ---------------------------------------------------------------------------------------------
// strchr/strrchr(s, c), strstr(s, t): the suffix from the match, or NULL. As in dtrace-utils,
// searching for '\0' finds nothing.

function buildSuffixSearch(mem: MemLayout, kfunc: 'bpf_strchr' | 'bpf_strrchr' | 'bpf_strstr', kernel?: KernelCaps): Insn[] {
  const f = new Frame(`dt_${kfunc.slice(4)}`, mem, kernel);
  const a = f.a, S = f.S;
  const none = f.label();
  a.mov(R6, R1).mov(R7, R2); // dst, s
  if (kfunc === 'bpf_strstr') a.mov(R1, R2).mov(R2, R3);
  else a.mov(R2, R3).alu64('and', R2, imm(0xff)).jmp('jeq', R2, imm(0), none).mov(R1, R7);
  f.kfuncInt(kfunc);
  a.jmp('jslt', R0, imm(0), none);
  f.readStr(R6, 0, imm(S + 1), R7, R0);
  f.ret(1);
  a.label(none);
  f.ret(0);
  return f.finish();
}

// ---------------------------------------------------------------------------------------------
// strtok(s, delims). State at mem.strtok: u64 (next position + 1; 0 = no string yet), then a
// copy of the string being tokenised. s = NULL (R2 = 0) continues; with no state it faults, as
// do NULL delimiters.

function buildStrtok(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_strtok', mem, kernel);
  const a = f.a, S = f.S;
  const STATE = 0, TEXT = 8; // from R6 = the strtok region
  const cont = f.label(), fault = f.label(), exhausted = f.label();
  a.mov(R6, R5).alu64('add', R6, imm(mem.strtok)).mov(R7, R1).mov(R8, R3); // state, dst, delims
  a.jmp('jeq', R8, imm(0), fault); // NULL delimiters are a bad address, as in DTrace
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

/**
 * The start of the path functions: R6 = the scratch base, R7 = dst, working slot 0 = a copy of
 * s (R2) and R0 = its length; to `empty` when s is "", to `fault` when it cannot be read.
 */
function pathIn(f: Frame, fault: string, empty: string): void {
  f.scratchBase(R6);
  f.a.mov(R7, R1);
  f.readStr(R6, f.slot(0), imm(f.S + 1), R2);
  f.a.jmp('jslt', R0, imm(1), fault).alu64('sub', R0, imm(1));
  f.clamp(R0, f.S);
  f.a.jmp('jeq', R0, imm(0), empty);
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
  pathIn(f, fault, dot);
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
  pathIn(f, fault, dot);
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
  pathIn(f, fault, emptyIn);
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
  return cleanpathResult(f, { W, OUT, emptyIn, fault }, f.clamp.bind(f));
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
  pathIn(f, fault, emptyIn);
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
  a.label(done);
  return cleanpathResult(f, { W, OUT, emptyIn, fault }, f.clampInLoop.bind(f));
}

/**
 * cleanpath's result, both forms: the output slot's first W bytes ("." when there are none),
 * "" for an empty path, or the fault. `clamp` is how the form bounds a length it loads.
 */
function cleanpathResult(f: Frame, at: { W: number; OUT: number; emptyIn: string; fault: string }, clamp: (reg: Reg, max: number) => void): Insn[] {
  const a = f.a, S = f.S;
  a.ldx(2, R1, R6, at.W);
  clamp(R1, S);
  const dot = f.label();
  a.jmp('jeq', R1, imm(0), dot);
  a.alu64('add', R1, R6).st(1, R1, at.OUT, 0);
  f.readStr(R7, 0, imm(S + 1), R6, imm(at.OUT));
  f.ret(1);
  a.label(dot);
  f.writeConst(R7, '.');
  f.ret(1);
  a.label(at.emptyIn).st(1, R7, 0, 0);
  f.ret(1);
  a.label(at.fault);
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
  strchr: subr('dt_strchr', ['str', 'int'], 'str', (m, k) => buildSuffixSearch(m, 'bpf_strchr', k)),
  strrchr: subr('dt_strrchr', ['str', 'int'], 'str', (m, k) => buildSuffixSearch(m, 'bpf_strrchr', k)),
  strstr: subr('dt_strstr', ['str', 'str'], 'str', (m, k) => buildSuffixSearch(m, 'bpf_strstr', k)),
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
