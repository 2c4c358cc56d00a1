/**
 * @fileoverview The syscall provider: `syscall:vmlinux:<name>:entry|return`. Every entry probe
 * is served by ONE raw tracepoint program on `sys_enter` (and every return probe by one on
 * `sys_exit`) that dispatches on the system call number: a perf-event tracepoint per syscall
 * costs 60–80 ms each to detach (design/MACHINE.md), a raw tracepoint ≈ 0.1 ms.
 */
import { matchProbeField } from '../bpf/elf/glob.js';
import { attachRawTracepoint } from '../bpf/link.js';
import { R1, R2, R3, R9, R10, imm } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';
import { tracepointFormat } from '../bpf/tracefs.js';
import type { ProbeArgDesc } from './provider.js';
import type { Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan } from './provider.js';

const byName = new Map<string, number>(SYSCALLS_X86_64.map(([n, nr]) => [n, nr]));
let allSites: ProbeSite[] | undefined;
function sites(): ProbeSite[] {
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

export const syscallProvider: Provider = {
  name: 'syscall',
  attributes: {
    provider: { name: 'Evolving', data: 'Evolving', class: 'Common' },
    module: { name: 'Private', data: 'Private', class: 'Unknown' },
    function: { name: 'Private', data: 'Private', class: 'ISA' },
    name: { name: 'Evolving', data: 'Evolving', class: 'Common' },
    args: { name: 'Private', data: 'Private', class: 'ISA' },
  },
  argDescs: (site) => (site.name === 'return' ? [{ mapping: 0, native: 'long' }] : entryArgDescs(site.function)),
  match(desc: ProbeDescFields): ProbeSite[] {
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
  plan(probes: EnabledProbe[]): ProgramPlan[] {
    const plans: ProgramPlan[] = [];
    for (const dir of ['entry', 'return'] as const) {
      const mine = probes.filter((p) => p.site.name === dir);
      if (mine.length === 0) continue;
      plans.push({
        name: `syscall_${dir}`,
        bpfType: 'raw_tracepoint',
        attach: dir === 'entry' ? 'sys_enter' : 'sys_exit',
        probes: mine,
        runMode: 'attach',
        emitTrampoline(t) {
          const a = t.asm;
          // ctx: u64 args[2] = { struct pt_regs *regs, long id_or_ret }.
          a.ldx(8, R1, R10, -8);
          if (dir === 'entry') a.ldx(8, R2, R1, 8);
          else {
            a.ldx(8, R3, R1, 0).alu64('add', R3, imm(ORIG_AX)).mov(R1, R9).alu64('add', R1, imm(t.scratchOffset)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
            a.ldx(8, R2, R9, t.scratchOffset);
          }
          const targets = mine.map((p) => ({ p, label: a.newLabel(`nr${p.site.key as number}`) }));
          for (const { p, label } of targets) a.jmp('jeq', R2, imm(p.site.key as number), label);
          a.ja(t.exitLabel);
          for (const { p, label } of targets) {
            a.label(label);
            // Only the arguments the clauses read are copied (none for `@ = count()`).
            const used = t.argsUsed(p.id);
            if (dir === 'entry' && used > 0) {
              a.ldx(8, R3, R10, -8).ldx(8, R3, R3, 0).alu64('add', R3, imm(REGS_COPY_FROM));
              a.mov(R1, R9).alu64('add', R1, imm(t.regsOffset)).mov(R2, imm(64)).call(Helper.probe_read_kernel);
              ARG_REG_OFFSETS.forEach((off, i) => a.ldx(8, R1, R9, t.regsOffset + off).stx(8, R9, t.argOffset(i), R1));
              for (let i = 6; i < used; i++) a.st(8, R9, t.argOffset(i), 0);
            } else if (dir === 'entry') {
              // Nothing reads them.
            } else {
              a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8).stx(8, R9, t.argOffset(0), R1).stx(8, R9, t.argOffset(1), R1);
              for (let i = 2; i < 10; i++) a.st(8, R9, t.argOffset(i), 0);
            }
            // Hundreds of syscall probes often run the same clauses: share one copy of them.
            if (t.emitSharedClauses ? !t.emitSharedClauses(p.id) : (t.emitClauses(p.id), true)) a.ja(t.exitLabel);
          }
        },
      });
    }
    return plans;
  },
  attach(plan, prog) {
    return [attachRawTracepoint(prog, plan.attach as string, `attach syscall:::${plan.probes.length === 1 ? plan.probes[0]!.site.function + ':' : ''}${plan.probes[0]!.site.name}`)];
  },
};
