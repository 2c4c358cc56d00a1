/**
 * @fileoverview Register pressure without the kernel: values kept across a nested evaluation
 * spill to the clause's stack frame only when the evaluation runs out of registers (the hot
 * paths keep theirs), and expressions needing more than the three expression registers compile.
 * (test/kernel/codegen-registers.test.ts runs generated ones against the kernel.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../lang/parser.js';
import { makeSource } from '../../diag/source.js';
import { DiagnosticSink } from '../../diag/diagnostic.js';
import { check } from '../../check/checker.js';
import { matchProgram, compileProgram } from '../compile.js';
import { dtraceProvider } from '../../providers/dtrace.js';
import { R10 } from '../../bpf/asm/insn.js';

const STX_DW = 0x7b; // BPF_STX | BPF_MEM | BPF_DW

function beginInsns(text: string) {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', text, 'script'), sink, {});
  const checked = check(program, sink, { strsize: 256, destructive: false });
  assert.equal(sink.hasErrors, false, sink.errors.map((d) => d.message).join('\n'));
  const match = matchProgram(program, sink, { zdefs: false, providers: [dtraceProvider] });
  const compiled = compileProgram(program, match, sink, {
    strsize: 256, destructive: false, macroArgs: [], walltimeOffsetNs: 0n, bufsizeBytes: 4 << 20,
    aggsizeBytes: 4 << 20, dynvarsizeBytes: 1 << 20, zdefs: false, providers: [dtraceProvider], checked,
  });
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  return compiled.programs.find((p) => p.name === 'dtrace_BEGIN')!.insns;
}

/** Stores of a register to the spill slots (fp-64 and below). */
function spills(text: string): number {
  return beginInsns(text).filter((i) => i.code === STX_DW && i.dst === R10 && i.off <= -64).length;
}

test('the hot paths keep their values in registers: no spill', () => {
  assert.equal(spills('BEGIN { @[execname] = count(); }'), 0);
  assert.equal(spills('BEGIN { @ = quantize(arg0); }'), 0);
  assert.equal(spills('BEGIN { @[execname] = quantize(arg2); @l[execname, pid] = lquantize(arg2, 0, 100, 10); }'), 0);
  assert.equal(spills('BEGIN /execname == "x"/ { @ = count(); }'), 0);
  assert.equal(spills('BEGIN { x = arg0 + arg1 * arg2; a[arg0, arg1] = arg2 + arg3; self->t[arg0]++; }'), 0);
});

test('a histogram value is kept across a key that needs every register, spilled only then', () => {
  const key = 'strjoin(lltostr(arg0 + (arg1 ? arg2 + (arg3 - arg4) : arg3)), lltostr(arg5 * (arg6 - (arg7 + arg8))))';
  assert.ok(spills(`BEGIN { @q[${key}, arg1 + arg2] = quantize(arg0 + (arg1 - arg2)); }`) > 0);
  assert.ok(spills(`BEGIN { @l[${key}] = llquantize(arg0 - arg1, 10, 0, 3, 10); }`) > 0);
});

test('stores keep their value across the target\'s address, and x++ its old value', () => {
  const deep = 'arg0 + (arg1 - (arg2 + (arg3 - (arg4 + arg5))))';
  assert.ok(beginInsns(`BEGIN { a[${deep}, ${deep}] = arg0 + arg1; x = a[${deep}, 1]++; y = (a[${deep}, 2] = arg3 - arg4); }`).length > 0);
  assert.ok(beginInsns(`BEGIN { this->p = (int *)alloca(64); this->p[arg0 + (arg1 - (arg2 + arg3))] = arg4 * (arg5 - arg6); trace(this->p[${deep} & 7]++); }`).length > 0);
});
