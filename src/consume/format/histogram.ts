/**
 * @fileoverview quantize(), lquantize() and llquantize() blocks, as dt_print_quantize,
 * dt_print_lquantize and dt_print_llquantize print them (aggregations-and-output.md §4):
 * a leading newline, the `value ---- Distribution ---- count` header, then one row per
 * displayed bucket: a 16-column label, a 40-column bar of `@`, and the count.
 *
 * Bar lengths are computed from the raw counts; only the printed count is normalized.
 * Rounding uses exact rational arithmetic, i.e. round-half-up of |count|·len/total, which is
 * what Oracle's long double computation gives for all realistic counts.
 */
import { formatCInt, cspec } from './cformat.js';
import { type AggParams, QUANTIZE_NBUCKETS, QUANTIZE_ZERO_BUCKET, divNormal } from './values.js';

const BAR_LEN = 40;
const HEADER = `\n${'value'.padStart(16)} ${'------------- Distribution -------------'.padStart(41)} ${'count'.padEnd(9)}\n`;
const COUNT_SPEC = cspec({ left: true, width: 9 });

/** A bucket-row label right-aligned in 16 columns, plus the separating blank. */
function label(text: string): string {
  return text.padStart(16) + ' ';
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/** round-half-up(|val| × len / total), the bar depth. */
function barDepth(val: bigint, len: number, total: bigint): number {
  if (total === 0n) return 0;
  const scaled = abs(val) * BigInt(len) * 2n + total;
  return Number(scaled / (2n * total));
}

interface BarContext { total: bigint; positives: boolean; negatives: boolean; normal: bigint | undefined }

/** One row's bar and count (dt_print_quantline), newline included. */
function quantLine(val: bigint, ctx: BarContext): string {
  const count = formatCInt(divNormal(val, ctx.normal), 'd', COUNT_SPEC);
  if (!ctx.negatives) {
    const depth = ctx.positives ? barDepth(val, BAR_LEN, ctx.total) : 0;
    return `|${'@'.repeat(depth)}${' '.repeat(BAR_LEN - depth)} ${count}\n`;
  }
  if (!ctx.positives) {
    const depth = barDepth(val, BAR_LEN, ctx.total);
    return `${' '.repeat(BAR_LEN - depth)}${'@'.repeat(depth)}| ${count}\n`;
  }
  // Both signs: two half-width bars around a centre line.
  const half = BAR_LEN / 2;
  const depth = barDepth(val, half, ctx.total);
  if (val <= 0n) return `${' '.repeat(half - depth)}${'@'.repeat(depth)}|${' '.repeat(half)} ${count}\n`;
  return `${' '.repeat(half)}|${'@'.repeat(depth)}${' '.repeat(half - depth)} ${count}\n`;
}

function barContext(buckets: readonly bigint[], first: number, last: number, normal: bigint | undefined): BarContext {
  let total = 0n;
  let positives = false;
  let negatives = false;
  for (let i = first; i <= last; i++) {
    const v = buckets[i] ?? 0n;
    if (v > 0n) positives = true;
    if (v < 0n) negatives = true;
    total += abs(v);
  }
  return { total, positives, negatives, normal };
}

/**
 * The displayed range: one bucket before the first non-zero one to one after the last
 * (clamped), or `empty` when every bucket is zero.
 */
function displayRange(buckets: readonly bigint[], empty: [number, number]): [number, number] {
  const n = buckets.length;
  let first = 0;
  while (first < n && buckets[first] === 0n) first++;
  if (first >= n) return empty;
  let last = n - 1;
  while (last > 0 && buckets[last] === 0n) last--;
  if (first > 0) first--;
  if (last < n - 1) last++;
  return [first, last];
}

/** The value a quantize bucket stands for (DTRACE_QUANTIZE_BUCKETVAL). */
export function quantizeBucketValue(i: number): bigint {
  if (i < QUANTIZE_ZERO_BUCKET) return -(1n << BigInt(QUANTIZE_ZERO_BUCKET - 1 - i));
  if (i === QUANTIZE_ZERO_BUCKET) return 0n;
  return 1n << BigInt(i - QUANTIZE_ZERO_BUCKET - 1);
}

/** The quantize bucket a value falls in (for tests and for the runtime's merge checks). */
export function quantizeBucketOf(value: bigint): number {
  const v = BigInt.asIntN(64, value);
  if (v === 0n) return QUANTIZE_ZERO_BUCKET;
  const m = v < 0n ? -v : v;
  const k = m.toString(2).length;              // m in [2^(k-1), 2^k)
  return v > 0n ? QUANTIZE_ZERO_BUCKET + Math.min(k, 63) : QUANTIZE_ZERO_BUCKET - Math.min(k, 63);
}

export function formatQuantize(buckets: readonly bigint[], normal?: bigint): string {
  const zero = buckets.length === QUANTIZE_NBUCKETS ? QUANTIZE_ZERO_BUCKET : Math.floor(buckets.length / 2);
  const [first, last] = displayRange(buckets, [zero - 1, zero + 1]);
  const ctx = barContext(buckets, first, last, normal);
  let out = HEADER;
  for (let i = first; i <= last; i++) {
    out += formatCInt(quantizeBucketValue(i), 'd', cspec({ width: 16 })) + ' ';
    out += quantLine(buckets[i] ?? 0n, ctx);
  }
  return out;
}

/** lquantize's shape: levels = (limit − base) / step. */
export function lquantizeLevels(params: AggParams): number {
  const base = params.base ?? 0n;
  const limit = params.limit ?? 0n;
  const step = params.step ?? 1n;
  return Number((limit - base) / (step === 0n ? 1n : step));
}

export function formatLquantize(buckets: readonly bigint[], params: AggParams, normal?: bigint): string {
  const base = Number(params.base ?? 0n);
  const step = Number(params.step ?? 1n);
  const levels = lquantizeLevels(params);
  const [first, last] = displayRange(buckets, [0, 2]);
  const ctx = barContext(buckets, first, last, normal);
  let out = HEADER;
  for (let i = first; i <= last; i++) {
    // The labels are C ints (base and step are 32-bit / 16-bit quantities).
    if (i === 0) out += label(`< ${base}`);
    else if (i === levels + 1) out += label(`>= ${(base + levels * step) | 0}`);
    else out += label(`${(base + (i - 1) * step) | 0}`);
    out += quantLine(buckets[i] ?? 0n, ctx);
  }
  return out;
}

/** The llquantize layout: bin0 (underflow, |x| < factor^lmag) and the bin count. */
export function llquantizeLayout(params: AggParams): { bin0: number; nbins: number; stepsFactor: number } {
  const factor = Number(params.factor ?? 10n);
  const lmag = Number(params.lmag ?? 0n);
  const hmag = Number(params.hmag ?? 0n);
  const steps = Number(params.steps ?? 1n);
  const stepsFactor = Math.floor(steps / factor);
  const perMag = steps - stepsFactor;
  const mags = hmag - lmag + 1;
  return { bin0: 1 + mags * perMag, nbins: mags * perMag * 2 + 3, stepsFactor };
}

/** The llquantize bin a value falls in (actions-and-subroutines.md §5), for tests. */
export function llquantizeBinOf(value: bigint, params: AggParams): number {
  const factor = params.factor ?? 10n;
  const lmag = Number(params.lmag ?? 0n);
  const hmag = Number(params.hmag ?? 0n);
  const steps = params.steps ?? 1n;
  const { bin0, stepsFactor } = llquantizeLayout(params);
  const perMag = Number(steps) - stepsFactor;
  const t = abs(BigInt.asIntN(64, value));
  if (t < factor ** BigInt(lmag)) return bin0;
  let index = (hmag - lmag + 1) * perMag + 1;
  for (let mag = lmag; mag <= hmag; mag++) {
    if (t < factor ** BigInt(mag + 1)) {
      const ind = Number(mag === 0 ? (t * steps) / factor : t / (factor ** BigInt(mag + 1) / steps)) - stepsFactor;
      index = (mag - lmag) * perMag + ind + 1;
      break;
    }
  }
  return value < 0n ? bin0 - index : bin0 + index;
}

export function formatLlquantize(buckets: readonly bigint[], params: AggParams, normal?: bigint): string {
  const factor = params.factor ?? 10n;
  const lmag = Number(params.lmag ?? 0n);
  const hmag = Number(params.hmag ?? 0n);
  const steps = params.steps ?? 1n;
  const { bin0, nbins, stepsFactor } = llquantizeLayout(params);

  let first = 0;
  let last = nbins - 1;
  while (first <= last && (buckets[first] ?? 0n) === 0n) first++;
  if (first > last) {
    first = bin0 + 1;                                  // show at least one bin
    last = bin0 + 1;
  } else {
    while ((buckets[last] ?? 0n) === 0n) last--;
  }
  const ctx = barContext(buckets, first, last, normal);
  if (first > 0) first--;
  if (last < nbins - 1) last++;

  // Ghost bins (lmag 0, steps > factor) have no label; keep a margin to borrow one from.
  const pad = lmag === 0 && Number(steps) > Number(factor) ? stepsFactor : 0;
  const labels = new Map<number, string>();
  // Oracle formats labels into 16-byte cells with snprintf: at most 15 characters survive.
  const put = (i: number, text: string): void => {
    if (i >= first - pad && i <= last + pad) labels.set(i, text.slice(0, 15));
  };
  let scale = factor ** BigInt(lmag);
  if (scale === 1n) put(bin0, '0');
  else if (first >= bin0) put(bin0, `< ${scale}`);
  else put(bin0, `abs() < ${scale}`);
  put(bin0 - 1, `-${scale}`);
  put(bin0 + 1, `${scale}`);
  let mag = lmag;
  let i = 1;
  if (lmag === 0 && Number(steps) > Number(factor)) {
    for (let step = 2; step <= Number(factor); step++) {
      i += stepsFactor;
      put(bin0 - i, `-${step}`);
      put(bin0 + i, `${step}`);
    }
    mag++;
  }
  scale = factor ** BigInt(mag + 1) / steps;
  for (; mag <= hmag; mag++) {
    for (let step = BigInt(stepsFactor + 1); step <= steps; step++) {
      i++;
      put(bin0 - i, `-${step * scale}`);
      put(bin0 + i, `${step * scale}`);
    }
    scale *= factor;
  }
  scale = factor ** BigInt(hmag + 1);
  put(0, `<= -${scale}`);
  put(nbins - 1, `>= ${scale}`);

  if (pad > 0) {
    for (const [edge, dir] of [[first, -1], [last, 1]] as const) {
      if (labels.has(edge)) continue;
      for (let k = 1; k < pad; k++) {
        const borrowed = labels.get(edge + dir * k);
        if (borrowed !== undefined) { labels.set(edge, borrowed); break; }
      }
    }
  }

  let out = HEADER;
  for (let b = first; b <= last; b++) {
    const text = labels.get(b);
    if (text === undefined) continue;
    out += label(text) + quantLine(buckets[b] ?? 0n, ctx);
  }
  return out;
}

/**
 * Inclusive upper bound of each bucket of a histogram aggregation, in bucket order (which is
 * value order); undefined for the last, open-ended one (`+Inf`).
 */
export function bucketUpperBounds(fn: 'quantize' | 'lquantize' | 'llquantize', nbuckets: number, params: AggParams = {}): (bigint | undefined)[] {
  const out: (bigint | undefined)[] = [];
  if (fn === 'quantize') {
    for (let i = 0; i < nbuckets; i++) {
      if (i === nbuckets - 1) out.push(undefined);
      else if (i <= QUANTIZE_ZERO_BUCKET) out.push(quantizeBucketValue(i));
      else out.push(quantizeBucketValue(i + 1) - 1n);
    }
    return out;
  }
  if (fn === 'lquantize') {
    const base = params.base ?? 0n;
    const step = params.step ?? 1n;
    const levels = lquantizeLevels(params);
    for (let i = 0; i <= levels; i++) out.push(base + BigInt(i) * step - 1n);
    out.push(undefined);
    return out;
  }
  // llquantize: bins are monotone in the value; each bin's upper bound is one below the
  // smallest value of the next bin, found by bisection on llquantizeBinOf.
  const { bin0, nbins } = llquantizeLayout(params);
  const top = (params.factor ?? 10n) ** ((params.hmag ?? 0n) + 1n);
  const lowestOf = (bin: number): bigint => {
    // smallest t >= 0 with binOf(t) >= bin
    let lo = 0n;
    let hi = top;
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      if (llquantizeBinOf(mid, params) >= bin) hi = mid; else lo = mid + 1n;
    }
    return lo;
  };
  const positiveLowest: bigint[] = [];
  for (let b = bin0; b < nbins; b++) positiveLowest[b] = lowestOf(b);
  for (let i = 0; i < nbins; i++) {
    if (i === nbins - 1) out.push(undefined);
    else if (i < bin0) out.push(-positiveLowest[2 * bin0 - i]!);   // mirror of bin 2·bin0 − i
    else out.push(positiveLowest[i + 1]! - 1n);
  }
  return out;
}
