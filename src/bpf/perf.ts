/**
 * @fileoverview perf_event_open(2): building `struct perf_event_attr` (include/uapi/linux/perf_event.h)
 * and opening events, plus the dynamic PMUs (uprobe, kprobe) described in
 * /sys/bus/event_source/devices/<pmu>/{type,format/*}. link.ts attaches programs to these fds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { allocNative, freeNative, perfEventOpen, setU64 } from './sys.js';
import { PerfAttrFlagBit, PerfEventAttr, PerfFlag } from './uapi.js';

/** The fields of perf_event_attr a tracer sets; everything else stays zero. */
export interface PerfEventOptions {
  /** PERF_TYPE_* or a dynamic PMU type (uprobe, kprobe). */
  type: number;
  config: number | bigint;
  config1?: number | bigint;
  config2?: number | bigint;
  /** Sample at this frequency (Hz): sets the `freq` flag. */
  sampleFreq?: number;
  /** Sample every N events (for CPU_CLOCK: every N nanoseconds). */
  samplePeriod?: number | bigint;
  sampleType?: number;
  wakeupEvents?: number;
  /** Names of perf_event_attr flag bits to set (e.g. 'disabled', 'exclude_idle'). */
  flagBits?: (keyof typeof PerfAttrFlagBit)[];
}

/** Encodes a perf_event_attr (PERF_ATTR_SIZE_VER7, 128 bytes) into `out` (or a new array). */
export function encodePerfEventAttr(opts: PerfEventOptions, out: Uint8Array = new Uint8Array(PerfEventAttr.sizeBytes)): Uint8Array {
  if (opts.sampleFreq !== undefined && opts.samplePeriod !== undefined) {
    throw new RangeError('perf event: give sampleFreq or samplePeriod, not both');
  }
  out.fill(0, 0, PerfEventAttr.sizeBytes);
  const v = new DataView(out.buffer, out.byteOffset, PerfEventAttr.sizeBytes);
  v.setUint32(PerfEventAttr.type, opts.type, true);
  v.setUint32(PerfEventAttr.size, PerfEventAttr.sizeBytes, true);
  setU64(v, PerfEventAttr.config, opts.config);
  let flags = 0n;
  for (const name of opts.flagBits ?? []) flags |= 1n << BigInt(PerfAttrFlagBit[name]);
  if (opts.sampleFreq !== undefined) {
    setU64(v, PerfEventAttr.sample_freq, opts.sampleFreq);
    flags |= 1n << BigInt(PerfAttrFlagBit.freq);
  } else {
    setU64(v, PerfEventAttr.sample_period, opts.samplePeriod ?? 1);
  }
  setU64(v, PerfEventAttr.sample_type, opts.sampleType ?? 0);
  setU64(v, PerfEventAttr.flags, flags);
  v.setUint32(PerfEventAttr.wakeup_events, opts.wakeupEvents ?? 1, true);
  setU64(v, PerfEventAttr.config1, opts.config1 ?? 0);
  setU64(v, PerfEventAttr.config2, opts.config2 ?? 0);
  return out;
}

/**
 * Opens a perf event for `pid` (-1: every process) on `cpu` (-1: any CPU; at least one of the
 * two must be set). Returns the fd (close-on-exec). Throws SysError naming `attempt`.
 */
export function openPerfEvent(opts: PerfEventOptions, target: { pid: number; cpu: number; groupFd?: number }, attempt: string): number {
  const attr = allocNative(PerfEventAttr.sizeBytes);
  try {
    encodePerfEventAttr(opts, attr.bytes);
    return perfEventOpen(attr, target.pid, target.cpu, target.groupFd ?? -1, PerfFlag.FD_CLOEXEC, attempt);
  } finally {
    freeNative(attr);
  }
}

/** A dynamic PMU (uprobe, kprobe) as sysfs describes it. */
export interface DynamicPmu {
  name: string;
  type: number;
  /** Bit in `config` that makes it a return probe (format/retprobe "config:0"). */
  retprobeBit: number;
  /** First bit of the reference-counter (semaphore) offset in `config` (format/ref_ctr_offset "config:32-63"). */
  refCtrOffsetShift: number | undefined;
}

const PMU_ROOT = '/sys/bus/event_source/devices';
const pmuCache = new Map<string, DynamicPmu | undefined>();

/** Parses a PMU format file ("config:0", "config:32-63") into its first bit. */
export function parsePmuFormatBit(text: string): number | undefined {
  const m = /^config:(\d+)(?:-\d+)?\s*$/.exec(text.trim());
  return m ? Number(m[1]) : undefined;
}

/** Reads /sys/bus/event_source/devices/<name>; undefined when the kernel lacks this PMU. */
export function dynamicPmu(name: 'uprobe' | 'kprobe'): DynamicPmu | undefined {
  if (pmuCache.has(name)) return pmuCache.get(name);
  let pmu: DynamicPmu | undefined;
  const dir = `${PMU_ROOT}/${name}`;
  if (existsSync(`${dir}/type`)) {
    const read = (file: string): string | undefined => { try { return readFileSync(`${dir}/${file}`, 'utf8'); } catch { return undefined; } };
    const type = Number.parseInt(read('type') ?? '', 10);
    if (!Number.isNaN(type)) {
      const refCtr = read('format/ref_ctr_offset');
      pmu = {
        name,
        type,
        retprobeBit: parsePmuFormatBit(read('format/retprobe') ?? '') ?? 0,
        refCtrOffsetShift: refCtr === undefined ? undefined : parsePmuFormatBit(refCtr),
      };
    }
  }
  pmuCache.set(name, pmu);
  return pmu;
}
