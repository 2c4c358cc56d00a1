/**
 * @fileoverview Runs the checker over Oracle's conformance corpus: every `err.D_TAG.*.d` whose
 * tag is semantic must fail with exactly that tag first, and every `tst.*.d` must check clean.
 * Prints the counts and asserts they do not fall below the recorded baseline (a ratchet).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';
import { parse } from '../src/lang/parser.js';
import { DiagnosticSink } from '../src/diag/diagnostic.js';
import { makeSource } from '../src/diag/source.js';
import { check } from '../src/check/checker.js';
import { loadLibraryPrograms } from '../src/check/library.js';
import { kernelTypeSource } from '../src/check/btf-types.js';

const CORPUS = '/work/shared/conformance/dtrace-utils/test/unittest';

/** Tags reported by the lexer, parser, preprocessor, probe matching or option handling. */
const NOT_SEMANTIC = new Set([
  'D_SYNTAX', 'D_PDESC_ZERO', 'D_PDESC_INVAL', 'D_MACRO_UNDEF', 'D_EMPTY', 'D_INT_OFLOW', 'D_INT_DIGIT',
  'D_CHR_NL', 'D_CHR_NULL', 'D_CHR_OFLOW', 'D_STR_NL', 'D_PRAGMA_OPTSET', 'D_PRAGMA_MALFORM', 'D_PRAGMA_INVAL',
  'D_PRAGMA_DEPEND', 'D_PRAGCTL_INVAL', 'D_DECL_CLASS', 'D_DECL_PARMCLASS', 'D_DECL_COMBO',
]);

/**
 * Recorded results (with kernel BTF, and without: some tst scripts name kernel types): raise
 * these when the checker improves; the test fails if they drop.
 */
const BASELINE_BTF = { errPass: 290, tstPass: 442 };
const BASELINE_NO_BTF = { errPass: 290, tstPass: 441 };
const useBtf = !process.env.DTRACE_TS_NO_BTF;
const BASELINE = useBtf && kernelTypeSource() ? BASELINE_BTF : BASELINE_NO_BTF;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.d')) out.push(p);
  }
  return out;
}

function needsCpp(file: string, text: string): boolean {
  if (/@@runtest-opts:.*-C/.test(text)) return true;
  for (let d = dirname(file); d.startsWith(CORPUS); d = dirname(d)) {
    const o = join(d, 'test.options');
    if (existsSync(o) && readFileSync(o, 'utf8').includes('-C')) return true;
  }
  return /^\s*#\s*(include|define|if)/m.test(text);
}

export function checkFile(file: string): { tag?: string; message?: string; stage: 'parse' | 'check' | 'ok' } {
  const text = readFileSync(file, 'utf8');
  const sink = new DiagnosticSink();
  const kernel = useBtf ? kernelTypeSource() : undefined;
  const program = parse(makeSource(file, text), sink, { isTypeName: (n) => kernel?.typedefType(n) !== undefined });
  if (sink.hasErrors) return { tag: sink.errors[0]!.tag, message: sink.errors[0]!.message, stage: 'parse' };
  check(program, sink, { strsize: 256, destructive: true, library: loadLibraryPrograms, kernelTypes: () => kernel });
  if (sink.hasErrors) return { tag: sink.errors[0]!.tag, message: sink.errors[0]!.message, stage: 'check' };
  return { stage: 'ok' };
}

test('conformance corpus: semantic err.* tags and clean tst.*', () => {
  if (!existsSync(CORPUS)) return;
  const files = walk(CORPUS).sort();
  let errTotal = 0, errPass = 0, tstTotal = 0, tstPass = 0;
  const failures: string[] = [];
  for (const file of files) {
    const name = basename(file);
    const text = readFileSync(file, 'utf8');
    if (needsCpp(file, text)) continue;
    const m = /^err\.(D_[A-Z0-9_]+)\./.exec(name);
    if (m) {
      const tag = m[1]!;
      if (NOT_SEMANTIC.has(tag)) continue;
      errTotal++;
      const r = checkFile(file);
      if (r.tag === tag) errPass++;
      else failures.push(`${file.slice(CORPUS.length + 1)}: want ${tag}, got ${r.tag ?? 'no error'} ${r.message ? JSON.stringify(r.message) : ''}`);
    } else if (name.startsWith('tst.')) {
      tstTotal++;
      const r = checkFile(file);
      if (r.stage !== 'check') tstPass++;
      else failures.push(`${file.slice(CORPUS.length + 1)}: want clean, got ${r.tag} ${JSON.stringify(r.message)}`);
    }
  }
  if (process.env.CORPUS_VERBOSE) console.log(failures.join('\n'));
  console.log(`corpus-check: err ${errPass}/${errTotal}, tst ${tstPass}/${tstTotal}`);
  assert.ok(errPass >= BASELINE.errPass, `semantic err tests regressed: ${errPass} < ${BASELINE.errPass}`);
  assert.ok(tstPass >= BASELINE.tstPass, `tst tests regressed: ${tstPass} < ${BASELINE.tstPass}`);
});
