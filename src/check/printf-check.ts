/**
 * @fileoverview Compile-time checking of printf-like format strings against argument types
 * (printf, printa, system, freopen), with DTrace's messages (D_PRINTF_*, and D_SYNTAX for a
 * malformed conversion). The consumer's formatting engine does the printing; this file only
 * parses conversions far enough to know what each one accepts.
 */
import { fail } from './abort.js';
import type { Span } from '../diag/source.js';

/** What a conversion accepts. */
export type ConvClass =
  | 'int' | 'uint' | 'sint' | 'char' | 'float' | 'ptr' | 'addr' | 'uaddr' | 'string' | 'wstring'
  | 'stack' | 'time' | 'percent' | 'aggvalue';

export interface FormatConversion {
  /** The conversion text as written, without the `%` (`-8d`, `lld`, `@u`). */
  text: string;
  /** The conversion character (`d`, `s`, …). */
  conv: string;
  /** Length prefix (`h`, `l`, `ll`, `L`, `w`, or ''). */
  length: string;
  cls: ConvClass;
  dynamicWidth: boolean;
  dynamicPrecision: boolean;
  /** `%@…`: the aggregation value (printa only). */
  aggValue: boolean;
  /** Human description of the accepted types, as DTrace words it in errors. */
  prototype: string;
}

const PROTO_INT = 'char, short, int, long, or long long';

function classify(conv: string, length: string, hint: string): { cls: ConvClass; prototype: string } | undefined {
  switch (conv) {
    case 'd': case 'i':
      if (length === 'h') return { cls: 'int', prototype: 'short' };
      if (length === 'l') return { cls: 'int', prototype: 'long' };
      if (length === 'll') return { cls: 'int', prototype: 'long long' };
      return { cls: 'int', prototype: PROTO_INT };
    case 'u': case 'o': case 'x': case 'X':
      if (length === 'h') return { cls: 'int', prototype: conv === 'x' || conv === 'X' ? 'short' : 'unsigned short' };
      if (length === 'l') return { cls: 'int', prototype: conv === 'x' || conv === 'X' ? 'long' : 'unsigned long' };
      if (length === 'll') return { cls: 'int', prototype: conv === 'x' || conv === 'X' ? 'long long' : 'unsigned long long' };
      return { cls: 'int', prototype: PROTO_INT };
    case 'c':
      if (length === 'l' || length === 'w') return { cls: 'int', prototype: 'int' };
      return { cls: 'char', prototype: 'char, short, or int' };
    case 'C': return { cls: 'char', prototype: 'char, short, or int' };
    case 'e': case 'E': case 'f': case 'g': case 'G':
      return { cls: 'float', prototype: length === 'L' ? 'long double' : 'float, double, or long double' };
    case 'p': return { cls: 'ptr', prototype: 'pointer or integer' };
    case 'a': return { cls: 'addr', prototype: 'pointer or integer' };
    case 'A': return { cls: 'uaddr', prototype: 'pointer or integer (with -p/-c) or _usymaddr (without -p/-c)' };
    case 's': case 'S':
      if (length === 'l' || length === 'w') return { cls: 'wstring', prototype: 'wchar_t []' };
      return { cls: 'string', prototype: 'char [] or string (or use stringof)' };
    case 'k': return { cls: 'stack', prototype: 'stack' };
    case 'Y': case 'T': return { cls: 'time', prototype: 'int64_t' };
    default: void hint; return undefined;
  }
}

/** Parses a format string into its conversions; malformed conversions fail with D_SYNTAX. */
export function parseFormat(format: string, span: Span): FormatConversion[] {
  const out: FormatConversion[] = [];
  let n = 0;
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    const start = ++i;
    n++;
    if (format[i] === '%') { continue; }
    let dynamicWidth = false, dynamicPrecision = false, aggValue = false, dots = 0, stars = 0, flagsSeen = false;
    // flags, width, precision, length
    for (; i < format.length; i++) {
      const c = format[i]!;
      if ('-+ #0\''.includes(c) && !dots) { flagsSeen = true; continue; }
      if (c === '@') { aggValue = true; continue; }
      if (c >= '0' && c <= '9') continue;
      if (c === '$') fail('D_SYNTAX', `format conversion #${n} uses unsupported positional format (%n$)`, span);
      if (c === '?') continue;
      if (c === '*') {
        if (dots) {
          if (dynamicPrecision) fail('D_SYNTAX', `format conversion #${n} has more than one '*' specified for the output precision`, span);
          dynamicPrecision = true;
        } else {
          if (++stars > 1) fail('D_SYNTAX', `format conversion #${n} has more than one '*' specified for the output width`, span);
          dynamicWidth = true;
        }
        continue;
      }
      if (c === '.') { if (++dots > 1) fail('D_SYNTAX', `format conversion #${n} has more than one '.' specified`, span); continue; }
      break;
    }
    let length = '';
    while (i < format.length && 'hlLw'.includes(format[i]!)) length += format[i++];
    if (i >= format.length) fail('D_SYNTAX', `format conversion #${n} name expected before end of format string`, span);
    const conv = format[i]!;
    if (conv === '%') {
      if (flagsSeen || dynamicWidth || dots || length) fail('D_SYNTAX', `format conversion #${n} cannot be combined with other format flags: %%`, span);
      continue;
    }
    const text = format.slice(start, i + 1);
    if (length === 'hh' || !['', 'h', 'l', 'll', 'L', 'w'].includes(length)) fail('D_SYNTAX', `format conversion #${n} is undefined: %${text}`, span);
    const c = classify(conv, length, text);
    if (!c) fail('D_SYNTAX', `format conversion #${n} is undefined: %${length}${conv}`, span);
    out.push({ text, conv, length, ...c, dynamicWidth, dynamicPrecision, aggValue: aggValue, cls: aggValue ? 'aggvalue' : c.cls });
  }
  return out;
}
