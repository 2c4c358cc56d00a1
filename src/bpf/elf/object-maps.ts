/**
 * @fileoverview Map definitions of a BPF object: BTF-defined maps in `.maps` (the
 * `__uint(type, …)`, `__type(key, …)`, `__array(values, …)` members of an anonymous struct, as
 * libbpf's bpf_helpers.h declares them) and the legacy `maps` section of `struct bpf_map_def`.
 */
import type { Btf, TypeId } from '../btf/index.js';
import { MapType, type MapTypeName } from '../uapi.js';
import type { ElfSymbol } from './elf.js';

export interface MapDefinition {
  name: string;
  type: MapTypeName;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  numaNode: number;
  mapExtra: bigint;
  pinning: number;
  keyTypeId: TypeId | undefined;
  valueTypeId: TypeId | undefined;
  /** For map-in-map: the inner map's definition (from `__array(values, struct {...})`). */
  inner: MapDefinition | undefined;
  /** Offset of the `values` member inside the map's definition (static initialisers), if any. */
  valuesOffsetBytes: number | undefined;
  /** Offset of the definition inside `.maps` / `maps`. */
  sectionOffsetBytes: number;
}

const MAP_TYPE_NAMES = new Map<number, MapTypeName>(
  Object.entries(MapType).filter(([k]) => k !== 'unspec').map(([k, v]) => [v, k as MapTypeName]),
);

export class MapDefinitionError extends Error {
  constructor(readonly path: string, readonly mapName: string, readonly reason: string) {
    super(`${path}: map '${mapName}': ${reason}`);
    this.name = 'MapDefinitionError';
  }
}

function mapTypeName(n: number, path: string, mapName: string): MapTypeName {
  const t = MAP_TYPE_NAMES.get(n);
  if (!t) throw new MapDefinitionError(path, mapName, `unknown map type ${n}`);
  return t;
}

/** `__uint(name, N)` is `int (*name)[N]`: the number is the array's length. */
function uintMember(btf: Btf, typeId: TypeId): number | undefined {
  const p = btf.typeById(btf.resolve(typeId));
  if (p.kind !== 'ptr') return undefined;
  const a = btf.typeById(btf.resolve(p.type));
  return a.kind === 'array' ? a.nelems : undefined;
}

/** `__type(name, T)` is `T *name`. */
function pointee(btf: Btf, typeId: TypeId): TypeId | undefined {
  const p = btf.typeById(btf.resolve(typeId));
  return p.kind === 'ptr' ? p.type : undefined;
}

function parseDefinition(btf: Btf, name: string, defTypeId: TypeId, path: string, sectionOffsetBytes: number): MapDefinition {
  const def = btf.typeById(btf.resolve(defTypeId));
  if (def.kind !== 'struct') throw new MapDefinitionError(path, name, 'definition is not a struct');
  const out: MapDefinition = {
    name, type: 'hash', keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, numaNode: 0, mapExtra: 0n, pinning: 0,
    keyTypeId: undefined, valueTypeId: undefined, inner: undefined, valuesOffsetBytes: undefined, sectionOffsetBytes,
  };
  let typeSeen = false;
  for (const m of def.members) {
    const num = (): number => {
      const v = uintMember(btf, m.type);
      if (v === undefined) throw new MapDefinitionError(path, name, `member '${m.name}' is not __uint(${m.name}, N)`);
      return v;
    };
    const typed = (): TypeId => {
      const v = pointee(btf, m.type);
      if (v === undefined) throw new MapDefinitionError(path, name, `member '${m.name}' is not __type(${m.name}, T)`);
      return v;
    };
    switch (m.name) {
      case 'type': out.type = mapTypeName(num(), path, name); typeSeen = true; break;
      case 'max_entries': out.maxEntries = num(); break;
      case 'map_flags': out.flags = num(); break;
      case 'numa_node': out.numaNode = num(); break;
      case 'pinning': out.pinning = num(); break;
      case 'map_extra': out.mapExtra = BigInt(num()); break;
      case 'key_size': out.keySize = num(); break;
      case 'value_size': out.valueSize = num(); break;
      case 'key': out.keyTypeId = typed(); out.keySize = btf.sizeOf(out.keyTypeId) ?? 0; break;
      case 'value': out.valueTypeId = typed(); out.valueSize = btf.sizeOf(out.valueTypeId) ?? 0; break;
      case 'values': {
        const arr = btf.typeById(btf.resolve(m.type));
        if (arr.kind !== 'array') throw new MapDefinitionError(path, name, "'values' is not __array(values, T)");
        out.valuesOffsetBytes = m.bitOffset / 8;
        const innerPtr = btf.typeById(btf.resolve(arr.type));
        if (innerPtr.kind !== 'ptr') throw new MapDefinitionError(path, name, "'values' elements are not pointers");
        const innerDef = btf.typeById(btf.resolve(innerPtr.type));
        if (innerDef.kind === 'struct' && (out.type === 'array_of_maps' || out.type === 'hash_of_maps' || !typeSeen)) {
          out.inner = parseDefinition(btf, `${name}.inner`, innerPtr.type, path, 0);
        }
        out.valueSize = 4;
        break;
      }
      default:
        // libbpf rejects unknown members unless the object asks otherwise; so do we.
        throw new MapDefinitionError(path, name, `unknown member '${m.name}'`);
    }
  }
  if (!typeSeen) throw new MapDefinitionError(path, name, 'no map type');
  if (out.type === 'prog_array' || out.type === 'perf_event_array') {
    out.keySize ||= 4;
    out.valueSize ||= 4;
  }
  if (out.type === 'array_of_maps' || out.type === 'hash_of_maps') out.valueSize = 4;
  if (out.type === 'perf_event_array' && out.maxEntries === 0) out.maxEntries = 0; // filled with the CPU count at load
  return out;
}

/** BTF-defined maps: every VAR of the `.maps` DATASEC. */
export function btfMapDefinitions(btf: Btf, symbols: ElfSymbol[], path: string): MapDefinition[] {
  const secId = btf.findByName('datasec', '.maps');
  if (secId === undefined) return [];
  const sec = btf.typeById(secId);
  if (sec.kind !== 'datasec') return [];
  return sec.vars.map((v) => {
    const varT = btf.typeById(v.type);
    if (varT.kind !== 'var') throw new MapDefinitionError(path, btf.nameOf(v.type), 'not a variable');
    const sym = symbols.find((s) => s.name === varT.name);
    return parseDefinition(btf, varT.name, varT.type, path, sym ? sym.value : v.offsetBytes);
  });
}

/** Legacy `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }` per symbol. */
export function legacyMapDefinitions(data: Uint8Array, symbols: ElfSymbol[]): MapDefinition[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return symbols.filter((s) => s.value + 16 <= data.byteLength).map((s) => ({
    name: s.name,
    type: mapTypeName(v.getUint32(s.value, true), '<maps>', s.name),
    keySize: v.getUint32(s.value + 4, true),
    valueSize: v.getUint32(s.value + 8, true),
    maxEntries: v.getUint32(s.value + 12, true),
    flags: s.value + 20 <= data.byteLength ? v.getUint32(s.value + 16, true) : 0,
    numaNode: 0, mapExtra: 0n, pinning: 0, keyTypeId: undefined, valueTypeId: undefined, inner: undefined,
    valuesOffsetBytes: undefined, sectionOffsetBytes: s.value,
  }));
}
