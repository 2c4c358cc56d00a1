/**
 * @fileoverview What the kernel offers SDT-style providers, looked up lazily and cached: raw
 * tracepoint prototypes and struct member offsets from the kernel's BTF, and the tracepoint
 * list from tracefs. proc, sched, io and rawtp ask here whether an underlying event exists
 * (an absent one simply leaves its probes out, as providers-on-linux.md §14 asks) and where a
 * field they read lives, so nothing hard-codes a kernel's layout.
 */
import { existsSync } from 'node:fs';
import { loadKernelBtf, KERNEL_BTF_PATH, type Btf } from '../bpf/btf/index.js';
import { listTracepoints } from '../bpf/tracefs.js';

let btf: Btf | undefined | null;

/** The kernel's BTF, or undefined on a kernel without it. */
export function kernelBtf(): Btf | undefined {
  if (btf === undefined) {
    try {
      btf = existsSync(KERNEL_BTF_PATH) ? loadKernelBtf() : null;
    } catch {
      btf = null;
    }
  }
  return btf ?? undefined;
}

/** One parameter of a raw tracepoint's TP_PROTO, as C spells its type. */
export interface RawTracepointParam { name: string; type: string }

const protoCache = new Map<string, RawTracepointParam[] | null>();

/**
 * The TP_PROTO arguments of raw tracepoint `tp` (from BTF `btf_trace_<tp>`, a pointer to a
 * function whose first parameter, the tracepoint's private data, is dropped); undefined when
 * the kernel has no such tracepoint or no BTF.
 */
export function rawTracepointParams(tp: string): RawTracepointParam[] | undefined {
  let cached = protoCache.get(tp);
  if (cached === undefined) {
    cached = null;
    const b = kernelBtf();
    const id = b?.findByName('typedef', `btf_trace_${tp}`);
    if (b && id !== undefined) {
      const ptr = b.typeById(b.resolve(id));
      const fn = ptr.kind === 'ptr' ? b.typeById(b.resolve(ptr.type)) : undefined;
      if (fn?.kind === 'func_proto') cached = fn.params.slice(1).map((p) => ({ name: p.name, type: b.typeToString(p.type) }));
    }
    protoCache.set(tp, cached);
  }
  return cached ?? undefined;
}

/** Whether raw tracepoint `tp` exists on this kernel. */
export function hasRawTracepoint(tp: string): boolean {
  return rawTracepointParams(tp) !== undefined;
}

const offsetCache = new Map<string, number | null>();

/**
 * Byte offset of `struct <structName>`'s member reached through `path` (through nested
 * struct members and anonymous unions), from BTF; undefined when unknown.
 */
export function memberOffset(structName: string, ...path: string[]): number | undefined {
  const key = `${structName}.${path.join('.')}`;
  let cached = offsetCache.get(key);
  if (cached === undefined) {
    cached = null;
    const b = kernelBtf();
    let id = b?.findByName('struct', structName);
    let bits = 0;
    for (const name of path) {
      if (!b || id === undefined) break;
      const found = findMember(b, id, name);
      if (!found) { id = undefined; break; }
      bits += found.bitOffset;
      id = found.type;
    }
    if (b && id !== undefined) cached = bits / 8;
    offsetCache.set(key, cached);
  }
  return cached ?? undefined;
}

function findMember(b: Btf, id: number, name: string): { bitOffset: number; type: number } | undefined {
  const t = b.typeById(b.resolve(id));
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, type: m.type };
    if (m.name === '') {
      const inner = findMember(b, m.type, name);
      if (inner) return { bitOffset: inner.bitOffset + m.bitOffset, type: inner.type };
    }
  }
  return undefined;
}

let events: { category: string; name: string }[] | undefined;

/**
 * Every tracefs event (`available_events`), read once; empty when tracefs cannot be reached
 * (not root, no tracefs): listing must not fail because one provider cannot see its events.
 */
export function tracefsEvents(): { category: string; name: string }[] {
  if (!events) {
    try {
      events = listTracepoints();
    } catch {
      events = [];
    }
  }
  return events;
}

/**
 * Event groups that are not kernel tracepoints a program can attach to by name: syscalls are
 * synthetic per-syscall views of raw_syscalls (the syscall provider's business), kprobes and
 * uprobes are dynamic probes someone created, ftrace's are the function tracer's own records.
 */
export const NON_TRACEPOINT_GROUPS: ReadonlySet<string> = new Set(['syscalls', 'kprobes', 'uprobes', 'ftrace']);

/** Whether a literal probe name can be a tracepoint's (C identifiers, lower-case in practice). */
export function couldBeEventName(name: string): boolean {
  return /^[A-Za-z_][\w]*$/.test(name);
}
