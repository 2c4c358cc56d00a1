/**
 * @fileoverview Kernel symbols from /proc/kallsyms, for printing kernel stacks, `sym()`,
 * `func()`, `mod()` and `%a`. The file has ≈122k text symbols and decoding it into objects
 * costs ≈235 ms (MACHINE.md), so it is loaded only when a kernel address is first printed,
 * in one pass over the raw bytes into typed arrays; names are decoded only for the symbols
 * actually looked up.
 *
 * Addresses: kernel text lives in the top of the address space (0xffff…), above 2^53, so the
 * arrays hold the low 48 bits as exact doubles; the top 16 bits must be all ones, which every
 * x86-64 kernel address satisfies (canonical form).
 */
import { readFileSync } from 'node:fs';

/** The parsed text symbols, sorted by address. */
export interface KernelSymbolTable {
  buf: Buffer;
  count: number;
  /** Low 48 bits of each symbol's address, ascending. */
  addrLow48: Float64Array;
  nameStart: Uint32Array;
  nameEnd: Uint32Array;
  /** Index into `modules`, or -1 for the kernel proper (`vmlinux`). */
  moduleIndex: Int32Array;
  modules: string[];
  /** False when kptr_restrict hides the addresses (all read as zero). */
  addressesVisible: boolean;
}

export interface KernelSymbol {
  name: string;
  /** The module (`ext4`), or undefined for the kernel proper. */
  module?: string;
  offset: number;
}

const KERNEL_HIGH16 = 0xffffn << 48n;
const LOW48 = (1n << 48n) - 1n;
/** A gap larger than this after the nearest symbol means the address is not in its code. */
const MAX_SYMBOL_REACH_BYTES = 0x100000;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) { HEX[97 + i] = 10 + i; HEX[65 + i] = 10 + i; }

/** Whether a kallsyms type letter is code: t/T text, w/W weak (text in practice). */
function isTextType(c: number): boolean {
  return c === 0x74 || c === 0x54 || c === 0x77 || c === 0x57;
}

/**
 * Parses kallsyms text (`ffffffff81000000 T _stext\n`, modules as `name\t[mod]`) in one pass
 * over the bytes, keeping text symbols only.
 */
export function parseKallsyms(buf: Buffer): KernelSymbolTable {
  // Upper bound on the line count: one symbol per 20 bytes at least.
  const cap = Math.ceil(buf.length / 20) + 1;
  let addr = new Float64Array(cap);
  let nameStart = new Uint32Array(cap);
  let nameEnd = new Uint32Array(cap);
  let moduleIndex = new Int32Array(cap);
  const modules: string[] = [];
  const moduleIds = new Map<string, number>();
  let n = 0;
  let anyNonZero = false;
  let sorted = true;
  let prev = -1;
  const len = buf.length;
  let i = 0;
  while (i < len) {
    const nl0 = buf.indexOf(0x0a, i);
    const nl = nl0 < 0 ? len : nl0;
    // Address: 16 hex digits on 64-bit kernels, split so both halves stay exact small ints.
    let hi = 0;
    let lo = 0;
    let digits = 0;
    if (buf[i + 16] === 0x20) {
      let a = 0;
      let b = 0;
      for (let k = 0; k < 4; k++) hi = hi * 16 + HEX[buf[i + k]!]!;
      for (let k = 4; k < 10; k++) a = a * 16 + HEX[buf[i + k]!]!;
      for (let k = 10; k < 16; k++) b = b * 16 + HEX[buf[i + k]!]!;
      lo = a * 0x100_0000 + b;
      digits = 16;
      i += 16;
      if (hi < 0 || a < 0 || b < 0) digits = 0;
    } else {
      // Any other width: digit by digit.
      while (i < nl && buf[i] !== 0x20) {
        const v = HEX[buf[i]!]!;
        hi = (hi * 16 + Math.floor(lo / 0x1000_0000_0000)) & 0xffff;
        lo = (lo % 0x1000_0000_0000) * 16 + (v < 0 ? 0 : v);
        digits++;
        i++;
      }
    }
    const type = buf[i + 1]!;
    const ns = i + 3;
    let ne = nl;
    let mod = -1;
    if (buf[nl - 1] === 0x5d) {
      // `name\t[module]`: find the tab from the end (symbol names hold no `]`).
      let t = nl - 1;
      while (t > ns && buf[t] !== 0x09) t--;
      if (buf[t] === 0x09) {
        ne = t;
        const name = buf.toString('latin1', t + 2, nl - 1);
        let id = moduleIds.get(name);
        if (id === undefined) { id = modules.length; modules.push(name); moduleIds.set(name, id); }
        mod = id;
      }
    }
    i = nl + 1;
    if (!isTextType(type) || digits === 0) continue;
    if (lo !== 0 || hi !== 0) anyNonZero = true;
    if (hi !== 0xffff && (lo !== 0 || hi !== 0)) continue; // not a kernel-half address
    if (n === addr.length) {
      const grow = <T extends Float64Array | Uint32Array | Int32Array>(a: T, make: (k: number) => T): T => { const b = make(a.length * 2); b.set(a); return b; };
      addr = grow(addr, (k) => new Float64Array(k));
      nameStart = grow(nameStart, (k) => new Uint32Array(k));
      nameEnd = grow(nameEnd, (k) => new Uint32Array(k));
      moduleIndex = grow(moduleIndex, (k) => new Int32Array(k));
    }
    if (lo < prev) sorted = false;
    prev = lo;
    addr[n] = lo;
    nameStart[n] = ns;
    nameEnd[n] = ne;
    moduleIndex[n] = mod;
    n++;
  }
  let table: KernelSymbolTable = {
    buf, count: n,
    addrLow48: addr.subarray(0, n), nameStart: nameStart.subarray(0, n), nameEnd: nameEnd.subarray(0, n),
    moduleIndex: moduleIndex.subarray(0, n), modules, addressesVisible: anyNonZero,
  };
  if (!sorted) table = sortTable(table);
  return table;
}

/** kallsyms lists the kernel in address order but modules may interleave: sort if needed. */
function sortTable(t: KernelSymbolTable): KernelSymbolTable {
  const order = new Uint32Array(t.count);
  for (let k = 0; k < t.count; k++) order[k] = k;
  order.sort((a, b) => t.addrLow48[a]! - t.addrLow48[b]! || a - b);
  const addr = new Float64Array(t.count);
  const ns = new Uint32Array(t.count);
  const ne = new Uint32Array(t.count);
  const mi = new Int32Array(t.count);
  for (let k = 0; k < t.count; k++) {
    const j = order[k]!;
    addr[k] = t.addrLow48[j]!;
    ns[k] = t.nameStart[j]!;
    ne[k] = t.nameEnd[j]!;
    mi[k] = t.moduleIndex[j]!;
  }
  return { ...t, addrLow48: addr, nameStart: ns, nameEnd: ne, moduleIndex: mi };
}

let loaded: KernelSymbolTable | undefined;

/** The running kernel's symbols, read from /proc/kallsyms on first use. */
export function kernelSymbols(): KernelSymbolTable {
  if (!loaded) loaded = parseKallsyms(readFileSync('/proc/kallsyms'));
  return loaded;
}

function toLow48(addr: bigint | number): number | undefined {
  const a = BigInt.asUintN(64, BigInt(addr));
  if ((a & KERNEL_HIGH16) !== KERNEL_HIGH16) return undefined;
  return Number(a & LOW48);
}

/** The symbol containing a kernel address, with the offset into it. */
export function lookupKernel(addr: bigint | number, table: KernelSymbolTable = kernelSymbols()): KernelSymbol | undefined {
  if (!table.addressesVisible) return undefined;
  const x = toLow48(addr);
  if (x === undefined) return undefined;
  const a = table.addrLow48;
  let lo = 0;
  let hi = table.count - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  if (found < 0) return undefined;
  // Aliases share an address (`_stext`, `_text`): the first listed one wins, as in kallsyms.
  while (found > 0 && a[found - 1] === a[found]) found--;
  const offset = x - a[found]!;
  if (offset > MAX_SYMBOL_REACH_BYTES) return undefined;
  const name = table.buf.toString('latin1', table.nameStart[found]!, table.nameEnd[found]!);
  const m = table.moduleIndex[found]!;
  return m >= 0 ? { name, module: table.modules[m]!, offset } : { name, offset };
}

/** DTrace's kernel frame text: ``vmlinux`do_syscall_64+0x5c``, ``ext4`ext4_read`` (exact), `0xaddr`. */
export function formatKernelAddress(addr: bigint | number, table?: KernelSymbolTable): string {
  const sym = lookupKernel(addr, table);
  if (!sym) return `0x${BigInt.asUintN(64, BigInt(addr)).toString(16)}`;
  const mod = sym.module ?? 'vmlinux';
  return sym.offset === 0 ? `${mod}\`${sym.name}` : `${mod}\`${sym.name}+0x${sym.offset.toString(16)}`;
}

/** `sym()`/`func()`: ``module`name`` without the offset. */
export function formatKernelFunction(addr: bigint | number, table?: KernelSymbolTable): string {
  const sym = lookupKernel(addr, table);
  if (!sym) return `0x${BigInt.asUintN(64, BigInt(addr)).toString(16)}`;
  return `${sym.module ?? 'vmlinux'}\`${sym.name}`;
}

/** `mod()`: the module name (`vmlinux` for the kernel proper). */
export function formatKernelModule(addr: bigint | number, table?: KernelSymbolTable): string {
  const sym = lookupKernel(addr, table);
  if (!sym) return `0x${BigInt.asUintN(64, BigInt(addr)).toString(16)}`;
  return sym.module ?? 'vmlinux';
}

/**
 * The address of a kernel text symbol by name (first match; `module` restricts it; `anyType`
 * accepts data symbols too, for D's `` `name ``). Uses a byte search for the name in the file
 * instead of decoding every name.
 */
export function kernelSymbolAddress(name: string, module?: string, table: KernelSymbolTable = kernelSymbols(), anyType = false): bigint | undefined {
  const needle = Buffer.from(` ${name}`, 'latin1');
  const buf = table.buf;
  let from = 0;
  for (;;) {
    const at = buf.indexOf(needle, from);
    if (at < 0) return undefined;
    from = at + 1;
    const end = at + needle.length;
    const term = buf[end];
    if (term !== 0x0a && term !== 0x09 && end !== buf.length) continue;
    // The line must be `<hex> <type> <name>`: the type letter sits right before the space.
    if (buf[at - 2] !== 0x20 || (!anyType && !isTextType(buf[at - 1]!))) continue;
    if (module !== undefined) {
      const lineModule = term === 0x09 ? buf.toString('latin1', end + 2, buf.indexOf(0x5d, end)) : 'vmlinux';
      if (lineModule !== module) continue;
    }
    let lineStart = at - 2;
    while (lineStart > 0 && buf[lineStart - 1] !== 0x0a) lineStart--;
    return BigInt(`0x${buf.toString('latin1', lineStart, at - 2)}`);
  }
}
