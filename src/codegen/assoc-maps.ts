/**
 * @fileoverview Which BPF map holds each associative array (global `a[...]` and thread-local
 * `self->a[...]`).
 *
 * DTrace keeps every dynamic variable in one space, an element keyed by the variable's id and
 * its key tuple. Here the associative arrays share hash maps the same way: an element's key is
 * an 8-byte prefix — the variable's id (u32), then the thread id for a self-> array or 0 —
 * followed by the key tuple (ASSOC_KEY_PREFIX_BYTES + the tuple's slots). A BPF hash map has
 * one key size and one value size, so the arrays are grouped by (key size, value size): one map
 * per class. Padding every key to the widest one (one map per value size) would make an
 * int-keyed lookup hash and compare a string-sized key (jhash over 264+ bytes instead of 16 on
 * every access) and preallocate that much per element; the classes keep each element its own
 * size, and a program has few of them (key slots are 8-byte integers, strsize-sized strings or
 * structs), so the kernel's 64 maps per program are reached only by programs with that many
 * distinct key shapes. Such a program is compiled again with the keys padded (`padKeys`): one
 * map per value size, its key as long as its longest, the tail of a shorter tuple zeroed.
 * Thread-local scalars are in the `tvars` map (keyed by thread and id).
 */
import type { VarInfo, VType } from './infer.js';
import type { MapSpecData } from '../program/spec.js';

/** Bytes before the key tuple in an associative array's map key: u32 variable id, u32 thread id (0 for a global array). */
export const ASSOC_KEY_PREFIX_BYTES = 8;

/** The sizes an associative array's element is made of. */
export interface AssocSizes {
  slotSize(t: VType): number;
}

/** The associative arrays of a program placed in shared maps, one per key and value size (or per value size, keys padded). */
export class AssocMapPlan {
  /** Variable id → its map. */
  private readonly placements = new Map<number, string>();
  /** Map name → its key and value sizes. */
  private readonly classes = new Map<string, { keySize: number; valueSize: number }>();

  constructor(assocs: readonly VarInfo[], private readonly sizes: AssocSizes, readonly padKeys = false) {
    const longest = new Map<number, number>();
    for (const v of assocs) {
      const valueSize = sizes.slotSize(v.type);
      longest.set(valueSize, Math.max(longest.get(valueSize) ?? 0, this.tupleSize(v)));
    }
    for (const v of assocs) {
      const valueSize = sizes.slotSize(v.type);
      const keySize = ASSOC_KEY_PREFIX_BYTES + (padKeys ? longest.get(valueSize)! : this.tupleSize(v));
      const map = padKeys ? `assoc_v${valueSize}` : `assoc_k${keySize}_v${valueSize}`;
      this.classes.set(map, { keySize, valueSize });
      this.placements.set(v.id, map);
    }
  }

  /** Bytes of an array's key tuple (the slots of its key types), without the prefix. */
  tupleSize(v: VarInfo): number {
    return (v.keys ?? []).reduce((s, k) => s + this.sizes.slotSize(k), 0) || 8;
  }

  /** The map holding an array's elements. */
  map(v: VarInfo): string {
    const m = this.placements.get(v.id);
    if (m === undefined) throw new Error(`associative array ${v.name} has no map`);
    return m;
  }

  /** Bytes after the prefix in the keys of an array's map: its tuple, and zeros when padded to a longer one. */
  paddedTupleSize(v: VarInfo): number {
    return this.classes.get(this.map(v))!.keySize - ASSOC_KEY_PREFIX_BYTES;
  }

  /** How many maps the arrays take. */
  get mapCount(): number { return this.classes.size; }

  /** How many maps they would take with their keys padded (one per value size). */
  get paddedMapCount(): number { return new Set([...this.classes.values()].map((c) => c.valueSize)).size; }

  /**
   * The maps, `entries` elements each: all the arrays of a map draw on its elements, as all
   * dynamic variables draw on DTrace's one dynamic variable space.
   */
  maps(entries: number): MapSpecData[] {
    return [...this.classes].map(([name, c]) => ({ name, type: 'hash', keySize: c.keySize, valueSize: c.valueSize, maxEntries: entries }));
  }
}
