/**
 * @fileoverview BPF maps: create, read, write, iterate and snapshot them (BPF_MAP_* commands).
 *
 * Speed matters for aggregations: a snapshot of a map with a million keys must be quick. Each
 * map keeps its own native attr/key/value buffers (allocated once, reused by every call), and
 * `snapshot()` reads the whole map with BPF_MAP_LOOKUP_BATCH in large chunks into packed byte
 * arrays (one copy, no per-entry object). Per-CPU values come back as the kernel lays them out:
 * one slot per *possible* CPU, each rounded up to 8 bytes (kernel/bpf/syscall.c,
 * bpf_map_value_size()).
 */
import { readFileSync } from 'node:fs';
import { allocNative, bpf, bpfTry, closeFd, freeNative, setU32Fields, setU64, sysError, type NativeMemory } from './sys.js';
import { BpfCmd, Errno, FdAttr, MapBatchAttr, MapCreateAttr, MapElemAttr, MapType, BPF_OBJ_NAME_LEN, type MapTypeName } from './uapi.js';

/** What to create; plain data (no kernel state), so codegen can produce it without root. */
export interface MapSpec {
  name: string;
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags (uapi MapFlag). */
  flags?: number;
  /** For array_of_maps / hash_of_maps: a map of the inner map's shape. */
  innerMapFd?: number;
  numaNode?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** map_extra (bloom filter hash count, arena address). */
  mapExtra?: bigint;
}

/**
 * A whole-map copy: entry i's key is keyBytes[i*keySizeBytes …], value valueBytes[i*valueSizeBytes …]
 * — or, with entryStrideBytes, keyBytes[i*entryStrideBytes …] and valueBytes[i*entryStrideBytes …].
 */
export interface MapSnapshot {
  count: number;
  keySizeBytes: number;
  /** For per-CPU maps: valueStrideBytes × number of possible CPUs. */
  valueSizeBytes: number;
  keyBytes: Uint8Array;
  valueBytes: Uint8Array;
  /**
   * Set when keys and values are interleaved (a map iterator's records): two views over one
   * buffer, entry i's key and value both at i × this from their view's start.
   */
  entryStrideBytes?: number;
}

/** What BpfMap.scan hands each chunk to: returning false stops the read. */
export type MapChunkVisitor = (chunk: MapSnapshot, last: boolean) => boolean | void;

export interface BpfMap {
  readonly fd: number;
  readonly spec: MapSpec;
  readonly perCpu: boolean;
  /** Bytes per CPU slot in a per-CPU value (valueSize rounded up to 8); valueSize otherwise. */
  readonly valueStrideBytes: number;
  /** Bytes of a value as lookup() returns it (all CPUs for per-CPU maps). */
  readonly valueBufferSizeBytes: number;
  /** A copy of the value, or undefined when the key is absent. Per-CPU: all CPUs' slots. */
  lookup(key: Uint8Array): Uint8Array | undefined;
  /** Like lookup, but returns a view of the map's internal buffer, valid until the next call. */
  lookupView(key: Uint8Array): Uint8Array | undefined;
  /** Per-CPU maps: one value per possible CPU (each valueSize bytes). */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined;
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Returns false when the key was absent. */
  delete(key: Uint8Array): boolean;
  /** The key after `key` (or the first key when undefined); undefined at the end. */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined;
  keys(): IterableIterator<Uint8Array>;
  /** The whole map as packed bytes (BPF_MAP_LOOKUP_BATCH, falling back to iteration). */
  snapshot(): MapSnapshot;
  /**
   * The whole map chunk by chunk, each handed to `visit` as packed bytes valid during the call
   * only (batch reads into buffers reused from chunk to chunk: no copy of the whole map).
   * `last` says no chunk follows; `visit` returning false stops the read.
   */
  scan(visit: MapChunkVisitor): void;
  /** The whole map as arrays of per-entry views over one snapshot. */
  lookupBatch(): { keys: Uint8Array[]; values: Uint8Array[] };
  /** Deletes every key (DTrace's clear()/trunc() of a whole aggregation). Returns how many. */
  clear(): number;
  freeze(): void;
  close(): void;
}

const PER_CPU_TYPES: ReadonlySet<MapTypeName> = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
/** Map types whose elements cannot be read from user space with LOOKUP_ELEM. */
const NO_LOOKUP_TYPES: ReadonlySet<MapTypeName> = new Set(['ringbuf', 'user_ringbuf', 'perf_event_array']);

let possibleCache: number[] | undefined;
let onlineCache: number[] | undefined;

/** Parses a kernel CPU list ("0-3,5,7-8") into CPU ids. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [lo, hi] = part.split('-').map((s) => Number.parseInt(s, 10));
    if (Number.isNaN(lo)) throw new Error(`bad CPU list: ${JSON.stringify(text)}`);
    for (let cpu = lo; cpu <= (hi ?? lo); cpu++) out.push(cpu);
  }
  return out;
}

/** CPU ids the kernel could ever bring up; per-CPU map values have one slot per entry here. */
export function possibleCpus(): number[] {
  return (possibleCache ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8')));
}

/** CPU ids online now (re-read each call: CPUs can be hot-plugged). */
export function onlineCpus(): number[] {
  try {
    return (onlineCache = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8')));
  } catch {
    return onlineCache ?? possibleCpus();
  }
}

/** Keeps the characters the kernel accepts in object names ([A-Za-z0-9_.]), at most 15. */
export function sanitizeObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, BPF_OBJ_NAME_LEN - 1);
}

/** Writes an object's name (map_name, prog_name) into an attr at `offset`, sanitized. */
export function setObjectName(attr: Uint8Array, offset: number, name: string): void {
  attr.set(Buffer.from(sanitizeObjectName(name), 'latin1'), offset);
}

/** Bytes of a value in user space for `spec` (per-CPU: slot per possible CPU). */
export function valueBufferSize(spec: Pick<MapSpec, 'type' | 'valueSize'>): number {
  return PER_CPU_TYPES.has(spec.type) ? roundUp8(spec.valueSize) * possibleCpus().length : spec.valueSize;
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Hash maps stay preallocated (no BPF_F_NO_PREALLOC by default), although creating them costs
 * start-up time in proportion to max_entries (-x aggsize=64m: ~3 s here). Measured with
 * NO_PREALLOC on a per-CPU hash: the first update of each key went from ~0.9 µs to ~30 µs
 * (per-CPU allocation through bpf_mem_alloc) and a burst of new keys lost updates when the
 * allocator's per-CPU cache ran dry — drops a preallocated map never has. See BENCHMARKS.md.
 */
/** Creates a map (BPF_MAP_CREATE). Throws SysError naming the map. */
export function createMap(spec: MapSpec): BpfMap {
  const attr = allocNative(MapCreateAttr.sizeBytes);
  let fd: number;
  try {
    const v = attr.view;
    setU32Fields(v, MapCreateAttr, {
      map_type: MapType[spec.type], key_size: spec.keySize, value_size: spec.valueSize, max_entries: spec.maxEntries,
      map_flags: spec.flags, inner_map_fd: spec.innerMapFd, numa_node: spec.numaNode,
      btf_fd: spec.btfFd, btf_key_type_id: spec.btfKeyTypeId, btf_value_type_id: spec.btfValueTypeId,
    });
    setObjectName(attr.bytes, MapCreateAttr.map_name, spec.name);
    if (spec.mapExtra !== undefined) setU64(v, MapCreateAttr.map_extra, spec.mapExtra);
    fd = bpf(BpfCmd.MAP_CREATE, attr, MapCreateAttr.sizeBytes,
      `create map ${spec.name} (${spec.type}, key ${spec.keySize} B, value ${spec.valueSize} B, ${spec.maxEntries} entries)`);
  } finally {
    freeNative(attr);
  }
  return openMap(fd, spec);
}

/** BPF_MAP_FREEZE with an attr of its own: the command takes map_fd only, and stale key/value fields are EINVAL. */
function freezeMapFd(fd: number, name: string): void {
  const attr = allocNative(FdAttr.sizeBytes);
  try {
    attr.view.setUint32(FdAttr.fd, fd, true);
    const r = bpfTry(BpfCmd.MAP_FREEZE, attr.address, FdAttr.sizeBytes);
    if (r < 0) throw sysError('BPF_MAP_FREEZE', -r, `freeze map ${name}`);
  } finally {
    freeNative(attr);
  }
}

/** Wraps an existing map fd (e.g. one created elsewhere) whose shape is `spec`. Takes ownership. */
/** Buffers kept between batch reads of one map (grown when a hash bucket outgrows them). */
interface BatchState {
  buffers?: BatchBuffers;
}

/**
 * The whole map read with BPF_MAP_LOOKUP_BATCH, chunk by chunk into the same buffers, each
 * chunk handed to `visit` (its bytes are valid during the call only); false, nothing visited,
 * when the kernel does not offer batch reads for this map.
 */
function readByBatch(fd: number, spec: MapSpec, keySize: number, valueBufferSizeBytes: number, state: BatchState, visit: MapChunkVisitor): boolean {
  let b = (state.buffers ??= allocBatchBuffers(spec, keySize, valueBufferSizeBytes));
  let first = true;
  for (;;) {
    const v = b.attr.view;
    b.attr.bytes.fill(0);
    setU64(v, MapBatchAttr.in_batch, first ? 0 : b.inToken.address);
    setU64(v, MapBatchAttr.out_batch, b.outToken.address);
    setU64(v, MapBatchAttr.keys, b.keys.address);
    setU64(v, MapBatchAttr.values, b.values.address);
    v.setUint32(MapBatchAttr.count, b.capacity, true);
    v.setUint32(MapBatchAttr.map_fd, fd, true);
    const r = bpfTry(BpfCmd.MAP_LOOKUP_BATCH, b.attr.address, MapBatchAttr.sizeBytes);
    const count = v.getUint32(MapBatchAttr.count, true);
    if (r < 0 && r !== -Errno.ENOENT) {
      if (first && (r === -Errno.EINVAL || r === -Errno.ENOTSUPP || r === -Errno.EOPNOTSUPP)) return false;
      if (r === -Errno.ENOSPC) {
        // A hash bucket holds more entries than one chunk (the kernel then returns none): grow
        // the chunk and ask again from the same position.
        const grown = allocBatchBuffers(spec, keySize, valueBufferSizeBytes, b.capacity * 4);
        grown.inToken.bytes.set(b.inToken.bytes);
        freeBatchBuffers(b);
        b = state.buffers = grown;
        continue;
      }
      throw sysError('BPF_MAP_LOOKUP_BATCH', -r, `read map ${spec.name}`);
    }
    // The last chunk arrives together with ENOENT.
    if (count > 0) {
      const more = visit({ count, keySizeBytes: keySize, valueSizeBytes: valueBufferSizeBytes,
        keyBytes: b.keys.bytes.subarray(0, count * keySize), valueBytes: b.values.bytes.subarray(0, count * valueBufferSizeBytes) }, r === -Errno.ENOENT);
      if (more === false) return true;
    }
    if (r === -Errno.ENOENT) return true;
    b.inToken.bytes.set(b.outToken.bytes);
    first = false;
  }
}

export function openMap(fd: number, spec: MapSpec): BpfMap {
  const perCpu = PER_CPU_TYPES.has(spec.type);
  const valueStrideBytes = perCpu ? roundUp8(spec.valueSize) : spec.valueSize;
  const valueBufferSizeBytes = perCpu ? valueStrideBytes * possibleCpus().length : spec.valueSize;
  const keySize = spec.keySize;

  // One native block for the elem attr, a key, a second key (next_key) and a value.
  const keyOffset = MapElemAttr.sizeBytes;
  const nextKeyOffset = keyOffset + roundUp8(Math.max(keySize, 1));
  const valueOffset = nextKeyOffset + roundUp8(Math.max(keySize, 1));
  const scratch = allocNative(valueOffset + Math.max(valueBufferSizeBytes, 8));
  const sv = scratch.view;
  sv.setUint32(MapElemAttr.map_fd, fd, true);
  const keyAddress = scratch.address + keyOffset;
  const nextKeyAddress = scratch.address + nextKeyOffset;
  const valueAddress = scratch.address + valueOffset;
  const keyBytes = scratch.bytes.subarray(keyOffset, keyOffset + keySize);
  const nextKeyBytes = scratch.bytes.subarray(nextKeyOffset, nextKeyOffset + keySize);
  const valueBytes = scratch.bytes.subarray(valueOffset, valueOffset + valueBufferSizeBytes);
  let closed = false;
  let batchUnsupported = false;
  const batch: BatchState = {};

  function live(what: string): void {
    if (closed) throw new Error(`${what} map ${spec.name}: the map is closed`);
  }
  function putKey(key: Uint8Array): void {
    if (key.length !== keySize) throw new RangeError(`map ${spec.name}: key is ${key.length} bytes, expected ${keySize}`);
    keyBytes.set(key);
  }
  function elemCall(cmd: number, key: number, value: number, flags: number): number {
    setU64(sv, MapElemAttr.key, key);
    setU64(sv, MapElemAttr.value, value);
    setU64(sv, MapElemAttr.flags, flags);
    return bpfTry(cmd, scratch.address, MapElemAttr.sizeBytes);
  }
  function lookupView(key: Uint8Array): Uint8Array | undefined {
    live('look up in');
    putKey(key);
    const r = elemCall(BpfCmd.MAP_LOOKUP_ELEM, keyAddress, valueAddress, 0);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw sysError('BPF_MAP_LOOKUP_ELEM', -r, `look up a key in map ${spec.name}`);
    return valueBytes;
  }
  function nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    live('iterate');
    if (key) putKey(key);
    const r = elemCall(BpfCmd.MAP_GET_NEXT_KEY, key ? keyAddress : 0, nextKeyAddress, 0);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw sysError('BPF_MAP_GET_NEXT_KEY', -r, `iterate map ${spec.name}`);
    return nextKeyBytes.slice();
  }

  function snapshotByIteration(): MapSnapshot {
    const keysOut = createAccumulator(keySize);
    const valuesOut = createAccumulator(valueBufferSizeBytes);
    let key: Uint8Array | undefined;
    while ((key = nextKey(key)) !== undefined) {
      const value = lookupView(key);
      if (!value) continue; // deleted between the two calls
      keysOut.push(key);
      valuesOut.push(value);
    }
    return { count: keysOut.count, keySizeBytes: keySize, valueSizeBytes: valueBufferSizeBytes, keyBytes: keysOut.bytes(), valueBytes: valuesOut.bytes() };
  }

  function scan(visit: MapChunkVisitor): void {
    live('read');
    if (NO_LOOKUP_TYPES.has(spec.type)) throw new Error(`map ${spec.name}: a ${spec.type} map cannot be read by key`);
    if (!batchUnsupported) {
      if (readByBatch(fd, spec, keySize, valueBufferSizeBytes, batch, visit)) return;
      batchUnsupported = true;
    }
    const s = snapshotByIteration();
    if (s.count > 0) visit(s, true);
  }

  const map: BpfMap = {
    fd,
    spec,
    perCpu,
    valueStrideBytes,
    valueBufferSizeBytes,
    lookup(key) {
      return lookupView(key)?.slice();
    },
    lookupView,
    lookupPerCpu(key) {
      const all = lookupView(key);
      if (!all) return undefined;
      if (!perCpu) return [all.slice()];
      const out: Uint8Array[] = [];
      for (let at = 0; at < valueBufferSizeBytes; at += valueStrideBytes) out.push(all.slice(at, at + spec.valueSize));
      return out;
    },
    update(key, value, flags = 0) {
      live('update');
      putKey(key);
      if (value.length !== valueBufferSizeBytes) {
        // A per-CPU map also accepts one value, replicated to every CPU slot.
        if (!(perCpu && value.length === spec.valueSize)) {
          throw new RangeError(`map ${spec.name}: value is ${value.length} bytes, expected ${valueBufferSizeBytes}`);
        }
        valueBytes.fill(0);
        for (let at = 0; at < valueBufferSizeBytes; at += valueStrideBytes) valueBytes.set(value, at);
      } else {
        valueBytes.set(value);
      }
      const r = elemCall(BpfCmd.MAP_UPDATE_ELEM, keyAddress, valueAddress, flags);
      if (r < 0) throw sysError('BPF_MAP_UPDATE_ELEM', -r, `update map ${spec.name}`);
    },
    delete(key) {
      live('delete from');
      putKey(key);
      const r = elemCall(BpfCmd.MAP_DELETE_ELEM, keyAddress, 0, 0);
      if (r === -Errno.ENOENT) return false;
      if (r < 0) throw sysError('BPF_MAP_DELETE_ELEM', -r, `delete a key from map ${spec.name}`);
      return true;
    },
    nextKey,
    *keys() {
      let key: Uint8Array | undefined;
      while ((key = nextKey(key)) !== undefined) yield key;
    },
    scan,
    snapshot() {
      const chunks: MapSnapshot[] = [];
      let count = 0;
      // Copies of the chunks, joined once their total is known.
      scan((c) => { chunks.push({ ...c, keyBytes: c.keyBytes.slice(), valueBytes: c.valueBytes.slice() }); count += c.count; });
      if (chunks.length === 1) return chunks[0]!;
      const keyBytes = new Uint8Array(count * keySize);
      const valueBytes = new Uint8Array(count * valueBufferSizeBytes);
      let at = 0;
      for (const c of chunks) {
        keyBytes.set(c.keyBytes, at * keySize);
        valueBytes.set(c.valueBytes, at * valueBufferSizeBytes);
        at += c.count;
      }
      return { count, keySizeBytes: keySize, valueSizeBytes: valueBufferSizeBytes, keyBytes, valueBytes };
    },
    lookupBatch() {
      const s = map.snapshot();
      const keys: Uint8Array[] = [];
      const values: Uint8Array[] = [];
      for (let i = 0; i < s.count; i++) {
        keys.push(s.keyBytes.subarray(i * s.keySizeBytes, (i + 1) * s.keySizeBytes));
        values.push(s.valueBytes.subarray(i * s.valueSizeBytes, (i + 1) * s.valueSizeBytes));
      }
      return { keys, values };
    },
    clear() {
      live('clear');
      if (spec.type === 'array' || spec.type === 'percpu_array') {
        // Array elements cannot be deleted: zero them instead.
        const zero = new Uint8Array(valueBufferSizeBytes);
        const key = new Uint8Array(4);
        const dv = new DataView(key.buffer);
        for (let i = 0; i < spec.maxEntries; i++) { dv.setUint32(0, i, true); map.update(key, zero); }
        return spec.maxEntries;
      }
      let deleted = 0;
      // Collect first: deleting while walking with GET_NEXT_KEY restarts hash walks.
      for (const key of [...map.keys()]) if (map.delete(key)) deleted++;
      return deleted;
    },
    freeze() {
      live('freeze');
      freezeMapFd(fd, spec.name);
    },
    close() {
      if (closed) return;
      closed = true;
      closeFd(fd);
      freeNative(scratch);
      if (batch.buffers) freeBatchBuffers(batch.buffers);
    },
  };
  return map;
}

interface BatchBuffers {
  capacity: number;
  attr: NativeMemory;
  inToken: NativeMemory;
  outToken: NativeMemory;
  keys: NativeMemory;
  values: NativeMemory;
}

/**
 * Chunk capacity: the whole map when it is small, else about 1 MiB of keys+values per call (at
 * least 256 entries). Fresh memory is what a large read costs most (a first touch of a page is
 * a fault, and a slow one in some virtual machines); a chunk this size is a few hundred pages,
 * reused by every call.
 */
function allocBatchBuffers(spec: MapSpec, keySize: number, valueSize: number, capacity?: number): BatchBuffers {
  const perEntry = keySize + valueSize;
  const cap = capacity ?? Math.max(1, Math.min(spec.maxEntries, Math.max(256, Math.floor((1 << 20) / Math.max(perEntry, 1)))));
  // The batch token is a bucket index (u32) for hash maps and a key for arrays.
  const tokenSize = Math.max(keySize, 8);
  return {
    capacity: cap,
    attr: allocNative(MapBatchAttr.sizeBytes),
    inToken: allocNative(tokenSize),
    outToken: allocNative(tokenSize),
    keys: allocNative(cap * keySize),
    values: allocNative(cap * valueSize),
  };
}

function freeBatchBuffers(b: BatchBuffers): void {
  for (const m of [b.attr, b.inToken, b.outToken, b.keys, b.values]) freeNative(m);
}

/** Fixed-record byte accumulator that doubles its capacity (one copy per chunk, none per entry). */
interface RecordAccumulator {
  readonly count: number;
  push(record: Uint8Array): void;
  pushPacked(records: Uint8Array, count: number): void;
  bytes(): Uint8Array;
}

function createAccumulator(recordSizeBytes: number): RecordAccumulator {
  let buffer = new Uint8Array(0);
  let count = 0;
  function reserve(records: number): void {
    const need = (count + records) * recordSizeBytes;
    if (need <= buffer.length) return;
    const next = new Uint8Array(Math.max(need, buffer.length * 2, 64 * recordSizeBytes));
    next.set(buffer.subarray(0, count * recordSizeBytes));
    buffer = next;
  }
  return {
    get count() { return count; },
    push(record) {
      reserve(1);
      buffer.set(record.subarray(0, recordSizeBytes), count * recordSizeBytes);
      count++;
    },
    pushPacked(records, n) {
      if (n === 0) return;
      reserve(n);
      buffer.set(records.subarray(0, n * recordSizeBytes), count * recordSizeBytes);
      count += n;
    },
    bytes() { return buffer.subarray(0, count * recordSizeBytes); },
  };
}

/** Creates an outer map (array_of_maps/hash_of_maps) from a spec and a template inner map. */
export function createMapOfMaps(spec: Omit<MapSpec, 'innerMapFd'>, inner: BpfMap): BpfMap {
  return createMap({ ...spec, innerMapFd: inner.fd });
}
