/**
 * @fileoverview The D parser: tokens (lexer.ts) → the syntax tree of ast.ts. Recursive descent
 * following Oracle's dt_grammar.y, with its lexer-state switches made explicit: the outer scope
 * is lexed in `outer` mode (probe descriptions), predicates, bodies and declarations in `expr`
 * mode. C's typedef-name ambiguity is settled as DTrace's id_or_type() does: an identifier
 * followed by `++ -- [ = ; ,` is a variable, otherwise it is a type when the program, D's
 * built-in typedefs or the `isTypeName` hook (kernel BTF, from the checker) say so.
 * Errors are diagnostics; after one, the parser skips to the end of the clause or
 * declaration, so one mistake gives one diagnostic.
 */
import type * as A from './ast.js';
import { type ProbeDescField, type Source, type Span, span as mkSpan } from '../diag/source.js';
import type { DiagnosticSink, ErrTag } from '../diag/diagnostic.js';
import { createLexer, lexAt, type ControlLine, type LexMode, type Lexer } from './lexer.js';
import { BUILTIN_TYPEDEFS, QUALIFIER_KEYWORDS, STORAGE_KEYWORDS, TYPE_KEYWORDS, type Token } from './token.js';
import { createMacroEnv, expandProbeDescription, unusedArgumentMessage, type MacroEnv } from './macros.js';
import { foldConditional, parseTimeInt, type ParseInt } from './parse-const.js';

export interface ParseOptions {
  /** Extra type names (kernel typedefs from BTF); D's own built-in typedefs are always known. */
  isTypeName?: (name: string) => boolean;
  /** Macro arguments `$0..$N` (`$0` is the script path). When absent, `$N` stays a MacroVar node. */
  macroArgs?: string[];
  /** Macro variables: `{ pid: 123, target: 456, … }`. */
  macroVars?: Record<string, number | undefined>;
  /** Option `defaultargs`. */
  defaultArgs?: boolean;
  /** Option `argref`: don't require the last macro argument to be referenced. */
  argRef?: boolean;
  /** Option `empty`: an empty program is not an error. */
  allowEmpty?: boolean;
  /** Option `pspec`: outer-scope words are always probe descriptions. */
  pspec?: boolean;
  /** The full description (`prov:mod:func:name`) of the probe with an ID, if there is one. */
  probeById?: (id: number) => string | undefined;
  /**
   * Accept the newer illumos `if`/`else` statement (an extension: Oracle D 2.0 rejects it
   * with a syntax error). Default true.
   */
  allowIf?: boolean;
}

/** Thrown inside the parser only, to unwind to the enclosing item after a diagnostic. */
class SyntaxAbort extends Error {}

const ASSIGN_OPS: ReadonlySet<string> = new Set(['=', '+=', '-=', '*=', '/=', '%=', '&=', '^=', '|=', '<<=', '>>=']);
const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '^^': 2, '&&': 3, '|': 4, '^': 5, '&': 6, '==': 7, '!=': 7,
  '<': 8, '<=': 8, '>': 8, '>=': 8, '<<': 9, '>>': 9, '+': 10, '-': 10, '*': 11, '/': 11, '%': 11,
};
/** Type words that name a base type (a second one is D_DECL_COMBO); the others are attributes. */
const TYPE_BASE_WORDS: ReadonlySet<string> = new Set(['char', 'int', 'float', 'double', 'void', 'string']);
const STABILITY_WORDS = ['internal', 'private', 'obsolete', 'external', 'unstable', 'evolving', 'stable', 'standard'];
const CLASS_WORDS = ['unknown', 'cpu', 'platform', 'group', 'isa', 'common'];

/** A declarator as written (C syntax nesting); converted to ast.ts's type-constructor order. */
type SyntaxDeclarator =
  | { kind: 'name'; span: Span; name?: string }
  | { kind: 'pointer'; span: Span; qualifiers: A.TypeQualifier[]; inner: SyntaxDeclarator }
  | { kind: 'array'; span: Span; inner: SyntaxDeclarator; size?: A.Expr; keyTypes?: A.TypeName[]; variadic?: boolean }
  | { kind: 'function'; span: Span; inner: SyntaxDeclarator; params: A.ParamDecl[]; variadic: boolean }
  | { kind: 'paren'; span: Span; inner: SyntaxDeclarator };

/** Parses a whole D program. Never throws for bad input: problems go to `sink`. */
export function parse(source: Source, sink: DiagnosticSink, opts: ParseOptions = {}): A.Program {
  const typedefNames = new Set<string>();
  const isType = (name: string): boolean =>
    typedefNames.has(name) || BUILTIN_TYPEDEFS.has(name) || (opts.isTypeName?.(name) ?? false);
  const macros: MacroEnv | undefined = opts.macroArgs
    ? createMacroEnv(opts.macroArgs, opts.macroVars ?? {}, opts.defaultArgs ?? false)
    : undefined;
  const lx: Lexer = createLexer(source, { isTypeName: isType, pspec: opts.pspec, macros });
  const text = source.text;
  const items: A.TopLevel[] = [];
  const pendingPragmas: A.Pragma[] = [];
  /** Identifiers already seen used as variables (DTrace's pcb_idents): never type names again. */
  const knownIdents = new Set<string>();
  let prevToken: Token | undefined;
  /** `struct x`/`union x`/`enum x` defined so far in this program. */
  const definedTags = new Set<string>();
  /** Scalar inlines defined so far whose value is a parse-time integer constant (dt_node_ident). */
  const intInlines = new Map<string, ParseInt>();

  let pos = 0; // end of the last consumed token
  let la: Token | undefined; // lookahead
  let laMode: LexMode = 'outer';
  let controlsDoneUpTo = -1;
  let parens = 0, brackets = 0, braces = 0;
  let errorsInItem = 0;

  const sp = (start: number, end: number): Span => mkSpan(source, start, end);
  /**
   * The span of a node the grammar reduces only on seeing the token after it (`a + b`, `-x`,
   * casts, assignments): DTrace stamps it with the lexer's line once that lookahead is read.
   */
  const spReduced = (start: number, end: number): Span => ({ ...mkSpan(source, start, end), lineAt: lookaheadAt() ?? start });
  /** The span of a node reduced on its own last token (`f(…)`, `a[…]`, `a.b`, `x++`): that token's line. */
  const spLast = (start: number, end: number, last: Token): Span => ({ ...mkSpan(source, start, end), lineAt: last.start });

  function fail(tag: ErrTag, message: string, start: number, end: number, lineAt?: number): never {
    if (errorsInItem === 0) sink.error(tag, message, lineAt === undefined ? sp(start, end) : { ...sp(start, end), lineAt });
    errorsInItem++;
    throw new SyntaxAbort(message);
  }

  function syntaxError(t: Token): never {
    if (t.problem) fail(t.problem.tag, t.problem.message, t.problem.start ?? t.start, t.problem.end ?? t.end, t.problem.lineAt);
    if (t.kind === 'eof') {
      fail('D_SYNTAX', 'syntax error near end of input', t.start, t.end);
    }
    if (t.kind === 'punct' && laMode !== 'outer') {
      if (t.text === ')' && parens <= 0) fail('D_SYNTAX', 'extra ) in input stream', t.start, t.end);
      if (t.text === ']' && brackets <= 0) fail('D_SYNTAX', 'extra ] in input stream', t.start, t.end);
    }
    fail('D_SYNTAX', `syntax error near "${nearText(t)}"`, t.start, t.end);
  }

  /**
   * The text DTrace quotes after "near": its yytext. An identifier that DTrace's id_or_type()
   * had to look past (a name not yet known, not after struct/union/enum, `.` or `->`) has its
   * yytext terminator overwritten by flex's input()/unput(), so the rest of its line shows.
   */
  function nearText(t: Token): string {
    const looksAhead = t.kind === 'ident' && !t.fromMacro && !knownIdents.has(t.text)
      && !(prevToken?.kind === 'keyword' && /^(struct|union|enum)$/.test(prevToken.text))
      && !(prevToken?.kind === 'punct' && (prevToken.text === '.' || prevToken.text === '->'));
    if (!looksAhead) return t.text;
    const end = source.text.indexOf('\n', t.start);
    return source.text.slice(t.start, end < 0 ? source.text.length : end);
  }

  function peek(mode: LexMode): Token {
    if (la && laMode === mode) return la;
    const pspecBefore = lx.pspec;
    const r = lexAt(lx, pos, mode);
    la = r.token;
    laMode = mode;
    for (const c of r.controls) {
      if (c.start > controlsDoneUpTo) { controlsDoneUpTo = c.start; control(c); }
    }
    // A control line before the token changed how outer words lex (`#pragma D option pspec`).
    if (lx.pspec !== pspecBefore) la = lexAt(lx, pos, mode).token;
    // Lexical errors are reported when met, as DTrace's lexer does.
    if (la.kind === 'error') syntaxError(la);
    if (mode !== 'outer' && la.kind === 'punct' && la.closesPredicate && (parens > 0 || brackets > 0)) {
      const at = la.lookaheadEnd ?? la.start;
      fail('D_SYNTAX', `closing ${parens > 0 ? ')' : ']'} expected in predicate before /`, at, at);
    }
    return la;
  }

  /**
   * Where DTrace's lexer stands once the current lookahead is read: the lookahead's last
   * character, or for a `/` the next non-blank character (the DT_TOK_EPRED rule reads ahead).
   */
  function lookaheadAt(): number | undefined {
    const t = la;
    if (!t) return undefined;
    if (t.lookaheadEnd !== undefined) return t.lookaheadEnd;
    return t.end > t.start ? t.end - 1 : t.start;
  }

  /** The token after `t` (no side effects on the lookahead). */
  function peekAfter(t: Token, mode: LexMode): Token {
    return lexAt(lx, t.end, mode).token;
  }

  function advance(): Token {
    const t = la!;
    if (t.problem) syntaxError(t);
    if (t.kind === 'punct') {
      if (t.text === '(') parens++;
      else if (t.text === ')') parens--;
      else if (t.text === '[') brackets++;
      else if (t.text === ']') brackets--;
      else if (t.text === '{') braces++;
      else if (t.text === '}') braces--;
    }
    pos = t.end;
    la = undefined;
    prevToken = t;
    return t;
  }

  function isPunct(t: Token, p: string): boolean { return t.kind === 'punct' && t.text === p; }
  function isKeyword(t: Token, k: string): boolean { return t.kind === 'keyword' && t.text === k; }

  function expectPunct(p: string, mode: LexMode = 'expr'): Token {
    const t = peek(mode);
    if (!isPunct(t, p)) syntaxError(t);
    return advance();
  }

  function expectIdent(mode: LexMode = 'expr'): Token {
    const t = peek(mode);
    if (t.kind !== 'ident') syntaxError(t);
    return advance();
  }

  // -------------------------------------------------------------------------------------------
  // Control lines: pragmas and line markers, acted on when lexed (as DTrace does).

  function control(c: ControlLine): void {
    if (c.problem) { sink.error(c.problem.tag, c.problem.message, sp(c.start, c.end)); return; }
    const w = c.words;
    const s = sp(c.start, c.end);
    /** Words as written (quoted strings keep their quotes). */
    const asWritten = (from: number): string[] => w.slice(from).map((x) => text.slice(x.start, x.end));
    const at = (k: number): Span => (w[k] ? sp(w[k]!.start, w[k]!.end) : s);
    if (w.length === 0) return;
    const first = w[0]!.text;
    // `#line N "file"` or cpp's `# N "file" flags`
    if (first === 'line' || /^[0-9]+$/.test(first)) {
      const numWord = first === 'line' ? w[1] : w[0];
      if (!numWord || !/^[0-9]+$/.test(numWord.text)) {
        sink.error('D_PRAGCTL_INVAL', `invalid control directive: #${first}`, s);
        return;
      }
      const fileWord = first === 'line' ? w[2] : w[1];
      const nextLine = text.indexOf('\n', c.start);
      const offset = nextLine < 0 ? text.length : nextLine + 1;
      const markers = (source.lineMarkers ??= []);
      markers.push({ offset, line: Number(numWord.text), file: fileWord?.quoted ? fileWord.text : undefined });
      markers.sort((a, b) => a.offset - b.offset);
      pendingPragmas.push({ kind: 'Pragma', span: s, directive: 'line', args: asWritten(first === 'line' ? 1 : 0) });
      return;
    }
    if (first === 'ident') { pendingPragmas.push({ kind: 'Pragma', span: s, directive: 'ident', args: asWritten(1) }); return; }
    if (first === 'error') {
      sink.error('D_PRAGERR', `#error: ${w.slice(1).map((x) => x.text + ' ').join('')}`, s);
      return;
    }
    if (first !== 'pragma') {
      sink.error('D_PRAGCTL_INVAL', `invalid control directive: #${first}`, at(0));
      return;
    }
    if (w[1]?.text === 'ident') { pendingPragmas.push({ kind: 'Pragma', span: s, directive: 'ident', args: asWritten(2) }); return; }
    // `#error` may also be written `#pragma error` or `#pragma D error` (dt_pragma's DT_PRAGMA_DIR).
    const errorAt = w[1]?.text === 'error' ? 2 : w[1]?.text === 'D' && w[2]?.text === 'error' ? 3 : 0;
    if (errorAt > 0) {
      sink.error('D_PRAGERR', `#error: ${w.slice(errorAt).map((x) => x.text + ' ').join('')}`, s);
      return;
    }
    if (w[1]?.text !== 'D') { pendingPragmas.push({ kind: 'Pragma', span: s, directive: 'other', args: asWritten(1) }); return; }
    const name = w[2]?.text;
    const args = w.slice(3);
    const words = asWritten(3);
    switch (name) {
      case 'option':
        if (args.length > 1) { sink.error('D_PRAGMA_MALFORM', 'superfluous arguments specified for #pragma option', at(4)); return; }
        if (args.length === 0) { sink.error('D_PRAGMA_MALFORM', 'malformed #pragma option <option>=<val>', s); return; }
        // Compiler flags take effect for the rest of this program as soon as the line is lexed.
        if (args[0]!.text === 'pspec') lx.pspec = true;
        // A missing $N is 0 (and $$N "") from here on, as with -x defaultargs.
        if (args[0]!.text === 'defaultargs' && lx.macros) lx.macros.defaultArgs = true;
        break;
      case 'attributes': {
        if (args.length < 2) { sink.error('D_PRAGMA_MALFORM', 'malformed #pragma attributes <attributes> <ident>', s); return; }
        if (!validAttributes(args[0]!.text)) { sink.error('D_PRAGMA_INVAL', 'invalid attributes specified by #pragma attributes', at(3)); return; }
        break;
      }
      case 'depends_on':
        if (args.length < 2) { sink.error('D_PRAGMA_MALFORM', 'malformed #pragma depends_on <class> <name>', s); return; }
        if (args[0]!.text === 'library' && source.kind !== 'library') {
          sink.error('D_PRAGMA_DEPEND', 'main program may not explicitly depend on a library', s);
          return;
        }
        if (!['provider', 'module', 'library'].includes(args[0]!.text)) {
          sink.error('D_PRAGMA_INVAL', `invalid class ${args[0]!.text} specified by #pragma depends_on`, at(3));
          return;
        }
        break;
      case 'binding':
        if (args.length !== 2) { sink.error('D_PRAGMA_MALFORM', 'malformed #pragma binding "version" <ident>', s); return; }
        break;
      default:
        sink.error('D_PRAGMA_INVAL', `invalid D pragma: ${name ?? ''}`, at(2));
        return;
    }
    pendingPragmas.push({ kind: 'Pragma', span: s, directive: name as A.Pragma['directive'], args: words });
  }

  function validAttributes(attr: string): boolean {
    const parts = attr.split('/');
    if (parts.length > 3 || parts.some((p) => p === '')) return false;
    return parts.every((p, i) => (i === 2 ? CLASS_WORDS : STABILITY_WORDS).includes(p.toLowerCase()));
  }

  function flushPragmas(): void {
    for (const p of pendingPragmas) items.push(p);
    pendingPragmas.length = 0;
  }

  // -------------------------------------------------------------------------------------------
  // Top level

  function parseTopLevel(): void {
    let recovered = false;
    for (;;) {
      errorsInItem = 0;
      if (recovered) {
        // The `}` of a clause whose head was the mistake has been reported with it.
        const r = lexAt(lx, pos, 'outer');
        if (r.token.kind === 'error' && r.token.text === '}') { pos = r.token.end; la = undefined; }
        recovered = false;
      }
      let t: Token;
      try {
        t = peek('outer');
      } catch (e) {
        if (!(e instanceof SyntaxAbort)) throw e;
        recover();
        continue;
      }
      flushPragmas();
      if (t.kind === 'eof') return;
      const itemStart = pos;
      try {
        const item = parseItem(t);
        flushPragmas();
        items.push(item);
      } catch (e) {
        if (!(e instanceof SyntaxAbort)) throw e;
        flushPragmas();
        if (pos === itemStart && la && la.start === itemStart) pos = la.end; // always make progress
        recover();
        recovered = true;
      }
    }
  }

  /** Skips to just after the `}` closing the current clause, or the `;` ending a declaration. */
  function recover(): void {
    // Resume after the `}` that closes the outermost brace open at the error.
    let depth = Math.max(braces, 0);
    la = undefined;
    parens = 0; brackets = 0; braces = 0;
    for (;;) {
      const r = lexAt(lx, pos, 'expr');
      const t = r.token;
      for (const c of r.controls) if (c.start > controlsDoneUpTo) { controlsDoneUpTo = c.start; }
      if (t.kind === 'eof') { pos = t.end; return; }
      pos = t.end > pos ? t.end : pos + 1;
      if (t.kind !== 'punct') continue;
      if (t.text === '{') depth++;
      else if (t.text === '}') {
        depth--;
        if (depth <= 0) {
          // `};` ends struct, translator and provider definitions.
          const semi = lexAt(lx, pos, 'expr').token;
          if (semi.kind === 'punct' && semi.text === ';') pos = semi.end;
          return;
        }
      }
      else if (t.text === ';' && depth <= 0) return;
    }
  }

  function parseItem(t: Token): A.TopLevel {
    if (t.kind === 'keyword') {
      if (t.text === 'inline') return parseInline();
      if (t.text === 'translator') return parseTranslator();
      if (t.text === 'provider') return parseProvider();
      return parseDeclaration();
    }
    if (t.kind === 'ident') return parseDeclaration();
    if (t.kind === 'pspec' || t.kind === 'int') return parseClause();
    syntaxError(t);
  }

  // -------------------------------------------------------------------------------------------
  // Clauses

  function parseProbeDesc(): A.ProbeDesc {
    const t = peek('outer');
    if (t.kind !== 'pspec' && t.kind !== 'int') syntaxError(t);
    advance();
    const field = source.descField ?? 'name';
    if (t.kind === 'int') {
      // A probe ID (dt_node_pdesc_by_id): only where a name may stand, and only a known one.
      const id = (t.intValue ?? 0n).toString();
      if (field !== 'name') fail('D_PDESC_INVAL', `probe identifier ${id} not permitted when specifying ${field === 'function' ? 'functions' : field + 's'}`, t.start, t.end);
      if (opts.probeById) {
        const desc = t.intValue !== undefined && t.intValue <= 0xffffffffn ? opts.probeById(Number(t.intValue)) : undefined;
        if (desc === undefined) fail('D_PDESC_INVAL', `invalid probe identifier ${id}: Unknown probe identifier`, t.start, t.end);
        return probeDescFromText(desc, sp(t.start, t.end), sink);
      }
    }
    let descText = t.text;
    if (macros && descText.includes('$')) {
      const r = expandProbeDescription(descText, macros);
      if ('error' in r) fail('D_PDESC_INVAL', `invalid probe description "${descText}": ${r.error}`, t.start, t.end);
      descText = r.text;
    }
    return probeDescFromText(descText, sp(t.start, t.end), sink, field);
  }

  function parseClause(): A.Clause {
    const start = peek('outer').start;
    const probes: A.ProbeDesc[] = [parseProbeDesc()];
    while (isPunct(peek('outer'), ',')) {
      advance();
      probes.push(parseProbeDesc());
    }
    const next = peek('outer');
    let predicate: A.Expr | undefined;
    if (isPunct(next, '/')) {
      advance();
      predicate = parseExpression();
      const close = peek('expr');
      if (!(isPunct(close, '/') && close.closesPredicate)) syntaxError(close);
      advance();
      const brace = peek('expr');
      if (!isPunct(brace, '{')) {
        fail('D_SYNTAX', 'expected actions { } following probe description and predicate', predicate.span.start, predicate.span.end);
      }
    } else if (!isPunct(next, '{')) {
      if (source.kind !== 'description') {
        fail('D_SYNTAX', 'expected predicate and/or actions following probe description', probes[0]!.span.start, probes[0]!.span.end);
      }
      return { kind: 'Clause', span: sp(start, pos), probes, body: [] };
    }
    const open = peek(predicate ? 'expr' : 'outer');
    advance();
    const body = parseStatementList();
    const close = expectPunct('}');
    // DTrace builds the clause node on its closing `}` (the line its cook-time errors report).
    return { kind: 'Clause', span: spLast(start, close.end, close), probes, predicate, body, bodySpan: sp(open.start, close.end) };
  }

  /** Statements up to (not including) the closing `}`. */
  function parseStatementList(): A.Stmt[] {
    const body: A.Stmt[] = [];
    for (;;) {
      const t = peek('expr');
      if (isPunct(t, '}')) return body;
      if (isPunct(t, ';')) { advance(); continue; }
      const stmt = parseStatement();
      body.push(stmt);
      if (stmt.kind === 'IfStmt' || stmt.kind === 'BlockStmt') continue;
      const after = peek('expr');
      if (isPunct(after, ';')) advance();
      else if (!isPunct(after, '}')) syntaxError(after);
    }
  }

  /** One statement; an expression statement's `;` is left to the caller. */
  function parseStatement(): A.Stmt {
    const t = peek('expr');
    if (isPunct(t, '{') && opts.allowIf !== false) {
      advance();
      const body = parseStatementList();
      const close = expectPunct('}');
      return { kind: 'BlockStmt', span: sp(t.start, close.end), body };
    }
    if (isKeyword(t, 'if') && opts.allowIf !== false) {
      advance();
      expectPunct('(');
      const cond = parseExpression();
      expectPunct(')');
      const then = parseBranch();
      let elseStmt: A.Stmt | undefined;
      if (isKeyword(peek('expr'), 'else')) {
        advance();
        elseStmt = parseBranch();
      }
      return { kind: 'IfStmt', span: sp(t.start, pos), cond, then, else: elseStmt };
    }
    // D has no declarations inside clauses (Oracle: `syntax error near "int"`).
    if (startsTypeName(t)) syntaxError(t);
    if (t.kind === 'keyword' && (STORAGE_KEYWORDS.has(t.text) && t.text !== 'self' && t.text !== 'this')) syntaxError(t);
    if ((isKeyword(t, 'self') || isKeyword(t, 'this')) && !isPunct(peekAfter(t, 'expr'), '->')) syntaxError(t);
    const expr = parseExpression();
    return { kind: 'ExprStmt', span: expr.span, expr };
  }

  /** The statement of an `if` or `else` branch, with its `;` when it is an expression. */
  function parseBranch(): A.Stmt {
    const t = peek('expr');
    if (isPunct(t, ';')) { advance(); return { kind: 'EmptyStmt', span: sp(t.start, t.end) }; }
    const s = parseStatement();
    if (s.kind === 'ExprStmt') {
      const after = peek('expr');
      if (isPunct(after, ';')) advance();
      else if (!isPunct(after, '}') && !isKeyword(after, 'else')) syntaxError(after);
    }
    return s;
  }

  // -------------------------------------------------------------------------------------------
  // Expressions

  function parseExpression(): A.Expr {
    let e = parseAssignment();
    while (isPunct(peek('expr'), ',')) {
      advance();
      const r = parseAssignment();
      e = { kind: 'Binary', span: spReduced(e.span.start, r.span.end), op: ',', left: e, right: r };
    }
    return e;
  }

  function parseAssignment(): A.Expr {
    const left = parseConditional();
    const t = peek('expr');
    if (t.kind === 'punct' && ASSIGN_OPS.has(t.text)) {
      // Only a unary-expression may be assigned to (dt_grammar.y); `a + b = 1` is a syntax error.
      if (['Binary', 'Logical', 'Ternary', 'Cast', 'Assign'].includes(left.kind)) syntaxError(t);
      advance();
      const value = parseAssignment();
      return { kind: 'Assign', span: spReduced(left.span.start, value.span.end), op: t.text as A.AssignOp, target: left, value };
    }
    return left;
  }

  function parseConditional(): A.Expr {
    const cond = parseBinary(1);
    if (!isPunct(peek('expr'), '?')) return cond;
    advance();
    const then = parseExpression();
    expectPunct(':');
    const otherwise = parseConditional();
    return foldConditional({ kind: 'Ternary', span: spReduced(cond.span.start, otherwise.span.end), cond, then, else: otherwise }, intInlines);
  }

  function parseBinary(minPrec: number): A.Expr {
    let left = parseCast();
    for (;;) {
      const t = peek('expr');
      if (t.kind !== 'punct' || t.closesPredicate) return left;
      const prec = BINARY_PRECEDENCE[t.text];
      if (prec === undefined || prec < minPrec) return left;
      advance();
      const right = parseBinary(prec + 1);
      const s = spReduced(left.span.start, right.span.end);
      left = t.text === '&&' || t.text === '||' || t.text === '^^'
        ? { kind: 'Logical', span: s, op: t.text, left, right }
        : { kind: 'Binary', span: s, op: t.text as A.BinaryOp, left, right };
    }
  }

  function parseCast(): A.Expr {
    const t = peek('expr');
    if (isPunct(t, '(') && startsTypeName(peekAfter(t, 'expr'), true)) {
      advance();
      const type = parseTypeName();
      expectPunct(')');
      const operand = parseCast();
      return { kind: 'Cast', span: spReduced(t.start, operand.span.end), type, operand };
    }
    return parseUnary();
  }

  function parseUnary(): A.Expr {
    const t = peek('expr');
    if (t.kind === 'punct') {
      if (t.text === '++' || t.text === '--') {
        advance();
        const operand = parseUnary();
        return { kind: 'Unary', span: spReduced(t.start, operand.span.end), op: t.text, operand };
      }
      if (t.text === '&' || t.text === '*' || t.text === '+' || t.text === '-' || t.text === '~' || t.text === '!') {
        advance();
        const operand = parseCast();
        return { kind: 'Unary', span: spReduced(t.start, operand.span.end), op: t.text, operand };
      }
    }
    if (isKeyword(t, 'sizeof')) {
      advance();
      const p = peek('expr');
      if (isPunct(p, '(') && startsTypeName(peekAfter(p, 'expr'), true)) {
        advance();
        const type = parseTypeName();
        const close = expectPunct(')');
        return { kind: 'SizeofType', span: sp(t.start, close.end), type };
      }
      const operand = parseUnary();
      return { kind: 'SizeofExpr', span: spReduced(t.start, operand.span.end), operand };
    }
    if (isKeyword(t, 'stringof')) {
      advance();
      const operand = parseUnary();
      return { kind: 'Stringof', span: spReduced(t.start, operand.span.end), operand };
    }
    return parsePostfix();
  }

  function parsePostfix(): A.Expr {
    let e = parsePrimary();
    for (;;) {
      const t = peek('expr');
      if (t.kind !== 'punct') return e;
      if (t.text === '[') {
        advance();
        const indices = parseArgList(']');
        if (indices.length === 0) syntaxError(peek('expr'));
        const close = expectPunct(']');
        e = { kind: 'Index', span: spLast(e.span.start, close.end, close), object: e, indices };
      } else if (t.text === '(') {
        advance();
        const args = isPunct(peek('expr'), ')') ? [] : parseArgList(')');
        const close = expectPunct(')');
        if (e.kind !== 'Ident') {
          fail('D_FUNC_IDENT', 'function designator is not of function type', e.span.start, e.span.end);
        }
        e = { kind: 'Call', span: spLast(e.span.start, close.end, close), callee: e, args };
      } else if (t.text === '.' || t.text === '->') {
        advance();
        const m = peek('member');
        if (m.kind !== 'ident') syntaxError(m);
        advance();
        e = { kind: 'Member', span: spLast(e.span.start, m.end, m), object: e, member: m.text, arrow: t.text === '->', memberSpan: sp(m.start, m.end) };
      } else if (t.text === '++' || t.text === '--') {
        advance();
        e = { kind: 'Postfix', span: spLast(e.span.start, t.end, t), op: t.text, operand: e };
      } else {
        return e;
      }
    }
  }

  function parseArgList(close: string): A.Expr[] {
    const args: A.Expr[] = [];
    if (isPunct(peek('expr'), close)) return args;
    args.push(parseAssignment());
    while (isPunct(peek('expr'), ',')) {
      advance();
      args.push(parseAssignment());
    }
    return args;
  }

  function parsePrimary(): A.Expr {
    const t = peek('expr');
    const s = sp(t.start, t.end);
    switch (t.kind) {
      case 'int':
        advance();
        return { kind: 'IntLit', span: s, value: t.intValue!, suffix: t.suffix ?? '', base: t.base ?? 10 };
      case 'char':
        advance();
        return { kind: 'CharLit', span: s, value: t.intValue! };
      case 'string':
        advance();
        return { kind: 'StringLit', span: s, value: t.stringValue ?? '' };
      case 'agg':
        advance();
        return { kind: 'AggRef', span: s, name: t.name ?? '' };
      case 'macro':
        advance();
        return { kind: 'MacroVar', span: s, name: t.name ?? '', stringForm: t.stringForm ?? false };
      case 'ident': {
        if (isTypeHere(t)) syntaxError(t);
        endOfInputAfterName(t);
        advance();
        knownIdents.add(t.text);
        const name = t.fromMacro ? (t.name ?? t.text) : t.text;
        const bq = name.lastIndexOf('`');
        if (bq >= 0) {
          return { kind: 'KernelSym', span: s, module: bq > 0 ? name.slice(0, bq) : undefined, name: name.slice(bq + 1) };
        }
        return { kind: 'Ident', span: s, name };
      }
      case 'keyword': {
        if (t.text === 'self' || t.text === 'this') {
          advance();
          expectPunct('->');
          const m = peek('member');
          if (m.kind !== 'ident') syntaxError(m);
          advance();
          const span = sp(t.start, m.end);
          return t.text === 'self' ? { kind: 'SelfVar', span, name: m.text } : { kind: 'ThisVar', span, name: m.text };
        }
        if (t.text === 'offsetof') {
          advance();
          expectPunct('(');
          const type = parseTypeName();
          expectPunct(',');
          const m = peek('member');
          if (m.kind !== 'ident') syntaxError(m);
          advance();
          const close = expectPunct(')');
          return { kind: 'Offsetof', span: sp(t.start, close.end), type, member: m.text };
        }
        if (t.text === 'xlate') {
          advance();
          expectPunct('<');
          const type = parseTypeName();
          expectPunct('>');
          expectPunct('(');
          const operand = parseExpression();
          const close = expectPunct(')');
          return { kind: 'Xlate', span: sp(t.start, close.end), type, operand };
        }
        return syntaxError(t);
      }
      case 'punct':
        if (t.text === '(') {
          advance();
          const inner = parseExpression();
          const close = expectPunct(')');
          return { kind: 'Paren', span: sp(t.start, close.end), inner };
        }
        return syntaxError(t);
      default:
        return syntaxError(t);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Types and declarations

  /**
   * Is this identifier a type name here? DTrace's id_or_type(): a name already used as a
   * variable is not; a name followed by `++ -- [ = ; ,` (comma outside parentheses) is not;
   * otherwise the type tables decide.
   */
  function isTypeHere(t: Token, insideParens = false): boolean {
    if (t.kind !== 'ident' || t.fromMacro && t.kind !== 'ident') return false;
    const name = t.text;
    if (knownIdents.has(name)) return false;
    const text = source.text;
    let k = t.end;
    while (k < text.length && /[\f\n\r\t\v ]/.test(text[k]!)) k++;
    const c0 = text[k], c1 = text[k + 1];
    if ((c0 === '+' || c0 === '-') && c1 === c0) return false;
    if (c0 === '=' && c1 !== '=') return false;
    if (c0 === '[' || c0 === ';') return false;
    if (c0 === ',' && !insideParens && parens === 0) return false;
    if (typedefNames.has(name) || BUILTIN_TYPEDEFS.has(name)) return true;
    // The outside hook (kernel typedefs from BTF) is asked last, and not for a name called
    // like a function: consulting it means reading the kernel's BTF, which most programs
    // never need.
    if (c0 === '(') return false;
    return opts.isTypeName?.(name) ?? false;
  }

  /** Does `t` begin a type name (in a cast, sizeof, declaration …)? */
  function startsTypeName(t: Token, insideParens = false): boolean {
    if (t.kind === 'keyword') {
      return TYPE_KEYWORDS.has(t.text) || QUALIFIER_KEYWORDS.has(t.text) || t.text === 'struct' || t.text === 'union' || t.text === 'enum';
    }
    return isTypeHere(t, insideParens);
  }

  interface Specifiers {
    start: number;
    storage?: A.StorageClass;
    spec?: A.TypeSpecifier;
    words: string[];
    wordsStart: number;
    wordsEnd: number;
    qualifiers: A.TypeQualifier[];
  }

  /** declaration-specifiers / specifier-qualifier-list. */
  function parseSpecifiers(allowStorage: boolean, mode: LexMode, context: 'decl' | 'param' | 'type'): Specifiers {
    const first = peek(mode);
    const r: Specifiers = { start: first.start, words: [], wordsStart: -1, wordsEnd: -1, qualifiers: [] };
    let m = mode;
    for (;;) {
      const t = peek(m);
      if (t.kind === 'keyword' && STORAGE_KEYWORDS.has(t.text) && (allowStorage || context === 'param')) {
        if (context === 'param') fail('D_DECL_PARMCLASS', 'inappropriate storage class for function or associative array parameter', t.start, t.end);
        if (r.storage) fail('D_DECL_CLASS', 'only one storage class allowed in a declaration', t.start, t.end);
        if (t.text === 'auto' || t.text === 'register' || t.text === 'static') {
          fail('D_DECL_BADCLASS', 'specified storage class not appropriate in D', t.start, t.end);
        }
        r.storage = t.text as A.StorageClass;
        advance();
      } else if (t.kind === 'keyword' && QUALIFIER_KEYWORDS.has(t.text)) {
        r.qualifiers.push(t.text as A.TypeQualifier);
        advance();
      } else if (t.kind === 'keyword' && TYPE_KEYWORDS.has(t.text)) {
        const base = t.text !== 'short' && t.text !== 'long' && t.text !== 'signed' && t.text !== 'unsigned';
        if (r.spec || (base && r.words.some((w) => !['short', 'long', 'signed', 'unsigned'].includes(w)))) {
          fail('D_DECL_COMBO', 'invalid type combination', t.start, t.end);
        }
        if (r.wordsStart < 0) r.wordsStart = t.start;
        r.wordsEnd = t.end;
        r.words.push(t.text);
        advance();
      } else if (t.kind === 'keyword' && (t.text === 'struct' || t.text === 'union' || t.text === 'enum')) {
        if (r.spec || r.words.some((w) => TYPE_BASE_WORDS.has(w))) fail('D_DECL_COMBO', 'invalid type combination', t.start, t.end);
        r.spec = t.text === 'enum' ? parseEnumSpec(r.words) : parseStructSpec(r.words);
      } else if (t.kind === 'ident' && !r.spec && r.words.length === 0 && isTypeNameForDecl(t, m)) {
        advance();
        r.spec = { kind: 'TypedefNameSpec', span: sp(t.start, t.end), name: t.text };
      } else {
        break;
      }
      m = 'expr';
    }
    return r;
  }

  /**
   * `unsigned struct s`, `long enum e`: sign and size words need an integer (dt_decl_check, run
   * when the tag is named). DTrace checks sign before size and lets `short` through; it reports
   * at the token after the tag name, which it had to read to know the tag was complete.
   */
  function attributeWordsCheck(words: readonly string[], next: Token): void {
    if (words.some((w) => w === 'signed' || w === 'unsigned')) {
      fail('D_DECL_SIGNINT', 'invalid type declaration: signed and unsigned may only be used with integer type', next.start, next.end);
    }
    if (words.includes('long')) {
      fail('D_DECL_LONGINT', 'invalid type declaration: long and long long may only be used with integer or floating-point type', next.start, next.end);
    }
  }

  /** In the outer scope the lexer already decided; in expressions id_or_type's rules apply. */
  function isTypeNameForDecl(t: Token, mode: LexMode): boolean {
    if (mode === 'outer') return true;
    return isTypeHere(t, true);
  }

  function specifierOf(r: Specifiers, at: Token): A.TypeSpecifier {
    if (r.spec) return r.spec;
    if (r.words.length > 0) return { kind: 'BuiltinTypeSpec', span: sp(r.wordsStart, r.wordsEnd), words: r.words };
    if (r.qualifiers.length > 0 || r.storage) {
      // `const x`, `register x`, `extern x`: C's implicit int.
      return { kind: 'BuiltinTypeSpec', span: sp(r.start, r.start), words: [] };
    }
    return syntaxError(at);
  }

  /**
   * `struct`, `union` or `enum`, its tag if any, up to the `{` of a body (`body`), which
   * defines the tag. Without a body the tag is required (a reference to the type).
   */
  function parseTagHead(words: readonly string[]): { kw: Token; name: string | undefined; body: boolean } {
    const kw = advance();
    let name: string | undefined;
    const t = peek('member');
    if (t.kind === 'ident') { advance(); name = t.text; }
    attributeWordsCheck(words, peek('expr'));
    if (!isPunct(peek('expr'), '{')) {
      if (name === undefined) syntaxError(peek('expr'));
      return { kw, name, body: false };
    }
    // DTrace defines the tag when it sees `{` (dt_decl_sou, dt_decl_enum), so a redefinition
    // is reported there (the lookahead is that `{`), before anything wrong inside the braces.
    if (name !== undefined) {
      const key = `${kw.text} ${name}`;
      if (definedTags.has(key)) fail('D_DECL_TYPERED', `type redeclared: ${key}`, la!.start, la!.end);
      definedTags.add(key);
    }
    return { kw, name, body: true };
  }

  function parseStructSpec(words: readonly string[]): A.StructSpec {
    const { kw, name, body } = parseTagHead(words);
    if (!body) return { kind: 'StructSpec', span: sp(kw.start, pos), tag: kw.text as 'struct' | 'union', name };
    advance();
    const members: A.StructMember[] = [];
    while (!isPunct(peek('expr'), '}')) {
      const mstart = peek('expr').start;
      const specs = parseSpecifiers(false, 'expr', 'type');
      const specifiers = specifierOf(specs, peek('expr'));
      for (;;) {
        let declarator: A.Declarator | undefined;
        let bitWidth: A.Expr | undefined;
        if (!isPunct(peek('expr'), ':')) {
          const d = parseDeclarator(false);
          declarator = toAstDeclarator(d);
          // DTrace's lexer interns a member name followed by `;` `,` `[` as an identifier.
          const name = declaratorName(d);
          if (name && !isPunct(peek('expr'), ':')) knownIdents.add(name);
        }
        if (isPunct(peek('expr'), ':')) { advance(); bitWidth = parseConditional(); }
        members.push({ kind: 'StructMember', span: spReduced(mstart, pos), specifiers, qualifiers: specs.qualifiers, declarator, bitWidth });
        if (!isPunct(peek('expr'), ',')) break;
        advance();
      }
      expectPunct(';');
    }
    const close = advance();
    return { kind: 'StructSpec', span: sp(kw.start, close.end), tag: kw.text as 'struct' | 'union', name, members };
  }

  function parseEnumSpec(words: readonly string[]): A.EnumSpec {
    const { kw, name, body } = parseTagHead(words);
    if (!body) return { kind: 'EnumSpec', span: sp(kw.start, pos), name };
    advance();
    const members: A.EnumMember[] = [];
    for (;;) {
      const id = expectIdent('member');
      let value: A.Expr | undefined;
      if (isPunct(peek('expr'), '=')) { advance(); value = parseConditional(); }
      // dt_decl_enumerator runs when the parser sees the token after the enumerator.
      members.push({ kind: 'EnumMember', span: spReduced(id.start, pos), name: id.text, value });
      knownIdents.add(id.text);
      if (!isPunct(peek('expr'), ',')) break;
      advance();
      if (isPunct(peek('expr'), '}')) break; // trailing comma
    }
    const close = expectPunct('}');
    return { kind: 'EnumSpec', span: sp(kw.start, close.end), name, members };
  }

  /**
   * A name that ends the input: DTrace's id_or_type() peeks past it, pushes the end of input
   * back as a NUL and its lexer then reports that NUL, on the input's last line.
   */
  function endOfInputAfterName(t: Token): void {
    if (!t.atEndOfInput) return;
    advance();
    fail('D_SYNTAX', 'syntax error near end-of-input', text.length, text.length);
  }

  /** declarator (named) or abstract-declarator (abstract = true; name optional). */
  function parseDeclarator(abstract: boolean): SyntaxDeclarator {
    const t = peek('expr');
    if (isPunct(t, '*')) {
      advance();
      const qualifiers: A.TypeQualifier[] = [];
      for (let q = peek('expr'); q.kind === 'keyword' && QUALIFIER_KEYWORDS.has(q.text); q = peek('expr')) {
        qualifiers.push(q.text as A.TypeQualifier);
        advance();
      }
      const inner = parseDeclarator(abstract);
      return { kind: 'pointer', span: sp(t.start, pos), qualifiers, inner };
    }
    let d: SyntaxDeclarator;
    if (t.kind === 'ident' && !(abstract && isTypeHere(t, true))) {
      endOfInputAfterName(t);
      advance();
      d = { kind: 'name', span: sp(t.start, t.end), name: t.text };
    } else if (isPunct(t, '(') && (!abstract || isNestedAbstract(peekAfter(t, 'expr')))) {
      advance();
      const inner = parseDeclarator(abstract);
      const close = expectPunct(')');
      d = { kind: 'paren', span: sp(t.start, close.end), inner };
    } else if (abstract) {
      d = { kind: 'name', span: sp(t.start, t.start) };
    } else {
      return syntaxError(t);
    }
    for (;;) {
      const s = peek('expr');
      if (isPunct(s, '[')) {
        advance();
        d = parseArraySuffix(d, s.start);
      } else if (isPunct(s, '(')) {
        advance();
        const { params, variadic } = parseParams(')');
        const close = expectPunct(')');
        d = { kind: 'function', span: sp(d.span.start, close.end), inner: d, params, variadic };
      } else {
        return d;
      }
    }
  }

  /** After `(` in an abstract declarator: a nested declarator, or a parameter list? */
  function isNestedAbstract(t: Token): boolean {
    return isPunct(t, '*') || isPunct(t, '(') || isPunct(t, '[');
  }

  function parseArraySuffix(inner: SyntaxDeclarator, start: number): SyntaxDeclarator {
    const t = peek('expr');
    if (isPunct(t, ']')) {
      const close = advance();
      return { kind: 'array', span: sp(start, close.end), inner };
    }
    if (isPunct(t, '...') || startsTypeName(t, true)) {
      const { params, variadic } = parseParams(']');
      const close = expectPunct(']');
      if (variadic) fail('D_DECL_PROTO_VARARGS', 'array prototype may not use a variable-length argument list', start, close.end);
      return { kind: 'array', span: sp(start, close.end), inner, keyTypes: params.map((p) => p.type) };
    }
    const size = parseConditional();
    const close = expectPunct(']');
    return { kind: 'array', span: sp(start, close.end), inner, size };
  }

  /** parameter-type-list up to `close` (not consumed). */
  function parseParams(close: string): { params: A.ParamDecl[]; variadic: boolean } {
    const params: A.ParamDecl[] = [];
    let variadic = false;
    if (isPunct(peek('expr'), close)) return { params, variadic };
    for (;;) {
      const t = peek('expr');
      if (isPunct(t, '...')) { advance(); variadic = true; break; }
      const specs = parseSpecifiers(false, 'expr', 'param');
      const specifiers = specifierOf(specs, peek('expr'));
      const decl = parseDeclarator(true);
      const name = declaratorName(decl);
      const type: A.TypeName = { kind: 'TypeName', span: sp(t.start, pos), specifiers, qualifiers: specs.qualifiers, declarator: abstractOrUndefined(decl, true) };
      if (name !== undefined && specifiers.kind === 'BuiltinTypeSpec' && specifiers.words.length === 1 && specifiers.words[0] === 'void' && decl.kind === 'name') {
        fail('D_DECL_PROTO_NAME', `void parameter may not have a name: ${name}`, t.start, pos);
      }
      params.push({ kind: 'ParamDecl', span: sp(t.start, pos), type, name });
      if (!isPunct(peek('expr'), ',')) break;
      advance();
    }
    return { params, variadic };
  }

  function declaratorName(d: SyntaxDeclarator): string | undefined {
    return d.kind === 'name' ? d.name : declaratorName(d.inner);
  }

  /** The declarator without its name, or undefined when nothing but the (absent) name is left. */
  function abstractOrUndefined(d: SyntaxDeclarator, dropName: boolean): A.Declarator | undefined {
    const ast = toAstDeclarator(d, dropName);
    return ast.kind === 'NameDeclarator' && ast.name === undefined ? undefined : ast;
  }

  /**
   * C nests declarators the other way round from the types they build (`*a[4]` is written
   * pointer-of-array but declares an array of pointers); ast.ts wants the outermost type
   * constructor first: Array(Pointer(Name a)).
   */
  function toAstDeclarator(d: SyntaxDeclarator, dropName = false): A.Declarator {
    const chain: SyntaxDeclarator[] = [];
    let cur = d;
    while (cur.kind !== 'name') { if (cur.kind !== 'paren') chain.push(cur); cur = cur.inner; }
    let out: A.Declarator = { kind: 'NameDeclarator', span: cur.span, name: dropName ? undefined : cur.name };
    for (const c of chain) {
      if (c.kind === 'pointer') out = { kind: 'PointerDeclarator', span: c.span, qualifiers: c.qualifiers, inner: out };
      else if (c.kind === 'array') out = { kind: 'ArrayDeclarator', span: c.span, inner: out, size: c.size, keyTypes: c.keyTypes };
      else if (c.kind === 'function') out = { kind: 'FunctionDeclarator', span: c.span, inner: out, params: c.params, variadic: c.variadic };
    }
    return out;
  }

  function parseTypeName(): A.TypeName {
    const start = peek('expr').start;
    const specs = parseSpecifiers(false, 'expr', 'type');
    const specifiers = specifierOf(specs, peek('expr'));
    const t = peek('expr');
    let declarator: A.Declarator | undefined;
    if (isPunct(t, '*') || isPunct(t, '(') || isPunct(t, '[')) {
      const d = parseDeclarator(true);
      if (declaratorName(d) !== undefined) syntaxError(t);
      declarator = abstractOrUndefined(d, true);
    }
    return { kind: 'TypeName', span: sp(start, pos), specifiers, qualifiers: specs.qualifiers, declarator };
  }

  function parseDeclaration(): A.Declaration {
    const first = peek('outer');
    const specs = parseSpecifiers(true, 'outer', 'decl');
    const specifiers = specifierOf(specs, peek('expr'));
    const declarators: A.InitDeclarator[] = [];
    if (!isPunct(peek('expr'), ';')) {
      for (;;) {
        const d = parseDeclarator(false);
        const name = declaratorName(d);
        const ast = toAstDeclarator(d);
        checkDeclarator(ast, specs, name, d.span);
        if (specs.storage === 'typedef' && name) typedefNames.add(name);
        else if (name) knownIdents.add(name);
        declarators.push({ kind: 'InitDeclarator', span: d.span, declarator: ast });
        // D declarations take no initialisers (Oracle: `syntax error near "="`).
        if (!isPunct(peek('expr'), ',')) break;
        advance();
      }
    } else if (specifiers.kind === 'BuiltinTypeSpec' || specifiers.kind === 'TypedefNameSpec' || !hasBody(specifiers)) {
      if (!(specifiers.kind === 'StructSpec' || specifiers.kind === 'EnumSpec')) {
        const t = peek('expr');
        fail('D_DECL_USELESS', 'useless declaration', first.start, t.end);
      }
    }
    const semi = expectPunct(';');
    return { kind: 'Declaration', span: sp(first.start, semi.end), storage: specs.storage, specifiers, qualifiers: specs.qualifiers, declarators };
  }

  function hasBody(s: A.TypeSpecifier): boolean {
    return (s.kind === 'StructSpec' || s.kind === 'EnumSpec') && s.members !== undefined;
  }

  function checkDeclarator(d: A.Declarator, specs: Specifiers, name: string | undefined, s: Span): void {
    // An extern names a kernel object whose dimension the kernel knows (dt_node_decl
    // handles extern before it asks for a dimension).
    if (d.kind === 'ArrayDeclarator' && d.size === undefined && d.keyTypes === undefined && specs.storage !== 'extern') {
      fail('D_DECL_ARRNULL', `array declaration requires array dimension or tuple signature: ${name ?? ''}`, s.start, s.end);
    }
    if (specs.storage === 'this' && d.kind === 'ArrayDeclarator' && d.keyTypes) {
      fail('D_DECL_LOCASSC', `associative arrays may not be declared as local variables: ${name ?? ''}`, s.start, s.end);
    }
  }

  function parseInline(): A.InlineDecl {
    const kw = advance();
    const specs = parseSpecifiers(false, 'expr', 'type');
    const specifiers = specifierOf(specs, peek('expr'));
    const d = parseDeclarator(false);
    const name = declaratorName(d) ?? '';
    const declarator = abstractOrUndefined(d, true);
    const type: A.TypeName = { kind: 'TypeName', span: sp(specs.start, d.span.end), specifiers, qualifiers: specs.qualifiers, declarator };
    knownIdents.add(name);
    expectPunct('=');
    const value = parseAssignment();
    const semi = expectPunct(';');
    const constant = d.kind === 'array' ? undefined : parseTimeInt(value, intInlines);
    if (constant !== undefined) intInlines.set(name, constant);
    return { kind: 'InlineDecl', span: sp(kw.start, semi.end), type, name, value };
  }

  function parseTranslator(): A.TranslatorDecl {
    const kw = advance();
    const output = parseTypeName();
    expectPunct('<');
    // `struct in *name >`: the input type's declarator carries the input's name.
    const inStart = peek('expr').start;
    const specs = parseSpecifiers(false, 'expr', 'type');
    const specifiers = specifierOf(specs, peek('expr'));
    const d = parseDeclarator(false);
    const inputName = declaratorName(d);
    if (inputName === undefined) syntaxError(peek('expr'));
    const input: A.TypeName = { kind: 'TypeName', span: sp(inStart, d.span.start), specifiers, qualifiers: specs.qualifiers, declarator: abstractOrUndefined(d, true) };
    knownIdents.add(inputName);
    expectPunct('>');
    expectPunct('{');
    const members: A.TranslatorDecl['members'] = [];
    while (!isPunct(peek('expr'), '}')) {
      const m = expectIdent('member');
      expectPunct('=');
      const value = parseAssignment();
      const semi = expectPunct(';');
      members.push({ kind: 'TranslatorMember', span: sp(m.start, semi.end), name: m.text, value });
    }
    advance();
    const semi = expectPunct(';');
    // dt_node_xlator runs on the final `;`: its errors carry that line.
    return { kind: 'TranslatorDecl', span: spLast(kw.start, semi.end, semi), output, input, inputName, members };
  }

  function parseProvider(): A.ProviderDecl {
    const kw = advance();
    const name = expectIdent('member');
    expectPunct('{');
    const probes: A.ProviderProbe[] = [];
    while (!isPunct(peek('expr'), '}')) {
      const p = peek('expr');
      if (!isKeyword(p, 'probe')) syntaxError(p);
      advance();
      const pname = expectIdent('member');
      expectPunct('(');
      const params = parseParams(')').params;
      expectPunct(')');
      let xlateParams: A.ParamDecl[] | undefined;
      if (isPunct(peek('expr'), ':')) {
        advance();
        expectPunct('(');
        xlateParams = parseParams(')').params;
        expectPunct(')');
      }
      const semi = expectPunct(';');
      probes.push({ kind: 'ProviderProbe', span: sp(p.start, semi.end), name: pname.text, params, xlateParams });
    }
    advance();
    const semi = expectPunct(';');
    return { kind: 'ProviderDecl', span: sp(kw.start, semi.end), name: name.text, probes };
  }

  // -------------------------------------------------------------------------------------------

  parseTopLevel();
  flushPragmas();
  const program: A.Program = { kind: 'Program', span: sp(0, text.length), items };
  if (!sink.hasErrors && !opts.allowEmpty && !items.some((i) => i.kind !== 'Pragma')) {
    sink.error('D_EMPTY', 'empty D program translation unit', sp(text.length, text.length));
  }
  if (!sink.hasErrors && macros && !opts.argRef) {
    const msg = unusedArgumentMessage(macros);
    if (msg) sink.error('D_MACRO_UNUSED', msg, sp(text.length, text.length));
  }
  return program;
}

const DESC_FIELDS: readonly ProbeDescField[] = ['provider', 'module', 'function', 'name'];

/**
 * Splits a probe description into its fields, filled from the right (spec §3.1) starting at
 * `last` (the name, or the field -P/-m/-f name). More fields than that leaves room for is
 * D_PDESC_INVAL. As in dtrace_xstr2desc, an empty field before a leading `:` is not a field.
 */
export function probeDescFromText(descText: string, span: Span, sink: DiagnosticSink, last: ProbeDescField = 'name'): A.ProbeDesc {
  // A `:` inside `[...]` or after `\` is part of a glob, not a separator.
  const fields: string[] = [];
  let cur = '';
  let inSet = false;
  for (let i = 0; i < descText.length; i++) {
    const c = descText[i]!;
    if (c === '\\' && i + 1 < descText.length) { cur += c + descText[++i]; continue; }
    if (c === '[') inSet = true;
    else if (c === ']') inSet = false;
    if (c === ':' && !inSet) { fields.push(cur); cur = ''; continue; }
    cur += c;
  }
  fields.push(cur);
  if (fields.length > 1 && fields[0] === '') fields.shift();
  const room = DESC_FIELDS.indexOf(last) + 1;
  if (fields.length > room) {
    sink.error('D_PDESC_INVAL', `invalid probe description "${descText}": Overspecified probe description`, span);
    fields.splice(0, fields.length - room);
  }
  while (fields.length < room) fields.unshift('');
  while (fields.length < 4) fields.push('');
  return { kind: 'ProbeDesc', span, text: descText, provider: fields[0]!, module: fields[1]!, function: fields[2]!, name: fields[3]! };
}
