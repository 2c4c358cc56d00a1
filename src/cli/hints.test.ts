import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withHint, relocatedFromLibrary } from './hints.js';
import { makeSource } from '../diag/source.js';
import { renderDiagnostic } from '../diag/render.js';
import type { Diagnostic, ErrTag } from '../diag/diagnostic.js';

const source = makeSource('t.d', 'BEGIN { counter = 1; trace(countr); }\n', 'script');
const diag = (tag: ErrTag, message: string): Diagnostic => ({ tag, severity: 'error', message, span: { source, start: 27, end: 33 }, notes: [] });

test('an unknown variable suggests a builtin or one of the program\'s own names', () => {
  assert.equal(withHint(diag('D_IDENT_UNDEF', 'failed to resolve exename: Unknown variable name'), []).hint, 'did you mean `execname`?');
  assert.equal(withHint(diag('D_IDENT_UNDEF', 'failed to resolve countr: Unknown variable name'), [source.text]).hint, 'did you mean `counter`?');
  assert.equal(withHint(diag('D_IDENT_UNDEF', 'failed to resolve zzzzqqq: Unknown variable name'), [source.text]).hint, undefined);
  // A kernel symbol the kernel lacks: the program's own `mpid` is the same name, never offered
  // (the hint, if any, is about the kernel's symbol table, and depends on the machine).
  for (const name of ['`mpid', 'genunix`mpid']) {
    const h = withHint(diag('D_IDENT_UNDEF', `failed to resolve ${name}: Unknown symbol name`), [`BEGIN { trace(${name}); }`]).hint;
    assert.ok(h === undefined || !h.startsWith('did you mean'), h);
  }
});

test('an unknown kernel symbol is not "corrected" to the same name written without its backquote', () => {
  // The program names `jiffies; its text holds the identifier jiffies one edit away from "`jiffies".
  for (const name of ['`jiffies', 'vmlinux`jiffies']) {
    const h = withHint(diag('D_IDENT_UNDEF', `failed to resolve ${name}: Unknown symbol name`), ['BEGIN { trace(`jiffies); }']).hint;
    assert.ok(h === undefined || !h.startsWith('did you mean'), h);
  }
});

test('an unknown function suggests the nearest builtin function', () => {
  assert.equal(withHint(diag('D_FUNC_UNDEF', 'undefined function name: strln'), []).hint, 'did you mean `strlen`?');
  assert.equal(withHint(diag('D_FUNC_UNDEF', 'undefined function name: prinft'), []).hint, 'did you mean `printf`?');
});

test('a description of an unknown provider suggests the nearest provider', () => {
  assert.equal(withHint(diag('D_PDESC_ZERO', 'probe description syscal::getpid:entry does not match any probes'), []).hint, 'did you mean `syscall`?');
  assert.equal(withHint(diag('D_PDESC_ZERO', 'probe description profil:::tick-1s does not match any probes'), []).hint, 'did you mean `profile`?');
});

test('with the caret, the location names the column', () => {
  const text = renderDiagnostic(diag('D_IDENT_UNDEF', 'failed to resolve countr: Unknown variable name'), { errtags: false, caret: true, position: true });
  assert.match(text, /^ --> t\.d:1:28$/m);
  // Without the caret (the test harness), DTrace's single line only.
  assert.equal(renderDiagnostic(diag('D_IDENT_UNDEF', 'x'), { errtags: false, caret: false }), 'dtrace: failed to compile script t.d: line 1: x');
});

test('an error located in the D library names the user\'s program and the library file, not an install path', () => {
  const lib = makeSource('/usr/lib/node_modules/dtrace-ts/lib/io.d', '/* io */\ntranslator bufinfo_t < struct bio *B > { b_flags = B->nosuch; };\n', 'library');
  const d: Diagnostic = { tag: 'D_TYPE_MEMBER', severity: 'error', message: 'nosuch is not a member of struct bio', span: { source: lib, start: 60, end: 66 }, notes: [] };
  const text = renderDiagnostic(relocatedFromLibrary(d, source), { errtags: false, caret: false });
  assert.equal(text, 'dtrace: failed to compile script t.d: nosuch is not a member of struct bio (in the D library: io.d, line 2)');
});
