import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderOpenMetrics, bucketUpperBounds, escapeLabelValue } from './openmetrics.js';
import { quantizeBucketOf, llquantizeBinOf, llquantizeLayout } from './histogram.js';
import { QUANTIZE_NBUCKETS, type AggSnapshot, type Value } from './values.js';

const str = (s: string): Value => ({ kind: 'string', value: s });

test('count is a counter, sum a gauge, keys are escaped labels', () => {
  const aggs: AggSnapshot[] = [
    { desc: { id: 1, name: 'calls', fn: 'count', keyTypes: [{ kind: 'string' }] }, entries: [
      { keys: [str('bash')], value: { kind: 'scalar', value: 7n } },
      { keys: [str('a"b\\c\nd')], value: { kind: 'scalar', value: 1n } },
      // UTF-8 bytes as D holds them (one char per byte), and an invalid byte.
      { keys: [str(Buffer.from('größe', 'utf8').toString('latin1') + '\xff')], value: { kind: 'scalar', value: 2n } },
    ] },
    { desc: { id: 2, name: '', fn: 'sum', keyTypes: [] }, entries: [{ keys: [], value: { kind: 'scalar', value: -5n } }] },
  ];
  assert.equal(renderOpenMetrics(aggs, { maxSeries: 100 }), [
    '# TYPE dtrace_calls counter',
    '# HELP dtrace_calls DTrace aggregation @calls = count()',
    'dtrace_calls_total{key0="bash"} 7',
    'dtrace_calls_total{key0="a\\"b\\\\c\\nd"} 1',
    'dtrace_calls_total{key0="größe\ufffd"} 2',
    '# TYPE dtrace_agg gauge',
    '# HELP dtrace_agg DTrace aggregation @ = sum()',
    'dtrace_agg -5',
    '# EOF',
    '',
  ].join('\n'));
  assert.equal(escapeLabelValue('x'), 'x');
});

test('quantize buckets: each bucket\'s upper bound is the largest value quantize puts in it', () => {
  const bounds = bucketUpperBounds('quantize', QUANTIZE_NBUCKETS);
  for (const v of [-1000n, -5n, -4n, -3n, -2n, -1n, 0n, 1n, 2n, 3n, 4n, 7n, 8n, 1000n, (1n << 62n) + 1n]) {
    const b = quantizeBucketOf(v);
    assert.ok(bounds[b] === undefined || v <= bounds[b]!, `${v} above its bucket's bound ${bounds[b]}`);
    if (b > 0) assert.ok(v > bounds[b - 1]!, `${v} not above the previous bound ${bounds[b - 1]}`);
  }
});

test('llquantize buckets: bounds agree with llquantizeBinOf on every boundary', () => {
  const params = { factor: 10n, lmag: 0n, hmag: 3n, steps: 10n };
  const { nbins } = llquantizeLayout(params);
  const bounds = bucketUpperBounds('llquantize', nbins, params);
  for (let i = 0; i < nbins - 1; i++) {
    const ub = bounds[i]!;
    assert.equal(llquantizeBinOf(ub, params), i, `upper bound ${ub} of bin ${i}`);
    assert.equal(llquantizeBinOf(ub + 1n, params), i + 1, `${ub + 1n} starts bin ${i + 1}`);
  }
});

test('histograms are cumulative up to +Inf with _count; the series limit keeps the largest and reports the rest', () => {
  const buckets = new Array<bigint>(QUANTIZE_NBUCKETS).fill(0n);
  buckets[quantizeBucketOf(1n)] = 3n;
  buckets[quantizeBucketOf(5n)] = 2n;
  const aggs: AggSnapshot[] = [
    { desc: { id: 1, name: 'lat', fn: 'quantize', keyTypes: [] }, entries: [{ keys: [], value: { kind: 'hist', buckets } }] },
    { desc: { id: 2, name: 'n', fn: 'count', keyTypes: [{ kind: 'int', sizeBytes: 8, signed: true }] }, entries: [1n, 50n, 9n].map((v, i) => ({ keys: [{ kind: 'int', value: BigInt(i), sizeBytes: 8, signed: true } as Value], value: { kind: 'scalar' as const, value: v } })) },
  ];
  const text = renderOpenMetrics(aggs, { maxSeries: 2 });
  const lines = text.split('\n');
  assert.ok(lines.includes('dtrace_lat_bucket{le="1"} 3'));
  assert.ok(lines.includes('dtrace_lat_bucket{le="3"} 3'));
  assert.ok(lines.includes('dtrace_lat_bucket{le="7"} 5'));
  assert.ok(lines.includes('dtrace_lat_bucket{le="+Inf"} 5'));
  assert.ok(lines.includes('dtrace_lat_count 5'));
  assert.ok(!lines.some((l) => l.startsWith('dtrace_lat_bucket{le="0"}')), 'leading empty buckets left out');
  assert.ok(lines.includes('dtrace_n_total{key0="1"} 50'));
  assert.ok(lines.includes('dtrace_n_total{key0="2"} 9'));
  assert.ok(!lines.includes('dtrace_n_total{key0="0"} 1'));
  assert.ok(lines.includes('dtrace_metrics_dropped_series{aggregation="n"} 1'));
});
