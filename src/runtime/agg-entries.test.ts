/**
 * @fileoverview Reading one aggregation out of a shared aggregation map: only the entries with
 * its tag, the tag taken off the keys, the values unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTag, taggedEntries, taggedKey } from './agg-entries.js';

test('taggedEntries keeps the entries of one tag with the tag taken off their keys', () => {
  // Three entries of a map with 8-byte aggregation keys (16-byte map keys) and 16-byte values.
  const keys = [taggedKey(7, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])), taggedKey(9, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])), taggedKey(7, new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]))];
  const keyBytes = new Uint8Array(48);
  keys.forEach((k, i) => keyBytes.set(k, i * 16));
  const valueBytes = new Uint8Array(48).map((_, i) => i);
  const seven = taggedEntries({ count: 3, keySizeBytes: 16, valueSizeBytes: 16, keyBytes, valueBytes }, 7);
  assert.equal(seven.count, 2);
  assert.equal(seven.keySizeBytes, 8);
  assert.deepEqual([...seven.keyBytes], [1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...seven.valueBytes], [...valueBytes.subarray(0, 16), ...valueBytes.subarray(32, 48)]);
  assert.equal(taggedEntries({ count: 3, keySizeBytes: 16, valueSizeBytes: 16, keyBytes, valueBytes }, 8).count, 0);
});

test('taggedEntries reads interleaved records (a map iterator\'s chunk) as it reads packed ones', () => {
  const keys = [taggedKey(7, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])), taggedKey(9, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0])), taggedKey(7, new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]))];
  const values = [0, 1, 2].map((i) => new Uint8Array(16).map((_, b) => 16 * i + b));
  // key then value, 32 bytes a record, as bpf_seq_write lays them out.
  const records = new Uint8Array(96);
  keys.forEach((k, i) => { records.set(k, 32 * i); records.set(values[i]!, 32 * i + 16); });
  const seven = taggedEntries({ count: 3, keySizeBytes: 16, valueSizeBytes: 16, entryStrideBytes: 32, keyBytes: records.subarray(0, 96), valueBytes: records.subarray(16, 96) }, 7);
  assert.equal(seven.count, 2);
  assert.equal(seven.entryStrideBytes, undefined);
  assert.deepEqual([...seven.keyBytes], [1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...seven.valueBytes], [...values[0]!, ...values[2]!]);
});

test('taggedKey puts the tag and four zero bytes before the key; hasTag reads the tag back', () => {
  const k = taggedKey(0x01020304, new Uint8Array([0xaa]));
  assert.deepEqual([...k], [4, 3, 2, 1, 0, 0, 0, 0, 0xaa]);
  assert.equal(hasTag(k, 0x01020304), true);
  assert.equal(hasTag(k, 4), false);
  assert.equal(hasTag(taggedKey(0xfffffffe, new Uint8Array(0)), 0xfffffffe), true);
});
