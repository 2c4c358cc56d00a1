/**
 * @fileoverview Decoding record fields and rendering printf() straight from record bytes.
 *
 * The output path runs once per traced event, so it must not build a `Value` object and a
 * BigInt per argument when the common case does not need them. `compilePrintfAction` turns a
 * printf action (format + field layouts) into a closure, once per clause: integer conversions
 * of fields up to 8 bytes are read as Numbers (exact below 2^53) and formatted with the same
 * rules as cformat.ts's formatCInt; `%s` of a string field is sliced out of the record as
 * latin1. Anything else — and any value a Number cannot hold exactly — goes through the
 * generic decoder and printf.ts, so the output is byte-for-byte the same either way
 * (record.test.ts checks the two paths against each other).
 */
import { formatKernelAddress, formatKernelFunction, formatKernelModule } from './ksyms.js';
import { formatUserAddress, formatUserFunction, formatUserModule } from './usyms.js';
import type { FieldLayout } from '../program/spec.js';
import { type CSpec, cspec, formatCString } from './format/cformat.js';
import { type FormatContext, type PrintfDirective, type PrintfProgram, compilePrintf, formatPrintf, isPrintfError } from './format/printf.js';
import type { Value } from './format/values.js';
import { TRACER_FRAME } from './tracer-frames.js';

/** Renders one action of one record: the record's DataView and the record's start offset. */
export type RecordRenderer = (view: DataView, base: number) => string;

const TWO_32 = 4294967296;
/** |high word| below this keeps hi·2^32 + lo an exact Number (2^53). */
const SAFE_HIGH_WORD = 1 << 21;

/**
 * A D string field: bytes up to the first NUL or `strsize`, one char per byte (latin1, as
 * values.ts requires: widths count bytes and the writer encodes with 'latin1').
 */
export function readString(view: DataView, at: number, strsize: number): string {
  const limit = Math.min(at + strsize, view.byteLength);
  let end = at;
  while (end < limit && view.getUint8(end) !== 0) end++;
  const n = end - at;
  if (n <= 64) {
    let s = '';
    for (let i = at; i < end; i++) s += String.fromCharCode(view.getUint8(i));
    return s;
  }
  return Buffer.from(view.buffer, view.byteOffset + at, n).toString('latin1');
}

/** The generic decoder: one field of a record (or key) as a formatter Value. */

export function decodeField(view: DataView, base: number, f: FieldLayout, strsize: number): Value {
  const at = base + f.offset;
  if (f.decode === 'string') return { kind: 'string', value: readString(view, at, Math.min(strsize, f.sizeBytes || strsize)) };
  if (f.decode === 'stack' || f.decode === 'ustack') {
    // Program counters until the first 0; a user stack starts with the process id.
    const user = f.decode === 'ustack';
    const pid = user ? Number(view.getBigUint64(at, true)) : 0;
    const frames: string[] = [];
    const pcs: bigint[] = user ? [BigInt(pid)] : [];
    const jit = f.jitStrsize !== undefined ? { jitBudget: { bytes: f.jitStrsize } } : {};
    for (let o = user ? 8 : 0; o + 8 <= f.sizeBytes; o += 8) {
      const pc = view.getBigUint64(at + o, true);
      if (pc === 0n) break;
      const text = user ? formatUserAddress(pid, pc, jit) : formatKernelAddress(pc);
      // The tracer's own frames (the BPF program and the tracepoint glue that ran it) are
      // not part of the traced stack.
      if (!user && frames.length === 0 && TRACER_FRAME.test(text)) continue;
      pcs.push(pc);
      frames.push(text);
    }
    return { kind: 'stack', frames, pcs };
  }
  if (f.decode === 'symbol' || f.decode === 'usymbol') {
    const user = f.decode === 'usymbol';
    const pid = user ? view.getBigUint64(at, true) : undefined;
    const addr = view.getBigUint64(at + (user ? 8 : 0), true);
    const form = f.symbolForm ?? 'sym';
    const text = user
      ? (form === 'mod' ? formatUserModule(Number(pid), addr) : form === 'uaddr' ? formatUserAddress(Number(pid), addr) : formatUserFunction(Number(pid), addr))
      : (form === 'mod' ? formatKernelModule(addr) : form === 'func' || form === 'sym' ? formatKernelFunction(addr) : formatKernelAddress(addr));
    return pid === undefined ? { kind: 'symbol', text, addr } : { kind: 'symbol', text, addr, pid };
  }
  if (f.decode === 'float') {
    return f.sizeBytes === 4 ? { kind: 'float', value: view.getFloat32(at, true), sizeBytes: 4 } : { kind: 'float', value: view.getFloat64(at, true), sizeBytes: 8 };
  }
  if (f.decode === 'bytes') return { kind: 'bytes', bytes: new Uint8Array(view.buffer, view.byteOffset + at, f.sizeBytes).slice() };
  const size = f.sizeBytes as 1 | 2 | 4 | 8;
  let raw: bigint;
  switch (size) {
    case 1: raw = BigInt(view.getUint8(at)); break;
    case 2: raw = BigInt(view.getUint16(at, true)); break;
    case 4: raw = BigInt(view.getUint32(at, true)); break;
    default: raw = view.getBigUint64(at, true); break;
  }
  const value = f.signed ? BigInt.asIntN(size * 8, raw) : BigInt.asUintN(size * 8, raw);
  return { kind: 'int', value, sizeBytes: size, signed: !!f.signed };
}

/**
 * An integer field as an exact Number, read as signed or unsigned; undefined when it does not
 * fit in ±2^53 (the caller then takes the BigInt path).
 */
function readIntNumber(view: DataView, at: number, sizeBytes: number, signed: boolean): number | undefined {
  switch (sizeBytes) {
    case 1: return signed ? view.getInt8(at) : view.getUint8(at);
    case 2: return signed ? view.getInt16(at, true) : view.getUint16(at, true);
    case 4: return signed ? view.getInt32(at, true) : view.getUint32(at, true);
    case 8: {
      const lo = view.getUint32(at, true);
      const hi = signed ? view.getInt32(at + 4, true) : view.getUint32(at + 4, true);
      if (hi >= SAFE_HIGH_WORD || hi < -SAFE_HIGH_WORD) return undefined;
      return hi * TWO_32 + lo;
    }
    default: return undefined;
  }
}

/** formatCInt for an exact integer Number (same flags, width and precision rules). */
export function formatCIntNumber(value: number, conv: 'd' | 'u' | 'o' | 'x' | 'X', spec: CSpec): string {
  const negative = value < 0;
  const magnitude = negative ? -value : value;
  let digits = conv === 'o' ? magnitude.toString(8) : conv === 'x' ? magnitude.toString(16) : conv === 'X' ? magnitude.toString(16).toUpperCase() : String(magnitude);
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && magnitude === 0) digits = '';
    else if (digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits;
  }
  let prefix = '';
  if (conv === 'd') {
    if (negative) prefix = '-';
    else if (spec.plus) prefix = '+';
    else if (spec.space) prefix = ' ';
  } else if (spec.alt) {
    if (conv === 'o' && !digits.startsWith('0')) digits = '0' + digits;
    if ((conv === 'x' || conv === 'X') && magnitude !== 0) prefix = conv === 'x' ? '0x' : '0X';
  }
  const len = prefix.length + digits.length;
  if (len >= spec.width) return prefix + digits;
  if (spec.zero && !spec.left && spec.precision === undefined) return prefix + '0'.repeat(spec.width - len) + digits;
  const fill = ' '.repeat(spec.width - len);
  return spec.left ? prefix + digits + fill : fill + prefix + digits;
}

function staticSpec(d: PrintfDirective): CSpec {
  return cspec({
    alt: d.flags.alt, zero: d.flags.zero, left: d.width < 0 || d.flags.left, plus: d.flags.plus,
    space: d.flags.space, group: d.flags.group, width: Math.abs(d.width),
    precision: d.precision > 0 ? d.precision : undefined,
  });
}

const INT_OUT_CONVS: ReadonlySet<string> = new Set(['d', 'i', 'u', 'o', 'x', 'X']);

/**
 * A Number renderer of one integer directive, mirroring printf.ts's renderInt with no
 * normalisation: `dint` prints by the field's signedness; `u o x X` print the value as an
 * unsigned 32-bit (fields up to 4 bytes) or 64-bit quantity. Returns undefined for a value
 * that needs the BigInt path (e.g. a negative 8-byte value printed unsigned).
 */
function intDirective(d: PrintfDirective, f: FieldLayout): ((view: DataView, base: number) => string | undefined) | undefined {
  if (f.decode !== 'int' || ![1, 2, 4, 8].includes(f.sizeBytes) || !INT_OUT_CONVS.has(d.conv.outConv)) return undefined;
  const signedField = !!f.signed;
  const kind = d.conv.print === 'dint' ? (signedField ? 'sint' : 'uint') : d.conv.print;
  if (kind !== 'sint' && kind !== 'uint') return undefined;
  const outConv = d.conv.print === 'dint' && !signedField ? 'u' : d.conv.outConv;
  const conv = outConv === 'i' ? 'd' : (outConv as 'd' | 'u' | 'o' | 'x' | 'X');
  // sint reinterprets the stored bits as signed, uint as unsigned, at the field's size.
  const readSigned = kind === 'sint';
  const size = f.sizeBytes;
  const offset = f.offset;
  const spec = staticSpec(d);
  return (view, base) => {
    let x = readIntNumber(view, base + offset, size, readSigned);
    if (x === undefined) return undefined;
    if (conv !== 'd' && x < 0) {
      if (size === 8) return undefined; // 2^64 + x is not an exact Number
      x += TWO_32;
    }
    return formatCIntNumber(x, conv, spec);
  };
}

/** A renderer of `%s` of a string field. */
function stringDirective(d: PrintfDirective, f: FieldLayout, strsize: number): RecordRenderer | undefined {
  if (d.conv.print !== 'cstr' || f.decode !== 'string') return undefined;
  const spec = staticSpec(d);
  const offset = f.offset;
  const limit = Math.min(strsize, f.sizeBytes || strsize);
  return (view, base) => formatCString(readString(view, base + offset, limit), spec);
}

/**
 * Compiles a printf action for records: the returned renderer gives exactly the text
 * `formatPrintf(format, decoded args)` would, without decoding into Values when every
 * directive is a plain integer or string conversion.
 */
export function compilePrintfAction(format: string, args: readonly FieldLayout[], strsize: number, ctx: FormatContext = {}): RecordRenderer {
  const generic: RecordRenderer = (view, base) => formatPrintf(format, args.map((f) => decodeField(view, base, f, strsize)), { strsizeBytes: strsize, ...ctx });
  const program = compilePrintf(format);
  if (isPrintfError(program)) return generic;
  const pieces = fastPieces(program, args, strsize);
  if (pieces === undefined) return generic;
  const { prefixes, renderers, suffix } = pieces;
  const n = renderers.length;
  return (view, base) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      const text = (renderers[i] as (v: DataView, b: number) => string | undefined)(view, base);
      if (text === undefined) return generic(view, base);
      out += prefixes[i] + text;
    }
    return out + suffix;
  };
}

/** Per-directive fast renderers, or undefined when some directive needs the generic path. */
function fastPieces(program: PrintfProgram, args: readonly FieldLayout[], strsize: number):
  { prefixes: string[]; renderers: ((view: DataView, base: number) => string | undefined)[]; suffix: string } | undefined {
  const prefixes: string[] = [];
  const renderers: ((view: DataView, base: number) => string | undefined)[] = [];
  let next = 0;
  for (const d of program.directives) {
    if (d.conv.print === 'pct') { prefixes.push(d.prefix); renderers.push(() => '%'); continue; }
    if (d.flags.agg || d.flags.dynWidth || d.flags.dynPrec) return undefined;
    const f = args[next++];
    if (f === undefined) return undefined;
    const r = intDirective(d, f) ?? stringDirective(d, f, strsize);
    if (r === undefined) return undefined;
    prefixes.push(d.prefix);
    renderers.push(r);
  }
  if (next !== args.length) return undefined;
  return { prefixes, renderers, suffix: program.suffix };
}
