/**
 * @fileoverview Unit tests of the front end, one expectation per line: lexer values, parser
 * shapes and typedef disambiguation, macro substitution, cpp, rendering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, type ParseOptions } from './parser.js';
import { tokenize } from './lexer.js';
import { printExpr } from './print.js';
import { preprocess } from './preprocess.js';
import type * as A from './ast.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { renderDiagnostic } from '../diag/render.js';

function firstToken(text: string) { return tokenize(makeSource('t', text))[0]!; }
function parseOk(text: string, opts: ParseOptions = {}): A.Program {
  const sink = new DiagnosticSink();
  const p = parse(makeSource('t.d', text), sink, opts);
  assert.deepEqual(sink.items.map((d) => d.message), []);
  return p;
}
function firstError(text: string, opts: ParseOptions = {}): string {
  const sink = new DiagnosticSink();
  parse(makeSource('t.d', text), sink, opts);
  const d = sink.errors[0];
  return d ? renderDiagnostic(d, { errtags: true, caret: false }) : 'no error';
}
function stmtExpr(text: string, opts: ParseOptions = {}): A.Expr {
  const c = parseOk(`BEGIN { ${text}; }`, opts).items[0] as A.Clause;
  return (c.body[0] as A.ExprStmt).expr;
}

test('integer constants', () => {
  assert.equal(firstToken('0x1F').intValue, 31n);
  assert.equal(firstToken('017').base, 8);
  assert.equal(firstToken('10ULL').suffix, 'ull');
  assert.equal(firstToken('0xffffffffffffffff').intValue, 0xffffffffffffffffn);
  assert.equal(firstToken('0128').problem?.message, 'constant 0128 contains invalid digit 8');
  assert.equal(firstToken('18446744073709551616').problem?.tag, 'D_INT_OFLOW');
  assert.equal(firstToken('1.5').problem?.message, 'floating-point constants are not permitted');
});

test('character and string constants', () => {
  assert.equal(firstToken("'ab'").intValue, 0x6162n);
  assert.equal(firstToken("'\\n'").intValue, 10n);
  assert.equal(firstToken("'\\101'").intValue, 65n);
  assert.equal(firstToken("'abcdefghi'").problem?.tag, 'D_CHR_OFLOW');
  assert.equal(firstToken("''").problem?.tag, 'D_CHR_NULL');
  assert.equal(firstToken('"a\\tb\\x41\\""').stringValue, 'a\tbA"');
  assert.equal(firstToken('"a\nb"').problem?.tag, 'D_STR_NL');
});

test('outer-scope lexing: probe descriptions and type names', () => {
  const outer = (t: string) => tokenize(makeSource('t', t), 'outer').map((k) => `${k.kind}:${k.text}`);
  assert.deepEqual(outer('pid$target:libc.so.6:malloc:entry'), ['pspec:pid$target:libc.so.6:malloc:entry', 'eof:']);
  assert.deepEqual(outer('syscall::read*:, :::BEGIN'), ['pspec:syscall::read*:', 'punct:,', 'pspec::::BEGIN', 'eof:']);
  assert.deepEqual(outer('int x'), ['keyword:int', 'pspec:x', 'eof:']);
  assert.deepEqual(outer('profile-97 /x/'), ['pspec:profile-97', 'punct:/', 'pspec:x', 'punct:/', 'eof:']);
});

test('precedence and associativity', () => {
  assert.equal(printExpr(stmtExpr('x = a + b * c - d')), 'x = a + b * c - d');
  const e = stmtExpr('a - b - c') as A.Binary;
  assert.equal(e.left.kind, 'Binary');
  const l = stmtExpr('a || b ^^ c && d') as A.Logical;
  assert.equal(l.op, '||');
  assert.equal((l.right as A.Logical).op, '^^');
  const t = stmtExpr('a ? b : c ? d : e') as A.Ternary;
  assert.equal(t.else.kind, 'Ternary');
  const as = stmtExpr('a = b += c') as A.Assign;
  assert.equal((as.value as A.Assign).op, '+=');
});

test('a member of an integer constant prints parenthesised (1.x would read back as the constant 1. and x)', () => {
  assert.equal(printExpr(stmtExpr('(1).target')), '(1).target');
  assert.equal(printExpr(stmtExpr('(0x1f).a->b')), '(0x1f).a->b');
  assert.equal(printExpr(stmtExpr('p->x.y')), 'p->x.y');
  assert.equal(printExpr(stmtExpr(printExpr(stmtExpr('(1).target')))), '(1).target');
});

test('casts versus parenthesised expressions', () => {
  assert.equal(stmtExpr('(uint64_t)x').kind, 'Cast');
  assert.equal(stmtExpr('(x)+1').kind, 'Binary');
  assert.equal(stmtExpr('(mytype)x', { isTypeName: (n) => n === 'mytype' }).kind, 'Cast');
  assert.equal(stmtExpr('sizeof (struct foo)').kind, 'SizeofType');
  assert.equal(stmtExpr('sizeof (x)').kind, 'SizeofExpr');
  const p = parseOk('typedef int myint; BEGIN { y = (myint)x; }');
  assert.equal(((p.items[1] as A.Clause).body[0] as A.ExprStmt).expr.kind, 'Assign');
});

test('variables, aggregations and kernel symbols', () => {
  assert.equal(stmtExpr('self->x').kind, 'SelfVar');
  assert.equal(stmtExpr('this->x').kind, 'ThisVar');
  assert.deepEqual({ ...(stmtExpr('vmlinux`max_pfn') as A.KernelSym), span: 0 }, { kind: 'KernelSym', span: 0, module: 'vmlinux', name: 'max_pfn' });
  assert.equal((stmtExpr('@ = count()') as A.Assign).target.kind, 'AggRef');
  assert.equal((stmtExpr('a[1, "b"]') as A.Index).indices.length, 2);
});

test('declarators are outermost type constructor first', () => {
  const d = (parseOk('int *a[4];').items[0] as A.Declaration).declarators[0]!.declarator;
  assert.equal(d.kind, 'ArrayDeclarator');
  assert.equal((d as { inner: A.Declarator }).inner.kind, 'PointerDeclarator');
  const assoc = (parseOk('int a[string, int];').items[0] as A.Declaration).declarators[0]!.declarator as { keyTypes?: A.TypeName[] };
  assert.equal(assoc.keyTypes?.length, 2);
});

test('DTrace error messages', () => {
  // Each program's first error, after DTrace's "dtrace: failed to compile script t.d: ".
  const expected: [string, string][] = [
    ['BEGIN\n{\n\ttrace(1);\n}\n}\n', '[D_SYNTAX] line 5: syntax error near "}"'],
    ['BEGIN\n{\n', '[D_SYNTAX] line 3: syntax error near end of input'],
    ['BEGIN {}\n#pragma D option quiet', '[D_SYNTAX] line 2: end-of-file encountered before end of control line'],
    // An identifier DTrace's lexer looked past quotes the rest of its line (flex's yytext); a
    // name already known as a variable is quoted alone.
    ['typedef nosuch new_int; /* x */\nBEGIN {}', '[D_SYNTAX] line 1: syntax error near "new_int; /* x */"'],
    ['struct s { int myi; };\nBEGIN { x = 1 myi; }\n', '[D_SYNTAX] line 2: syntax error near "myi"'],
    ['BEGIN { x = 1 myi; }\n', '[D_SYNTAX] line 1: syntax error near "myi; }"'],
    ['profile-1\nx;\n', '[D_SYNTAX] line 1: expected predicate and/or actions following probe description'],
    ['BEGIN { trace(a]); }', '[D_SYNTAX] line 1: extra ] in input stream'],
    ['BEGIN /f(/ { }', '[D_SYNTAX] line 1: closing ) expected in predicate before /'],
    ['\n', '[D_EMPTY] line 2: empty D program translation unit'],
    ['#pragma D nope\nBEGIN {}', '[D_PRAGMA_INVAL] line 1: invalid D pragma: nope'],
    ['#if 0\nBEGIN {}', '[D_PRAGCTL_INVAL] line 1: invalid control directive: #if'],
    ['#pragma D error "stop here" now\nBEGIN {}', '[D_PRAGERR] line 1: #error: stop here now '],
    ['#pragma D attributes Stable\nBEGIN {}', '[D_PRAGMA_MALFORM] line 1: malformed #pragma attributes <attributes> <ident>'],
    ['#pragma D depends_on module\nBEGIN {}', '[D_PRAGMA_MALFORM] line 1: malformed #pragma depends_on <class> <name>'],
    ['BEGIN {}\n#pragma D option quiet', '[D_SYNTAX] line 2: end-of-file encountered before end of control line'],
  ];
  assert.deepEqual(expected.map(([text]) => [text, firstError(text)]), expected.map(([text, error]) => [text, `dtrace: failed to compile script t.d: ${error}`]));
  const sink = new DiagnosticSink();
  parse(makeSource('BEGIN { x = ; }', 'BEGIN { x = ; }', 'description'), sink);
  assert.equal(renderDiagnostic(sink.errors[0]!, { errtags: false, caret: true }),
    'dtrace: invalid probe specifier BEGIN { x = ; }: syntax error near ";"\nBEGIN { x = ; }\n            ^');
});

test('one mistake gives one diagnostic', () => {
  const sink = new DiagnosticSink();
  parse(makeSource('t.d', 'BEGIN { x = a + b = 1; y = 2; }\nEND { z = 1; }\n'), sink);
  assert.equal(sink.items.length, 1);
});

test('macro arguments and variables', () => {
  const opts: ParseOptions = { macroArgs: ['t.d', '42', 'foo', 'hello world'], macroVars: { pid: 7 }, argRef: true };
  assert.equal((stmtExpr('x = $1', opts) as A.Assign).value.kind, 'IntLit');
  assert.equal(((stmtExpr('x = $2 + $3', opts) as A.Assign).value as A.Binary).right.kind, 'StringLit');
  assert.equal(((stmtExpr('x = $$1 + $pid', opts) as A.Assign).value as A.Binary).left.kind, 'StringLit');
  assert.equal(firstError('BEGIN { x = $5; }', opts).endsWith('[D_MACRO_UNDEF] line 1: macro argument $5 is not defined'), true);
  assert.equal(firstError('BEGIN { x = $bogus; }', opts).endsWith('macro variable $bogus is not defined'), true);
  assert.equal(firstError('BEGIN { x = $1; }', { macroArgs: ['t.d', '1', '2'] }).endsWith("extraneous argument '2' ($2 is not referenced)"), true);
  const c = parseOk('pid$pid:::entry { }', opts).items[0] as A.Clause;
  assert.equal(c.probes[0]!.provider, 'pid7');
  assert.equal((stmtExpr('x = $3', { macroArgs: ['t.d'], defaultArgs: true }) as A.Assign).value.kind, 'IntLit');
  assert.equal(stmtExpr('$1').kind, 'MacroVar');
});

test('#pragma D option defaultargs in a script: a missing $N is 0 and $$N "" from that line on', () => {
  const noArgs: ParseOptions = { macroArgs: ['t.d'] };
  assert.equal(firstError('#pragma D option defaultargs\nBEGIN { x = $1; y = $$2; }', noArgs), 'no error');
  const c = parseOk('#pragma D option defaultargs\nBEGIN { x = $1; }', noArgs).items.find((i) => i.kind === 'Clause') as A.Clause;
  assert.equal(((c.body[0] as A.ExprStmt).expr as A.Assign).value.kind, 'IntLit');
  assert.equal(firstError('BEGIN { x = $1; }', noArgs).endsWith('macro argument $1 is not defined'), true);
});

test('probe descriptions fill from the right', () => {
  const probes = (parseOk('a:b, c:d:e:f, g {}').items[0] as A.Clause).probes;
  assert.deepEqual(probes.map((p) => [p.provider, p.module, p.function, p.name]), [['', '', 'a', 'b'], ['c', 'd', 'e', 'f'], ['', '', '', 'g']]);
});

test('cpp: line numbers map back and errors are reported', { skip: process.platform !== 'linux' ? 'needs cpp' : false }, () => {
  const src = makeSource('t.d', '#define V 5\n\n\nBEGIN { x = V; y = ; }\n');
  const r = preprocess(src, { defines: [], undefs: [], includes: [], extraArgs: [] });
  if ('error' in r) return assert.fail(r.error + r.cppStderr);
  const sink = new DiagnosticSink();
  parse(r.source, sink);
  assert.equal(renderDiagnostic(sink.errors[0]!, { errtags: true, caret: false }), 'dtrace: failed to compile script t.d: [D_SYNTAX] line 4: syntax error near ";"');
  const bad = preprocess(makeSource('t.d', '#if 1\n'), { defines: [], undefs: [], includes: [], extraArgs: [] });
  assert.ok('error' in bad && /unterminated #if/.test(bad.cppStderr));
  // cpp's own lines come first, then DTrace's.
  const lines = bad.error.split('\n');
  assert.match(lines[0]!, /^\/dev\/stdin:1(:\d+)?: error: unterminated #if/);
  assert.equal(lines.at(-1), 'dtrace: failed to compile script t.d: Preprocessor failed to process input program');
});

test('lines are those of DTrace\'s lexer when it noticed (yylineno)', () => {
  // An unterminated comment is noticed at the end of the input.
  assert.equal(firstError('BEGIN {}\n/* no end\n'), 'dtrace: failed to compile script t.d: [D_SYNTAX] line 3: end-of-file encountered before matching */');
  // A struct redefinition is noticed at its `{`, `long struct` once the tag is complete.
  assert.equal(firstError('struct s { int a; };\nstruct s\n{ int b; };'), 'dtrace: failed to compile script t.d: [D_DECL_TYPERED] line 3: type redeclared: struct s');
  assert.equal(firstError('long struct s\n{ int i; };'), 'dtrace: failed to compile script t.d: [D_DECL_LONGINT] line 2: invalid type declaration: long and long long may only be used with integer or floating-point type');
  assert.equal(firstError('unsigned enum e\n{ A };'), 'dtrace: failed to compile script t.d: [D_DECL_SIGNINT] line 2: invalid type declaration: signed and unsigned may only be used with integer type');
  // `int*x` is a declaration, not a probe description; the name at the end of input is the
  // lexer's `end-of-input` error on the last line. With pspec it is a description.
  assert.equal(firstError('int*x\n'), 'dtrace: failed to compile script t.d: [D_SYNTAX] line 2: syntax error near end-of-input');
  assert.equal(firstError('#pragma D option pspec\nint*x\n'), 'dtrace: failed to compile script t.d: [D_SYNTAX] line 2: expected predicate and/or actions following probe description');
});

test('nodes built on a lookahead carry its line', () => {
  const c = parseOk('BEGIN\n/1 &&\n2/\n{\n}\n').items[0] as A.Clause;
  const pred = c.predicate!;
  // `&&` is reduced on the `/` that closes the predicate, whose lookahead reads on to `{`.
  assert.equal(pred.span.source.text.slice(0, pred.span.lineAt).split('\n').length, 4);
  // The clause is built on its closing brace.
  assert.equal(c.span.source.text.slice(0, c.span.lineAt).split('\n').length, 5);
});

test('character constants and escapes as DTrace decodes them (stresc2chr)', () => {
  assert.equal(firstToken("'\\?'").intValue, 0x5c3fn);
  assert.equal(firstToken("'\\''").intValue, 0x5c27n);
  assert.equal(firstToken("'\\\"'").intValue, 0x22n);
  assert.equal(firstToken("'\\x4E'").intValue, 0x4en);
  assert.equal(firstToken("'\\x123'").intValue, 0x23n);
  assert.equal(firstToken('"a\\qb"').stringValue, 'a\\qb');
});

/** Parses `text` as a -n/-P/-m/-f/-i argument: the descriptions it names, or its first error. */
function specifier(text: string, field?: 'provider' | 'module' | 'function', opts: ParseOptions = {}): string {
  const sink = new DiagnosticSink();
  const p = parse(makeSource(text, text, 'description', field), sink, opts);
  const d = sink.errors[0];
  if (d) return renderDiagnostic(d, { errtags: false, caret: false });
  return p.items.flatMap((i) => i.kind === 'Clause' ? i.probes.map((q) => `${q.provider}:${q.module}:${q.function}:${q.name}`) : []).join(' ');
}

test('-P/-m/-f fill fields from the one they name, dropping the field before a leading colon', () => {
  assert.equal(specifier('syscall', 'provider'), 'syscall:::');
  assert.equal(specifier('syscall:vmlinux', 'module'), 'syscall:vmlinux::');
  assert.equal(specifier('vmlinux:read { }', 'function'), ':vmlinux:read:');
  assert.equal(specifier(':genunix::', 'function'), 'genunix:::');
  assert.equal(specifier('::read:', 'function'), ':read::');
  assert.equal(specifier(':a:b:c:d'), 'a:b:c:d');
  assert.equal(specifier(':genunix::', 'module'), 'dtrace: invalid probe specifier :genunix::: invalid probe description ":genunix::": Overspecified probe description');
  assert.equal(specifier('profile:::tick-1s', 'provider'), 'dtrace: invalid probe specifier profile:::tick-1s: invalid probe description "profile:::tick-1s": Overspecified probe description');
  assert.equal(specifier('a:b:c:d:e'), 'dtrace: invalid probe specifier a:b:c:d:e: invalid probe description "a:b:c:d:e": Overspecified probe description');
});

test('a probe ID in a description: known, unknown, or where only names may stand', () => {
  const probeById = (id: number) => id === 2 ? 'dtrace:::END' : undefined;
  assert.equal(specifier('2', undefined, { probeById }), 'dtrace:::END');
  assert.equal(specifier('2 -2', undefined, { probeById }), 'dtrace:::END :::-2');
  assert.equal(specifier('0', undefined, { probeById }), 'dtrace: invalid probe specifier 0: invalid probe identifier 0: Unknown probe identifier');
  assert.equal(specifier('4.56', 'function', { probeById }), 'dtrace: invalid probe specifier 4.56: probe identifier 4 not permitted when specifying functions');
  assert.equal(specifier('7', 'provider', { probeById }), 'dtrace: invalid probe specifier 7: probe identifier 7 not permitted when specifying providers');
});
