/**
 * @fileoverview A small, fast ELF64 little-endian reader over a Buffer: the file header,
 * section headers with names, program headers, notes, symbol tables, the GNU build-id,
 * `.gnu_debuglink` and the `.stapsdt.base` address. It only reads what the user-space
 * providers (pid, USDT) and the user-space symboliser need; symbols.ts, stapsdt.ts and
 * procmaps.ts build on it.
 *
 * Layouts mirror <elf.h>: Elf64_Ehdr, Elf64_Shdr, Elf64_Phdr, Elf64_Sym, Elf64_Nhdr. Addresses
 * are JS numbers: user-space addresses on x86-64 stay below 2^47, so they are exact.
 */
import { readFileSync } from 'node:fs';

/** Thrown for files that are not ELF64 little-endian objects, or are truncated/corrupt. */
export class ElfFormatError extends Error {
  readonly kind = 'ElfFormatError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
    this.name = 'ElfFormatError';
  }
}

export type ElfFileType = 'REL' | 'EXEC' | 'DYN' | 'CORE' | 'OTHER';

export interface ElfHeader {
  fileType: ElfFileType;
  /** e_machine: 62 = x86-64, 183 = aarch64. */
  machine: number;
  entry: number;
}

/** Elf64_Shdr, with its name resolved through .shstrtab. */
export interface ElfSection {
  index: number;
  name: string;
  /** sh_type: SHT_PROGBITS 1, SHT_SYMTAB 2, SHT_STRTAB 3, SHT_NOTE 7, SHT_NOBITS 8, SHT_DYNSYM 11. */
  type: number;
  flags: number;
  addr: number;
  fileOffset: number;
  sizeBytes: number;
  link: number;
  info: number;
  alignBytes: number;
  entrySizeBytes: number;
}

/** Elf64_Phdr. */
export interface ElfSegment {
  /** p_type: PT_LOAD 1, PT_DYNAMIC 2, PT_INTERP 3, PT_NOTE 4. */
  type: number;
  /** p_flags: PF_X 1, PF_W 2, PF_R 4. */
  flags: number;
  fileOffset: number;
  vaddr: number;
  fileSizeBytes: number;
  memSizeBytes: number;
  alignBytes: number;
}

export type ElfSymbolType = 'NOTYPE' | 'OBJECT' | 'FUNC' | 'SECTION' | 'FILE' | 'COMMON' | 'TLS' | 'IFUNC' | 'OTHER';
export type ElfSymbolBinding = 'LOCAL' | 'GLOBAL' | 'WEAK' | 'UNIQUE' | 'OTHER';

/** Elf64_Sym, decoded. */
export interface ElfSymbol {
  name: string;
  value: number;
  sizeBytes: number;
  type: ElfSymbolType;
  binding: ElfSymbolBinding;
  /** st_shndx: 0 = undefined (an import), 0xfff1 = absolute, else a section index. */
  sectionIndex: number;
  table: 'symtab' | 'dynsym';
}

/** One Elf64_Nhdr record: owner name, type and the descriptor bytes (a view, not a copy). */
export interface ElfNote {
  owner: string;
  type: number;
  desc: Buffer;
  /** Offset of the descriptor in the file. */
  descFileOffset: number;
}

export interface ElfFile {
  path: string;
  buf: Buffer;
  header: ElfHeader;
  sections: ElfSection[];
  segments: ElfSegment[];
}

export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const SHN_UNDEF = 0;
/** NT_GNU_BUILD_ID, owner "GNU". */
export const NT_GNU_BUILD_ID = 3;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SYM_SIZE = 24;

function u64(buf: Buffer, off: number): number {
  // Two 32-bit halves are several times faster than readBigUInt64LE and exact below 2^53.
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x1_0000_0000;
}

/** Reads a NUL-terminated string at `off` (latin1: ELF names are bytes). */
export function cString(buf: Buffer, off: number, limit = buf.length): string {
  let end = off;
  while (end < limit && buf[end] !== 0) end++;
  return buf.toString('latin1', off, end);
}

/** Parses the headers of an ELF64 LE image; section contents are read on demand. */
export function parseElf(buf: Buffer, path = '<buffer>'): ElfFile {
  if (buf.length < EHDR_SIZE || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
    throw new ElfFormatError(path, 'not an ELF file');
  }
  if (buf[4] !== 2) throw new ElfFormatError(path, 'not a 64-bit ELF file');
  if (buf[5] !== 1) throw new ElfFormatError(path, 'not a little-endian ELF file');
  const eType = buf.readUInt16LE(16);
  const fileType: ElfFileType = eType === 1 ? 'REL' : eType === 2 ? 'EXEC' : eType === 3 ? 'DYN' : eType === 4 ? 'CORE' : 'OTHER';
  const header: ElfHeader = { fileType, machine: buf.readUInt16LE(18), entry: u64(buf, 24) };
  const phOff = u64(buf, 32);
  const shOff = u64(buf, 40);
  const phEntSize = buf.readUInt16LE(54);
  let phNum = buf.readUInt16LE(56);
  const shEntSize = buf.readUInt16LE(58);
  let shNum = buf.readUInt16LE(60);
  let shStrIndex = buf.readUInt16LE(62);

  const sections: ElfSection[] = [];
  if (shOff !== 0) {
    if (shEntSize < SHDR_SIZE) throw new ElfFormatError(path, `bad section header size ${shEntSize}`);
    if (shOff + SHDR_SIZE > buf.length) throw new ElfFormatError(path, 'section headers beyond end of file');
    // Extended numbering (more than 0xff00 sections): the real counts live in section 0.
    if (shNum === 0) shNum = u64(buf, shOff + 32);
    if (shStrIndex === 0xffff) shStrIndex = buf.readUInt32LE(shOff + 40);
    if (phNum === 0xffff) phNum = buf.readUInt32LE(shOff + 44);
    if (shOff + shNum * shEntSize > buf.length) throw new ElfFormatError(path, 'section headers beyond end of file');
    for (let i = 0; i < shNum; i++) {
      const o = shOff + i * shEntSize;
      sections.push({
        index: i,
        name: '',
        type: buf.readUInt32LE(o + 4),
        flags: u64(buf, o + 8),
        addr: u64(buf, o + 16),
        fileOffset: u64(buf, o + 24),
        sizeBytes: u64(buf, o + 32),
        link: buf.readUInt32LE(o + 40),
        info: buf.readUInt32LE(o + 44),
        alignBytes: u64(buf, o + 48),
        entrySizeBytes: u64(buf, o + 56),
      });
    }
    const strtab = sections[shStrIndex];
    if (strtab && strtab.fileOffset + strtab.sizeBytes <= buf.length) {
      const limit = strtab.fileOffset + strtab.sizeBytes;
      for (let i = 0; i < shNum; i++) {
        const nameOff = buf.readUInt32LE(shOff + i * shEntSize);
        sections[i]!.name = cString(buf, strtab.fileOffset + nameOff, limit);
      }
    }
  }

  const segments: ElfSegment[] = [];
  if (phOff !== 0 && phNum > 0) {
    if (phEntSize < PHDR_SIZE || phOff + phNum * phEntSize > buf.length) {
      throw new ElfFormatError(path, 'program headers beyond end of file');
    }
    for (let i = 0; i < phNum; i++) {
      const o = phOff + i * phEntSize;
      segments.push({
        type: buf.readUInt32LE(o),
        flags: buf.readUInt32LE(o + 4),
        fileOffset: u64(buf, o + 8),
        vaddr: u64(buf, o + 16),
        fileSizeBytes: u64(buf, o + 32),
        memSizeBytes: u64(buf, o + 40),
        alignBytes: u64(buf, o + 48),
      });
    }
  }
  return { path, buf, header, sections, segments };
}

/** Reads and parses an ELF file. Errors from the file system propagate (ENOENT, EACCES). */
export function readElfFile(path: string): ElfFile {
  return parseElf(readFileSync(path), path);
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** The bytes of a section (a view). NOBITS sections (.bss) have none. */
export function sectionData(elf: ElfFile, section: ElfSection): Buffer {
  if (section.type === SHT_NOBITS) return Buffer.alloc(0);
  const end = section.fileOffset + section.sizeBytes;
  if (end > elf.buf.length) throw new ElfFormatError(elf.path, `section ${section.name} beyond end of file`);
  return elf.buf.subarray(section.fileOffset, end);
}

const SYMBOL_TYPES: Record<number, ElfSymbolType> = {
  0: 'NOTYPE', 1: 'OBJECT', 2: 'FUNC', 3: 'SECTION', 4: 'FILE', 5: 'COMMON', 6: 'TLS', 10: 'IFUNC',
};
const SYMBOL_BINDINGS: Record<number, ElfSymbolBinding> = { 0: 'LOCAL', 1: 'GLOBAL', 2: 'WEAK', 10: 'UNIQUE' };

/**
 * All entries of `.symtab` or `.dynsym` (the null symbol 0 skipped). `filter` sees the raw
 * st_info byte before the name is decoded, so callers can skip most symbols cheaply.
 */
export function readSymbols(
  elf: ElfFile,
  table: 'symtab' | 'dynsym',
  filter?: (type: ElfSymbolType) => boolean,
): ElfSymbol[] {
  const wantedType = table === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM;
  const section = elf.sections.find((s) => s.type === wantedType);
  if (!section) return [];
  const strtab = elf.sections[section.link];
  if (!strtab) return [];
  const buf = elf.buf;
  const data = sectionData(elf, section);
  const strBase = strtab.fileOffset;
  const strLimit = strtab.fileOffset + strtab.sizeBytes;
  const entSize = section.entrySizeBytes || SYM_SIZE;
  const out: ElfSymbol[] = [];
  for (let o = entSize; o + SYM_SIZE <= data.length; o += entSize) {
    const info = data[o + 4]!;
    const type = SYMBOL_TYPES[info & 0xf] ?? 'OTHER';
    if (filter && !filter(type)) continue;
    const nameOff = data.readUInt32LE(o);
    out.push({
      name: nameOff === 0 ? '' : cString(buf, strBase + nameOff, strLimit),
      value: u64(data, o + 8),
      sizeBytes: u64(data, o + 16),
      type,
      binding: SYMBOL_BINDINGS[info >> 4] ?? 'OTHER',
      sectionIndex: data.readUInt16LE(o + 6),
      table,
    });
  }
  return out;
}

function align(n: number, to: number): number {
  return (n + to - 1) & ~(to - 1);
}

/** Parses the notes in a byte range; `alignBytes` is 8 only for 8-aligned note sections. */
function parseNotes(buf: Buffer, start: number, sizeBytes: number, alignBytes: number): ElfNote[] {
  const notes: ElfNote[] = [];
  const a = alignBytes === 8 ? 8 : 4;
  const end = Math.min(start + sizeBytes, buf.length);
  let o = start;
  while (o + 12 <= end) {
    const nameSize = buf.readUInt32LE(o);
    const descSize = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const nameOff = o + 12;
    const descOff = nameOff + align(nameSize, a);
    if (descOff + descSize > end) break;
    // The owner's size counts its NUL.
    const owner = buf.toString('latin1', nameOff, nameOff + Math.max(0, nameSize - 1));
    notes.push({ owner, type, desc: buf.subarray(descOff, descOff + descSize), descFileOffset: descOff });
    o = descOff + align(descSize, a);
  }
  return notes;
}

/**
 * Notes from the SHT_NOTE sections (optionally only the one named `sectionName`), or, for a
 * file without section headers, from the PT_NOTE segments.
 */
export function readNotes(elf: ElfFile, sectionName?: string): ElfNote[] {
  const noteSections = elf.sections.filter((s) => s.type === SHT_NOTE && (sectionName === undefined || s.name === sectionName));
  if (noteSections.length > 0 || elf.sections.length > 0) {
    return noteSections.flatMap((s) => parseNotes(elf.buf, s.fileOffset, s.sizeBytes, s.alignBytes));
  }
  return elf.segments
    .filter((p) => p.type === PT_NOTE)
    .flatMap((p) => parseNotes(elf.buf, p.fileOffset, p.fileSizeBytes, p.alignBytes));
}

/** The GNU build-id as lowercase hex, if the file has one. */
export function buildId(elf: ElfFile): string | undefined {
  const note = readNotes(elf).find((n) => n.owner === 'GNU' && n.type === NT_GNU_BUILD_ID);
  return note?.desc.toString('hex');
}

/** `.gnu_debuglink`: the separate debug file's name and its CRC32. */
export function debugLink(elf: ElfFile): { fileName: string; crc32: number } | undefined {
  const s = findSection(elf, '.gnu_debuglink');
  if (!s) return undefined;
  const data = sectionData(elf, s);
  const fileName = cString(data, 0);
  const crcOff = align(fileName.length + 1, 4);
  if (crcOff + 4 > data.length) return undefined;
  return { fileName, crc32: data.readUInt32LE(crcOff) };
}

/** The link-time address of `.stapsdt.base`, which USDT notes are relative to (prelink fix-up). */
export function stapsdtBaseAddress(elf: ElfFile): number | undefined {
  return findSection(elf, '.stapsdt.base')?.addr;
}

/** PT_LOAD segments, in file order. */
export function loadSegments(elf: ElfFile): ElfSegment[] {
  return elf.segments.filter((p) => p.type === PT_LOAD);
}
