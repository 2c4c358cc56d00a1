/**
 * @fileoverview Linking and encoding: a main program plus the subprograms it calls (appended
 * once each, depth first, as dtrace-utils' dt_link does) become one flat instruction list with
 * jump offsets and call immediates resolved; then the list is encoded to the kernel's 8-byte
 * format with map fds and kfunc BTF ids filled in.
 */
import { type Insn, slots, isLdImm64, Class, JmpOp } from './insn.js';
import { relaxFarJumps } from './relax.js';

export interface Subprograms {
  /** Instructions of a subprogram by name (its first instruction is its entry). */
  get(name: string): Insn[] | undefined;
}

export class LinkError extends Error {
  constructor(message: string) { super(message); this.name = 'LinkError'; }
}

/**
 * Resolves labels and calls. Labels are local to each program piece (main or one subprogram):
 * the same label name in two subprograms does not clash.
 */
export function link(main: Insn[], subs: Subprograms = { get: () => undefined }): Insn[] {
  const pieces: { name: string; insns: Insn[] }[] = [{ name: '', insns: relaxFarJumps(main) }];
  const placed = new Map<string, number>(); // subprogram name → piece index
  for (let p = 0; p < pieces.length; p++) {
    for (const i of pieces[p]!.insns) {
      if (i.callee !== undefined && !placed.has(i.callee)) {
        const body = subs.get(i.callee);
        if (!body) throw new LinkError(`call to unknown subprogram ${i.callee}`);
        placed.set(i.callee, pieces.length);
        pieces.push({ name: i.callee, insns: relaxFarJumps(body) });
      }
    }
  }
  // Slot index of each piece's start, and of each instruction.
  const out: Insn[] = [];
  const pieceStart: number[] = [];
  const slotOf: number[] = [];
  let slot = 0;
  for (const piece of pieces) {
    pieceStart.push(slot);
    for (const i of piece.insns) {
      slotOf.push(slot);
      out.push({ ...i });
      slot += slots(i);
    }
  }
  // Resolve labels per piece.
  let k = 0;
  for (let p = 0; p < pieces.length; p++) {
    const labels = new Map<string, number>();
    const n = pieces[p]!.insns.length;
    for (let j = 0; j < n; j++) for (const l of out[k + j]!.labels ?? []) labels.set(l, slotOf[k + j]!);
    // A label after the last instruction (bound to nothing) is an error caught below.
    for (let j = 0; j < n; j++) {
      const i = out[k + j]!;
      const here = slotOf[k + j]!;
      if (i.target !== undefined) {
        const t = labels.get(i.target);
        if (t === undefined) throw new LinkError(`${pieces[p]!.name || 'main'}: jump to undefined label ${i.target}`);
        const off = t - (here + 1);
        if (off < -32768 || off > 32767) throw new LinkError(`jump offset ${off} out of range`);
        i.off = off;
      }
      if (i.callee !== undefined) {
        const start = pieceStart[placed.get(i.callee)!]!;
        i.imm = start - (here + 1);
      }
    }
    k += n;
  }
  return out;
}

export interface EncodeResolver {
  /** fd of a map by name. */
  mapFd(name: string): number;
  /** BTF id of a kernel function (kfunc) by name. */
  kfuncId?(name: string): number;
}

/** Encodes linked instructions (no unresolved labels) into the kernel's format, little-endian. */
export function encode(insns: Insn[], resolver?: EncodeResolver): Uint8Array {
  let n = 0;
  for (const i of insns) n += slots(i);
  const buf = new Uint8Array(n * 8);
  const dv = new DataView(buf.buffer);
  let o = 0;
  for (const i of insns) {
    let imm = i.imm;
    let src = i.src;
    if (i.map) {
      if (!resolver) throw new LinkError(`map ${i.map.name} referenced but no resolver given`);
      imm = resolver.mapFd(i.map.name);
    }
    if (i.kfunc !== undefined) {
      if (!resolver?.kfuncId) throw new LinkError(`kfunc ${i.kfunc} referenced but no resolver given`);
      imm = resolver.kfuncId(i.kfunc);
    }
    dv.setUint8(o, i.code);
    dv.setUint8(o + 1, ((src & 0xf) << 4) | (i.dst & 0xf));
    // A load/store offset that does not fit the instruction's 16 bits would silently wrap.
    if (i.off < -32768 || i.off > 32767) throw new LinkError(`instruction ${o / 8} offset ${i.off} does not fit in 16 bits`);
    dv.setInt16(o + 2, i.off, true);
    dv.setInt32(o + 4, imm | 0, true);
    if (isLdImm64(i)) {
      const hi = i.map ? i.map.offset : Number((i.imm64 ?? 0n) >> 32n);
      dv.setUint8(o + 8, 0);
      dv.setUint8(o + 9, 0);
      dv.setInt16(o + 10, 0, true);
      dv.setInt32(o + 12, hi | 0, true);
      if (i.map?.value) dv.setInt32(o + 12, i.map.offset | 0, true);
      o += 16;
    } else {
      o += 8;
    }
  }
  return buf;
}

/** Decodes the kernel format back into instructions (for tests and `-S` of loaded code). */
export function decode(bytes: Uint8Array): Insn[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o + 8 <= bytes.length;) {
    const code = dv.getUint8(o);
    const regs = dv.getUint8(o + 1);
    const i: Insn = { code, dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(o + 2, true), imm: dv.getInt32(o + 4, true) };
    if (isLdImm64(i) && o + 16 <= bytes.length) {
      const hi = BigInt(dv.getUint32(o + 12, true));
      i.imm64 = (hi << 32n) | BigInt(dv.getUint32(o + 4, true));
      o += 16;
    } else {
      o += 8;
    }
    out.push(i);
  }
  return out;
}

/** Whether an instruction is a call/exit/jump (used by the disassembler and checks). */
export function isJump(i: Insn): boolean {
  const cls = i.code & 7;
  if (cls !== Class.JMP && cls !== Class.JMP32) return false;
  const op = i.code & 0xf0;
  return op !== JmpOp.call && op !== JmpOp.exit;
}
