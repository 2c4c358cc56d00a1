#!/usr/bin/env node
// @fileoverview Micro-benchmark of exit-time aggregation printing without the kernel: a packed
// snapshot of N integer keys (as BPF_MAP_LOOKUP_BATCH returns it for a per-CPU hash) printed by
// consume/aggtable.ts and, for N ≤ GENERIC_MAX, by the generic format/aggregate.ts path.
// Usage: node scripts/build.mjs && node bench/aggtable.mjs [N=1000000] [CPUS=2]
import { printPackedScalarAggregation } from '../build/src/consume/aggtable.js';
import { formatAggregation } from '../build/src/consume/format/aggregate.js';

const n = Number(process.argv[2] ?? 1_000_000);
const cpus = Number(process.argv[3] ?? 2);
const keyBytes = new Uint8Array(n * 8);
const valueBytes = new Uint8Array(n * 8 * cpus);
const kv = new DataView(keyBytes.buffer);
const vv = new DataView(valueBytes.buffer);
// Keys in a scrambled order (hash-bucket order), values mostly 1 with some larger.
for (let i = 0; i < n; i++) {
  const key = (i * 2654435761) % n;
  kv.setBigInt64(i * 8, BigInt(key), true);
  vv.setBigInt64(i * 8 * cpus, BigInt(key % 97 === 0 ? key % 1000 : 1), true);
}
const desc = { id: 1, name: '', fn: 'count', keyTypes: [{ kind: 'int', sizeBytes: 8, signed: true }] };
const packed = { count: n, keySizeBytes: 8, valueSizeBytes: 8 * cpus, keyBytes, valueBytes };
let bytes = 0;
const t0 = performance.now();
printPackedScalarAggregation(desc, [{ offset: 0, sizeBytes: 8, decode: 'int' }], packed, 8, undefined, {}, (t) => { bytes += Buffer.byteLength(t, 'latin1'); });
const t1 = performance.now();
console.log(`aggtable: ${n} keys, ${(t1 - t0).toFixed(0)} ms, ${bytes} bytes, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
if (n <= Number(process.env.GENERIC_MAX ?? 200_000)) {
  const entries = [];
  for (let i = 0; i < n; i++) {
    let v = 0n;
    for (let c = 0; c < cpus; c++) v += vv.getBigInt64(i * 8 * cpus + c * 8, true);
    entries.push({ keys: [{ kind: 'int', value: kv.getBigInt64(i * 8, true), sizeBytes: 8, signed: true }], value: { kind: 'scalar', value: v } });
  }
  const t2 = performance.now();
  const text = formatAggregation({ desc, entries }, {});
  console.log(`generic: ${n} keys, ${(performance.now() - t2).toFixed(0)} ms, ${text.length} bytes`);
}
