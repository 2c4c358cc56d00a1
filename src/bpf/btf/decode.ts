/**
 * @fileoverview Byte-level BTF reader. `parseBtf` walks the type section once, recording where
 * each type record starts (a Uint32Array of offsets), and decodes nothing else; `decodeType`
 * turns one record into the model of types.ts when asked. Layouts follow
 * include/uapi/linux/btf.h: `struct btf_header`, then `struct btf_type` records, each followed
 * by kind-specific data, then a string section of NUL-terminated names.
 *
 * Split BTF (a kernel module's /sys/kernel/btf/<module>) continues its base: its first type id
 * is the base's type count and string offsets at or above the base's string size point into the
 * split set's own strings.
 */
import {
  BTF_KIND_NAMES, type BtfKind, type BtfType, type Linkage, type Member, type TypeId,
} from './types.js';

const BTF_MAGIC = 0xeb9f;
/** sizeof(struct btf_type): name_off, info, size/type. */
const BTF_TYPE_BYTES = 12;

/** Kind numbers (BTF_KIND_* in btf.h). */
export const KIND = {
  int: 1, ptr: 2, array: 3, struct: 4, union: 5, enum: 6, fwd: 7, typedef: 8, volatile: 9,
  const: 10, restrict: 11, func: 12, func_proto: 13, var: 14, datasec: 15, float: 16,
  decl_tag: 17, type_tag: 18, enum64: 19,
} as const;

/** What the rest of the reader needs to know about a parsed BTF blob. */
export interface RawBtf {
  view: DataView;
  bytes: Uint8Array;
  littleEndian: boolean;
  /** Byte offset (in `bytes`) of each local type record; index 0 is the set's first id. */
  typeOffsets: Uint32Array;
  /** First type id of this set: 1 for a base BTF, the base's type count for split BTF. */
  firstId: TypeId;
  strStart: number;
  strLenBytes: number;
  /** The string section size of the base chain; our own offsets start there. */
  baseStrLenBytes: number;
  base: RawBtf | undefined;
}

export class BtfFormatError extends Error {
  override name = 'BtfFormatError';
}

/** Size of the kind-specific data that follows a `struct btf_type` record. */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND.int: return 4;
    case KIND.array: return 12;
    case KIND.struct: case KIND.union: return 12 * vlen;
    case KIND.enum: return 8 * vlen;
    case KIND.func_proto: return 8 * vlen;
    case KIND.var: return 4;
    case KIND.datasec: return 12 * vlen;
    case KIND.decl_tag: return 4;
    case KIND.enum64: return 12 * vlen;
    case KIND.ptr: case KIND.fwd: case KIND.typedef: case KIND.volatile: case KIND.const:
    case KIND.restrict: case KIND.func: case KIND.float: case KIND.type_tag:
      return 0;
    default:
      throw new BtfFormatError(`unknown BTF kind ${kind}`);
  }
}

/** Total string bytes of a base chain (what split string offsets are relative to). */
function chainStrLen(raw: RawBtf | undefined): number {
  return raw ? raw.baseStrLenBytes + raw.strLenBytes : 0;
}

/** Total type count of a chain, counting void: ids of a split set start here. */
export function chainTypeCount(raw: RawBtf | undefined): number {
  return raw ? raw.firstId + raw.typeOffsets.length : 1;
}

/** Parses the header and indexes type record offsets in one pass; decodes no type. */
export function parseBtf(buf: Uint8Array, base?: RawBtf): RawBtf {
  if (buf.byteLength < 24) throw new BtfFormatError(`BTF too short (${buf.byteLength} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let littleEndian = true;
  if (view.getUint16(0, true) !== BTF_MAGIC) {
    if (view.getUint16(0, false) !== BTF_MAGIC) throw new BtfFormatError('bad BTF magic');
    littleEndian = false;
  }
  const hdrLen = view.getUint32(4, littleEndian);
  const typeOff = view.getUint32(8, littleEndian);
  const typeLen = view.getUint32(12, littleEndian);
  const strOff = view.getUint32(16, littleEndian);
  const strLen = view.getUint32(20, littleEndian);
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  const strStart = hdrLen + strOff;
  if (typeEnd > buf.byteLength || strStart + strLen > buf.byteLength) {
    throw new BtfFormatError('BTF section extends past the end of the data');
  }
  // Count first (no allocation per type), then fill: two cheap passes over the info words.
  let offsets = new Uint32Array(Math.max(16, typeLen >>> 4));
  let count = 0;
  for (let off = typeStart; off < typeEnd;) {
    if (count === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = off;
    const info = view.getUint32(off + 4, littleEndian);
    off += BTF_TYPE_BYTES + extraBytes((info >>> 24) & 0x1f, info & 0xffff);
    if (off > typeEnd) throw new BtfFormatError(`type ${count} runs past the type section`);
  }
  return {
    view, bytes: buf, littleEndian, typeOffsets: offsets.subarray(0, count),
    firstId: chainTypeCount(base), strStart, strLenBytes: strLen,
    baseStrLenBytes: chainStrLen(base), base,
  };
}

const utf8 = new TextDecoder('utf-8');

/** The string at `offset` in the chain's string space ('' for offset 0). */
export function stringAt(raw: RawBtf, offset: number): string {
  if (offset === 0) return '';
  if (offset < raw.baseStrLenBytes) return stringAt(raw.base!, offset);
  const start = raw.strStart + offset - raw.baseStrLenBytes;
  const bytes = raw.bytes;
  let end = start;
  // Names are short; a plain scan beats indexOf's call overhead here.
  while (bytes[end] !== 0 && end < bytes.length) end++;
  let ascii = true;
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) { ascii = false; break; }
  if (ascii) return String.fromCharCode.apply(undefined, bytes.subarray(start, end) as unknown as number[]);
  return utf8.decode(bytes.subarray(start, end));
}

/** The set (base or split) that holds `id`, or undefined when out of range. */
export function ownerOf(raw: RawBtf, id: TypeId): RawBtf | undefined {
  for (let r: RawBtf | undefined = raw; r; r = r.base) {
    if (id >= r.firstId) return id < r.firstId + r.typeOffsets.length ? r : undefined;
  }
  return undefined;
}

function recordOffset(raw: RawBtf, id: TypeId): [RawBtf, number] {
  const owner = ownerOf(raw, id);
  if (!owner) throw new RangeError(`BTF type id ${id} out of range`);
  return [owner, owner.typeOffsets[id - owner.firstId]!];
}

/** Kind number of a type (0 for void) without decoding it. */
export function kindNumberOf(raw: RawBtf, id: TypeId): number {
  if (id === 0) return 0;
  const [owner, off] = recordOffset(raw, id);
  return (owner.view.getUint32(off + 4, owner.littleEndian) >>> 24) & 0x1f;
}

export function kindOf(raw: RawBtf, id: TypeId): BtfKind {
  const k = kindNumberOf(raw, id);
  return k === 0 ? 'void' : (BTF_KIND_NAMES[k] as BtfKind);
}

/** name_off of a type without decoding it. */
export function nameOffsetOf(raw: RawBtf, id: TypeId): number {
  if (id === 0) return 0;
  const [owner, off] = recordOffset(raw, id);
  return owner.view.getUint32(off, owner.littleEndian);
}

export function nameOf(raw: RawBtf, id: TypeId): string {
  return stringAt(raw, nameOffsetOf(raw, id));
}

function linkageOf(n: number): Linkage {
  return n === 0 ? 'static' : n === 1 ? 'global' : 'extern';
}

/** Decodes one type record into the model of types.ts. */
export function decodeType(raw: RawBtf, id: TypeId): BtfType {
  if (id === 0) return { kind: 'void', id: 0, name: 'void' };
  const [owner, off] = recordOffset(raw, id);
  const le = owner.littleEndian;
  const v = owner.view;
  const u32 = (at: number): number => v.getUint32(at, le);
  const str = (at: number): string => stringAt(raw, u32(at));
  const name = str(off);
  const info = u32(off + 4);
  const vlen = info & 0xffff;
  const kind = (info >>> 24) & 0x1f;
  const kindFlag = (info >>> 31) === 1;
  const sizeOrType = u32(off + 8);
  const data = off + BTF_TYPE_BYTES;
  switch (kind) {
    case KIND.int: {
      const word = u32(data);
      const encoding = (word >>> 24) & 0x0f;
      return {
        kind: 'int', id, name, sizeBytes: sizeOrType, signed: (encoding & 1) !== 0,
        isChar: (encoding & 2) !== 0, isBool: (encoding & 4) !== 0,
        bitOffset: (word >>> 16) & 0xff, bits: word & 0xff,
      };
    }
    case KIND.float: return { kind: 'float', id, name, sizeBytes: sizeOrType };
    case KIND.ptr: return { kind: 'ptr', id, name, type: sizeOrType };
    case KIND.array:
      return { kind: 'array', id, name, type: u32(data), indexType: u32(data + 4), nelems: u32(data + 8) };
    case KIND.struct: case KIND.union: {
      const members: Member[] = new Array(vlen);
      for (let i = 0; i < vlen; i++) {
        const m = data + 12 * i;
        const offset = u32(m + 8);
        members[i] = {
          name: str(m), type: u32(m + 4),
          bitOffset: kindFlag ? offset & 0xffffff : offset,
          bitfieldSize: kindFlag ? offset >>> 24 : 0,
        };
      }
      return { kind: kind === KIND.struct ? 'struct' : 'union', id, name, sizeBytes: sizeOrType, kindFlag, members };
    }
    case KIND.enum: case KIND.enum64: {
      const values = new Array(vlen);
      const is64 = kind === KIND.enum64;
      for (let i = 0; i < vlen; i++) {
        const e = data + (is64 ? 12 : 8) * i;
        let value: bigint;
        if (is64) {
          const raw64 = (BigInt(u32(e + 8)) << 32n) | BigInt(u32(e + 4));
          value = kindFlag ? BigInt.asIntN(64, raw64) : raw64;
        } else {
          value = BigInt(kindFlag ? v.getInt32(e + 4, le) : u32(e + 4));
        }
        values[i] = { name: str(e), value };
      }
      return { kind: is64 ? 'enum64' : 'enum', id, name, sizeBytes: sizeOrType, signed: kindFlag, values };
    }
    case KIND.fwd: return { kind: 'fwd', id, name, fwdKind: kindFlag ? 'union' : 'struct' };
    case KIND.typedef: return { kind: 'typedef', id, name, type: sizeOrType };
    case KIND.volatile: return { kind: 'volatile', id, name, type: sizeOrType };
    case KIND.const: return { kind: 'const', id, name, type: sizeOrType };
    case KIND.restrict: return { kind: 'restrict', id, name, type: sizeOrType };
    case KIND.type_tag: return { kind: 'type_tag', id, name, type: sizeOrType, isAttribute: kindFlag };
    case KIND.func: return { kind: 'func', id, name, type: sizeOrType, linkage: linkageOf(vlen) };
    case KIND.func_proto: {
      const params = [];
      let variadic = false;
      let explicitVoid = false;
      for (let i = 0; i < vlen; i++) {
        const p = data + 8 * i;
        const type = u32(p + 4);
        // A last parameter of type void is how BTF spells `...`; alone, it is clang's `(void)`.
        if (i === vlen - 1 && type === 0) { variadic = i > 0; explicitVoid = i === 0; break; }
        params.push({ name: str(p), type });
      }
      return { kind: 'func_proto', id, name, returnType: sizeOrType, params, variadic, explicitVoid };
    }
    case KIND.var: return { kind: 'var', id, name, type: sizeOrType, linkage: linkageOf(u32(data)) };
    case KIND.datasec: {
      const vars = [];
      for (let i = 0; i < vlen; i++) {
        const s = data + 12 * i;
        vars.push({ type: u32(s), offsetBytes: u32(s + 4), sizeBytes: u32(s + 8) });
      }
      return { kind: 'datasec', id, name, sizeBytes: sizeOrType, vars };
    }
    case KIND.decl_tag:
      return { kind: 'decl_tag', id, name, type: sizeOrType, componentIndex: v.getInt32(data, le), isAttribute: kindFlag };
    default:
      throw new BtfFormatError(`unknown BTF kind ${kind} for type ${id}`);
  }
}
