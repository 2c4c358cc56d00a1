/**
 * @fileoverview The profile provider: `profile-N[unit]` fires on every CPU, `tick-N[unit]` on
 * one, both from a software CPU-clock perf event per CPU running a perf_event program
 * (providers-on-linux.md §2). arg0 is the kernel PC when the sample interrupted the kernel,
 * arg1 the user PC otherwise.
 */
import { matchProbeField, isGlob } from '../bpf/elf/glob.js';
import { attachProfile } from '../bpf/link.js';
import { onlineCpus } from '../bpf/map.js';
import { R1, R2, R3, R9, R10, imm } from '../bpf/asm/insn.js';
import { providerAttributes, EVOLVING_COMMON, UNSTABLE_UNKNOWN, PRIVATE_UNKNOWN } from './attributes.js';
import type { Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan, TrampolineContext, PlainData } from './provider.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n, nsec: 1n, us: 1000n, usec: 1000n, ms: 1_000_000n, msec: 1_000_000n,
  s: 1_000_000_000n, sec: 1_000_000_000n, m: 60_000_000_000n, min: 60_000_000_000n,
  h: 3_600_000_000_000n, hour: 3_600_000_000_000n, d: 86_400_000_000_000n, day: 86_400_000_000_000n,
};
const MIN_PERIOD_NS = 200_000n;
const LISTED = ['profile-97', 'profile-199', 'profile-499', 'profile-997', 'profile-1999', 'profile-4001', 'profile-4999',
  'tick-1', 'tick-10', 'tick-100', 'tick-500', 'tick-1000', 'tick-5000'];

/** How a profile/tick probe fires: on every CPU or one, every `periodNs` (decimal: plain data). */
export type ProfilePeriod = { kind: 'profile' | 'tick'; periodNs: string };

/** Period in ns of a probe name like `tick-10ms` or `profile-97` (97 Hz); undefined if invalid. */
export function profilePeriodNs(name: string): ProfilePeriod | undefined {
  const m = /^(profile|tick)-([0-9]+)([a-z]*)$/i.exec(name);
  if (!m) return undefined;
  const n = BigInt(m[2]!);
  const unit = m[3]!.toLowerCase();
  if (n <= 0n) return undefined;
  let periodNs: bigint;
  if (unit === '' || unit === 'hz') periodNs = 1_000_000_000n / n;
  else if (UNIT_NS[unit] !== undefined) periodNs = n * UNIT_NS[unit]!;
  else return undefined;
  if (periodNs < MIN_PERIOD_NS) return undefined;
  return { kind: m[1]!.toLowerCase() as 'profile' | 'tick', periodNs: String(periodNs) };
}

// struct bpf_perf_event_data starts with struct pt_regs: ip at 128, cs at 136 (x86_64).
const PT_REGS_IP = 128;
const PT_REGS_CS = 136;

/**
 * The arguments of a probe fired by a sampling perf event (profile, cpc): arg0 is the PC when
 * the sample interrupted the kernel, arg1 the PC when it interrupted user mode; the other is 0.
 */
export function emitSampledPcArgs(t: TrampolineContext): void {
  const a = t.asm;
  // ctx at fp-8; the low two bits of CS are the privilege level (3: user).
  a.ldx(8, R1, R10, -8).ldx(8, R2, R1, PT_REGS_IP).ldx(8, R3, R1, PT_REGS_CS).alu64('and', R3, imm(3));
  const user = a.newLabel('user'), done = a.newLabel('args');
  a.st(8, R9, t.argOffset(0), 0).st(8, R9, t.argOffset(1), 0);
  a.jmp('jeq', R3, imm(3), user).stx(8, R9, t.argOffset(0), R2).ja(done);
  a.label(user).stx(8, R9, t.argOffset(1), R2);
  a.label(done).mov(R1, R1);
}

/** A sampled probe's name its provider cannot parse: match() let through a name it does not offer. */
function sampledNameError(provider: string, name: string): never {
  throw new Error(`${provider} matched a probe name it cannot attach: ${name}`);
}

/**
 * One perf_event program per probe of a sampling provider (profile, cpc), each filling the
 * sampled-PC arguments; `attachOf` turns the probe name into the provider's attach data.
 */
export function sampledPlans<Attach extends PlainData>(provider: string, probes: EnabledProbe<undefined>[], attachOf: (name: string) => Attach | undefined): ProgramPlan<Attach, undefined>[] {
  return probes.map((p) => ({
    name: `${provider}_${p.site.name.replace(/-/g, '_')}`,
    bpfType: 'perf_event',
    attach: attachOf(p.site.name) ?? sampledNameError(provider, p.site.name),
    probes: [p],
    runMode: 'attach',
    emitTrampoline(t) {
      emitSampledPcArgs(t);
      t.emitClauses(p.id);
    },
  }));
}

/**
 * What the sampling providers (profile, cpc) share: their stability, their two arguments (the
 * sampled kernel and user PCs), and probe names matched against the listed names, or, for a
 * name without a glob, any name `valid` accepts (a provider creates those on demand).
 */
export function sampledProbes(provider: string, listed: () => readonly string[], valid: (name: string) => unknown): Pick<Provider<undefined>, 'dynamic' | 'attributes' | 'argDescs' | 'match' | 'list'> {
  return {
    dynamic: true,
    attributes: providerAttributes(EVOLVING_COMMON, UNSTABLE_UNKNOWN, PRIVATE_UNKNOWN, EVOLVING_COMMON, EVOLVING_COMMON),
    argDescs: () => [{ mapping: 0, native: 'uint64_t' }, { mapping: 1, native: 'uint64_t' }],
    match(desc: ProbeDescFields): ProbeSite<undefined>[] {
      if (!matchProbeField(desc.module, '') || !matchProbeField(desc.function, '')) return [];
      const names = desc.name && !isGlob(desc.name) ? [desc.name] : listed().filter((n) => matchProbeField(desc.name, n));
      return names.filter((n) => valid(n)).map((name) => ({ provider, module: '', function: '', name }));
    },
    list: () => listed().map((name) => ({ provider, module: '', function: '', name })),
  };
}

/** Attaches a perf_event timer of the probe's period, on every CPU (profile-) or one (tick-). */
export const profileProvider: Provider<undefined, ProfilePeriod> = {
  name: 'profile',
  ...sampledProbes('profile', () => LISTED, profilePeriodNs),
  plan: (probes) => sampledPlans('profile', probes, profilePeriodNs),
  attach(req, prog) {
    const period = req.attach;
    const cpus = onlineCpus();
    // tick fires on one CPU: the first online one.
    return attachProfile(prog, { periodNs: BigInt(period.periodNs), cpus: period.kind === 'tick' ? [cpus[0] ?? 0] : cpus },
      `attach profile:::${req.probes[0]!.name}`);
  },
};
