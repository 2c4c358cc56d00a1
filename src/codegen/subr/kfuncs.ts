/**
 * @fileoverview Kernel functions (kfuncs) the string subroutines call, and how their BTF ids
 * are found: a kfunc call carries the id of the FUNC record in the running kernel's BTF
 * (/sys/kernel/btf/vmlinux), which `encode()` (bpf/asm/encode.ts) puts into the call's `imm`
 * through `EncodeResolver.kfuncId`. The string kfuncs (bpf_strlen … bpf_strcspn) appeared in
 * Linux 6.17; bpf_iter_num_* in 6.4.
 */
import { existsSync } from 'node:fs';
import { KERNEL_BTF_PATH, loadKernelBtf } from '../../bpf/btf/index.js';
import type { Insn } from '../../bpf/asm/insn.js';

/** The BTF id of kernel function `name`, for `EncodeResolver.kfuncId`; throws when absent. */
export function kernelKfuncId(name: string): number {
  const id = existsSync(KERNEL_BTF_PATH) ? loadKernelBtf().findFunc(name) : undefined;
  if (id === undefined) throw new Error(`this kernel has no kfunc ${name} (needs Linux 6.17 for the string kfuncs)`);
  return id;
}

/** The kfuncs `insns` call, in first-use order. */
export function kfuncsCalled(insns: readonly Insn[]): string[] {
  const names = new Set<string>();
  for (const i of insns) if (i.kfunc !== undefined) names.add(i.kfunc);
  return [...names];
}

/** Of `names`, those the running kernel's BTF does not export. */
export function missingKfuncs(names: readonly string[]): string[] {
  if (!existsSync(KERNEL_BTF_PATH)) return [...names];
  const btf = loadKernelBtf();
  return names.filter((n) => btf.findFunc(n) === undefined);
}
