/**
 * @fileoverview Pointing an object's instructions at kernel objects: `ld_imm64` of a map becomes
 * BPF_PSEUDO_MAP_FD, of a global variable BPF_PSEUDO_MAP_VALUE (the data section's map plus the
 * offset), of a `__kconfig` extern the `.kconfig` map value, of a `__ksym` variable its vmlinux
 * BTF id (BPF_PSEUDO_BTF_ID); a call to a `__ksym` function becomes a kfunc call (its BTF id).
 */
import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import { BpfObjectError, type BpfObjectSpec } from './bpf-object.js';
import type { LinkedProgram } from './link-program.js';
import { Class, JmpOp, Mode, Pseudo, Size } from '../asm/insn.js';

interface MapRef { name: string; kind: 'map' | 'data' | 'kconfig'; map: { fd: number }; definition: { sectionOffsetBytes: number } | undefined; dataSection: { sectionIndex: number } | undefined }

const OP_CALL = Class.JMP | JmpOp.call;
const OP_LD_IMM64 = Class.LD | Size.DW | Mode.IMM;

let kallsymsCache: Map<string, bigint> | undefined;
function kallsymsAddress(name: string): bigint | undefined {
  if (!kallsymsCache) {
    kallsymsCache = new Map();
    for (const line of readFileSync('/proc/kallsyms', 'utf8').split('\n')) {
      const [addr, , sym] = line.split(/\s+/);
      if (sym && addr && !kallsymsCache.has(sym)) kallsymsCache.set(sym, BigInt(`0x${addr}`));
    }
  }
  return kallsymsCache.get(name);
}

function setImm64(v: DataView, pos: number, src: number, lo: number, hi: number): void {
  v.setUint8(pos * 8 + 1, (v.getUint8(pos * 8 + 1) & 0x0f) | (src << 4));
  v.setInt32(pos * 8 + 4, lo | 0, true);
  v.setInt32(pos * 8 + 12, hi | 0, true);
}

export function applyDataRelocations(obj: BpfObjectSpec, linked: LinkedProgram, maps: readonly MapRef[], kernelBtf: () => Btf): void {
  const v = new DataView(linked.insns.buffer, linked.insns.byteOffset, linked.insns.byteLength);
  const mapsSec = obj.elf.sections.find((s) => s.name === '.maps')?.index;
  const legacySec = obj.elf.sections.find((s) => s.name === 'maps')?.index;
  const fail = (pos: number, why: string): never => { throw new BpfObjectError(obj.path, `program '${linked.entry.name}', insn ${pos}: ${why}`); };
  for (const { insnIndex: pos, reloc } of linked.relocations) {
    const code = v.getUint8(pos * 8);
    const imm = v.getInt32(pos * 8 + 4, true);
    const sym = reloc.symbol;
    if (code === OP_CALL) {
      const ext = obj.externs.find((e) => e.name === sym.name && e.isFunc);
      if (!ext) fail(pos, `call to unknown function ${sym.name}`);
      const id = kernelBtf().findFunc(sym.name);
      if (id === undefined) {
        if (!ext!.weak) fail(pos, `kfunc ${sym.name} is not in the running kernel's BTF`);
        v.setInt32(pos * 8 + 4, 0, true);
        continue;
      }
      v.setUint8(pos * 8 + 1, (v.getUint8(pos * 8 + 1) & 0x0f) | (Pseudo.KFUNC_CALL << 4));
      v.setInt32(pos * 8 + 4, id, true);
      v.setInt16(pos * 8 + 2, 0, true);
      continue;
    }
    if (code !== OP_LD_IMM64) fail(pos, `relocation against ${sym.name || 'a section'} on an instruction that is not a 64-bit load`);
    if (sym.sectionIndex === mapsSec || sym.sectionIndex === legacySec) {
      const off = sym.type === 'SECTION' ? imm : sym.value;
      const m = maps.find((x) => x.kind === 'map' && (sym.type === 'SECTION' ? x.definition?.sectionOffsetBytes === off : x.name === sym.name));
      if (!m) fail(pos, `no map for symbol ${sym.name}`);
      setImm64(v, pos, Pseudo.MAP_FD, m!.map.fd, 0);
      continue;
    }
    if (sym.sectionIndex !== 0) {
      const m = maps.find((x) => x.kind === 'data' && x.dataSection?.sectionIndex === sym.sectionIndex);
      if (!m) fail(pos, `no data map for the section of ${sym.name || 'a section symbol'}`);
      setImm64(v, pos, Pseudo.MAP_VALUE, m!.map.fd, imm + sym.value);
      continue;
    }
    const ext = obj.externs.find((e) => e.name === sym.name);
    if (!ext) fail(pos, `undefined symbol ${sym.name}`);
    if (ext!.section === 'kconfig') {
      const m = maps.find((x) => x.kind === 'kconfig');
      if (!m) fail(pos, 'no .kconfig map');
      setImm64(v, pos, Pseudo.MAP_VALUE, m!.map.fd, ext!.dataOffset + imm);
      continue;
    }
    // A __ksym variable: typed (its BTF VAR in vmlinux) or typeless (`const void`, by kallsyms address).
    const typed = ext!.typeId !== undefined && obj.btf !== undefined && obj.btf.typeById(obj.btf.resolve(ext!.typeId)).kind !== 'void';
    const id = typed ? kernelBtf().findByName('var', sym.name) : undefined;
    if (id !== undefined) { setImm64(v, pos, Pseudo.BTF_ID, id, 0); continue; }
    const addr = typed ? undefined : kallsymsAddress(sym.name);
    if (addr !== undefined && addr !== 0n) { setImm64(v, pos, 0, Number(addr & 0xffffffffn), Number(addr >> 32n)); continue; }
    if (!ext!.weak) fail(pos, `__ksym ${sym.name} is not in the running kernel${typed ? "'s BTF" : "'s /proc/kallsyms"}`);
    setImm64(v, pos, 0, 0, 0);
  }
}
