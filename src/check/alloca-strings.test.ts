/**
 * @fileoverview Strings are assigned by value, so a string made from alloca space (stringof a
 * copyin()) does not make its variable an alloca pointer: a later ternary between it and a string
 * literal may be assigned back (the DTrace book's keylatency.d, weblatency.d), as in Oracle's
 * dt_parser.c. Pointers keep the taint and the D_ALLOCA_INCOMPAT error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSource } from '../diag/source.js';
import { defaultOptions } from '../cli/options.js';
import { runPipeline } from '../api/pipeline.js';

function check(text: string) {
  return runPipeline({ programs: [{ source: makeSource('t.d', text, 'script'), macroArg0: 't.d' }], options: defaultOptions(), macroArgs: [], stopAfter: 'check' });
}

test('a string variable set from copyin() space takes a ternary with a string literal', () => {
  const r = check(`syscall::read:return { this->key = stringof((char *)copyin(arg1, 1));
    this->key = this->key == "\\r" ? "NL" : this->key; self->k = stringof(copyin(arg1, 1)); self->k = self->k == "" ? "none" : self->k; }`);
  assert.ok(r.ok, r.ok ? '' : r.kind === 'diagnostic' ? r.sink.errors.map((d) => d.tag).join(',') : r.kind);
});

test('an alloca pointer variable still refuses a ternary with a non-alloca branch', () => {
  const r = check('BEGIN { a = (char *)alloca(1); a = (a == NULL) ? (char *)50 : a; }');
  assert.ok(!r.ok && r.kind === 'diagnostic', r.ok ? 'compiled' : r.kind);
  assert.equal(r.sink.errors[0]?.tag, 'D_ALLOCA_INCOMPAT');
});
