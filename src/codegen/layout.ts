/**
 * @fileoverview The per-CPU scratch value every program works in (dtrace-utils' `mem` map):
 * fixed regions at offsets that are compile-time constants, so the verifier sees every access
 * as map_value + constant and needs no bounds checks. R9 holds its address in every program.
 *
 *   0      mstate: prid, stid, argv[10], timestamp cache, fault info, regs copy
 *   TMP    temporary strings (NTMP slots of strsize+8, rounded to 8)
 *   KEY    two key-building areas (aggregation/assoc tuples), KEYMAX each
 *   LVARS  clause-local (this->) variables
 *   REC    the record being built for the ring buffer (largest record of any clause)
 */

export const MST = {
  prid: 0,
  stid: 4,
  argv: 8, // 10 × u64 → 8..88
  timestamp: 88,
  faultAddr: 96,
  scratchU64: 104, // a u64 slot for probe_read results
  regs: 112, // 64-byte copy of part of pt_regs (syscall args)
  allocaTop: 176, // next free alloca offset in this clause (multiple of 8; 8 = nothing allocated)
  savedArgv: 184, // argv[0..5] of the faulting probe while ERROR clauses run (6 × u64)
  specId: 232, // the speculation this clause's record goes to (speculate()), 0 = none
  cpuinfo: 240, // cpuinfo_t that `curcpu` points to: cpu_id, pset, chip, lgrp (filled on use)
  errno: 264, // `errno`: set by syscall return probes (the failed call's error number), else 0 (i32)
  size: 272,
} as const;

export const NTMP = 32;
/** strSlot-sized areas of working memory for string subroutines. */
export const SUBR_SCRATCH_SLOTS = 4;
export const MAX_KEY_COMPONENTS = 10;
/** strSlot-sized areas, then FALLBACK_VARS bytes, of the string kfuncs' fallbacks. */
export const FALLBACK_SLOTS = 4;
export const FALLBACK_VARS = 64;
/** The fallbacks' unit: a power of two above strsize, so that `index & (span - 1)` stays in it. */
export function fallbackSpan(strsize: number): number {
  let span = 8;
  while (span < strsize + 1) span *= 2;
  return span;
}
/** Bytes of the fallbacks' work area at this strsize. */
export const fallbackBytes = (strsize: number): number => FALLBACK_SLOTS * fallbackSpan(strsize) + FALLBACK_VARS;

export interface MemLayout {
  strsize: number;
  /** Bytes a stored string occupies: strsize + 1 rounded up to 8 (room for the NUL). */
  strSlot: number;
  tmp: number;
  /** Number of temporary string slots at `tmp`. */
  ntmp: number;
  key: number;
  keyMax: number;
  lvars: number;
  lvarsMax: number;
  /** Working memory of string subroutines (codegen/subr): SUBR_SCRATCH_SLOTS × strSlot bytes. */
  subrScratch: number;
  /**
   * alloca() memory. D pointers into it are offsets (8 = the first byte; 0–7 are NULL), as in
   * dtrace-utils, so they print as DTrace prints them. `allocaLimit` bounds those offsets; the
   * region is twice the scratch size plus slack so that a checked offset plus a checked length
   * is always inside it for the verifier.
   */
  alloca: number;
  scratchsize: number;
  allocaLimit: number;
  /**
   * Working memory of the string library's plain-BPF fallbacks for the string kfuncs
   * (codegen/subr/fallback.ts), FALLBACK_SLOTS × fallbackSpan + FALLBACK_VARS bytes; 0 bytes (and
   * equal to `alloca`) when the kernel has the kfuncs.
   */
  subrFallback: number;
  /** strtok()'s saved position: strSlot bytes of the string being tokenised + 8 bytes of offset. */
  strtok: number;
  rec: number;
  /** Total value size; REC's extent is decided after code generation. */
  size(recMax: number): number;
}

/** What code generation actually used of the scratch regions (for a fitted second layout). */
export interface MemUsage {
  tmpSlots: number;
  keyAreas: number;
  keyBytes: number;
  lvarBytes: number;
  strings: boolean;
  alloca: boolean;
}

export function emptyUsage(): MemUsage {
  return { tmpSlots: 0, keyAreas: 0, keyBytes: 0, lvarBytes: 0, strings: false, alloca: false };
}

/**
 * A layout with each region as large as `usage` says it must be: the per-CPU value (at most
 * 32 KiB for a per-CPU map) then leaves the record area room for large records.
 */
export function fittedLayout(strsize: number, scratchsize: number, usage: MemUsage, stringFallback = false): MemLayout {
  const strSlot = (strsize + 1 + 7) & ~7;
  const tmp = MST.size;
  const ntmp = Math.max(1, usage.tmpSlots);
  const key = tmp + ntmp * strSlot;
  const keyMax = Math.max(8, (usage.keyBytes + 7) & ~7);
  const lvars = key + Math.max(1, usage.keyAreas) * keyMax;
  const lvarsMax = Math.max(8, usage.lvarBytes);
  const subrScratch = lvars + lvarsMax;
  const strtok = subrScratch + (usage.strings ? SUBR_SCRATCH_SLOTS * strSlot : 0);
  const subrFallback = strtok + (usage.strings ? strSlot + 8 : 0);
  const alloca = subrFallback + (usage.strings && stringFallback ? fallbackBytes(strsize) : 0);
  const allocaLimit = 2 * scratchsize + 16;
  const rec = alloca + (usage.alloca ? allocaLimit + 16 : 0);
  return { strsize, strSlot, tmp, ntmp, key, keyMax, lvars, lvarsMax, subrScratch, strtok, subrFallback, alloca, scratchsize, allocaLimit, rec, size: (recMax) => rec + Math.max(recMax, 8) };
}

export function memLayout(strsize: number, scratchsize = 256 + 8, stringFallback = false): MemLayout {
  const strSlot = (strsize + 1 + 7) & ~7;
  // Instructions address this value with signed 16-bit offsets from its start, so the fixed
  // regions are sized to end well below 32 KiB even with a large strsize (fewer string slots
  // then); the record area comes last.
  const slots = (budget: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(budget / strSlot)));
  const tmp = MST.size;
  const ntmp = slots(12288, 4, NTMP);
  const key = tmp + ntmp * strSlot;
  const keyMax = slots(5200, 2, MAX_KEY_COMPONENTS) * strSlot;
  const lvars = key + 2 * keyMax;
  const lvarsMax = slots(8192, 4, 16) * strSlot;
  const subrScratch = lvars + lvarsMax;
  const strtok = subrScratch + SUBR_SCRATCH_SLOTS * strSlot;
  const subrFallback = strtok + strSlot + 8;
  const alloca = subrFallback + (stringFallback ? fallbackBytes(strsize) : 0);
  const allocaLimit = 2 * scratchsize + 16;
  const rec = alloca + allocaLimit + 16;
  return { strsize, strSlot, tmp, ntmp, key, keyMax, lvars, lvarsMax, subrScratch, strtok, subrFallback, alloca, scratchsize, allocaLimit, rec, size: (recMax) => rec + Math.max(recMax, 8) };
}

/** Activity states in the `state` map (dtrace-utils' dt_state.h). */
export const Activity = { INACTIVE: 0, ACTIVE: 1, DRAINING: 2, STOPPED: 3 } as const;

/** Offsets inside the `state` map's single value. */
export const STATE = {
  activity: 0,
  dynvarDrops: 8,
  aggDrops: 16,
  bufDrops: 24,
  errors: 32,
  specUnavail: 40, // speculation() found no free buffer
  specBusy: 48,
  size: 64,
} as const;

/** DTrace fault codes (DTRACEFLT_*), as the ERROR probe's arg4 reports them. */
export const Fault = {
  UNKNOWN: 0, BADADDR: 1, BADALIGN: 2, ILLOP: 3, DIVZERO: 4, NOSCRATCH: 5, KPRIV: 6, UPRIV: 7,
  TUPOFLOW: 8, BADSTACK: 9, BADSIZE: 10, BADINDEX: 11, LIBRARY: 1000,
} as const;
