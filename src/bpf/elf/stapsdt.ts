/**
 * @fileoverview USDT probes from SystemTap `stapsdt` ELF notes (what <sys/sdt.h> and our
 * `dtrace -h` header emit, and what python3, postgres and libc carry): note decoding, the
 * prelink fix-up through `.stapsdt.base`, file offsets of the probe and its semaphore (the
 * uprobe offset and ref_ctr_offset), the argument string parsed into operands, and where an
 * operand lives in x86-64 `struct pt_regs`. DTrace's naming on Linux: provider
 * `<provider><PID>`, module = object base name, function = containing ELF symbol, and `__`
 * in the probe name shown as `-`.
 */
import { basename } from 'node:path';
import { type ElfFile, readElfFile, readNotes, readSymbols, stapsdtBaseAddress } from './elf.js';
import { fileOffsetOf, functionSymbols, lookupSymbol } from './symbols.js';
import { matchProbeField } from './glob.js';
import { moduleElf, openablePath, processModules, type ProcessModule } from './procmaps.js';

/** Note type of a stapsdt probe descriptor (owner "stapsdt"). */
export const NT_STAPSDT = 3;

/** One argument of a USDT probe, from a spec like `-4@-16(%rbp)`. */
export interface UsdtOperand {
  /** 1, 2, 4 or 8. */
  sizeBytes: number;
  signed: boolean;
  location: UsdtLocation;
  /** The spec as written in the note. */
  text: string;
}

export type UsdtLocation =
  | { kind: 'register'; register: string }
  | { kind: 'constant'; value: bigint }
  /**
   * `disp(%base,%index,scale)`: the value is read from user memory at
   * base + index * scale + displacement (+ the symbol's address when there is one).
   */
  | {
    kind: 'memory'; base?: string; index?: string; scale: number; displacement: number; symbol?: string;
    /** The symbol's link-time address, filled in by usdtProbesOfElf when the object defines it. */
    symbolVaddr?: number;
  };

export interface UsdtProbe {
  /** Provider as written in the note (`python`); the probe's provider is `<provider><PID>`. */
  provider: string;
  /** Probe name as written in the note (`function__entry`). */
  noteName: string;
  /** DTrace's probe name: `__` → `-` (`function-entry`). */
  name: string;
  /** Object base name (DTrace's module). */
  module: string;
  path: string;
  /** Containing function, or `-` when the object has no symbol covering the probe. */
  function: string;
  /** Link-time address of the probe instruction, after the prelink fix-up. */
  pc: number;
  /** File offset of the probe instruction: where the uprobe goes. */
  pcFileOffset: number;
  /** Link-time address of the 16-bit semaphore (0 = none). */
  semaphore: number;
  /** File offset of the semaphore: the uprobe's ref_ctr_offset (undefined = none). */
  semaphoreFileOffset?: number;
  /** The raw argument string. */
  argsText: string;
  args: UsdtOperand[];
}

/**
 * Parses the operand list of a stapsdt note: space-separated `[-]SIZE@OPERAND`, where the
 * operand is AT&T syntax. Old notes without `SIZE@` default to 8 bytes, signed. Throws on a
 * spec it cannot read (an unknown register or malformed memory operand).
 */
export function parseUsdtArgs(text: string): UsdtOperand[] {
  const out: UsdtOperand[] = [];
  for (const spec of text.split(/\s+/)) {
    if (spec === '') continue;
    const m = /^(-?)(\d+)@(.*)$/.exec(spec);
    let sizeBytes = 8;
    let signed = true;
    let operand = spec;
    if (m) {
      signed = m[1] === '-';
      sizeBytes = Number(m[2]);
      operand = m[3]!;
    }
    if (![1, 2, 4, 8].includes(sizeBytes)) throw new Error(`USDT argument '${spec}': size ${sizeBytes} is not 1, 2, 4 or 8`);
    out.push({ sizeBytes, signed, location: parseOperand(operand, spec), text: spec });
  }
  return out;
}

function parseOperand(op: string, spec: string): UsdtLocation {
  if (op.startsWith('%')) {
    const register = op.slice(1);
    if (!X86_REGISTERS.has(register)) throw new Error(`USDT argument '${spec}': unknown register %${register}`);
    return { kind: 'register', register };
  }
  if (op.startsWith('$')) {
    const v = parseInteger(op.slice(1));
    if (v === undefined) throw new Error(`USDT argument '${spec}': bad constant`);
    return { kind: 'constant', value: v };
  }
  // disp(%base[,%index[,scale]]) or a bare absolute address / symbol.
  const m = /^([^()]*)(?:\((%\w+)?(?:,(%\w+)?(?:,(\d+))?)?\))?$/.exec(op);
  if (!m) throw new Error(`USDT argument '${spec}': cannot parse operand '${op}'`);
  const base = m[2]?.slice(1);
  const index = m[3]?.slice(1);
  for (const r of [base, index]) {
    if (r !== undefined && !X86_REGISTERS.has(r)) throw new Error(`USDT argument '${spec}': unknown register %${r}`);
  }
  const { displacement, symbol } = parseDisplacement(m[1]!, spec);
  return { kind: 'memory', base, index, scale: m[4] !== undefined ? Number(m[4]) : 1, displacement, ...(symbol !== undefined ? { symbol } : {}) };
}

/** `-16`, `0x10`, `sym`, `sym+8`, `8+sym`, `sym-4`: numbers summed, at most one symbol. */
function parseDisplacement(text: string, spec: string): { displacement: number; symbol?: string } {
  let displacement = 0;
  let symbol: string | undefined;
  const terms = text.match(/[+-]?[^+-]+/g) ?? [];
  for (const term of terms) {
    const negative = term.startsWith('-');
    const body = term.replace(/^[+-]/, '');
    const n = parseInteger(body);
    if (n !== undefined) {
      displacement += (negative ? -1 : 1) * Number(n);
    } else if (/^[A-Za-z_.$][\w.$@]*$/.test(body) && !negative && symbol === undefined) {
      symbol = body;
    } else {
      throw new Error(`USDT argument '${spec}': bad displacement '${text}'`);
    }
  }
  return symbol !== undefined ? { displacement, symbol } : { displacement };
}

function parseInteger(text: string): bigint | undefined {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return BigInt(t);
  if (/^-?0[xX][0-9a-fA-F]+$/.test(t)) return t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// x86-64 registers and struct pt_regs (arch/x86/include/asm/ptrace.h)

/** Byte offsets of the 64-bit registers in x86-64 `struct pt_regs`. */
export const PT_REGS_OFFSET: Readonly<Record<string, number>> = {
  r15: 0, r14: 8, r13: 16, r12: 24, rbp: 32, rbx: 40, r11: 48, r10: 56, r9: 64, r8: 72,
  rax: 80, rcx: 88, rdx: 96, rsi: 104, rdi: 112, orig_rax: 120, rip: 128, cs: 136, eflags: 144, rsp: 152, ss: 160,
};

interface RegisterPart {
  /** The full 64-bit register (a key of PT_REGS_OFFSET). */
  full: string;
  sizeBytes: number;
  /** 8 for ah/bh/ch/dh: the byte above the low byte. */
  bitShift: number;
}

function buildRegisterTable(): Map<string, RegisterPart> {
  const t = new Map<string, RegisterPart>();
  for (const x of ['a', 'b', 'c', 'd']) {
    const full = `r${x}x`;
    t.set(full, { full, sizeBytes: 8, bitShift: 0 });
    t.set(`e${x}x`, { full, sizeBytes: 4, bitShift: 0 });
    t.set(`${x}x`, { full, sizeBytes: 2, bitShift: 0 });
    t.set(`${x}l`, { full, sizeBytes: 1, bitShift: 0 });
    t.set(`${x}h`, { full, sizeBytes: 1, bitShift: 8 });
  }
  for (const x of ['si', 'di', 'bp', 'sp']) {
    const full = `r${x}`;
    t.set(full, { full, sizeBytes: 8, bitShift: 0 });
    t.set(`e${x}`, { full, sizeBytes: 4, bitShift: 0 });
    t.set(x, { full, sizeBytes: 2, bitShift: 0 });
    t.set(`${x}l`, { full, sizeBytes: 1, bitShift: 0 });
  }
  for (let n = 8; n <= 15; n++) {
    const full = `r${n}`;
    t.set(full, { full, sizeBytes: 8, bitShift: 0 });
    t.set(`r${n}d`, { full, sizeBytes: 4, bitShift: 0 });
    t.set(`r${n}w`, { full, sizeBytes: 2, bitShift: 0 });
    t.set(`r${n}b`, { full, sizeBytes: 1, bitShift: 0 });
    t.set(`r${n}l`, { full, sizeBytes: 1, bitShift: 0 });
  }
  t.set('rip', { full: 'rip', sizeBytes: 8, bitShift: 0 });
  t.set('eip', { full: 'rip', sizeBytes: 4, bitShift: 0 });
  return t;
}

const X86_REGISTERS = buildRegisterTable();

/** Where a register's value lives in pt_regs. */
export interface RegisterSlot {
  register: string;
  ptRegsOffset: number;
  /** Width of the named register (eax: 4). */
  registerSizeBytes: number;
  /** Right shift applied after loading the 64-bit slot (ah: 8). */
  bitShift: number;
}

export function registerSlot(name: string): RegisterSlot | undefined {
  const part = X86_REGISTERS.get(name);
  if (!part) return undefined;
  return { register: name, ptRegsOffset: PT_REGS_OFFSET[part.full]!, registerSizeBytes: part.sizeBytes, bitShift: part.bitShift };
}

/**
 * How the trampoline fetches an operand from a uprobe's pt_regs, then narrows it to
 * `sizeBytes` and sign- or zero-extends it (`signed`):
 * - register: load 8 bytes at ptRegsOffset, shift right by bitShift;
 * - constant: the value itself;
 * - memory: address = [base slot] + [index slot] * scale + displacement (+ the runtime address
 *   of `symbol`, which the provider resolves: for `sym(%rip)` that is just the symbol's
 *   address, so base is dropped), then bpf_probe_read_user of sizeBytes.
 */
export type UsdtArgLocation =
  | { kind: 'register'; slot: RegisterSlot; sizeBytes: number; signed: boolean }
  | { kind: 'constant'; value: bigint; sizeBytes: number; signed: boolean }
  | { kind: 'memory'; base?: RegisterSlot; index?: RegisterSlot; scale: number; displacement: number; symbol?: string; symbolVaddr?: number; sizeBytes: number; signed: boolean };

export function usdtArgLocation(operand: UsdtOperand): UsdtArgLocation {
  const { sizeBytes, signed } = operand;
  const loc = operand.location;
  switch (loc.kind) {
    case 'register':
      return { kind: 'register', slot: registerSlot(loc.register)!, sizeBytes, signed };
    case 'constant':
      return { kind: 'constant', value: loc.value, sizeBytes, signed };
    case 'memory': {
      // `sym(%rip)` is how the assembler spells "the address of sym": rip-relative addressing
      // is an encoding detail, so the base register does not take part.
      const ripRelative = loc.base === 'rip' || loc.base === 'eip';
      const base = loc.base !== undefined && !(ripRelative && loc.symbol !== undefined) ? registerSlot(loc.base) : undefined;
      const index = loc.index !== undefined ? registerSlot(loc.index) : undefined;
      return {
        kind: 'memory', scale: loc.scale, displacement: loc.displacement, sizeBytes, signed,
        ...(base ? { base } : {}), ...(index ? { index } : {}), ...(loc.symbol !== undefined ? { symbol: loc.symbol } : {}),
        ...(loc.symbolVaddr !== undefined ? { symbolVaddr: loc.symbolVaddr } : {}),
      };
    }
  }
}

/** The D type of `args[i]` for an operand: `int32_t`, `uint64_t`, … */
export function usdtArgType(operand: UsdtOperand): string {
  return `${operand.signed ? '' : 'u'}int${operand.sizeBytes * 8}_t`;
}

// ---------------------------------------------------------------------------------------------
// Notes

/** Parses the stapsdt notes of an already read ELF file. */
export function usdtProbesOfElf(elf: ElfFile, path = elf.path): UsdtProbe[] {
  const notes = readNotes(elf).filter((n) => n.owner === 'stapsdt' && n.type === NT_STAPSDT);
  if (notes.length === 0) return [];
  const sectionBase = stapsdtBaseAddress(elf);
  const hasFunctions = functionSymbols(elf).length > 0;
  const out: UsdtProbe[] = [];
  for (const note of notes) {
    const d = note.desc;
    if (d.length < 24) continue;
    let pc = readU64(d, 0);
    const recordedBase = readU64(d, 8);
    let semaphore = readU64(d, 16);
    let o = 24;
    const provider = cstr(d, o); o += provider.length + 1;
    const noteName = cstr(d, o); o += noteName.length + 1;
    const argsText = o < d.length ? cstr(d, o) : '';
    // Prelink moved the object: shift by how far .stapsdt.base moved, as systemtap does.
    if (sectionBase !== undefined && recordedBase !== 0 && sectionBase !== recordedBase) {
      const delta = sectionBase - recordedBase;
      pc += delta;
      if (semaphore !== 0) semaphore += delta;
    }
    const pcFileOffset = fileOffsetOf(elf, pc);
    if (pcFileOffset === undefined) continue; // a note for code that is not in the file
    const semaphoreFileOffset = semaphore !== 0 ? fileOffsetOf(elf, semaphore) : undefined;
    let args: UsdtOperand[];
    try {
      args = parseUsdtArgs(argsText);
    } catch {
      // A probe with an unreadable argument still fires; its arguments are unavailable.
      args = [];
    }
    for (const a of args) {
      if (a.location.kind === 'memory' && a.location.symbol !== undefined) {
        const vaddr = dataSymbols(elf).get(a.location.symbol);
        if (vaddr !== undefined) a.location.symbolVaddr = vaddr;
      }
    }
    const fn = hasFunctions ? lookupSymbol(elf, pc) : undefined;
    out.push({
      provider, noteName, name: noteName.replace(/__/g, '-'),
      module: basename(path), path,
      function: fn?.name ?? '-',
      pc, pcFileOffset, semaphore,
      ...(semaphoreFileOffset !== undefined ? { semaphoreFileOffset } : {}),
      argsText, args,
    });
  }
  return out;
}

const dataSymbolCache = new WeakMap<ElfFile, Map<string, number>>();

/** Defined symbols by name (for `sym(%rip)` operands), .symtab first. */
function dataSymbols(elf: ElfFile): Map<string, number> {
  let m = dataSymbolCache.get(elf);
  if (!m) {
    m = new Map();
    for (const table of ['symtab', 'dynsym'] as const) {
      for (const sym of readSymbols(elf, table)) {
        if (sym.sectionIndex !== 0 && sym.name !== '' && !m.has(sym.name)) m.set(sym.name, sym.value);
      }
    }
    dataSymbolCache.set(elf, m);
  }
  return m;
}

/** The USDT probes of an object file on disk (empty when it has none). */
export function readUsdtProbes(path: string): UsdtProbe[] {
  return usdtProbesOfElf(readElfFile(path), path);
}

function readU64(b: Buffer, off: number): number {
  return b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x1_0000_0000;
}

function cstr(b: Buffer, off: number): string {
  let end = off;
  while (end < b.length && b[end] !== 0) end++;
  return b.toString('latin1', off, end);
}

/** A USDT probe of a process, named as DTrace names it (`python1234:python3.11:fn:line`). */
export interface ProcessUsdtProbe {
  pid: number;
  /** `<note provider><PID>` */
  provider: string;
  module: string;
  function: string;
  name: string;
  probe: UsdtProbe;
  /** The path the kernel should open for the uprobe. */
  path: string;
}

export interface UsdtProbeDesc {
  provider?: string;
  module?: string;
  function?: string;
  name?: string;
}

/**
 * The USDT probes of every object mapped by process `pid` that match a description (glob
 * fields; empty = any). The provider field is matched against `<provider><PID>`.
 */
export function resolveUsdtProbes(pid: number, desc: UsdtProbeDesc, modules: ProcessModule[] = processModules(pid)): ProcessUsdtProbe[] {
  const out: ProcessUsdtProbe[] = [];
  for (const mod of modules) {
    const elf = moduleElf(mod, pid);
    if (!elf) continue;
    for (const probe of usdtProbesOfElf(elf, mod.path)) {
      const provider = `${probe.provider}${pid}`;
      if (!matchProbeField(desc.provider, provider)) continue;
      if (!(matchProbeField(desc.module, mod.name) || (mod.isExecutable && desc.module === 'a.out'))) continue;
      if (!matchProbeField(desc.function, probe.function)) continue;
      if (!matchProbeField(desc.name, probe.name)) continue;
      out.push({ pid, provider, module: mod.name, function: probe.function, name: probe.name, probe, path: openablePath(mod.path, pid, mod.inode) });
    }
  }
  return out;
}
