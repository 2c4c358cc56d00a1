/**
 * @fileoverview Types of the model in types.ts → BTF bytes (little-endian), the inverse of
 * decode.ts. Used to build small BTF sets in tests (kinds clang 14 cannot emit, such as enum64,
 * and split BTF), and to hand the kernel BTF that describes our own maps and programs.
 */
import { KIND } from './decode.js';
import type { Btf, BtfType, Linkage } from './types.js';

/** A type to encode: the model without its id (ids are assigned in order). */
export type BtfTypeSpec = BtfType extends infer T ? (T extends BtfType ? Omit<T, 'id'> : never) : never;

const LINKAGE: Record<Linkage, number> = { static: 0, global: 1, extern: 2 };

export interface EncodeOptions {
  /** Encode split BTF on top of `base`: ids and string offsets continue the base's. */
  base?: Btf;
}

/** BTF bytes holding `types`, which get ids firstId, firstId + 1, … (firstId is 1 without a base). */
export function encodeBtf(types: BtfTypeSpec[], options: EncodeOptions = {}): Uint8Array {
  const stringBase = options.base ? options.base.stringsSizeBytes : 0;
  const strings = new Map<string, number>();
  const stringChunks: Uint8Array[] = [];
  let stringBytes = 0;
  const encoder = new TextEncoder();
  function str(s: string): number {
    if (s === '') return 0; // offset 0 is the empty string, in a base set and its split sets
    let off = strings.get(s);
    if (off === undefined) {
      off = stringBase + stringBytes;
      const bytes = encoder.encode(`${s}\0`);
      stringChunks.push(bytes);
      stringBytes += bytes.length;
      strings.set(s, off);
    }
    return off;
  }
  if (!options.base) { stringChunks.push(new Uint8Array(1)); stringBytes = 1; }

  const words: number[] = [];
  const head = (name: string, kind: number, vlen: number, kindFlag: boolean, sizeOrType: number): void => {
    words.push(str(name), ((kindFlag ? 1 : 0) << 31 | kind << 24 | vlen) >>> 0, sizeOrType >>> 0);
  };
  for (const t of types) {
    switch (t.kind) {
      case 'void': throw new TypeError('void is implicit (id 0) and cannot be encoded');
      case 'int':
        head(t.name, KIND.int, 0, false, t.sizeBytes);
        words.push(((Number(t.signed) | Number(t.isChar) << 1 | Number(t.isBool) << 2) << 24 | t.bitOffset << 16 | t.bits) >>> 0);
        break;
      case 'float': head(t.name, KIND.float, 0, false, t.sizeBytes); break;
      case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict':
        head(t.name, KIND[t.kind], 0, false, t.type);
        break;
      case 'type_tag': head(t.name, KIND.type_tag, 0, t.isAttribute, t.type); break;
      case 'array':
        head(t.name, KIND.array, 0, false, 0);
        words.push(t.type, t.indexType, t.nelems);
        break;
      case 'struct': case 'union':
        head(t.name, KIND[t.kind], t.members.length, t.kindFlag, t.sizeBytes);
        for (const m of t.members) {
          words.push(str(m.name), m.type, t.kindFlag ? (m.bitfieldSize << 24 | m.bitOffset) >>> 0 : m.bitOffset);
        }
        break;
      case 'enum':
        head(t.name, KIND.enum, t.values.length, t.signed, t.sizeBytes);
        for (const v of t.values) words.push(str(v.name), Number(BigInt.asUintN(32, v.value)));
        break;
      case 'enum64':
        head(t.name, KIND.enum64, t.values.length, t.signed, t.sizeBytes);
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.value);
          words.push(str(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
        }
        break;
      case 'fwd': head(t.name, KIND.fwd, 0, t.fwdKind === 'union', 0); break;
      case 'func': head(t.name, KIND.func, LINKAGE[t.linkage], false, t.type); break;
      case 'func_proto': {
        const voidParam = t.variadic || t.explicitVoid;
        head(t.name, KIND.func_proto, t.params.length + (voidParam ? 1 : 0), false, t.returnType);
        for (const p of t.params) words.push(str(p.name), p.type);
        if (voidParam) words.push(0, 0);
        break;
      }
      case 'var':
        head(t.name, KIND.var, 0, false, t.type);
        words.push(LINKAGE[t.linkage]);
        break;
      case 'datasec':
        head(t.name, KIND.datasec, t.vars.length, false, t.sizeBytes);
        for (const v of t.vars) words.push(v.type, v.offsetBytes, v.sizeBytes);
        break;
      case 'decl_tag':
        head(t.name, KIND.decl_tag, 0, t.isAttribute, t.type);
        words.push(t.componentIndex >>> 0);
        break;
    }
  }
  const hdrBytes = 24;
  const typeBytes = words.length * 4;
  const out = new Uint8Array(hdrBytes + typeBytes + stringBytes);
  const view = new DataView(out.buffer);
  view.setUint16(0, 0xeb9f, true);
  view.setUint8(2, 1); // version
  view.setUint8(3, 0); // flags
  view.setUint32(4, hdrBytes, true);
  view.setUint32(8, 0, true);
  view.setUint32(12, typeBytes, true);
  view.setUint32(16, typeBytes, true);
  view.setUint32(20, stringBytes, true);
  words.forEach((w, i) => view.setUint32(hdrBytes + 4 * i, w, true));
  let at = hdrBytes + typeBytes;
  for (const chunk of stringChunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}
