/**
 * @fileoverview Dispatch inside a program that serves many probes: a value the trampoline has
 * read (a BPF cookie, a system call number, a replayed probe id) picks the probe that fired,
 * whose argument copying runs, then its clauses — shared by the probes that run the same ones.
 */
import { type Reg, R0, R1, R10, imm } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import type { EnabledProbe, TrampolineContext } from './provider.js';

export interface DispatchOptions<P> {
  /** Label stem of each probe's code (`pid`, `nr`: a readable listing). */
  label: string;
  /** The value in the register that selects probe `p`. */
  value(p: P): number;
  /** Code for probe `p` before its clauses (argument copying). */
  prepare?(p: P): void;
  /** The trampoline set the firing's timestamp itself (a replayed firing keeps its time). */
  keepTimestamp?: boolean;
}

/** Jumps to the code of the probe whose value `reg` holds (none: the program's exit) and emits that code. */
export function emitDispatch<P extends EnabledProbe<unknown>>(t: TrampolineContext, reg: Reg, probes: readonly P[], o: DispatchOptions<P>): void {
  const a = t.asm;
  const targets = probes.map((p) => ({ p, label: a.newLabel(`${o.label}${o.value(p)}`) }));
  for (const { p, label } of targets) a.jmp('jeq', reg, imm(o.value(p)), label);
  a.ja(t.exitLabel);
  const clauseOpts = o.keepTimestamp ? { keepTimestamp: true } : undefined;
  for (const { p, label } of targets) {
    a.label(label);
    o.prepare?.(p);
    if (t.emitSharedClauses ? !t.emitSharedClauses(p.id, clauseOpts) : (t.emitClauses(p.id, clauseOpts), true)) a.ja(t.exitLabel);
  }
}

/** Dispatch on the BPF cookie a multi-site link gave each site: its probe id. Clobbers R0–R5. */
export function emitCookieDispatch<P extends EnabledProbe<unknown>>(t: TrampolineContext, probes: readonly P[], o: Omit<DispatchOptions<P>, 'value'>): void {
  t.asm.ldx(8, R1, R10, -8).call(Helper.get_attach_cookie);
  emitDispatch(t, R0, probes, { ...o, value: (p) => p.id });
}
