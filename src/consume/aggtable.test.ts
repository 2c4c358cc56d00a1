/**
 * @fileoverview The packed aggregation printer must print exactly what the generic path
 * (entries of Values → format/aggregate.ts's formatAggregation) prints: same order under every
 * sort option, same columns for every key size, per-CPU merging of count/sum/min/max, and it
 * must decline (print nothing) whatever it cannot do exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { printPackedScalarAggregation, radixSortIndexes, radixSortPairs } from './aggtable.js';
import { formatAggregation } from './format/aggregate.js';
import type { AggDesc, AggEntry, AggFn, Value } from './format/values.js';

interface Case {
  fn: AggFn;
  sizes: (1 | 2 | 4 | 8)[];
  cpus: number;
  rows: { keys: bigint[]; perCpu: { has: boolean; v: bigint }[] }[];
}

/** Packs a case the way a per-CPU hash snapshot comes back, and builds the generic entries. */
function pack(c: Case) {
  const offsets: number[] = [];
  let keySize = 0;
  for (const s of c.sizes) { keySize = (keySize + s - 1) & ~(s - 1); offsets.push(keySize); keySize += s; }
  keySize = (keySize + 7) & ~7;
  const minmax = c.fn === 'min' || c.fn === 'max';
  const stride = minmax ? 16 : 8;
  const n = c.rows.length;
  const keyBytes = new Uint8Array(n * keySize);
  const valueBytes = new Uint8Array(n * stride * c.cpus);
  const kv = new DataView(keyBytes.buffer);
  const vv = new DataView(valueBytes.buffer);
  const entries: AggEntry[] = [];
  c.rows.forEach((row, i) => {
    const keys: Value[] = [];
    c.sizes.forEach((s, k) => {
      const raw = BigInt.asUintN(s * 8, row.keys[k] ?? 0n);
      const at = i * keySize + (offsets[k] as number);
      for (let b = 0; b < s; b++) kv.setUint8(at + b, Number((raw >> BigInt(8 * b)) & 0xffn));
      keys.push({ kind: 'int', value: BigInt.asIntN(s * 8, raw), sizeBytes: s, signed: true });
    });
    let sum = 0n;
    let mm: bigint | undefined;
    row.perCpu.forEach((slot, cpu) => {
      const o = (i * c.cpus + cpu) * stride;
      if (minmax) {
        vv.setBigUint64(o, slot.has ? 1n : 0n, true);
        vv.setBigInt64(o + 8, slot.v, true);
        if (slot.has && (mm === undefined || (c.fn === 'min' ? slot.v < mm : slot.v > mm))) mm = slot.v;
      } else {
        vv.setBigInt64(o, slot.v, true);
        sum += slot.v;
      }
    });
    entries.push({ keys, value: { kind: 'scalar', value: minmax ? mm ?? 0n : BigInt.asIntN(64, sum) } });
  });
  const desc: AggDesc = { id: 1, name: 'a', fn: c.fn, keyTypes: c.sizes.map((s) => ({ kind: 'int', sizeBytes: s, signed: true })) };
  const fields = c.sizes.map((s, k) => ({ offset: offsets[k] as number, sizeBytes: s, decode: 'int' }));
  return { desc, fields, stride, packed: { count: n, keySizeBytes: keySize, valueSizeBytes: stride * c.cpus, keyBytes, valueBytes }, entries };
}

function packedText(c: Case, opts: object, normalize?: bigint): string | undefined {
  const p = pack(c);
  let out = '';
  const ok = printPackedScalarAggregation(p.desc, p.fields, p.packed, p.stride, normalize, opts, (t) => { out += t; });
  return ok ? out : undefined;
}

const caseArb = fc.record({
  fn: fc.constantFrom<AggFn>('count', 'sum', 'min', 'max'),
  sizes: fc.array(fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8), { minLength: 1, maxLength: 3 }),
  cpus: fc.integer({ min: 1, max: 3 }),
}).chain(({ fn, sizes, cpus }) => fc.record({
  fn: fc.constant(fn), sizes: fc.constant(sizes), cpus: fc.constant(cpus),
  rows: fc.uniqueArray(fc.record({
    keys: fc.tuple(...sizes.map(() => fc.oneof(fc.bigInt({ min: -5n, max: 5n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })))),
    perCpu: fc.array(fc.record({ has: fc.boolean(), v: fc.oneof(fc.bigInt({ min: -3n, max: 3n }), fc.bigInt({ min: -(1n << 40n), max: 1n << 40n })) }), { minLength: cpus, maxLength: cpus }),
  }), { maxLength: 40, selector: (r) => r.keys.map((k, i) => BigInt.asUintN((sizes[i] ?? 8) * 8, k)).join(',') }),
}));

const optsArb = fc.record({
  aggsortkey: fc.option(fc.boolean(), { nil: undefined }),
  aggsortrev: fc.option(fc.boolean(), { nil: undefined }),
  aggsortkeypos: fc.option(fc.integer({ min: -1, max: 3 }), { nil: undefined }),
});

test('packed printing equals the generic formatAggregation for every sort option', () => {
  fc.assert(fc.property(caseArb, optsArb, (c, opts) => {
    const p = pack(c as Case);
    const generic = formatAggregation({ desc: p.desc, entries: p.entries }, opts);
    assert.equal(packedText(c as Case, opts), generic);
  }), { numRuns: 400 });
});

/** The same entries handed over as a scan in chunks of `chunk` entries, the columns made for `capacity` at first. */
function scannedText(c: Case, opts: object, chunk: number, capacity: number): string | undefined {
  const p = pack(c);
  const { count, keySizeBytes: ks, valueSizeBytes: vs, keyBytes, valueBytes } = p.packed;
  const scan = (visit: (chunk: typeof p.packed) => void) => {
    for (let at = 0; at < count; at += chunk) {
      const n = Math.min(chunk, count - at);
      // A fresh copy per chunk, overwritten after the call as a reused batch buffer would be.
      const k = keyBytes.slice(at * ks, (at + n) * ks), v = valueBytes.slice(at * vs, (at + n) * vs);
      visit({ count: n, keySizeBytes: ks, valueSizeBytes: vs, keyBytes: k, valueBytes: v });
      k.fill(0xee); v.fill(0xee);
    }
  };
  let out = '';
  const ok = printPackedScalarAggregation(p.desc, p.fields, { scan, capacity }, p.stride, undefined, opts, (t) => { out += t; });
  return ok ? out : undefined;
}

test('a scan in chunks prints what the whole snapshot prints (columns grown, widened, given high words midway)', () => {
  fc.assert(fc.property(caseArb, optsArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 50 }), (c, opts, chunk, capacity) => {
    assert.equal(scannedText(c as Case, opts, chunk, capacity), packedText(c as Case, opts));
  }), { numRuns: 300 });
});

/**
 * The case read as a map iterator hands it on: key then value per record, in chunks of `chunk`
 * records, the records starting `shift` bytes into the buffer (0: aligned as the kernel gives them).
 */
function interleavedText(c: Case, opts: object, chunk: number, shift: number): string | undefined {
  const p = pack(c);
  const { count, keySizeBytes: ks, valueSizeBytes: vs, keyBytes, valueBytes } = p.packed;
  const record = ks + vs;
  const scan = (visit: (chunk: typeof p.packed & { entryStrideBytes: number }) => void) => {
    for (let at = 0; at < count; at += chunk) {
      const n = Math.min(chunk, count - at);
      const buffer = new Uint8Array(shift + n * record);
      for (let i = 0; i < n; i++) {
        buffer.set(keyBytes.subarray((at + i) * ks, (at + i + 1) * ks), shift + i * record);
        buffer.set(valueBytes.subarray((at + i) * vs, (at + i + 1) * vs), shift + i * record + ks);
      }
      visit({ count: n, keySizeBytes: ks, valueSizeBytes: vs, entryStrideBytes: record,
        keyBytes: buffer.subarray(shift, shift + n * record), valueBytes: buffer.subarray(shift + ks, shift + n * record) });
      buffer.fill(0xee);
    }
  };
  let out = '';
  const ok = printPackedScalarAggregation(p.desc, p.fields, { scan, capacity: 4 }, p.stride, undefined, opts, (t) => { out += t; });
  return ok ? out : undefined;
}

test('interleaved records (a map iterator\'s chunks), aligned or not, print what the packed snapshot prints', () => {
  fc.assert(fc.property(caseArb, optsArb, fc.integer({ min: 1, max: 7 }), fc.constantFrom(0, 1, 4), (c, opts, chunk, shift) => {
    assert.equal(interleavedText(c as Case, opts, chunk, shift), packedText(c as Case, opts));
  }), { numRuns: 300 });
});

test('values beyond 2^53, normalize() and avg() are left to the generic path', () => {
  const big: Case = { fn: 'sum', sizes: [8], cpus: 2, rows: [{ keys: [1n], perCpu: [{ has: true, v: 1n << 52n }, { has: true, v: 1n << 52n }] }] };
  assert.equal(packedText(big, {}), undefined);
  const small: Case = { fn: 'count', sizes: [8], cpus: 1, rows: [{ keys: [1n], perCpu: [{ has: true, v: 3n }] }] };
  assert.equal(packedText(small, {}, 2n), undefined);
  assert.equal(packedText({ ...small, fn: 'avg' }, {}), undefined);
  assert.equal(packedText(small, {}, 1n), '                1                3\n');
});

test('radix sort orders by the word tuple, most significant first', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat({ max: 3 }), fc.nat()), { maxLength: 200 }), (rows) => {
    const a = Uint32Array.from(rows, (r) => r[0]);
    const b = Uint32Array.from(rows, (r) => r[1]);
    const got = Array.from(radixSortIndexes(rows.length, [a, b]));
    const want = rows.map((_, i) => i).sort((x, y) => (a[x]! - a[y]!) || (b[x]! - b[y]!) || x - y);
    assert.deepEqual(got, want);
  }));
});

test('sorting the (key, value) pairs gives the order of the index sort, by value then key or by key alone', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.oneof(fc.nat({ max: 3 }), fc.nat()), fc.oneof(fc.nat({ max: 5000 }), fc.nat())), { maxLength: 300 }), fc.boolean(), (rows, byValue) => {
    const keys = Uint32Array.from(rows, (r) => r[0]);
    const values = Uint32Array.from(rows, (r) => r[1]);
    const order = radixSortIndexes(rows.length, byValue ? [values, keys] : [keys]);
    const want = [Array.from(order, (i) => keys[i]!), Array.from(order, (i) => values[i]!)];
    const [k, v] = radixSortPairs(rows.length, keys.slice(), values.slice(), byValue);
    assert.deepEqual([Array.from(k.subarray(0, rows.length)), Array.from(v.subarray(0, rows.length))], want);
  }));
});
