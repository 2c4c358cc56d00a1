/**
 * @fileoverview Typed failures of the kernel interface (src/bpf). Each error says what was being
 * attempted so the CLI can print one line a user understands, e.g.
 * `attach syscall::openat:entry: perf_event_open: EACCES`. Plain classes with fields: callers
 * branch on `instanceof` and on `code`, never on message text.
 */

/** A system call failed. `op` names the call or bpf command ('BPF_MAP_CREATE', 'perf_event_open'…). */
export class SysError extends Error {
  override readonly name = 'SysError';
  constructor(
    /** The system call or bpf(2) command that failed. */
    readonly op: string,
    /** The positive errno value. */
    readonly errno: number,
    /** Symbolic errno ('EPERM', 'ENOENT'…). */
    readonly code: string,
    /** What the caller was trying to do, e.g. 'attach syscall::openat:entry'. */
    readonly attempt: string,
    detail?: string,
  ) {
    super(`${attempt ? attempt + ': ' : ''}${op}: ${code}${detail ? ` (${detail})` : ''}`);
  }
}

/** The verifier rejected a program. `log` holds the verifier's text. */
export class VerifierError extends Error {
  override readonly name = 'VerifierError';
  constructor(
    /** The program that was being loaded. */
    readonly programName: string,
    /** The positive errno of the final BPF_PROG_LOAD (usually EACCES or EINVAL). */
    readonly errno: number,
    readonly code: string,
    /** The full verifier log (level 1 or 2). May be truncated at the front if it was enormous. */
    readonly log: string,
    /** The instruction the verifier stopped at, parsed from the end of the log, when it says. */
    readonly insnIndex: number | undefined,
    /** The most telling line of the log (the error message itself). */
    readonly reason: string,
  ) {
    super(`load program ${programName}: BPF_PROG_LOAD: ${code}: ${reason}` +
      (insnIndex !== undefined ? ` (at instruction ${insnIndex})` : ''));
  }
}

/** A feature this kernel lacks; `feature` is the features.ts name, `forWhat` the D construct needing it. */
export class UnsupportedError extends Error {
  override readonly name = 'UnsupportedError';
  constructor(
    readonly feature: string,
    readonly forWhat: string,
    /** Why it is unavailable, in words ("this kernel has no kprobes (CONFIG_KPROBES is not set)"). */
    readonly reason: string,
    /** The first mainline kernel that has it, when that is the whole story. */
    readonly minimumKernel?: string,
  ) {
    super(`${forWhat}: ${reason}`);
  }
}
