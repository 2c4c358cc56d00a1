/**
 * @fileoverview Printing a large keyed aggregation straight from the packed bytes of a map
 * snapshot (BPF_MAP_LOOKUP_BATCH), without building an object per entry.
 *
 * The generic path (format/aggregate.ts) turns every entry into `{ keys: Value[], value }`
 * with BigInts, sorts those and concatenates one string: about 14 µs and 800 bytes per entry,
 * which is 14 s and 800 MiB for a million keys. The common large case — count/sum/min/max
 * keyed by integers — is done here with columns instead: per-CPU values are merged into a
 * Float64Array (exact while every partial sum stays below 2^53), integer keys become pairs of
 * Uint32 columns (exact for any 64-bit key), one Uint32Array of indexes is sorted, and the
 * lines are produced in chunks for the caller to write. The order and the text are Oracle's,
 * as aggregate.ts defines them (aggtable.test.ts checks the two against each other); anything
 * outside this case returns false and the caller uses the generic path.
 */
import type { AggDesc, AggSortOptions } from './format/values.js';
import { AGGREGATING_FUNCTIONS, isAggFn, type ScalarLayout } from '../builtins/aggregations.js';

/** The part of a key field this needs (a FieldLayout from codegen/spec.ts fits). */
export interface IntKeyField { offset: number; sizeBytes: number; decode: string }

/** Packed entries as BpfMap.snapshot() returns them. */
export interface PackedEntries {
  count: number;
  keySizeBytes: number;
  /** Bytes of one entry's value: `strideBytes` × CPUs for a per-CPU map. */
  valueSizeBytes: number;
  keyBytes: Uint8Array;
  valueBytes: Uint8Array;
  /** Keys and values interleaved (MapSnapshot.entryStrideBytes): entry i's at i × this in each view. */
  entryStrideBytes?: number;
}

/** A map read chunk by chunk (BpfMap.scan): each chunk's bytes are valid during the call only. */
export interface PackedScan {
  scan(visit: (chunk: PackedEntries) => void): void;
  /** How many entries there may be (the map's size): the columns are made this large at first. */
  capacity?: number;
}

const TWO_32 = 4294967296;
/** Columns are made for at most this many entries at first (they grow past it). */
const MAX_INITIAL_ROWS = 1 << 24;
const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/**
 * Prints the entries in the default layout, sorted (formatAggregation's output), through
 * `write`. Returns false, having written nothing, when the aggregation is not one this
 * handles: not count/sum/min/max, a non-integer key, a normalize() in effect, per-CPU
 * printing, or a value a Number cannot hold exactly.
 *
 * The entries come packed (a snapshot) or chunk by chunk (a scan, so the map is never copied
 * whole): each chunk is decoded into the columns at once. What costs most for a million
 * entries is fresh memory, so the columns are as narrow as the data allows: a key column's
 * high words exist only once a key needs them, and values are u32 until one is not.
 */
export function printPackedScalarAggregation(
  desc: AggDesc, keyFields: readonly IntKeyField[], source: PackedEntries | PackedScan, strideBytes: number,
  normalize: bigint | undefined, opts: AggSortOptions & { aggpercpu?: boolean }, write: (text: string) => void,
  writeBytes?: (bytes: Uint8Array) => void,
): boolean {
  const layout = isAggFn(desc.fn) ? AGGREGATING_FUNCTIONS[desc.fn].scalar : undefined;
  if (!layout || opts.aggpercpu) return false;
  if (normalize !== undefined && normalize !== 1n) return false;
  if (keyFields.length === 0 || keyFields.some((f) => f.decode !== 'int' || ![1, 2, 4, 8].includes(f.sizeBytes))) return false;
  const columns = new ScalarColumns(layout, keyFields, strideBytes, 'scan' in source ? Math.min(source.capacity ?? 1024, MAX_INITIAL_ROWS) : source.count);
  let exact = true;
  if ('scan' in source) source.scan((chunk) => { if (exact) exact = columns.add(chunk); });
  else exact = columns.add(source);
  if (!exact) return false;
  const n = columns.count;
  const { values, his, los } = columns;

  // Oracle's order is a total order here (keys are unique), so it is the ascending order of
  // the tuple (value, keys from aggsortkeypos on) — or of the keys alone with aggsortkey —
  // reversed for aggsortrev. An LSD radix sort on 32-bit words gives it without a comparator.
  const nk = keyFields.length;
  // Lines are written as bytes into one chunk buffer (digits by hand: no string per number),
  // then handed over as they are (writeBytes: the buffer is reused once it returns) or as a
  // latin1 string, which is a plain copy. The buffer is blank before lines are written into
  // it, so the blanks of the columns are skipped over rather than written one by one.
  const out = Buffer.alloc(CHUNK_BYTES, SPACE);
  const flush = (end: number) => {
    if (writeBytes) writeBytes(out.subarray(0, end)); else write(out.toString('latin1', 0, end));
    out.fill(SPACE, 0, end);
  };
  let pos: number;
  if (nk === 1 && !his[0] && values instanceof Uint32Array) {
    // The commonest large case, one key of at most 32 bits and u32 values: the pairs
    // themselves are sorted, so that neither the sort nor the lines read the columns at random.
    const [keys, sortedValues] = radixSortPairs(n, los[0] as Uint32Array, values, !opts.aggsortkey);
    pos = putSingleKeyLines(out, flush, n, (keyFields[0] as IntKeyField).sizeBytes, keys, sortedValues, !!opts.aggsortrev);
  } else {
    // Oracle's order is a total order here (keys are unique), so it is the ascending order of
    // the tuple (value, keys from aggsortkeypos on) — or of the keys alone with aggsortkey —
    // reversed for aggsortrev. An LSD radix sort on 32-bit words gives it without a comparator.
    const keyStart = opts.aggsortkeypos !== undefined && opts.aggsortkeypos >= 0 && opts.aggsortkeypos < nk ? opts.aggsortkeypos : 0;
    const words: Uint32Array[] = [];
    if (!opts.aggsortkey) words.push(...(values instanceof Uint32Array ? [values] : signedWords(values.subarray(0, n))));
    for (let j = 0; j < nk; j++) {
      const k = (j + keyStart) % nk;
      const hi = his[k];
      if (hi) words.push(hi);
      words.push(los[k] as Uint32Array);
    }
    const order = radixSortIndexes(n, words);
    if (opts.aggsortrev) order.reverse();
    pos = putLines(out, flush, order, keyFields, his, los, values);
  }
  if (pos > 0) flush(pos);
  return true;
}

/** The lines in `order` into `out`, flushed whenever it may not hold one more; returns the end of what is left. */
function putLines(out: Buffer, flush: (end: number) => void, order: Uint32Array, keyFields: readonly IntKeyField[],
  his: readonly (Uint32Array | undefined)[], los: readonly Uint32Array[], values: Uint32Array | Float64Array): number {
  const nk = keyFields.length;
  let pos = 0;
  for (let j = 0; j < order.length; j++) {
    if (pos > CHUNK_BYTES - MAX_LINE_BYTES * nk) { flush(pos); pos = 0; }
    const i = order[j] as number;
    for (let k = 0; k < nk; k++) {
      const f = keyFields[k] as IntKeyField;
      pos = putIntKey(out, pos, f.sizeBytes, his[k]?.[i] ?? 0, (los[k] as Uint32Array)[i] as number);
    }
    pos = putDecimal(out, pos + 1, values[i] as number, 16);
    out[pos++] = NEWLINE;
  }
  return pos;
}

/**
 * putLines for one key field whose keys all fit in 32 bits and u32 values, already in order
 * (backwards for aggsortrev): what putIntKey would write, without its per-field dispatch.
 */
function putSingleKeyLines(out: Buffer, flush: (end: number) => void, n: number, keySizeBytes: number, keys: Uint32Array, values: Uint32Array, reversed: boolean): number {
  const width = keySizeBytes === 8 ? 16 : keySizeBytes === 4 ? 8 : keySizeBytes === 2 ? 5 : 3;
  const signed32 = keySizeBytes === 4;
  let pos = 0;
  for (let j = 0; j < n; j++) {
    if (pos > CHUNK_BYTES - MAX_LINE_BYTES) { flush(pos); pos = 0; }
    const i = reversed ? n - 1 - j : j;
    const key = keys[i] as number;
    pos = putDecimal(out, pos + 1, signed32 ? key | 0 : key, width);
    pos = putDecimal(out, pos + 1, values[i] as number, 16);
    out[pos++] = NEWLINE;
  }
  return pos;
}

/**
 * The entries decoded into columns: per key field the unsigned low and (when some key has
 * them) high 32-bit words — dt_aggregate_keycmp compares the recorded bytes as unsigned
 * integers of the key's size — and the values merged across CPUs.
 */
class ScalarColumns {
  count = 0;
  /** Merged values: a Uint32Array while every value is in [0, 2^32), then exact Numbers. */
  values: Uint32Array | Float64Array;
  readonly his: (Uint32Array | undefined)[];
  readonly los: Uint32Array[];
  private capacity: number;

  constructor(private readonly layout: ScalarLayout, private readonly keyFields: readonly IntKeyField[], private readonly strideBytes: number, capacity: number) {
    this.capacity = Math.max(1, capacity);
    this.values = new Uint32Array(this.capacity);
    this.his = keyFields.map(() => undefined);
    this.los = keyFields.map(() => new Uint32Array(this.capacity));
  }

  /** Decodes a chunk; false when a value is not exact as a Number. */
  add(chunk: PackedEntries): boolean {
    const n = chunk.count;
    if (this.count + n > this.capacity) this.grow(this.count + n);
    const kStride = chunk.entryStrideBytes ?? chunk.keySizeBytes;
    const vStride = chunk.entryStrideBytes ?? chunk.valueSizeBytes;
    this.keyFields.forEach((f, k) => this.addKeys(chunk, k, f, kStride));
    if (!this.addValues(chunk, vStride)) return false;
    this.count += n;
    return true;
  }

  /**
   * One key field's words. Keys whose words are 4-byte aligned (every map read gives them so)
   * are read through a Uint32Array: a DataView call per word cost a third of the decoding.
   */
  private addKeys(chunk: PackedEntries, k: number, f: IntKeyField, kStride: number): void {
    const n = chunk.count;
    const base = this.count;
    const lo = this.los[k] as Uint32Array;
    const bytes = chunk.keyBytes;
    if (f.sizeBytes >= 4 && ((bytes.byteOffset | kStride | f.offset) & 3) === 0) {
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
      const step = kStride >>> 2;
      let at = f.offset >>> 2;
      if (f.sizeBytes === 4) {
        for (let i = 0; i < n; i++, at += step) lo[base + i] = words[at] as number;
        return;
      }
      let his = this.his[k];
      for (let i = 0; i < n; i++, at += step) {
        lo[base + i] = words[at] as number;
        const hi = words[at + 1] as number;
        if (hi !== 0) (his ??= this.his[k] = new Uint32Array(this.capacity))[base + i] = hi;
      }
      return;
    }
    const kview = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0, at = f.offset; i < n; i++, at += kStride) {
      switch (f.sizeBytes) {
        case 1: lo[base + i] = kview.getUint8(at); break;
        case 2: lo[base + i] = kview.getUint16(at, true); break;
        case 4: lo[base + i] = kview.getUint32(at, true); break;
        default: {
          lo[base + i] = kview.getUint32(at, true);
          const hi = kview.getUint32(at + 4, true);
          if (hi !== 0) (this.his[k] ??= new Uint32Array(this.capacity))[base + i] = hi;
        }
      }
    }
  }

  /** The chunk's values merged across CPUs; false when one is not exact as a Number. */
  private addValues(chunk: PackedEntries, vStride: number): boolean {
    const n = chunk.count;
    const base = this.count;
    const bytes = chunk.valueBytes;
    const slots = Math.max(1, Math.floor(chunk.valueSizeBytes / this.strideBytes));
    const layout = this.layout;
    if (layout.combine === 'sum' && layout.presentWord === undefined && ((bytes.byteOffset | vStride | this.strideBytes) & 3) === 0) {
      // count() and sum(): the value word of each CPU's slot, added up (the common large case).
      const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
      const step = vStride >>> 2;
      const slotStep = this.strideBytes >>> 2;
      const first = 2 * layout.valueWord;
      let values = this.values;
      for (let i = 0, at = first; i < n; i++, at += step) {
        let acc = 0;
        for (let c = 0, o = at; c < slots; c++, o += slotStep) {
          const hi = words[o + 1] as number;
          if (hi >= 1 << 21 || hi < -(1 << 21)) return false;
          acc += hi * TWO_32 + ((words[o] as number) >>> 0);
          if (acc > MAX_EXACT || acc < -MAX_EXACT) return false;
        }
        if (values instanceof Uint32Array && (acc < 0 || acc >= TWO_32)) values = this.values = widened(values, base + i, this.capacity);
        values[base + i] = acc;
      }
      return true;
    }
    const vview = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      const v = mergeScalar(layout, vview, i * vStride, slots, this.strideBytes);
      if (v === undefined) return false;
      if (this.values instanceof Uint32Array && (v < 0 || v >= TWO_32)) this.values = widened(this.values, base + i, this.capacity);
      this.values[base + i] = v;
    }
    return true;
  }

  private grow(need: number): void {
    const capacity = Math.max(need, this.capacity * 2);
    const copy = (a: Uint32Array): Uint32Array => { const b = new Uint32Array(capacity); b.set(a.subarray(0, this.count)); return b; };
    this.values = this.values instanceof Uint32Array ? copy(this.values) : widened(this.values, this.count, capacity);
    this.los.forEach((a, k) => { this.los[k] = copy(a); });
    this.his.forEach((a, k) => { if (a) this.his[k] = copy(a); });
    this.capacity = capacity;
  }
}

/** The first `count` values in a Float64Array of `capacity` (the rest untouched: pages never written cost nothing). */
function widened(values: Uint32Array | Float64Array, count: number, capacity: number): Float64Array {
  const out = new Float64Array(capacity);
  for (let i = 0; i < count; i++) out[i] = values[i] as number;
  return out;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const MINUS = 0x2d;
const ZERO = 0x30;
/** A key or value field is at most 1 + 20 characters; a line a few of them. */
const MAX_LINE_BYTES = 64;
/**
 * Under 128 KiB, so that each chunk's string is an ordinary young-generation object of V8's
 * (a larger one gets pages of its own, fresh memory every time).
 */
const CHUNK_BYTES = 1 << 16;
/** 10^0 … 10^21: a Number below 2^64 has at most 20 digits. */
const POWERS_OF_10 = Float64Array.from({ length: 22 }, (_, i) => 10 ** i);
/** "00", "01", … "99" as character codes. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => ZERO + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

/**
 * `%{width}lld` of an exact integer Number, right-aligned, into a buffer that is blank from
 * `pos` on (only the sign and the digits are written, from the right, two at a time). Returns
 * the new position.
 */
function putDecimal(out: Uint8Array, pos: number, value: number, width: number): number {
  let v = value < 0 ? -value : value;
  let end = pos + width;
  // Only a number wider than its column needs its digits counted.
  if (v >= (POWERS_OF_10[value < 0 ? width - 1 : width] as number)) {
    let nd = 1;
    while (nd < POWERS_OF_10.length && v >= (POWERS_OF_10[nd] as number)) nd++;
    end = pos + nd + (value < 0 ? 1 : 0);
  }
  let at = end;
  if (v < 2147483648) {
    let x = v | 0;
    while (x >= 100) {
      const q = (x / 100) | 0;
      const r = 2 * (x - q * 100);
      out[--at] = DIGIT_PAIRS[r + 1] as number;
      out[--at] = DIGIT_PAIRS[r] as number;
      x = q;
    }
    if (x >= 10) { out[--at] = DIGIT_PAIRS[2 * x + 1] as number; out[--at] = DIGIT_PAIRS[2 * x] as number; } else out[--at] = ZERO + x;
  } else {
    do { const q = Math.floor(v / 10); out[--at] = ZERO + (v - q * 10); v = q; } while (v !== 0);
  }
  if (value < 0) out[--at] = MINUS;
  return end;
}

/** formatAggKey of an integer key given as unsigned words (a blank, then the column), into a blank buffer. */
function putIntKey(out: Buffer, pos: number, sizeBytes: number, hi: number, lo: number): number {
  pos++;
  switch (sizeBytes) {
    case 8: {
      const signedHi = hi | 0;
      if (signedHi < 1 << 21 && signedHi >= -(1 << 21)) return putDecimal(out, pos, signedHi * TWO_32 + lo, 16);
      // Beyond 2^53 the digits come from a BigInt (rare: pointers, hashes).
      const text = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString().padStart(16);
      return pos + out.write(text, pos, 'latin1');
    }
    case 4: return putDecimal(out, pos, lo | 0, 8);
    case 2: return putDecimal(out, pos, lo, 5);
    default: return putDecimal(out, pos, lo, 3);
  }
}

/** Radix digits of 11 bits: three passes per 32-bit word, with counts that stay in the L1 cache. */
const DIGIT_BITS = 11;
const DIGIT_SHIFTS = [0, 11, 22] as const;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;

/**
 * Indexes 0..n-1 ordered by the tuple of unsigned 32-bit columns (most significant first):
 * LSD radix sort, 11 bits per pass, skipping passes where every entry has the same digit.
 * A column's three digit counts are taken in one sequential read (they do not depend on the
 * order).
 */
export function radixSortIndexes(n: number, words: readonly Uint32Array[]): Uint32Array {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let spare = new Uint32Array(n);
  const counts = DIGIT_SHIFTS.map(() => new Uint32Array(1 << DIGIT_BITS));
  for (let w = words.length - 1; w >= 0; w--) {
    const column = words[w] as Uint32Array;
    const [c0, c1, c2] = counts as [Uint32Array, Uint32Array, Uint32Array];
    c0.fill(0); c1.fill(0); c2.fill(0);
    for (let i = 0; i < n; i++) {
      const x = column[i] as number;
      c0[x & DIGIT_MASK]++;
      c1[(x >>> 11) & DIGIT_MASK]++;
      c2[x >>> 22]++;
    }
    for (let d = 0; d < DIGIT_SHIFTS.length; d++) {
      const shift = DIGIT_SHIFTS[d] as number;
      const count = counts[d] as Uint32Array;
      if (count[((column[0] as number) >>> shift) & DIGIT_MASK] === n) continue;
      let sum = 0;
      for (let v = 0; v < count.length; v++) { const c = count[v] as number; count[v] = sum; sum += c; }
      for (let i = 0; i < n; i++) {
        const index = order[i] as number;
        const digit = ((column[index] as number) >>> shift) & DIGIT_MASK;
        spare[count[digit] as number] = index;
        count[digit]++;
      }
      const t = order; order = spare; spare = t;
    }
  }
  return order;
}

/** The three digit counts of a column's first n words (they do not depend on the order). */
function digitCounts(column: Uint32Array, n: number): Uint32Array[] {
  const counts = DIGIT_SHIFTS.map(() => new Uint32Array(1 << DIGIT_BITS));
  const [c0, c1, c2] = counts as [Uint32Array, Uint32Array, Uint32Array];
  for (let i = 0; i < n; i++) {
    const x = column[i] as number;
    c0[x & DIGIT_MASK]++;
    c1[(x >>> 11) & DIGIT_MASK]++;
    c2[x >>> 22]++;
  }
  return counts;
}

/**
 * The first n (key, value) pairs ordered by (value, key) — by key alone when `byValue` is
 * false — as radixSortIndexes would order them, the pairs moved with every pass instead of an
 * index: each pass then reads sequentially. The columns given are overwritten; returns the
 * sorted keys and values (the given arrays or the spares).
 */
export function radixSortPairs(n: number, keys: Uint32Array, values: Uint32Array, byValue: boolean): [Uint32Array, Uint32Array] {
  let k = keys, v = values;
  if (n < 2) return [k, v];
  let ks: Uint32Array = new Uint32Array(n), vs: Uint32Array = new Uint32Array(n);
  const columns: [boolean, Uint32Array[]][] = [[false, digitCounts(k, n)]];
  if (byValue) columns.push([true, digitCounts(v, n)]);
  for (const [isValue, counts] of columns) {
    for (let d = 0; d < DIGIT_SHIFTS.length; d++) {
      const shift = DIGIT_SHIFTS[d] as number;
      const count = counts[d] as Uint32Array;
      if (count[(((isValue ? v : k)[0] as number) >>> shift) & DIGIT_MASK] === n) continue;
      let sum = 0;
      for (let x = 0; x < count.length; x++) { const c = count[x] as number; count[x] = sum; sum += c; }
      const src = isValue ? v : k;
      for (let i = 0; i < n; i++) {
        const at = count[((src[i] as number) >>> shift) & DIGIT_MASK]++ as number;
        ks[at] = k[i] as number;
        vs[at] = v[i] as number;
      }
      [k, ks] = [ks, k];
      [v, vs] = [vs, v];
    }
  }
  return [k, v];
}

/** Exact integer Numbers as (hi, lo) words whose unsigned order is the signed order. */
function signedWords(values: Float64Array): [Uint32Array, Uint32Array] {
  const n = values.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const h = Math.floor(v / TWO_32);
    hi[i] = (h ^ 0x80000000) >>> 0;
    lo[i] = v - h * TWO_32;
  }
  return [hi, lo];
}

/** The merged value of the entry at `base` (the table's scalar layout), or undefined when it is not exact as a Number. */
function mergeScalar(layout: ScalarLayout, vview: DataView, base: number, slots: number, strideBytes: number): number | undefined {
  const valueAt = 8 * layout.valueWord;
  const presentAt = layout.presentWord === undefined ? undefined : 8 * layout.presentWord;
  const wordBytes = Math.max(valueAt, presentAt ?? 0) + 8;
  let acc = 0;
  let seen = false;
  for (let c = 0; c < slots; c++) {
    const o = base + c * strideBytes;
    if (o + wordBytes > vview.byteLength) break;
    if (presentAt !== undefined && vview.getUint32(o + presentAt, true) === 0 && vview.getUint32(o + presentAt + 4, true) === 0) continue;
    const v = readInt64(vview, o + valueAt);
    if (v === undefined) return undefined;
    if (layout.combine === 'sum') {
      acc += v;
      if (acc > MAX_EXACT || acc < -MAX_EXACT) return undefined;
    } else {
      if (!seen || (layout.combine === 'min' ? v < acc : v > acc)) acc = v;
      seen = true;
    }
  }
  return acc;
}

/** A signed 64-bit integer as an exact Number, or undefined beyond ±2^53. */
function readInt64(view: DataView, at: number): number | undefined {
  const hi = view.getInt32(at + 4, true);
  if (hi >= 1 << 21 || hi < -(1 << 21)) return undefined;
  return hi * TWO_32 + view.getUint32(at, true);
}
