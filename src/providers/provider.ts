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
import type { ErrTag } from '../diag/tags.js';

/** A probe a provider offers; `key` is the provider's own identity for it (e.g. syscall nr). */
export interface ProbeSite<Key = unknown> {
  provider: string;
  module: string;
  function: string;
  name: string;
  key?: Key;
}

export interface ProbeDescFields {
  provider: string;
  module: string;
  function: string;
  name: string;
}

/** A probe that the program enables, with the dense id the compiler gave it. */
export interface EnabledProbe<Key = unknown> {
  id: number;
  site: ProbeSite<Key>;
}

/**
 * Code-generation services a trampoline may use. Register conventions for every program:
 * R9 = the per-CPU scratch value (mstate at offset 0), fp-8 = the program context.
 */
export interface TrampolineContext {
  asm: Asm;
  /** mstate offset of argv[i] (u64). */
  argOffset(i: number): number;
  /** mstate offset of a u64 scratch word: where helper reads (probe_read_*) land. */
  scratchOffset: number;
  /** mstate offset of 64 scratch bytes (a copy of the first pt_regs words). */
  regsOffset: number;
  /** mstate offset of the firing's timestamp (u64; set it to keep a replayed firing's time). */
  timestampOffset: number;
  /** mstate offset of `errno` (u32), set by syscall return probes. */
  errnoOffset: number;
  /**
   * Emit the clauses of probe `probeId` (sets mstate prid, runs every clause in order).
   * `keepTimestamp`: the trampoline has set mstate's timestamp itself (a firing replayed
   * later keeps the time it happened); otherwise the first use reads the clock.
   */
  emitClauses(probeId: number, opts?: { keepTimestamp?: boolean }): void;
  /**
   * Like emitClauses, for a program serving many probes: probes with the same clauses share one
   * copy of their code (the probe is known at run time from mstate prid). Returns true when it
   * ended with a jump to code emitted earlier: the caller then must not emit anything after it
   * on this path.
   */
  emitSharedClauses?(probeId: number, opts?: { keepTimestamp?: boolean }): boolean;
  /** Label at the program's common exit (returns 0). */
  exitLabel: string;
  /**
   * How many leading argv slots the clauses of probe `probeId` can read (0–10): a trampoline
   * may skip copying the others.
   */
  argsUsed(probeId: number): number;
  /** An mstate buffer of `size` bytes (strsize + 1) that is free while the trampoline runs. */
  stringBuffer?: { offset: number; size: number };
}

/** What a provider may ask about the D program when it plans its BPF programs. */
export interface PlanContext {
  /** Argument indices the clauses of probe `probeId` read with copyinstr(argN) / copyinstr(args[N]). */
  userStringArgs(probeId: number): number[];
}

/** A probe as the runtime knows it: its id and description (from the compiled program). */
export interface AttachedProbe extends ProbeDescFields { id: number }

/** What the runtime hands a provider to attach one loaded program: plain data of the compiled program. */
export interface AttachRequest<Attach extends PlainData = PlainData> {
  /** The program's name (as the plan named it). */
  name: string;
  /** The plan's attach data. */
  attach: Attach;
  /** The probes the program serves (for messages), in the plan's order. */
  probes: readonly AttachedProbe[];
  /**
   * Attach the same sites for this process instead of the provider's own: a process the
   * provider's process forked, stopped before its first instruction (runtime/descendant-links.ts).
   */
  process?: number;
}

/** A map a provider's trampolines use besides the compiler's own (names must not collide). */
export interface ProviderMap {
  name: string;
  type: 'hash' | 'lru_hash' | 'array';
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/**
 * Plain data, what JSON.stringify and structuredClone carry unchanged: no functions, no class
 * instances, no bigint (a 64-bit count is a decimal string), no undefined. A provider's attach
 * data is of this kind, since it is part of the compiled program (`-S`, the library API).
 */
export type PlainData = string | number | boolean | null | readonly PlainData[] | { readonly [key: string]: PlainData };

/**
 * One BPF program the provider wants, serving some of the enabled probes. The plan lives only
 * while compiling (its trampoline is code); what the compiled program keeps of it is plain
 * data: name, types, `runMode`, `attach` and the probe ids.
 */
export interface ProgramPlan<Attach extends PlainData = PlainData, Key = unknown> {
  name: string;
  bpfType: 'raw_tracepoint' | 'tracepoint' | 'perf_event' | 'kprobe' | 'tracing';
  /**
   * What the kernel must know at load time about where the program will attach: fentry/fexit
   * (expected attach type + the function's BTF id), kprobe_multi (expected attach type).
   */
  load?: { expectedAttachType?: number; attachBtfId?: number };
  /** Provider-specific attachment data (plain data), handed back to `attach` at run time. */
  attach: Attach;
  probes: EnabledProbe<Key>[];
  /**
   * Emits the trampoline: read the context into argv and dispatch to `emitClauses(probeId)` for
   * the probe that fired. R1 holds the context on entry and has been saved at fp-8; R9 is set.
   */
  emitTrampoline(t: TrampolineContext): void;
  /**
   * Optional: instructions run first of all, with only the context (R1, which they must leave
   * as it was; R0, R2–R8 and the stack from fp-64 down are free), that jump to `skip` when the
   * event is none the program traces. A program on a busy hook (sys_enter runs for every system
   * call on the machine) then costs the events it ignores almost nothing: no scratch lookup,
   * no activity or reentry check.
   */
  prefilter?(asm: Asm, skip: string): void;
  /** How this program runs: attached to the kernel, or run by the tracer itself (BEGIN/END). */
  runMode: 'attach' | 'begin' | 'end' | 'error';
  /** Maps the trampoline uses (shared by name across the program's plans). */
  maps?: ProviderMap[];
}

/**
 * One args[] entry of a probe (dtrace-utils' dt_argdesc_t): args[i] is raw argument
 * `argv[mapping]` of C type `native`, shown and typed as `xlate` when a D-library translator
 * applies (`struct task_struct *` → `psinfo_t *`). `userland`: the raw value is a user-space
 * address (DT_NF_USERLAND: a `string` argument is read with copyinstr).
 */
export interface ProbeArgDesc {
  mapping: number;
  native: string;
  xlate?: string;
  userland?: boolean;
}

/** DTrace stability levels (dtrace_stability_name) and dependency classes (dtrace_class_name). */
export type Stability = 'Internal' | 'Private' | 'Obsolete' | 'External' | 'Unstable' | 'Evolving' | 'Stable' | 'Standard';
export type DependencyClass = 'Unknown' | 'CPU' | 'Platform' | 'Group' | 'ISA' | 'Common';
export interface Attribute { name: Stability; data: Stability; class: DependencyClass }

/** A provider's stability attributes per description field and for its arguments (dtrace_pattr_t). */
export interface ProviderAttributes {
  provider: Attribute;
  module: Attribute;
  function: Attribute;
  name: Attribute;
  args: Attribute;
}

/**
 * A provider, typed by its own data: `Key`, what identifies one of its probes while compiling
 * (ProbeSite.key), and `Attach`, the plain data one of its programs needs to attach
 * (ProgramPlan.attach, kept in the compiled program). Lists of mixed providers hold them as
 * `Provider` (unknown key, any plain attach data); each provider sees its own types.
 */
export interface Provider<Key = unknown, Attach extends PlainData = PlainData> {
  readonly name: string;
  /**
   * The process whose probes these are (pid and per-process USDT providers): the processes it
   * forks are followed, their sites attached again with `AttachRequest.process`.
   */
  readonly process?: number;
  /** Probes matching a description whose provider field matched this provider's name. */
  match(desc: ProbeDescFields): ProbeSite<Key>[];
  /** Every probe, for `-l` (may be large; generated lazily). */
  list(): Iterable<ProbeSite<Key>>;
  /** Types of args[] for a probe, when the provider knows them. */
  argTypes?(site: ProbeSite<Key>): CType[] | undefined;
  /** Group this provider's enabled probes into BPF programs. */
  plan(probes: EnabledProbe<Key>[], program?: PlanContext): ProgramPlan<Attach, Key>[];
  /**
   * Attaches a loaded program, yielding each link as it is made (the caller closes them on
   * exit, and on a failure or a stop part-way). A provider that makes many links (one perf
   * event per site) yields them one by one, so the caller can stop between two: Ctrl-C during
   * a long attach. `warn` reports a probe the kernel refused that the provider skipped (one
   * line, without the `dtrace: ` prefix), where skipping is what DTrace users expect (a user
   * function whose first instruction uprobes cannot handle) rather than a failure.
   */
  attach(req: AttachRequest<Attach>, prog: BpfProgram, warn?: (line: string) => void): Iterable<Link>;
  /**
   * Whether a probe name can be created on demand even though `list()` does not show it
   * (`profile-1234`, `tick-3s`): match() handles it.
   */
  readonly dynamic?: boolean;
  /**
   * args[] of a probe as DTrace describes them (native type, translated type, raw index):
   * `-lv` prints them and the checker types args[] from them. Undefined = untyped (argN only).
   */
  argDescs?(site: ProbeSite<Key>): ProbeArgDesc[] | undefined;
  /** Stability attributes for `-lv` (default: all Private/Unknown). */
  readonly attributes?: ProviderAttributes;
  /**
   * Why this provider offers no probes on this machine (a missing kernel feature), or
   * undefined when it works: a description naming it matches nothing, and the CLI adds this
   * as a hint. Given the description that matched nothing, a provider whose probes exist one
   * by one (sched:::on-cpu needs a tracepoint that older kernels lack) names the probe's own
   * missing feature.
   */
  unavailableReason?(desc?: ProbeDescFields): string | undefined;
  /**
   * The kernel events a probe is built on here (`-lv` shows it), for providers whose probes
   * depend on what the kernel offers (tracepoints on one kernel, kernel functions on another).
   */
  mechanism?(site: ProbeSite<Key>): string | undefined;
  /**
   * Why a description naming this provider is an error in itself (pid: a function a named
   * module lacks, an offset past a function's end), whether or not other probes match it.
   */
  descriptionError?(desc: ProbeDescFields): DescriptionError | undefined;
}

/** A description the provider refuses, with DTrace's tag and message. */
export interface DescriptionError {
  tag: ErrTag;
  message: string;
}

/** `provider:module:function:name`, as messages name a probe. */
export function probeName(p: ProbeDescFields): string {
  return `${p.provider}:${p.module}:${p.function}:${p.name}`;
}
