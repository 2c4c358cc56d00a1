/**
 * @fileoverview `chip` reads the table of package ids the kernel lookups give the compiler:
 * the table is a map only when the program reads curcpu, holds one u32 per CPU, and without
 * a topology `chip` is 0 with no map.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../lang/parser.js';
import { makeSource } from '../../diag/source.js';
import { DiagnosticSink } from '../../diag/diagnostic.js';
import { check } from '../../check/checker.js';
import { matchProgram, compileProgram, type KernelLookups } from '../compile.js';
import { dtraceProvider } from '../../providers/dtrace.js';
import { CPU_TOPOLOGY_MAP } from './cpu-topology.js';

/** The D library's cpuinfo_t (lib/sched.d), which curcpu points to. */
const CPUINFO = 'typedef struct cpuinfo { int cpu_id; int cpu_pset; int cpu_chip; int cpu_lgrp; uint32_t cpu_info_pad; } cpuinfo_t;\n';

function compile(text: string, kernelLookups: KernelLookups) {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', CPUINFO + text, 'script'), sink, {});
  const checked = check(program, sink, { strsize: 256, destructive: false });
  assert.equal(sink.hasErrors, false, sink.errors.map((d) => d.message).join('\n'));
  const match = matchProgram(program, sink, { zdefs: false, providers: [dtraceProvider] });
  const compiled = compileProgram(program, match, sink, {
    strsize: 256, destructive: false, macroArgs: [], walltimeOffsetNs: 0n, bufsizeBytes: 4 << 20,
    aggsizeBytes: 4 << 20, dynvarsizeBytes: 1 << 20, zdefs: false, providers: [dtraceProvider], checked, kernelLookups,
  });
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  return compiled;
}

const lookups = (packages?: number[]): KernelLookups => ({ symbol: () => undefined, types: () => undefined, cpuPackages: () => packages });

test('a program reading chip gets the package table, one u32 per CPU', () => {
  const c = compile('BEGIN { trace(curcpu->cpu_chip); }', lookups([0, 0, 1, 1]));
  const map = c.maps.find((m) => m.name === CPU_TOPOLOGY_MAP);
  assert.ok(map);
  const dv = new DataView(map.init![0]!.value.buffer);
  assert.deepEqual([0, 1, 2, 3].map((i) => dv.getUint32(i * 4, true)), [0, 0, 1, 1]);
  const begin = c.programs.find((p) => p.name === 'dtrace_BEGIN')!;
  assert.ok(begin.insns.some((i) => i.map?.name === CPU_TOPOLOGY_MAP), 'the program reads the table');
});

test('without a topology, or without curcpu, there is no table', () => {
  assert.equal(compile('BEGIN { trace(curcpu->cpu_chip); }', lookups(undefined)).maps.some((m) => m.name === CPU_TOPOLOGY_MAP), false);
  assert.equal(compile('BEGIN { trace(pid); }', lookups([0, 1])).maps.some((m) => m.name === CPU_TOPOLOGY_MAP), false);
});
