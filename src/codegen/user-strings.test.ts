/**
 * @fileoverview userStringArgs: which probe arguments a clause reads with copyinstr(), the set a
 * syscall entry trampoline checks before running the clause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { makeSource } from '../diag/source.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { userStringArgs } from './user-strings.js';

function argsOf(text: string): number[] {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', text, 'script'), sink, {});
  assert.equal(sink.hasErrors, false, sink.errors.map((d) => d.message).join('\n'));
  return userStringArgs(program.items);
}

test('argN and args[N] passed to copyinstr, through casts and parentheses, in predicates and bodies', () => {
  assert.deepEqual(argsOf('syscall::openat:entry { trace(copyinstr(arg1)); }'), [1]);
  assert.deepEqual(argsOf('syscall::openat:entry /copyinstr(args[1]) == "x"/ { trace(copyinstr((uintptr_t)(arg0), 8)); }'), [0, 1]);
  assert.deepEqual(argsOf('syscall::renameat2:entry { printf("%s %s", copyinstr(arg3), copyinstr(arg1)); trace(copyinstr(arg1)); }'), [1, 3]);
});

test('anything else read as a string is not an argument to check', () => {
  assert.deepEqual(argsOf('syscall::openat:entry { self->p = arg1; trace(copyinstr(self->p)); trace(stringof(arg1)); trace(arg1); }'), []);
  assert.deepEqual(argsOf('syscall::openat:entry { trace(copyinstr(arg1 + 1)); trace(copyin(arg1, 4)); }'), []);
});
