/**
 * @fileoverview A unary operator's operand never assigned (dt_cook_op1 cooks it without the
 * reference flag): a variable or associative array takes the type int64_t — iosnoop's
 * `/! pending[args[1]->dev_statname]/` before the clause that increments it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { makeSource } from '../diag/source.js';
import { check } from './checker.js';
import { typeName } from './ctypes.js';

function run(text: string): { errors: string[]; globalType: (name: string) => string | undefined } {
  const sink = new DiagnosticSink();
  const checked = check(parse(makeSource('t.d', text), sink, {}), sink, { strsize: 256, destructive: false });
  return {
    errors: sink.errors.map((d) => `${d.tag}: ${d.message}`),
    globalType: (name) => {
      const v = checked.variables.find((x) => x.name === name);
      return v?.type ? typeName(v.type) : undefined;
    },
  };
}

test('!, -, ~ on an associative array or self/this variable never assigned: int64_t, no error', () => {
  const r = run('io:::start /! pending[1]/ { last[1] = timestamp; } io:::start { pending[1]++; }');
  assert.deepEqual(r.errors, []);
  assert.equal(r.globalType('pending'), 'int64_t');
  assert.deepEqual(run('BEGIN /!self->ok/ { trace(-self->x); trace(~this->y); }').errors, []);
});

test('a plain read, or an unknown scalar under a unary operator, is still an error', () => {
  assert.deepEqual(run('BEGIN { trace(pending[1]); }').errors, ['D_VAR_UNDEF: pending has not yet been declared or assigned']);
  assert.deepEqual(run('BEGIN { trace(!zz); }').errors, ['D_IDENT_UNDEF: failed to resolve zz: Unknown variable name']);
  assert.deepEqual(run('BEGIN { trace(&self->q); }').errors, ['D_ADDROF_VAR: cannot take address of dynamic variable']);
});
