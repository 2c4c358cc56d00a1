/**
 * @fileoverview Attaching an object's program where its SEC() name says, with the same
 * attachment code the providers use (src/bpf/link.ts): tracepoints, raw tracepoints, BTF
 * tracing (tp_btf, fentry/fexit, lsm), kprobes and syscall kprobes, uprobes by symbol, and the
 * multi links (kprobe.multi/GLOB, uprobe.multi/PATH:GLOB) with one link for every match.
 */
import { existsSync, readFileSync } from 'node:fs';
import { arch } from 'node:os';
import type { BpfProgram } from '../program.js';
import { attachKprobe, attachKprobeMulti, attachRawTracepoint, attachTracepoint, attachTracing, attachUprobe, attachUprobeMulti, type Link } from '../link.js';
import { tracefsRoot } from '../tracefs.js';
import { readElfFile } from './elf.js';
import { matchGlob } from './glob.js';
import { fileOffsetOf, functionSymbols } from './symbols.js';
import type { SectionDef } from './section-defs.js';
import { attachUsdt, type UsdtAttachContext } from './usdt-attach.js';

export class SectionAttachError extends Error {
  constructor(readonly program: string, readonly section: string, reason: string) {
    super(`program '${program}' (SEC("${section}")): ${reason}`);
    this.name = 'SectionAttachError';
  }
}

/** The kernel's syscall entry symbol prefix (the wrappers pt_regs-based syscalls go through). */
function syscallPrefix(): string {
  return arch() === 'arm64' ? '__arm64_sys_' : arch() === 's390x' ? '__s390x_sys_' : '__x64_sys_';
}

function splitOffset(spec: string): { name: string; offset: number } {
  const m = /^(.*?)(?:\+(0x[0-9a-fA-F]+|\d+))?$/.exec(spec)!;
  return { name: m[1]!, offset: m[2] ? Number(m[2]) : 0 };
}

/** Where a library named without a directory (`libc.so.6`) is looked for, as libbpf does. */
function libraryDirs(): string[] {
  const multiarch = arch() === 'arm64' ? 'aarch64-linux-gnu' : arch() === 's390x' ? 's390x-linux-gnu' : 'x86_64-linux-gnu';
  return [`/lib/${multiarch}`, `/usr/lib/${multiarch}`, '/lib64', '/usr/lib64', '/lib', '/usr/lib'];
}

/**
 * The file a uprobe section names: a path as given, or a bare name resolved as libbpf resolves it —
 * a shared library (`libc.so.6`) in the system library directories, a program in the system's
 * binary directories (fixed, not PATH: nothing in the environment steers what a root tracer probes).
 */
export function resolveBinaryPath(name: string): string {
  if (name.includes('/')) return name;
  const dirs = name.includes('.so') ? libraryDirs() : ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  throw new Error(`${name} is not found in ${dirs.join(':')}`);
}

function splitBinaryTarget(target: string, form: string): { path: string; spec: string } {
  const colon = target.lastIndexOf(':');
  if (colon <= 0) throw new Error(`uprobe target "${target}" is not ${form}`);
  return { path: resolveBinaryPath(target.slice(0, colon)), spec: target.slice(colon + 1) };
}

/** `path:function[+offset]` or `path:0xOFFSET` → file offset inside `path`. */
export function uprobeTarget(target: string): { path: string; fileOffset: number } {
  const { path, spec } = splitBinaryTarget(target, 'PATH:FUNCTION[+OFFSET]');
  const { name, offset } = splitOffset(spec);
  if (/^0x[0-9a-f]+$/i.test(name)) return { path, fileOffset: Number(name) + offset };
  const elf = readElfFile(path);
  const sym = functionSymbols(elf).find((s) => s.name === name);
  if (!sym) throw new Error(`${path} has no function ${name}`);
  const fileOffset = fileOffsetOf(elf, sym.value);
  if (fileOffset === undefined) throw new Error(`${path}: function ${name} is not in a loaded segment`);
  return { path, fileOffset: fileOffset + offset };
}

/**
 * `path:GLOB` → the file offsets of every function of `path` whose name matches, one per address
 * (aliases of one function fire once), in address order.
 */
export function uprobeMultiTargets(target: string): { path: string; fileOffsets: number[] } {
  const { path, spec } = splitBinaryTarget(target, 'PATH:GLOB');
  const elf = readElfFile(path);
  const offsets = new Set<number>();
  for (const sym of functionSymbols(elf)) {
    if (!matchGlob(spec, sym.name)) continue;
    const off = fileOffsetOf(elf, sym.value);
    if (off !== undefined) offsets.add(off);
  }
  if (offsets.size === 0) throw new Error(`no function of ${path} matches ${spec}`);
  return { path, fileOffsets: [...offsets] };
}

/**
 * The kernel functions matching `glob` that ftrace can hook (tracefs available_filter_functions,
 * what kprobe_multi attaches through), each name once; ftrace's placeholders for unresolvable
 * addresses are left out as libbpf leaves them out.
 */
export function kprobeMultiTargets(glob: string, listing?: string): string[] {
  const text = listing ?? readFileSync(`${tracefsRoot()}/available_filter_functions`, 'utf8');
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.split(' ')[0]!;
    if (name === '' || name.startsWith('__ftrace_invalid_address__')) continue;
    if (matchGlob(glob, name)) names.add(name);
  }
  if (names.size === 0) throw new Error(`no kernel function matches ${glob}`);
  return [...names];
}

/** Attaches `prog` per its section definition; returns no link for sections with nothing to attach. */
export function attachBySection(prog: BpfProgram, section: string, def: SectionDef,
  options: { pid?: number; usdt?: UsdtAttachContext } = {}): Link[] {
  const fail = (why: string): never => { throw new SectionAttachError(prog.name, section, why); };
  switch (def.attach) {
    case 'tracepoint': {
      const slash = def.target.indexOf('/');
      if (slash <= 0) fail('expected tracepoint/CATEGORY/NAME');
      return [attachTracepoint(prog, def.target.slice(0, slash), def.target.slice(slash + 1))];
    }
    case 'raw_tracepoint': return [attachRawTracepoint(prog, def.target)];
    case 'tracing': return [attachTracing(prog, `${section}`)];
    case 'kprobe': case 'kretprobe': {
      const { name, offset } = splitOffset(def.target);
      return [attachKprobe(prog, { func: name, offset, retprobe: def.attach === 'kretprobe' })];
    }
    case 'ksyscall': case 'kretsyscall':
      return [attachKprobe(prog, { func: `${syscallPrefix()}${def.target}`, retprobe: def.attach === 'kretsyscall' })];
    case 'uprobe': case 'uretprobe': {
      let t: { path: string; fileOffset: number };
      try { t = uprobeTarget(def.target); } catch (e) { return fail((e as Error).message); }
      return [attachUprobe(prog, { path: t.path, fileOffset: t.fileOffset, retprobe: def.attach === 'uretprobe', ...(options.pid !== undefined ? { pid: options.pid } : {}) })];
    }
    case 'kprobe_multi': case 'kretprobe_multi': {
      let funcs: string[];
      try { funcs = kprobeMultiTargets(def.target); } catch (e) { return fail((e as Error).message); }
      return [attachKprobeMulti(prog, { funcs, retprobe: def.attach === 'kretprobe_multi' })];
    }
    case 'uprobe_multi': case 'uretprobe_multi': {
      let t: { path: string; fileOffsets: number[] };
      try { t = uprobeMultiTargets(def.target); } catch (e) { return fail((e as Error).message); }
      return [attachUprobeMulti(prog, { path: t.path, offsets: t.fileOffsets, retprobe: def.attach === 'uretprobe_multi', ...(options.pid !== undefined ? { pid: options.pid } : {}) })];
    }
    case 'usdt':
      try { return attachUsdt(prog, def.target, { ...(options.usdt ?? { specs: undefined, nextSpecId: () => 0 }), ...(options.pid !== undefined ? { pid: options.pid } : {}) }); } catch (e) {
        return fail((e as Error).message);
      }
    case 'perf_event': return fail('perf_event programs are attached to a perf event the caller chooses; nothing to attach by section');
    case 'none': return [];
  }
}
