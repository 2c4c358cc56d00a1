/**
 * @fileoverview Reading whole maps through a BPF map element iterator (bpf/map-iter.ts) and
 * through BPF_MAP_LOOKUP_BATCH gives the same entries, per-CPU slots included, and the same
 * printed aggregation; the iterator's program, link and fd are closed once the read returns.
 * The iterator cases are skipped where the kernel refuses iterator programs (this project's
 * 6.18 host answers EPERM, as for fentry; the Debian 6.1 guest runs them). Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { createMap, possibleCpus, type BpfMap, type MapSnapshot } from '../../src/bpf/map.js';
import { MAP_READ_TEST_ENV, scanMap, type MapReadPath } from '../../src/bpf/map-iter.js';
import { featureStatus, resetFeatureCache } from '../../src/bpf/features.js';
import { printPackedScalarAggregation } from '../../src/consume/aggtable.js';
import type { MapTypeName } from '../../src/bpf/uapi.js';

const root = process.getuid?.() === 0;
const skip = root ? false : 'needs root (bpf(2))';
const iterStatus = root ? featureStatus('map_elem_iter') : { available: false, reason: 'needs root' };
const skipIter = skip || (iterStatus.available ? false : `no map element iterator here: ${iterStatus.reason}`);
const KEYS = 3000;

/** Runs `fn` with the test-only path switch set to `path`. */
function withPath<T>(path: MapReadPath | undefined, fn: () => T): T {
  const before = process.env[MAP_READ_TEST_ENV];
  if (path === undefined) delete process.env[MAP_READ_TEST_ENV]; else process.env[MAP_READ_TEST_ENV] = path;
  try { return fn(); } finally {
    if (before === undefined) delete process.env[MAP_READ_TEST_ENV]; else process.env[MAP_READ_TEST_ENV] = before;
  }
}

/** Every entry as "key-hex value-hex", sorted: the map's content whatever the read order (`path` undefined: not forced). */
function entriesOf(map: BpfMap, path: MapReadPath | undefined): { used: MapReadPath; lines: string[]; chunks: number } {
  const lines: string[] = [];
  let chunks = 0;
  const used = withPath(path, () => scanMap(map, (c: MapSnapshot) => {
    chunks++;
    const ks = c.entryStrideBytes ?? c.keySizeBytes;
    const vs = c.entryStrideBytes ?? c.valueSizeBytes;
    for (let i = 0; i < c.count; i++) {
      const key = Buffer.from(c.keyBytes.subarray(i * ks, i * ks + c.keySizeBytes)).toString('hex');
      const value = Buffer.from(c.valueBytes.subarray(i * vs, i * vs + c.valueSizeBytes)).toString('hex');
      lines.push(`${key} ${value}`);
    }
  }));
  return { used, lines: lines.sort(), chunks };
}

/** A map of `type` with KEYS keys (u64 key i), each CPU's slot of a per-CPU value distinct. */
function filledMap(type: MapTypeName, valueSize = 16): { map: BpfMap; expected: string[] } {
  const map = createMap({ name: `iter_${type}`, type, keySize: type.endsWith('array') ? 4 : 8, valueSize, maxEntries: type.endsWith('array') ? KEYS : 4 * KEYS });
  const expected: string[] = [];
  const key = new Uint8Array(map.spec.keySize);
  const kv = new DataView(key.buffer);
  const value = new Uint8Array(map.valueBufferSizeBytes);
  const vv = new DataView(value.buffer);
  for (let i = 0; i < KEYS; i++) {
    if (map.spec.keySize === 4) kv.setUint32(0, i, true); else kv.setBigUint64(0, BigInt(i) * 0x1_0000_0001n, true);
    value.fill(0);
    for (let at = 0, cpu = 0; at < value.length; at += map.valueStrideBytes, cpu++) {
      vv.setBigUint64(at, BigInt(i * 10 + cpu + 1), true);
      vv.setBigUint64(at + 8, BigInt(cpu + 1), true);
    }
    map.update(key, value);
    expected.push(`${Buffer.from(key).toString('hex')} ${Buffer.from(value).toString('hex')}`);
  }
  return { map, expected: expected.sort() };
}

/** The bpf objects (maps, programs, links, iterators) this process has open, by fd. */
function bpfFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try { const target = readlinkSync(`/proc/self/fd/${fd}`); if (/bpf/.test(target)) out.push(`${fd} ${target}`); } catch { /* closed meanwhile */ }
  }
  return out.sort();
}

test('batch reads give every entry with its per-CPU slots (the fallback path)', { skip }, () => {
  const { map, expected } = filledMap('percpu_hash');
  try {
    const batch = entriesOf(map, 'batch');
    assert.equal(batch.used, 'batch');
    assert.equal(batch.lines.length, KEYS);
    assert.deepEqual(batch.lines, expected);
  } finally { map.close(); }
});

for (const type of ['percpu_hash', 'hash', 'percpu_array', 'array'] as const) {
  test(`${type}: the iterator reads the same entries as the batch read`, { skip: skipIter }, () => {
    const { map, expected } = filledMap(type);
    try {
      const iter = entriesOf(map, 'iterator');
      assert.equal(iter.used, 'iterator');
      assert.deepEqual(iter.lines, expected);
      assert.deepEqual(iter.lines, entriesOf(map, 'batch').lines);
    } finally { map.close(); }
  });
}

test('the iterator hands on chunks of whole records across many reads (a large per-CPU map)', { skip: skipIter }, () => {
  // 40,000 entries of 8 + 16 × CPUs bytes: well over one kernel read (8 pages) and one chunk.
  const map = createMap({ name: 'iter_big', type: 'percpu_hash', keySize: 8, valueSize: 16, maxEntries: 65536 });
  try {
    const key = new Uint8Array(8);
    const kv = new DataView(key.buffer);
    const value = new Uint8Array(map.valueBufferSizeBytes);
    const n = 40_000;
    for (let i = 0; i < n; i++) { kv.setUint32(0, i, true); new DataView(value.buffer).setUint32(0, i, true); map.update(key, value); }
    const iter = entriesOf(map, 'iterator');
    assert.equal(iter.lines.length, n);
    assert.ok(iter.chunks >= 1);
    assert.deepEqual(iter.lines, entriesOf(map, 'batch').lines);
    // Not forced: more than one batch call's worth, so the read changes to the iterator (the
    // first batch chunk is not handed on twice).
    const chosen = entriesOf(map, undefined);
    assert.equal(chosen.used, 'iterator');
    assert.deepEqual(chosen.lines, iter.lines);
  } finally { map.close(); }
});

test('an aggregation printed from the iterator is byte for byte the one printed from batch reads', { skip: skipIter }, () => {
  // count() keyed by an int64: value word 0, summed over the CPUs (the per-CPU slots differ).
  const map = createMap({ name: 'iter_agg', type: 'percpu_hash', keySize: 8, valueSize: 8, maxEntries: 4 * KEYS });
  try {
    const key = new Uint8Array(8);
    const kv = new DataView(key.buffer);
    const value = new Uint8Array(map.valueBufferSizeBytes);
    const vv = new DataView(value.buffer);
    for (let i = 0; i < KEYS; i++) {
      kv.setBigInt64(0, BigInt(i % 2 ? i : -i * 1000), true);
      for (let cpu = 0; cpu < possibleCpus().length; cpu++) vv.setBigUint64(cpu * map.valueStrideBytes, BigInt((i * 7919 + cpu) % 500), true);
      map.update(key, value);
    }
    const print = (path: MapReadPath): string => withPath(path, () => {
      let text = '';
      const desc = { id: 1, name: '', fn: 'count' as const, keyTypes: [{ kind: 'int' as const, sizeBytes: 8 as const, signed: true }] };
      const source = { capacity: map.spec.maxEntries, scan: (visit: (c: MapSnapshot) => void) => { scanMap(map, visit); } };
      const done = printPackedScalarAggregation(desc, [{ offset: 0, sizeBytes: 8, decode: 'int' }], source, map.valueStrideBytes, undefined, {},
        (t) => { text += t; }, (b) => { text += Buffer.from(b).toString('latin1'); });
      assert.ok(done);
      return text;
    });
    const viaIter = print('iterator');
    assert.equal(viaIter.split('\n').length - 1, KEYS);
    assert.equal(viaIter, print('batch'));
  } finally { map.close(); }
});

test('a map one batch call reads whole is read by it, iterator or not (no set-up, no detection)', { skip }, () => {
  const { map, expected } = filledMap('percpu_hash');
  try {
    const read = entriesOf(map, undefined);
    assert.equal(read.used, 'batch');
    assert.equal(read.chunks, 1);
    assert.deepEqual(read.lines, expected);
  } finally { map.close(); }
});

test('without an iterator, a map of many chunks is read by batch calls, every chunk handed on once', { skip: iterStatus.available ? 'this kernel has map iterators (the case above reads through one)' : skip }, () => {
  const map = createMap({ name: 'iter_big', type: 'percpu_hash', keySize: 8, valueSize: 16, maxEntries: 65536 });
  try {
    const key = new Uint8Array(8);
    const value = new Uint8Array(map.valueBufferSizeBytes);
    const n = 40_000;
    const expected: string[] = [];
    for (let i = 0; i < n; i++) {
      new DataView(key.buffer).setUint32(0, i, true); new DataView(value.buffer).setUint32(0, i, true); map.update(key, value);
      expected.push(`${Buffer.from(key).toString('hex')} ${Buffer.from(value).toString('hex')}`);
    }
    const read = entriesOf(map, undefined);
    assert.equal(read.used, 'batch');
    assert.ok(read.chunks > 1);
    assert.deepEqual(read.lines, expected.sort());
  } finally { map.close(); }
});

test('the iterator\'s program, link and fd are closed when the read returns', { skip: skipIter }, () => {
  const { map } = filledMap('percpu_hash');
  try {
    const before = bpfFds();
    for (let i = 0; i < 3; i++) assert.equal(entriesOf(map, 'iterator').used, 'iterator');
    assert.deepEqual(bpfFds(), before);
    // A read stopped by the visitor's exception closes them too.
    assert.throws(() => withPath('iterator', () => scanMap(map, () => { throw new Error('stop'); })), /stop/);
    assert.deepEqual(bpfFds(), before);
  } finally { map.close(); }
});

test('an emulated kernel older than 5.9 has no map iterator: reads fall back to batch', { skip }, () => {
  const before = process.env.DTRACE_TS_KERNEL;
  process.env.DTRACE_TS_KERNEL = '5.8';
  resetFeatureCache();
  const { map, expected } = filledMap('percpu_hash');
  try {
    assert.equal(featureStatus('map_elem_iter').available, false);
    const read = entriesOf(map, undefined);
    assert.equal(read.used, 'batch');
    assert.deepEqual(read.lines, expected);
  } finally {
    map.close();
    if (before === undefined) delete process.env.DTRACE_TS_KERNEL; else process.env.DTRACE_TS_KERNEL = before;
    resetFeatureCache();
  }
});
