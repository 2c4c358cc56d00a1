/**
 * @fileoverview A process's address space as the pid provider sees it: /proc/PID/maps
 * parsed into mappings, grouped into modules (the executable and its shared objects, named
 * by base name as DTrace does), and pid probe descriptions resolved into uprobe sites
 * (path + file offset). Pure except for reading /proc and the ELF files; attaching is the
 * provider's job (src/providers/pid.ts).
 */
import { readFileSync, readlinkSync, existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type ElfFile, readElfFile } from './elf.js';
import { fileOffsetOf, functionSymbols } from './symbols.js';
import { isGlob, matchGlob, matchProbeField } from './glob.js';
import { instructionOffsets } from './x86-length.js';

/** One line of /proc/PID/maps. */
export interface MapEntry {
  start: number;
  end: number;
  /** e.g. `r-xp` */
  perms: string;
  /** Offset in the file of the mapping's first byte. */
  fileOffset: number;
  /** `major:minor` in hex, as the kernel prints it. */
  dev: string;
  inode: number;
  /** The file, a pseudo name (`[heap]`, `[vdso]`), or '' for anonymous memory. */
  path: string;
  /** The file was unlinked after mapping (the kernel appends ` (deleted)`). */
  deleted: boolean;
}

/** An object mapped by a process: the executable or a shared library. */
export interface ProcessModule {
  /** DTrace's module name: the file's base name (`libc.so.6`, `python3.11`). */
  name: string;
  path: string;
  dev: string;
  inode: number;
  isExecutable: boolean;
  mappings: MapEntry[];
}

/** A pid probe resolved to a place a uprobe can go. */
export interface PidSite {
  pid: number;
  /** The object to probe, as the kernel should open it. */
  path: string;
  /** Where the uprobe goes: for `return` the function start (the caller attaches a uretprobe). */
  fileOffset: number;
  module: string;
  /** The function name, or `-` for an absolute-address probe. */
  function: string;
  /** Link-time address of the function (or of the instruction for `-` probes). */
  symbolAddr: number;
  /** `entry`, `return` or the hex offset as written. */
  probeName: string;
  kind: 'entry' | 'return' | 'offset';
}

/** Parses the text of /proc/PID/maps. */
export function parseProcMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    let path = m[7]!;
    const deleted = path.endsWith(' (deleted)');
    if (deleted) path = path.slice(0, -' (deleted)'.length);
    out.push({
      start: parseInt(m[1]!, 16),
      end: parseInt(m[2]!, 16),
      perms: m[3]!,
      fileOffset: parseInt(m[4]!, 16),
      dev: m[5]!,
      inode: Number(m[6]!),
      path,
      deleted,
    });
  }
  return out;
}

export function readProcMaps(pid: number): MapEntry[] {
  return parseProcMaps(readFileSync(`/proc/${pid}/maps`, 'latin1'));
}

/** The executable's path (without a ` (deleted)` suffix), or undefined if the process is gone. */
export function executablePath(pid: number): string | undefined {
  try {
    const p = readlinkSync(`/proc/${pid}/exe`);
    return p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p;
  } catch {
    return undefined;
  }
}

/**
 * Groups file-backed mappings into modules, in address order of their first mapping.
 * `exePath` marks the executable (default: the first file mapped, which is what the kernel
 * maps first for a normal exec).
 */
export function modulesOfMaps(maps: MapEntry[], exePath?: string): ProcessModule[] {
  const byKey = new Map<string, ProcessModule>();
  for (const m of maps) {
    if (m.inode === 0 || !m.path.startsWith('/')) continue;
    const key = `${m.dev}:${m.inode}:${m.path}`;
    let mod = byKey.get(key);
    if (!mod) {
      mod = { name: basename(m.path), path: m.path, dev: m.dev, inode: m.inode, isExecutable: false, mappings: [] };
      byKey.set(key, mod);
    }
    mod.mappings.push(m);
  }
  const modules = [...byKey.values()];
  const exe = exePath !== undefined ? modules.find((m) => m.path === exePath) : modules[0];
  if (exe) exe.isExecutable = true;
  return modules;
}

/** The modules of a live process. */
export function processModules(pid: number): ProcessModule[] {
  return modulesOfMaps(readProcMaps(pid), executablePath(pid));
}

/**
 * Whether a module description field names this module: the base name, the full path, the
 * base name cut at any `.` (`libc`, `libc.so` for `libc.so.6`), and `a.out` for the executable.
 */
export function matchModule(pattern: string | undefined, mod: ProcessModule): boolean {
  if (pattern === undefined || pattern === '') return true;
  if (mod.isExecutable && pattern === 'a.out') return true;
  if (matchGlob(pattern, mod.name) || matchGlob(pattern, mod.path)) return true;
  for (let i = mod.name.indexOf('.'); i > 0; i = mod.name.indexOf('.', i + 1)) {
    if (matchGlob(pattern, mod.name.slice(0, i))) return true;
  }
  return false;
}

const elfCache = new Map<string, ElfFile | Error>();

/**
 * The parsed ELF of a mapped object, cached by path + device + inode so a replaced file is
 * read again. Files not visible in our mount namespace are read through /proc/PID/root.
 */
export function moduleElf(mod: ProcessModule, pid?: number): ElfFile | undefined {
  const key = `${mod.path}\0${mod.dev}\0${mod.inode}`;
  let entry = elfCache.get(key);
  if (entry === undefined) {
    try {
      entry = readElfFile(openablePath(mod.path, pid, mod.inode));
    } catch (e) {
      entry = e instanceof Error ? e : new Error(String(e));
    }
    elfCache.set(key, entry);
  }
  return entry instanceof Error ? undefined : entry;
}

/** Drops every cached ELF file (tests; long-running consumers after many processes). */
export function clearElfCache(): void {
  elfCache.clear();
}

/**
 * A path to the object that the kernel and we can open: the path itself when it still names
 * the same inode, else through /proc/PID/root (another mount namespace).
 */
export function openablePath(path: string, pid: number | undefined, inode?: number): string {
  try {
    if (existsSync(path) && (inode === undefined || statSync(path).ino === inode)) return path;
  } catch {
    // fall through
  }
  if (pid !== undefined) {
    const viaRoot = `/proc/${pid}/root${path}`;
    if (existsSync(viaRoot)) return viaRoot;
  }
  return path;
}

export interface PidProbeDesc {
  module?: string;
  function?: string;
  name?: string;
}

/**
 * Resolves `pid<PID>:<module>:<function>:<name>` into uprobe sites. Name: `entry`, `return`,
 * a hex instruction offset inside the function, or a glob (which matches entry and return
 * only: per-instruction probes need a disassembler). Function `-` with a hex name is an
 * absolute address in the executable. Offsets outside the function give no site.
 */
export function resolvePidProbes(pid: number, desc: PidProbeDesc): PidSite[] {
  return resolvePidProbesIn(pid, processModules(pid), desc);
}

/** resolvePidProbes over an already listed set of modules (testable without a process). */
export function resolvePidProbesIn(pid: number, modules: ProcessModule[], desc: PidProbeDesc): PidSite[] {
  const sites: PidSite[] = [];
  const name = desc.name ?? '';
  const isHexName = /^[0-9a-fA-F]+$/.test(name);
  for (const mod of modules) {
    if (!matchModule(desc.module, mod)) continue;
    const elf = moduleElf(mod, pid);
    if (!elf) continue;
    const path = openablePath(mod.path, pid, mod.inode);

    if (desc.function === '-') {
      // Absolute address in the executable: `pid123:a.out:-:4005d0`.
      if (!mod.isExecutable || !isHexName) continue;
      const addr = parseInt(name, 16);
      const off = fileOffsetOf(elf, addr);
      if (off === undefined) continue;
      sites.push({ pid, path, fileOffset: off, module: mod.name, function: '-', symbolAddr: addr, probeName: name, kind: 'offset' });
      continue;
    }

    const exactFunction = desc.function !== undefined && desc.function !== '' && !isGlob(desc.function) ? desc.function : undefined;
    for (const sym of functionSymbols(elf)) {
      if (exactFunction !== undefined ? sym.name !== exactFunction : !matchProbeField(desc.function, sym.name)) continue;
      const start = fileOffsetOf(elf, sym.value);
      if (start === undefined) continue;
      const base = { pid, path, module: mod.name, function: sym.name, symbolAddr: sym.value };
      if (isHexName && name !== '') {
        const offset = parseInt(name, 16);
        // Only offsets inside the function; a zero-sized symbol has only offset 0.
        if (offset !== 0 && offset >= sym.sizeBytes) continue;
        sites.push({ ...base, fileOffset: start + offset, probeName: name.toLowerCase(), kind: 'offset' });
        continue;
      }
      if (matchProbeField(name, 'entry')) sites.push({ ...base, fileOffset: start, probeName: 'entry', kind: 'entry' });
      // No return probe on the object's entry point (`_start`): it never returns, and the
      // uretprobe's hijacked return address is, there, the process's argc (dapptrace -c broke
      // the traced program).
      const entryPoint = elf.header.entry !== 0 && sym.value === elf.header.entry;
      if (matchProbeField(name, 'return') && !entryPoint) sites.push({ ...base, fileOffset: start, probeName: 'return', kind: 'return' });
      // An empty or glob name also names the function's instructions, by hex offset (DTrace's
      // glob offset probes): `pid$1::main:` is entry, return and every instruction of main.
      if (name === '' || isGlob(name)) {
        for (const offset of instructionOffsetsOf(elf, start, sym.sizeBytes)) {
          const probeName = offset.toString(16);
          if (matchProbeField(name, probeName)) sites.push({ ...base, fileOffset: start + offset, probeName, kind: 'offset' });
        }
      }
    }
  }
  return sites;
}

/**
 * The offsets of a function's instructions (its bytes at `fileOffset` in the file): decoded on
 * x86-64, every 4 bytes on arm64; only offset 0 for a symbol without a size or bytes that do not
 * decode from its start.
 */
function instructionOffsetsOf(elf: ElfFile, fileOffset: number, sizeBytes: number): number[] {
  if (sizeBytes === 0 || fileOffset + sizeBytes > elf.buf.length) return [0];
  if (process.arch === 'arm64') return Array.from({ length: Math.floor(sizeBytes / 4) }, (_, i) => i * 4);
  if (process.arch !== 'x64') return [0];
  const { offsets } = instructionOffsets(elf.buf.subarray(fileOffset, fileOffset + sizeBytes));
  return offsets.length > 0 ? offsets : [0];
}

/** The mapping of a process containing `addr`, by binary search over sorted maps. */
export function mappingAt(maps: MapEntry[], addr: number): MapEntry | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid]!;
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}
