/**
 * @fileoverview Fits generated code to the kernel it will load into (CompileOptions.kernel):
 * ISA v4 instructions become v3 sequences where the kernel lacks v4 (bpf/asm/isa-v3.ts), and a
 * kfunc the kernel lacks is a compile-time error naming it rather than a verifier refusal.
 */
import type { Insn } from '../bpf/asm/insn.js';
import { toIsaV3 } from '../bpf/asm/isa-v3.js';
import type { KernelCaps } from '../bpf/kernel-caps.js';
import { KFUNC_SINCE } from '../bpf/features.js';

export interface FittablePrograms {
  programs: { insns: Insn[] }[];
  subprograms: Map<string, Insn[]>;
}

/** Rewrites the code in place for `kernel`; returns the kfuncs the code calls that it lacks. */
export function fitToKernel(code: FittablePrograms, kernel: KernelCaps): string[] {
  const pieces = [...code.programs.map((p) => p.insns), ...code.subprograms.values()];
  const missing = new Set<string>();
  for (const insns of pieces) for (const i of insns) if (i.kfunc !== undefined && !kernel.kfuncs.has(i.kfunc)) missing.add(i.kfunc);
  if (!kernel.isaV4) {
    for (const p of code.programs) p.insns = toIsaV3(p.insns);
    for (const [name, body] of code.subprograms) code.subprograms.set(name, toIsaV3(body));
  }
  return [...missing];
}

/** One line for a kfunc the kernel lacks. */
export function missingKfuncMessage(name: string, kernel: KernelCaps): string {
  const since = KFUNC_SINCE[name];
  return `missing kfunc ${name}: this program needs it${since ? ` (Linux ${since})` : ''} and this kernel (${kernel.version}) does not have it`;
}
