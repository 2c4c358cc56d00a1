/**
 * @fileoverview trace() and tracemem() output (actions-and-subroutines.md §2.1–2.2), after
 * dt_print_trace, dt_print_bytes and dt_print_rawbytes.
 *
 *   - `formatTrace(v, quiet, opts?)`          one trace() record
 *   - `formatRawBytes(bytes)`                 the tracemem / rawbytes hex dump
 *   - `formatTracemem(bytes, dynSize?)`       tracemem(addr, n [, dynsize])
 *   - `formatBytesDatum(bytes, width, quiet)` by-reference data: a string if it looks like one
 */
import { cspec, formatCInt } from './cformat.js';
import { formatStack } from './stack.js';
import { type Value, toSigned, toUnsigned } from './values.js';

export interface TraceOptions {
  /** Option `rawbytes`: every traced value is printed as a hex dump. */
  rawbytes?: boolean;
  stackIndent?: number;
}

/** Non-quiet integer column widths (after the separating blank) by size. */
const SIGNED_WIDTH = { 1: 3, 2: 5, 4: 10, 8: 19 } as const;
const UNSIGNED_WIDTH = { 1: 3, 2: 5, 4: 10, 8: 20 } as const;

/** The bytes of an integer as it sits in the record (little-endian). */
function intBytes(value: bigint, sizeBytes: number): Uint8Array {
  const out = new Uint8Array(sizeBytes);
  let x = toUnsigned(value, sizeBytes);
  for (let i = 0; i < sizeBytes; i++) { out[i] = Number(x & 0xffn); x >>= 8n; }
  return out;
}

function latin1Bytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** One trace() record. */
export function formatTrace(v: Value, quiet: boolean, opts: TraceOptions = {}): string {
  if (opts.rawbytes) {
    switch (v.kind) {
      case 'int': return formatRawBytes(intBytes(v.value, v.sizeBytes));
      case 'string': return formatRawBytes(latin1Bytes(v.value));
      case 'bytes': return formatRawBytes(v.bytes);
      default: break;
    }
  }
  switch (v.kind) {
    case 'int': {
      if (quiet) {
        return (v.signed ? toSigned(v.value, v.sizeBytes) : toUnsigned(v.value, v.sizeBytes)).toString();
      }
      const width = v.signed ? SIGNED_WIDTH[v.sizeBytes] : UNSIGNED_WIDTH[v.sizeBytes];
      const x = v.signed ? toSigned(v.value, v.sizeBytes) : toUnsigned(v.value, v.sizeBytes);
      return ' ' + formatCInt(x, v.signed ? 'd' : 'u', cspec({ width }));
    }
    case 'string':
      return quiet ? v.value : '  ' + v.value.padEnd(33);
    case 'bytes':
      return formatRawBytes(v.bytes);
    case 'symbol':
      return '  ' + v.text.padEnd(50);
    case 'stack':
      return formatStack(v.frames, opts.stackIndent);
    case 'float':
      return quiet ? String(v.value) : ' ' + String(v.value).padStart(19);
  }
}

/**
 * The hex dump: a column header, then 16 bytes per row, `%5x:` offset labels, and the
 * printable characters (`.` for bytes outside ' '..'~'). Nothing at all for zero bytes.
 */
export function formatRawBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const margin = ' '.repeat(5);
  let out = `\n${margin}      `;
  for (let i = 0; i < 16; i++) out += '  ' + '0123456789abcdef'[i];
  out += '  0123456789abcdef\n';
  for (let i = 0; i < bytes.length; i += 16) {
    out += margin + i.toString(16).padStart(5) + ':';
    const row = bytes.subarray(i, Math.min(i + 16, bytes.length));
    for (const b of row) out += ' ' + b.toString(16).padStart(2, '0');
    out += '   '.repeat(16 - row.length);
    out += '  ';
    // C compares a signed char: bytes ≥ 0x80 are negative, hence below ' ' and shown as '.'.
    for (const b of row) out += b < 0x20 || b > 0x7e ? '.' : String.fromCharCode(b);
    out += '\n';
  }
  return out;
}

/**
 * tracemem(addr, n [, dynsize]): the first min(n, dynsize) bytes when dynsize is given and
 * not negative (as a signed number of `dynSizeBytes` bytes); a negative dynsize prints all n.
 */
export function formatTracemem(bytes: Uint8Array, dynSize?: bigint, dynSizeBytes: 1 | 2 | 4 | 8 = 8, dynSigned = true): string {
  let size = bytes.length;
  if (dynSize !== undefined) {
    const positive = !dynSigned || toSigned(dynSize, dynSizeBytes) >= 0n;
    const d = toUnsigned(dynSize, dynSizeBytes);
    if (positive && d < BigInt(size)) size = Number(d);
  }
  return formatRawBytes(bytes.subarray(0, size));
}

/** isprint || isspace || \b || \a, in the C locale. */
function printableOrSpace(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d) || b === 0x08 || b === 0x07;
}

/**
 * dt_print_bytes: data that is printable characters followed only by NULs (or printable
 * throughout) is printed as a string (`"  %-*s"`, or `%s` when quiet); anything else as a
 * hex dump. Used for by-reference aggregation keys (width 50).
 */
export function formatBytesDatum(bytes: Uint8Array, width: number, quiet: boolean): string {
  if (bytes.length === 0) return '';
  let i = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (printableOrSpace(b)) continue;
    if (b === 0 && i > 0) {
      for (let j = i + 1; j < bytes.length; j++) if (bytes[j] !== 0) return formatRawBytes(bytes);
      const s = String.fromCharCode(...bytes.subarray(0, i));
      return quiet ? s : '  ' + s.padEnd(width);
    }
    break;
  }
  if (i === bytes.length) return '  ' + String.fromCharCode(...bytes).padEnd(width);
  return formatRawBytes(bytes);
}
