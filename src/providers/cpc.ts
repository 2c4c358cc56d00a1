/**
 * @fileoverview The cpc provider (CPU performance counters), named as dtrace-utils names it:
 * `cpc:::<event>-<mode>-<count>` fires on a CPU each time `count` events of kind `event`
 * happened there in `mode` (`user`, `kernel` or `all`). Events are perf's generic ones with `-`
 * written `_` (`page_faults`, `cpu_clock`, `cpu_cycles`, `cache_misses` …): the software events
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

interface CpcEvent { type: number; config: number; hardware: boolean; listedCount: number }

/** perf's generic event names (tools/perf `perf list`), `-` as `_`. */
const EVENTS: Record<string, CpcEvent> = {
  cpu_clock: { type: PerfType.SOFTWARE, config: PerfSwId.CPU_CLOCK, hardware: false, listedCount: 1_000_000 },
  task_clock: { type: PerfType.SOFTWARE, config: PerfSwId.TASK_CLOCK, hardware: false, listedCount: 1_000_000 },
  page_faults: { type: PerfType.SOFTWARE, config: PerfSwId.PAGE_FAULTS, hardware: false, listedCount: 1000 },
  minor_faults: { type: PerfType.SOFTWARE, config: PerfSwId.PAGE_FAULTS_MIN, hardware: false, listedCount: 1000 },
  major_faults: { type: PerfType.SOFTWARE, config: PerfSwId.PAGE_FAULTS_MAJ, hardware: false, listedCount: 100 },
  context_switches: { type: PerfType.SOFTWARE, config: PerfSwId.CONTEXT_SWITCHES, hardware: false, listedCount: 1000 },
  cpu_migrations: { type: PerfType.SOFTWARE, config: PerfSwId.CPU_MIGRATIONS, hardware: false, listedCount: 100 },
  alignment_faults: { type: PerfType.SOFTWARE, config: PerfSwId.ALIGNMENT_FAULTS, hardware: false, listedCount: 100 },
  emulation_faults: { type: PerfType.SOFTWARE, config: PerfSwId.EMULATION_FAULTS, hardware: false, listedCount: 100 },
  cpu_cycles: { type: PerfType.HARDWARE, config: PerfHwId.CPU_CYCLES, hardware: true, listedCount: 1_000_000 },
  instructions: { type: PerfType.HARDWARE, config: PerfHwId.INSTRUCTIONS, hardware: true, listedCount: 1_000_000 },
  cache_references: { type: PerfType.HARDWARE, config: PerfHwId.CACHE_REFERENCES, hardware: true, listedCount: 100_000 },
  cache_misses: { type: PerfType.HARDWARE, config: PerfHwId.CACHE_MISSES, hardware: true, listedCount: 10_000 },
  branch_instructions: { type: PerfType.HARDWARE, config: PerfHwId.BRANCH_INSTRUCTIONS, hardware: true, listedCount: 1_000_000 },
  branch_misses: { type: PerfType.HARDWARE, config: PerfHwId.BRANCH_MISSES, hardware: true, listedCount: 10_000 },
  bus_cycles: { type: PerfType.HARDWARE, config: PerfHwId.BUS_CYCLES, hardware: true, listedCount: 100_000 },
  ref_cpu_cycles: { type: PerfType.HARDWARE, config: PerfHwId.REF_CPU_CYCLES, hardware: true, listedCount: 1_000_000 },
};
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
  const names: string[] = [];
  for (const [event, e] of Object.entries(EVENTS)) {
    if (e.hardware && !hw) continue;
    for (const mode of MODES) names.push(`${event}-${mode}-${e.listedCount}`);
  }
  return names;
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
