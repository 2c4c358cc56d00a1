/**
 * @fileoverview The checker against the running kernel's BTF: kernel structs reached through
 * `curthread`, the D library's translators (curpsinfo), and errors naming the struct and member.
 * Needs /sys/kernel/btf/vmlinux (skips with a reason otherwise); no root needed for reading BTF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { parse } from '../../src/lang/parser.js';
import { DiagnosticSink } from '../../src/diag/diagnostic.js';
import { makeSource } from '../../src/diag/source.js';
import { check } from '../../src/check/checker.js';
import { kernelTypeSource } from '../../src/check/btf-types.js';
import { libraryFor } from '../../src/check/library.js';
import { typeName, resolve } from '../../src/check/ctypes.js';
import type { Clause, Expr } from '../../src/lang/ast.js';

const skip = existsSync('/sys/kernel/btf/vmlinux') ? false : 'needs kernel BTF (/sys/kernel/btf/vmlinux)';

function checkText(text: string) {
  const sink = new DiagnosticSink();
  const kernel = kernelTypeSource();
  const program = parse(makeSource('-n', text, 'description'), sink, { isTypeName: (n) => kernel?.typedefType(n) !== undefined });
  const checked = check(program, sink, { strsize: 256, destructive: false, kernelTypes: () => kernel, library: libraryFor([text]) });
  return { checked, errors: sink.errors.map((d) => `${d.tag}: ${d.message}`) };
}

function tracedArgs(program: { items: { kind: string }[] }): Expr[] {
  const clause = program.items.find((i) => i.kind === 'Clause') as Clause;
  return clause.body.flatMap((s) => (s.kind === 'ExprStmt' && s.expr.kind === 'Call' && s.expr.callee.name === 'trace' ? [s.expr.args[0]!] : []));
}

test('curthread->comm and curpsinfo->pr_psargs check clean', { skip }, () => {
  const { checked, errors } = checkText('BEGIN { trace(curthread->comm); trace(curpsinfo->pr_psargs); }');
  assert.deepEqual(errors, []);
  const [comm, psargs] = tracedArgs(checked.program);
  assert.equal(typeName(checked.typeOf(comm!)), 'char [16]');
  assert.equal(checked.symbolOf(comm!)?.kind, 'member');
  const s = checked.symbolOf(psargs!);
  assert.equal(s?.kind, 'xlate-member');
  assert.equal(typeName(checked.typeOf(psargs!)), 'char [80]');
});

test('kernel struct members resolve lazily with offsets', { skip }, () => {
  const { checked, errors } = checkText('BEGIN { trace(curthread->real_parent->tgid); trace(curthread->cred->uid.val); }');
  assert.deepEqual(errors, []);
  const [tgid] = tracedArgs(checked.program);
  const sym = checked.symbolOf(tgid!);
  assert.ok(sym?.kind === 'member' && sym.struct.name === 'task_struct' && sym.member.bitOffset > 0);
  assert.equal(resolve(checked.typeOf(tgid!)).kind, 'int');
});

test('errors on kernel structs name the struct and the member', { skip }, () => {
  assert.deepEqual(checkText('BEGIN { trace(curthread->no_such_member); }').errors,
    ['D_TYPE_MEMBER: no_such_member is not a member of struct task_struct']);
  assert.deepEqual(checkText('BEGIN { trace(curthread.comm); }').errors,
    ['D_OP_SOU: operator . cannot be applied to type "struct task_struct *"; must be applied to a struct or union']);
});

test('kernel typedefs and library inlines', { skip }, () => {
  const { errors } = checkText('BEGIN { x = (uint)1; trace(cwd); trace(curlwpsinfo->pr_onpro); trace(cpu); trace(SIGINT); }');
  assert.deepEqual(errors, []);
});
