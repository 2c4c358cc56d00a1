/**
 * @fileoverview The running kernel's symbols and types, handed to the compiler (CompileOptions.kernel):
 * compiling itself reads no kernel file.
 */
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
};
