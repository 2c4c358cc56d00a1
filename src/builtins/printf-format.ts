/**
 * @fileoverview D's printf formats (dt_printf.c's dt_printf_create): the conversion table and
 * the format parser, shared by the checker, code generation (which arguments a %s consumes)
 * and the consumer (consume/format/printf.ts renders with them).
 */

/** How a conversion checks its argument (the pfcheck_* functions). */
export type ArgCheck =
  | 'addr' | 'kaddr' | 'uaddr' | 'stack' | 'time' | 'str' | 'wstr' | 'csi' | 'fp' | 'xint'
  | 'dint' | 'xshort' | 'xlong' | 'xlonglong' | 'type';

/** How a conversion prints its argument (the pfprint_* functions). */
export type PrintKind =
  | 'sint' | 'uint' | 'dint' | 'fp' | 'addr' | 'uaddr' | 'stack' | 'time' | 'time822'
  | 'cstr' | 'wstr' | 'estr' | 'echr' | 'pct';

export interface Conversion {
  /** The name as written after flags/width (`d`, `lld`, `hx`, `k`, `%`). */
  name: string;
  /** The C conversion it prints with (`d`, `x`, `s`, `c` …). */
  outConv: string;
  /** Prototype text for error messages (or the C type name for 'type' checks). */
  proto: string;
  check: ArgCheck;
  print: PrintKind;
}

const XINT = 'char, short, int, long, or long long';
const CSI = 'char, short, or int';
const FP = 'float, double, or long double';
const ADDR = 'pointer or integer';
const UADDR = 'pointer or integer (with -p/-c) or _usymaddr (without -p/-c)';
const CSTR = 'char [] or string (or use stringof)';
const WSTR = 'wchar_t []';

function conv(name: string, outConv: string, proto: string, check: ArgCheck, print: PrintKind): Conversion {
  return { name, outConv, proto, check, print };
}

/**
 * The integer conversions with a size modifier (h, l, ll) and their size's C type: d and i
 * signed, o and u unsigned, x and X unsigned output with their own argument check.
 */
function sizedIntegers(modifier: string, type: string, hexCheck: ArgCheck): Conversion[] {
  return [
    ...['d', 'i'].map((c) => conv(modifier + c, c, type, 'type', 'sint')),
    ...['o', 'u'].map((c) => conv(modifier + c, c, `unsigned ${type}`, 'type', 'uint')),
    ...['x', 'X'].map((c) => conv(modifier + c, c, type, hexCheck, 'uint')),
  ];
}

/** The floating-point conversions; with the L modifier they take a long double. */
const floats = (modifier: '' | 'L'): Conversion[] =>
  [...'eEfgG'].map((c) => conv(modifier + c, c, modifier ? 'long double' : FP, modifier ? 'type' : 'fp', 'fp'));

/** The conversion dictionary (dt_printf.c's _dtrace_conversions). */
export const CONVERSIONS: ReadonlyMap<string, Conversion> = new Map([
  conv('a', 's', ADDR, 'kaddr', 'addr'),
  conv('A', 's', UADDR, 'uaddr', 'uaddr'),
  conv('c', 'c', CSI, 'csi', 'sint'),
  conv('C', 's', CSI, 'csi', 'echr'),
  conv('d', 'd', XINT, 'dint', 'dint'),
  ...floats(''),
  ...sizedIntegers('h', 'short', 'xshort'),
  conv('i', 'i', XINT, 'dint', 'dint'),
  conv('k', 's', 'stack', 'stack', 'stack'),
  conv('lc', 'lc', 'int', 'type', 'sint'),
  ...sizedIntegers('l', 'long', 'xlong'),
  conv('ls', 'ls', WSTR, 'wstr', 'wstr'),
  ...sizedIntegers('ll', 'long long', 'xlonglong'),
  ...floats('L'),
  conv('o', 'o', XINT, 'xint', 'uint'),
  conv('p', 'x', ADDR, 'addr', 'uint'),
  conv('s', 's', CSTR, 'str', 'cstr'),
  conv('S', 's', CSTR, 'str', 'estr'),
  conv('T', 's', 'int64_t', 'time', 'time822'),
  conv('u', 'u', XINT, 'xint', 'uint'),
  conv('wc', 'wc', 'int', 'type', 'sint'),
  conv('ws', 'ws', WSTR, 'wstr', 'wstr'),
  conv('x', 'x', XINT, 'xint', 'uint'),
  conv('X', 'X', XINT, 'xint', 'uint'),
  conv('Y', 's', 'int64_t', 'time', 'time'),
  conv('%', '%', 'void', 'type', 'pct'),
].map((c) => [c.name, c]));

export interface PrintfFlags {
  alt: boolean; zero: boolean; left: boolean; plus: boolean; space: boolean; group: boolean;
  /** `@`: takes the aggregation value (printa only). */
  agg: boolean;
  /** `*` width / `.*` precision taken from an argument. */
  dynWidth: boolean;
  dynPrec: boolean;
}

/** One `%…` directive, with the literal text before it. */
export interface PrintfDirective {
  prefix: string;
  /** 1-based position among the `%` directives (DTrace's "conversion #N"). */
  index: number;
  conv: Conversion;
  flags: PrintfFlags;
  width: number;
  precision: number;
}

export interface PrintfProgram {
  format: string;
  directives: PrintfDirective[];
  /** Literal text after the last directive. */
  suffix: string;
}

export interface PrintfError { tag: string; error: string }

export function isPrintfError(x: PrintfProgram | PrintfError): x is PrintfError {
  return 'error' in x;
}

/** Parses a format string exactly as dt_printf_create does. */
export function compilePrintf(fmt: string): PrintfProgram | PrintfError {
  const directives: PrintfDirective[] = [];
  let q = 0;
  let index = 0;
  for (let p = fmt.indexOf('%', q); p >= 0; p = fmt.indexOf('%', q)) {
    index++;
    const prefix = fmt.slice(q, p);
    const flags: PrintfFlags = {
      alt: false, zero: false, left: false, plus: false, space: false, group: false,
      agg: false, dynWidth: false, dynPrec: false,
    };
    let width = 0;
    let precision = 0;
    let digits = 0;
    let dot = 0;
    let name = '';
    const err = (msg: string): PrintfError => ({ tag: 'D_SYNTAX', error: `format conversion #${index} ${msg}` });
    let i = p;
    for (;;) {
      i++;
      const c = fmt[i];
      if (c === undefined) return err('name expected before end of format string');
      if (c >= '0' && c <= '9') {
        if (dot === 0 && digits === 0 && c === '0') { flags.zero = true; flags.left = false; continue; }
        let n = 0;
        while (i < fmt.length && (fmt[i] as string) >= '0' && (fmt[i] as string) <= '9') n = n * 10 + Number(fmt[i++]);
        if (dot) precision = n; else width = n;
        i--;
        digits++;
        continue;
      }
      if (c === '#') { flags.alt = true; continue; }
      if (c === '*') {
        const which = dot ? 'dynPrec' : 'dynWidth';
        if (flags[which]) return err(`has more than one '*' specified for the output ${dot ? 'precision' : 'width'}`);
        flags[which] = true;
        continue;
      }
      if (c === '+') { flags.plus = true; continue; }
      if (c === '-') { flags.left = true; flags.zero = false; continue; }
      if (c === '.') {
        if (dot++ !== 0) return err("has more than one '.' specified");
        digits = 0;
        continue;
      }
      if (c === '?') { width = 16; continue; }
      if (c === '@') { flags.agg = true; continue; }
      if (c === "'") { flags.group = true; continue; }
      if (c === ' ') { flags.space = true; continue; }
      if (c === '$') return err('uses unsupported positional format (%n$)');
      if (c === '%' && fmt[i - 1] !== '%') return err('cannot be combined with other format flags: %%');
      if (c === 'h' || c === 'l' || c === 'L' || c === 'w') {
        if (name.length < 6) name += c;
        continue;
      }
      name += c;
      break;
    }
    const found = CONVERSIONS.get(name);
    if (found === undefined) return err(`is undefined: %${name}`);
    directives.push({ prefix, index, conv: found, flags, width, precision });
    q = i + 1;
  }
  return { format: fmt, directives, suffix: fmt.slice(q) };
}

// ---------------------------------------------------------------------------------------
// Compile-time checking.
