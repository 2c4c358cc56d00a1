/**
 * @fileoverview BPF-to-BPF linking inside one object: an entry program plus every `.text`
 * subprogram it calls (transitively) become one instruction array, as libbpf's
 * bpf_object__reloc_code does. Calls (`call` with src_reg BPF_PSEUDO_CALL) and callback
 * addresses (`ld_imm64` of a function, which becomes BPF_PSEUDO_FUNC) are re-pointed at the
 * appended copies; func_info, line_info and CO-RE records follow their instructions.
 */
import type { CoreReloRecord, LineInfoRecord } from './btf-ext.js';
import { btfString, BpfObjectError, type BpfObjectSpec, type ObjectFunction, type ObjectRelocation } from './bpf-object.js';

const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_FUNC = 4;
const OP_CALL = 0x85;
const OP_LD_IMM64 = 0x18;

export interface LinkedRelocation { insnIndex: number; reloc: ObjectRelocation }
export interface LinkedLineInfo { insnOff: number; fileNameOff: number; lineOff: number; line: number; column: number }

export interface LinkedProgram {
  entry: ObjectFunction;
  insns: Uint8Array;
  /** Kernel-format func_info: instruction index and BTF FUNC id. */
  funcInfo: { insnOff: number; typeId: number }[];
  lineInfo: LinkedLineInfo[];
  coreRelos: { insnIndex: number; record: CoreReloRecord }[];
  /** Relocations still to apply: maps, global data, externs. */
  relocations: LinkedRelocation[];
  layout: { func: ObjectFunction; base: number }[];
}

function recordsBySection<T>(obj: BpfObjectSpec, groups: { sectionNameOff: number; records: T[] }[] | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const g of groups ?? []) {
    const name = btfString(obj, g.sectionNameOff);
    out.set(name, [...(out.get(name) ?? []), ...g.records]);
  }
  return out;
}

function funcAt(obj: BpfObjectSpec, sectionIndex: number, insn: number): ObjectFunction | undefined {
  return obj.sections.get(sectionIndex)?.functions.find((f) => insn >= f.startInsn && insn < f.startInsn + f.insnCount);
}

/** Links `entry` with the subprograms it reaches. */
export function linkProgram(obj: BpfObjectSpec, entry: ObjectFunction): LinkedProgram {
  const order: ObjectFunction[] = [entry];
  const calls: { func: ObjectFunction; insn: number; target: ObjectFunction; targetInsn: number; pseudoFunc: boolean }[] = [];
  for (let k = 0; k < order.length; k++) {
    const f = order[k]!;
    const sec = obj.sections.get(f.sectionIndex)!;
    const v = new DataView(sec.insns.buffer, sec.insns.byteOffset, sec.insns.byteLength);
    for (let i = f.startInsn; i < f.startInsn + f.insnCount; i++) {
      const code = v.getUint8(i * 8);
      const src = v.getUint8(i * 8 + 1) >> 4;
      const imm = v.getInt32(i * 8 + 4, true);
      const reloc = sec.relocations.get(i);
      let targetSection: number | undefined;
      let targetInsn = 0;
      let pseudoFunc = false;
      if (code === OP_CALL && src === BPF_PSEUDO_CALL) {
        if (reloc) { targetSection = reloc.symbol.sectionIndex; targetInsn = reloc.symbol.value / 8 + imm + 1; }
        else { targetSection = f.sectionIndex; targetInsn = i + imm + 1; }
      } else if (code === OP_LD_IMM64 && reloc && obj.sections.has(reloc.symbol.sectionIndex)) {
        targetSection = reloc.symbol.sectionIndex;
        targetInsn = (reloc.symbol.value + imm) / 8;
        pseudoFunc = true;
      }
      if (targetSection === undefined) continue;
      const target = funcAt(obj, targetSection, targetInsn);
      if (!target) throw new BpfObjectError(obj.path, `${f.name}: call at insn ${i} goes to no function (section ${targetSection}, insn ${targetInsn})`);
      if (!order.includes(target)) order.push(target);
      calls.push({ func: f, insn: i, target, targetInsn, pseudoFunc });
    }
  }
  const layout: { func: ObjectFunction; base: number }[] = [];
  let total = 0;
  for (const f of order) { layout.push({ func: f, base: total }); total += f.insnCount; }
  const baseOf = (f: ObjectFunction): number => layout.find((l) => l.func === f)!.base;
  const insns = new Uint8Array(total * 8);
  const funcInfos = recordsBySection(obj, obj.btfExt?.funcInfo);
  const lineInfos = recordsBySection<LineInfoRecord>(obj, obj.btfExt?.lineInfo);
  const coreInfos = recordsBySection<CoreReloRecord>(obj, obj.btfExt?.coreRelos);
  const out: LinkedProgram = { entry, insns, funcInfo: [], lineInfo: [], coreRelos: [], relocations: [], layout };
  for (const { func: f, base } of layout) {
    const sec = obj.sections.get(f.sectionIndex)!;
    insns.set(sec.insns.subarray(f.startInsn * 8, (f.startInsn + f.insnCount) * 8), base * 8);
    const inRange = (offBytes: number): boolean => offBytes / 8 >= f.startInsn && offBytes / 8 < f.startInsn + f.insnCount;
    const at = (offBytes: number): number => base + offBytes / 8 - f.startInsn;
    for (const r of funcInfos.get(sec.name) ?? []) if (inRange(r.insnOffBytes)) out.funcInfo.push({ insnOff: at(r.insnOffBytes), typeId: r.typeId });
    for (const r of lineInfos.get(sec.name) ?? []) {
      if (inRange(r.insnOffBytes)) out.lineInfo.push({ insnOff: at(r.insnOffBytes), fileNameOff: r.fileNameOff, lineOff: r.lineOff, line: r.line, column: r.column });
    }
    for (const r of coreInfos.get(sec.name) ?? []) if (inRange(r.insnOffBytes)) out.coreRelos.push({ insnIndex: at(r.insnOffBytes), record: r });
    for (const [i, reloc] of sec.relocations) {
      if (i < f.startInsn || i >= f.startInsn + f.insnCount) continue;
      if (obj.sections.has(reloc.symbol.sectionIndex)) continue; // a call or function address: handled below
      out.relocations.push({ insnIndex: base + i - f.startInsn, reloc });
    }
  }
  const v = new DataView(insns.buffer);
  for (const c of calls) {
    const pos = baseOf(c.func) + c.insn - c.func.startInsn;
    const dest = baseOf(c.target) + c.targetInsn - c.target.startInsn;
    v.setInt32(pos * 8 + 4, dest - pos - 1, true);
    if (c.pseudoFunc) {
      v.setUint8(pos * 8 + 1, (v.getUint8(pos * 8 + 1) & 0x0f) | (BPF_PSEUDO_FUNC << 4));
      v.setInt32(pos * 8 + 12, 0, true);
    }
  }
  out.funcInfo.sort((a, b) => a.insnOff - b.insnOff);
  out.lineInfo.sort((a, b) => a.insnOff - b.insnOff);
  return out;
}

/** The C source line of a linked instruction, from line_info: `file.c:42: text`. */
export function sourceLineOf(obj: BpfObjectSpec, prog: LinkedProgram, insnIndex: number): { file: string; line: number; column: number; text: string } | undefined {
  let best: LinkedLineInfo | undefined;
  for (const l of prog.lineInfo) {
    if (l.insnOff > insnIndex) break;
    best = l;
  }
  if (!best) return undefined;
  return { file: btfString(obj, best.fileNameOff), line: best.line, column: best.column, text: btfString(obj, best.lineOff).trim() };
}

/**
 * The C line of a CO-RE access: compilers hoist a relocated offset away from the statement that
 * uses it (into the line computing the base pointer), so the line of the instruction itself can
 * mislead. Prefers the nearest line of this program whose text names `word` (the field), at or
 * after the instruction first; falls back to the instruction's own line.
 */
export function sourceLineMentioning(obj: BpfObjectSpec, prog: LinkedProgram, insnIndex: number, word: string | undefined):
  { file: string; line: number; column: number; text: string } | undefined {
  const own = sourceLineOf(obj, prog, insnIndex);
  if (!word) return own;
  const re = new RegExp(`\\b${word.replace(/[^A-Za-z0-9_]/g, '')}\\b`);
  if (own && re.test(own.text)) return own;
  const hits = prog.lineInfo.filter((l) => re.test(btfString(obj, l.lineOff)));
  if (hits.length === 0) return own;
  const after = hits.filter((l) => l.insnOff >= insnIndex);
  const best = after.length > 0 ? after[0]! : hits[hits.length - 1]!;
  return { file: btfString(obj, best.fileNameOff), line: best.line, column: best.column, text: btfString(obj, best.lineOff).trim() };
}
