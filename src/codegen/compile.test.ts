/**
 * @fileoverview Code generation without the kernel: what compileProgram produces for BEGIN
 * programs (the dtrace provider needs no attachment) — clause ids per probe description, map
 * budgets, the map-count limit reported as a compile error rather than left to the verifier,
 * and the speculation/ERROR plumbing present only when used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../lang/parser.js';
import { makeSource } from '../diag/source.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { check } from '../check/checker.js';
import { matchProgram, compileProgram } from './compile.js';
import { dtraceProvider } from '../providers/dtrace.js';
import { NEWEST_KERNEL, type KernelCaps } from '../bpf/kernel-caps.js';

function compile(text: string, kernel?: KernelCaps) {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', text, 'script'), sink, {});
  const checked = check(program, sink, { strsize: 256, destructive: true });
  assert.equal(sink.hasErrors, false, sink.errors.map((d) => d.message).join('\n'));
  const match = matchProgram(program, sink, { zdefs: false, providers: [dtraceProvider] });
  const compiled = compileProgram(program, match, sink, {
    strsize: 256, destructive: true, macroArgs: [], walltimeOffsetNs: 0n, bufsizeBytes: 4 << 20,
    aggsizeBytes: 4 << 20, dynvarsizeBytes: 1 << 20, zdefs: false, providers: [dtraceProvider], checked, kernel,
  });
  return { compiled, sink };
}

test('the kernel is asked about bpf_loop only by a program that calls chill() (the running kernel answers with a probe load)', () => {
  let asked = 0;
  // No bpf_iter_num kfuncs (as before 6.4), so chill() is the one thing that needs the answer.
  const kernel: KernelCaps = { ...NEWEST_KERNEL, kfuncs: new Set(), get bpfLoop() { asked++; return true; } };
  assert.ok(compile('BEGIN { @n = count(); printf("%d", 1); exit(0); }', kernel).compiled);
  assert.equal(asked, 0);
  assert.ok(compile('BEGIN { chill(1000); exit(0); }', kernel).compiled);
  assert.ok(asked > 0);
});

test('a clause with several probe descriptions takes one clause id per description', () => {
  const { compiled } = compile('BEGIN, END { trace(1); } BEGIN { trace(2); }');
  assert.ok(compiled);
  assert.deepEqual(compiled.clauses.map((c) => c.stid), [0, 1, 2]);
});

/** 64 key tuples of distinct shapes (i integers and j strings, 1 ≤ i + j ≤ 10, j ≤ 9): 64 key sizes. */
function keyShapes(): string[] {
  const shapes: string[] = [];
  for (let j = 0; j <= 9; j++) {
    for (let i = 0; i + j <= 10; i++) {
      if (i + j === 0) continue;
      shapes.push([...Array.from({ length: i }, (_, n) => `${n}`), ...Array.from({ length: j }, (_, n) => `"s${n}"`)].join(', '));
    }
  }
  return shapes;
}

test('more maps than a BPF program may use is a compile error naming the limit', () => {
  // Aggregations of 64 key shapes and 5 keyless value sizes: 69 maps even shared.
  const keyed = keyShapes().map((k, n) => `@a${n}[${k}] = count();`);
  const keyless = [10, 20, 30, 40, 50].map((hi, n) => `@l${n} = lquantize(1, 0, ${hi}, 1);`);
  const { compiled, sink } = compile(`BEGIN { ${[...keyed, ...keyless].join(' ')} }`);
  assert.equal(compiled, undefined);
  assert.match(sink.errors[0]!.message, /use \d+ maps \(associative arrays .*aggregations one per key and value size\); the kernel allows a BPF program 64/);
});

test('associative arrays of more key shapes than a program may use maps pad their keys: one map per value size', () => {
  const shapes = keyShapes();
  const assocs = shapes.map((k, n) => `a${n}[${k}] = ${n + 1};`).join(' ');
  const { compiled, sink } = compile(`BEGIN { ${assocs} s[1] = "x"; }`);
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  const assocMaps = compiled.maps.filter((m) => m.name.startsWith('assoc_'));
  assert.equal(shapes.length, 64);
  // The longest tuple: 9 strings of 264 bytes and an integer, after the 8-byte prefix.
  assert.deepEqual(assocMaps.map((m) => [m.name, m.keySize, m.valueSize]).sort(), [['assoc_v264', 16, 264], ['assoc_v8', 8 + 9 * 264 + 8, 8]]);
});

test('associative arrays share one map per key and value size, whatever their number or scope', () => {
  const assocs = Array.from({ length: 70 }, (_, i) => `a${i}[${i}] = ${i + 1};`).join(' ');
  const { compiled, sink } = compile(`BEGIN { ${assocs} self->t[1] = 2; self->u["k"] = "v"; s["k"] = "w"; n[1, "x"] = 3; }`);
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  const assocMaps = compiled.maps.filter((m) => m.name.startsWith('assoc_'));
  // Keys: 8 bytes of id and thread before the tuple. a0..a69 and self->t: one integer key;
  // self->u and s: one string key, string values; n: an integer and a string.
  assert.deepEqual(assocMaps.map((m) => [m.name, m.keySize, m.valueSize]).sort(),
    [['assoc_k16_v8', 16, 8], ['assoc_k272_v264', 272, 264], ['assoc_k280_v8', 280, 8]]);
  // One dynamic variable space: each map (and tvars, unused here) gets the budget's elements.
  const one = compile('BEGIN { a[1] = 1; }').compiled!;
  const entries = (c: typeof one, name: string) => c.maps.find((m) => m.name === name)!.maxEntries;
  const two = compile('BEGIN { a[1] = 1; b[2] = 2; }').compiled!;
  assert.equal(entries(two, 'assoc_k16_v8'), entries(one, 'assoc_k16_v8'));
  // Two classes (maps) split the space, counted in elements of the largest key and value.
  const stringKeyed = compile('BEGIN { b["k"] = 2; }').compiled!;
  const classes = compile('BEGIN { a[1] = 1; b["k"] = 2; }').compiled!;
  assert.equal(entries(classes, 'assoc_k16_v8'), Math.floor(entries(stringKeyed, 'assoc_k272_v8') / 2));
  assert.equal(entries(classes, 'assoc_k272_v8'), entries(classes, 'assoc_k16_v8'));
  // Every access keys by the array's id: the ids stored before the tuples are distinct.
  const begin = compiled.programs.find((p) => p.name === 'dtrace_BEGIN')!;
  const idOf = new Map<string, number>();
  for (const i of begin.insns) {
    const m = /^(\S+)\[\]: id (\d+)/.exec(i.comment ?? '');
    if (!m) continue;
    assert.equal(i.imm, Number(m[2]), i.comment);
    assert.equal(idOf.get(m[1]!) ?? i.imm, i.imm, `${m[1]} keyed by one id`);
    idOf.set(m[1]!, i.imm);
  }
  assert.equal(idOf.size, 74);
  assert.equal(new Set(idOf.values()).size, 74);
});

test('aggregations keep a map each while a program fits the limit, and share maps by key and value size past it', () => {
  const few = compile('BEGIN { @a[1] = count(); @b = sum(1); }').compiled!;
  assert.deepEqual(few.aggregations.map((a) => [a.map, a.tag]), [['agg_1', undefined], ['agg_2', undefined]]);
  const updates = Array.from({ length: 70 }, (_, i) => i % 3 === 0 ? `@c${i}[${i}] = count();` : i % 3 === 1 ? `@s${i}["k", ${i}] = sum(${i});` : `@q${i} = quantize(${i});`);
  const { compiled, sink } = compile(`BEGIN { ${updates.join(' ')} }`);
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  const aggMaps = compiled.maps.filter((m) => m.name.startsWith('agg'));
  assert.equal(aggMaps.length, 3, aggMaps.map((m) => m.name).join(' '));
  // Keyed: the id is the tag, the map's key has 8 bytes before the aggregation's; keyless: one element each.
  const counts = compiled.aggregations.filter((a) => a.fn === 'count');
  assert.equal(new Set(counts.map((a) => a.map)).size, 1);
  assert.deepEqual(counts.map((a) => a.tag), counts.map((a) => a.id));
  const countMap = aggMaps.find((m) => m.name === counts[0]!.map)!;
  assert.equal(countMap.keySize, 8 + counts[0]!.keySize);
  const hists = compiled.aggregations.filter((a) => a.fn === 'quantize');
  assert.deepEqual(hists.map((a) => a.tag), hists.map((_, i) => i));
  const histMap = aggMaps.find((m) => m.name === hists[0]!.map)!;
  assert.equal(histMap.type, 'percpu_array');
  assert.equal(histMap.maxEntries, hists.length);
});

test('aggsize is shared by the aggregations: each keyed map gets its part', () => {
  const one = compile('BEGIN { @a[1] = count(); }').compiled!;
  const two = compile('BEGIN { @a[1] = count(); @b[1] = count(); }').compiled!;
  const entries = (c: typeof one, name: string) => c.maps.find((m) => m.name === name)!.maxEntries;
  assert.equal(entries(two, 'agg_1'), Math.floor(entries(one, 'agg_1') / 2));
});

test('ERROR clauses become one subprogram, linked only when a program has fault paths', () => {
  assert.equal(compile('BEGIN { trace(1); }').compiled!.subprograms.has('dt_error'), false);
  const { compiled } = compile('BEGIN { x = *(int *)0; } ERROR { trace(arg4); }');
  assert.ok(compiled!.subprograms.has('dt_error'));
  const begin = compiled!.programs.find((p) => p.name === 'dtrace_BEGIN')!;
  assert.ok(begin.insns.some((i) => i.callee === 'dt_error'));
});

test('aggregation keys of execname are 16 bytes; other strings take strsize', () => {
  const c = compile('BEGIN { @e[execname] = count(); @p[probefunc] = count(); }').compiled!;
  const e = c.aggregations.find((a) => a.name === 'e')!, p = c.aggregations.find((a) => a.name === 'p')!;
  assert.equal(e.keySize, 16);
  assert.equal(p.keySize, 264);
});
