/**
 * @fileoverview The running kernel's symbols and types, handed to the compiler (CompileOptions.kernel):
 * compiling itself reads no kernel file.
 */
import { readFileSync } from 'node:fs';
import { kernelTypeSource } from '../check/btf-types.js';
import { kernelSymbolAddress, kernelSymbols } from '../consume/ksyms.js';
import { tracerFrameTable, type TracerFrameTable } from '../consume/tracer-frames.js';
import { featureStatus } from '../bpf/features.js';
import type { KernelLookups } from '../codegen/compile.js';

let tracerFrames: TracerFrameTable | undefined | null = null;

export const runningKernel: KernelLookups = {
  symbol(name) {
    // Data symbols too (`` `name ``); 0 is what kallsyms shows when addresses are hidden.
    try { const addr = kernelSymbolAddress(name, undefined, undefined, true); return addr === 0n ? undefined : addr; } catch { return undefined; }
  },
  types: kernelTypeSource,
  tracerFrames() {
    if (tracerFrames === null) {
      try { tracerFrames = tracerFrameTable(kernelSymbols()); } catch { tracerFrames = undefined; }
    }
    return tracerFrames;
  },
  writeUser: () => featureStatus('probe_write_user'),
  cpuPackages() {
    if (cpuPackages === null) cpuPackages = readCpuPackages();
    return cpuPackages;
  },
};

let cpuPackages: number[] | undefined | null = null;

/** physical_package_id of cpu0..cpuN-1 (possible CPUs), -1 read as 0; undefined without /sys. */
function readCpuPackages(): number[] | undefined {
  try {
    const possible = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    const last = Math.max(...possible.split(',').map((r) => Number(r.split('-').at(-1))));
    return Array.from({ length: last + 1 }, (_, cpu) => {
      try { return Math.max(0, Number(readFileSync(`/sys/devices/system/cpu/cpu${cpu}/topology/physical_package_id`, 'utf8').trim()) || 0); } catch { return 0; }
    });
  } catch { return undefined; }
}
