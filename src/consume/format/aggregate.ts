/**
 * @fileoverview Aggregation values, sorting and the default (exit-time / `printa(@a)`) layout,
 * after libdtrace's dt_aggregate.c and dt_print_aggs (aggregations-and-output.md §2, §5).
 *
 * API:
 *   - `formatAggregation(snap, opts)`       one aggregation's entries, sorted, default layout
 *   - `formatAggregations(snaps, opts)`     several (exit time): grouped by aggregation ID
 *   - `formatAggValue(desc, value, normal)` one value in its default column format
 *   - `sortEntries(snap, opts)` / `compareEntries(...)`  Oracle's walk order
 *   - `truncEntries(snap, n?)`              trunc(@a[, n]) applied to a snapshot
 *   - `avgOf`, `stddevOf`                    the derived values, with Oracle's arithmetic
 */
import { cspec, formatCInt } from './cformat.js';
import { formatLlquantize, formatLquantize, formatQuantize, llquantizeLayout, lquantizeLevels, quantizeBucketValue } from './histogram.js';
import { formatStack } from './stack.js';
import { formatBytesDatum } from './trace.js';
import {
  type AggDesc, type AggEntry, type AggSnapshot, type AggSortOptions, type AggValue, type Value,
  divNormal, toUnsigned,
} from './values.js';

const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;

export interface AggPrintOptions extends AggSortOptions {
  /** `stackindent` for stack keys (default 14). */
  stackIndent?: number;
  /** `aggpercpu`: print each CPU's value after the merged one. */
  aggpercpu?: boolean;
}

/** avg(): `(sum / normal) / count` with signed 64-bit C division, 0 when count is 0. */
export function avgOf(count: bigint, sum: bigint, normal: bigint = 1n): bigint {
  if (count === 0n) return 0n;
  const n = normal === 0n ? 1n : normal;
  return BigInt.asIntN(64, BigInt.asIntN(64, sum) / BigInt.asIntN(64, n) / BigInt.asIntN(64, count));
}

/** Integer square root (floor). */
function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * stddev() as dt_stddev computes it: sqrt(sumSq/normal/count − (sum/normal/count)²) in 128-bit
 * unsigned arithmetic (the subtraction wraps like the C code's), 0 when count is 0.
 */
export function stddevOf(count: bigint, sum: bigint, sumSq: bigint, normal: bigint = 1n): bigint {
  if (count === 0n) return 0n;
  const n = normal === 0n ? 1n : normal;
  const avgOfSquares = ((sumSq & MASK128) / (n & MASK64)) / (count & MASK64);
  let normAvg = BigInt.asIntN(64, sum) / BigInt.asIntN(64, n) / BigInt.asIntN(64, count);
  if (normAvg < 0n) normAvg = -normAvg;
  const diff = (avgOfSquares - normAvg * normAvg) & MASK128;
  return isqrt(diff) & MASK64;
}

/** A value of `fn` with no data (what a joined printa prints for a missing key). */
export function zeroAggValue(desc: AggDesc): AggValue {
  switch (desc.fn) {
    case 'count': case 'sum': case 'min': case 'max': return { kind: 'scalar', value: 0n };
    case 'avg': return { kind: 'avg', count: 0n, sum: 0n };
    case 'stddev': return { kind: 'stddev', count: 0n, sum: 0n, sumSq: 0n };
    case 'quantize': return { kind: 'hist', buckets: new Array<bigint>(127).fill(0n) };
    case 'lquantize': return { kind: 'hist', buckets: new Array<bigint>(lquantizeLevels(desc.params ?? {}) + 2).fill(0n) };
    case 'llquantize': return { kind: 'hist', buckets: new Array<bigint>(llquantizeLayout(desc.params ?? {}).nbins).fill(0n) };
  }
}

const COL16 = cspec({ width: 16 });

/** One aggregation value in the default layout (dt_print_datum for the data record). */
export function formatAggValue(desc: AggDesc, value: AggValue, normal?: bigint): string {
  switch (value.kind) {
    case 'scalar':
      // `(long long)x / normal` with an unsigned normal: see divNormal.
      return ' ' + formatCInt(divNormal(value.value, normal), 'd', COL16);
    case 'avg':
      return ' ' + formatCInt(avgOf(value.count, value.sum, normal ?? 1n), 'd', COL16);
    case 'stddev':
      return ' ' + formatCInt(stddevOf(value.count, value.sum, value.sumSq, normal ?? 1n), 'u', COL16);
    case 'hist':
      return formatHistogramValue(desc, value.buckets, normal);
  }
}

/** The histogram block for a quantize-family value (also used by printa's `%@`). */
export function formatHistogramValue(desc: AggDesc, buckets: readonly bigint[], normal?: bigint): string {
  if (desc.fn === 'lquantize') return formatLquantize(buckets, desc.params ?? {}, normal);
  if (desc.fn === 'llquantize') return formatLlquantize(buckets, desc.params ?? {}, normal);
  return formatQuantize(buckets, normal);
}

/** One key in the default layout (dt_print_datum for a key record). */
export function formatAggKey(key: Value, stackIndent = 14): string {
  switch (key.kind) {
    case 'int': {
      const u = toUnsigned(key.value, key.sizeBytes);
      switch (key.sizeBytes) {
        case 8: return ' ' + formatCInt(BigInt.asIntN(64, u), 'd', COL16);
        // A uint32_t printed with %d: the signed 32-bit reading.
        case 4: return ' ' + formatCInt(BigInt.asIntN(32, u), 'd', cspec({ width: 8 }));
        // 16- and 8-bit keys are promoted from unsigned storage: printed unsigned.
        case 2: return ' ' + formatCInt(u, 'd', cspec({ width: 5 }));
        case 1: return ' ' + formatCInt(u, 'd', cspec({ width: 3 }));
      }
      break;
    }
    case 'string': return '  ' + key.value.padEnd(50);
    case 'symbol': return '  ' + key.text.padEnd(50);
    case 'stack': return formatStack(key.frames, stackIndent);
    case 'bytes': return formatBytesDatum(key.bytes, 50, false);
    case 'float': return ' ' + String(key.value);
  }
  return '';
}

/** The full default line(s) of one entry: keys, value(s), per-CPU values, newline. */
export function formatAggEntry(desc: AggDesc, entry: AggEntry, normal: bigint | undefined, opts: AggPrintOptions = {}): string {
  let out = '';
  for (const key of entry.keys) out += formatAggKey(key, opts.stackIndent);
  out += formatAggValue(desc, entry.value, normal);
  if (opts.aggpercpu && entry.perCpu) {
    for (const c of entry.perCpu) out += `\n    [CPU ${c.cpu}]` + formatAggValue(desc, c.value, normal);
  }
  return out + '\n';
}

// ---------------------------------------------------------------------------------------
// Sorting (dt_aggregate.c). Every comparator returns <0, 0, >0 for "ascending".

function cmp(a: bigint | number | string, b: bigint | number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The long-double weighted sums Oracle compares histograms by, as exact rationals (×steps). */
function histogramWeight(desc: AggDesc, buckets: readonly bigint[]): { sum: bigint; zero: bigint } {
  const b = (i: number): bigint => buckets[i] ?? 0n;
  if (desc.fn === 'quantize') {
    let sum = 0n;
    for (let i = 0; i < buckets.length; i++) sum += quantizeBucketValue(i) * b(i);
    return { sum, zero: b(63) };
  }
  if (desc.fn === 'lquantize') {
    const p = desc.params ?? {};
    let base = p.base ?? 0n;
    const step = p.step ?? 1n;
    const levels = lquantizeLevels(p);
    let sum = b(0) * (base - 1n);
    let zero: bigint | undefined = base - 1n === 0n ? b(0) : undefined;
    for (let i = 0; i < levels; i++, base += step) {
      sum += b(i + 1) * base;
      if (zero === undefined && base === 0n) zero = b(i + 1);
    }
    sum += b(levels + 1) * (base + 1n);
    if (zero === undefined && base + 1n === 0n) zero = b(levels + 1);
    return { sum, zero: zero ?? 0n };
  }
  // llquantize: Σ step·scale·(positive bin − negative bin); scale may be fractional
  // (factor^(mag+1)/steps), so everything is multiplied by `steps` to stay exact.
  const p = desc.params ?? {};
  const factor = p.factor ?? 10n;
  let lmag = Number(p.lmag ?? 0n);
  const hmag = Number(p.hmag ?? 0n);
  const steps = p.steps ?? 1n;
  const { bin0, stepsFactor } = llquantizeLayout(p);
  let sum = factor ** BigInt(lmag) * (b(bin0 + 1) - b(bin0 - 1)) * steps;
  let i = 1;
  if (lmag === 0 && steps > factor) {
    for (let step = 2n; step <= factor; step++) {
      i += stepsFactor;
      sum += step * (b(bin0 + i) - b(bin0 - i)) * steps;
    }
    lmag = 1;
  }
  let scaleTimesSteps = factor ** BigInt(lmag + 1);
  for (let mag = lmag; mag <= hmag; mag++) {
    for (let step = BigInt(stepsFactor + 1); step <= steps; step++) {
      i++;
      sum += step * scaleTimesSteps * (b(bin0 + i) - b(bin0 - i));
    }
    scaleTimesSteps *= factor;
  }
  return { sum, zero: b(bin0) };
}

/** dt_aggregate_valcmp for two values of the same aggregating function. */
export function compareAggValues(desc: AggDesc, a: AggValue, b: AggValue): number {
  if (a.kind === 'scalar' && b.kind === 'scalar') return cmp(BigInt.asIntN(64, a.value), BigInt.asIntN(64, b.value));
  if (a.kind === 'avg' && b.kind === 'avg') return cmp(avgOf(a.count, a.sum), avgOf(b.count, b.sum));
  if (a.kind === 'stddev' && b.kind === 'stddev') {
    return cmp(stddevOf(a.count, a.sum, a.sumSq), stddevOf(b.count, b.sum, b.sumSq));
  }
  if (a.kind === 'hist' && b.kind === 'hist') {
    const wa = histogramWeight(desc, a.buckets);
    const wb = histogramWeight(desc, b.buckets);
    return cmp(wa.sum, wb.sum) || cmp(wa.zero, wb.zero);
  }
  return cmp(a.kind, b.kind);
}

/** Key bytes for memcmp-style comparison of non-integer keys. */
function keyBytes(k: Value): number[] {
  switch (k.kind) {
    case 'string': return Array.from(k.value, (c) => c.charCodeAt(0) & 0xff);
    case 'bytes': return Array.from(k.bytes);
    default: return [];
  }
}

function compareBytes(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  // Records are NUL-padded to the same size, so a proper prefix sorts first.
  return a.length - b.length;
}

/** One key record (dt_aggregate_keycmp's per-record step). */
export function compareKeyValues(a: Value, b: Value): number {
  if (a.kind === 'int' && b.kind === 'int') {
    if (a.sizeBytes !== b.sizeBytes) return a.sizeBytes - b.sizeBytes;
    return cmp(toUnsigned(a.value, a.sizeBytes), toUnsigned(b.value, b.sizeBytes));
  }
  if (a.kind === 'symbol' && b.kind === 'symbol') {
    if (a.addr !== undefined && b.addr !== undefined) {
      return cmp(a.pid ?? 0n, b.pid ?? 0n) || cmp(a.addr & MASK64, b.addr & MASK64);
    }
    return cmp(a.text, b.text);
  }
  if (a.kind === 'stack' && b.kind === 'stack') {
    if (a.pcs && b.pcs) {
      const n = Math.min(a.pcs.length, b.pcs.length);
      for (let i = 0; i < n; i++) {
        const c = compareBytes(le64(a.pcs[i] ?? 0n), le64(b.pcs[i] ?? 0n));
        if (c !== 0) return c;
      }
      return a.pcs.length - b.pcs.length;
    }
    for (let i = 0; i < Math.min(a.frames.length, b.frames.length); i++) {
      const c = cmp(a.frames[i] ?? '', b.frames[i] ?? '');
      if (c !== 0) return c;
    }
    return a.frames.length - b.frames.length;
  }
  if (a.kind !== b.kind) return cmp(a.kind, b.kind);
  return compareBytes(keyBytes(a), keyBytes(b));
}

/** memcmp order of a little-endian uint64 (how stack PCs sit in the record). */
function le64(v: bigint): number[] {
  const out: number[] = [];
  let x = v & MASK64;
  for (let i = 0; i < 8; i++) { out.push(Number(x & 0xffn)); x >>= 8n; }
  return out;
}

/** dt_aggregate_keycmp: fewer keys first, then each key starting at `aggsortkeypos`, wrapping. */
export function compareKeys(a: readonly Value[], b: readonly Value[], keyPos = 0): number {
  if (a.length !== b.length) return a.length - b.length;
  const n = a.length;
  const start = keyPos >= 0 && keyPos < n ? keyPos : 0;
  for (let i = 0; i < n; i++) {
    const ndx = (i + start) % n;
    const c = compareKeyValues(a[ndx] as Value, b[ndx] as Value);
    if (c !== 0) return c;
  }
  return 0;
}

/** A sortable item: one entry of one aggregation. */
interface Ranked { desc: AggDesc; entry: AggEntry; snap: AggSnapshot }

function compareRanked(x: Ranked, y: Ranked, opts: AggSortOptions): number {
  const byVar = x.desc.id - y.desc.id;
  if (byVar !== 0) return byVar;
  const byKey = (): number => compareKeys(x.entry.keys, y.entry.keys, opts.aggsortkeypos ?? 0);
  if (opts.aggsortkey) return byKey();
  return compareAggValues(x.desc, x.entry.value, y.entry.value) || byKey();
}

function sortRanked(items: Ranked[], opts: AggSortOptions): Ranked[] {
  const sign = opts.aggsortrev ? -1 : 1;
  return items.slice().sort((x, y) => sign * compareRanked(x, y, opts));
}

/** The entries of one aggregation in Oracle's walk order for the given options. */
export function sortEntries(snap: AggSnapshot, opts: AggSortOptions = {}): AggEntry[] {
  return sortRanked(snap.entries.map((entry) => ({ desc: snap.desc, entry, snap })), opts).map((r) => r.entry);
}

/**
 * trunc(@a) (n undefined: remove everything) and trunc(@a, n): keep the n largest values
 * (n > 0) or the |n| smallest (n < 0), ties broken by key as Oracle's value walk does.
 * The sort options do not apply.
 */
export function truncEntries(snap: AggSnapshot, n?: bigint): AggSnapshot {
  if (n === undefined || n === 0n) return { ...snap, entries: [] };
  const ascending = sortEntries(snap, {});
  const keep = n > 0n ? ascending.slice().reverse() : ascending;
  const count = Number(n > 0n ? n : -n);
  const kept = new Set(keep.slice(0, count));
  return { ...snap, entries: snap.entries.filter((e) => kept.has(e)) };
}

/** clear(@a): every value zeroed (min/max reset to their starting extremes), keys kept. */
export function clearEntries(snap: AggSnapshot): AggSnapshot {
  const cleared = (v: AggValue): AggValue => {
    if (snap.desc.fn === 'min') return { kind: 'scalar', value: (1n << 63n) - 1n };
    if (snap.desc.fn === 'max') return { kind: 'scalar', value: -(1n << 63n) };
    if (v.kind === 'hist') return { kind: 'hist', buckets: v.buckets.map(() => 0n) };
    return zeroAggValue(snap.desc);
  };
  return { ...snap, entries: snap.entries.map((e) => ({ ...e, value: cleared(e.value) })) };
}

/**
 * Default printing of one aggregation: its entries sorted, each in the default layout.
 * (The caller adds the leading `\n` of `printa(@a)` or the end-of-run newline.)
 */
export function formatAggregation(snap: AggSnapshot, opts: AggPrintOptions = {}): string {
  let out = '';
  for (const entry of sortEntries(snap, opts)) out += formatAggEntry(snap.desc, entry, snap.normalize, opts);
  return out;
}

/**
 * End-of-run printing of several aggregations: one sort over all of them (aggregation ID
 * first, so they stay grouped; aggsortrev reverses that order too), no separators.
 */
export function formatAggregations(snaps: readonly AggSnapshot[], opts: AggPrintOptions = {}): string {
  const items: Ranked[] = [];
  for (const snap of snaps) for (const entry of snap.entries) items.push({ desc: snap.desc, entry, snap });
  let out = '';
  for (const r of sortRanked(items, opts)) out += formatAggEntry(r.desc, r.entry, r.snap.normalize, opts);
  return out;
}
