/**
 * @fileoverview Which BPF map holds each aggregation, and the aggregations' layouts.
 *
 * Normally each aggregation has a map of its own: its key is the aggregation's key and nothing
 * more, the fastest update there is. But the kernel lets one program use at most 64 maps
 * (MAX_USED_MAPS), and every map costs a descriptor and kernel memory of its own; a program with
 * hundreds of aggregations (dtrace-utils' multiaggs tests have a thousand) must not need one map
 * each. When a program would go over either limit, aggregations of the same key and value sizes
 * share one map: a keyed one's key then starts with a tag word (its id, as dtrace-utils keys its
 * one aggregation map by id + key), a keyless one is an element of one array (its tag is the
 * index). The consumer finds both forms in the AggregationSpec (`map`, `tag`).
 */
import type { AggInfo, VType } from './infer.js';
import { intCType } from './lower/context.js';
import { SHARED_AGG_KEY_PREFIX_BYTES, type AggregationSpec, type FieldLayout, type MapSpecData } from '../program/spec.js';
import type { AggFn } from '../builtins/aggregations.js';

/**
 * At most this many aggregation maps in a program (over it, they share): each map is a file
 * descriptor and, per-CPU, a freelist and element memory on every CPU.
 */
export const MAX_AGGREGATION_MAPS = 256;

/** Where one aggregation lives. */
export interface AggPlacement {
  map: string;
  /** Present in a shared map: the key's first word (keyed) or the array index (keyless). */
  tag?: number;
}

/** The sizes an aggregation's map is made for. */
export interface AggSizes {
  aggKeySize(a: AggInfo): number;
  aggValueSize(a: AggInfo): number;
}

/** One map per aggregation, or (`share`) one per key and value size. */
export class AggMapPlan {
  private readonly placements = new Map<number, AggPlacement>();
  /** Shared maps: name → the aggregations in it, in id order. */
  private readonly groups = new Map<string, AggInfo[]>();

  constructor(aggs: readonly AggInfo[], readonly share: boolean, private readonly sizes: AggSizes) {
    for (const a of aggs) {
      if (!share) { this.placements.set(a.id, { map: `agg_${a.id}` }); continue; }
      const keyed = a.keys.length > 0;
      const map = keyed ? `aggs_k${sizes.aggKeySize(a)}_v${sizes.aggValueSize(a)}` : `aggs_v${sizes.aggValueSize(a)}`;
      const members = this.groups.get(map) ?? [];
      this.groups.set(map, members);
      this.placements.set(a.id, { map, tag: keyed ? a.id : members.length });
      members.push(a);
    }
  }

  placement(a: AggInfo): AggPlacement { return this.placements.get(a.id)!; }

  /**
   * The aggregation maps: `entriesPerKeyed` elements for each keyed aggregation (a shared map
   * holds those of all its members), one for a keyless one. A keyless aggregation's value ends
   * with an "updated" word: it exists (and prints, even when its data is zero or was cleared)
   * once anything has updated it.
   */
  maps(aggs: readonly AggInfo[], entriesPerKeyed: number): MapSpecData[] {
    const { aggKeySize, aggValueSize } = this.sizes;
    if (!this.share) {
      return aggs.map((a) => {
        const keyed = a.keys.length > 0;
        return { name: this.placement(a).map, type: keyed ? 'percpu_hash' : 'percpu_array', keySize: keyed ? aggKeySize(a) : 4,
          valueSize: aggValueSize(a) + (keyed ? 0 : 8), maxEntries: keyed ? entriesPerKeyed : 1 };
      });
    }
    return [...this.groups].map(([name, members]) => {
      const a = members[0]!;
      return a.keys.length > 0
        ? { name, type: 'percpu_hash', keySize: SHARED_AGG_KEY_PREFIX_BYTES + aggKeySize(a), valueSize: aggValueSize(a), maxEntries: entriesPerKeyed * members.length }
        : { name, type: 'percpu_array', keySize: 4, valueSize: aggValueSize(a) + 8, maxEntries: members.length };
    });
  }

  /** What the consumer needs to read each aggregation: its map and tag, its key fields, its parameters. */
  specs(aggs: readonly AggInfo[], strsize: number, slotSize: (t: VType) => number): AggregationSpec[] {
    return aggs.map((a) => {
      let off = 0;
      const keyFields: FieldLayout[] = a.keys.map((k) => {
        const f: FieldLayout = k.t === 'str'
          ? { offset: off, sizeBytes: k.max !== undefined ? Math.min(strsize, k.max - 1) : strsize, type: intCType(k), decode: 'string' }
          : k.t === 'obj' ? { offset: off, sizeBytes: k.size, type: k.ctype, decode: k.decode ?? 'bytes', ...(k.symbolForm ? { symbolForm: k.symbolForm } : {}), ...(k.jitStrsize !== undefined ? { jitStrsize: k.jitStrsize } : {}) }
            : { offset: off, sizeBytes: k.size, type: intCType(k), decode: 'int', signed: k.signed };
        off += slotSize(k);
        return f;
      });
      const p = a.params;
      const { map, tag } = this.placement(a);
      return {
        id: a.id, name: a.name, fn: a.fn as AggFn, map, ...(tag !== undefined ? { tag } : {}), keyFields,
        keySize: a.keys.length > 0 ? this.sizes.aggKeySize(a) : 4, valueSize: this.sizes.aggValueSize(a),
        params: a.fn === 'lquantize' ? { base: p[0], limit: p[1], step: p[2] ?? 1n } : a.fn === 'llquantize' ? { factor: p[0], lmag: p[1], hmag: p[2], steps: p[3] } : undefined,
      };
    });
  }
}
