/**
 * @fileoverview A disassembler in the kernel verifier's own syntax (`r1 = *(u64 *)(r10 -8)`,
 * `if r1 > 0x5 goto pc+3`, `call bpf_map_lookup_elem#1`), optionally interleaving the D source
 * lines the instructions came from — the listing `-S` prints and verifier errors quote.
 */
import { type Insn, Class, AluOp, JmpOp, Mode, Size, Pseudo, isLdImm64, slots } from './insn.js';

const aluSym: Record<number, string> = {
  [AluOp.add]: '+=', [AluOp.sub]: '-=', [AluOp.mul]: '*=', [AluOp.div]: '/=', [AluOp.or]: '|=',
  [AluOp.and]: '&=', [AluOp.lsh]: '<<=', [AluOp.rsh]: '>>=', [AluOp.mod]: '%=', [AluOp.xor]: '^=',
  [AluOp.mov]: '=', [AluOp.arsh]: 's>>=',
};
const jmpSym: Record<number, string> = {
  [JmpOp.jeq]: '==', [JmpOp.jgt]: '>', [JmpOp.jge]: '>=', [JmpOp.jset]: '&', [JmpOp.jne]: '!=',
  [JmpOp.jsgt]: 's>', [JmpOp.jsge]: 's>=', [JmpOp.jlt]: '<', [JmpOp.jle]: '<=', [JmpOp.jslt]: 's<', [JmpOp.jsle]: 's<=',
};
const sizeName: Record<number, string> = { [Size.B]: 'u8', [Size.H]: 'u16', [Size.W]: 'u32', [Size.DW]: 'u64' };

const hex = (n: number): string => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);
/** A 64-bit immediate, exact (a number would round it above 2^53). */
const hex64 = (n: bigint): string => (n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);
const off = (n: number): string => (n < 0 ? ` -${-n}` : ` +${n}`);

export interface DisasmOptions {
  /** Names of helper functions by id, for `call name#id`. */
  helperName?: (id: number) => string | undefined;
  /** Interleave `; <source>` lines when the source note changes. */
  withSource?: boolean;
  /** A line to print, after an empty one, before the instruction at each of these slots (a function's name). */
  headings?: ReadonlyMap<number, string>;
}

/** One instruction in kernel syntax. `i.target`/`callee`/`map` names are shown when present. */
export function formatInsn(i: Insn, opts: DisasmOptions = {}): string {
  const cls = i.code & 7;
  const r = (n: number) => `r${n}`;
  const w = (n: number) => `w${n}`;
  switch (cls) {
    case Class.ALU64:
    case Class.ALU: {
      const op = i.code & 0xf0;
      const x = (i.code & 0x08) !== 0;
      const reg = cls === Class.ALU64 ? r : w;
      if (op === AluOp.neg) return `${reg(i.dst)} = -${reg(i.dst)}`;
      // ALU64|END is ISA v4's unconditional bswap; ALU|END converts to/from big or little endian.
      if (op === AluOp.end) return `${reg(i.dst)} = ${cls === Class.ALU64 ? 'bswap' : x ? 'be' : 'le'}${i.imm} ${reg(i.dst)}`;
      if (op === AluOp.mov && x && i.off) return `${reg(i.dst)} = (s${i.off})${reg(i.src)}`;
      const sym = (op === AluOp.div || op === AluOp.mod) && i.off === 1 ? `s${aluSym[op]}` : aluSym[op] ?? `?op${op}`;
      return `${reg(i.dst)} ${sym} ${x ? reg(i.src) : hex(i.imm)}`;
    }
    case Class.LDX: {
      const sz = sizeName[i.code & 0x18]!;
      const sx = (i.code & 0xe0) === Mode.MEMSX ? 's' : 'u';
      return `r${i.dst} = *(${sx === 's' ? sz.replace('u', 's') : sz} *)(r${i.src}${off(i.off)})`;
    }
    case Class.ST:
      return `*(${sizeName[i.code & 0x18]} *)(r${i.dst}${off(i.off)}) = ${hex(i.imm)}`;
    case Class.STX:
      if ((i.code & 0xe0) === Mode.ATOMIC) return `lock *(${sizeName[i.code & 0x18]} *)(r${i.dst}${off(i.off)}) += r${i.src}`;
      return `*(${sizeName[i.code & 0x18]} *)(r${i.dst}${off(i.off)}) = r${i.src}`;
    case Class.LD:
      if (isLdImm64(i)) {
        if (i.map) return i.map.value ? `r${i.dst} = map_value(${i.map.name}) + ${i.map.offset}` : `r${i.dst} = map[${i.map.name}]`;
        if (i.src === Pseudo.MAP_FD) return `r${i.dst} = map[fd:${i.imm}]`;
        return `r${i.dst} = ${hex64(BigInt.asIntN(64, i.imm64 ?? BigInt(i.imm)))} ll`;
      }
      return `?ld 0x${i.code.toString(16)}`;
    case Class.JMP:
    case Class.JMP32: {
      const op = i.code & 0xf0;
      const x = (i.code & 0x08) !== 0;
      const reg = cls === Class.JMP ? r : w;
      const dest = i.target !== undefined ? i.target : `pc${i.off >= 0 ? '+' : ''}${i.off}`;
      if (op === JmpOp.exit) return 'exit';
      if (op === JmpOp.call) {
        if (i.src === Pseudo.CALL) return `call ${i.callee ?? `pc${i.imm >= 0 ? '+' : ''}${i.imm}`}`;
        if (i.src === Pseudo.KFUNC_CALL) return `call kernel-function ${i.kfunc ?? `#${i.imm}`}`;
        const name = opts.helperName?.(i.imm);
        return `call ${name ? `${name}#${i.imm}` : `#${i.imm}`}`;
      }
      if (op === JmpOp.ja) return `goto ${dest}`;
      return `if ${reg(i.dst)} ${jmpSym[op] ?? '?'} ${x ? reg(i.src) : hex(i.imm)} goto ${dest}`;
    }
  }
  return `?code 0x${i.code.toString(16)}`;
}

/**
 * A listing: `  12: r1 = r10` per instruction, slot-numbered as the kernel numbers them, with the
 * D source line printed above the first instruction generated from it.
 */
export function disassemble(insns: Insn[], opts: DisasmOptions = {}): string {
  const lines: string[] = [];
  let slot = 0;
  let lastSource: string | undefined;
  for (const i of insns) {
    if (opts.withSource && i.source) {
      const key = `${i.source.where}\u0000${i.source.text}`;
      if (key !== lastSource) { lines.push(`; ${i.source.text.trim()}  (${i.source.where})`); lastSource = key; }
    }
    const heading = opts.headings?.get(slot);
    if (heading !== undefined) { lines.push('', heading); lastSource = undefined; }
    for (const l of i.labels ?? []) lines.push(`${l}:`);
    lines.push(`${String(slot).padStart(5)}: ${formatInsn(i, opts)}${i.comment ? `\t; ${i.comment}` : ''}`);
    slot += slots(i);
  }
  return lines.join('\n') + '\n';
}
