/**
 * @fileoverview Constant folding in 64 bits, as DTrace's dt_node_op2: an integer constant
 * expression keeps its full 64-bit value whatever its D type; only a cast narrows it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { check } from './checker.js';
import type { Clause } from '../lang/ast.js';

/** The folded value of `e` in `BEGIN { trace(e); }`. */
function folded(e: string): bigint | undefined {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', `BEGIN { trace(${e}); }`), sink, {});
  const checked = check(program, sink, { strsize: 256, destructive: false });
  assert.deepEqual(sink.errors.map((d) => d.message), [], e);
  const clause = checked.program.items.find((i): i is Clause => i.kind === 'Clause')!;
  const stmt = clause.body[0]!;
  assert.ok(stmt.kind === 'ExprStmt' && stmt.expr.kind === 'Call');
  return checked.constValue(stmt.expr.args[0]!);
}

test('int constant expressions fold in 64 bits', () => {
  assert.equal(folded('(1 << 40) >> 38'), 4n);
  assert.equal(folded('1 << 40'), 1n << 40n);
  assert.equal(folded('(2000000000 * 4) / 4'), 2000000000n);
  assert.equal(folded('2147483647 + 1'), 2147483648n);
  assert.equal(folded('-2147483647 - 2 < 0'), 1n);
  assert.equal(folded('(1 << 40) == 0'), 0n);
});

test('unsigned constants are 64-bit unsigned in registers; a cast narrows', () => {
  assert.equal(folded('(0xffffffffU + 1) >> 32'), 1n);
  assert.equal(folded('(int)(1 << 40)'), 0n);
  assert.equal(folded('(char)300 + 1'), 45n);
  assert.equal(folded('-1 >> 1'), -1n);
  assert.equal(folded('~0U'), (1n << 64n) - 1n);
});
