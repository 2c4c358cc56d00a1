// Measures how long parse + check take for the largest script of the conformance corpus
// (and the library load when it is needed). Run after `node scripts/build.mjs`.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse } from '../build/src/lang/parser.js';
import { DiagnosticSink } from '../build/src/diag/diagnostic.js';
import { makeSource } from '../build/src/diag/source.js';
import { check } from '../build/src/check/checker.js';
import { libraryFor } from '../build/src/check/library.js';
import { kernelTypeSource } from '../build/src/check/btf-types.js';

const CORPUS = '/work/shared/conformance/dtrace-utils/test/unittest';
function walk(dir, out = []) {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) walk(p, out); else if (p.endsWith('.d')) out.push(p);
  }
  return out;
}
if (!existsSync(CORPUS)) { console.log('check-time: corpus not found'); process.exit(0); }
const largest = walk(CORPUS).filter((f) => /\/tst\./.test(f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
const text = readFileSync(largest, 'utf8');
const run = () => {
  const sink = new DiagnosticSink();
  const program = parse(makeSource(largest, text), sink, {});
  check(program, sink, { strsize: 256, destructive: true, kernelTypes: kernelTypeSource, library: libraryFor([text]) });
  return sink.errors.length;
};
let t = performance.now();
const errors = run();
const first = performance.now() - t;
const N = 50;
t = performance.now();
for (let i = 0; i < N; i++) run();
const steady = (performance.now() - t) / N;
console.log(`check-time: ${largest.slice(CORPUS.length + 1)} (${text.length} bytes, ${errors} errors): first ${first.toFixed(2)} ms, steady ${steady.toFixed(3)} ms`);
