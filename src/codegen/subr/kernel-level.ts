/**
 * @fileoverview Which kernel the string library compiles for until kernel feature detection
 * (bpf/features.ts, branch `isa`) hands a KernelCaps through CompileOptions.kernel: an emulated
 * mainline level from `DTRACE_TS_KERNEL` (string kfuncs: 6.17; bpf_iter_num_*: 6.4), else the
 * running kernel's release taken as its mainline level (uname: no BTF read at startup). Drop
 * this file when detection lands.
 */
import { NEWEST_KERNEL, type KernelCaps } from '../../bpf/kernel-caps.js';
import { release } from 'node:os';

const STRING_KFUNCS_SINCE = [6, 17] as const;
const ITER_NUM_SINCE = [6, 4] as const;

/** "5.15" -> [5, 15]; undefined when not a version. */
function parseVersion(text: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const before = (v: readonly [number, number], since: readonly [number, number]): boolean =>
  v[0] < since[0] || (v[0] === since[0] && v[1] < since[1]);

/** The capabilities of mainline `version` ("5.15"), as far as the code generator cares. */
export function emulatedKernel(version: string): KernelCaps {
  const v = parseVersion(version);
  if (!v) throw new Error(`DTRACE_TS_KERNEL=${version}: expected a version such as 6.1 or 5.15`);
  const kfuncs = [...NEWEST_KERNEL.kfuncs].filter((k) =>
    k.startsWith('bpf_iter_num_') ? !before(v, ITER_NUM_SINCE) : !before(v, STRING_KFUNCS_SINCE));
  return { version, isaV4: !before(v, [6, 6]), kfuncs: new Set(kfuncs) };
}

let cached: KernelCaps | undefined;

/** DTRACE_TS_KERNEL's level, else the running kernel's release ("6.1.0-57-amd64" -> 6.1). */
export function defaultKernel(): KernelCaps {
  if (cached) return cached;
  const level = process.env.DTRACE_TS_KERNEL || release();
  return (cached = parseVersion(level) ? emulatedKernel(level) : NEWEST_KERNEL);
}
