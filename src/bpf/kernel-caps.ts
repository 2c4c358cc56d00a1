/**
 * @fileoverview What the code generator may use on the kernel a program will load into: plain
 * data, decided once per run by feature detection (bpf/features.ts) — or by an emulated kernel
 * level (`DTRACE_TS_KERNEL=6.1`) for testing the fallbacks on a newer kernel — and passed to
 * compilation through its options, so compiling itself never touches the kernel.
 */
import { Helper } from './uapi.js';

export interface KernelCaps {
  /** The mainline version these capabilities correspond to, e.g. "6.18" (detected) or "5.15" (emulated). */
  version: string;
  /** BPF ISA v4 (6.6): sign-extending moves and loads, signed div/mod, `gotol`, bswap. */
  isaV4: boolean;
  /** The kfuncs the kernel's BTF exports that the code generator may call (string kfuncs: 6.17; bpf_iter_num_*: 6.4). */
  kfuncs: ReadonlySet<string>;
  /** BPF helper ids (uapi `Helper`) programs may call (bpf_loop 5.17, user_ringbuf_drain 6.1, …). */
  helpers: ReadonlySet<number>;
  /** Bounded loops (5.3): the verifier accepts back-edges it can prove finite. */
  boundedLoops: boolean;
  /** The bpf_loop helper (5.17): a callback run up to N times, the verifier checking it once. */
  bpfLoop: boolean;
}

/** Everything the code generator knows how to use: the newest kernels. */
export const NEWEST_KERNEL: KernelCaps = {
  version: 'newest',
  isaV4: true,
  kfuncs: new Set([
    'bpf_strcmp', 'bpf_strcasecmp', 'bpf_strchr', 'bpf_strchrnul', 'bpf_strnchr', 'bpf_strrchr', 'bpf_strlen', 'bpf_strnlen',
    'bpf_strspn', 'bpf_strcspn', 'bpf_strstr', 'bpf_strnstr',
    'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy',
  ]),
  helpers: new Set(Object.values(Helper)),
  boundedLoops: true,
  bpfLoop: true,
};
