/**
 * @fileoverview Decoded D values as plain JavaScript values, for the library API's events and
 * aggregations and for structured output: integers of 32 bits or fewer as numbers, 64-bit
 * ones as bigints, strings as text (D byte strings decoded as UTF-8), stacks as frame arrays,
 * histograms as bucket arrays.
 */
import type { AggSnapshot, AggValue, Value } from './values.js';
import { bucketUpperBounds } from './histogram.js';

/** A D value in JavaScript. */
export type JsValue = number | bigint | string | string[] | Uint8Array;

/** One histogram bucket: the values it holds are lower..upper (an end is absent when open). */
export interface Bucket {
  lower?: bigint;
  upper?: bigint;
  count: bigint;
}

/** An aggregation's value: count/sum/min/max as bigint, avg/stddev as number, histograms as buckets. */
export type AggregationValue = bigint | number | Bucket[];

/** One entry of an aggregation. */
export interface AggregationEntry {
  /** The aggregation's name without `@` ('' for the anonymous one). */
  name: string;
  keys: JsValue[];
  value: AggregationValue;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A D byte string (one char per byte) as the text it most likely is (UTF-8). */
export function byteStringText(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : utf8.decode(Buffer.from(s, 'latin1'));
}

export function jsValue(v: Value): JsValue {
  switch (v.kind) {
    case 'int': return v.sizeBytes <= 4 ? Number(v.value) : v.value;
    case 'float': return v.value;
    case 'string': return byteStringText(v.value);
    case 'stack': return v.frames.map(byteStringText);
    case 'symbol': return byteStringText(v.text);
    case 'bytes': return v.bytes;
  }
}

/** avg: the mean (integer division as DTrace prints it, here exact); stddev: the population deviation. */
function aggregationValue(fn: string, v: AggValue, params: AggSnapshot['desc']['params']): AggregationValue {
  switch (v.kind) {
    case 'scalar': return v.value;
    case 'avg': return v.count === 0n ? 0 : Number(v.sum) / Number(v.count);
    case 'stddev': {
      if (v.count === 0n) return 0;
      const n = Number(v.count);
      const mean = Number(v.sum) / n;
      return Math.sqrt(Math.max(0, Number(v.sumSq) / n - mean * mean));
    }
    case 'hist': {
      const kind = fn === 'lquantize' || fn === 'llquantize' ? fn : 'quantize';
      const uppers = bucketUpperBounds(kind, v.buckets.length, params);
      const out: Bucket[] = [];
      v.buckets.forEach((count, i) => {
        if (count === 0n) return;
        const upper = uppers[i];
        const below = i === 0 ? undefined : uppers[i - 1];
        const b: Bucket = { count };
        if (below !== undefined) b.lower = below + 1n;
        if (upper !== undefined) b.upper = upper;
        out.push(b);
      });
      return out;
    }
  }
}

/** Every entry of an aggregation snapshot as plain objects (normalize() applied to scalars). */
export function aggregationEntries(s: AggSnapshot): AggregationEntry[] {
  const normal = s.normalize && s.normalize > 1n ? s.normalize : undefined;
  return s.entries.map((e) => {
    let value = aggregationValue(s.desc.fn, e.value, s.desc.params);
    if (normal !== undefined && typeof value === 'bigint') value /= normal;
    return { name: s.desc.name, keys: e.keys.map(jsValue), value };
  });
}
