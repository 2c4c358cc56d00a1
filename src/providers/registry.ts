/**
 * @fileoverview The providers there are, in the order `-l` lists them. Matching a probe
 * description's provider field (a glob) against provider names happens here; everything else
 * is the provider's own business.
 */
import { matchProbeField } from '../bpf/elf/glob.js';
import type { Provider, ProbeSite, ProbeDescFields } from './provider.js';
import { dtraceProvider } from './dtrace.js';
import { profileProvider } from './profile.js';
import { syscallProvider } from './syscall.js';
import { withProcessProviders } from './pid.js';

export const PROVIDERS: readonly Provider[] = withProcessProviders([dtraceProvider, profileProvider, syscallProvider]);

export function matchProbes(desc: ProbeDescFields, providers: readonly Provider[] = PROVIDERS): { provider: Provider; site: ProbeSite }[] {
  const out: { provider: Provider; site: ProbeSite }[] = [];
  for (const p of providers) {
    if (!matchProbeField(desc.provider, p.name)) continue;
    for (const site of p.match(desc)) out.push({ provider: p, site });
  }
  return out;
}
