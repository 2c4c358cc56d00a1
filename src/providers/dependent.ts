/**
 * @fileoverview SDT-style providers over kernel events — dtrace-utils' "dependent probes"
 * (providers-on-linux.md §0). A proc, sched or io probe has no event of its own: it fires
 * when an underlying event fires (a raw tracepoint, or a system call's entry or return seen
 * through the `sys_enter`/`sys_exit` raw tracepoints) and a pre-condition holds, with argv[]
 * rewritten from the underlying event's arguments. args[] are then described by a table
 * (raw index, native type, translated type) that the D library's translators serve.
 *
 * One BPF program per underlying raw tracepoint serves every enabled probe that depends on
 * it: for each such probe the program tests its pre-condition, fills argv[] and runs the
 * probe's clauses, then moves on to the next one. Raw tracepoints detach in ≈0.1 ms where a
 * perf-event tracepoint takes 60–80 ms (design/MACHINE.md), and reading their arguments is
 * a plain context load.
 */
import { attachRawTracepoint } from '../bpf/link.js';
import { type Asm, R0, R1, R2, R3, R9, R10, imm, type Reg } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import { matchProbeField } from '../bpf/elf/glob.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';
import { hasRawTracepoint } from './kernel-events.js';
import { attachFbtAs, fbtSourceAttachment, type FbtAttach } from './fbt.js';
import { emitSyscallErrno } from './syscall.js';
import { providerAttributes, EVOLVING_ISA, PRIVATE_UNKNOWN } from './attributes.js';
import type {
  Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan, ProbeArgDesc, TrampolineContext, ProviderMap,
} from './provider.js';

/** An event a dependent probe fires from. */
export type Underlying =
  | { kind: 'rawtp'; tp: string }
  /** A system call's entry or return, for the listed syscall names. */
  | { kind: 'syscall'; dir: 'entry' | 'return'; syscalls: readonly string[] }
  /**
   * A kernel function's entry or return (fbt: fentry/fexit, whose context also holds the
   * arguments at return; a kprobe for an entry where the kernel has no fentry).
   */
  | { kind: 'fbt'; fn: string; dir: 'entry' | 'return' };

/** Code-generation services for a dependent probe's argument rewriting. */
export interface ArgEmitter {
  asm: Asm;
  /** Jump here to not fire the probe this time (a failed pre-condition). */
  skip: string;
  /** dst = the underlying event's raw argument i (syscall entry: the i-th syscall argument). */
  raw(i: number, dst: Reg): void;
  /** dst = a syscall's return value (return events only). */
  syscallReturn(dst: Reg): void;
  /**
   * dst = the `size`-byte kernel value at base + offset (0 if unreadable). `base` must not be
   * R1–R5; clobbers R0–R5.
   */
  readKernel(dst: Reg, base: Reg, offset: number, size: 1 | 2 | 4 | 8): void;
  /** argv[i] = src. */
  setArg(i: number, src: Reg): void;
  /** dst = argv[i] (as set earlier by setArg). */
  getArg(i: number, dst: Reg): void;
  /**
   * Says that this source only keeps state for a later event and never fires the probe (its code
   * ends with a jump to `skip`): the probe's clauses are not emitted after it.
   */
  neverFires(): void;
}

export interface DependentProbe {
  name: string;
  args: readonly ProbeArgDesc[];
  sources: readonly Underlying[];
  /** Pre-condition and argv rewriting for one source; registers R6–R8 are free to use. */
  emit(e: ArgEmitter, source: Underlying): void;
  /** Extra availability test beyond "some source exists" (e.g. a BTF member it reads). */
  available?(): boolean;
  /** What a user can do when the probe is missing here (which kernels have its event). */
  missingHint?: string;
  /**
   * The sources are alternatives, best first (e.g. a tracepoint of newer kernels, else a kernel
   * function): only the first one this kernel has is attached, so the probe never fires twice.
   */
  firstSourceOnly?: boolean;
  /**
   * Ways to build the probe, best first, each a set of events that work together (tracepoints
   * where the kernel has them, else kernel functions): the first set whose events all exist is
   * used, alone. `sources` then lists every event of every set (for messages).
   */
  alternatives?: readonly (readonly Underlying[])[];
  /** Maps the probe's code keeps state in between its events (per thread, say). */
  maps?: readonly ProviderMap[];
}

/** Oracle's attributes for proc, sched and io (Evolving names, Private module/function). */
export const SDT_ATTRIBUTES = providerAttributes(EVOLVING_ISA, PRIVATE_UNKNOWN, PRIVATE_UNKNOWN, EVOLVING_ISA, EVOLVING_ISA);

const syscallNr = new Map<string, number>(SYSCALLS_X86_64.map(([n, nr]) => [n, nr]));

function sourceAvailable(s: Underlying): boolean {
  if (s.kind === 'rawtp') return hasRawTracepoint(s.tp);
  if (s.kind === 'fbt') return fbtSourceAttachment(s.fn, s.dir) !== undefined;
  return s.syscalls.some((n) => syscallNr.has(n)) && hasRawTracepoint(s.dir === 'entry' ? 'sys_enter' : 'sys_exit');
}

/** The events a probe fires from on this kernel: every available source, or the first complete alternative. */
function usableSources(d: DependentProbe): readonly Underlying[] {
  if (!d.alternatives) return d.firstSourceOnly ? d.sources.filter(sourceAvailable).slice(0, 1) : d.sources.filter(sourceAvailable);
  return d.alternatives.find((set) => set.every(sourceAvailable)) ?? [];
}

/** The raw tracepoint a source attaches to (for fbt, a key naming the function and direction). */
function tracepointOf(s: Underlying): string {
  if (s.kind === 'fbt') return `fbt:${s.fn}:${s.dir}`;
  return s.kind === 'rawtp' ? s.tp : s.dir === 'entry' ? 'sys_enter' : 'sys_exit';
}

// struct pt_regs (x86_64): syscall arguments di, si, dx, r10, r8, r9; orig_ax = the syscall nr.
const SYSCALL_ARG_REGS = [112, 104, 96, 56, 72, 64];
const PT_REGS_ORIG_AX = 120;
const MAX_ARGS = 10;

/** Reads the kernel word at `base` + `offset` into dst through the scratch slot. */
function emitReadKernel(a: Asm, scratch: number, dst: Reg, base: Reg, offset: number, size: 1 | 2 | 4 | 8): void {
  a.st(8, R9, scratch, 0);
  a.mov(R3, base);
  if (offset) a.alu64('add', R3, imm(offset));
  a.mov(R1, R9).alu64('add', R1, imm(scratch)).mov(R2, imm(size)).call(Helper.probe_read_kernel);
  a.ldx(size, dst, R9, scratch);
}

function makeEmitter(t: TrampolineContext, skip: string, source: Underlying, fires: { value: boolean }): ArgEmitter {
  const a = t.asm, scratch = t.scratchOffset;
  const ctx = (dst: Reg) => a.ldx(8, dst, R10, -8);
  const fbt = source.kind === 'fbt' ? fbtSourceAttachment(source.fn, source.dir) : undefined;
  return {
    asm: a,
    skip,
    raw(i, dst) {
      if (fbt) {
        ctx(dst);
        fbt.emitRaw(a, i, dst);
        return;
      }
      if (source.kind === 'rawtp' || source.kind === 'fbt') {
        ctx(dst);
        a.ldx(8, dst, dst, 8 * i);
        return;
      }
      if (source.dir === 'return') {
        // A return event's only argument is the return value.
        if (i === 0) { ctx(dst); a.ldx(8, dst, dst, 8); } else a.mov(dst, imm(0));
        return;
      }
      if (i >= SYSCALL_ARG_REGS.length) { a.mov(dst, imm(0)); return; }
      // ctx: u64 args[2] = { struct pt_regs *regs, long id }.
      ctx(R0);
      a.ldx(8, R0, R0, 0);
      a.st(8, R9, scratch, 0);
      a.mov(R3, R0).alu64('add', R3, imm(SYSCALL_ARG_REGS[i]!));
      a.mov(R1, R9).alu64('add', R1, imm(scratch)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
      a.ldx(8, dst, R9, scratch);
    },
    syscallReturn(dst) {
      ctx(dst);
      if (fbt) fbt.emitReturnValue(a, dst);
      else a.ldx(8, dst, dst, 8);
    },
    readKernel: (dst, base, offset, size) => emitReadKernel(a, scratch, dst, base, offset, size),
    setArg: (i, src) => { a.stx(8, R9, t.argOffset(i), src); },
    getArg: (i, dst) => { a.ldx(8, dst, R9, t.argOffset(i)); },
    neverFires: () => { fires.value = false; },
  };
}

/** Leaves the current system call's number in R0 (sys_enter: ctx->id; sys_exit: regs->orig_ax). */
function emitSyscallNr(a: Asm, scratch: number, dir: 'entry' | 'return'): void {
  a.ldx(8, R0, R10, -8);
  if (dir === 'entry') { a.ldx(8, R0, R0, 8); return; }
  a.ldx(8, R0, R0, 0);
  a.st(8, R9, scratch, 0);
  a.mov(R3, R0).alu64('add', R3, imm(PT_REGS_ORIG_AX));
  a.mov(R1, R9).alu64('add', R1, imm(scratch)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
  a.ldx(8, R0, R9, scratch);
}

/** A program attaches to a raw tracepoint (its name) or to a kernel function (fbt's way). */
type DependentAttach = string | { fbt: FbtAttach };

/** One program: every (probe, source) pair that shares raw tracepoint `tp` (or fbt function). */
function tracepointPlan(provider: string, tp: string, pairs: { probe: EnabledProbe<undefined>; def: DependentProbe; source: Underlying }[]): ProgramPlan<DependentAttach, undefined> {
  const probes = [...new Set(pairs.map((p) => p.probe))];
  const maps = new Map<string, ProviderMap>();
  for (const { def } of pairs) for (const m of def.maps ?? []) maps.set(m.name, m);
  const first = pairs[0]!.source;
  const fbt = first.kind === 'fbt' ? fbtSourceAttachment(first.fn, first.dir) : undefined;
  return {
    name: `${provider}_${fbt ? fbt.name : tp}`,
    bpfType: fbt ? fbt.bpfType : 'raw_tracepoint',
    load: fbt?.load,
    attach: fbt ? { fbt: fbt.attach } : tp,
    probes,
    runMode: 'attach',
    maps: maps.size > 0 ? [...maps.values()] : undefined,
    emitTrampoline(t: TrampolineContext) {
      const a = t.asm;
      for (const { probe, def, source } of pairs) {
        const skip = a.newLabel(`skip_${def.name.replace(/-/g, '_')}`);
        if (source.kind === 'syscall') {
          const nrs = source.syscalls.map((n) => syscallNr.get(n)).filter((n): n is number => n !== undefined);
          const fire = a.newLabel('nr');
          emitSyscallNr(a, t.scratchOffset, source.dir);
          for (const nr of nrs) a.jmp('jeq', R0, imm(nr), fire);
          a.ja(skip);
          a.label(fire);
          if (source.dir === 'return') { a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8); emitSyscallErrno(t, R1); }
        }
        for (let i = 0; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
        const fires = { value: true };
        def.emit(makeEmitter(t, skip, source, fires), source);
        if (fires.value) t.emitClauses(probe.id);
        a.label(skip);
      }
      a.ja(t.exitLabel);
    },
  };
}

/** How a source is named in `-lv`. */
function describeSource(s: Underlying): string {
  if (s.kind === 'rawtp') return `tracepoint ${s.tp}`;
  if (s.kind === 'fbt') return `fbt::${s.fn}:${s.dir}`;
  return `syscall::${s.syscalls.join(',')}:${s.dir}`;
}

/**
 * An SDT-style provider from its probe table; module `vmlinux`, empty function (Oracle).
 * `showMechanism`: `-lv` names the kernel events each probe uses here.
 */
export function dependentProvider(name: string, table: readonly DependentProbe[], opts: { showMechanism?: boolean } = {}): Provider<undefined, DependentAttach> {
  let sites: ProbeSite<undefined>[] | undefined;
  const byName = new Map(table.map((d) => [d.name, d]));
  const offered = (d: DependentProbe) => usableSources(d).length > 0 && (d.available?.() ?? true);
  const available = (): ProbeSite<undefined>[] => {
    sites ??= table.filter(offered).map((d) => ({ provider: name, module: 'vmlinux', function: '', name: d.name }));
    return sites;
  };
  return {
    name,
    attributes: SDT_ATTRIBUTES,
    match(desc: ProbeDescFields): ProbeSite<undefined>[] {
      if (!matchProbeField(desc.module, 'vmlinux') || !matchProbeField(desc.function, '')) return [];
      // A literal name that is not in the table needs no look at the kernel.
      if (desc.name && !/[*?[\\]/.test(desc.name) && !byName.has(desc.name)) return [];
      return available().filter((s) => matchProbeField(desc.name, s.name));
    },
    list: () => available(),
    // A probe of the table that this kernel cannot provide is named, with what it lacks,
    // when a description asks for it: it never just disappears.
    unavailableReason(desc?: ProbeDescFields): string | undefined {
      if (!desc || !matchProbeField(desc.module, 'vmlinux') || !matchProbeField(desc.function, '')) return undefined;
      const missing = table.filter((d) => matchProbeField(desc.name, d.name) && !offered(d));
      // A glob that still matches some probes is not the reason a description failed.
      if (missing.length === 0 || table.some((d) => matchProbeField(desc.name, d.name) && offered(d))) return undefined;
      return missing.map((d) => {
        const events = d.sources.filter((src) => !sourceAvailable(src)).map((src) => (src.kind === 'rawtp' ? `raw tracepoint ${src.tp}` : src.kind === 'fbt' ? `function ${src.fn} (fbt)` : `raw tracepoint ${tracepointOf(src)}`));
        const what = events.length > 0 ? `the kernel's ${[...new Set(events)].join(' or ')}` : 'kernel data this kernel does not describe in its BTF';
        return `${name}:::${d.name} is not available on this kernel: it needs ${what}${d.missingHint ? ` (${d.missingHint})` : ''}`;
      }).join('; ');
    },
    argDescs: (site) => [...(byName.get(site.name)?.args ?? [])],
    mechanism(site) {
      const def = byName.get(site.name);
      if (!opts.showMechanism || !def) return undefined;
      return [...new Set(usableSources(def).map(describeSource))].join(', ') || undefined;
    },
    plan(enabled: EnabledProbe<undefined>[]): ProgramPlan<DependentAttach, undefined>[] {
      const byTp = new Map<string, { probe: EnabledProbe<undefined>; def: DependentProbe; source: Underlying }[]>();
      for (const probe of enabled) {
        const def = byName.get(probe.site.name);
        if (!def) continue;
        if (!(def.available?.() ?? true)) continue;
        for (const source of usableSources(def)) {
          const tp = tracepointOf(source);
          byTp.set(tp, [...(byTp.get(tp) ?? []), { probe, def, source }]);
        }
      }
      return [...byTp].map(([tp, pairs]) => tracepointPlan(name, tp, pairs));
    },
    attach(req, prog) {
      const names = req.probes.map((p) => p.name).join(',');
      if (typeof req.attach !== 'string') return attachFbtAs(req.attach.fbt, prog, `${name}:::${names}`);
      return [attachRawTracepoint(prog, req.attach, `attach ${name}:::${names} (raw tracepoint ${req.attach})`)];
    },
  };
}

/** args[] entries for a task argument shown as lwpsinfo_t * and psinfo_t * (raw index `mapping`). */
export function taskArgs(mapping: number): ProbeArgDesc[] {
  return [
    { mapping, native: 'struct task_struct *', xlate: 'lwpsinfo_t *' },
    { mapping, native: 'struct task_struct *', xlate: 'psinfo_t *' },
  ];
}

/** R0 = the current task (bpf_get_current_task), moved to `dst`. Clobbers R0–R5. */
export function emitCurrentTask(a: Asm, dst: Reg): void {
  a.call(Helper.get_current_task);
  if (dst !== R0) a.mov(dst, R0);
}
