/**
 * @fileoverview The syscall provider: `syscall:vmlinux:<name>:entry|return`. Every entry probe
 * is served by ONE raw tracepoint program on `sys_enter` (and every return probe by one on
 * `sys_exit`) that dispatches on the system call number: a perf-event tracepoint per syscall
 * costs 60–80 ms each to detach (design/MACHINE.md), a raw tracepoint ≈ 0.1 ms.
 */
import { matchProbeField } from '../bpf/elf/glob.js';
import { attachRawTracepoint } from '../bpf/link.js';
import { type Asm, type Reg, R0, R1, R2, R3, R4, R6, R9, R10, imm } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';
import { tracepointFormat } from '../bpf/tracefs.js';
import { KERNEL_FUNCTION_ATTRIBUTES } from './attributes.js';
import { emitDispatch } from './dispatch.js';
import type { ProbeArgDesc } from './provider.js';
import type { Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan, PlanContext, ProviderMap, TrampolineContext } from './provider.js';

const byName = new Map<string, number>(SYSCALLS_X86_64.map(([n, nr]) => [n, nr]));
let allSites: ProbeSite<number>[] | undefined;
function sites(): ProbeSite<number>[] {
  allSites ??= SYSCALLS_X86_64.flatMap(([name, nr]) => (['entry', 'return'] as const).map((pn) => ({ provider: 'syscall', module: 'vmlinux', function: name, name: pn, key: nr })));
  return allSites;
}

// struct pt_regs (x86_64) offsets: r10 56, r9 64, r8 72, dx 96, si 104, di 112, orig_ax 120.
const REGS_COPY_FROM = 56;
const ARG_REG_OFFSETS = [112, 104, 96, 56, 72, 64].map((o) => o - REGS_COPY_FROM);
const ORIG_AX = 120;

/**
 * args[] of an entry probe: the fields of tracepoint syscalls/sys_enter_<name> after the
 * common header and `__syscall_nr` (openat: int, const char *, int, umode_t).
 */
function entryArgDescs(fn: string): ProbeArgDesc[] | undefined {
  try {
    return tracepointFormat('syscalls', `sys_enter_${fn}`).fields
      .filter((f) => !f.common && f.name !== '__syscall_nr')
      .map((f, mapping) => ({ mapping, native: f.type }));
  } catch {
    return undefined;
  }
}

/*
 * copyinstr() at syscall entry. A system call's string argument often sits in a page the
 * process has not touched yet (a fresh .rodata page, a just-grown stack): at sys_enter nothing
 * has faulted it in, and BPF programs on tracepoints may not sleep to fault it in themselves —
 * Linux 6.18 refuses BPF_F_SLEEPABLE for raw_tracepoint, tracepoint and tp_btf programs alike
 * ("Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable").
 * bpftrace prints an empty string then; DTrace would report an invalid address. Instead, an
 * entry probe whose clauses read `copyinstr(argN)` first tries to read those strings; when one
 * is unreadable, it runs nothing, saves its arguments and the time per thread, and its clauses
 * run at that thread's sys_exit — the kernel has copied the string by then, so its page is
 * present — with the saved arguments and timestamp. See docs/copyinstr-at-syscall-entry.md
 * for what this changes (record order, walltimestamp, stack(), cpu).
 */
const DEFERRED_PLAN = 'syscall_entry_replay';
const DEFERRED_MAP = 'sys_deferred';
// Value: u64 probe id, u64 timestamp, u64 args[6] — assembled in mstate's regs copy (64 bytes).
const DEFERRED_VALUE_BYTES = 64;
/** Threads that can be inside a deferred system call at once; least recently used go first. */
const DEFERRED_THREADS = 8192;
const BPF_ANY = 0;

/**
 * How many firings may be waiting (a hint: an entry evicted from the LRU map keeps it above
 * zero). While it is zero — nearly always — the sys_exit program leaves after one load
 * instead of a hash lookup on every system call of the machine.
 */
const DEFERRED_COUNT_MAP = 'sys_deferred_n';

const DEFERRED_MAPS: ProviderMap[] = [
  { name: DEFERRED_MAP, type: 'lru_hash', keySize: 8, valueSize: DEFERRED_VALUE_BYTES, maxEntries: DEFERRED_THREADS },
  { name: DEFERRED_COUNT_MAP, type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 },
];

/**
 * At an entry probe, with argv filled: when any of the user strings `args` is unreadable
 * without a fault, saves the firing for the return and leaves the program.
 */
function emitDeferUnreadable(t: TrampolineContext, probeId: number, args: number[], buf: { offset: number; size: number }): void {
  const a = t.asm;
  const defer = a.newLabel('defer'), readable = a.newLabel('readable');
  for (const i of args) {
    a.mov(R1, R9).alu64('add', R1, imm(buf.offset)).mov(R2, imm(buf.size - 1)).ldx(8, R3, R9, t.argOffset(i)).call(Helper.probe_read_user_str);
    a.jmp('jslt', R0, imm(0), defer);
  }
  a.ja(readable);
  a.label(defer);
  a.mov(R1, imm(probeId)).stx(8, R9, t.regsOffset, R1);
  a.call(Helper.ktime_get_ns).stx(8, R9, t.regsOffset + 8, R0);
  for (let i = 0; i < ARG_REG_OFFSETS.length; i++) a.ldx(8, R1, R9, t.argOffset(i)).stx(8, R9, t.regsOffset + 16 + 8 * i, R1);
  a.call(Helper.get_current_pid_tgid).stx(8, R9, t.scratchOffset, R0);
  a.ldMapFd(R1, DEFERRED_MAP).mov(R2, R9).alu64('add', R2, imm(t.scratchOffset)).mov(R3, R9).alu64('add', R3, imm(t.regsOffset)).mov(R4, imm(BPF_ANY));
  a.call(Helper.map_update_elem);
  a.ldMapValue(R1, DEFERRED_COUNT_MAP, 0).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
  a.ja(t.exitLabel);
  a.label(readable);
}

/** At most this many traced system calls get a prefilter (one compare each); more go straight to the dispatch. */
const PREFILTER_MAX_SYSCALLS = 16;

/**
 * Leaves at once unless the system call is one of those `probes` trace: at sys_enter its number
 * is the context's second word; at sys_exit it is the registers' orig_ax, read from the kernel
 * into the stack (a failed read gives 0, which only lets the event through to the dispatch).
 */
function emitSyscallPrefilter(a: Asm, skip: string, dir: 'entry' | 'return', probes: EnabledProbe<number>[]): void {
  const nrs = [...new Set(probes.map((p) => p.site.key!))];
  const traced = a.newLabel('traced');
  if (dir === 'entry') a.ldx(8, R2, R1, 8);
  else {
    a.mov(R6, R1).ldx(8, R3, R1, 0).alu64('add', R3, imm(ORIG_AX));
    a.mov(R1, R10).alu64('add', R1, imm(-64)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
    a.ldx(8, R2, R10, -64).mov(R1, R6);
  }
  for (const nr of nrs) a.jmp('jeq', R2, imm(nr), traced);
  a.ja(skip).label(traced);
}

/** The sys_exit program that runs, in the entry's own thread, the entry firings deferred above. */
function deferredEntryPlan(deferrable: EnabledProbe<number>[]): ProgramPlan<string, number> {
  return {
    name: DEFERRED_PLAN,
    bpfType: 'raw_tracepoint',
    attach: 'sys_exit',
    probes: deferrable,
    runMode: 'attach',
    maps: DEFERRED_MAPS,
    emitTrampoline(t) {
      const a = t.asm;
      a.ldMapValue(R1, DEFERRED_COUNT_MAP, 0).ldx(8, R1, R1, 0).jmp('jeq', R1, imm(0), t.exitLabel);
      a.call(Helper.get_current_pid_tgid).stx(8, R9, t.scratchOffset, R0);
      a.ldMapFd(R1, DEFERRED_MAP).mov(R2, R9).alu64('add', R2, imm(t.scratchOffset)).call(Helper.map_lookup_elem);
      a.jmp('jeq', R0, imm(0), t.exitLabel);
      // Copied out first: the entry is deleted before any clause runs.
      for (let off = 0; off < DEFERRED_VALUE_BYTES; off += 8) a.ldx(8, R1, R0, off).stx(8, R9, t.regsOffset + off, R1);
      a.ldMapFd(R1, DEFERRED_MAP).mov(R2, R9).alu64('add', R2, imm(t.scratchOffset)).call(Helper.map_delete_elem);
      a.ldMapValue(R1, DEFERRED_COUNT_MAP, 0).mov(R2, imm(-1)).atomicAdd(8, R1, 0, R2);
      for (let i = 0; i < 10; i++) {
        if (i < ARG_REG_OFFSETS.length) a.ldx(8, R1, R9, t.regsOffset + 16 + 8 * i).stx(8, R9, t.argOffset(i), R1);
        else a.st(8, R9, t.argOffset(i), 0);
      }
      a.ldx(8, R1, R9, t.regsOffset + 8).stx(8, R9, t.timestampOffset, R1);
      a.ldx(8, R6, R9, t.regsOffset);
      emitDispatch(t, R6, deferrable, { label: 'replay', value: (p) => p.id, keepTimestamp: true });
    },
  };
}

/** Largest error number a system call returns as -errno (include/linux/err.h MAX_ERRNO). */
const MAX_ERRNO = 4095;

/**
 * Sets `errno` for this firing from a system call's return value in `ret` (not changed):
 * -ret when the call failed (ret in [-MAX_ERRNO, -1]), else 0. Clobbers R0.
 */
export function emitSyscallErrno(t: TrampolineContext, ret: Reg): void {
  const a = t.asm;
  const done = a.newLabel('errno');
  a.mov(R0, imm(0)).jmp('jsge', ret, imm(0), done).jmp('jslt', ret, imm(-MAX_ERRNO), done);
  a.mov(R0, ret).neg(R0);
  a.label(done).stx(4, R9, t.errnoOffset, R0);
}

/** A probe's key is its syscall number; programs attach to the raw tracepoint named. */
export const syscallProvider: Provider<number, string> = {
  name: 'syscall',
  attributes: KERNEL_FUNCTION_ATTRIBUTES,
  argDescs: (site) => (site.name === 'return' ? [{ mapping: 0, native: 'long' }] : entryArgDescs(site.function)),
  match(desc: ProbeDescFields): ProbeSite<number>[] {
    if (!matchProbeField(desc.module, 'vmlinux')) return [];
    // A plain function name needs no walk of the whole table.
    if (desc.function && !/[*?[\\]/.test(desc.function)) {
      const nr = byName.get(desc.function);
      if (nr === undefined) return [];
      return (['entry', 'return'] as const).filter((n) => matchProbeField(desc.name, n))
        .map((name) => ({ provider: 'syscall', module: 'vmlinux', function: desc.function, name, key: nr }));
    }
    return sites().filter((s) => matchProbeField(desc.function, s.function) && matchProbeField(desc.name, s.name));
  },
  list: () => sites(),
  plan(probes: EnabledProbe<number>[], program?: PlanContext): ProgramPlan<string, number>[] {
    const plans: ProgramPlan<string, number>[] = [];
    // Entry probes whose clauses read a user string argument: checked before they run, and
    // replayed at the return when the string is not readable yet (see deferredEntryPlan).
    const stringArgs = new Map<number, number[]>();
    for (const p of probes) {
      const args = p.site.name === 'entry' ? (program?.userStringArgs(p.id) ?? []).filter((i) => i < ARG_REG_OFFSETS.length) : [];
      if (args.length > 0) stringArgs.set(p.id, args);
    }
    // Attached first: it must be in place before the entry program defers anything, and it
    // runs before the return program on sys_exit, so a replayed entry precedes its return.
    if (stringArgs.size > 0) plans.push(deferredEntryPlan(probes.filter((p) => stringArgs.has(p.id))));
    for (const dir of ['entry', 'return'] as const) {
      const mine = probes.filter((p) => p.site.name === dir);
      if (mine.length === 0) continue;
      plans.push({
        name: `syscall_${dir}`,
        bpfType: 'raw_tracepoint',
        attach: dir === 'entry' ? 'sys_enter' : 'sys_exit',
        probes: mine,
        runMode: 'attach',
        // Few system calls traced: other calls leave at once (see ProgramPlan.prefilter).
        ...(new Set(mine.map((p) => p.site.key!)).size <= PREFILTER_MAX_SYSCALLS ? { prefilter: (a: Asm, skip: string) => emitSyscallPrefilter(a, skip, dir, mine) } : {}),
        emitTrampoline(t) {
          const a = t.asm;
          // ctx: u64 args[2] = { struct pt_regs *regs, long id_or_ret }.
          a.ldx(8, R1, R10, -8);
          if (dir === 'entry') a.ldx(8, R2, R1, 8);
          else {
            a.ldx(8, R3, R1, 0).alu64('add', R3, imm(ORIG_AX)).mov(R1, R9).alu64('add', R1, imm(t.scratchOffset)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
            a.ldx(8, R2, R9, t.scratchOffset);
          }
          // Only the arguments the clauses read are copied (none for `@ = count()`).
          const copyArgs = (p: EnabledProbe<number>) => {
            const used = t.argsUsed(p.id);
            if (dir === 'entry' && used > 0) {
              a.ldx(8, R3, R10, -8).ldx(8, R3, R3, 0).alu64('add', R3, imm(REGS_COPY_FROM));
              a.mov(R1, R9).alu64('add', R1, imm(t.regsOffset)).mov(R2, imm(64)).call(Helper.probe_read_kernel);
              ARG_REG_OFFSETS.forEach((off, i) => a.ldx(8, R1, R9, t.regsOffset + off).stx(8, R9, t.argOffset(i), R1));
              for (let i = 6; i < used; i++) a.st(8, R9, t.argOffset(i), 0);
              const strings = stringArgs.get(p.id);
              if (strings && t.stringBuffer) emitDeferUnreadable(t, p.id, strings, t.stringBuffer);
            } else if (dir === 'entry') {
              // Nothing reads them.
            } else {
              a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8).stx(8, R9, t.argOffset(0), R1).stx(8, R9, t.argOffset(1), R1);
              for (let i = 2; i < 10; i++) a.st(8, R9, t.argOffset(i), 0);
              emitSyscallErrno(t, R1);
            }
          };
          // Hundreds of syscall probes often run the same clauses: their code is shared.
          emitDispatch(t, R2, mine, { label: 'nr', value: (p) => p.site.key!, prepare: copyArgs });
        },
      });
    }
    return plans;
  },
  attach(req, prog) {
    if (req.name === DEFERRED_PLAN) return [attachRawTracepoint(prog, req.attach, 'attach the replay of syscall entry probes at sys_exit')];
    return [attachRawTracepoint(prog, req.attach, `attach syscall:::${req.probes.length === 1 ? req.probes[0]!.function + ':' : ''}${req.probes[0]!.name}`)];
  },
};
