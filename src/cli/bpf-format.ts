/**
 * @fileoverview BTF-typed values as `bpftool map dump` prints them with BTF (its btf_dumper,
 * JSON with 4-space indentation): integers as numbers, char arrays as strings, enums by name,
 * structs as objects, bit-fields extracted; raw bytes as bpftool's hex listing without BTF.
 */
import type { Btf, TypeId } from '../bpf/btf/index.js';

const MAX_DEPTH = 16;

function readUnsigned(bytes: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0);
  return v;
}

function bits(bytes: Uint8Array, byteOff: number, bitOff: number, nbits: number, signed: boolean): bigint {
  const first = byteOff + Math.floor(bitOff / 8);
  const span = Math.ceil(((bitOff % 8) + nbits) / 8);
  let v = readUnsigned(bytes, first, span) >> BigInt(bitOff % 8);
  v &= (1n << BigInt(nbits)) - 1n;
  return signed ? BigInt.asIntN(nbits, v) : v;
}

function quote(s: string): string { return JSON.stringify(s); }

function charArrayText(bytes: Uint8Array, off: number, n: number): string {
  let end = off;
  while (end < off + n && bytes[end] !== 0) end++;
  return Buffer.from(bytes.subarray(off, end)).toString('latin1');
}

/** A value of BTF type `typeId` at `off` in `bytes`, in bpftool's JSON. */
export function formatBtfValue(btf: Btf, typeId: TypeId, bytes: Uint8Array, off = 0, indent = 0, depth = 0): string {
  const id = btf.resolve(typeId);
  const t = btf.typeById(id);
  const pad = ' '.repeat(indent + 4);
  const end = ' '.repeat(indent);
  if (depth > MAX_DEPTH) return '"…"';
  switch (t.kind) {
    case 'int': {
      if (t.isBool) return bytes[off] ? 'true' : 'false';
      const v = bits(bytes, off, t.bitOffset, t.bits || t.sizeBytes * 8, t.signed);
      if (t.isChar && t.sizeBytes === 1) return quote(String.fromCharCode(Number(BigInt.asUintN(8, v))));
      return v.toString();
    }
    case 'ptr': return quote(`0x${readUnsigned(bytes, off, btf.pointerSizeBytes).toString(16)}`);
    case 'float': {
      const dv = new DataView(bytes.buffer, bytes.byteOffset + off, t.sizeBytes);
      return String(t.sizeBytes === 4 ? dv.getFloat32(0, true) : t.sizeBytes === 8 ? dv.getFloat64(0, true) : NaN);
    }
    case 'enum': case 'enum64': {
      const raw = readUnsigned(bytes, off, t.sizeBytes);
      const v = t.signed ? BigInt.asIntN(t.sizeBytes * 8, raw) : raw;
      const e = t.values.find((x) => x.value === v || BigInt.asUintN(t.sizeBytes * 8, x.value) === raw);
      return e ? quote(e.name) : v.toString();
    }
    case 'array': {
      const elem = btf.typeById(btf.resolve(t.type));
      // clang encodes `char` as a plain signed 1-byte int: the name says it is text, as bpftool reads it.
      if (elem.kind === 'int' && elem.sizeBytes === 1 && (elem.isChar || elem.name === 'char')) return quote(charArrayText(bytes, off, t.nelems));
      const size = btf.sizeOf(t.type) ?? 0;
      const items = Array.from({ length: t.nelems }, (_, i) => pad + formatBtfValue(btf, t.type, bytes, off + i * size, indent + 4, depth + 1));
      return items.length ? `[\n${items.join(',\n')}\n${end}]` : '[]';
    }
    case 'struct': case 'union': {
      const fields = t.members.map((m) => {
        const mOff = off + Math.floor(m.bitOffset / 8);
        let text: string;
        if (m.bitfieldSize > 0) {
          const mt = btf.typeById(btf.resolve(m.type));
          const signed = mt.kind === 'int' ? mt.signed : mt.kind === 'enum' || mt.kind === 'enum64' ? mt.signed : false;
          text = bits(bytes, off, m.bitOffset, m.bitfieldSize, signed).toString();
        } else {
          text = formatBtfValue(btf, m.type, bytes, mOff, indent + 4, depth + 1);
        }
        return m.name ? `${pad}${quote(m.name)}: ${text}` : `${pad}${quote('')}: ${text}`;
      });
      return fields.length ? `{\n${fields.join(',\n')}\n${end}}` : '{}';
    }
    case 'datasec': {
      const fields = t.vars.map((v) => {
        const vt = btf.typeById(v.type);
        const ty = vt.kind === 'var' ? vt.type : v.type;
        return `${pad}${quote(btf.nameOf(v.type))}: ${formatBtfValue(btf, ty, bytes, off + v.offsetBytes, indent + 4, depth + 1)}`;
      });
      return fields.length ? `{\n${fields.join(',\n')}\n${end}}` : '{}';
    }
    default:
      return hexBytes(bytes.subarray(off, off + (btf.sizeOf(id) ?? 0)));
  }
}

/** `0a 00 00 00` (bpftool's plain listing). */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The same on one line (ring-buffer records). */
export function compactJson(text: string): string {
  return text.replace(/\n\s*/g, ' ').replace(/\[ /g, '[').replace(/\{ /g, '{').replace(/ \]/g, ']').replace(/ \}/g, '}');
}

/**
 * A map's entries as `bpftool map dump` prints them with BTF: a JSON array of `{ key, value }`,
 * or `{ key, values: [{ cpu, value }] }` for per-CPU maps (`perCpuStrideBytes`: each CPU's slot).
 */
export function formatTypedEntries(btf: Btf, keyTypeId: TypeId, valueTypeId: TypeId, keys: readonly Uint8Array[], values: readonly Uint8Array[],
  perCpuStrideBytes?: number): string {
  const entries = keys.map((k, i) => {
    const key = formatBtfValue(btf, keyTypeId, k, 0, 8);
    const v = values[i]!;
    if (perCpuStrideBytes !== undefined) {
      const cpus = Array.from({ length: v.length / perCpuStrideBytes }, (_, c) =>
        `{\n                "cpu": ${c},\n                "value": ${formatBtfValue(btf, valueTypeId, v, c * perCpuStrideBytes, 16)}\n            }`);
      return `{\n        "key": ${key},\n        "values": [${cpus.join(',')}\n        ]\n    }`;
    }
    return `{\n        "key": ${key},\n        "value": ${formatBtfValue(btf, valueTypeId, v, 0, 8)}\n    }`;
  });
  return entries.length ? `[${entries.join(',')}\n]\n` : '[]\n';
}
