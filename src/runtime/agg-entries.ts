/**
 * @fileoverview The entries of one aggregation in a map it shares with others
 * (codegen/agg-maps.ts): keys that start with its tag word, read as if the map were its own.
 */
import type { MapSnapshot } from '../bpf/map.js';
import { SHARED_AGG_KEY_PREFIX_BYTES } from '../program/spec.js';

/** Whether a shared map's key belongs to the aggregation with this tag. */
export function hasTag(key: Uint8Array, tag: number): boolean {
  return key.length >= SHARED_AGG_KEY_PREFIX_BYTES && (key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24)) >>> 0 === tag;
}

/** The shared map's key of an aggregation's key: the tag word, 4 zero bytes, the key. */
export function taggedKey(tag: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(SHARED_AGG_KEY_PREFIX_BYTES + key.length);
  new DataView(out.buffer).setUint32(0, tag, true);
  out.set(key, SHARED_AGG_KEY_PREFIX_BYTES);
  return out;
}

/** The entries of `snap` (a shared map's) whose key has this tag, with the tag taken off the keys. */
export function taggedEntries(snap: MapSnapshot, tag: number): MapSnapshot {
  const ks = snap.keySizeBytes;
  const vs = snap.valueSizeBytes;
  const kStride = snap.entryStrideBytes ?? ks;
  const vStride = snap.entryStrideBytes ?? vs;
  const keyView = new DataView(snap.keyBytes.buffer, snap.keyBytes.byteOffset, snap.keyBytes.byteLength);
  const picked: number[] = [];
  for (let i = 0; i < snap.count; i++) if (keyView.getUint32(i * kStride, true) === tag) picked.push(i);
  const inner = ks - SHARED_AGG_KEY_PREFIX_BYTES;
  const keyBytes = new Uint8Array(picked.length * inner);
  const valueBytes = new Uint8Array(picked.length * vs);
  picked.forEach((i, j) => {
    keyBytes.set(snap.keyBytes.subarray(i * kStride + SHARED_AGG_KEY_PREFIX_BYTES, i * kStride + ks), j * inner);
    valueBytes.set(snap.valueBytes.subarray(i * vStride, i * vStride + vs), j * vs);
  });
  return { count: picked.length, keySizeBytes: inner, valueSizeBytes: vs, keyBytes, valueBytes };
}
