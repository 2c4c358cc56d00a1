import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from './parser.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { walkExpr, someNode, callsAny } from './walk.js';
import type * as A from './ast.js';

function program(text: string): A.Program {
  const sink = new DiagnosticSink();
  const p = parse(makeSource('t.d', text), sink, {});
  assert.deepEqual(sink.errors.map((d) => d.message), []);
  return p;
}

test('walkExpr visits operands pre-order, in source order, and not a call\'s callee name', () => {
  const p = program('BEGIN { x = a[b + 1, strlen(c)] ? -d : (int)e->f; }');
  const clause = p.items[0] as A.Clause;
  const stmt = clause.body[0] as A.ExprStmt;
  const seen: string[] = [];
  walkExpr(stmt.expr, (e) => seen.push(e.kind === 'Ident' ? e.name : e.kind));
  assert.deepEqual(seen, ['Assign', 'x', 'Ternary', 'Index', 'a', 'Binary', 'b', 'IntLit', 'Call', 'c', 'Unary', 'd', 'Cast', 'Member', 'e']);
});

test('someNode reaches predicates, statements and declarations; callsAny finds calls anywhere', () => {
  const p = program('inline int n = 3; BEGIN /errno == 0/ { if (n) { trace(strlen("a")); } }');
  assert.equal(someNode(p.items, (o) => o.kind === 'Ident' && o.name === 'errno'), true);
  assert.equal(someNode(p.items, (o) => o.kind === 'IntLit' && o.value === 3n), true);
  assert.equal(callsAny(p.items, ['strlen']), true);
  assert.equal(callsAny(p.items, ['exit']), false);
});
