/**
 * @fileoverview An inline whose value is an integer constant is an integer constant where D
 * wants one (dt_node_ident turns it into an integer node): the DTraceToolkit's
 * `inline int FDMAX = 255; … lquantize(arg0, 0, FDMAX, 1)`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { check } from './checker.js';

function errors(text: string): string[] {
  const sink = new DiagnosticSink();
  check(parse(makeSource('t.d', text), sink, {}), sink, { strsize: 256, destructive: false });
  return sink.errors.map((d) => `${d.tag}: ${d.message}`);
}

test('an integer inline is a constant argument of lquantize and llquantize', () => {
  assert.deepEqual(errors('inline int FDMAX = 255; BEGIN { @c = lquantize(arg0, 0, FDMAX, 1); }'), []);
  assert.deepEqual(errors('inline int LO = -1; inline int HI = LO + 11; BEGIN { @c = lquantize(arg0, LO, HI); }'), []);
  assert.deepEqual(errors('inline int F = 10; BEGIN { @c = llquantize(arg0, F, 0, 6, 20); }'), []);
});

test('an inline of anything else is still no constant', () => {
  assert.deepEqual(errors('inline int X = pid; BEGIN { @c = lquantize(arg0, 0, X, 1); }'),
    ['D_LQUANT_LIMTYPE: lquantize( ) argument #3 must be an integer constant']);
  assert.deepEqual(errors('BEGIN { m = 5; @c = lquantize(arg0, 0, m, 1); }'),
    ['D_LQUANT_LIMTYPE: lquantize( ) argument #3 must be an integer constant']);
});
