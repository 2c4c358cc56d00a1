import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSource } from '../diag/source.js';
import { defaultOptions, setOption } from '../cli/options.js';
import { runPipeline, storeRunOptions, processMacroVars } from './pipeline.js';
import { compileSource } from './compile.js';

const program = (text: string) => ({ source: makeSource('t.d', text, 'script'), macroArg0: 't.d' });

test('the pipeline stops after the pragmas with every program parsed and the pragma options in the store', () => {
  const options = defaultOptions();
  const r = runPipeline({ programs: [program('#pragma D option quiet\nBEGIN { exit(0); }'), program('END { }')], options, macroArgs: [], stopAfter: 'pragmas' });
  assert.ok(r.ok && r.stage === 'pragmas');
  assert.equal(r.asts.length, 2);
  assert.ok(options.has('quiet'));
});

test('a bad pragma option is a D_PRAGMA_OPTSET diagnostic of the pragma stage', () => {
  const r = runPipeline({ programs: [program('#pragma D option nosuchoption\nBEGIN { }')], options: defaultOptions(), macroArgs: [], stopAfter: 'check' });
  assert.ok(!r.ok && r.kind === 'diagnostic');
  assert.equal(r.stage, 'pragma');
  assert.equal(r.sink.errors[0]?.tag, 'D_PRAGMA_OPTSET');
});

test('a preprocessing failure ends the pipeline with its text, before later programs are parsed', () => {
  let calls = 0;
  const r = runPipeline({
    programs: [program('BEGIN { }'), program('BEGIN { }')], options: defaultOptions(), macroArgs: [],
    preprocess: (s) => (++calls === 1 ? s : { error: 'cpp: failed' }),
  });
  assert.deepEqual(r, { ok: false, kind: 'preprocess', text: 'cpp: failed', status: 1 });
  assert.equal(calls, 2);
});

test('destructive actions are refused without -w unless the caller only compiles, and allowed with it', () => {
  const text = 'BEGIN { raise(9); }';
  const refused = runPipeline({ programs: [program(text)], options: defaultOptions(), macroArgs: [], stopAfter: 'check' });
  // Refused when enabling (after the "matched" lines), not when compiling.
  assert.ok(refused.ok && refused.stage === 'check' && refused.destructiveRefused);
  const compiling = runPipeline({ programs: [program(text)], options: defaultOptions(), macroArgs: [], stopAfter: 'check', refuseDestructive: false });
  assert.ok(compiling.ok && compiling.stage === 'check' && !compiling.destructive && !compiling.destructiveRefused);
  const allowed = runPipeline({ programs: [program(text)], options: defaultOptions(), macroArgs: [], stopAfter: 'check', destructive: true });
  assert.ok(allowed.ok && allowed.stage === 'check' && allowed.destructive && !allowed.destructiveRefused);
});

test('$1 and $0 reach the parser: a description is named dtrace, a script by its file', () => {
  const r = runPipeline({ programs: [program('BEGIN { trace($1); trace($$0); }')], options: defaultOptions(), macroArgs: ['42'], stopAfter: 'check' });
  assert.ok(r.ok, !r.ok && r.kind === 'diagnostic' ? r.sink.errors[0]?.message : undefined);
  const missing = runPipeline({ programs: [program('BEGIN { trace($2); }')], options: defaultOptions(), macroArgs: ['42'], stopAfter: 'check' });
  assert.ok(!missing.ok && missing.kind === 'diagnostic' && missing.stage === 'parse');
});

test('the library refuses the option values the command refuses (bounds checked in the shared pipeline)', () => {
  const r = compileSource('BEGIN { exit(0); }', { options: { nspec: 99999999999 } });
  assert.ok(!r.ok);
  assert.match(r.message, /^dtrace: could not enable tracing: -x nspec=99999999999: at most 65535 speculations/);
});

test('the run options read from the store: setopt of an aggsort option changes the sort of later printa()s', () => {
  const o = defaultOptions();
  assert.ok(setOption(o, 'bufpolicy', 'ring').ok);
  const run = storeRunOptions(o);
  assert.equal(run.ringBufferBytes, 4 << 20);
  assert.equal(run.aggsort.aggsortkey, false);
  assert.equal(run.setopt?.('aggsortkey', undefined), undefined);
  assert.equal(run.aggsort.aggsortkey, true);
});

test('a description matching nothing is reported before a type error in its clause or a later one, as DTrace compiles clause by clause', () => {
  const firstError = (text: string) => {
    const r = runPipeline({ programs: [program(text)], options: defaultOptions(), macroArgs: [] });
    assert.ok(!r.ok && r.kind === 'diagnostic');
    return `${r.stage} ${r.sink.errors[0]!.tag}`;
  };
  assert.equal(firstError('nosuchprov:::x { trace(probefunc * 2); }'), 'match D_PDESC_ZERO');
  assert.equal(firstError('nosuchprov:::x { } BEGIN { trace(probefunc * 2); }'), 'match D_PDESC_ZERO');
  assert.equal(firstError('nosuchprov:::x, BEGIN { trace(probefunc * 2); }'), 'match D_PDESC_ZERO');
  // The type error comes first where DTrace meets it first.
  assert.equal(firstError('BEGIN { trace(probefunc * 2); } nosuchprov:::x { }'), 'check D_OP_ARITH');
  assert.equal(firstError('BEGIN, nosuchprov:::x { trace(probefunc * 2); }'), 'check D_OP_ARITH');
  const zdefs = defaultOptions();
  assert.ok(setOption(zdefs, 'zdefs', true).ok);
  const r = runPipeline({ programs: [program('nosuchprov:::x { trace(probefunc * 2); }')], options: zdefs, macroArgs: [] });
  assert.ok(!r.ok && r.kind === 'diagnostic' && r.stage === 'check', 'with -Z, no description is unmatched');
});

test('$target is the -c/-p process, or 0 without one (DTrace always defines it)', () => {
  assert.equal(processMacroVars(1234)['target'], 1234);
  assert.equal(processMacroVars(undefined)['target'], 0);
});
