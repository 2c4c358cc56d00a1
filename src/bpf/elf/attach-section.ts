/**
 * @fileoverview Attaching an object's program where its SEC() name says, with the same
 * attachment code the providers use (src/bpf/link.ts): tracepoints, raw tracepoints, BTF
 * tracing (tp_btf, fentry/fexit, lsm), kprobes and syscall kprobes, uprobes by symbol.
 */
import { arch } from 'node:os';
import type { BpfProgram } from '../program.js';
import { attachKprobe, attachRawTracepoint, attachTracepoint, attachTracing, attachUprobe, type Link } from '../link.js';
import { readElfFile } from './elf.js';
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

/** `path:function[+offset]` or `path:0xOFFSET` → file offset inside `path`. */
export function uprobeTarget(target: string): { path: string; fileOffset: number } {
  const colon = target.lastIndexOf(':');
  if (colon <= 0) throw new Error(`uprobe target "${target}" is not PATH:FUNCTION[+OFFSET]`);
  const path = target.slice(0, colon);
  const { name, offset } = splitOffset(target.slice(colon + 1));
  if (/^0x[0-9a-f]+$/i.test(name)) return { path, fileOffset: Number(name) + offset };
  const elf = readElfFile(path);
  const sym = functionSymbols(elf).find((s) => s.name === name);
  if (!sym) throw new Error(`${path} has no function ${name}`);
  const fileOffset = fileOffsetOf(elf, sym.value);
  if (fileOffset === undefined) throw new Error(`${path}: function ${name} is not in a loaded segment`);
  return { path, fileOffset: fileOffset + offset };
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
    case 'usdt':
      try { return attachUsdt(prog, def.target, { ...(options.usdt ?? { specs: undefined, nextSpecId: () => 0 }), ...(options.pid !== undefined ? { pid: options.pid } : {}) }); } catch (e) {
        return fail((e as Error).message);
      }
    case 'perf_event': return fail('perf_event programs are attached to a perf event the caller chooses; nothing to attach by section');
    case 'none': return [];
  }
}
