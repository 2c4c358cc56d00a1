/**
 * @fileoverview Function symbols of an ELF object and the address arithmetic around them:
 * the merged, sorted function list the pid provider matches against, virtual address ↔ file
 * offset conversion through PT_LOAD segments (uprobes want file offsets), and address →
 * `symbol+offset` lookup for the user-space symboliser and USDT function names.
 */
import { type ElfFile, type ElfSymbol, type ElfSymbolBinding, loadSegments, readSymbols, SHN_UNDEF } from './elf.js';

/** A defined function (FUNC or IFUNC) with a non-zero address. */
export interface FunctionSymbol {
  name: string;
  /** Link-time virtual address. */
  value: number;
  sizeBytes: number;
  type: 'FUNC' | 'IFUNC';
  binding: ElfSymbolBinding;
}

const functionCache = new WeakMap<ElfFile, FunctionSymbol[]>();
const addressIndexCache = new WeakMap<ElfFile, FunctionSymbol[]>();

function isFunction(sym: ElfSymbol): boolean {
  return (sym.type === 'FUNC' || sym.type === 'IFUNC') && sym.sectionIndex !== SHN_UNDEF && sym.value !== 0 && sym.name !== '';
}

/**
 * The defined functions of `.symtab` and `.dynsym`, deduplicated by (name, address) and
 * sorted by address then name. Aliases (two names, one address) are both kept: each is a
 * function the pid provider can name.
 */
export function functionSymbols(elf: ElfFile): FunctionSymbol[] {
  const cached = functionCache.get(elf);
  if (cached) return cached;
  const wanted = (t: string): boolean => t === 'FUNC' || t === 'IFUNC';
  const seen = new Set<string>();
  const out: FunctionSymbol[] = [];
  for (const table of ['symtab', 'dynsym'] as const) {
    for (const sym of readSymbols(elf, table, wanted)) {
      if (!isFunction(sym)) continue;
      const key = `${sym.value}:${sym.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ name: sym.name, value: sym.value, sizeBytes: sym.sizeBytes, type: sym.type as 'FUNC' | 'IFUNC', binding: sym.binding });
    }
  }
  out.sort((a, b) => a.value - b.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  functionCache.set(elf, out);
  return out;
}

/**
 * The file offset holding virtual address `vaddr` (what a uprobe's offset is): vaddr − the
 * PT_LOAD segment's vaddr + its file offset. Undefined when no segment's file bytes cover it
 * (e.g. .bss). For a relocatable object without segments, undefined.
 */
export function fileOffsetOf(elf: ElfFile, vaddr: number): number | undefined {
  for (const seg of loadSegments(elf)) {
    if (vaddr >= seg.vaddr && vaddr < seg.vaddr + seg.fileSizeBytes) return vaddr - seg.vaddr + seg.fileOffset;
  }
  return undefined;
}

/** The inverse of fileOffsetOf: the link-time address of a file offset inside a PT_LOAD segment. */
export function vaddrOfFileOffset(elf: ElfFile, fileOffset: number): number | undefined {
  for (const seg of loadSegments(elf)) {
    if (fileOffset >= seg.fileOffset && fileOffset < seg.fileOffset + seg.fileSizeBytes) return fileOffset - seg.fileOffset + seg.vaddr;
  }
  return undefined;
}

function leadingUnderscores(name: string): number {
  let n = 0;
  while (name.charCodeAt(n) === 95) n++;
  return n;
}

/**
 * Orders aliases (symbols at one address) as libproc's byaddr_cmp_common does, the first being
 * the name DTrace gives the address: global or weak over local (global and weak alike: a
 * `#pragma weak _go = go` leaves `go`), not `$`-prefixed, fewer leading underscores (`malloc`
 * over `__libc_malloc`), then — where libproc takes the smaller — a sized symbol over an
 * unsized one (an unsized one would cover only its first byte), then the smaller, then by name.
 */
export function compareAliases(a: FunctionSymbol, b: FunctionSymbol): number {
  const aLocal = a.binding === 'LOCAL';
  const bLocal = b.binding === 'LOCAL';
  if (aLocal !== bLocal) return aLocal ? 1 : -1;
  const aDollar = a.name.startsWith('$');
  if (aDollar !== b.name.startsWith('$')) return aDollar ? 1 : -1;
  const us = leadingUnderscores(a.name) - leadingUnderscores(b.name);
  if (us !== 0) return us;
  if ((a.sizeBytes === 0) !== (b.sizeBytes === 0)) return a.sizeBytes !== 0 ? -1 : 1;
  if (a.sizeBytes !== b.sizeBytes) return a.sizeBytes - b.sizeBytes;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function preferred(a: FunctionSymbol, b: FunctionSymbol): FunctionSymbol {
  return compareAliases(a, b) <= 0 ? a : b;
}

/**
 * The functions of an object grouped by address, each group in alias preference order
 * (compareAliases): the first of a group is the name DTrace gives that address.
 */
export function aliasGroups(elf: ElfFile): FunctionSymbol[][] {
  const cached = aliasGroupCache.get(elf);
  if (cached) return cached;
  const out: FunctionSymbol[][] = [];
  for (const sym of functionSymbols(elf)) {
    const last = out[out.length - 1];
    if (last && last[0]!.value === sym.value) last.push(sym);
    else out.push([sym]);
  }
  for (const g of out) if (g.length > 1) g.sort(compareAliases);
  aliasGroupCache.set(elf, out);
  return out;
}
const aliasGroupCache = new WeakMap<ElfFile, FunctionSymbol[][]>();

/** One symbol per address (the preferred alias), sorted by address, for binary search. */
function addressIndex(elf: ElfFile): FunctionSymbol[] {
  const cached = addressIndexCache.get(elf);
  if (cached) return cached;
  const out: FunctionSymbol[] = [];
  for (const sym of functionSymbols(elf)) {
    const last = out[out.length - 1];
    if (last && last.value === sym.value) out[out.length - 1] = preferred(last, sym);
    else out.push(sym);
  }
  addressIndexCache.set(elf, out);
  return out;
}

/**
 * The function containing link-time address `addr`: the last symbol at or below it whose
 * [value, value + size) covers it (a zero-sized symbol covers only its own address).
 */
export function lookupSymbol(elf: ElfFile, addr: number): { name: string; offset: number; symbol: FunctionSymbol } | undefined {
  const index = addressIndex(elf);
  let lo = 0;
  let hi = index.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index[mid]!.value <= addr) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // A nested or overlapping symbol may end before addr while an earlier, larger one covers it
  // (e.g. a cold part placed inside); look back a few entries.
  for (let i = found; i >= 0 && i > found - 8; i--) {
    const sym = index[i]!;
    const offset = addr - sym.value;
    if (offset === 0 || offset < sym.sizeBytes) return { name: sym.name, offset, symbol: sym };
  }
  return undefined;
}
