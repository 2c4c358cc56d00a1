/**
 * @fileoverview The D lexer. DTrace's lexer has states that the parser switches (dt_lex.l):
 * the outer scope, where `syscall::read*:entry` is one probe-description token, and the
 * expression scope inside predicates, clause bodies and declarations. Here the state is an
 * argument: `lexAt(lexer, offset, mode)` is a pure function of its inputs, so the parser can
 * peek a token in one mode and re-lex it in another. Control lines (`#pragma`, `#line`,
 * cpp's `# N "file"`) are returned with the token they precede, for the parser to act on
 * once; `#!` interpreter lines and comments are skipped.
 */
import type { Source } from '../diag/source.js';
import type { ErrTag } from '../diag/tags.js';
import { EXPR_KEYWORDS, OUTER_KEYWORDS, PUNCTUATORS, type LexProblem, type Token } from './token.js';
import { type MacroEnv, substituteMacro } from './macros.js';
import { decodeEscapes } from './escapes.js';

/** outer = DTrace's S2, expr = S0, member = SIDENT (after `.`/`->`: keywords are names). */
export type LexMode = 'outer' | 'expr' | 'member';

/** One word of a control line: a bare word or a (decoded) string. */
export interface ControlWord { text: string; quoted: boolean; start: number; end: number }

/** A line starting with `#` (after blanks), e.g. `#pragma D option quiet`. */
export interface ControlLine { start: number; end: number; words: ControlWord[]; problem?: { tag: ErrTag; message: string } }

export interface Lexer {
  source: Source;
  text: string;
  /** Type-name test used to split `int*x` in the outer scope (DTrace's S2 pruning rule). */
  isTypeName: (name: string) => boolean;
  /** Option `pspec`: outer-scope words are always probe descriptions. */
  pspec: boolean;
  /** Macro arguments; when absent, `$1` etc. stay `macro` tokens for a later stage. */
  macros?: MacroEnv;
}

export function createLexer(source: Source, opts: { isTypeName?: (name: string) => boolean; pspec?: boolean; macros?: MacroEnv } = {}): Lexer {
  return { source, text: source.text, isTypeName: opts.isTypeName ?? (() => false), pspec: opts.pspec ?? false, macros: opts.macros };
}

export interface LexResult {
  token: Token;
  /** Control lines met in the blank space before the token, in order. */
  controls: ControlLine[];
}

/** Punctuators grouped by first character, longest first, so a token needs few comparisons. */
const PUNCT_BY_FIRST: ReadonlyMap<string, string[]> = (() => {
  const m = new Map<string, string[]>();
  for (const p of PUNCTUATORS) {
    const list = m.get(p[0]!) ?? [];
    list.push(p);
    m.set(p[0]!, list);
  }
  return m;
})();

const PSPEC_FIRST = /[-$:a-zA-Z_.?*\\[\]!]/;
const PSPEC_REST = /[-$:0-9a-zA-Z_.`?*\\[\]!]/;

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 96;
}
function isIdentChar(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isBlank(c: number): boolean { return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12; }
function isLineBlank(c: number): boolean { return c === 32 || c === 9 || c === 11 || c === 12; }

function tok(kind: Token['kind'], text: string, start: number, end: number, extra: Partial<Token> = {}): Token {
  return { kind, text: text.slice(start, end), start, end, ...extra };
}

function syntaxNear(text: string, start: number, end: number): Token {
  return tok('error', text, start, end, { problem: { tag: 'D_SYNTAX', message: `syntax error near "${text.slice(start, end)}"` } });
}

/** Lexes one token at `pos` in `mode`, skipping blanks, comments and control lines first. */
export function lexAt(lx: Lexer, pos: number, mode: LexMode): LexResult {
  const text = lx.text;
  const n = text.length;
  const controls: ControlLine[] = [];
  // Blank space, comments, `#!` lines and control lines.
  for (;;) {
    if (pos >= n) return { token: tok('eof', text, n, n), controls };
    const c = text.charCodeAt(pos);
    if (isBlank(c)) { pos++; continue; }
    if (c === 47 /* / */ && text.charCodeAt(pos + 1) === 42 /* * */) {
      const r = skipComment(text, pos);
      if (r.problem) return { token: tok('error', text, pos, r.end, { problem: r.problem }), controls };
      pos = r.end;
      continue;
    }
    if (c === 92 /* \ */ && mode !== 'outer' && text.charCodeAt(pos + 1) === 10) { pos += 2; continue; }
    if (c === 35 /* # */ && atLineStart(text, pos)) {
      let end = text.indexOf('\n', pos);
      // DTrace's S3 state reads a control line up to its newline: end of input first is an error.
      const unterminated = end < 0;
      if (unterminated) end = n;
      if (text.charCodeAt(pos + 1) !== 33 /* ! */) {
        controls.push(unterminated
          ? { start: pos, end, words: [], problem: { tag: 'D_SYNTAX', message: 'end-of-file encountered before end of control line' } }
          : lexControlLine(text, pos, end));
      }
      pos = end;
      continue;
    }
    break;
  }
  const start = pos;
  const c = text.charCodeAt(pos);
  if (mode === 'outer') return { token: lexOuter(lx, start), controls };

  // Expression scope.
  if (c === 36 /* $ */) {
    const m = /^\$(\$?)([0-9]+|[A-Za-z_`][0-9A-Za-z_`]*)/.exec(text.slice(pos, pos + 256));
    if (m) {
      const end = pos + m[0].length;
      const t = tok('macro', text, start, end, { name: m[2], stringForm: m[1] === '$' });
      return { token: lx.macros ? substituteMacro(t, lx.macros) : t, controls };
    }
    return { token: syntaxNear(text, start, start + 1), controls };
  }
  if (isIdentStart(c) || (isDigit(c) && digitLedIdentEnd(text, pos) > 0)) {
    let end = isDigit(c) ? digitLedIdentEnd(text, pos) : pos + 1;
    while (end < n && isIdentChar(text.charCodeAt(end))) end++;
    const word = text.slice(start, end);
    if (mode === 'expr' && EXPR_KEYWORDS.has(word)) return { token: tok('keyword', text, start, end), controls };
    let after = end;
    while (after < n && isBlank(text.charCodeAt(after))) after++;
    return { token: tok('ident', text, start, end, after >= n ? { atEndOfInput: true } : {}), controls };
  }
  if (c === 64 /* @ */) {
    let end = pos + 1;
    if (end < n && isIdentStart(text.charCodeAt(end)) && text.charCodeAt(end) !== 96) {
      while (end < n && isIdentChar(text.charCodeAt(end)) && text.charCodeAt(end) !== 96) end++;
    }
    return { token: tok('agg', text, start, end, { name: text.slice(start + 1, end) }), controls };
  }
  if (isDigit(c) || (c === 46 /* . */ && isDigit(text.charCodeAt(pos + 1)))) return { token: lexNumber(text, pos), controls };
  if (c === 34 /* " */) return { token: lexString(text, pos), controls };
  if (c === 39 /* ' */) return { token: lexChar(text, pos), controls };
  for (const p of PUNCT_BY_FIRST.get(text[pos]!) ?? []) {
    if (text.startsWith(p, pos)) {
      const end = pos + p.length;
      if (p === '/') {
        let k = end;
        while (k < n && isBlank(text.charCodeAt(k))) k++;
        const next = text[k];
        const closes = k >= n || next === ';' || next === '{' || next === '/';
        return { token: tok('punct', text, start, end, { closesPredicate: closes, lookaheadEnd: k }), controls };
      }
      return { token: tok('punct', text, start, end), controls };
    }
  }
  return { token: syntaxNear(text, start, start + 1), controls };
}

/** `123abc`x`…`: a digit-led word is an identifier only when it holds a backquote (module names like `8250`). */
function digitLedIdentEnd(text: string, pos: number): number {
  let k = pos;
  while (k < text.length && isIdentChar(text.charCodeAt(k)) && text.charCodeAt(k) !== 96) k++;
  return text.charCodeAt(k) === 96 ? k + 1 : 0;
}

function atLineStart(text: string, pos: number): boolean {
  let k = pos - 1;
  while (k >= 0 && isLineBlank(text.charCodeAt(k))) k--;
  return k < 0 || text.charCodeAt(k) === 10;
}

/**
 * Skips a comment. A problem is reported on the line where DTrace's lexer stood when it saw
 * it (yylineno): the end of the input for an unterminated comment, the inner `/*` for a nested one.
 */
function skipComment(text: string, pos: number): { end: number; problem?: LexProblem } {
  let k = pos + 2;
  for (;;) {
    if (k >= text.length - 1) {
      const eof = text.length;
      return { end: eof, problem: { tag: 'D_SYNTAX', message: 'end-of-file encountered before matching */', start: pos, end: eof, lineAt: eof } };
    }
    const c = text.charCodeAt(k);
    if (c === 42 && text.charCodeAt(k + 1) === 47) return { end: k + 2 };
    if (c === 47 && text.charCodeAt(k + 1) === 42) return { end: k + 2, problem: { tag: 'D_SYNTAX', message: '/* encountered inside a comment', start: k, end: k + 2 } };
    k++;
  }
}

/** The words of a control line: bare words and quoted strings (DTrace's S3 state). */
export function lexControlLine(text: string, start: number, end: number): ControlLine {
  const words: ControlWord[] = [];
  let k = text.indexOf('#', start) + 1;
  while (k < end) {
    const c = text.charCodeAt(k);
    if (isLineBlank(c) || c === 13) { k++; continue; }
    if (c === 34) {
      const s = lexString(text, k);
      if (s.kind === 'error') return { start, end, words, problem: s.problem };
      words.push({ text: s.stringValue ?? '', quoted: true, start: s.start, end: s.end });
      k = s.end;
      continue;
    }
    let e = k;
    while (e < end && !isLineBlank(text.charCodeAt(e)) && text.charCodeAt(e) !== 34 && text.charCodeAt(e) !== 13) e++;
    words.push({ text: text.slice(k, e), quoted: false, start: k, end: e });
    k = e;
  }
  // DTrace's lexer needs the newline that ends a control line.
  if (end >= text.length) return { start, end, words, problem: { tag: 'D_SYNTAX', message: 'end-of-file encountered before end of control line' } };
  return { start, end, words };
}

/** Type keywords that name a C base type by themselves (what DTrace's dt_type_lookup finds). */
const BASE_TYPE_KEYWORDS: ReadonlySet<string> = new Set(['char', 'short', 'int', 'long', 'float', 'double', 'void', 'string']);

function lexOuter(lx: Lexer, start: number): Token {
  const text = lx.text;
  const n = text.length;
  const c = text[start]!;
  if (isDigit(text.charCodeAt(start))) {
    // A probe ID. S2 knows no floating-point constants: `4.56` is the ID 4, then `.56`.
    const t = lexNumber(text, start);
    if (t.kind !== 'error') return t;
    let end = start;
    while (end < n && isDigit(text.charCodeAt(end))) end++;
    return lexNumber(text.slice(0, end), start);
  }
  if (c === '/' || c === ',' || c === '{') return tok('punct', text, start, start + 1);
  if (!PSPEC_FIRST.test(c)) return syntaxNear(text, start, start + 1);
  let end = start + 1;
  while (end < n && PSPEC_REST.test(text[end]!)) end++;
  const word = text.slice(start, end);
  if (OUTER_KEYWORDS.has(word)) return tok('keyword', text, start, end);
  // `int*x;` versus the glob `int*`: unless the word can only be a description, a word (or
  // its part before `*`) naming a type starts a declaration (DTrace's S2 pruning rule).
  if (!lx.pspec && !/[:\-.?!`]/.test(word) && word !== 'BEGIN' && word !== 'END' && word !== 'ERROR') {
    const star = word.indexOf('*');
    const head = star > 0 ? word.slice(0, star) : word;
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(head) && lx.isTypeName(head)) return tok('ident', text, start, start + head.length);
    // DTrace asks its type lookup, which knows the base types too: `int*x` declares x.
    if (star > 0 && BASE_TYPE_KEYWORDS.has(head) && OUTER_KEYWORDS.has(head)) return tok('keyword', text, start, start + head.length);
  }
  return tok('pspec', text, start, end);
}

/** Integer constants (DTrace's RGX_INT with strtoull semantics) and the floating-point rejection. */
export function lexNumber(text: string, pos: number): Token {
  const n = text.length;
  let k = pos;
  let base: 8 | 10 | 16 = 10;
  if (text[k] === '0' && (text[k + 1] === 'x' || text[k + 1] === 'X') && /[0-9A-Fa-f]/.test(text[k + 2] ?? '')) {
    base = 16;
    k += 2;
    while (k < n && /[0-9A-Fa-f]/.test(text[k]!)) k++;
  } else {
    while (k < n && isDigit(text.charCodeAt(k))) k++;
    if (text[pos] === '0') base = 8;
  }
  const digitsEnd = k;
  if (k < n && (text[k] === 'u' || text[k] === 'U')) k++;
  if (k < n && (text[k] === 'l' || text[k] === 'L')) k++;
  if (k < n && (text[k] === 'l' || text[k] === 'L')) k++;
  const intEnd = k;
  // RGX_FP wins only when it matches more text.
  if (base !== 16) {
    const fp = /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFlL]?/.exec(text.slice(pos, pos + 512));
    if (fp && fp[0].length > intEnd - pos) {
      return tok('error', text, pos, pos + fp[0].length, { problem: { tag: 'D_SYNTAX', message: 'floating-point constants are not permitted' } });
    }
  }
  const written = text.slice(pos, intEnd);
  const digits = base === 16 ? text.slice(pos + 2, digitsEnd) : text.slice(pos, digitsEnd);
  // strtoull(…, 0): parse the digits valid in the base, note where it stopped.
  let value = 0n;
  let stop = digits.length;
  const big = BigInt(base);
  for (let i = 0; i < digits.length; i++) {
    const d = parseInt(digits[i]!, 16);
    if (d >= base) { stop = i; break; }
    value = value * big + BigInt(d);
  }
  const t = tok('int', text, pos, intEnd, {
    intValue: BigInt.asUintN(64, value), suffix: text.slice(digitsEnd, intEnd).toLowerCase(), base,
  });
  if (value > 0xffffffffffffffffn) {
    t.problem = { tag: 'D_INT_OFLOW', message: `constant ${written} results in integer overflow` };
  } else if (stop < digits.length) {
    t.problem = { tag: 'D_INT_DIGIT', message: `constant ${written} contains invalid digit ${digits[stop]}` };
  }
  return t;
}

/** Scans `"…"` or `'…'` bodies: returns the offset of the closing quote, or of what stopped it. */
function scanQuoted(text: string, pos: number, quote: number): number {
  let k = pos + 1;
  const n = text.length;
  while (k < n) {
    const c = text.charCodeAt(k);
    if (c === quote || c === 10) return k;
    if (c === 92) {
      if (k + 1 >= n || text.charCodeAt(k + 1) === 10) return k;
      k += 2;
      continue;
    }
    k++;
  }
  return k;
}

function lexString(text: string, pos: number): Token {
  const k = scanQuoted(text, pos, 34);
  if (k < text.length && text.charCodeAt(k) === 34) {
    const codes = decodeEscapes(text.slice(pos + 1, k));
    return tok('string', text, pos, k + 1, { stringValue: bytesToString(codes) });
  }
  if (k < text.length && text.charCodeAt(k) === 10) {
    // DTrace's rule consumes the newline, so the line reported is the next one.
    return tok('error', text, pos, k, { problem: { tag: 'D_STR_NL', message: 'newline encountered in string literal', start: k + 1, end: k + 1 } });
  }
  return syntaxNear(text, pos, pos + 1);
}

function bytesToString(codes: number[]): string {
  // Bytes of UTF-8 text are decoded back; other byte values stay as single chars.
  const buf = Buffer.from(codes);
  const utf8 = buf.toString('utf8');
  return Buffer.from(utf8, 'utf8').equals(buf) ? utf8 : String.fromCharCode(...codes);
}

function lexChar(text: string, pos: number): Token {
  const k = scanQuoted(text, pos, 39);
  if (k < text.length && text.charCodeAt(k) === 39) {
    const t = tok('char', text, pos, k + 1);
    if (k === pos + 1) {
      t.intValue = 0n;
      t.problem = { tag: 'D_CHR_NULL', message: 'empty character constant' };
      return t;
    }
    const bytes = decodeEscapes(text.slice(pos + 1, k));
    if (bytes.length > 8) t.problem = { tag: 'D_CHR_OFLOW', message: 'character constant is too long' };
    // The first character ends up in the most significant used byte (big-endian reading).
    let v = 0n;
    for (const b of bytes.slice(0, 8)) v = (v << 8n) | BigInt(b);
    t.intValue = v;
    return t;
  }
  if (k < text.length && text.charCodeAt(k) === 10) {
    // DTrace's rule consumes the newline, so the line reported is the next one.
    return tok('error', text, pos, k, { problem: { tag: 'D_CHR_NL', message: 'newline encountered in character constant', start: k + 1, end: k + 1 } });
  }
  return syntaxNear(text, pos, pos + 1);
}

/** Every token of `source` lexed in one mode, up to and including EOF (for tests and tools). */
export function tokenize(source: Source, mode: LexMode = 'expr', opts: { macros?: MacroEnv } = {}): Token[] {
  const lx = createLexer(source, opts);
  const out: Token[] = [];
  let pos = 0;
  for (;;) {
    const { token } = lexAt(lx, pos, mode);
    out.push(token);
    if (token.kind === 'eof') return out;
    pos = token.end > pos ? token.end : pos + 1;
  }
}
