/**
 * @fileoverview Parse-time folding of `c ? a : b` when `c` is an integer constant (literals,
 * operators over them, integer inlines defined before): the DTraceToolkit's option idiom.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { printExpr } from './print.js';
import type * as A from './ast.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { check } from '../check/checker.js';

function parsed(text: string): { program: A.Program; sink: DiagnosticSink } {
  const sink = new DiagnosticSink();
  return { program: parse(makeSource('t.d', text), sink, {}), sink };
}

/** The statements of the last clause, printed. */
function statements(text: string): string[] {
  const { program, sink } = parsed(text);
  assert.deepEqual(sink.items.map((d) => d.message), []);
  const clauses = program.items.filter((i): i is A.Clause => i.kind === 'Clause');
  return clauses[clauses.length - 1]!.body.map((s) => (s.kind === 'ExprStmt' ? printExpr(s.expr) : s.kind));
}

test('a ternary on an integer inline is its branch, as DTrace parses it', () => {
  const src = `inline int OPT_time = 0;\ninline int OPT_dump = 1;\nBEGIN {
    OPT_time ? printf("%-14s ", "TIME") : 1;
    OPT_dump ? printf("%s\\n", "ALL") : printf("%5s\\n", "UID");
    !OPT_time && OPT_dump == 1 ? trace(1) : trace(2);
  }`;
  assert.deepEqual(statements(src), ['1', 'printf("%s\\n", "ALL")', 'trace(1)']);
  // The folded program type-checks: the action in the branch taken is a statement.
  const sink = new DiagnosticSink();
  check(parsed(src).program, sink, { strsize: 256, destructive: false });
  assert.deepEqual(sink.errors.map((d) => d.message), []);
});

test('constant expressions fold with C integer types', () => {
  assert.deepEqual(statements('BEGIN { 0x10 - 16 ? trace(1) : trace(2); }'), ['trace(2)']);
  assert.deepEqual(statements('BEGIN { -1 < 0u ? trace(1) : trace(2); }'), ['trace(2)']);
  assert.deepEqual(statements('BEGIN { -1 < 0 ? trace(1) : trace(2); }'), ['trace(1)']);
  assert.deepEqual(statements("BEGIN { 'a' == 97 ? trace(1) : trace(2); }"), ['trace(1)']);
  assert.deepEqual(statements('inline int A = 2 * 3; inline int B = A - 6; BEGIN { B ? trace(1) : trace(2); }'), ['trace(2)']);
});

test('a ternary on anything else stays, and its actions are still refused', () => {
  assert.deepEqual(statements('BEGIN { x = 0; x ? trace(1) : trace(2); }').length, 2);
  assert.equal(printExpr((parsed('BEGIN { x ? 1 : 2; }').program.items[0] as A.Clause).body.map((s) => (s as A.ExprStmt).expr)[0]!), 'x ? 1 : 2');
  // A string inline is no integer constant; nor is a division by zero (the checker's error).
  assert.equal(statements('inline string S = "a"; BEGIN { S ? 1 : 2; }')[0], 'S ? 1 : 2');
  assert.equal(statements('BEGIN { 1 / 0 ? 1 : 2; }')[0], '1 / 0 ? 1 : 2');
  const sink = new DiagnosticSink();
  check(parsed('BEGIN { i = 1; x = i == 0 ? trace(0) : trace(1); }').program, sink, { strsize: 256, destructive: false });
  assert.equal(sink.errors[0]?.tag, 'D_OP_ACT');
});
