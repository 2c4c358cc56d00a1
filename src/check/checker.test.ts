/**
 * @fileoverview Checker unit tests, one expectation per line: a D program and the DTrace error
 * tag it must produce (or none), plus typing results that code generation relies on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { check, type Checked } from './checker.js';
import { typeName, resolve } from './ctypes.js';
import type { Expr, Clause } from '../lang/ast.js';

function run(text: string, opts: { destructive?: boolean } = {}): { checked: Checked; sink: DiagnosticSink } {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', text), sink, {});
  // Some declaration errors are the parser's (as in DTrace, where declarations are handled
  // while parsing): the first error of either stage is what counts.
  const checked = check(program, sink, { strsize: 256, destructive: opts.destructive ?? false });
  return { checked, sink };
}

function expectError(text: string, tag: string, message?: string): void {
  const { sink } = run(text);
  const first = sink.errors[0];
  assert.equal(first?.tag, tag, `${text}\n  got ${first?.tag}: ${first?.message}`);
  if (message !== undefined) assert.equal(first!.message, message);
}

/** expectError for each [program, tag, message?] row, in order. */
function expectErrors(cases: [text: string, tag: string, message?: string][]): void {
  for (const [text, tag, message] of cases) expectError(text, tag, message);
}

function expectClean(text: string): Checked {
  const { checked, sink } = run(text);
  assert.deepEqual(sink.errors.map((d) => `${d.tag}: ${d.message}`), [], text);
  return checked;
}

/** The expression of the first statement `trace(expr)` in the last clause. */
function tracedExpr(checked: Checked): Expr {
  const clauses = checked.program.items.filter((i): i is Clause => i.kind === 'Clause');
  const stmt = clauses[clauses.length - 1]!.body.find((s) => s.kind === 'ExprStmt' && s.expr.kind === 'Call' && s.expr.callee.name === 'trace');
  assert.ok(stmt && stmt.kind === 'ExprStmt' && stmt.expr.kind === 'Call');
  return stmt.expr.args[0]!;
}

function typeOfTraced(text: string): string {
  const c = expectClean(text);
  return typeName(c.typeOf(tracedExpr(c)));
}

test('aggregations', () => {
  expectError('BEGIN { @ = sum(""); }', 'D_AGG_SCALAR');
  expectError('BEGIN { @ = trace(0); }', 'D_AGG_FUNC', '@_ must be assigned the result of an aggregating function'.replace('@_', '@'));
  expectErrors([
    ['BEGIN { @a = count(); @a = sum(1); }', 'D_AGG_REDEF'],
    ['BEGIN { @[0][1] = count(); }', 'D_AGG_MDIM'],
    ['BEGIN { @a[1] = count(); @a[1, 2] = count(); }', 'D_PROTO_LEN', '@a[ ] prototype mismatch: 2 keys passed, 1 expected'],
    ['BEGIN { @a["x"] = count(); @a[1] = count(); }', 'D_PROTO_ARG'],
    ['BEGIN { @[trace(0)] = count(); }', 'D_KEY_TYPE'],
    ['BEGIN { @a = count(); @a; }', 'D_AGG_NULL'],
    ['BEGIN { @a; }', 'D_IDENT_UNDEF', 'failed to resolve @a: Unknown variable name'],
    ['BEGIN { avg(1); }', 'D_CG_EXPR'],
    ['BEGIN { @a = count(); trace(@a); }', 'D_TRACE_DYN'],
    ['BEGIN { @ = lquantize(1, 2147483657, 1000); }', 'D_LQUANT_BASEVAL'],
    ['BEGIN { @ = lquantize(1, 10, 0); }', 'D_LQUANT_MISMATCH'],
    ['BEGIN { @ = lquantize(1, 0, 10, 0); }', 'D_LQUANT_STEPTYPE'],
    ['BEGIN { @ = lquantize(1, 0, 100, 10); @ = lquantize(1, 0, 100, 20); }', 'D_LQUANT_MATCHSTEP'],
    ['BEGIN { @ = llquantize(1, 10, 0, 6, 6); }', 'D_LLQUANT_STEPVAL'],
    ['BEGIN { @ = llquantize(1, 10, 5, 3, 10); }', 'D_LLQUANT_HMAGVAL'],
  ]);
  const c = expectClean('BEGIN { @b[1, "x"] = lquantize(2, 0, 100, 10); @a = count(); @b[2, "y"] = lquantize(3, 0, 100, 10); }');
  assert.deepEqual(c.aggregations.map((a) => [a.name, a.fn, a.params.map(String), a.keyTypes?.map(typeName)]),
    [['b', 'lquantize', ['0', '100', '10'], ['int', 'string']], ['a', 'count', [], []]]);
});

test('prototypes of actions and subroutines', () => {
  expectErrors([
    ['BEGIN { trace(); }', 'D_PROTO_LEN', 'trace( ) prototype mismatch: 0 args passed, 1 expected'],
    ['BEGIN { trace(1, 2); }', 'D_PROTO_LEN', 'trace( ) prototype mismatch: 2 args passed, 1 expected'],
    ['BEGIN { printf(); }', 'D_PROTO_LEN', 'printf( ) prototype mismatch: 0 args passed, at least 1 expected'],
    ['BEGIN { setopt("a", "b", "c"); }', 'D_PROTO_LEN', 'setopt( ) prototype mismatch: 3 args passed, at most 2 expected'],
    ['BEGIN { substr("abc"); }', 'D_PROTO_LEN', 'substr( ) prototype mismatch: 1 arg passed, at least 2 expected'],
    ['BEGIN { exit("x"); }', 'D_PROTO_ARG', 'exit( ) argument #1 is incompatible with prototype:\n\tprototype: int\n\t argument: string'],
    ['BEGIN { trace(substr(1, 2)); }', 'D_PROTO_ARG', 'substr( ) argument #1 is incompatible with prototype:\n\tprototype: char *\n\t argument: int'],
    ['BEGIN { x = nosuchfunc(1); }', 'D_FUNC_UNDEF'],
    ['BEGIN { trace(1, nosuchfunc()); }', 'D_FUNC_UNDEF'],
    ['BEGIN { stack(0); }', 'D_STACK_SIZE'],
    ['BEGIN { ustack(1, -1); }', 'D_USTACK_STRSIZE'],
    ['BEGIN { tracemem(0, 0); }', 'D_TRACEMEM_SIZE'],
    ['BEGIN { trace(exit(0)); }', 'D_TRACE_VOID'],
    ['BEGIN { i = 1; x = i ? trace(0) : trace(1); }', 'D_OP_ACT'],
    ['BEGIN { copyinto(1, 2, ""); }', 'D_PROTO_ARG'],
    ['#pragma D option scratchsize=1024\nBEGIN { p = alloca(1025); }', 'D_ALLOCA_SIZE', 'alloca(1025) size larger than scratchsize 1024'],
  ]);
  expectClean('BEGIN { trace(strlen(execname)); trace(substr("abc", 1)); trace(index("abc", "b", 0)); }');
});

test('printf formats', () => {
  expectErrors([
    ['BEGIN { printf("%d"); }', 'D_PRINTF_ARG_PROTO', 'printf( ) prototype mismatch: conversion #1 (%d) is missing a corresponding value argument'],
    ['BEGIN { printf("%d", 1, 2); }', 'D_PRINTF_ARG_EXTRA', 'printf( ) prototype mismatch: only 1 arguments required by this format string'],
    ['BEGIN { printf("%d", "s"); }', 'D_PRINTF_ARG_TYPE'],
    ['BEGIN { printf("%s", 1); }', 'D_PRINTF_ARG_TYPE'],
    ['BEGIN { printf("%*d"); }', 'D_PRINTF_DYN_PROTO', 'printf( ) prototype mismatch: conversion #1 (%d) is missing a corresponding "*" argument'],
    ['BEGIN { printf("%*d", 1); }', 'D_PRINTF_ARG_PROTO'],
    ['BEGIN { printf("%*d", "a", 1); }', 'D_PRINTF_DYN_TYPE'],
    ['BEGIN { printf(""); }', 'D_PRINTF_FMT_EMPTY'],
    ['BEGIN { printf("%@d", 1); }', 'D_PRINTF_AGG_CONV'],
    ['BEGIN { printf("%Z", 1); }', 'D_SYNTAX', 'format conversion #1 is undefined: %Z'],
    ['BEGIN { printf(1); }', 'D_PROTO_ARG'],
    ['BEGIN { x = "a"; printf(x); }', 'D_PRINTF_ARG_FMT'],
    ['BEGIN { @a[1] = count(); @b = count(); printa(@a, @b); }', 'D_PRINTA_AGGKEY'],
    ['BEGIN { printa(1); }', 'D_PRINTA_AGGARG'],
    ['BEGIN { @[stack()] = count(); printa("%p\\n", @); }', 'D_PRINTF_ARG_TYPE'],
  ]);
  expectClean('BEGIN { printf("%d %s %5.2s %-8x %c %p %%\\n", 1, "a", execname, 3ul, \'c\', 0); }');
  expectClean('BEGIN { @[execname, 1] = count(); printa("%s %d %@u\\n", @); }');
});

test('printf formats are parsed by the table the consumer prints with (dt_printf_create)', () => {
  expectErrors([
    ['BEGIN { printf("%**d"); }', 'D_SYNTAX', "format conversion #1 has more than one '*' specified for the output width"],
    ['BEGIN { printf("%.**d"); }', 'D_SYNTAX', "format conversion #1 has more than one '*' specified for the output precision"],
    ['BEGIN { printf("%-%"); }', 'D_SYNTAX', 'format conversion #1 cannot be combined with other format flags: %%'],
    // Conversions the dictionary lacks are undefined whatever their parts would allow.
    ['BEGIN { printf("%hc", 1); }', 'D_SYNTAX', 'format conversion #1 is undefined: %hc'],
    ['BEGIN { printf("%s %.*d\\n", "a"); }', 'D_PRINTF_DYN_PROTO', 'printf( ) prototype mismatch: conversion #2 (%d) is missing a corresponding ".*" argument'],
    ['BEGIN { printf("%hd", 1); }', 'D_PRINTF_ARG_TYPE', 'printf( ) argument #2 is incompatible with conversion #1 prototype:\n\tconversion: %hd\n\t prototype: short\n\t  argument: int'],
    ['BEGIN { printf("%llx", (int)1); }', 'D_PRINTF_ARG_TYPE'],
  ]);
  expectClean('BEGIN { printf("%hd %lld %llx\\n", (short)1, 1ll, 2ull); }');
});

test('variables, scopes and assignment rules', () => {
  expectErrors([
    ['BEGIN { trace(x); }', 'D_IDENT_UNDEF', 'failed to resolve x: Unknown variable name'],
    ['BEGIN { trace(self->x); }', 'D_VAR_UNDEF', 'self->x has not yet been declared or assigned'],
    ['BEGIN { x = 1; x = "s"; }', 'D_OP_INCOMPAT', 'operands have incompatible types: "int" = "string"'],
    ['BEGIN { x = 1; x += "s"; }', 'D_OP_INCOMPAT', 'operands have incompatible types: "int" += "string"'],
    ['this int x; BEGIN { this->x = "dummy"; }', 'D_OP_INCOMPAT'],
    ['BEGIN { pid = 1; }', 'D_OP_WRITE'],
    ['BEGIN { 1++; }', 'D_OP_LVAL'],
    ['int a[3]; BEGIN { a = 1; }', 'D_OP_ARRFUN', 'operator = may not be applied to operand of type "int [3]"'],
    ['BEGIN { a[1] = 1; trace(a); }', 'D_IDENT_BADREF', "associative array 'a' may not be referenced as scalar"],
    ['BEGIN { x = 1; trace(x[1, 2]); }', 'D_ARR_BADREF', 'cannot access scalar x as an associative array'],
    ['BEGIN { this->a[1] = 1; }', 'D_ARR_LOCAL'],
    ['BEGIN { a["x"] = 1; a[1] = 2; }', 'D_PROTO_ARG'],
    ['BEGIN { x = 1; trace(&x); }', 'D_ADDROF_VAR'],
    ['BEGIN { trace(&1); }', 'D_ADDROF_LVAL'],
    ['BEGIN { x = 1; trace(*x); }', 'D_DEREF_NONPTR'],
    ['BEGIN { x = (void *)0; trace(*x); }', 'D_DEREF_VOID'],
    ['BEGIN { trace(1 / 0); }', 'D_DIV_ZERO', 'expression contains division by zero'],
    ['BEGIN { x = (void *)1 + 1; }', 'D_OP_INCOMPAT', 'operands have incompatible types: "void *" + "int"'],
    ['BEGIN { trace("a" && 1); }', 'D_OP_SCALAR', 'operator && requires operands of scalar type'],
    ['BEGIN /"a"/ { trace(1); }', 'D_PRED_SCALAR'],
    ['BEGIN { trace(1 == "a"); }', 'D_OP_INCOMPAT'],
    ['BEGIN { trace(stringof(trace(1))); }', 'D_STRINGOF_TYPE', 'cannot apply stringof to a value of type void'],
    ['BEGIN { trace(sizeof(void)); }', 'D_SIZEOF_TYPE'],
  ]);
  // Predicate-first retry: the predicate creates x.
  expectClean('BEGIN /x++ == 0/ { trace(x); }');
  // A reference to an undeclared enum tag declares it (forward), as for struct and union; a
  // later definition completes it.
  expectClean('extern enum uio_rw e24; BEGIN { exit(0); }');
  expectClean('enum later x; enum later { ONE = 1, TWO }; BEGIN { trace(TWO); }');
  expectError('enum twice { A }; enum twice { B }; BEGIN { }', 'D_DECL_TYPERED');
  // stack() and ustack() values are one type: two clauses may key one aggregation by them.
  expectClean('BEGIN { @s[ustack()] = count(); } BEGIN { @s[ustack()] = count(); }');
  // ++ and -- give an associative array never assigned int64_t values, as they do a scalar.
  const counted = expectClean('BEGIN { events[probename]++; --down[1, 2]; trace(events["BEGIN"]); }');
  assert.deepEqual(counted.variables.map((v) => [v.name, v.kind, v.type && typeName(v.type), v.keyTypes?.map(typeName)]),
    [['events', 'assoc', 'int64_t', ['string']], ['down', 'assoc', 'int64_t', ['int', 'int']]]);
  // Clause-local variables are shared by the clauses of one firing.
  expectClean('BEGIN { this->v = 1; } BEGIN { trace(this->v); }');
  // Storing 0 deletes a thread-local of any type.
  expectClean('struct s { int a; }; self struct s v; BEGIN { self->v = 0; }');
  const c = expectClean('BEGIN { x = timestamp; self->s = "a"; a[1, "k"] = 2; trace(x); }');
  assert.deepEqual(c.variables.map((v) => [v.name, v.scope, v.kind, v.type && typeName(v.type), v.keyTypes?.map(typeName)]),
    [['x', 'global', 'scalar', 'uint64_t', undefined], ['s', 'thread', 'scalar', 'string', undefined], ['a', 'global', 'assoc', 'int', ['int', 'string']]]);
  assert.equal(c.symbolOf(tracedExpr(c))?.kind, 'variable');
});

test('types: promotions, constants, casts', () => {
  // The type of each traced expression. D has no promotion to int (dt_type_promote): the
  // larger operand type wins, unsigned above signed at the same size (arithmetic/tst.cast-add.d).
  const types: Record<string, string> = {
    '1': 'int', '2147483648': 'long', '0xffffffff': 'unsigned int', '1ul': 'unsigned long',
    '(char)1 + (short)2': 'short', '(unsigned char)1 + (char)2': 'unsigned char', '1u + -1': 'unsigned int', '1 + 2l': 'long',
    'timestamp - 1': 'uint64_t', execname: 'string', 'sizeof (int)': 'size_t', '(char *)0 + 1': 'char *', '1 ? "a" : execname': 'string',
  };
  assert.deepEqual(Object.fromEntries(Object.keys(types).map((x) => [x, typeOfTraced(`BEGIN { trace(${x}); }`)])), types);
  expectError('enum e { A, B = 5, C }; inline int K = sizeof (struct s); struct s { int a; }; BEGIN { trace(K); }', 'D_SIZEOF_TYPE');
  const k = expectClean('struct s { int a; char b; int c : 3; int d : 7; long l; }; enum e { A, B = 5, C }; inline int K = C * 2 + sizeof (struct s); BEGIN { trace(K); }');
  assert.equal(k.constValue(tracedExpr(k)), 12n + 16n);
  const st = k.structs.get('struct s')!;
  assert.deepEqual(st.members!.map((m) => [m.name, m.bitOffset, m.bitSize]), [['a', 0, undefined], ['b', 32, undefined], ['c', 40, 3], ['d', 48, 7], ['l', 64, undefined]]);
  // libctf's layout: each bit-field in its own power-of-two byte storage, no tail padding; D` and
  // C` name the program's own types.
  const sizes = expectClean(['struct a { int x : 1; int y : 3; int z : 3; }; struct b { int c : 12; int a : 10; int b : 3; };',
    'struct c { long c : 32; long long d : 9; int e : 1; }; struct d { char a : 2; short b : 12; long c : 32; };',
    'struct e { long l; char c; }; union u { int x; char c; }; struct f { int x; int y; };',
    'BEGIN { trace(sizeof (struct a) + sizeof (struct b) * 10 + sizeof (struct c) * 100 + sizeof (struct d) * 1000 + sizeof (struct D`e) * 10000 + offsetof(struct D`f, y) * 100000 + offsetof(union D`u, c) * 1000000 + sizeof (union C`u) * 10000000); }'].join(' '));
  expectClean('extern int a1[]; extern int a2[3][4]; BEGIN { exit(0); }'); // the kernel knows an extern's dimension
  assert.equal(sizes.constValue(tracedExpr(sizes)), 3n + 50n + 700n + 8000n + 90000n + 400000n + 0n + 40000000n);
  assert.equal(st.sizeBytes, 16);
  assert.equal(expectClean('BEGIN { trace(offsetof(struct s, l)); } struct s { int a; long l; };').constValue !== undefined, true);
  expectErrors([
    ['struct s { int a : 3; }; BEGIN { trace(offsetof(struct s, a)); }', 'D_OFFSETOF_BITFIELD'],
    ['BEGIN { trace(offsetof(int, a)); }', 'D_OFFSETOF_TYPE'],
    ['struct s { int a; }; BEGIN { x = (struct s)1; }', 'D_CAST_INVAL'],
    ['struct s { int a; }; struct s v; BEGIN { trace(v.b); }', 'D_TYPE_MEMBER', 'b is not a member of struct s'],
    ['struct s { int a; }; struct s v; BEGIN { trace(v->a); }', 'D_OP_PTR'],
    ['BEGIN { x = 1; trace(x.a); }', 'D_OP_SOU'],
    ['struct s { int a : 40; };', 'D_DECL_BFSIZE', 'bit-field too big for type: a'],
    ['struct s { float : 1; };', 'D_DECL_BFTYPE', 'invalid type for bit-field: (anon)'],
    ['struct { int f(); };', 'D_DECL_VOIDOBJ', 'cannot have void member: f'],
    ['struct s { int x; char x; };', 'D_UNKNOWN', "failed to define member 'x': Duplicate member or variable name"],
    ['int foo(int, void);', 'D_DECL_PROTO_VOID', 'void must be sole parameter'],
    ['BEGIN { n = 0; trace(inet_ntoa6((struct in6_addr *)alloca(16), n)); }', 'D_PROTO_ARG', 'inet_ntoa6( ) argument #2 must be an integer constant'],
    ['enum e { A, A };', 'D_UNKNOWN', "failed to define enumerator 'A': Duplicate member or variable name"],
    ['enum e { A = 2147483648 };', 'D_DECL_ENOFLOW'],
    ['typedef int t; typedef int t;', 'D_DECL_IDRED', 'typedef redeclared: t'],
    ['register x;', 'D_DECL_BADCLASS'],
    ['int a[];', 'D_DECL_ARRNULL', 'array declaration requires array dimension or tuple signature: a'],
    ['struct r { struct p x; };', 'D_DECL_INCOMPLETE', 'incomplete struct/union/enum struct p: x'],
    ['inline int i = "s";', 'D_OP_INCOMPAT', 'inline i definition uses incompatible types: "int" = "string"'],
    ['BEGIN { i = (char long)0; }', 'D_DECL_CHARATTR'],
    ['BEGIN { i = (short long)0; }', 'D_UNKNOWN', 'failed to resolve type short long : Unknown type name'],
  ]);
});

test('translators and xlate', () => {
  const text = 'struct in { int a; }; struct out { int b; char *c; }; translator struct out < struct in *p > { b = p->a + 1; };\n';
  expectClean(text + 'struct in *ip; BEGIN { trace(xlate<struct out>(ip).b); }');
  expectError(text + 'struct in *ip; BEGIN { trace(xlate<struct out>(ip).c); }', 'D_XLATE_NOCONV');
  expectError(text + 'BEGIN { trace(xlate<struct out>(1).b); }', 'D_XLATE_NONE', 'cannot translate from "int" to "struct out"');
  expectError('struct o { int x; }; translator struct o < int v > { y = v; };', 'D_XLATE_MEMB', 'translator member y is not a member of struct o');
  expectError('struct o { char *x; }; translator struct o < int v > { x = (char)v; };', 'D_XLATE_INCOMPAT');
  expectError('translator int < int v > { x = v; };', 'D_XLATE_SOU', 'translator output type must be a struct or union');
  const c = expectClean(text + 'struct in *ip; BEGIN { trace(xlate<struct out *>(ip)->b); }');
  const s = c.symbolOf(tracedExpr(c));
  assert.equal(s?.kind, 'xlate-member');
});

test('speculation and action ordering', () => {
  expectErrors([
    ['BEGIN { speculate(1); speculate(1); }', 'D_SPEC_SPEC'],
    ['BEGIN { commit(1); speculate(1); }', 'D_SPEC_COMM'],
    ['BEGIN { trace(1); commit(1); }', 'D_COMM_DREC'],
    ['BEGIN { commit(1); trace(1); }', 'D_DREC_COMM'],
    ['BEGIN { speculate(1); @a = count(); }', 'D_AGG_SPEC'],
    ['BEGIN { speculate(1); exit(0); }', 'D_EXIT_SPEC'],
    ['BEGIN { speculate(1); raise(9); }', 'D_ACT_SPEC'],
  ]);
  const d = run('BEGIN { system("ls"); }');
  assert.equal(d.sink.errors.length, 0);
  assert.equal(d.checked.usesDestructive, true);
  // The formatted actions take their format as a string constant (code generation relies on it).
  expectError('BEGIN { x = "ls"; system(x); }', 'D_PRINTF_ARG_FMT', 'system( ) argument #1 is incompatible with prototype:\n\tprototype: string constant\n\t argument: string');
  expectError('inline string f = "/tmp/out"; BEGIN { freopen(f); }', 'D_PRINTF_ARG_FMT');
  expectError('inline int fmt = 3; BEGIN { printf(fmt); }', 'D_PROTO_ARG', 'printf( ) argument #1 is incompatible with prototype:\n\tprototype: string\n\t argument: int');
});

test('pragmas are collected for the CLI', () => {
  const c = expectClean('#pragma D option quiet\n#pragma D option bufsize=4m\nBEGIN { exit(0); }');
  assert.deepEqual(c.options, [['quiet', undefined], ['bufsize', '4m']]);
});

test('kernel types are unknown without BTF', () => {
  expectError('BEGIN { trace(curthread->comm); }', 'D_OP_INCOMPLETE');
  const c = expectClean('BEGIN { trace(curthread); }');
  assert.equal(resolve(c.typeOf(tracedExpr(c))).kind, 'pointer');
});

test('DTrace constants: NULL, string literal sizes, character constants', () => {
  const c = expectClean('BEGIN { trace(sizeof(NULL)); }');
  assert.equal(c.constValue(tracedExpr(c)), 4n);
  const s = expectClean('BEGIN { trace(sizeof("hi")); }');
  assert.equal(s.constValue(tracedExpr(s)), 3n);
  const s2 = expectClean('BEGIN { x = "hi"; trace(sizeof(x)); }');
  assert.equal(s2.constValue(tracedExpr(s2)), 256n);
  expectClean('BEGIN { p = curthread; trace(p == NULL); p = NULL; }');
  const k = expectClean("BEGIN { trace('a\\bcdefgh'); }");
  assert.equal(typeName(k.typeOf(tracedExpr(k))!), 'long');
  assert.equal(k.constValue(tracedExpr(k)), 0x6108636465666768n);
});

test('DTrace wording of declaration and printa errors', () => {
  expectError('enum e { A = 2147483648 };', 'D_DECL_ENOFLOW', "enumerator 'A' value overflows INT_MAX (2147483647)");
  expectError('enum e { A = -2147483649 };', 'D_DECL_ENOFLOW', "enumerator 'A' value overflows INT_MAX (2147483647)");
  expectError('BEGIN { @foo[1] = count(); @bar["a"] = count(); printa("%d %@d %@d", @foo, @bar); }', 'D_PRINTA_AGGPROTO',
    'printa( ): @bar[ ] key #1 is incompatible with @foo:\n      foo key #1: int\n      bar key #1: string');
  expectError('BEGIN { printf("%*d", "", 1); }', 'D_PRINTF_DYN_TYPE',
    'printf( ) argument #2 is incompatible with conversion #1 prototype:\n\tconversion: % * d\n\t prototype: int\n\t  argument: string');
});

test('option version: built-ins introduced after it are not defined (names free for variables); later ones stay', () => {
  // strstr & co. came with D 1.1: a 1.0 program may declare variables of those names.
  expectClean('#pragma D option version=1.0\nint strstr; int substr; int freopen; BEGIN { strstr = 1; x = strlen("a"); }');
  expectError('#pragma D option version=1.1\nint strstr;', 'D_DECL_IDRED', 'identifier redeclared: strstr');
  expectError('#pragma D option version=1.0\nBEGIN { x = strstr("a", "b"); }', 'D_FUNC_UNDEF', 'undefined function name: strstr');
  expectError('#pragma D option version=1.2\nBEGIN { x = htonl(1); }', 'D_FUNC_UNDEF', 'undefined function name: htonl');
  // -x version reaches the checker as an option.
  const sink = new DiagnosticSink();
  check(parse(makeSource('t.d', 'BEGIN { x = tolower("A"); }'), sink, {}), sink, { strsize: 256, destructive: false, version: '1.7' });
  assert.equal(sink.errors[0]?.tag, 'D_FUNC_UNDEF');
});
