/**
 * @fileoverview The C printf(3) primitives (glibc behaviour, C locale) that every DTrace
 * output path is built from: integers with flags/width/precision, strings, characters and
 * floating point. printf.ts maps D's conversions onto these; trace, aggregation and histogram
 * code use them directly with the fixed formats Oracle's libdtrace uses (`" %16lld"` …).
 *
 * Strings are byte strings (one char per byte, see values.ts), so widths count bytes.
 */

/** The parsed flags, width and precision of one C conversion. */
export interface CSpec {
  alt: boolean;     // '#'
  zero: boolean;    // '0'
  left: boolean;    // '-'
  plus: boolean;    // '+'
  space: boolean;   // ' '
  group: boolean;   // '\'' (no effect in the C locale, where the thousands separator is empty)
  width: number;    // minimum field width (0: none)
  precision: number | undefined;
}

export function cspec(partial: Partial<CSpec> = {}): CSpec {
  return {
    alt: false, zero: false, left: false, plus: false, space: false, group: false,
    width: 0, precision: undefined, ...partial,
  };
}

/** Pads `body` to the field width with spaces (right-aligned unless `-`). */
export function padField(body: string, spec: CSpec): string {
  if (body.length >= spec.width) return body;
  const fill = ' '.repeat(spec.width - body.length);
  return spec.left ? body + fill : fill + body;
}

/**
 * Pads a numeric field: `prefix` is the sign / `0x`, `digits` the rest. With `0` (and no `-`,
 * and no precision for integers) the zeros go between prefix and digits, as glibc does.
 */
function padNumber(prefix: string, digits: string, spec: CSpec, zeroAllowed: boolean): string {
  const len = prefix.length + digits.length;
  if (len >= spec.width) return prefix + digits;
  if (spec.zero && !spec.left && zeroAllowed) return prefix + '0'.repeat(spec.width - len) + digits;
  return padField(prefix + digits, spec);
}

export type CIntConv = 'd' | 'i' | 'u' | 'o' | 'x' | 'X';

/**
 * Formats an integer. `value` is the mathematical value to print: for `d`/`i` it may be
 * negative; for `u o x X` the caller passes the already-unsigned value of the C argument.
 */
export function formatCInt(value: bigint, conv: CIntConv, spec: CSpec): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  let digits: string;
  switch (conv) {
    case 'd': case 'i': case 'u': digits = magnitude.toString(10); break;
    case 'o': digits = magnitude.toString(8); break;
    case 'x': digits = magnitude.toString(16); break;
    case 'X': digits = magnitude.toString(16).toUpperCase(); break;
  }
  if (spec.precision !== undefined) {
    if (spec.precision === 0 && magnitude === 0n) digits = '';
    else if (digits.length < spec.precision) digits = '0'.repeat(spec.precision - digits.length) + digits;
  }
  let prefix = '';
  if (conv === 'd' || conv === 'i') {
    if (negative) prefix = '-';
    else if (spec.plus) prefix = '+';
    else if (spec.space) prefix = ' ';
  } else if (spec.alt) {
    if (conv === 'o' && !digits.startsWith('0')) digits = '0' + digits;
    if ((conv === 'x' || conv === 'X') && magnitude !== 0n) prefix = conv === 'x' ? '0x' : '0X';
  }
  return padNumber(prefix, digits, spec, spec.precision === undefined);
}

/** `%s`: the precision truncates, the width pads (glibc pads strings with blanks even with `0`). */
export function formatCString(s: string, spec: CSpec): string {
  const body = spec.precision !== undefined && s.length > spec.precision ? s.slice(0, spec.precision) : s;
  return padField(body, spec);
}

/** `%c`: the int argument converted to unsigned char. */
export function formatCChar(code: bigint, spec: CSpec): string {
  return padField(String.fromCharCode(Number(BigInt.asUintN(8, code))), spec);
}

export type CFloatConv = 'e' | 'E' | 'f' | 'F' | 'g' | 'G';

/** `%e %f %g` (and upper-case forms) with glibc's rules for `#`, precision and exponents. */
export function formatCFloat(x: number, conv: CFloatConv, spec: CSpec): string {
  const upper = conv === 'E' || conv === 'F' || conv === 'G';
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  const a = Math.abs(x);
  let body: string;
  if (!Number.isFinite(a)) {
    body = Number.isNaN(a) ? 'nan' : 'inf';
    if (upper) body = body.toUpperCase();
    return padNumber(sign, body, spec, false);
  }
  const prec = spec.precision ?? 6;
  switch (conv) {
    case 'f': case 'F':
      body = fixed(a, prec, spec.alt);
      break;
    case 'e': case 'E':
      body = exponential(a, prec, spec.alt);
      break;
    case 'g': case 'G': {
      const p = prec === 0 ? 1 : prec;
      const exp = a === 0 ? 0 : decimalExponent(a, p);
      if (p > exp && exp >= -4) body = fixed(a, p - 1 - exp, spec.alt);
      else body = exponential(a, p - 1, spec.alt);
      if (!spec.alt) body = stripFractionZeros(body);
      break;
    }
  }
  if (upper) body = body.toUpperCase();
  return padNumber(sign, body, spec, true);
}

function fixed(a: number, prec: number, alt: boolean): string {
  // toFixed() switches to exponential notation at 1e21; C keeps printing every digit (and
  // every double that large is an integer).
  let s = a < 1e21 ? a.toFixed(Math.min(prec, 100)) : BigInt(a).toString(10) + (prec > 0 ? '.' + '0'.repeat(Math.min(prec, 100)) : '');
  if (prec > 100) s += '0'.repeat(prec - 100);
  if (alt && prec === 0) s += '.';
  return s;
}

function exponential(a: number, prec: number, alt: boolean): string {
  const s = a.toExponential(Math.min(prec, 100));
  const [mantissa, exp] = s.split('e') as [string, string];
  const expNum = Number(exp);
  const expDigits = Math.abs(expNum).toString().padStart(2, '0');
  const m = alt && prec === 0 ? mantissa + '.' : mantissa;
  return `${m}e${expNum < 0 ? '-' : '+'}${expDigits}`;
}

/** The exponent %e would print with `p` significant digits (after rounding). */
function decimalExponent(a: number, p: number): number {
  const s = a.toExponential(Math.max(0, Math.min(p - 1, 100)));
  return Number(s.slice(s.indexOf('e') + 1));
}

function stripFractionZeros(s: string): string {
  const e = s.search(/e/i);
  const mantissa = e >= 0 ? s.slice(0, e) : s;
  const rest = e >= 0 ? s.slice(e) : '';
  if (!mantissa.includes('.')) return s;
  return mantissa.replace(/\.?0+$/, '') + rest;
}
