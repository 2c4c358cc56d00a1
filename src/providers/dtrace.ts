/**
 * @fileoverview The dtrace provider: BEGIN (probe 1), END (2), ERROR (3). BEGIN and END are
 * raw-tracepoint programs the tracer runs itself with BPF_PROG_TEST_RUN — synchronously, in
 * its own process (so `pid` is the tracer's), before any other probe is attached and after the
 * last one is detached: no probe, no race (providers-on-linux.md §1, option (b)).
 */
import { matchProbeField } from '../bpf/elf/glob.js';
import { providerAttributes, STABLE_COMMON, PRIVATE_UNKNOWN } from './attributes.js';
import type { Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan } from './provider.js';

const NAMES = ['BEGIN', 'END', 'ERROR'] as const;
export const DTRACE_PROBE_IDS: Record<string, number> = { BEGIN: 1, END: 2, ERROR: 3 };

const sites: ProbeSite<undefined>[] = NAMES.map((name) => ({ provider: 'dtrace', module: '', function: '', name }));

/** BEGIN and END have nothing to attach (the tracer runs them): their attach data is null. */
export const dtraceProvider: Provider<undefined, null> = {
  name: 'dtrace',
  // dtrace-utils dt_prov_dtrace.c
  attributes: providerAttributes(STABLE_COMMON, PRIVATE_UNKNOWN, PRIVATE_UNKNOWN, STABLE_COMMON, STABLE_COMMON),
  // ERROR: arg1 faulting probe id, arg2 statement, arg3 offset, arg4 fault, arg5 address.
  argDescs: (site) => (site.name === 'ERROR'
    ? ['uint64_t', 'uint64_t', 'uint64_t', 'int64_t', 'uint64_t', 'uint64_t'].map((native, mapping) => ({ mapping, native }))
    : []),
  match(desc: ProbeDescFields): ProbeSite<undefined>[] {
    return sites.filter((s) => matchProbeField(desc.module, s.module) && matchProbeField(desc.function, s.function) && matchProbeField(desc.name, s.name));
  },
  list: () => sites,
  plan(probes: EnabledProbe<undefined>[]): ProgramPlan<null, undefined>[] {
    // ERROR clauses are not a program of their own: the fault path reports the error record.
    return probes.filter((p) => p.site.name !== 'ERROR').map((p) => ({
      name: `dtrace_${p.site.name}`,
      bpfType: 'raw_tracepoint',
      attach: null,
      probes: [p],
      runMode: p.site.name === 'BEGIN' ? 'begin' : 'end',
      emitTrampoline(t) { t.emitClauses(p.id); },
    }));
  },
  attach: () => [],
};
