import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGGREGATING_FUNCTIONS, isAggFn } from './aggregations.js';

/** One CPU's value words as the map holds them (little-endian u64s). */
function cpu(...words: bigint[]): DataView {
  const v = new DataView(new ArrayBuffer(8 * words.length));
  words.forEach((w, i) => v.setBigUint64(8 * i, BigInt.asUintN(64, w), true));
  return v;
}

test('value words: scalars, quantize, and the parameterised histograms', () => {
  const words = (fn: keyof typeof AGGREGATING_FUNCTIONS, p: bigint[] = []) => AGGREGATING_FUNCTIONS[fn].valueWords(p);
  assert.deepEqual([words('count'), words('sum'), words('avg'), words('min'), words('stddev'), words('quantize')], [1, 1, 2, 2, 4, 127]);
  assert.equal(words('lquantize', [0n, 100n, 10n]), 12);
  assert.equal(words('llquantize', [10n, 0n, 6n, 20n]), 7 * 18 * 2 + 3);
  assert.equal(isAggFn('count'), true);
  assert.equal(isAggFn('toString'), false);
});

test('merge: min/max skip CPUs that never fired; stddev keeps 128-bit squares', () => {
  assert.deepEqual(AGGREGATING_FUNCTIONS.min.merge([cpu(0n, -100n), cpu(1n, 5n), cpu(1n, 3n)]), { kind: 'scalar', value: 3n });
  assert.deepEqual(AGGREGATING_FUNCTIONS.max.merge([cpu(0n, 0n)]), { kind: 'scalar', value: 0n });
  assert.deepEqual(AGGREGATING_FUNCTIONS.sum.merge([cpu(-5n), cpu(2n)]), { kind: 'scalar', value: -3n });
  assert.deepEqual(AGGREGATING_FUNCTIONS.avg.merge([cpu(1n, 7n), cpu(1n, 2n)]), { kind: 'avg', count: 2n, sum: 9n });
  assert.deepEqual(AGGREGATING_FUNCTIONS.stddev.merge([cpu(1n, 1n, 0xffffffffffffffffn, 1n), cpu(1n, 2n, 1n, 0n)]),
    { kind: 'stddev', count: 2n, sum: 3n, sumSq: 2n ** 65n });
  assert.deepEqual(AGGREGATING_FUNCTIONS.quantize.merge([cpu(...new Array<bigint>(127).fill(1n)), cpu(...new Array<bigint>(127).fill(2n))]),
    { kind: 'hist', buckets: new Array<bigint>(127).fill(3n) });
});

test('scalar layout: merging by the layout gives what merge gives (count, sum, min, max), and only those have one', () => {
  const cpus = [cpu(0n, -100n), cpu(1n, 5n), cpu(1n, -7n), cpu(3n, 2n)];
  for (const fn of ['count', 'sum', 'min', 'max'] as const) {
    const f = AGGREGATING_FUNCTIONS[fn];
    const layout = f.scalar!;
    const views = cpus.map((v) => new DataView(v.buffer, 0, 8 * f.valueWords([])));
    let acc: bigint | undefined;
    for (const v of views) {
      if (layout.presentWord !== undefined && v.getBigUint64(8 * layout.presentWord, true) === 0n) continue;
      const x = v.getBigInt64(8 * layout.valueWord, true);
      acc = acc === undefined ? x : layout.combine === 'sum' ? acc + x : layout.combine === 'min' ? (x < acc ? x : acc) : (x > acc ? x : acc);
    }
    assert.deepEqual(f.merge(views), { kind: 'scalar', value: acc ?? 0n }, fn);
  }
  assert.deepEqual(Object.entries(AGGREGATING_FUNCTIONS).filter(([, f]) => f.scalar).map(([n]) => n), ['count', 'sum', 'min', 'max']);
});
