import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSource } from '../diag/source.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { parse } from '../lang/parser.js';
import { programAttributes, stabilityReport, statementsInfo } from './stability.js';

function program(text: string) {
  const sink = new DiagnosticSink();
  const ast = parse(makeSource('t.d', text, 'script'), sink, { allowEmpty: true });
  assert.equal(sink.errors.length, 0, sink.errors[0]?.message);
  return ast;
}
const attrs = (text: string) => { const p = program(text); return programAttributes(p, [p]); };
const str = (a: { name: string; data: string; class: string }) => `${a.name}/${a.data}/${a.class}`;

test('a description without a provider is Unstable; printf of a literal and exit are Stable statements', () => {
  const a = attrs('BEGIN { printf("This test should compile: %d\\n", 2); exit(0); }');
  assert.equal(str(a.desc), 'Unstable/Unstable/Common');
  assert.equal(str(a.stmt), 'Stable/Stable/Common');
});

test("a named provider's attributes apply to the fields written (dtrace: Stable provider and name, Private module and function)", () => {
  assert.equal(str(attrs('dtrace:::BEGIN { }').desc), 'Stable/Stable/Common');
  assert.equal(str(attrs('dtrace::foo:BEGIN { }').desc), 'Unstable/Unstable/Common', 'matches nothing: Unstable, as dt_setcontext');
  // probefunc takes the function attributes of the probe's provider; probename its name attributes.
  assert.equal(str(attrs('dtrace:::BEGIN { trace(probename); }').stmt), 'Stable/Stable/Common');
  assert.equal(str(attrs('dtrace:::BEGIN { trace(probefunc); }').stmt), 'Private/Private/Unknown');
  assert.equal(str(attrs('BEGIN /probefunc == "x"/ { }').stmt), 'Private/Private/Unknown', 'the predicate counts');
});

test('builtin identifiers, kernel symbols and inlines bring their own attributes', () => {
  assert.equal(str(attrs('BEGIN { trace(curthread); }').stmt), 'Stable/Private/Common');
  assert.equal(str(attrs('BEGIN { trace(htons(1)); }').stmt), 'Evolving/Evolving/Common');
  assert.equal(str(attrs('BEGIN { trace(`max_pfn); }').stmt), 'Private/Private/Unknown');
  assert.equal(str(attrs('BEGIN { x = 1; @a[execname] = count(); trace((uint64_t)x + sizeof (int)); }').stmt), 'Stable/Stable/Common');
  assert.equal(str(attrs('inline uint64_t t = (uint64_t)curthread; BEGIN { trace(t); }').stmt), 'Stable/Private/Common');
  // The minimum over statements and clauses.
  const both = attrs('BEGIN { trace(htons(1)); } END { trace(curthread); }');
  assert.equal(str(both.stmt), 'Evolving/Private/Common');
});

test('a program without clauses has the default attributes', () => {
  const a = attrs('inline int x = 1;');
  assert.equal(str(a.desc), 'Stable/Stable/Common');
  assert.equal(str(a.stmt), 'Stable/Stable/Common');
});

test('the report is laid out as dtrace -v prints it; -e -v adds each description\'s probe information', () => {
  const p = program('BEGIN { exit(0); }');
  assert.equal(stabilityReport('script', 'x.d', p, [p]), [
    '', 'Stability attributes for script x.d:', '',
    '\tMinimum Probe Description Attributes', '\t\tIdentifier Names: Unstable', '\t\tData Semantics:   Unstable', '\t\tDependency Class: Common', '',
    '\tMinimum Statement Attributes', '\t\tIdentifier Names: Stable', '\t\tData Semantics:   Stable', '\t\tDependency Class: Common', '',
  ].join('\n'));
  const info = statementsInfo(p);
  assert.match(info, /^\n:::BEGIN\n\n\tProbe Description Attributes\n\t\tIdentifier Names: Unstable\n/);
  assert.match(info, /\n\tArgument Types\n\t\tNone\n\n$/);
});
