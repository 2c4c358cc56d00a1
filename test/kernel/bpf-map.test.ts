/**
 * @fileoverview BPF maps against the real kernel: create/update/lookup/delete/iterate/batch for
 * hash, percpu_hash, array and percpu_array, plus a large snapshot. Needs root.
 */
import { test } from 'node:test';
import { readlinkSync } from 'node:fs';
import assert from 'node:assert/strict';
import { createMap, possibleCpus, onlineCpus, type BpfMap } from '../../src/bpf/map.js';
import { SysError } from '../../src/bpf/errors.js';
import { UpdateFlag } from '../../src/bpf/uapi.js';

const skip = process.getuid?.() === 0 ? false : 'needs root (bpf(2) with CAP_SYS_ADMIN)';

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function u64(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
function readU64(b: Uint8Array, at = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
}
function readU32(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
}
function fdOpen(fd: number): boolean {
  try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith('anon_inode:bpf-map'); } catch { return false; }
}

test('CPU lists', () => {
  assert.ok(possibleCpus().length >= 1);
  assert.ok(onlineCpus().length <= possibleCpus().length);
});

test('hash map: update, lookup, delete, iterate, batch', { skip }, () => {
  const map = createMap({ name: 'test_hash', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64 });
  try {
    assert.equal(map.lookup(u32(1)), undefined);
    for (let i = 0; i < 10; i++) map.update(u32(i), u64(i * 100));
    assert.equal(readU64(map.lookup(u32(7))!), 700n);
    map.update(u32(7), u64(701), UpdateFlag.EXIST);
    assert.equal(readU64(map.lookup(u32(7))!), 701n);
    assert.throws(() => map.update(u32(7), u64(1), UpdateFlag.NOEXIST), (e: unknown) => e instanceof SysError && e.code === 'EEXIST' && e.op === 'BPF_MAP_UPDATE_ELEM');
    assert.equal(map.delete(u32(3)), true);
    assert.equal(map.delete(u32(3)), false);
    const keys = [...map.keys()].map((k) => readU32(k)).sort((a, b) => a - b);
    assert.deepEqual(keys, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
    const { keys: bk, values: bv } = map.lookupBatch();
    assert.equal(bk.length, 9);
    const pairs = new Map(bk.map((k, i) => [readU32(k), readU64(bv[i])]));
    assert.equal(pairs.get(7), 701n);
    assert.equal(pairs.get(9), 900n);
    assert.equal(pairs.has(3), false);
    assert.throws(() => map.lookup(new Uint8Array(3)), RangeError);
    assert.equal(map.clear(), 9);
    assert.equal(map.nextKey(undefined), undefined);
  } finally {
    map.close();
  }
});

test('percpu_hash: values have one 8-byte-aligned slot per possible CPU', { skip }, () => {
  const ncpu = possibleCpus().length;
  const map = createMap({ name: 'test_pchash', type: 'percpu_hash', keySize: 8, valueSize: 4, maxEntries: 16 });
  try {
    assert.equal(map.valueStrideBytes, 8);
    assert.equal(map.valueBufferSizeBytes, 8 * ncpu);
    // One value, replicated to every CPU.
    map.update(u64(42), u32(5));
    const perCpu = map.lookupPerCpu(u64(42))!;
    assert.equal(perCpu.length, ncpu);
    for (const v of perCpu) assert.equal(readU32(v), 5);
    // Distinct values per CPU.
    const all = new Uint8Array(8 * ncpu);
    for (let c = 0; c < ncpu; c++) new DataView(all.buffer).setUint32(c * 8, 10 + c, true);
    map.update(u64(43), all);
    assert.deepEqual(map.lookupPerCpu(u64(43))!.map((v) => readU32(v)), Array.from({ length: ncpu }, (_, c) => 10 + c));
    const snap = map.snapshot();
    assert.equal(snap.count, 2);
    assert.equal(snap.valueSizeBytes, 8 * ncpu);
    const i43 = readU64(snap.keyBytes.subarray(0, 8)) === 43n ? 0 : 1;
    assert.equal(readU32(snap.valueBytes, i43 * 8 * ncpu + 8 * (ncpu - 1)), 10 + ncpu - 1);
  } finally {
    map.close();
  }
});

test('array and percpu_array', { skip }, () => {
  const ncpu = possibleCpus().length;
  const array = createMap({ name: 'test_array', type: 'array', keySize: 4, valueSize: 16, maxEntries: 8 });
  const pcarray = createMap({ name: 'test_pcarray', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 4 });
  try {
    assert.equal(array.lookup(u32(3))!.length, 16);
    assert.ok(array.lookup(u32(3))!.every((b) => b === 0));
    assert.equal(array.lookup(u32(8)), undefined); // out of range reads as absent
    const v = new Uint8Array(16).fill(0xab);
    array.update(u32(3), v);
    assert.deepEqual(array.lookup(u32(3)), v);
    assert.throws(() => array.delete(u32(3)), (e: unknown) => e instanceof SysError && e.code === 'EINVAL');
    assert.equal([...array.keys()].length, 8);
    const snap = array.snapshot();
    assert.equal(snap.count, 8);
    assert.deepEqual(snap.valueBytes.subarray(3 * 16, 4 * 16), v);

    pcarray.update(u32(1), u64(77));
    assert.deepEqual(pcarray.lookupPerCpu(u32(1))!.map((x) => readU64(x)), Array(ncpu).fill(77n));
    const batch = pcarray.lookupBatch();
    assert.equal(batch.keys.length, 4);
    assert.equal(readU64(batch.values[1], 8 * (ncpu - 1)), 77n);
    assert.equal(readU64(batch.values[0]), 0n);
    pcarray.clear();
    assert.equal(readU64(pcarray.lookup(u32(1))!), 0n);
  } finally {
    array.close();
    pcarray.close();
  }
});

test('close() releases the fd; using a closed map throws', { skip }, () => {
  const map = createMap({ name: 'test_close', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
  const fd = map.fd;
  assert.equal(fdOpen(fd), true);
  map.close();
  assert.equal(fdOpen(fd), false);
  assert.throws(() => map.lookup(u32(0)), /closed/);
  map.close(); // idempotent
});

test('create failure is a SysError naming the map', { skip }, () => {
  assert.throws(() => createMap({ name: 'bad', type: 'hash', keySize: 0, valueSize: 4, maxEntries: 4 }),
    (e: unknown) => e instanceof SysError && e.op === 'BPF_MAP_CREATE' && e.code === 'EINVAL' && /create map bad/.test(e.message));
});

test('snapshot of 200,000 keys is fast and complete', { skip }, () => {
  const n = 200_000;
  const map: BpfMap = createMap({ name: 'test_big', type: 'percpu_hash', keySize: 16, valueSize: 8, maxEntries: n });
  try {
    const key = new Uint8Array(16);
    const kv = new DataView(key.buffer);
    for (let i = 0; i < n; i++) { kv.setUint32(0, i, true); kv.setUint32(12, i ^ 0x5a5a, true); map.update(key, u64(i)); }
    const t0 = performance.now();
    const snap = map.snapshot();
    const ms = performance.now() - t0;
    assert.equal(snap.count, n);
    let sum = 0n;
    const ncpu = possibleCpus().length;
    for (let i = 0; i < n; i++) sum += readU64(snap.valueBytes, i * 8 * ncpu);
    assert.equal(sum, BigInt(n) * BigInt(n - 1) / 2n);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) seen.add(readU32(snap.keyBytes, i * 16));
    assert.equal(seen.size, n);
    // Generous bound: batching makes this tens of ms; key-by-key iteration would take ~1 s.
    assert.ok(ms < 700, `snapshot took ${ms.toFixed(0)} ms`);
  } finally {
    map.close();
  }
});

test('scan hands over the whole map in chunks of reused buffers, every entry once', { skip }, () => {
  const n = 100_000;
  const map: BpfMap = createMap({ name: 'test_scan', type: 'percpu_hash', keySize: 8, valueSize: 8, maxEntries: n });
  try {
    const key = new Uint8Array(8);
    const kv = new DataView(key.buffer);
    for (let i = 0; i < n; i++) { kv.setUint32(0, i, true); map.update(key, u64(3 * i)); }
    const ncpu = possibleCpus().length;
    const seen = new Uint8Array(n);
    let chunks = 0;
    let sum = 0n;
    map.scan((c) => {
      chunks++;
      assert.equal(c.keySizeBytes, 8);
      assert.equal(c.valueSizeBytes, 8 * ncpu);
      for (let i = 0; i < c.count; i++) {
        const k = readU32(c.keyBytes, i * 8);
        seen[k]!++;
        // Every CPU's slot holds the value (a per-CPU update of one value sets them all).
        for (let cpu = 0; cpu < ncpu; cpu++) assert.equal(readU64(c.valueBytes, (i * ncpu + cpu) * 8), BigInt(3 * k));
        sum += readU64(c.valueBytes, i * 8 * ncpu);
      }
    });
    assert.ok(chunks > 1, `${chunks} chunk(s)`);
    assert.ok(seen.every((x) => x === 1));
    assert.equal(sum, 3n * BigInt(n) * BigInt(n - 1) / 2n);
  } finally {
    map.close();
  }
});

test('freeze after update: user space can no longer write, the value stays readable', { skip }, () => {
  const map = createMap({ name: 'test_freeze', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
  try {
    const key = new Uint8Array(4);
    map.update(key, Uint8Array.of(1, 2, 3, 4));
    map.freeze();
    assert.throws(() => map.update(key, Uint8Array.of(5, 6, 7, 8)), SysError);
    assert.deepEqual([...map.lookup(key)!], [1, 2, 3, 4]);
  } finally {
    map.close();
  }
});
