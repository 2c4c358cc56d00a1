/**
 * @fileoverview Reads a clang-built BPF object (ELF64 relocatable, e_machine EM_BPF) into plain
 * data: programs by SEC() name, the `.text` subprograms, relocations, BTF-defined and legacy maps,
 * global data sections, `.kconfig`/`.ksyms` externs, the object's BTF and `.BTF.ext`. Nothing
 * here touches the kernel; load-object.ts turns this into maps and loaded programs.
 */
import { readFileSync } from 'node:fs';
import { loadBtf, type Btf, type TypeId } from '../btf/index.js';
import { parseBtf, stringAt, type RawBtf } from '../btf/decode.js';
import { ElfFormatError, parseElf, readSymbols, sectionData, SHT_NOBITS, type ElfFile, type ElfSection, type ElfSymbol } from './elf.js';
import { parseBtfExt, type BtfExt } from './btf-ext.js';
import { btfMapDefinitions, legacyMapDefinitions, type MapDefinition } from './object-maps.js';

export const EM_BPF = 247;
const SHT_REL = 9;
const SHF_EXECINSTR = 4;

/** One relocation entry (Elf64_Rel) against an instruction of a program section. */
export interface ObjectRelocation {
  /** Byte offset inside the section it applies to. */
  offsetBytes: number;
  /** R_BPF_64_64 = 1, R_BPF_64_ABS64 = 2, R_BPF_64_ABS32 = 3, R_BPF_64_32 = 10. */
  type: number;
  symbol: ElfSymbol;
}

/** A function of an executable section: an entry program (SEC("...")) or a `.text` subprogram. */
export interface ObjectFunction {
  name: string;
  sectionIndex: number;
  sectionName: string;
  /** First instruction inside the section. */
  startInsn: number;
  insnCount: number;
  isProgram: boolean;
}

export interface ProgramSection {
  index: number;
  name: string;
  insns: Uint8Array;
  /** Relocations by instruction index inside the section. */
  relocations: Map<number, ObjectRelocation>;
  functions: ObjectFunction[];
}

/** A global variable in a data section, from the BTF DATASEC (or the symbol table without BTF). */
export interface DataVariable { name: string; offsetBytes: number; sizeBytes: number; typeId: TypeId | undefined }

export interface DataSection {
  /** `.rodata`, `.data`, `.bss`, `.rodata.str1.1`, `.data.custom`… */
  name: string;
  sectionIndex: number;
  readOnly: boolean;
  /** Initial contents (zeros for .bss); writable before load (`--set`). */
  bytes: Uint8Array;
  variables: DataVariable[];
  datasecTypeId: TypeId | undefined;
}

export interface ExternSymbol {
  name: string;
  section: 'kconfig' | 'ksyms';
  isFunc: boolean;
  weak: boolean;
  /** The BTF VAR/FUNC type id of the extern in the object's BTF. */
  btfId: TypeId | undefined;
  /** The variable's type (VAR's type, FUNC's proto). */
  typeId: TypeId | undefined;
  sizeBytes: number;
  alignBytes: number;
  /** Offset in the .kconfig map, assigned by layoutKconfig. */
  dataOffset: number;
}

export interface BpfObjectSpec {
  path: string;
  name: string;
  elf: ElfFile;
  license: string;
  kernVersion: number;
  btf: Btf | undefined;
  btfRaw: RawBtf | undefined;
  btfBytes: Uint8Array | undefined;
  btfExt: BtfExt | undefined;
  symbols: ElfSymbol[];
  sections: Map<number, ProgramSection>;
  programs: ObjectFunction[];
  maps: MapDefinition[];
  dataSections: DataSection[];
  externs: ExternSymbol[];
  /** Relocations of non-program sections (e.g. `.maps` for prog_array `values` initialisers). */
  dataRelocations: Map<number, ObjectRelocation[]>;
  /** Global functions with hidden visibility (`__hidden`): verified as static subprograms, as libbpf does. */
  hiddenFunctions: Set<string>;
}

export class BpfObjectError extends Error {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'BpfObjectError';
  }
}

/** A string of the object's `.BTF` string section (names in `.BTF.ext`, access strings). */
export function btfString(obj: BpfObjectSpec, offset: number): string {
  if (!obj.btfRaw) throw new BpfObjectError(obj.path, 'no .BTF section');
  return stringAt(obj.btfRaw, offset);
}

function readRelocations(elf: ElfFile, symbols: ElfSymbol[]): Map<number, ObjectRelocation[]> {
  const out = new Map<number, ObjectRelocation[]>();
  for (const s of elf.sections) {
    if (s.type !== SHT_REL) continue;
    const data = sectionData(elf, s);
    const list: ObjectRelocation[] = [];
    for (let o = 0; o + 16 <= data.length; o += 16) {
      const offsetBytes = data.readUInt32LE(o) + data.readUInt32LE(o + 4) * 0x1_0000_0000;
      const type = data.readUInt32LE(o + 8);
      const symIndex = data.readUInt32LE(o + 12);
      const symbol = symbols[symIndex - 1];
      if (!symbol) throw new ElfFormatError(elf.path, `relocation in ${s.name} names symbol ${symIndex}, which does not exist`);
      list.push({ offsetBytes, type, symbol });
    }
    out.set(s.info, list);
  }
  return out;
}

function isDataSectionName(name: string): boolean {
  return /^\.(rodata|data|bss)(\.|$)/.test(name);
}

function programSections(elf: ElfFile, symbols: ElfSymbol[], relocs: Map<number, ObjectRelocation[]>): Map<number, ProgramSection> {
  const out = new Map<number, ProgramSection>();
  for (const s of elf.sections) {
    if ((s.flags & SHF_EXECINSTR) === 0 || s.sizeBytes === 0 || s.type === SHT_NOBITS) continue;
    const insns = new Uint8Array(sectionData(elf, s));
    const relocations = new Map<number, ObjectRelocation>();
    for (const r of relocs.get(s.index) ?? []) relocations.set(r.offsetBytes / 8, r);
    const funcSyms = symbols.filter((sym) => sym.sectionIndex === s.index && sym.type === 'FUNC').sort((a, b) => a.value - b.value);
    const isText = s.name === '.text';
    const functions: ObjectFunction[] = funcSyms.map((sym) => ({
      name: sym.name,
      sectionIndex: s.index,
      sectionName: s.name,
      startInsn: sym.value / 8,
      insnCount: (sym.sizeBytes || s.sizeBytes - sym.value) / 8,
      isProgram: !isText,
    }));
    out.set(s.index, { index: s.index, name: s.name, insns, relocations, functions });
  }
  return out;
}

function dataSections(elf: ElfFile, symbols: ElfSymbol[], btf: Btf | undefined): DataSection[] {
  const out: DataSection[] = [];
  for (const s of elf.sections) {
    if (!isDataSectionName(s.name) || (s.flags & 2) === 0) continue; // SHF_ALLOC
    const bytes = s.type === SHT_NOBITS ? new Uint8Array(s.sizeBytes) : new Uint8Array(sectionData(elf, s));
    const datasecTypeId = btf?.findByName('datasec', s.name);
    let variables: DataVariable[];
    if (btf && datasecTypeId !== undefined) {
      const sec = btf.typeById(datasecTypeId);
      variables = sec.kind !== 'datasec' ? [] : sec.vars.map((v) => {
        const vt = btf.typeById(v.type);
        const name = btf.nameOf(v.type);
        const sym = symbols.find((x) => x.sectionIndex === s.index && x.name === name);
        const typeId = vt.kind === 'var' ? vt.type : undefined;
        return { name, offsetBytes: sym ? sym.value : v.offsetBytes, sizeBytes: sym?.sizeBytes || v.sizeBytes || (typeId ? btf.sizeOf(typeId) ?? 0 : 0), typeId };
      });
    } else {
      variables = symbols.filter((x) => x.sectionIndex === s.index && x.type === 'OBJECT')
        .map((x) => ({ name: x.name, offsetBytes: x.value, sizeBytes: x.sizeBytes, typeId: undefined }));
    }
    out.push({ name: s.name, sectionIndex: s.index, readOnly: s.name.startsWith('.rodata'), bytes, variables, datasecTypeId });
  }
  return out;
}

function externs(symbols: ElfSymbol[], btf: Btf | undefined, path: string): ExternSymbol[] {
  const out: ExternSymbol[] = [];
  for (const sym of symbols) {
    if (sym.sectionIndex !== 0 || !sym.name || (sym.binding !== 'GLOBAL' && sym.binding !== 'WEAK')) continue;
    if (!btf) throw new BpfObjectError(path, `extern ${sym.name} needs the object's BTF (compile with -g)`);
    let section: 'kconfig' | 'ksyms' | undefined;
    let btfId: TypeId | undefined;
    for (const secName of ['.kconfig', '.ksyms'] as const) {
      const secId = btf.findByName('datasec', secName);
      if (secId === undefined) continue;
      const sec = btf.typeById(secId);
      if (sec.kind !== 'datasec') continue;
      const v = sec.vars.find((x) => btf.nameOf(x.type) === sym.name);
      if (v) { section = secName === '.kconfig' ? 'kconfig' : 'ksyms'; btfId = v.type; break; }
    }
    const funcId = btf.findFunc(sym.name);
    if (!section && funcId !== undefined) { section = 'ksyms'; btfId = funcId; }
    if (!section || btfId === undefined) throw new BpfObjectError(path, `extern ${sym.name} is neither __kconfig nor __ksym`);
    const t = btf.typeById(btfId);
    const isFunc = t.kind === 'func';
    const typeId = t.kind === 'var' || t.kind === 'func' ? t.type : undefined;
    const sizeBytes = !isFunc && typeId !== undefined ? btf.sizeOf(typeId) ?? 0 : 0;
    const alignBytes = !isFunc && typeId !== undefined ? Math.max(1, btf.alignOf(typeId)) : 1;
    out.push({ name: sym.name, section, isFunc, weak: sym.binding === 'WEAK', btfId, typeId, sizeBytes, alignBytes, dataOffset: 0 });
  }
  layoutKconfig(out);
  return out;
}

/** Offsets of the .kconfig externs in their map: by alignment (largest first), then size, then name. */
function layoutKconfig(list: ExternSymbol[]): void {
  const kc = list.filter((e) => e.section === 'kconfig')
    .sort((a, b) => b.alignBytes - a.alignBytes || a.sizeBytes - b.sizeBytes || (a.name < b.name ? -1 : 1));
  let off = 0;
  for (const e of kc) {
    off = Math.ceil(off / e.alignBytes) * e.alignBytes;
    e.dataOffset = off;
    off += e.sizeBytes;
  }
}

/** Total size of the .kconfig map's value. */
export function kconfigSizeBytes(obj: BpfObjectSpec): number {
  return obj.externs.filter((e) => e.section === 'kconfig').reduce((m, e) => Math.max(m, e.dataOffset + e.sizeBytes), 0);
}

function objectName(path: string): string {
  const base = path.replace(/^.*\//, '');
  return base.replace(/\.(bpf\.)?o$/, '') || 'obj';
}

/** Names of FUNC symbols whose st_other visibility is STV_HIDDEN (2) or STV_INTERNAL (1). */
function hiddenFunctions(elf: ElfFile): Set<string> {
  const out = new Set<string>();
  const symtab = elf.sections.find((s) => s.type === 2);
  const strtab = symtab ? elf.sections[symtab.link] : undefined;
  if (!symtab || !strtab) return out;
  const data = sectionData(elf, symtab);
  for (let o = 24; o + 24 <= data.length; o += 24) {
    const info = data[o + 4]!;
    const visibility = data[o + 5]! & 3;
    if ((info & 0xf) !== 2 || (visibility !== 1 && visibility !== 2)) continue;
    let end = strtab.fileOffset + data.readUInt32LE(o);
    const start = end;
    while (end < elf.buf.length && elf.buf[end] !== 0) end++;
    out.add(elf.buf.toString('latin1', start, end));
  }
  return out;
}

/** Parses a BPF object from bytes. */
export function parseBpfObject(bytes: Uint8Array, path = '<buffer>'): BpfObjectSpec {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elf = parseElf(buf, path);
  if (elf.header.fileType !== 'REL' || elf.header.machine !== EM_BPF) {
    throw new BpfObjectError(path, 'not a BPF object (expected an ELF relocatable file for EM_BPF, as clang -target bpf -c makes)');
  }
  const symbols = readSymbols(elf, 'symtab');
  const relocs = readRelocations(elf, symbols);
  const sectionByName = (n: string): ElfSection | undefined => elf.sections.find((s) => s.name === n);
  const btfSec = sectionByName('.BTF');
  let btf: Btf | undefined;
  let btfRaw: RawBtf | undefined;
  let btfBytes: Uint8Array | undefined;
  if (btfSec) {
    btfBytes = new Uint8Array(sectionData(elf, btfSec));
    btfRaw = parseBtf(btfBytes);
    btf = loadBtf(btfBytes);
  }
  const extSec = sectionByName('.BTF.ext');
  const btfExt = extSec && btf ? parseBtfExt(sectionData(elf, extSec)) : undefined;
  const licSec = sectionByName('license');
  const license = licSec ? buf.toString('latin1', licSec.fileOffset, licSec.fileOffset + licSec.sizeBytes).replace(/\0[\s\S]*$/, '') : '';
  const verSec = sectionByName('version');
  const kernVersion = verSec && verSec.sizeBytes >= 4 ? buf.readUInt32LE(verSec.fileOffset) : 0;
  const sections = programSections(elf, symbols, relocs);
  const programs = [...sections.values()].flatMap((s) => s.functions.filter((f) => f.isProgram));
  const mapsSec = sectionByName('.maps');
  const legacySec = sectionByName('maps');
  const maps: MapDefinition[] = [];
  if (mapsSec) {
    if (!btf) throw new BpfObjectError(path, '.maps needs the object\'s BTF (compile with -g)');
    maps.push(...btfMapDefinitions(btf, symbols.filter((s) => s.sectionIndex === mapsSec.index && s.name), path));
  }
  if (legacySec) maps.push(...legacyMapDefinitions(sectionData(elf, legacySec), symbols.filter((s) => s.sectionIndex === legacySec.index && s.name)));
  const dataRelocations = new Map<number, ObjectRelocation[]>();
  for (const [idx, list] of relocs) if (!sections.has(idx)) dataRelocations.set(idx, list);
  return {
    path, name: objectName(path), elf, license, kernVersion, btf, btfRaw, btfBytes, btfExt, symbols, sections, programs, maps,
    dataSections: dataSections(elf, symbols, btf), externs: externs(symbols, btf, path), dataRelocations,
    hiddenFunctions: hiddenFunctions(elf),
  };
}

/** Reads and parses a BPF object file. */
export function readBpfObject(path: string): BpfObjectSpec {
  return parseBpfObject(readFileSync(path), path);
}
