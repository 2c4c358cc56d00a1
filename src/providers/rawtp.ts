/**
 * @fileoverview The rawtp provider (providers-on-linux.md §5): `rawtp:<group>::<event>` for
 * every kernel tracepoint in tracefs `available_events`, attached as a raw tracepoint
 * (BPF_RAW_TRACEPOINT_OPEN, ≈0.1 ms to detach). argN are the tracepoint's TP_PROTO arguments
 * (`sched_switch`: arg0 preempt, arg1 prev, arg2 next, arg3 prev_state), typed from BTF
 * `btf_trace_<event>`; a tracepoint whose prototype BTF does not know gets no arguments,
 * since a raw tracepoint program may not read past the tracepoint's argument count.
 */
import { matchProbeField, isGlob } from '../bpf/elf/glob.js';
import { attachRawTracepoint } from '../bpf/link.js';
import { R1, R10, R9 } from '../bpf/asm/insn.js';
import { tracefsEvents, rawTracepointParams, NON_TRACEPOINT_GROUPS, couldBeEventName } from './kernel-events.js';
import { providerAttributes, EVOLVING_ISA, PRIVATE_UNKNOWN, PRIVATE_ISA } from './attributes.js';
import type { Provider, ProbeSite, ProbeDescFields, EnabledProbe, ProgramPlan } from './provider.js';

const MAX_ARGS = 10;

export const TRACEPOINT_ATTRIBUTES = providerAttributes(EVOLVING_ISA, PRIVATE_UNKNOWN, PRIVATE_UNKNOWN, EVOLVING_ISA, PRIVATE_ISA);

/**
 * Sites of tracefs events for a provider named `provider`, narrowed by a description
 * (a literal module and name are checked without scanning every event's name).
 */
export function tracepointSites(provider: string, desc: ProbeDescFields | undefined): ProbeSite<undefined>[] {
  if (desc && !matchProbeField(desc.function, '')) return [];
  if (desc?.name && !isGlob(desc.name) && !couldBeEventName(desc.name)) return [];
  // A description that names no provider (`BEGIN`, `tick-1s`) is matched against every
  // provider; kernel tracepoint names are lower-case, so an upper-case one is not looked up in
  // tracefs (which would mount it and read every event name). `sdt:::Name` still is.
  if (desc && desc.provider === '' && desc.name && !isGlob(desc.name) && /[A-Z]/.test(desc.name)) return [];
  const out: ProbeSite<undefined>[] = [];
  for (const ev of tracefsEvents()) {
    if (NON_TRACEPOINT_GROUPS.has(ev.category)) continue;
    if (desc && (!matchProbeField(desc.module, ev.category) || !matchProbeField(desc.name, ev.name))) continue;
    out.push({ provider, module: ev.category, function: '', name: ev.name });
  }
  return out;
}

/** Attaches by the raw tracepoint's name. */
export const rawtpProvider: Provider<undefined, string> = {
  name: 'rawtp',
  attributes: TRACEPOINT_ATTRIBUTES,
  match: (desc) => tracepointSites('rawtp', desc),
  list: () => tracepointSites('rawtp', undefined),
  argDescs(site) {
    return rawTracepointParams(site.name)?.slice(0, MAX_ARGS).map((p, i) => ({ mapping: i, native: p.type }));
  },
  plan(enabled: EnabledProbe<undefined>[]): ProgramPlan<string, undefined>[] {
    return enabled.map((p) => {
      const nargs = Math.min(MAX_ARGS, rawTracepointParams(p.site.name)?.length ?? 0);
      return {
        name: `rawtp_${p.site.name}`,
        bpfType: 'raw_tracepoint',
        attach: p.site.name,
        probes: [p],
        runMode: 'attach',
        emitTrampoline(t) {
          const a = t.asm;
          // ctx: u64 args[nargs]; reading past nargs makes the attach fail (max_ctx_offset).
          for (let i = 0; i < MAX_ARGS; i++) {
            if (i < nargs) a.ldx(8, R1, R10, -8).ldx(8, R1, R1, 8 * i).stx(8, R9, t.argOffset(i), R1);
            else a.st(8, R9, t.argOffset(i), 0);
          }
          t.emitClauses(p.id);
        },
      };
    });
  },
  attach(req, prog) {
    const s = req.probes[0]!;
    return [attachRawTracepoint(prog, req.attach, `attach rawtp:${s.module}::${s.name}`)];
  },
};
