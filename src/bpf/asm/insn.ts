/**
 * @fileoverview The BPF instruction model and the builder DSL code generation writes with.
 * Jumps name labels and calls name subprograms; map references name maps. All of that is
 * symbolic until `encode()` (encode.ts) lays the program out — offsets are never computed by
 * hand (cilium/ebpf's WithReference/Marshal, ply's ir_bpf_jmp_resolve). Each instruction can
 * carry the D source it came from, which the disassembler interleaves (`-S`).
 */

/** BPF registers. R10 is the read-only frame pointer. */
export const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;
export type Reg = number;

// Instruction classes and fields, from include/uapi/linux/bpf.h and bpf_common.h.
export const Class = { LD: 0x00, LDX: 0x01, ST: 0x02, STX: 0x03, ALU: 0x04, JMP: 0x05, JMP32: 0x06, ALU64: 0x07 } as const;
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;
export const Src = { K: 0x00, X: 0x08 } as const;

export const AluOp = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0, end: 0xd0,
} as const;
export type AluOpName = keyof typeof AluOp;

export const JmpOp = {
  ja: 0x00, jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70,
  call: 0x80, exit: 0x90, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
} as const;
export type JmpOpName = keyof typeof JmpOp;

/** Width of a memory access in bytes. */
export type Width = 1 | 2 | 4 | 8;
export const sizeField = (w: Width): number => (w === 1 ? Size.B : w === 2 ? Size.H : w === 4 ? Size.W : Size.DW);

/** BPF_PSEUDO_* values placed in src_reg of ld_imm64 and call instructions. */
export const Pseudo = { MAP_FD: 1, MAP_VALUE: 2, BTF_ID: 3, CALL: 1, KFUNC_CALL: 2 } as const;

export interface Insn {
  code: number;
  dst: Reg;
  src: Reg;
  off: number;
  imm: number;
  /** For ld_imm64 (two slots): the full 64-bit constant. */
  imm64?: bigint;
  /** Jump target label (for jumps) — resolved into `off`. */
  target?: string;
  /** BPF-to-BPF call target subprogram name — resolved into `imm`. */
  callee?: string;
  /** Kernel function (kfunc) called, by name — its BTF id goes into `imm` at load time. */
  kfunc?: string;
  /** Map named by an ld_imm64: its fd (or value address + offset) is filled at load time. */
  map?: { name: string; value: boolean; offset: number };
  /** Labels bound to this instruction's position. */
  labels?: string[];
  /** The D source this instruction came from (a line of text, for -S and verifier errors). */
  source?: SourceNote;
  /** A free comment the disassembler prints after the instruction. */
  comment?: string;
}

export interface SourceNote {
  /** e.g. "x.d:3" */
  where: string;
  text: string;
  /** Byte offset range in the D source, for mapping verifier errors back to a span. */
  start?: number;
  end?: number;
}

export type Operand = Reg | { imm: number };
export const imm = (value: number): { imm: number } => ({ imm: value });

/**
 * A sequence of instructions under construction. Methods append and return `this` where
 * convenient. Labels attach to the next instruction emitted.
 */
/** A point in an Asm's sequence (Asm.mark). */
export interface AsmMark { readonly length: number; readonly pendingLabels: readonly string[]; readonly source: SourceNote | undefined }

export class Asm {
  readonly insns: Insn[] = [];
  private pendingLabels: string[] = [];
  private currentSource: SourceNote | undefined;
  private labelCounter = 0;

  constructor(readonly name: string) {}

  /** A fresh label name unique within this Asm. */
  newLabel(hint = 'L'): string { return `${hint}.${this.labelCounter++}`; }

  /** Binds `name` to the next instruction. */
  label(name: string): this { this.pendingLabels.push(name); return this; }

  /** Instructions emitted from now on carry this source note (undefined to clear). */
  setSource(note: SourceNote | undefined): this { this.currentSource = note; return this; }

  emit(i: Insn): this {
    if (this.pendingLabels.length) { i.labels = [...(i.labels ?? []), ...this.pendingLabels]; this.pendingLabels = []; }
    if (this.currentSource && !i.source) i.source = this.currentSource;
    this.insns.push(i);
    return this;
  }

  /** Where the sequence is now: `rewind` drops what was emitted after it (a lowering attempt given up). */
  mark(): AsmMark { return { length: this.insns.length, pendingLabels: [...this.pendingLabels], source: this.currentSource }; }

  rewind(m: AsmMark): void {
    this.insns.length = m.length;
    this.pendingLabels = [...m.pendingLabels];
    this.currentSource = m.source;
  }

  /** Appends another sequence (labels and all). */
  append(other: Asm | Insn[]): this {
    for (const i of Array.isArray(other) ? other : other.insns) this.emit({ ...i });
    return this;
  }

  comment(text: string): this {
    const last = this.insns[this.insns.length - 1];
    if (last) last.comment = last.comment ? `${last.comment}; ${text}` : text;
    return this;
  }

  // ----- ALU
  alu64(op: AluOpName, dst: Reg, src: Operand): this { return this.alu(Class.ALU64, op, dst, src); }
  alu32(op: AluOpName, dst: Reg, src: Operand): this { return this.alu(Class.ALU, op, dst, src); }
  private alu(cls: number, op: AluOpName, dst: Reg, src: Operand): this {
    if (typeof src === 'number') return this.emit({ code: cls | AluOp[op] | Src.X, dst, src, off: 0, imm: 0 });
    return this.emit({ code: cls | AluOp[op] | Src.K, dst, src: 0, off: 0, imm: src.imm | 0 });
  }
  /** Signed division/modulo (BPF v4: off = 1). */
  sdiv64(op: 'div' | 'mod', dst: Reg, src: Reg): this {
    return this.emit({ code: Class.ALU64 | AluOp[op] | Src.X, dst, src, off: 1, imm: 0 });
  }
  mov(dst: Reg, src: Operand): this { return this.alu64('mov', dst, src); }
  mov32(dst: Reg, src: Operand): this { return this.alu32('mov', dst, src); }
  /** Sign-extending move from a register's low `bits` (BPF v4 movsx: off = 8/16/32). */
  movsx(dst: Reg, src: Reg, bits: 8 | 16 | 32): this {
    return this.emit({ code: Class.ALU64 | AluOp.mov | Src.X, dst, src, off: bits, imm: 0 });
  }
  neg(dst: Reg): this { return this.emit({ code: Class.ALU64 | AluOp.neg, dst, src: 0, off: 0, imm: 0 }); }

  /** dst = 64-bit constant (one mov when it fits in 32 bits signed, else ld_imm64). */
  movImm64(dst: Reg, value: bigint): this {
    const v = BigInt.asIntN(64, value);
    if (v >= -0x80000000n && v <= 0x7fffffffn) return this.mov(dst, imm(Number(v)));
    return this.ldImm64(dst, v);
  }
  ldImm64(dst: Reg, value: bigint): this {
    const u = BigInt.asUintN(64, value);
    return this.emit({ code: Class.LD | Size.DW | Mode.IMM, dst, src: 0, off: 0, imm: Number(BigInt.asIntN(32, u & 0xffffffffn)), imm64: u });
  }
  /** dst = fd of map `name` (for helpers taking a map). */
  ldMapFd(dst: Reg, name: string): this {
    return this.emit({ code: Class.LD | Size.DW | Mode.IMM, dst, src: Pseudo.MAP_FD, off: 0, imm: 0, map: { name, value: false, offset: 0 } });
  }
  /** dst = address of map `name`'s (single) value + offset: direct value access, no lookup. */
  ldMapValue(dst: Reg, name: string, offset = 0): this {
    return this.emit({ code: Class.LD | Size.DW | Mode.IMM, dst, src: Pseudo.MAP_VALUE, off: 0, imm: 0, map: { name, value: true, offset } });
  }

  // ----- memory
  /** dst = *(width *)(src + off) */
  ldx(width: Width, dst: Reg, src: Reg, off: number): this {
    return this.emit({ code: Class.LDX | sizeField(width) | Mode.MEM, dst, src, off, imm: 0 });
  }
  /** *(width *)(dst + off) = src */
  stx(width: Width, dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: Class.STX | sizeField(width) | Mode.MEM, dst, src, off, imm: 0 });
  }
  /** *(width *)(dst + off) = imm */
  st(width: Width, dst: Reg, off: number, value: number): this {
    return this.emit({ code: Class.ST | sizeField(width) | Mode.MEM, dst, src: 0, off, imm: value | 0 });
  }
  /** lock *(width *)(dst + off) += src (width 4 or 8). */
  atomicAdd(width: 4 | 8, dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: Class.STX | sizeField(width) | Mode.ATOMIC, dst, src, off, imm: AluOp.add });
  }
  /** R0 = *(dst + off); if it equals the old R0, *(dst + off) = src (BPF_CMPXCHG). */
  cmpxchg(width: 4 | 8, dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: Class.STX | sizeField(width) | Mode.ATOMIC, dst, src, off, imm: 0xf0 | 0x01 });
  }

  // ----- jumps
  ja(target: string): this { return this.emit({ code: Class.JMP | JmpOp.ja, dst: 0, src: 0, off: 0, imm: 0, target }); }
  jmp(op: Exclude<JmpOpName, 'ja' | 'call' | 'exit'>, dst: Reg, src: Operand, target: string): this {
    if (typeof src === 'number') return this.emit({ code: Class.JMP | JmpOp[op] | Src.X, dst, src, off: 0, imm: 0, target });
    return this.emit({ code: Class.JMP | JmpOp[op] | Src.K, dst, src: 0, off: 0, imm: src.imm | 0, target });
  }
  /** Helper call by id. */
  call(helperId: number): this { return this.emit({ code: Class.JMP | JmpOp.call, dst: 0, src: 0, off: 0, imm: helperId }); }
  /** BPF-to-BPF call of a subprogram by name. */
  callSub(name: string): this { return this.emit({ code: Class.JMP | JmpOp.call, dst: 0, src: Pseudo.CALL, off: 0, imm: 0, callee: name }); }
  /** kfunc call by kernel function name. */
  callKfunc(name: string): this { return this.emit({ code: Class.JMP | JmpOp.call, dst: 0, src: Pseudo.KFUNC_CALL, off: 0, imm: 0, kfunc: name }); }
  exit(): this { return this.emit({ code: Class.JMP | JmpOp.exit, dst: 0, src: 0, off: 0, imm: 0 }); }
}

/** True for the first slot of a two-slot ld_imm64. */
export const isLdImm64 = (i: Insn): boolean => i.code === (Class.LD | Size.DW | Mode.IMM);
/** Number of 8-byte slots an instruction takes. */
export const slots = (i: Insn): number => (isLdImm64(i) ? 2 : 1);
