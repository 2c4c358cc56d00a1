/**
 * @fileoverview The length of an x86-64 instruction, and the instruction boundaries of a function:
 * what the pid provider needs to create a probe at every instruction of a function
 * (`pid$1::func:` with an empty or glob name creates the offset probes, as DTrace's does with
 * its own x86 decoder). Only lengths are decoded — prefixes, REX/VEX/EVEX/XOP, the opcode maps,
 * ModRM/SIB/displacement and immediates — never meanings. Table-driven from the Intel SDM opcode
 * maps (volume 2, appendix A) for 64-bit mode.
 */

/** Bit sets of 256 entries from a list of bytes and inclusive ranges. */
function byteSet(...items: (number | [number, number])[]): Uint8Array {
  const set = new Uint8Array(256);
  for (const it of items) {
    if (typeof it === 'number') set[it] = 1;
    else for (let b = it[0]; b <= it[1]; b++) set[b] = 1;
  }
  return set;
}

const LEGACY_PREFIXES = byteSet(0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67);

// One-byte map, 64-bit mode.
const INVALID_1 = byteSet(0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61, 0x82, 0x9a, 0xce, 0xd4, 0xd5, 0xd6, 0xea);
const MODRM_1 = byteSet(
  [0x00, 0x03], [0x08, 0x0b], [0x10, 0x13], [0x18, 0x1b], [0x20, 0x23], [0x28, 0x2b], [0x30, 0x33], [0x38, 0x3b],
  0x63, 0x69, 0x6b, [0x80, 0x8f], [0xc0, 0xc1], [0xc6, 0xc7], [0xd0, 0xd3], [0xd8, 0xdf], [0xf6, 0xf7], [0xfe, 0xff],
);
const IMM8_1 = byteSet(
  0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x6a, 0x6b, [0x70, 0x7f], 0x80, 0x83, 0xa8, [0xb0, 0xb7],
  [0xc0, 0xc1], 0xc6, 0xcd, [0xe0, 0xe7], 0xeb,
);
/** Immediates of operand size (2 with a 0x66 prefix, else 4; B8-BF take 8 with REX.W). */
const IMMZ_1 = byteSet(0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x68, 0x69, 0x81, 0xa9, [0xb8, 0xbf], 0xc7, 0xe8, 0xe9);

// Two-byte map (0F xx).
const INVALID_2 = byteSet(0x04, 0x0a, 0x0c, [0x24, 0x27], 0x36, 0x39, [0x3b, 0x3f], 0x7a, 0x7b, 0xa6, 0xa7);
const NO_MODRM_2 = byteSet([0x05, 0x09], 0x0b, 0x0e, [0x30, 0x37], 0x77, [0x80, 0x8f], [0xa0, 0xa2], [0xa8, 0xaa], [0xc8, 0xcf]);
const IMM8_2 = byteSet(0x0f, [0x70, 0x73], 0xa4, 0xac, 0xba, 0xc2, [0xc4, 0xc6]);
/** The map-1 opcodes with an imm8 under VEX/EVEX encodings (shifts by immediate, shuffles, compares, inserts). */
const IMM8_VEX_MAP1 = byteSet([0x70, 0x73], 0xc2, [0xc4, 0xc6]);

const MAX_LENGTH = 15;

/** Length of ModRM + SIB + displacement starting at `at` (the ModRM byte), or undefined past `end`. */
function modrmLength(code: Uint8Array, at: number, end: number): number | undefined {
  if (at >= end) return undefined;
  const modrm = code[at]!;
  const mod = modrm >> 6, rm = modrm & 7;
  if (mod === 3) return 1;
  let n = 1;
  if (rm === 4) {
    if (at + 1 >= end) return undefined;
    const base = code[at + 1]! & 7;
    n++;
    if (mod === 0 && base === 5) n += 4;
  } else if (mod === 0 && rm === 5) n += 4; // RIP-relative
  if (mod === 1) n += 1;
  else if (mod === 2) n += 4;
  return n;
}

/**
 * The length in bytes of the instruction at `code[at]`, or undefined when the bytes there are not
 * a valid 64-bit instruction (or run past `end`).
 */
export function instructionLength(code: Uint8Array, at: number, end = code.length): number | undefined {
  let i = at;
  let opsize16 = false;
  let addr32 = false;
  while (i < end && LEGACY_PREFIXES[code[i]!]) {
    if (code[i] === 0x66) opsize16 = true;
    if (code[i] === 0x67) addr32 = true;
    i++;
    if (i - at >= MAX_LENGTH) return undefined;
  }
  let rexW = false;
  if (i < end && (code[i]! & 0xf0) === 0x40) {
    rexW = (code[i]! & 8) !== 0;
    i++;
  }
  if (i >= end) return undefined;
  const immZ = rexW ? 4 : opsize16 ? 2 : 4;
  const op = code[i]!;
  let n: number | undefined;

  const withModrm = (opAt: number, imm: number): number | undefined => {
    const m = modrmLength(code, opAt + 1, end);
    return m === undefined ? undefined : opAt + 1 + m + imm - at;
  };

  if (op === 0xc4 || op === 0xc5 || op === 0x62 || (op === 0x8f && i + 1 < end && (code[i + 1]! & 0x38) !== 0)) {
    // VEX (C5: 2 bytes, C4: 3), EVEX (62: 4), AMD XOP (8F with ModRM.reg ≠ 0: 3), then opcode + ModRM.
    const prefixBytes = op === 0xc5 ? 2 : op === 0x62 ? 4 : 3;
    if (i + prefixBytes >= end) return undefined;
    const map = op === 0xc5 ? 1 : op === 0x62 ? code[i + 1]! & 7 : code[i + 1]! & 0x1f;
    const opAt = i + prefixBytes;
    const opcode = code[opAt]!;
    let imm = 0;
    if (op === 0x8f) imm = map === 8 ? 1 : map === 0xa ? 4 : map === 9 ? 0 : -1;
    else if (map === 3) imm = 1;
    else if (map === 1) imm = IMM8_VEX_MAP1[opcode] ? 1 : 0;
    else if (map === 2 || map === 5 || map === 6) imm = 0;
    else imm = -1;
    if (imm < 0) return undefined;
    n = withModrm(opAt, imm);
  } else if (op === 0x0f) {
    if (i + 1 >= end) return undefined;
    const op2 = code[i + 1]!;
    if (op2 === 0x38) n = i + 2 < end ? withModrm(i + 2, 0) : undefined;
    else if (op2 === 0x3a) n = i + 2 < end ? withModrm(i + 2, 1) : undefined;
    else if (INVALID_2[op2]) return undefined;
    else if (op2 >= 0x80 && op2 <= 0x8f) n = i + 2 + 4 - at; // jcc rel32 (64-bit mode: 0x66 does not shorten it)
    else if (NO_MODRM_2[op2]) n = i + 2 - at;
    else n = withModrm(i + 1, IMM8_2[op2] ? 1 : 0);
  } else if (INVALID_1[op]) {
    return undefined;
  } else if (op >= 0xa0 && op <= 0xa3) {
    n = i + 1 + (addr32 ? 4 : 8) - at; // mov with a moffs
  } else if (op === 0xc2 || op === 0xca) {
    n = i + 3 - at; // ret/retf imm16
  } else if (op === 0xc8) {
    n = i + 4 - at; // enter imm16, imm8
  } else if (MODRM_1[op]) {
    let imm = (IMM8_1[op] ? 1 : 0) + (IMMZ_1[op] ? immZ : 0);
    // test r/m, imm (F6 /0 /1, F7 /0 /1): the immediate depends on ModRM.reg.
    if ((op === 0xf6 || op === 0xf7) && i + 1 < end && ((code[i + 1]! >> 3) & 7) <= 1) imm = op === 0xf6 ? 1 : immZ;
    n = withModrm(i, imm);
  } else {
    let imm = (IMM8_1[op] ? 1 : 0);
    // mov r64, imm64 with REX.W; call/jmp rel32 keep 4 bytes under 0x66 in 64-bit mode.
    if (IMMZ_1[op]) imm = op >= 0xb8 && op <= 0xbf && rexW ? 8 : (op === 0xe8 || op === 0xe9) ? 4 : immZ;
    n = i + 1 + imm - at;
  }
  if (n === undefined || n > MAX_LENGTH || at + n > end) return undefined;
  return n;
}

/**
 * The offsets of the instructions of a function's bytes, from 0, in order. Decoding stops at the
 * first byte that is not an instruction (data in code, or an encoding not decoded here): the
 * offsets found up to there are returned with `complete` false.
 */
export function instructionOffsets(code: Uint8Array): { offsets: number[]; complete: boolean } {
  const offsets: number[] = [];
  let at = 0;
  while (at < code.length) {
    const n = instructionLength(code, at);
    if (n === undefined) return { offsets, complete: false };
    offsets.push(at);
    at += n;
  }
  return { offsets, complete: true };
}

/** Opcodes the kernel's x86 uprobes never single-step (good_insns_64 has 0 for them on every kernel). */
const UPROBE_BAD_OPCODES = byteSet([0x6c, 0x6f], 0xcc, 0xcd, 0xce, 0xcf, [0xe4, 0xe7], [0xec, 0xef], 0xf4, 0xfa, 0xfb);

/**
 * Why the kernel's x86-64 uprobe code refuses the instruction at `code[at]`
 * (arch_uprobe_analyze_insn: a LOCK or segment-override prefix, or an opcode it never
 * single-steps), or undefined when it may take it. Only refusals that hold on every kernel are
 * predicted; the kernel remains the judge of the rest.
 */
export function uprobeRefusal(code: Uint8Array, at: number): string | undefined {
  let i = at;
  while (i < code.length && LEGACY_PREFIXES[code[i]!]) {
    const p = code[i]!;
    if (p === 0xf0) return 'a LOCK prefix';
    if (p === 0x26 || p === 0x2e || p === 0x36 || p === 0x3e) return 'a segment-override prefix';
    i++;
  }
  if (i < code.length && (code[i]! & 0xf0) === 0x40) i++;
  if (i < code.length && UPROBE_BAD_OPCODES[code[i]!]) return `opcode 0x${code[i]!.toString(16)}`;
  return undefined;
}
