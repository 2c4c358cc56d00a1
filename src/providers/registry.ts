/**
 * @fileoverview The providers there are, in the order `-l` lists them. Matching a probe
 * description's provider field (a glob) against provider names happens here; everything else
 * is the provider's own business.
 */
import { matchProbeField } from '../bpf/elf/glob.js';
import type { Provider, ProbeSite, ProbeDescFields, DescriptionError } from './provider.js';
import { pidProviderFieldError } from './pid-errors.js';
import { dtraceProvider } from './dtrace.js';
import { cpcProvider } from './cpc.js';
import { profileProvider } from './profile.js';
import { syscallProvider } from './syscall.js';
import { withProcessProviders, discoverProcessesFor } from './pid.js';
import { fbtProvider, rawfbtProvider } from './fbt.js';
import { ioProvider } from './io.js';
import { ipProvider } from './ip.js';
import { lockstatProvider } from './lockstat.js';
import { procProvider } from './proc.js';
import { rawtpProvider } from './rawtp.js';
import { schedProvider } from './sched.js';
import { sdtProvider } from './sdt.js';
import { tcpProvider } from './tcp.js';
import { udpProvider } from './udp.js';

/**
 * Oracle's population order (providers-on-linux.md §0), which gives `-l` its probe ids; tcp and
 * udp, which Oracle's DTrace for Linux does not have, come after its own.
 */
const BUILT_IN: readonly Provider[] = [
  dtraceProvider, cpcProvider, fbtProvider, ioProvider, ipProvider, lockstatProvider, procProvider, profileProvider, rawfbtProvider, rawtpProvider, schedProvider, sdtProvider, syscallProvider,
  tcpProvider, udpProvider,
];

/** The providers there are now: the built-in ones, then those of the processes traced (pid.ts). */
export function allProviders(): readonly Provider[] {
  return withProcessProviders(BUILT_IN);
}

/**
 * Why a description is an error in itself (`pid0`, a pid description naming a function its
 * module lacks, …), asking the providers its provider field names; undefined when it is not.
 */
export function probeDescriptionError(desc: ProbeDescFields, providers?: readonly Provider[]): DescriptionError | undefined {
  const fieldError = pidProviderFieldError(desc.provider);
  if (fieldError) return fieldError;
  // Only a provider field naming a process (ending in its pid) gets the per-process checks:
  // `:::entry` or `pid*:::` asks for whatever matches.
  if (!/[0-9]$/.test(desc.provider)) return undefined;
  for (const p of providers ?? knownProvidersFor(desc)) {
    if (!p.descriptionError || !matchProbeField(desc.provider, p.name)) continue;
    const e = p.descriptionError(desc);
    if (e) return e;
  }
  return undefined;
}

/** All providers, after looking for the processes a per-process provider field names. */
function knownProvidersFor(desc: ProbeDescFields): readonly Provider[] {
  // Per-process providers exist once their process is known; a description can name one.
  const known = allProviders();
  if (!known.some((p) => p.name === desc.provider)) discoverProcessesFor(desc.provider, known);
  return allProviders();
}

/**
 * The probes a description matches, with their providers: among `providers`, or (absent) among
 * all providers, after looking for the processes a per-process provider field names.
 */
export function matchProbes(desc: ProbeDescFields, providers?: readonly Provider[]): { provider: Provider; site: ProbeSite }[] {
  const out: { provider: Provider; site: ProbeSite }[] = [];
  for (const p of providers ?? knownProvidersFor(desc)) {
    if (!matchProbeField(desc.provider, p.name)) continue;
    for (const site of p.match(desc)) out.push({ provider: p, site });
  }
  return out;
}
