/**
 * @fileoverview The decoded data that the formatters print. The runtime (consume/decode.ts)
 * turns kernel records into these plain values; everything under consume/format/ is pure and
 * turns them into Oracle DTrace 2.0's exact output bytes.
 *
 * Strings are *byte strings*: one JavaScript char per byte (char codes 0..255, i.e. latin1),
 * exactly as C's printf sees them. Widths (`%-33s`, `%16s`) count bytes, and the caller writes
 * the result with `Buffer.from(text, 'latin1')`. (A UTF-8 decode would make a 3-byte character
 * one column wide and change the padding, which Oracle does not do.)
 */
import type { AggFn, AggValue } from '../../builtins/aggregations.js';
export type { AggFn, AggValue } from '../../builtins/aggregations.js';

/** One traced / recorded datum. */
export type Value =
  /** An integer of a D type: `value` is the mathematical value (already sign- or zero-extended). */
  | { kind: 'int'; value: bigint; sizeBytes: 1 | 2 | 4 | 8; signed: boolean }
  /** float/double/long double (only reachable through printf's %e %f %g). */
  | { kind: 'float'; value: number; sizeBytes: 4 | 8 | 16 }
  /** A D string, already cut at its first NUL and at strsize. */
  | { kind: 'string'; value: string }
  /** Raw bytes: tracemem(), by-reference data (structs, arrays), rawbytes. */
  | { kind: 'bytes'; bytes: Uint8Array }
  /**
   * stack()/ustack(): frames already symbolised (``vmlinux`ksys_write+0x71``). `pcs` (the
   * raw program counters, plus the pid first for ustack) is only used to sort aggregation keys
   * the way Oracle does (memcmp of the record); without it the frame texts are compared.
   */
  | { kind: 'stack'; frames: string[]; pcs?: bigint[] }
  /**
   * sym/func/mod/usym/ufunc/umod/uaddr results, already resolved to text. `addr` (and `pid`
   * for the user-space ones) are the recorded numbers, used only for sorting keys.
   */
  | { kind: 'symbol'; text: string; addr?: bigint; pid?: bigint };


/** The recorded type of one aggregation key (what a missing key would be printed as). */
export type KeyType =
  | { kind: 'int'; sizeBytes: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: 'string' }
  | { kind: 'stack' }
  | { kind: 'symbol' }
  | { kind: 'bytes'; sizeBytes: number };

/** lquantize: base, limit, step; llquantize: factor, lmag, hmag, steps. */
export interface AggParams {
  base?: bigint; limit?: bigint; step?: bigint;
  factor?: bigint; lmag?: bigint; hmag?: bigint; steps?: bigint;
}

export interface AggDesc {
  /** Aggregation ID: order of first appearance of `@name` in the program (sorting step 1). */
  id: number;
  /** Name without the `@` (empty for the anonymous `@`). */
  name: string;
  fn: AggFn;
  keyTypes: KeyType[];
  params?: AggParams;
}


export interface AggEntry {
  keys: Value[];
  value: AggValue;
  /** Per-CPU values for the `aggpercpu` option, in CPU order. */
  perCpu?: { cpu: number; value: AggValue }[];
}

export interface AggSnapshot {
  desc: AggDesc;
  entries: AggEntry[];
  /** normalize(@, n) currently in effect (1 or undefined: none). */
  normalize?: bigint;
}

/** The options that change how aggregations are sorted (read when the walk happens). */
export interface AggSortOptions {
  aggsortkey?: boolean;
  aggsortrev?: boolean;
  /** aggsortkeypos: first key compared (0-based); out of range → 0. */
  aggsortkeypos?: number;
  /** aggsortpos: which aggregation of a multi-aggregation printa sorts first (0-based). */
  aggsortpos?: number;
  /** stackindent: blanks before each frame of a stack (default 14), as setopt() leaves it. */
  stackIndent?: number;
}

export const QUANTIZE_NBUCKETS = 127;
export const QUANTIZE_ZERO_BUCKET = 63;

const MASK64 = (1n << 64n) - 1n;

/** `v` reinterpreted as an unsigned integer of `sizeBytes` bytes (C cast to uintN_t). */
export function toUnsigned(v: bigint, sizeBytes: number): bigint {
  return BigInt.asUintN(sizeBytes * 8, v);
}

/** `v` reinterpreted as a signed integer of `sizeBytes` bytes (C cast to intN_t). */
export function toSigned(v: bigint, sizeBytes: number): bigint {
  return BigInt.asIntN(sizeBytes * 8, v);
}

/**
 * C's `(long long)x / (uint64_t)normal`, which Oracle uses for normalized values: the division
 * is unsigned (usual arithmetic conversions) and the result is printed with %lld again.
 */
export function divNormal(x: bigint, normal: bigint | undefined): bigint {
  if (normal === undefined || normal === 1n) return x;
  if (normal === 0n) return x;
  return BigInt.asIntN(64, (x & MASK64) / (normal & MASK64));
}

/** Convenience constructors, used by tests and by the runtime's decoder. */
export function intValue(value: bigint | number, sizeBytes: 1 | 2 | 4 | 8 = 8, signed = true): Value {
  const v = BigInt(value);
  return { kind: 'int', value: signed ? toSigned(v, sizeBytes) : toUnsigned(v, sizeBytes), sizeBytes, signed };
}

export function stringValue(value: string): Value {
  return { kind: 'string', value };
}
