/**
 * @fileoverview tracefs: tracepoint ids, `format` files and event lists (for `-l`). tracefs is
 * not mounted at boot on this kind of machine, so the first use mounts it at /sys/kernel/tracing
 * (as root). Only read-only files are used: never `uprobe_events`/`kprobe_events`, whose probes
 * outlive the tracer (design/MACHINE.md).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mount, sysError } from './sys.js';
import { Errno } from './uapi.js';

const CANDIDATE_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
let rootCache: string | undefined;

/** The tracefs mount point, mounting it at /sys/kernel/tracing first if needed. */
export function tracefsRoot(): string {
  if (rootCache) return rootCache;
  for (const dir of mountedTracefs()) {
    if (existsSync(`${dir}/events`)) return (rootCache = dir);
  }
  for (const dir of CANDIDATE_ROOTS) {
    if (existsSync(`${dir}/events`)) return (rootCache = dir);
  }
  mount('nodev', CANDIDATE_ROOTS[0], 'tracefs', 0, `mount tracefs at ${CANDIDATE_ROOTS[0]}`);
  return (rootCache = CANDIDATE_ROOTS[0]);
}

/** Mount points of tracefs listed in /proc/mounts. */
function mountedTracefs(): string[] {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n')
      .map((line) => line.split(' '))
      .filter((f) => f[2] === 'tracefs')
      .map((f) => f[1]);
  } catch {
    return [];
  }
}

function readEventFile(category: string, name: string, file: string, attempt: string): string {
  if (!/^[\w.-]+$/.test(category) || !/^[\w.-]+$/.test(name)) {
    throw sysError('open', Errno.EINVAL, attempt, `bad tracepoint name ${category}:${name}`);
  }
  const path = `${tracefsRoot()}/events/${category}/${name}/${file}`;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const errno = code === 'ENOENT' ? Errno.ENOENT : code === 'EACCES' ? Errno.EACCES : code === 'EPERM' ? Errno.EPERM : Errno.EIO;
    throw sysError('open', errno, attempt, code === 'ENOENT' ? `no tracepoint ${category}:${name}` : path);
  }
}

/** The perf event id (events/<category>/<name>/id) of a tracepoint. */
export function tracepointId(category: string, name: string): number {
  return Number.parseInt(readEventFile(category, name, 'id', `find tracepoint ${category}:${name}`), 10);
}

/** One `field:` line of a tracepoint format file. */
export interface TracepointField {
  name: string;
  /** The C declaration's type text, e.g. 'const char *', 'unsigned char', '__data_loc char[]'. */
  type: string;
  offsetBytes: number;
  sizeBytes: number;
  signed: boolean;
  /** Element count for `type name[N]` fields. */
  arrayLength?: number;
  /** `__data_loc` fields hold (length << 16 | offset) of a variable-size tail. */
  dataLoc: boolean;
  /** common_type, common_pid, …: the header every record of every event starts with. */
  common: boolean;
}

export interface TracepointFormat {
  category: string;
  name: string;
  id: number;
  fields: TracepointField[];
  printFmt: string;
}

/** Parses the text of an events/<category>/<name>/format file. */
export function parseTracepointFormat(text: string, category = ''): TracepointFormat {
  let name = '';
  let id = -1;
  let printFmt = '';
  const fields: TracepointField[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('name:')) name = line.slice(5).trim();
    else if (line.startsWith('ID:')) id = Number.parseInt(line.slice(3), 10);
    else if (line.startsWith('print fmt:')) printFmt = line.slice(10).trim();
    else if (line.startsWith('field:')) {
      const parts: Record<string, string> = {};
      for (const part of line.split(';')) {
        const at = part.indexOf(':');
        if (at > 0) parts[part.slice(0, at).trim()] = part.slice(at + 1).trim();
      }
      const decl = parts.field ?? '';
      const m = /^(.*?)\s*([A-Za-z_]\w*)\s*(?:\[(\w*)\])?$/.exec(decl);
      if (!m) continue;
      let type = m[1].trim();
      const dataLoc = type.startsWith('__data_loc');
      let arrayLength: number | undefined;
      if (m[3] !== undefined) {
        if (/^\d+$/.test(m[3])) arrayLength = Number(m[3]);
        else type += `[${m[3]}]`; // `char name[]` or a macro length: keep it as text
      }
      fields.push({
        name: m[2],
        type: arrayLength !== undefined ? `${type}[${arrayLength}]` : type,
        offsetBytes: Number(parts.offset ?? 0),
        sizeBytes: Number(parts.size ?? 0),
        signed: parts.signed === '1',
        ...(arrayLength !== undefined ? { arrayLength } : {}),
        dataLoc,
        common: m[2].startsWith('common_'),
      });
    }
  }
  return { category, name, id, fields, printFmt };
}

/** Reads and parses a tracepoint's format file. */
export function tracepointFormat(category: string, name: string): TracepointFormat {
  return parseTracepointFormat(readEventFile(category, name, 'format', `read the format of tracepoint ${category}:${name}`), category);
}

/** Every tracepoint (available_events), as category/name pairs. */
export function listTracepoints(): { category: string; name: string }[] {
  const root = tracefsRoot();
  let text: string;
  try {
    text = readFileSync(`${root}/available_events`, 'utf8');
  } catch {
    // Some kernels restrict available_events; the directory tree has the same names.
    const out: { category: string; name: string }[] = [];
    for (const category of readdirSync(`${root}/events`, { withFileTypes: true })) {
      if (!category.isDirectory()) continue;
      for (const ev of readdirSync(`${root}/events/${category.name}`, { withFileTypes: true })) {
        if (ev.isDirectory()) out.push({ category: category.name, name: ev.name });
      }
    }
    return out;
  }
  const out: { category: string; name: string }[] = [];
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) out.push({ category: line.slice(0, at), name: line.slice(at + 1) });
  }
  return out;
}

/** Tracepoint categories (syscalls, sched, …), sorted. */
export function listTracepointCategories(): string[] {
  return [...new Set(listTracepoints().map((t) => t.category))].sort();
}
