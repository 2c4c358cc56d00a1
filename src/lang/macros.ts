/**
 * @fileoverview Macro arguments and macro variables (spec §2.9). DTrace substitutes them while
 * lexing: `$1` becomes the token its argument's text spells (an integer, an identifier, or a
 * string when it is neither), `$$1` always a string, `$pid`/`$target`/… an integer and
 * `$$pid` its decimal string. In probe descriptions the substitution is textual
 * (`pid$target:::entry`). The environment records which arguments were referenced so the
 * driver can report an unreferenced last operand (`D_MACRO_UNUSED`).
 */
import type { Token } from './token.js';
import { decodeEscapes } from './escapes.js';

/** The values macros expand to; `args[0]` is `$0` (the script path). */
export interface MacroEnv {
  args: string[];
  /** `$pid`, `$ppid`, `$pgid`, `$sid`, `$uid`, `$gid`, `$euid`, `$egid`, `$target`, `$projid`, `$taskid` … */
  vars: Record<string, number | undefined>;
  /** Option `defaultargs`: a missing `$N` is 0 and `$$N` is "". */
  defaultArgs: boolean;
  /** Indexes of the arguments referenced so far (filled in while lexing). */
  referenced: Set<number>;
}

export function createMacroEnv(args: string[], vars: Record<string, number | undefined> = {}, defaultArgs = false): MacroEnv {
  return { args, vars, defaultArgs, referenced: new Set() };
}

/** The names DTrace defines as macro variables (dt_open.c's dt_macros table). */
export const MACRO_VARIABLE_NAMES: readonly string[] = [
  'egid', 'euid', 'gid', 'pid', 'pgid', 'ppid', 'projid', 'sid', 'taskid', 'target', 'uid',
];

const INTEGER_TEXT = /^[+-]?(0[xX][0-9A-Fa-f]+|[0-9]+)[uU]?[lL]?[lL]?$/;
const IDENT_TEXT = /^[A-Za-z_`][0-9A-Za-z_`]*$/;

function decode(text: string): string {
  return String.fromCharCode(...decodeEscapes(text));
}

/** Turns a `macro` token into the token it stands for, or an `error` token with D_MACRO_UNDEF. */
export function substituteMacro(t: Token, env: MacroEnv): Token {
  const name = t.name ?? '';
  const base = { text: t.text, start: t.start, end: t.end, fromMacro: true };
  if (/^[0-9]+$/.test(name)) {
    const i = Number(name);
    if (i >= env.args.length && !env.defaultArgs) {
      return { kind: 'error', ...base, problem: { tag: 'D_MACRO_UNDEF', message: `macro argument ${t.text} is not defined` } };
    }
    if (i < env.args.length) env.referenced.add(i);
    if (t.stringForm) return { kind: 'string', ...base, stringValue: i < env.args.length ? decode(env.args[i]!) : '' };
    const v = i < env.args.length ? env.args[i]! : '0';
    if (INTEGER_TEXT.test(v)) {
      const neg = v.startsWith('-');
      const body = v.replace(/^[+-]/, '');
      const m = /^(0[xX][0-9A-Fa-f]+|[0-9]+)(.*)$/.exec(body)!;
      const digits = m[1]!;
      const base10 = digits[0] !== '0';
      let value: bigint;
      const octalBad = !base10 && !/^0[xX]/.test(digits) && /[89]/.test(digits);
      if (octalBad) value = 0n;
      else value = BigInt(/^0[xX]/.test(digits) ? digits : base10 ? digits : digits === '0' ? '0' : '0o' + digits.slice(1));
      const r: Token = {
        kind: 'int', ...base, intValue: BigInt.asUintN(64, neg ? -value : value), suffix: (m[2] ?? '').toLowerCase(),
        base: /^0[xX]/.test(digits) ? 16 : base10 ? 10 : 8,
      };
      if (value > 0xffffffffffffffffn) {
        r.problem = { tag: 'D_MACRO_OFLOW', message: `macro argument ${t.text} constant ${body} results in integer overflow` };
      }
      return r;
    }
    if (IDENT_TEXT.test(v)) return { kind: 'ident', ...base, text: v, name: v };
    const unquoted = v.length !== 1 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
    return { kind: 'string', ...base, stringValue: decode(unquoted) };
  }
  const value = env.vars[name];
  if (value === undefined) {
    return { kind: 'error', ...base, problem: { tag: 'D_MACRO_UNDEF', message: `macro variable ${t.text} is not defined` } };
  }
  if (t.stringForm) return { kind: 'string', ...base, stringValue: String(value >>> 0) };
  return { kind: 'int', ...base, intValue: BigInt.asUintN(64, BigInt(value | 0)), suffix: '', base: 10 };
}

/**
 * Expands `$…`/`$$…` in a probe description's text (spec §2.9: concatenated with the text
 * around it, `$` and `$$` alike). Returns the expanded text or DTrace's error message.
 */
export function expandProbeDescription(text: string, env: MacroEnv): { text: string } | { error: string } {
  let error: string | undefined;
  const out = text.replace(/\$\$?([0-9]+|[A-Za-z_][0-9A-Za-z_]*)/g, (whole, name: string) => {
    if (/^[0-9]+$/.test(name)) {
      const i = Number(name);
      if (i < env.args.length) { env.referenced.add(i); return env.args[i]!; }
      if (env.defaultArgs) return whole.startsWith('$$') ? '' : '0';
      error ??= 'Undefined macro variable in probe description';
      return whole;
    }
    const v = env.vars[name];
    if (v === undefined) { error ??= 'Undefined macro variable in probe description'; return whole; }
    return String(v);
  });
  return error ? { error } : { text: out };
}

/**
 * DTrace requires the last operand to be referenced (unless option `argref`): returns the
 * D_MACRO_UNUSED message when it was not, else undefined.
 */
export function unusedArgumentMessage(env: MacroEnv): string | undefined {
  const last = env.args.length - 1;
  if (last < 1 || env.referenced.has(last)) return undefined;
  return `extraneous argument '${env.args[last]}' ($${last} is not referenced)`;
}
