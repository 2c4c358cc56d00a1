/**
 * @fileoverview The one interface every provider implements (ply's `struct provider`,
 * dtrace-utils' `dt_provimpl_t`). Nothing outside providers/ switches on a provider's name:
 * the compiler asks a provider which probes match, how to group them into BPF programs, and
 * how to fill the uniform probe context (the trampoline); the runtime asks it to attach.
 */
import type { Asm } from '../bpf/asm/insn.js';
import type { CType } from '../check/ctypes.js';
import type { Link } from '../bpf/link.js';
import type { BpfProgram } from '../bpf/program.js';

/** A probe a provider offers; `key` is the provider's own identity for it (e.g. syscall nr). */
export interface ProbeSite {
  provider: string;
  module: string;
  function: string;
  name: string;
  key?: unknown;
}

export interface ProbeDescFields {
  provider: string;
  module: string;
  function: string;
  name: string;
}

/** A probe that the program enables, with the dense id the compiler gave it. */
export interface EnabledProbe {
  id: number;
  site: ProbeSite;
}

/**
 * Code-generation services a trampoline may use. Register conventions for every program:
 * R9 = the per-CPU scratch value (mstate at offset 0), fp-8 = the program context.
 */
export interface TrampolineContext {
  asm: Asm;
  /** mstate offset of argv[i] (u64). */
  argOffset(i: number): number;
  /** Emit the clauses of probe `probeId` (sets mstate prid, runs every clause in order). */
  emitClauses(probeId: number): void;
  /** Label at the program's common exit (returns 0). */
  exitLabel: string;
}

/** One BPF program the provider wants, serving some of the enabled probes. */
export interface ProgramPlan {
  name: string;
  bpfType: 'raw_tracepoint' | 'tracepoint' | 'perf_event' | 'kprobe';
  /** Provider-specific attachment data, handed back to `attach`. */
  attach: unknown;
  probes: EnabledProbe[];
  /**
   * Emits the trampoline: read the context into argv and dispatch to `emitClauses(probeId)` for
   * the probe that fired. R1 holds the context on entry and has been saved at fp-8; R9 is set.
   */
  emitTrampoline(t: TrampolineContext): void;
  /** How this program runs: attached to the kernel, or run by the tracer itself (BEGIN/END). */
  runMode: 'attach' | 'begin' | 'end' | 'error';
}

export interface Provider {
  readonly name: string;
  /** Probes matching a description whose provider field matched this provider's name. */
  match(desc: ProbeDescFields): ProbeSite[];
  /** Every probe, for `-l` (may be large; generated lazily). */
  list(): Iterable<ProbeSite>;
  /** Types of args[] for a probe, when the provider knows them. */
  argTypes?(site: ProbeSite): CType[] | undefined;
  /** Group this provider's enabled probes into BPF programs. */
  plan(probes: EnabledProbe[]): ProgramPlan[];
  /** Attaches a loaded program; returns links to close on exit. */
  attach(plan: ProgramPlan, prog: BpfProgram): Link[];
  /**
   * Whether a probe name can be created on demand even though `list()` does not show it
   * (`profile-1234`, `tick-3s`): match() handles it.
   */
  readonly dynamic?: boolean;
}
