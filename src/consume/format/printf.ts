/**
 * @fileoverview D's printf engine (actions-and-subroutines.md §2.3), after libdtrace's
 * dt_printf.c: the run-time renderer (the format parser is builtins/printf-format.ts, which the
 * checker validates arguments with) used by printf(), printa(), system() and freopen().
 *
 *   - `compilePrintf(fmt)` → `PrintfProgram | PrintfError`      parse (D_SYNTAX errors)
 *   - `formatPrintf(fmt | program, args, ctx)` → string           render with recorded values
 *   - `renderPrintf(program, args, aggs, ctx)`                     (printa: `%@` cells)
 *
 * A D printf differs from C's: integer size comes from the argument's type (never from
 * `l`/`ll`), `%d` of an unsigned type prints unsigned, `%p` is bare hex, precision 0 is
 * ignored, and there are the extra conversions `%a %A %k %S %C %T %Y` and `%@`.
 */
import { type CSpec, cspec, formatCChar, formatCFloat, formatCInt, formatCString } from './cformat.js';
import { formatHistogramValue, stddevOf } from './aggregate.js';
import { formatStack } from './stack.js';
import { formatKernelAddress } from '../ksyms.js';
import { formatRfc822Time, formatWallTime } from './timefmt.js';
import { type AggDesc, type AggValue, type Value, toSigned, toUnsigned } from './values.js';
import { type ArgCheck, type PrintKind, type Conversion, CONVERSIONS, type PrintfFlags, type PrintfDirective, type PrintfProgram, type PrintfError, isPrintfError, compilePrintf } from '../../builtins/printf-format.js';
export { type ArgCheck, type PrintKind, type Conversion, CONVERSIONS, type PrintfFlags, type PrintfDirective, type PrintfProgram, type PrintfError, isPrintfError, compilePrintf } from '../../builtins/printf-format.js';

// ---------------------------------------------------------------------------------------
// Rendering.

/** What the renderer needs from the running consumer. */
export interface FormatContext {
  /** Kernel address → ``mod`sym+0xoff`` text for `%a` of a plain integer. */
  kernelSymbol?: (addr: bigint) => string | undefined;
  /** User address → ``obj`sym+0xoff`` text for `%A` of a plain integer ($target's pid). */
  userSymbol?: (pid: bigint | undefined, addr: bigint) => string | undefined;
  /** `stackindent` (default 14); printa's `%k` overrides it. */
  stackIndent?: number;
  /** `strsize` (default 256): a `%S` string shorter than this shows its terminating `\0`. */
  strsizeBytes?: number;
  /** IANA zone for `%Y`/`%T` (default: the process's local zone, as Oracle uses). */
  timeZone?: string;
}

/** One aggregation's value for a printa `%@` conversion. */
export interface AggCell { desc: AggDesc; value: AggValue; normal?: bigint }

const compiled = new Map<string, PrintfProgram | PrintfError>();

function programOf(fmt: string | PrintfProgram): PrintfProgram | PrintfError {
  if (typeof fmt !== 'string') return fmt;
  let p = compiled.get(fmt);
  if (p === undefined) {
    p = compilePrintf(fmt);
    compiled.set(fmt, p);
  }
  return p;
}

/** printf(fmt, args…): the text the record prints (no newline added). */
export function formatPrintf(fmt: string | PrintfProgram, args: readonly Value[], ctx: FormatContext = {}): string {
  const program = programOf(fmt);
  if (isPrintfError(program)) return '';
  return renderPrintf(program, args, undefined, ctx);
}

/** `(int)` of a recorded dynamic width/precision (dt_printf_getint). */
function intArg(v: Value | undefined): number {
  if (v === undefined || v.kind !== 'int') return 0;
  return Number(BigInt.asIntN(32, v.value));
}

/**
 * Renders a program. Plain conversions consume `args` in order (a dynamic width, then a
 * dynamic precision, then the value); `%@` conversions take `aggs[0]`, `aggs[1]`, …, and
 * reuse the last one when there are more `%@` than aggregations. Rendering stops (as
 * dt_printf_format returns an error) when the arguments run out.
 */
export function renderPrintf(program: PrintfProgram, args: readonly Value[], aggs: readonly AggCell[] | undefined, ctx: FormatContext = {}): string {
  let out = '';
  let next = 0;
  let curAgg = 0;
  for (const d of program.directives) {
    out += d.prefix;
    if (d.conv.print === 'pct') { out += '%'; continue; }
    let width = d.width;
    let dynWidth = 0;
    let prec = d.precision;
    if (d.flags.dynWidth) {
      if (next >= args.length) return out;
      width = dynWidth = intArg(args[next++]);
    }
    if (d.flags.dynPrec) {
      if (next >= args.length) return out;
      prec = intArg(args[next++]);
    }
    const spec = cspec({
      alt: d.flags.alt, zero: d.flags.zero, left: width < 0 || d.flags.left, plus: d.flags.plus,
      space: d.flags.space, group: d.flags.group, width: Math.abs(width),
      precision: prec > 0 ? prec : undefined,
    });
    if (d.flags.agg) {
      const cell = aggs?.[curAgg];
      if (cell === undefined) return out;
      if (aggs !== undefined && curAgg < aggs.length - 1) curAgg++;
      out += renderAggCell(d, spec, cell, ctx);
      continue;
    }
    const v = args[next++];
    if (v === undefined) return out;
    out += renderValue(d, spec, dynWidth, v, ctx);
  }
  return out + program.suffix;
}

/** An integer record printed by pfprint_sint / pfprint_uint / pfprint_dint. */
function renderInt(d: PrintfDirective, spec: CSpec, value: bigint, sizeBytes: number, signed: boolean, normal = 1n): string {
  let kind = d.conv.print;
  if (kind === 'dint') kind = signed ? 'sint' : 'uint';
  let outConv = d.conv.outConv;
  if (d.conv.print === 'dint' && !signed) outConv = 'u';
  let x: bigint;
  if (kind === 'sint') {
    const n = sizeBytes === 8 ? BigInt.asIntN(64, normal) : BigInt.asIntN(32, normal);
    x = toSigned(value, sizeBytes) / (n === 0n ? 1n : n);
    if (sizeBytes === 8) x = BigInt.asIntN(64, x);
  } else {
    const n = sizeBytes === 8 ? BigInt.asUintN(64, normal) : BigInt.asUintN(32, normal);
    x = toUnsigned(value, sizeBytes) / (n === 0n ? 1n : n);
  }
  switch (outConv) {
    case 'c': case 'lc': case 'wc': return formatCChar(x, spec);
    case 'd': case 'i': return formatCInt(x, 'd', spec);
    case 'u': return formatCInt(BigInt.asUintN(sizeBytes === 8 ? 64 : 32, x), 'u', spec);
    case 'o': case 'x': case 'X':
      return formatCInt(BigInt.asUintN(sizeBytes === 8 ? 64 : 32, x), outConv, spec);
    default: return formatCInt(x, 'd', spec);
  }
}

/** strchr2esc: C escapes for `%S`/`%C`. */
export function escapeString(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0) & 0xff;
    switch (c) {
      case 0: out += '\\0'; break;
      case 7: out += '\\a'; break;
      case 8: out += '\\b'; break;
      case 12: out += '\\f'; break;
      case 10: out += '\\n'; break;
      case 13: out += '\\r'; break;
      case 9: out += '\\t'; break;
      case 11: out += '\\v'; break;
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x20: out += ' '; break;
      default:
        out += c < 0x21 || c > 0x7e ? '\\' + c.toString(8).padStart(3, '0') : ch;
    }
    if (c === 0) break;
  }
  return out;
}

function textOf(v: Value): string {
  switch (v.kind) {
    case 'string': return v.value;
    case 'symbol': return v.text;
    case 'bytes': {
      const nul = v.bytes.indexOf(0);
      return String.fromCharCode(...(nul >= 0 ? v.bytes.subarray(0, nul) : v.bytes));
    }
    case 'int': return v.value.toString();
    case 'float': return String(v.value);
    case 'stack': return v.frames.join('\n');
  }
}

function renderValue(d: PrintfDirective, spec: CSpec, dynWidth: number, v: Value, ctx: FormatContext): string {
  switch (d.conv.print) {
    case 'sint': case 'uint': case 'dint':
      if (v.kind === 'int') return renderInt(d, spec, v.value, v.sizeBytes, v.signed);
      if (v.kind === 'float') return renderInt(d, spec, BigInt(Math.trunc(v.value)), 8, true);
      return formatCString(textOf(v), spec);
    case 'fp': {
      const x = v.kind === 'float' ? v.value : v.kind === 'int' ? Number(v.value) : NaN;
      return formatCFloat(x, d.conv.outConv as 'e', spec);
    }
    case 'addr':
      if (v.kind === 'int') {
        const addr = toUnsigned(v.value, v.sizeBytes);
        // dtrace_addr2str: ``module`name+0xoff`` from the running kernel's symbols, else hex.
        return formatCString(ctx.kernelSymbol ? (ctx.kernelSymbol(addr) ?? `0x${addr.toString(16)}`) : formatKernelAddress(addr), spec);
      }
      return formatCString(textOf(v), spec);
    case 'uaddr':
      if (v.kind === 'int') {
        const addr = toUnsigned(v.value, v.sizeBytes);
        return formatCString(ctx.userSymbol?.(undefined, addr) ?? `0x${addr.toString(16)}`, spec);
      }
      return formatCString(textOf(v), spec);
    case 'stack': {
      if (v.kind !== 'stack') return formatCString(textOf(v), spec);
      // pfprint_stack: a left-justified width is the indentation; otherwise no indentation
      // and every frame is printed with the width.
      let indent = 0;
      if (dynWidth < 0) indent = -dynWidth;
      else if (d.flags.left) indent = dynWidth !== 0 ? dynWidth : d.width;
      const frameSpec = d.flags.left ? { ...spec, width: 0 } : spec;
      return formatStack(v.frames, indent, frameSpec);
    }
    case 'time': case 'time822': {
      const ns = v.kind === 'int' ? v.value : 0n;
      const text = d.conv.print === 'time' ? formatWallTime(ns, ctx.timeZone) : formatRfc822Time(ns, ctx.timeZone);
      return formatCString(text, spec);
    }
    case 'cstr': case 'wstr':
      return formatCString(textOf(v), spec);
    case 'estr': {
      const s = textOf(v);
      // The record is strsize bytes: the first NUL after the text is printed as \0 too.
      const withNul = s.length < (ctx.strsizeBytes ?? 256) ? s + '\0' : s;
      return formatCString(escapeString(withNul), spec);
    }
    case 'echr': {
      const code = v.kind === 'int' ? Number(BigInt.asUintN(8, v.value)) : textOf(v).charCodeAt(0) || 0;
      return formatCString(escapeString(String.fromCharCode(code)), spec);
    }
    case 'pct':
      return '%';
  }
}

/** A `%@` conversion: the aggregation's value (avg/stddev derived, histograms as blocks). */
function renderAggCell(d: PrintfDirective, spec: CSpec, cell: AggCell, ctx: FormatContext): string {
  const normal = cell.normal ?? 1n;
  const v = cell.value;
  const signedAgg = cell.desc.fn !== 'count';
  // %@T %@Y %@a %@A print the 64-bit value as printf() would, unnormalised (dt_printf hands
  // the aggregation's data to the conversion's own function).
  const byValue = ['time', 'time822', 'addr', 'uaddr'].includes(d.conv.print);
  if (v.kind === 'scalar' && byValue) return renderValue(d, spec, 0, { kind: 'int', value: v.value, sizeBytes: 8, signed: signedAgg }, ctx);
  switch (v.kind) {
    case 'hist':
      return formatHistogramValue(cell.desc, v.buckets, cell.normal);
    case 'avg': {
      // pfprint_average divides as uint64_t and hands the bits to the format.
      const bits = v.count === 0n ? 0n
        : ((BigInt.asUintN(64, v.sum) / BigInt.asUintN(64, normal === 0n ? 1n : normal)) / BigInt.asUintN(64, v.count));
      return renderInt(d, spec, bits, 8, signedAgg);
    }
    case 'stddev':
      return renderInt(d, spec, stddevOf(v.count, v.sum, v.sumSq, normal), 8, signedAgg);
    case 'scalar':
      return renderInt(d, spec, v.value, 8, signedAgg, normal);
  }
}
