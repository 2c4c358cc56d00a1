/**
 * @fileoverview The cpc provider (CPU performance counters), named as dtrace-utils names it:
 * `cpc:::<event>-<mode>-<count>` fires on a CPU each time `count` events of kind `event`
 * happened there in `mode` (`user`, `kernel` or `all`). Events are perf's generic ones, named as libpfm4
 * names them with `-` written `_` (`page_faults`, `perf_count_sw_cpu_clock`, `cycles` …): the software events
 * exist on every kernel, the hardware ones only where the machine has a PMU (a VM usually has
 * none: enabling one then fails with one line saying so). Each probe is a sampling perf event
 * per CPU running a perf_event program, as profile-N is; arg0 is the kernel PC when the event
 * happened in the kernel, arg1 the user PC otherwise.
 */
import { existsSync } from 'node:fs';
import { attachPerfEvent } from '../bpf/link.js';
import { onlineCpus } from '../bpf/map.js';
import { PerfHwId, PerfSwId, PerfType } from '../bpf/uapi.js';
import { UnsupportedError } from '../bpf/errors.js';
import { sampledPlans, sampledProbes } from './profile.js';
import type { Provider, EnabledProbe } from './provider.js';

interface CpcEvent { type: number; config: number; hardware: boolean }

/**
 * perf's generic events under the names libpfm4 gives them (its `perf` PMU: each event's
 * PERF_COUNT_* name, then its aliases), lower-cased with `-` as `_`, as dtrace-utils derives cpc
 * probe names: `perf_count_sw_cpu_clock`, `cpu_clock`; `perf_count_sw_page_faults`,
 * `page_faults`, `faults` … In libpfm4's order, which is the order `-l` lists them in.
 */
const EVENT_NAMES: [type: number, config: number, names: string[]][] = [
  [PerfType.HARDWARE, PerfHwId.CPU_CYCLES, ['perf_count_hw_cpu_cycles', 'cycles', 'cpu_cycles']],
  [PerfType.HARDWARE, PerfHwId.INSTRUCTIONS, ['perf_count_hw_instructions', 'instructions']],
  [PerfType.HARDWARE, PerfHwId.CACHE_REFERENCES, ['perf_count_hw_cache_references', 'cache_references']],
  [PerfType.HARDWARE, PerfHwId.CACHE_MISSES, ['perf_count_hw_cache_misses', 'cache_misses']],
  [PerfType.HARDWARE, PerfHwId.BRANCH_INSTRUCTIONS, ['perf_count_hw_branch_instructions', 'branch_instructions', 'branches']],
  [PerfType.HARDWARE, PerfHwId.BRANCH_MISSES, ['perf_count_hw_branch_misses', 'branch_misses']],
  [PerfType.HARDWARE, PerfHwId.BUS_CYCLES, ['perf_count_hw_bus_cycles', 'bus_cycles']],
  [PerfType.HARDWARE, PerfHwId.STALLED_CYCLES_FRONTEND, ['perf_count_hw_stalled_cycles_frontend', 'stalled_cycles_frontend', 'idle_cycles_frontend']],
  [PerfType.HARDWARE, PerfHwId.STALLED_CYCLES_BACKEND, ['perf_count_hw_stalled_cycles_backend', 'stalled_cycles_backend', 'idle_cycles_backend']],
  [PerfType.HARDWARE, PerfHwId.REF_CPU_CYCLES, ['perf_count_hw_ref_cpu_cycles', 'ref_cycles', 'ref_cpu_cycles']],
  [PerfType.SOFTWARE, PerfSwId.CPU_CLOCK, ['perf_count_sw_cpu_clock', 'cpu_clock']],
  [PerfType.SOFTWARE, PerfSwId.TASK_CLOCK, ['perf_count_sw_task_clock', 'task_clock']],
  [PerfType.SOFTWARE, PerfSwId.PAGE_FAULTS, ['perf_count_sw_page_faults', 'page_faults', 'faults']],
  [PerfType.SOFTWARE, PerfSwId.CONTEXT_SWITCHES, ['perf_count_sw_context_switches', 'context_switches', 'cs']],
  [PerfType.SOFTWARE, PerfSwId.CPU_MIGRATIONS, ['perf_count_sw_cpu_migrations', 'cpu_migrations', 'migrations']],
  [PerfType.SOFTWARE, PerfSwId.PAGE_FAULTS_MIN, ['perf_count_sw_page_faults_min', 'minor_faults']],
  [PerfType.SOFTWARE, PerfSwId.PAGE_FAULTS_MAJ, ['perf_count_sw_page_faults_maj', 'major_faults']],
  [PerfType.SOFTWARE, PerfSwId.ALIGNMENT_FAULTS, ['perf_count_sw_alignment_faults', 'alignment_faults']],
  [PerfType.SOFTWARE, PerfSwId.EMULATION_FAULTS, ['perf_count_sw_emulation_faults', 'emulation_faults']],
];
const EVENTS: Record<string, CpcEvent> = Object.fromEntries(EVENT_NAMES.flatMap(([type, config, names]) =>
  names.map((n) => [n, { type, config, hardware: type === PerfType.HARDWARE }])));
/** dtrace-utils lists each event once, in mode `all` with a period no event makes fire too often. */
const LISTED_SUFFIX = '-all-1000000000';
const MODES = ['all', 'user', 'kernel'] as const;
type Mode = (typeof MODES)[number];

/** A cpc probe: its event, mode and overflow count (decimal: plain data). */
export type CpcProbe = { event: string; mode: Mode; count: string };

/** Parses `cache_misses-user-10000`; undefined when it is not a cpc probe name. */
export function parseCpcName(name: string): CpcProbe | undefined {
  const m = /^([a-z0-9_]+)-(all|user|kernel)-([0-9]+)$/.exec(name);
  if (!m || EVENTS[m[1]!] === undefined) return undefined;
  const count = BigInt(m[3]!);
  if (count <= 0n || count >= 1n << 63n) return undefined;
  return { event: m[1]!, mode: m[2] as Mode, count: String(count) };
}

/** Whether the machine has a hardware PMU that perf exposes (not so in most VMs). */
export function hasHardwarePmu(): boolean {
  return ['cpu', 'cpu_core', 'cpu_atom', 'armv8_pmuv3_0'].some((d) => existsSync(`/sys/bus/event_source/devices/${d}`));
}

function listed(): string[] {
  const hw = hasHardwarePmu();
  return Object.entries(EVENTS).filter(([, e]) => hw || !e.hardware).map(([event]) => event + LISTED_SUFFIX);
}

/** Attaches a perf_event counter of the probe's event, overflowing every `count` events. */
export const cpcProvider: Provider<undefined, CpcProbe> = {
  name: 'cpc',
  ...sampledProbes('cpc', listed, parseCpcName),
  plan: (probes) => sampledPlans('cpc', probes, parseCpcName),
  *attach(req, prog) {
    const probe = req.attach;
    const e = EVENTS[probe.event]!;
    const what = `attach cpc:::${req.probes[0]!.name}`;
    if (e.hardware && !hasHardwarePmu()) {
      throw new UnsupportedError('hardware_pmu', what, 'this machine has no hardware performance counters (no PMU: common in virtual machines); the software events (cpu_clock, page_faults, context_switches ...) work everywhere');
    }
    const flagBits: ('exclude_kernel' | 'exclude_user' | 'exclude_hv')[] =
      probe.mode === 'user' ? ['exclude_kernel', 'exclude_hv'] : probe.mode === 'kernel' ? ['exclude_user', 'exclude_hv'] : [];
    for (const cpu of onlineCpus()) yield attachPerfEvent(prog, { cpu, type: e.type, config: e.config, samplePeriod: BigInt(probe.count), flagBits }, what);
  },
};
