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

const BINDING_RANK: Record<ElfSymbolBinding, number> = { GLOBAL: 0, WEAK: 1, UNIQUE: 1, LOCAL: 2, OTHER: 3 };

function leadingUnderscores(name: string): number {
  let n = 0;
  while (name.charCodeAt(n) === 95) n++;
  return n;
}

/**
 * Which of two aliases names an address (after libproc's sym_prefer): global over weak over
 * local, then fewer leading underscores (`malloc` over `__libc_malloc`), then a sized symbol,
 * then the shorter and alphabetically first name so the choice is stable.
 */
function preferred(a: FunctionSymbol, b: FunctionSymbol): FunctionSymbol {
  const rank = BINDING_RANK[a.binding] - BINDING_RANK[b.binding];
  if (rank !== 0) return rank < 0 ? a : b;
  const us = leadingUnderscores(a.name) - leadingUnderscores(b.name);
  if (us !== 0) return us < 0 ? a : b;
  if ((a.sizeBytes === 0) !== (b.sizeBytes === 0)) return a.sizeBytes !== 0 ? a : b;
  if (a.name.length !== b.name.length) return a.name.length < b.name.length ? a : b;
  return a.name <= b.name ? a : b;
}

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
