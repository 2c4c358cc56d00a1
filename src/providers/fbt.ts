/**
 * @fileoverview The fbt and rawfbt providers (providers-on-linux.md §4): kernel function entry
 * and return, `fbt:<module>:<function>:entry|return`.
 *
 * Probes are the functions of tracefs `available_filter_functions` (module `vmlinux` for
 * built-in code, else the module named in brackets) minus the kprobe blacklist
 * (debugfs `kprobes/blacklist`). fbt leaves out the compiler's synthetic clones
 * (`foo.isra.0`, `foo.constprop.0`, `foo.cold`); rawfbt has them, always goes through kprobes
 * and has untyped arguments, as dtrace-utils' rawfbt does.
 *
 * How a probe attaches, cheapest first for what was asked:
 *   - many functions of one kind (a glob such as `fbt::vfs_*:entry`): ONE kprobe program (one
 *     verification) on ONE kprobe_multi link (Linux 5.18 with CONFIG_FPROBE): hundreds of
 *     functions attach in milliseconds. The link gives each function a cookie, the probe id,
 *     which the program reads with bpf_get_attach_cookie() to run that probe's clauses. A kernel
 *     without kprobe_multi (Debian 12's 6.1 has no CONFIG_FPROBE) gets the same program on one
 *     kprobe PMU event per function, each with its cookie.
 *   - a few functions: fentry/fexit (BPF trampolines, BPF_PROG_TYPE_TRACING loaded against the
 *     function's BTF id) where the kernel has them and BTF describes the function plainly (at
 *     most 6 arguments, none a struct by value, one function of that name); the context is the
 *     argument array, fexit adds the return value after it.
 *   - otherwise a kprobe/kretprobe through the kprobe PMU (perf_event_open on the `kprobe` PMU
 *     type with the symbol name: gone with the tracer, nothing written to `kprobe_events`).
 * args[] are typed from the function's BTF prototype whichever way it attaches. In a return
 * probe arg1 is the return value and arg0 is -1 (Oracle's DTrace on Linux cannot know the
 * return instruction's offset either); args[0] is `int`, args[1] the function's return type.
 *
 * A kernel with neither kprobes nor fentry (this project's 6.18 target) has no fbt probes at
 * all: the provider lists and matches nothing, so `fbt:::` fails with DTrace's usual "does not
 * match any probes", and `unavailableReason()` names the missing kernel features.
 */
import { readFileSync } from 'node:fs';
import { attachKprobe, attachKprobeMulti, attachTracing, type Link } from '../bpf/link.js';
import { type Asm, type Reg, R1, R2, R9, R10, imm } from '../bpf/asm/insn.js';
import { matchProbeField, isGlob } from '../bpf/elf/glob.js';
import { featureStatus, hasFeature } from '../bpf/features.js';
import { tracefsRoot } from '../bpf/tracefs.js';
import { mount } from '../bpf/sys.js';
import { AttachType } from '../bpf/uapi.js';
import { UnsupportedError } from '../bpf/errors.js';
import { loadModuleBtf, type Btf } from '../bpf/btf/index.js';
import { kernelBtf } from './kernel-events.js';
import { KERNEL_FUNCTION_ATTRIBUTES } from './attributes.js';
import { emitCookieDispatch } from './dispatch.js';
import type { BpfProgram } from '../bpf/program.js';
import { probeName, type Provider, type ProbeSite, type ProbeDescFields, type EnabledProbe, type ProgramPlan, type ProbeArgDesc, type TrampolineContext, type AttachRequest } from './provider.js';

// x86-64 struct pt_regs offsets: function arguments di, si, dx, cx, r8, r9; return value ax.
const ARG_REG_OFFSETS = [112, 104, 96, 88, 72, 64];
const PT_REGS_AX = 80;
const MAX_ARGS = 10;
/** The x86-64 BPF trampoline of Linux < 6.6 passes at most 6 arguments. */
const FENTRY_MAX_ARGS = 6;
/** Above this many functions of one kind, one kprobe_multi link beats a program per function. */
const MULTI_THRESHOLD = 4;

// ---------------------------------------------------------------------------------------------
// The functions there are

/** One traceable kernel function. `copies` > 1: several static functions share the name. */
export interface KernelFunction { name: string; module: string; copies: number }

/**
 * Parses tracefs `available_filter_functions` ("name" or "name [module]" per line) minus the
 * blacklisted names, one entry per (module, name) in file order.
 */
export function parseFilterFunctions(text: string, blacklist: ReadonlySet<string>): KernelFunction[] {
  const out: KernelFunction[] = [];
  const seen = new Map<string, KernelFunction>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)(?:\s+\[(\S+)\])?/.exec(line);
    if (!m || blacklist.has(m[1]!)) continue;
    const module = m[2] ?? 'vmlinux';
    const key = `${module}:${m[1]}`;
    const known = seen.get(key);
    if (known) { known.copies++; continue; }
    const fn = { name: m[1]!, module, copies: 1 };
    seen.set(key, fn);
    out.push(fn);
  }
  return out;
}

/** Function names of debugfs `kprobes/blacklist` ("0xstart-0xend\tname" per line). */
export function parseKprobeBlacklist(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\S+\s+(\S+)/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}

function readBlacklist(): Set<string> {
  const path = '/sys/kernel/debug/kprobes/blacklist';
  try {
    return parseKprobeBlacklist(readFileSync(path, 'utf8'));
  } catch {
    // debugfs is not always mounted; mount it once (as root) and retry.
    try {
      mount('nodev', '/sys/kernel/debug', 'debugfs', 0, 'mount debugfs at /sys/kernel/debug');
      return parseKprobeBlacklist(readFileSync(path, 'utf8'));
    } catch {
      return new Set();
    }
  }
}

let functions: KernelFunction[] | undefined;
let functionsError: string | undefined;
let byName: Map<string, KernelFunction[]> | undefined;

/** Every function kprobes/fentry may attach to (empty when they cannot be listed). */
function kernelFunctions(): KernelFunction[] {
  if (!functions) {
    try {
      functions = parseFilterFunctions(readFileSync(`${tracefsRoot()}/available_filter_functions`, 'utf8'), readBlacklist());
    } catch (e) {
      functions = [];
      functionsError = `cannot read the kernel's function list (available_filter_functions: ${(e as Error).message})`;
    }
    byName = new Map();
    for (const f of functions) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);
  }
  return functions;
}

/** fbt excludes compiler clones (`.isra.0`, `.constprop.0`, `.cold`, `.part.0`); rawfbt keeps them. */
function isSynthetic(name: string): boolean {
  return name.includes('.');
}

function fbtWorks(): boolean {
  return hasFeature('kprobe_pmu') || hasFeature('fentry');
}

// ---------------------------------------------------------------------------------------------
// Prototypes from BTF

interface Prototype { btf: Btf; funcId: number; params: { name: string; type: number }[]; returnType: number; plain: boolean }

const protoCache = new Map<string, Prototype | null>();

/** The BTF prototype of a function (vmlinux or module BTF); undefined when BTF does not know it. */
function prototype(fn: KernelFunction): Prototype | undefined {
  const key = `${fn.module}:${fn.name}`;
  let cached = protoCache.get(key);
  if (cached === undefined) {
    cached = null;
    let btf: Btf | undefined;
    try {
      btf = fn.module === 'vmlinux' ? kernelBtf() : loadModuleBtf(fn.module);
    } catch {
      btf = undefined;
    }
    const funcId = btf?.findByName('func', fn.name);
    if (btf && funcId !== undefined) {
      const func = btf.typeById(funcId);
      const proto = func.kind === 'func' ? btf.typeById(func.type) : undefined;
      if (proto?.kind === 'func_proto') {
        // A struct or union passed by value takes several argument slots: args[i] would not be
        // argument i, so such a prototype is not used for typing nor for fentry.
        const byValue = proto.params.some((p) => {
          const k = btf!.typeById(btf!.resolve(p.type)).kind;
          return k === 'struct' || k === 'union';
        });
        cached = { btf, funcId, params: proto.params, returnType: proto.returnType, plain: !byValue && !proto.variadic };
      }
    }
    protoCache.set(key, cached);
  }
  return cached ?? undefined;
}

/**
 * Whether a parameter type is a pointer to user memory (`__user`, which BTF keeps as type tag
 * "user" in kernels built by clang; gcc-built kernels such as Debian's drop it): string reads of
 * such an argument then use copyinstr.
 */
function pointsToUser(btf: Btf, id: number): boolean {
  let t = btf.typeById(id);
  while (t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict') t = btf.typeById(t.type);
  if (t.kind !== 'ptr') return false;
  for (let u = btf.typeById(t.type); ; u = btf.typeById(u.type)) {
    if (u.kind === 'type_tag' && u.name === 'user') return true;
    if (u.kind !== 'type_tag' && u.kind !== 'const' && u.kind !== 'volatile' && u.kind !== 'restrict') return false;
  }
}

function argDescsOf(fn: KernelFunction, kind: 'entry' | 'return'): ProbeArgDesc[] | undefined {
  const proto = prototype(fn);
  if (!proto?.plain) return undefined;
  if (kind === 'return') {
    const out: ProbeArgDesc[] = [{ mapping: 0, native: 'int' }];
    if (proto.returnType !== 0) out.push({ mapping: 1, native: proto.btf.typeToString(proto.returnType) });
    return out;
  }
  return proto.params.slice(0, MAX_ARGS).map((p, i) => {
    const desc: ProbeArgDesc = { mapping: i, native: proto.btf.typeToString(p.type) };
    if (pointsToUser(proto.btf, p.type)) desc.userland = true;
    return desc;
  });
}

// ---------------------------------------------------------------------------------------------
// Plans

interface FbtKey { fn: KernelFunction; kind: 'entry' | 'return' }

/** How an fbt program attaches (plain data: the compiled program keeps it). */
export type FbtAttach =
  | { mech: 'fentry'; describe: string }
  | { mech: 'kprobe'; func: string; retprobe: boolean }
  /**
   * Many functions, one program: one kprobe_multi link, or where the kernel has none (Debian 12's
   * 6.1 is built without CONFIG_FPROBE) one kprobe PMU event per function, all running the same
   * program, each with its probe id as the BPF cookie.
   */
  | { mech: 'kprobe_multi'; funcs: string[]; cookies: number[]; retprobe: boolean; link: boolean };

function keyOf(p: EnabledProbe<FbtKey>): FbtKey {
  return p.site.key!;
}

/** Whether fentry/fexit can serve this function: a plain vmlinux prototype and one function of that name. */
function fentryPrototype(fn: KernelFunction): Prototype | undefined {
  if (fn.module !== 'vmlinux' || fn.copies > 1 || (byName?.get(fn.name)?.length ?? 0) > 1) return undefined;
  const proto = prototype(fn);
  return proto?.plain && proto.params.length <= FENTRY_MAX_ARGS ? proto : undefined;
}

/** argv from pt_regs (kprobe context at fp-8): entry arguments, or arg0 = -1, arg1 = ax at return. */
function emitRegsArgs(t: TrampolineContext, kind: 'entry' | 'return', used: number): void {
  const a = t.asm;
  if (kind === 'return') {
    a.st(8, R9, t.argOffset(0), -1).ldx(8, R1, R10, -8).ldx(8, R2, R1, PT_REGS_AX).stx(8, R9, t.argOffset(1), R2);
    for (let i = 2; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
    return;
  }
  if (used > 0) a.ldx(8, R1, R10, -8);
  for (let i = 0; i < MAX_ARGS; i++) {
    if (i < used && i < ARG_REG_OFFSETS.length) a.ldx(8, R2, R1, ARG_REG_OFFSETS[i]!).stx(8, R9, t.argOffset(i), R2);
    else a.st(8, R9, t.argOffset(i), 0);
  }
}

function fentryPlan(p: EnabledProbe<FbtKey>, proto: Prototype): ProgramPlan<FbtAttach, FbtKey> {
  const { fn, kind } = keyOf(p);
  const nargs = proto.params.length;
  const hasReturn = proto.returnType !== 0;
  return {
    name: `${kind === 'entry' ? 'fentry' : 'fexit'}_${fn.name}`,
    bpfType: 'tracing',
    load: { expectedAttachType: kind === 'entry' ? AttachType.TRACE_FENTRY : AttachType.TRACE_FEXIT, attachBtfId: proto.funcId },
    attach: { mech: 'fentry', describe: `${kind === 'entry' ? 'fentry' : 'fexit'}:${fn.name}` } satisfies FbtAttach,
    probes: [p],
    runMode: 'attach',
    emitTrampoline(t) {
      const a = t.asm;
      // ctx: u64 args[nargs] (+ the return value at fexit); reading past them fails to load.
      if (kind === 'return') {
        a.st(8, R9, t.argOffset(0), -1);
        if (hasReturn) a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8 * nargs).stx(8, R9, t.argOffset(1), R1);
        else a.st(8, R9, t.argOffset(1), 0);
        for (let i = 2; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
      } else {
        const used = Math.min(t.argsUsed(p.id), nargs);
        for (let i = 0; i < MAX_ARGS; i++) {
          if (i < used) a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8 * i).stx(8, R9, t.argOffset(i), R1);
          else a.st(8, R9, t.argOffset(i), 0);
        }
      }
      t.emitClauses(p.id);
    },
  };
}

function kprobePlan(p: EnabledProbe<FbtKey>): ProgramPlan<FbtAttach, FbtKey> {
  const { fn, kind } = keyOf(p);
  return {
    name: `${kind === 'entry' ? 'kprobe' : 'kretprobe'}_${fn.name}`,
    bpfType: 'kprobe',
    attach: { mech: 'kprobe', func: fn.name, retprobe: kind === 'return' } satisfies FbtAttach,
    probes: [p],
    runMode: 'attach',
    emitTrampoline(t) {
      emitRegsArgs(t, kind, t.argsUsed(p.id));
      t.emitClauses(p.id);
    },
  };
}

function kprobeMultiPlan(provider: string, kind: 'entry' | 'return', probes: EnabledProbe<FbtKey>[], link: boolean): ProgramPlan<FbtAttach, FbtKey> {
  return {
    name: `${provider}_multi_${kind}`,
    bpfType: 'kprobe',
    load: link ? { expectedAttachType: AttachType.TRACE_KPROBE_MULTI } : undefined,
    attach: {
      mech: 'kprobe_multi', funcs: probes.map((p) => keyOf(p).fn.name), cookies: probes.map((p) => p.id), retprobe: kind === 'return', link,
    } satisfies FbtAttach,
    probes,
    runMode: 'attach',
    emitTrampoline(t) {
      // The link's cookie for the function that fired is its probe id.
      emitCookieDispatch(t, probes, { label: 'fbt', prepare: (p) => emitRegsArgs(t, kind, t.argsUsed(p.id)) });
    },
  };
}

/**
 * DTRACE_TS_FBT_ATTACH=fentry|kprobe|kprobe_multi restricts fbt to one attach mechanism, so the
 * kernel tests can prove each path on a kernel that has all three (it never enables a mechanism
 * the kernel lacks).
 */
function forcedMechanism(): FbtAttach['mech'] | undefined {
  const v = process.env.DTRACE_TS_FBT_ATTACH;
  return v === 'fentry' || v === 'kprobe' || v === 'kprobe_multi' ? v : undefined;
}

function planFbt(provider: string, raw: boolean, enabled: EnabledProbe<FbtKey>[]): ProgramPlan<FbtAttach, FbtKey>[] {
  const plans: ProgramPlan<FbtAttach, FbtKey>[] = [];
  const only = forcedMechanism();
  const fentry = !raw && (only ?? 'fentry') === 'fentry' && hasFeature('fentry');
  const kprobes = (only ?? 'kprobe') === 'kprobe' && hasFeature('kprobe_pmu');
  const multiLink = hasFeature('kprobe_multi');
  const multi = (only ?? 'kprobe_multi') === 'kprobe_multi' && (multiLink || hasFeature('kprobe_pmu'));
  for (const kind of ['entry', 'return'] as const) {
    const mine = enabled.filter((p) => keyOf(p).kind === kind);
    if (mine.length === 0) continue;
    if (multi && (mine.length > MULTI_THRESHOLD || only === 'kprobe_multi')) {
      plans.push(kprobeMultiPlan(provider, kind, mine, multiLink));
      continue;
    }
    for (const p of mine) {
      const proto = fentry ? fentryPrototype(keyOf(p).fn) : undefined;
      if (proto) plans.push(fentryPlan(p, proto));
      else if (kprobes) plans.push(kprobePlan(p));
      else if (multi) plans.push(kprobeMultiPlan(provider, kind, [p], multiLink));
      else {
        const s = p.site;
        throw new UnsupportedError(only ?? 'kprobe_pmu', `${s.provider}:${s.module}:${s.function}:${s.name}`,
          only ? `DTRACE_TS_FBT_ATTACH=${only} cannot attach this function` : 'this kernel has no kprobes and cannot attach fentry to this function');
      }
    }
  }
  return plans;
}

/**
 * Attaches a program the way `how` says; `what` names its probes in messages. One kprobe PMU
 * event per function is yielded one by one (hundreds of them take seconds in the 6.1 guest).
 */
export function* attachFbtAs(how: FbtAttach, prog: BpfProgram, what: string): Generator<Link> {
  switch (how.mech) {
    case 'fentry': yield attachTracing(prog, how.describe, `attach ${what} (${how.describe})`); return;
    case 'kprobe': yield attachKprobe(prog, { func: how.func, retprobe: how.retprobe }, `attach ${what} (kprobe PMU)`); return;
    case 'kprobe_multi': {
      const cookies = how.cookies.map(BigInt);
      if (how.link) { yield attachKprobeMulti(prog, { funcs: how.funcs, cookies, retprobe: how.retprobe }, `attach ${what} (kprobe_multi)`); return; }
      for (const [i, func] of how.funcs.entries()) yield attachKprobe(prog, { func, retprobe: how.retprobe, cookie: cookies[i] }, `attach ${what}: ${func} (kprobe PMU)`);
    }
  }
}

function attachFbt(req: AttachRequest<FbtAttach>, prog: BpfProgram): Iterable<Link> {
  const s = req.probes[0]!;
  return attachFbtAs(req.attach, prog, req.probes.length === 1 ? probeName(s) : `${req.probes.length} ${s.provider} ${s.name} probes`);
}

// ---------------------------------------------------------------------------------------------
// The providers

function sitesFor(provider: string, raw: boolean, desc: ProbeDescFields | undefined): ProbeSite<FbtKey>[] {
  // `BEGIN`, `tick-1s`: descriptions without a provider reach every provider; they need no
  // feature probe and no read of the kernel's function list.
  const names = (['entry', 'return'] as const).filter((n) => !desc || matchProbeField(desc.name, n));
  if (names.length === 0 || !fbtWorks()) return [];
  const all = kernelFunctions();
  // A literal function name needs no walk over tens of thousands of functions.
  const candidates = desc?.function && !isGlob(desc.function) ? (byName?.get(desc.function) ?? []) : all;
  const out: ProbeSite<FbtKey>[] = [];
  for (const fn of candidates) {
    if (!raw && isSynthetic(fn.name)) continue;
    if (desc && (!matchProbeField(desc.module, fn.module) || !matchProbeField(desc.function, fn.name))) continue;
    for (const name of names) out.push({ provider, module: fn.module, function: fn.name, name, key: { fn, kind: name } satisfies FbtKey });
  }
  return out;
}

function unavailable(): string | undefined {
  const kprobes = featureStatus('kprobe_pmu');
  const fentry = featureStatus('fentry');
  if (!kprobes.available && !fentry.available) {
    const why = [kprobes.reason, fentry.reason].filter(Boolean).map((r, i) => (i === 0 ? r : r!.replace(/^this kernel has /, '')));
    return `fbt needs kprobes (CONFIG_KPROBES) or BPF trampolines (fentry): ${why.join(' and ')}`;
  }
  kernelFunctions();
  return functionsError;
}

function makeProvider(name: 'fbt' | 'rawfbt'): Provider<FbtKey, FbtAttach> {
  const raw = name === 'rawfbt';
  return {
    name,
    attributes: KERNEL_FUNCTION_ATTRIBUTES,
    match: (desc) => sitesFor(name, raw, desc),
    list: () => sitesFor(name, raw, undefined),
    argDescs: (site) => (raw || !site.key ? undefined : argDescsOf(site.key.fn, site.name === 'return' ? 'return' : 'entry')),
    plan: (enabled) => planFbt(name, raw, enabled),
    attach: attachFbt,
    unavailableReason: unavailable,
  };
}

export const fbtProvider: Provider<FbtKey, FbtAttach> = makeProvider('fbt');
export const rawfbtProvider: Provider<FbtKey, FbtAttach> = makeProvider('rawfbt');

// ---------------------------------------------------------------------------------------------
// fbt functions as the underlying events of sched and io probes (dependent.ts)

/** How a dependent probe reaches one kernel function's entry or return. */
export interface FbtSourceAttachment {
  /** Program name stem. */
  name: string;
  bpfType: 'tracing' | 'kprobe';
  load?: { expectedAttachType?: number; attachBtfId?: number };
  /** dst = raw argument i; `dst` holds the program context on entry. */
  emitRaw(a: Asm, i: number, dst: Reg): void;
  /** dst = the function's return value (return only); `dst` holds the program context on entry. */
  emitReturnValue(a: Asm, dst: Reg): void;
  /** How to attach it (attachFbtAs). */
  attach: FbtAttach;
}

/**
 * The way to attach to vmlinux function `name` for a dependent probe, or undefined when this
 * kernel cannot: fentry/fexit where possible (their context keeps the arguments at return, as a
 * `submit_bio_wait:return` probe needs), else a kprobe for an entry.
 */
export function fbtSourceAttachment(name: string, dir: 'entry' | 'return'): FbtSourceAttachment | undefined {
  if (!fbtWorks()) return undefined;
  kernelFunctions();
  const fn = byName?.get(name)?.find((f) => f.module === 'vmlinux');
  if (!fn) return undefined;
  const proto = hasFeature('fentry') ? fentryPrototype(fn) : undefined;
  if (proto) {
    const nargs = proto.params.length;
    return {
      name: `${dir === 'entry' ? 'fentry' : 'fexit'}_${name}`,
      bpfType: 'tracing',
      load: { expectedAttachType: dir === 'entry' ? AttachType.TRACE_FENTRY : AttachType.TRACE_FEXIT, attachBtfId: proto.funcId },
      emitRaw: (a, i, dst) => { if (i < nargs) a.ldx(8, dst, dst, 8 * i); else a.mov(dst, imm(0)); },
      emitReturnValue: (a, dst) => { if (dir === 'return' && proto.returnType !== 0) a.ldx(8, dst, dst, 8 * nargs); else a.mov(dst, imm(0)); },
      attach: { mech: 'fentry', describe: `${dir === 'entry' ? 'fentry' : 'fexit'}:${name}` },
    };
  }
  if (dir !== 'entry' || !hasFeature('kprobe_pmu')) return undefined;
  return {
    name: `kprobe_${name}`,
    bpfType: 'kprobe',
    emitRaw: (a, i, dst) => { if (i < ARG_REG_OFFSETS.length) a.ldx(8, dst, dst, ARG_REG_OFFSETS[i]!); else a.mov(dst, imm(0)); },
    emitReturnValue: (a, dst) => { a.mov(dst, imm(0)); },
    attach: { mech: 'kprobe', func: name, retprobe: false },
  };
}
