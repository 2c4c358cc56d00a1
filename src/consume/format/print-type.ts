/**
 * @fileoverview print(ptr) output: the pointed-to object shown member by member from its D
 * type, as dtrace-utils prints it (dt_print_type / dt_print_visit over ctf_type_visit):
 *
 *   0xffff8881… = *
 *                                               (struct foo) {
 *                                                .a = (int)1,
 *                                                .b = (char [5]) [
 *                                                 (char)'t',
 *                                                ],
 *                                               }
 *
 * The rules that shape it (each from dtrace-utils):
 *  - a line per item, indented 44 + depth blanks; `.name = ` for a named member;
 *  - below the top level, an item whose bytes are all zero is left out (enums too);
 *  - an item at or past `printsize` bytes, or nested 10 deep, prints `...` and ends the walk;
 *  - a struct's or union's `{` is closed (`},`) when a later item is shallower, and at the end;
 *  - char arrays stop at their first NUL; other array elements are items of their own;
 *  - integers print by size and sign (`(char)'c'` for plain char), enums by enumerator name,
 *    pointers in hex; floats and functions print nothing.
 * One deviation: dtrace-utils prints only the opening line of a struct that is an array
 * element (its members are never visited); here its members and closing brace follow.
 */
import { type CType, resolve, sizeOf, typeName } from '../../check/ctypes.js';

/** dtrace-utils' DT_PRINT_STARTINDENT and DT_PRINT_DEPTH. */
const START_INDENT = 44;
const MAX_DEPTH = 10;
/** Objects this large or larger are never treated as zero (dtrace-utils compares with a 64 KiB zero buffer). */
const ZERO_BUFFER = 65536;

type Kind = 'sou' | 'other';

/** The walk's state: dt_visit_arg (the kinds seen at each depth and the deepest line printed last). */
interface Walk {
  data: Uint8Array;
  /** Bytes that may be shown: min(object size, printsize). */
  size: number;
  kinds: Kind[];
  lastDepth: number;
  out: string[];
}

/**
 * The text print() shows for the object at `addr` of type `type`, recorded as `data`, limited
 * to `printsize` bytes and to what was recorded (a larger object ends in `...` there too).
 */
export function formatPrint(addr: bigint, type: CType, data: Uint8Array, printsize: number): string {
  const w: Walk = { data, size: Math.min(sizeOf(type, 0), printsize, data.length), kinds: [], lastDepth: 0, out: [] };
  w.out.push(`${addr === 0n ? '(nil)' : '0x' + addr.toString(16)} = *\n`);
  visitTree(w, '', type, 0, 0, undefined);
  closeParens(w, 0);
  return w.out.join('');
}

/** ctf_type_visit: the item, then (struct or union) each member one level deeper; stops when an item says so. */
function visitTree(w: Walk, name: string, type: CType, bitOffset: number, depth: number, bitSize: number | undefined): boolean {
  if (!visit(w, name, type, bitOffset, depth, bitSize)) return false;
  const r = resolve(type);
  if (r.kind !== 'struct') return true;
  for (const m of r.members ?? []) {
    if (!visitTree(w, m.name, m.type, bitOffset + m.bitOffset, depth + 1, m.bitSize)) return false;
  }
  return true;
}

function indent(depth: number): string {
  return ' '.repeat(START_INDENT + depth);
}

/** The C spelling of a type as ctf_type_name gives it, an anonymous tag's trailing blank dropped. */
function ctfTypeName(t: CType): string {
  const r = t.kind === 'pointer' ? resolve(t.target) : undefined;
  const name = r?.kind === 'function'
    ? `${typeName(r.returnType)} (*)(${r.params.map(typeName).join(', ')}${r.variadic ? ', ...' : ''})`
    : typeName(t);
  return name.endsWith(' ') ? name.slice(0, -1) : name;
}

function allZero(w: Walk, byteOffset: number, n: number): boolean {
  const end = Math.min(byteOffset + n, w.data.length);
  for (let i = byteOffset; i < end; i++) if (w.data[i] !== 0) return false;
  return true;
}

/** Little-endian unsigned integer of n bytes at byteOffset (zero past the recorded data). */
function readUnsigned(w: Walk, byteOffset: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(w.data[byteOffset + i] ?? 0);
  return v;
}

/** dt_print_visit: one item's line. False ends the walk (out of data or too deep). */
function visit(w: Walk, name: string | undefined, type: CType, bitOffset: number, depth: number, bitSize: number | undefined): boolean {
  const byteOffset = Math.floor(bitOffset / 8);
  if (byteOffset >= w.size || depth >= MAX_DEPTH) {
    w.out.push(`${indent(depth)}...\n`);
    return false;
  }
  const r = resolve(type);
  // A later item shallower than the last line printed closes the structs left open.
  if (w.lastDepth > depth) closeParens(w, depth);
  if (depth > 0) {
    const n = sizeOf(r, 0);
    if (n < ZERO_BUFFER && allZero(w, byteOffset, n)) return true;
  }
  w.kinds[depth] = r.kind === 'struct' ? 'sou' : 'other';
  w.lastDepth = depth;
  const tname = ctfTypeName(type);
  const value = itemText(w, r, tname, bitOffset, bitSize);
  if (value === undefined) return true;
  const member = depth > 0 && name ? `.${name} = ` : '';
  w.out.push(`${indent(depth)}${member}${value}\n`);
  if (r.kind === 'array') return arrayElements(w, r.element, r.length ?? 0, bitOffset, depth);
  return true;
}

/** What follows the member name: `(type)value,` or the opening of a struct or array; undefined: nothing is printed. */
function itemText(w: Walk, r: CType, tname: string, bitOffset: number, bitSize: number | undefined): string | undefined {
  const byteOffset = Math.floor(bitOffset / 8);
  switch (r.kind) {
    case 'struct': return `(${tname}) {`;
    case 'array': return `(${tname}) [${(r.length ?? 0) === 0 ? '],' : ''}`;
    case 'pointer': return `(${tname})0x${readUnsigned(w, byteOffset, 8).toString(16)},`;
    case 'enum': {
      const v = BigInt.asIntN(32, readUnsigned(w, byteOffset, 4));
      const e = r.values.find((x) => BigInt.asIntN(32, x.value) === v);
      return `(${tname})${e ? e.name : v.toString()},`;
    }
    case 'int': {
      if (bitSize !== undefined && bitSize !== r.sizeBytes * 8) {
        // A bit-field: its bits, unsigned; a zero one is left out.
        const bits = (readUnsigned(w, byteOffset, 8) >> BigInt(bitOffset % 8)) & ((1n << BigInt(bitSize)) - 1n);
        return bits === 0n ? undefined : `(${tname})${bits},`;
      }
      const raw = readUnsigned(w, byteOffset, r.sizeBytes);
      const v = r.signed ? BigInt.asIntN(r.sizeBytes * 8, raw) : raw;
      if (r.isChar && r.sizeBytes === 1 && tname === 'char') return `(${tname})'${String.fromCharCode(Number(raw))}',`;
      return `(${tname})${v},`;
    }
    default: return undefined;
  }
}

/** The elements of an array one level deeper, then its closing `],`; a char array ends at its first NUL. */
function arrayElements(w: Walk, element: CType, length: number, bitOffset: number, depth: number): boolean {
  const er = resolve(element);
  const esize = sizeOf(er, 0);
  const ischar = er.kind === 'int' && er.sizeBytes === 1 && !!er.isChar;
  // At the top level an all-zero array is not closed (dtrace-utils returns before its `],`).
  if (allZero(w, bitOffset / 8, esize * length)) return true;
  // Elements are walked with a state of their own (dtrace-utils' dva2): their lines do not
  // change which structs the enclosing walk has open.
  const inner: Walk = { ...w, kinds: [...w.kinds], lastDepth: w.lastDepth };
  for (let i = 0; i < length; i++) {
    const off = bitOffset + esize * 8 * i;
    if (ischar && (w.data[off / 8] ?? 0) === 0) break;
    if (!visitElement(inner, element, er, off, depth + 1)) return false;
  }
  if (length > 0) w.out.push(`${indent(depth)}],\n`);
  return true;
}

/** One array element; a struct element's members follow it, and its brace is closed. */
function visitElement(w: Walk, element: CType, er: CType, bitOffset: number, depth: number): boolean {
  if (er.kind !== 'struct') return visit(w, undefined, element, bitOffset, depth, undefined);
  const before = w.out.length;
  if (!visitTree(w, '', element, bitOffset, depth, undefined)) return false;
  if (w.out.length === before) return true; // all zero: left out
  if (w.lastDepth > depth) closeParens(w, depth);
  else w.out.push(`${indent(depth)}},\n`);
  return true;
}

/** dt_print_close_parens: the `}` of each struct or union open between the last line printed and `depth`. */
function closeParens(w: Walk, depth: number): void {
  if (w.kinds[depth] !== 'sou') return;
  // An empty struct at the top level still closes its own brace.
  if (depth === 0 && w.lastDepth === 0) w.lastDepth = 1;
  for (let i = w.lastDepth - depth; i > 0; i--) {
    w.out.push(`${indent(depth + i - 1)}}${depth > 0 || i > 1 ? ',' : ''}\n`);
    w.lastDepth = depth;
  }
}


