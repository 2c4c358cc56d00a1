/**
 * @fileoverview Aggregations as Prometheus / OpenMetrics text (`-x metrics=ADDR:PORT` serves it
 * on /metrics): the engine fleets already run scrapes us, we build no collector of our own.
 *
 * - count() is a counter (`dtrace_<name>_total`); sum, min, max, avg and stddev are gauges
 *   (a sum may go down; clear() resets every kind).
 * - quantize, lquantize and llquantize are classic histograms: cumulative `_bucket{le="…"}`
 *   series ending at `+Inf`, and `_count`. DTrace's histograms do not record the sum of the
 *   values, so no `_sum` is exported rather than a made-up one.
 * - Keys are labels `key0`, `key1`, … (a stack key is its frames root first, joined with `;`,
 *   as folded stacks are). Label values are DTrace byte strings, decoded as UTF-8 with
 *   U+FFFD for invalid bytes, then escaped (`\\`, `\"`, `\n`), so any string survives.
 * - At most `maxSeries` keys per aggregation (the ones with the largest values); what is left
 *   out is counted in `dtrace_metrics_dropped_series{aggregation="…"}`.
 */
import type { AggSnapshot, AggValue, Value } from './values.js';
import { foldFrames } from './flamegraph.js';
// In histogram.ts, where JSON output (loaded by every run) takes it from without this module,
// which only the metrics exporter needs (loaded on use).
import { bucketUpperBounds } from './histogram.js';
export { bucketUpperBounds };

export interface MetricsOptions {
  /** Series kept per aggregation (label cardinality bound). */
  maxSeries: number;
  /** Metric name prefix. */
  prefix?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A D byte string (one char per byte) as the UTF-8 text it most likely is. */
function byteStringText(s: string): string {
  return utf8.decode(Buffer.from(s, 'latin1'));
}

/** A label value, escaped as the exposition format requires. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A metric name from an aggregation's name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
export function metricName(prefix: string, aggName: string): string {
  const base = aggName === '' ? 'agg' : aggName.replace(/[^a-zA-Z0-9_]/g, '_');
  return `${prefix}${/^[0-9]/.test(base) ? '_' : ''}${base}`;
}

function keyText(v: Value): string {
  switch (v.kind) {
    case 'int': return v.value.toString();
    case 'float': return String(v.value);
    case 'string': return byteStringText(v.value);
    case 'symbol': return byteStringText(v.text);
    case 'stack': return byteStringText(foldFrames(v.frames).join(';'));
    case 'bytes': return Buffer.from(v.bytes).toString('hex');
  }
}

function labels(keys: readonly Value[], extra?: string): string {
  const parts = keys.map((k, i) => `key${i}="${escapeLabelValue(keyText(k))}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** The number an entry is ranked by when series must be dropped. */
function magnitude(v: AggValue): bigint {
  switch (v.kind) {
    case 'scalar': return v.value < 0n ? -v.value : v.value;
    case 'avg': case 'stddev': return v.count;
    case 'hist': return v.buckets.reduce((a, b) => a + b, 0n);
  }
}

function scalarText(v: AggValue): string {
  switch (v.kind) {
    case 'scalar': return v.value.toString();
    case 'avg': return v.count === 0n ? '0' : String(Number(v.sum) / Number(v.count));
    case 'stddev': {
      if (v.count === 0n) return '0';
      const n = Number(v.count);
      const mean = Number(v.sum) / n;
      return String(Math.sqrt(Math.max(0, Number(v.sumSq) / n - mean * mean)));
    }
    case 'hist': return '0';
  }
}

/** The exposition text of every aggregation, and the count of series left out per aggregation. */
export function renderOpenMetrics(aggs: readonly AggSnapshot[], options: MetricsOptions): string {
  const prefix = options.prefix ?? 'dtrace_';
  let out = '';
  const dropped: [string, number][] = [];
  for (const agg of aggs) {
    const name = metricName(prefix, agg.desc.name);
    let entries = agg.entries;
    if (entries.length > options.maxSeries) {
      entries = [...entries].sort((a, b) => { const d = magnitude(b.value) - magnitude(a.value); return d > 0n ? 1 : d < 0n ? -1 : 0; }).slice(0, options.maxSeries);
      dropped.push([agg.desc.name, agg.entries.length - entries.length]);
    }
    const fn = agg.desc.fn;
    const help = `# HELP ${name} DTrace aggregation @${escapeHelp(agg.desc.name)} = ${fn}()\n`;
    if (fn === 'count') {
      out += `# TYPE ${name} counter\n${help}`;
      for (const e of entries) out += `${name}_total${labels(e.keys)} ${scalarText(e.value)}\n`;
    } else if (fn === 'quantize' || fn === 'lquantize' || fn === 'llquantize') {
      out += `# TYPE ${name} histogram\n${help}`;
      for (const e of entries) {
        if (e.value.kind !== 'hist') continue;
        const bounds = bucketUpperBounds(fn, e.value.buckets.length, agg.desc.params);
        let cumulative = 0n;
        e.value.buckets.forEach((n, i) => {
          cumulative += n;
          const le = bounds[i];
          // Leading empty buckets say nothing; every bucket from the first count on is kept so
          // the cumulative series stays exact.
          if (cumulative === 0n && le !== undefined) return;
          out += `${name}_bucket${labels(e.keys, `le="${le === undefined ? '+Inf' : le.toString()}"`)} ${cumulative}\n`;
        });
        if (cumulative === 0n) out += `${name}_bucket${labels(e.keys, 'le="+Inf"')} 0\n`;
        out += `${name}_count${labels(e.keys)} ${cumulative}\n`;
      }
    } else {
      out += `# TYPE ${name} gauge\n${help}`;
      for (const e of entries) out += `${name}${labels(e.keys)} ${scalarText(e.value)}\n`;
    }
  }
  if (dropped.length) {
    const name = `${prefix}metrics_dropped_series`;
    out += `# TYPE ${name} gauge\n# HELP ${name} Aggregation keys left out of this scrape by the series limit\n`;
    for (const [agg, n] of dropped) out += `${name}{aggregation="${escapeLabelValue(agg)}"} ${n}\n`;
  }
  return out + '# EOF\n';
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
