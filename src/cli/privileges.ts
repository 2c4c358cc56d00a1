/**
 * @fileoverview Whether this process may load and attach BPF programs, decided before anything
 * is compiled or listed, so an unprivileged user gets DTrace's one line and what to do — not an
 * EPERM from deep inside map creation after "matched 1 probe", nor a silently short `-l`.
 */
import { readFileSync } from 'node:fs';

const CAP_DAC_READ_SEARCH = 2;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** The effective capability set of this process (CapEff of /proc/self/status). */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'latin1')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/**
 * Undefined when the process may trace; otherwise the hint to print. Root, CAP_SYS_ADMIN, or
 * CAP_BPF with CAP_PERFMON (Linux 5.8+) load tracing programs; reading tracefs and /proc of
 * other users also takes CAP_DAC_READ_SEARCH.
 */
export function missingPrivileges(caps = effectiveCapabilities()): string | undefined {
  const has = (bit: number) => (caps & (1n << BigInt(bit))) !== 0n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON) && has(CAP_DAC_READ_SEARCH))) return undefined;
  return 'tracing needs root: run it with sudo, or give node the capabilities CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH';
}
