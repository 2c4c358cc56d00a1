/**
 * @fileoverview The consumer's side of aggregations: reading the per-CPU maps into snapshots
 * (merged across CPUs), printing them at exit, clear()/trunc()/normalize(), and the aggrate
 * snapshot printa() shows.
 */
import type { BpfMap, MapSnapshot } from '../bpf/map.js';
import { scanMap } from '../bpf/map-iter.js';
import { printPackedScalarAggregation } from '../consume/aggtable.js';
import type { AggregationSpec, CompiledProgram, FieldLayout } from '../program/spec.js';
import type { Value, AggSnapshot, AggEntry, AggValue, KeyType, AggDesc, AggSortOptions } from '../consume/format/values.js';
import { decodeField } from '../consume/record.js';
import { AGGREGATING_FUNCTIONS } from '../builtins/aggregations.js';
import { formatAggregation, truncEntries } from '../consume/format/aggregate.js';
import { hasTag, taggedEntries, taggedKey } from './agg-entries.js';

/** A keyless aggregation's element: 0 in its own array, its tag in a shared one. */
function keylessKey(a: AggregationSpec): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, a.tag ?? 0, true);
  return key;
}

export class AggregationTable {
  /** normalize() factors, by aggregation id. */
  readonly normalizeBy = new Map<number, bigint>();
  /** Aggregations printed by printa(): not printed again at exit. */
  readonly printed = new Set<number>();
  readonly byId: Map<number, AggregationSpec>;
  /** With aggrate: the last snapshot of each aggregation, and when it was taken. */
  private readonly snaps = new Map<number, AggSnapshot>();
  private lastSnapMs = -Infinity;

  constructor(
    private readonly compiled: CompiledProgram,
    private readonly maps: Map<string, BpfMap>,
    private readonly ncpu: number,
    private readonly aggrateMs: number | undefined,
    /** Shared with the caller: setopt() of an aggsort option changes it in place. */
    readonly sortOpts: AggSortOptions,
  ) {
    this.byId = new Map(compiled.aggregations.map((a) => [a.id, a]));
  }

  private decode(view: DataView, base: number, f: FieldLayout): Value { return decodeField(view, base, f, this.compiled.strsize); }

  desc(a: AggregationSpec): AggDesc {
    const keyTypes: KeyType[] = a.keyFields.map((k): KeyType => (k.decode === 'string' ? { kind: 'string' }
      : k.decode === 'stack' || k.decode === 'ustack' ? { kind: 'stack' }
        : k.decode === 'symbol' || k.decode === 'usymbol' ? { kind: 'symbol' }
          : k.decode === 'bytes' ? { kind: 'bytes', sizeBytes: k.sizeBytes }
            : { kind: 'int', sizeBytes: k.sizeBytes as 1 | 2 | 4 | 8, signed: !!k.signed }));
    return { id: a.id, name: a.name, fn: a.fn, keyTypes, params: a.params };
  }

  /** Several entries' per-CPU values merged into one, as if each were more CPUs of one entry. */
  private mergeValues(a: AggregationSpec, values: readonly Uint8Array[], stride: number): AggValue {
    const cpus: DataView[] = [];
    for (const bytes of values) {
      for (let c = 0; c < this.ncpu; c++) {
        const o = c * stride;
        if (o + a.valueSize > bytes.byteLength) break;
        cpus.push(new DataView(bytes.buffer, bytes.byteOffset + o, a.valueSize));
      }
    }
    return AGGREGATING_FUNCTIONS[a.fn].merge(cpus);
  }

  private mergeValue(a: AggregationSpec, bytes: Uint8Array, stride: number): AggValue {
    const cpus: DataView[] = [];
    for (let c = 0; c < this.ncpu; c++) {
      const o = c * stride;
      if (o + a.valueSize > bytes.byteLength) break;
      cpus.push(new DataView(bytes.buffer, bytes.byteOffset + o, a.valueSize));
    }
    return AGGREGATING_FUNCTIONS[a.fn].merge(cpus);
  }

  /** A keyed aggregation's entries as packed bytes, its own keys only (a shared map holds others'). */
  private entriesOf(a: AggregationSpec): MapSnapshot {
    const snap = this.maps.get(a.map)!.snapshot();
    return a.tag === undefined ? snap : taggedEntries(snap, a.tag);
  }

  /** The map keys of a keyed aggregation's entries (with its tag in a shared map). */
  private mapKeys(a: AggregationSpec): Uint8Array[] {
    const keys = [...this.maps.get(a.map)!.keys()];
    return a.tag === undefined ? keys : keys.filter((k) => hasTag(k, a.tag!));
  }

  /** The aggregation as it is now in the kernel, merged across CPUs. */
  snapshot(a: AggregationSpec, packed?: MapSnapshot): AggSnapshot {
    const map = this.maps.get(a.map)!;
    const desc = this.desc(a);
    const entries: AggEntry[] = [];
    const stride = map.valueStrideBytes;
    if (a.keyFields.length === 0) {
      // Present once updated on any CPU (the word after the data), even if its data is zero.
      const v = map.lookup(keylessKey(a));
      let updated = false;
      if (v) for (let c = 0; c < this.ncpu && !updated; c++) { const o = c * stride + a.valueSize; if (o + 8 <= v.length && v.subarray(o, o + 8).some((b) => b !== 0)) updated = true; }
      if (v && updated) entries.push({ keys: [], value: this.mergeValue(a, v, stride) });
    } else {
      const snap = packed ?? this.entriesOf(a);
      // Symbol keys (sym, func, mod, usym, ufunc, umod) record the address; entries whose
      // addresses name the same symbol are one entry, as libdtrace folds them
      // (dt_aggregate_sym/usym/mod). trunc() works on the map's own entries (`packed`).
      const bySymbol = packed === undefined && a.keyFields.some(foldsSymbol) ? new Map<string, AggEntry & { bytes: Uint8Array[] }>() : undefined;
      for (let i = 0; i < snap.count; i++) {
        const key = new DataView(snap.keyBytes.buffer, snap.keyBytes.byteOffset + i * snap.keySizeBytes, snap.keySizeBytes);
        const keys = a.keyFields.map((f) => this.decode(key, 0, f));
        const value = snap.valueBytes.subarray(i * snap.valueSizeBytes, (i + 1) * snap.valueSizeBytes);
        if (!bySymbol) { entries.push({ keys, value: this.mergeValue(a, value, stride) }); continue; }
        const id = foldedKeyId(keys);
        const same = bySymbol.get(id);
        if (same) same.bytes.push(value); else bySymbol.set(id, { keys, value: this.mergeValue(a, value, stride), bytes: [value] });
      }
      for (const e of bySymbol?.values() ?? []) {
        entries.push({ keys: e.keys, value: e.bytes.length === 1 ? e.value : this.mergeValues(a, e.bytes, stride) });
      }
    }
    return { desc, entries, normalize: this.normalizeBy.get(a.id) };
  }

  /** Exit-time printing of one aggregation: large integer-keyed ones without per-entry objects. */
  printAtExit(a: AggregationSpec, write: (text: string) => void, writeBytes?: (bytes: Uint8Array) => void): void {
    if (a.keyFields.length > 0) {
      // The common large case is read chunk by chunk into columns, never copied whole.
      const map = this.maps.get(a.map)!;
      const tag = a.tag;
      const entries = {
        capacity: map.spec.maxEntries,
        // Through a map iterator where the kernel has one (no hash-bucket locks; bpf/map-iter.ts).
        scan: (visit: (chunk: MapSnapshot) => void) => { scanMap(map, tag === undefined ? visit : (c) => visit(taggedEntries(c, tag))); },
      };
      if (printPackedScalarAggregation(this.desc(a), a.keyFields, entries, map.valueStrideBytes, this.normalizeBy.get(a.id), this.sortOpts, write, writeBytes)) return;
    }
    const snap = this.snapshot(a);
    if (snap.entries.length) write(formatAggregation(snap, this.sortOpts));
  }

  /** clear(): every entry's data zeroed, the entries kept. */
  zero(a: AggregationSpec): void {
    const map = this.maps.get(a.map)!;
    const zero = new Uint8Array(map.valueBufferSizeBytes);
    if (a.keyFields.length === 0) {
      // clear() zeroes the data but the aggregation still exists: keep the updated words.
      const key = keylessKey(a);
      const cur = map.lookup(key);
      if (cur) for (let c = 0; c * map.valueStrideBytes < cur.length; c++) zero.set(cur.subarray(c * map.valueStrideBytes + a.valueSize, c * map.valueStrideBytes + a.valueSize + 8), c * map.valueStrideBytes + a.valueSize);
      map.update(key, zero);
    } else {
      for (const k of this.mapKeys(a)) map.update(k, zero);
    }
    this.resnap(a);
  }

  /** trunc(@, n): keeps the top n (bottom |n|) entries; none without n. */
  trunc(a: AggregationSpec, n: bigint | undefined): void {
    this.truncMap(a, n);
    this.resnap(a);
  }

  private truncMap(a: AggregationSpec, n: bigint | undefined): void {
    const map = this.maps.get(a.map)!;
    if (n === undefined || n === 0n || a.keyFields.length === 0) {
      if (a.keyFields.length === 0) map.update(keylessKey(a), new Uint8Array(map.valueBufferSizeBytes));
      else if (a.tag === undefined) map.clear();
      else for (const k of this.mapKeys(a)) map.delete(k);
      return;
    }
    // Keep the top n (bottom |n|) entries as DTrace's value walk ranks them (histograms by
    // their weighted totals, ties by key): the same order the consumer prints.
    const packed = this.entriesOf(a);
    const snap = this.snapshot(a, packed);
    const kept = new Set(truncEntries(snap, n).entries);
    snap.entries.forEach((e, i) => {
      if (kept.has(e)) return;
      const key = packed.keyBytes.slice(i * packed.keySizeBytes, (i + 1) * packed.keySizeBytes);
      map.delete(a.tag === undefined ? key : taggedKey(a.tag, key));
    });
  }

  /**
   * With aggrate, printa() shows the consumer's last snapshot (dt_aggregate_snap), taken at
   * most once per period — here on printa() and on the switchrate timer. clear()/trunc()
   * update the snapshot of what they change.
   */
  snapIfDue(): void {
    const rate = this.aggrateMs ?? 0;
    if (rate <= 0) return;
    const now = performance.now();
    if (now - this.lastSnapMs < rate) return;
    this.lastSnapMs = now;
    for (const a of this.compiled.aggregations) this.snaps.set(a.id, this.snapshot(a));
  }

  /** What printa() shows of an aggregation. */
  view(a: AggregationSpec): AggSnapshot {
    if (!(this.aggrateMs && this.aggrateMs > 0)) return this.snapshot(a);
    this.snapIfDue();
    return this.snaps.get(a.id) ?? this.snapshot(a);
  }

  private resnap(a: AggregationSpec): void { if (this.snaps.has(a.id)) this.snaps.set(a.id, this.snapshot(a)); }
}

/** A key field whose addresses fold to their symbol or module (all symbol forms but uaddr). */
function foldsSymbol(f: FieldLayout): boolean {
  return (f.decode === 'symbol' || f.decode === 'usymbol') && f.symbolForm !== 'uaddr';
}

/** Equal for key tuples that print the same symbols (a symbol key by its process and text). */
function foldedKeyId(keys: readonly Value[]): string {
  return JSON.stringify(keys, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return Array.from(v);
    if (v && typeof v === 'object' && (v as Value).kind === 'symbol') { const sym = v as Extract<Value, { kind: 'symbol' }>; return { pid: sym.pid === undefined ? undefined : `${sym.pid}`, text: sym.text }; }
    return v;
  });
}
