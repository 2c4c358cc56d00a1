/**
 * @fileoverview Symbols of JIT-compiled code from a process's perf map, `/tmp/perf-<pid>.map`,
 * the text file that `node --perf-basic-prof`, the JVM's perf-map agent, .NET, LuaJIT and others
 * write: one line per compiled function, `START SIZE NAME` with START and SIZE in hex. Such code
 * lives in anonymous memory, where ELF symbol tables cannot help; with the map, `ustack()` and
 * `jstack()` frames name the JavaScript (or Java …) function.
 *
 * The tracer runs as root and the file sits in a world-writable directory at a predictable path,
 * so it is read only if it is a regular file, not a symbolic link, owned by root or by the
 * process's own user, and writable by nobody else: a file another user planted for a pid cannot
 * change what we print.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

export interface JitSymbol {
  name: string;
  /** Offset of the address into the function. */
  offset: number;
}

interface PerfMap {
  /** Sorted by start; parallel arrays keep a large map (100k+ functions) compact. */
  starts: Float64Array;
  ends: Float64Array;
  names: string[];
  /** Bytes of the file that were parsed: a JIT appends, so a miss re-reads only when it grew. */
  parsedBytes: number;
}

/** The uid owning process `pid` (real uid, from /proc/PID/status), or undefined if it is gone. */
function processUid(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the perf map of `pid` if it is safe to trust (see the file comment); undefined otherwise. */
function readTrusted(pid: number, path: string, ownerUid: number | undefined): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.uid !== 0 && st.uid !== ownerUid) return undefined;
    if ((st.mode & 0o022) !== 0) return undefined;
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const n = readSync(fd, buf, got, st.size - got, got);
      if (n <= 0) break;
      got += n;
    }
    return buf.toString('latin1', 0, got);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Parses perf-map text (exported for tests). Later lines win where entries overlap (recompiled code). */
export function parsePerfMap(text: string): PerfMap {
  const entries: { start: number; end: number; name: string }[] = [];
  // The last line may be half written by the JIT: only whole lines count.
  const whole = text.slice(0, text.lastIndexOf('\n') + 1);
  for (const line of whole.split('\n')) {
    const m = /^(?:0x)?([0-9a-fA-F]+)\s+(?:0x)?([0-9a-fA-F]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1]!, 16);
    const size = parseInt(m[2]!, 16);
    if (!Number.isFinite(start) || size <= 0) continue;
    entries.push({ start, end: start + size, name: m[3]!.trim() });
  }
  // Stable sort by start keeps file order among equal starts; the lookup takes the last match.
  entries.sort((a, b) => a.start - b.start);
  const starts = new Float64Array(entries.length);
  const ends = new Float64Array(entries.length);
  const names: string[] = [];
  entries.forEach((e, i) => { starts[i] = e.start; ends[i] = e.end; names.push(e.name); });
  return { starts, ends, names, parsedBytes: whole.length };
}

/** Finds `addr` in a parsed map. */
export function lookupPerfMap(map: PerfMap, addr: number): JitSymbol | undefined {
  let lo = 0;
  let hi = map.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map.starts[mid]! <= addr) { found = mid; lo = mid + 1; } else hi = mid - 1;
  }
  // The nearest start at or below addr may belong to a short function; look back over a few
  // overlapping ones (code moved by the JIT is listed again, at a new address).
  for (let i = found, seen = 0; i >= 0 && seen < 8; i--, seen++) {
    if (addr < map.ends[i]!) return { name: map.names[i]!, offset: addr - map.starts[i]! };
  }
  return undefined;
}

/** How often a process without a (readable) perf map is looked at again. */
const RETRY_MS = 1000;

interface MapState {
  map?: PerfMap;
  /** When the file was last found missing or untrusted. */
  missingAtMs?: number;
}
const states = new Map<number, MapState>();
/** Uids of processes seen alive, so a map can still be checked after its process exited. */
const knownOwners = new Map<number, number>();

/**
 * The JIT symbol at `addr` in process `pid`, from its perf map. The map is read on first use
 * and re-read when a miss finds the file grown (the JIT appends as it compiles); a process
 * without one is looked at again at most once a second.
 */
export function lookupJitSymbol(pid: number, addr: number, dir = '/tmp'): JitSymbol | undefined {
  let state = states.get(pid);
  if (!state) { state = {}; states.set(pid, state); }
  if (state.map) {
    const sym = lookupPerfMap(state.map, addr);
    if (sym) return sym;
  }
  if (state.missingAtMs !== undefined && Date.now() - state.missingAtMs < RETRY_MS) return undefined;
  const uid = processUid(pid);
  if (uid !== undefined) knownOwners.set(pid, uid);
  const text = readTrusted(pid, `${dir}/perf-${pid}.map`, uid ?? knownOwners.get(pid));
  if (text === undefined) { state.missingAtMs = Date.now(); return undefined; }
  state.missingAtMs = undefined;
  if (state.map && text.length <= state.map.parsedBytes) { state.missingAtMs = Date.now(); return undefined; }
  state.map = parsePerfMap(text);
  return lookupPerfMap(state.map, addr);
}

/** Records who owns `pid` while it lives, so its map can be checked after it exits. */
export function rememberProcessOwner(pid: number): void {
  const uid = processUid(pid);
  if (uid !== undefined) knownOwners.set(pid, uid);
}

/** Forgets cached perf maps (tests). */
export function forgetPerfMaps(): void {
  states.clear();
  knownOwners.clear();
}
