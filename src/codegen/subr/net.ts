/**
 * @fileoverview The network address formatters of the D string library as subprograms:
 * inet_ntoa, inet_ntoa6, inet_ntop and link_ntop (the calling convention is strings.ts's).
 */
import { Asm, R0, R1, R2, R3, R4, R5, R7, R8, R9, R10, imm, type Insn, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import { type MemLayout } from '../layout.js';
import { type KernelCaps } from '../../bpf/kernel-caps.js';
import { Frame, SubrFault, DOT, COLON } from './frame.js';

/** Address families and hardware types the network formatters accept (linux/socket.h, if_arp.h). */
const AF_INET = 2, AF_INET6 = 10;
const ARPHRD_ETHER = 1, ARPHRD_INFINIBAND = 32;

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

/** R2 (0..15) becomes its lowercase hex digit, without a branch; clobbers R3. */
function hexDigit(a: Asm): void {
  a.mov(R3, imm(9)).alu64('sub', R3, R2).alu64('rsh', R3, imm(63)).alu64('mul', R3, imm(0x61 - 0x30 - 10));
  a.alu64('add', R2, R3).alu64('add', R2, imm(0x30));
}

/** Copies the text at [fp + NET_OUT] to dst (R7), truncated; returns 1. */
function copyOut(f: Frame): void {
  f.a.mov(R3, R10).alu64('add', R3, imm(NET_OUT));
  f.readStr(R7, 0, imm(f.S + 1), R3);
  f.ret(1);
}

/** The end of the formatters that read an address: the fault of an unreadable one. */
function faultEnding(f: Frame, fault: string): Insn[] {
  f.a.label(fault);
  f.ret(SubrFault.BADADDR);
  return f.finish();
}

export function buildInetNtoa(mem: MemLayout, kernel?: KernelCaps): Insn[] {
  const f = new Frame('dt_inet_ntoa', mem, kernel);
  const a = f.a;
  const fault = f.label();
  a.mov(R7, R1);
  readAddress(f, 4, fault);
  a.mov(R8, R10).alu64('add', R8, imm(NET_OUT));
  emitDottedQuad(a, NET_IN);
  a.st(1, R8, -1, 0); // the last '.' ends the string
  copyOut(f);
  return faultEnding(f, fault);
}

/**
 * inet_ntoa6(addr, strict): RFC 5952 text with dtrace-utils' IPv4 rules (5 zero groups and
 * ffff = mapped; 6 zero groups and not :: or ::1 = compatible); the IPv4 forms print only the
 * dotted quad unless `strict` is non-zero, which keeps the "::ffff:" or "::" prefix.
 */
export function buildInetNtoa6(mem: MemLayout, kernel?: KernelCaps): Insn[] {
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
      hexDigit(a);
      a.alu64('lsh', R2, imm(8 * n)).alu64('or', R1, R2);
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
  return faultEnding(f, fault);
}

/** inet_ntop(af, addr): AF_INET as inet_ntoa, AF_INET6 as strict inet_ntoa6, else ILLOP. */
export function buildInetNtop(mem: MemLayout, kernel?: KernelCaps): Insn[] {
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
export function buildLinkNtop(mem: MemLayout, kernel?: KernelCaps): Insn[] {
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
        hexDigit(a);
        a.stx(1, R10, NET_OUT + 3 * i + k, R2);
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
  return faultEnding(f, fault);
}
