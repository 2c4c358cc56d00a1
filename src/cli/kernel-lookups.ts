/**
 * @fileoverview The running kernel's symbols and types, handed to the compiler (CompileOptions.kernel):
 * compiling itself reads no kernel file.
 */
import { kernelTypeSource } from '../check/btf-types.js';
import { kernelSymbolAddress } from '../consume/ksyms.js';
import type { KernelLookups } from '../codegen/compile.js';

export const runningKernel: KernelLookups = {
  symbol(name) {
    // Data symbols too (`` `name ``); 0 is what kallsyms shows when addresses are hidden.
    try { const addr = kernelSymbolAddress(name, undefined, undefined, true); return addr === 0n ? undefined : addr; } catch { return undefined; }
  },
  types: kernelTypeSource,
};
