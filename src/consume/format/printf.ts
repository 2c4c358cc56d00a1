/**
 * @fileoverview D's printf engine (actions-and-subroutines.md §2.3), after libdtrace's
 * dt_printf.c: the format parser, the compile-time argument check with DTrace's own
 * diagnostics, and the run-time renderer used by printf(), printa(), system() and freopen().
 *
 *   - `compilePrintf(fmt)` → `PrintfProgram | PrintfError`      parse (D_SYNTAX errors)
 *   - `checkPrintf(program, args, opts)` → `PrintfError | undefined`
 *         validate argument types against each conversion (D_PRINTF_* / D_PRINTF_ARG_TYPE…)
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
import { formatRfc822Time, formatWallTime } from './timefmt.js';
import { type AggDesc, type AggValue, type Value, toSigned, toUnsigned } from './values.js';
import { type ArgCheck, type PrintKind, type Conversion, CONVERSIONS, type PrintfFlags, type PrintfDirective, type PrintfProgram, type PrintfError, isPrintfError, compilePrintf } from '../../builtins/printf-format.js';
export { type ArgCheck, type PrintKind, type Conversion, CONVERSIONS, type PrintfFlags, type PrintfDirective, type PrintfProgram, type PrintfError, isPrintfError, compilePrintf } from '../../builtins/printf-format.js';

/** What the checker knows about one argument's D type (enough for every pfcheck_*). */
export interface PrintfArgType {
  kind: 'int' | 'pointer' | 'float' | 'string' | 'chararray' | 'wchararray' | 'stack' | 'aggregation' | 'other';
  sizeBytes: number;
  signed?: boolean;
  /** `_symaddr` (sym/func results) or `_usymaddr` (usym/uaddr results); they are integers. */
  symAddr?: 'kernel' | 'user';
  /** ctf_type_name of the resolved type: `short`, `unsigned long`, `long long`, `int` … */
  cTypeName?: string;
  /** Typedef names from the outermost in (for `%llx` accepting `int64_t`/`uint64_t`). */
  typedefNames?: string[];
  /** dt_node_type_name, shown in messages: `int`, `string`, `aggregation`, `char *` … */
  displayName: string;
}

export interface PrintfCheckOptions {
  /** The action's name in messages: printf, printa, system, freopen. */
  func: string;
  /** printa(): `%@` allowed; extra arguments allowed. */
  aggregation?: boolean;
  /** The aggregating function printa prints (`%@` of count() is unsigned). */
  aggFn?: string;
  /** Argument number of the first value (1 for printf, whose argument #1 is the format). */
  argOffset?: number;
  /** -p / -c given ($target defined): `%A` accepts plain pointers/integers. */
  hasTarget?: boolean;
}

/** The named C types pfcheck_type compares against (ctf_type_compat: kind + encoding). */
const NAMED_TYPES: Record<string, { kind: 'int' | 'float'; sizeBytes: number; signed: boolean }> = {
  'short': { kind: 'int', sizeBytes: 2, signed: true },
  'unsigned short': { kind: 'int', sizeBytes: 2, signed: false },
  'int': { kind: 'int', sizeBytes: 4, signed: true },
  'long': { kind: 'int', sizeBytes: 8, signed: true },
  'unsigned long': { kind: 'int', sizeBytes: 8, signed: false },
  'long long': { kind: 'int', sizeBytes: 8, signed: true },
  'unsigned long long': { kind: 'int', sizeBytes: 8, signed: false },
  'long double': { kind: 'float', sizeBytes: 16, signed: true },
};

function isInteger(t: PrintfArgType): boolean {
  return t.kind === 'int';
}

function argMatches(c: Conversion, t: PrintfArgType, opts: PrintfCheckOptions): boolean {
  switch (c.check) {
    case 'addr': return t.kind === 'pointer' || isInteger(t);
    case 'kaddr': return t.kind === 'pointer' || isInteger(t);
    case 'uaddr': return t.symAddr === 'user' || (opts.hasTarget === true && (t.kind === 'pointer' || isInteger(t)));
    case 'stack': return t.kind === 'stack';
    case 'time': return isInteger(t) && t.sizeBytes === 8;
    case 'str': return t.kind === 'string' || t.kind === 'chararray';
    case 'wstr': return t.kind === 'wchararray';
    case 'csi': return isInteger(t) && t.sizeBytes <= 4;
    case 'fp': return t.kind === 'float';
    case 'xint': case 'dint': return isInteger(t);
    case 'xshort': return ['short', 'signed short', 'unsigned short'].includes(t.cTypeName ?? '');
    case 'xlong': return ['long', 'signed long', 'unsigned long'].includes(t.cTypeName ?? '');
    case 'xlonglong':
      return ['long long', 'signed long long', 'unsigned long long'].includes(t.cTypeName ?? '') ||
        (t.typedefNames ?? []).some((n) => n === 'int64_t' || n === 'uint64_t');
    case 'type': {
      const want = NAMED_TYPES[c.proto];
      if (want === undefined) return false;
      if (want.kind === 'float') return t.kind === 'float' && t.sizeBytes === want.sizeBytes;
      return isInteger(t) && t.symAddr === undefined && t.sizeBytes === want.sizeBytes && (t.signed ?? true) === want.signed;
    }
  }
}

/**
 * Validates arguments against a parsed format (dt_printf_validate). `args` are the value
 * arguments after the format (for printa: the aggregation's key types). Returns the first
 * error, with DTrace's tag and message, or undefined.
 */
export function checkPrintf(program: PrintfProgram, args: readonly PrintfArgType[], opts: PrintfCheckOptions): PrintfError | undefined {
  const func = opts.func;
  const foff = opts.argOffset ?? 1;
  if (program.format === '') return { tag: 'D_PRINTF_FMT_EMPTY', error: `${func}( ) format string is empty` };
  const aggType: PrintfArgType = opts.aggFn === 'count'
    ? { kind: 'int', sizeBytes: 8, signed: false, cTypeName: 'unsigned long', typedefNames: ['uint64_t'], displayName: 'uint64_t' }
    : { kind: 'int', sizeBytes: 8, signed: true, cTypeName: 'long', typedefNames: ['int64_t'], displayName: 'int64_t' };
  let j = 0;
  for (const d of program.directives) {
    const c = d.conv;
    if (c.print === 'pct') continue;
    const dyns: string[] = [];
    if (d.flags.dynWidth) dyns.push('*');
    if (d.flags.dynPrec) dyns.push('.*');
    for (const dyn of dyns) {
      const t = args[j];
      if (t === undefined) {
        return { tag: 'D_PRINTF_DYN_PROTO', error: `${func}( ) prototype mismatch: conversion #${d.index} (%${c.name}) is missing a corresponding "${dyn}" argument` };
      }
      if (!isInteger(t)) {
        return {
          tag: 'D_PRINTF_DYN_TYPE',
          error: `${func}( ) argument #${j + foff + 1} is incompatible with conversion #${d.index} prototype:\n` +
            `\tconversion: % ${dyn} ${c.name}\n\t prototype: int\n\t  argument: ${t.displayName}`,
        };
      }
      j++;
    }
    let vname: string;
    let vt: PrintfArgType;
    if (d.flags.agg) {
      if (!opts.aggregation) {
        return { tag: 'D_PRINTF_AGG_CONV', error: `%@ conversion requires an aggregation and is not for use with ${func}( )` };
      }
      vname = 'aggregating action';
      vt = aggType;
    } else {
      const t = args[j];
      if (t === undefined) {
        return { tag: 'D_PRINTF_ARG_PROTO', error: `${func}( ) prototype mismatch: conversion #${d.index} (%${c.name}) is missing a corresponding value argument` };
      }
      vname = `argument #${j + foff + 1}`;
      vt = t;
      j++;
    }
    if (!argMatches(c, vt, opts)) {
      return {
        tag: 'D_PRINTF_ARG_TYPE',
        error: `${func}( ) ${vname} is incompatible with conversion #${d.index} prototype:\n` +
          `\tconversion: %${c.name}\n\t prototype: ${c.proto}\n\t  argument: ${vt.displayName}`,
      };
    }
  }
  if (!opts.aggregation && j < args.length) {
    return { tag: 'D_PRINTF_ARG_EXTRA', error: `${func}( ) prototype mismatch: only ${j} arguments required by this format string` };
  }
  return undefined;
}

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
      out += renderAggCell(d, spec, cell);
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
        return formatCString(ctx.kernelSymbol?.(addr) ?? `0x${addr.toString(16)}`, spec);
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
function renderAggCell(d: PrintfDirective, spec: CSpec, cell: AggCell): string {
  const normal = cell.normal ?? 1n;
  const v = cell.value;
  const signedAgg = cell.desc.fn !== 'count';
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
