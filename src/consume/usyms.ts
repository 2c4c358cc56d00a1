/**
 * @fileoverview User-space symbolisation for `ustack()`, `usym()`, `ufunc()`, `umod()`,
 * `uaddr()` and `%A`: a process's mappings are snapshot from /proc/PID/maps on first use (or
 * ahead of time with snapshotProcess, e.g. when tracing starts) and kept after the process
 * exits, so records drained late still resolve. Addresses map to `module`symbol+0xoff` through
 * the objects' ELF symbol tables (files cached by path + inode in src/bpf/elf/procmaps.ts).
 */
import { existsSync } from 'node:fs';
import { mappingAt, moduleElf, readProcMaps, executablePath, modulesOfMaps, type MapEntry, type ProcessModule } from '../bpf/elf/procmaps.js';
import { lookupSymbol, vaddrOfFileOffset } from '../bpf/elf/symbols.js';
import { lookupJitSymbol, type JitSymbol } from './perfmap.js';

/** What was mapped in a process when we looked. */
export interface ProcessSnapshot {
  pid: number;
  /** Sorted by start address. */
  maps: MapEntry[];
  modules: ProcessModule[];
  /** Module of each file-backed mapping, by mapping start. */
  moduleOfMapping: Map<number, ProcessModule>;
  takenAtMs: number;
  /** Addresses found in no file-backed mapping even in a snapshot taken after they were seen. */
  misses: Set<number>;
}

export interface UserSymbol {
  /** The object's base name (DTrace's module). */
  module: string;
  /** The containing function, when the object's symbols cover the address. */
  name?: string;
  /** Offset into the function, or into the mapping's file when there is no symbol. */
  offset: number;
  /** Offset of the address in the object file (what `noresolve` prints). */
  fileOffset: number;
  path: string;
}

const snapshots = new Map<number, ProcessSnapshot>();
/** How stale a snapshot may be before a miss re-reads the maps of a live process (dlopen). */
const REFRESH_AFTER_MS = 10;
/** How many distinct unknown addresses of a process may each force a re-read of its maps. */
const MAX_FORCED_REFRESHES = 256;

function takeSnapshot(pid: number, maps: MapEntry[], modules: ProcessModule[]): ProcessSnapshot {
  const moduleOfMapping = new Map<number, ProcessModule>();
  for (const mod of modules) for (const m of mod.mappings) moduleOfMapping.set(m.start, mod);
  return { pid, maps: [...maps].sort((a, b) => a.start - b.start), modules, moduleOfMapping, takenAtMs: Date.now(), misses: new Set() };
}

/**
 * Reads (or re-reads) the mappings of a process and keeps them. Returns undefined when the
 * process is gone and was never seen.
 */
export function snapshotProcess(pid: number): ProcessSnapshot | undefined {
  try {
    const maps = readProcMaps(pid);
    const snap = takeSnapshot(pid, maps, modulesOfMaps(maps, executablePath(pid)));
    if (maps.length > 0) snapshots.set(pid, snap);
    return snapshots.get(pid);
  } catch {
    return snapshots.get(pid);
  }
}

/**
 * Keeps what a process has mapped and the symbol tables of its objects, read now while it is
 * still mapped (at its exit stop, or after an execve): records drained after it is gone still
 * resolve, even when an object was deleted or lives in another mount namespace.
 */
export function keepProcessImage(pid: number): void {
  const snap = snapshotProcess(pid);
  if (snap?.pid === pid) for (const mod of snap.modules) moduleElf(mod, pid);
}

/** Builds a snapshot from given maps (tests, or a consumer that captured them itself). */
export function registerSnapshot(pid: number, maps: MapEntry[], exePath?: string): ProcessSnapshot {
  const snap = takeSnapshot(pid, maps, modulesOfMaps(maps, exePath));
  snapshots.set(pid, snap);
  return snap;
}

/** Forgets a process (or all of them). */
export function forgetProcess(pid?: number): void {
  if (pid === undefined) snapshots.clear();
  else snapshots.delete(pid);
}

function mappingFor(pid: number, addr: number): { snap: ProcessSnapshot; map: MapEntry } | undefined {
  let snap = snapshots.get(pid) ?? snapshotProcess(pid);
  if (!snap) return undefined;
  let map = mappingAt(snap.maps, addr);
  // Not mapped, or mapped anonymously in a snapshot that may predate an exec or a dlopen: look
  // again while the process lives.
  const stale = !map || !snap.moduleOfMapping.has(map.start);
  // A fresh snapshot may still predate the record (taken while the dynamic linker was mapping
  // the libraries): an address not yet known to miss is looked for again once.
  const firstMiss = stale && !snap.misses.has(addr) && snap.misses.size < MAX_FORCED_REFRESHES;
  if (stale && (firstMiss || Date.now() - snap.takenAtMs > REFRESH_AFTER_MS) && existsSync(`/proc/${pid}`)) {
    // A library loaded after the snapshot; look again once.
    const misses = snap.misses;
    snap = snapshotProcess(pid) ?? snap;
    map = mappingAt(snap.maps, addr);
    // Misses stay known across refreshes: garbage frames are not looked for again and again.
    for (const m of misses) snap.misses.add(m);
    if (!map || !snap.moduleOfMapping.has(map.start)) snap.misses.add(addr);
  }
  return map ? { snap, map } : undefined;
}

/** Resolves a user address of process `pid`. Undefined when it is in no file-backed mapping. */
export function lookupUser(pid: number, addr: bigint | number): UserSymbol | undefined {
  const a = Number(BigInt.asUintN(64, BigInt(addr)));
  const found = mappingFor(pid, a);
  if (!found) return undefined;
  const mod = found.snap.moduleOfMapping.get(found.map.start);
  if (!mod) return undefined;
  const fileOffset = a - found.map.start + found.map.fileOffset;
  const base = { module: mod.name, path: mod.path, fileOffset };
  const elf = moduleElf(mod, pid);
  if (!elf) return { ...base, offset: fileOffset };
  const vaddr = vaddrOfFileOffset(elf, fileOffset);
  const sym = vaddr !== undefined ? lookupSymbol(elf, vaddr) : undefined;
  if (!sym) return { ...base, offset: fileOffset };
  return { ...base, name: sym.name, offset: sym.offset };
}

/** JIT-compiled code (anonymous memory) named by the process's perf map; see perfmap.ts. */
function lookupJit(pid: number, addr: bigint | number): JitSymbol | undefined {
  const a = Number(BigInt.asUintN(64, BigInt(addr)));
  const found = mappingFor(pid, a);
  // Only memory that no file backs: a perf map cannot rename a library's code.
  if (found && found.snap.moduleOfMapping.has(found.map.start)) return undefined;
  return lookupJitSymbol(pid, a);
}

function jitText(sym: JitSymbol, withOffset: boolean): string {
  return withOffset && sym.offset !== 0 ? `${sym.name}+0x${sym.offset.toString(16)}` : sym.name;
}

function hex(addr: bigint | number): string {
  return `0x${BigInt.asUintN(64, BigInt(addr)).toString(16)}`;
}

/**
 * `uaddr()` / ustack frame text: ``libc.so.6`malloc+0x12``, ``prog`main`` at the symbol's
 * start, ``prog`0x1234`` (module known, no symbol), `0x7f…` (unknown). With `noresolve`:
 * `path:0xoffset` (the offset in the file).
 */
export function formatUserAddress(pid: number, addr: bigint | number, opts: { noresolve?: boolean; jitBudget?: { bytes: number } } = {}): string {
  const sym = lookupUser(pid, addr);
  if (!sym) {
    const jit = opts.noresolve ? undefined : lookupJit(pid, addr);
    const text = jit && jitText(jit, true);
    // jstack()'s string space: a JIT name is shown while it fits, with its NUL (illumos'
    // dt_print_ustack stops taking the helper's strings once they run past strsize).
    if (text !== undefined && opts.jitBudget) {
      if (opts.jitBudget.bytes < text.length + 1) { opts.jitBudget.bytes = 0; return hex(addr); }
      opts.jitBudget.bytes -= text.length + 1;
    }
    return text ?? hex(addr);
  }
  if (opts.noresolve) return `${sym.path}:0x${sym.fileOffset.toString(16)}`;
  if (sym.name === undefined) return `${sym.module}\`${hex(addr)}`;
  return sym.offset === 0 ? `${sym.module}\`${sym.name}` : `${sym.module}\`${sym.name}+0x${sym.offset.toString(16)}`;
}

/** `usym()` / `ufunc()`: ``module`function`` without the offset. */
export function formatUserFunction(pid: number, addr: bigint | number): string {
  const sym = lookupUser(pid, addr);
  if (!sym) {
    const jit = lookupJit(pid, addr);
    return jit ? jitText(jit, false) : hex(addr);
  }
  return sym.name === undefined ? `${sym.module}\`${hex(addr)}` : `${sym.module}\`${sym.name}`;
}

/** `umod()`: the object's base name. */
export function formatUserModule(pid: number, addr: bigint | number): string {
  return lookupUser(pid, addr)?.module ?? hex(addr);
}
