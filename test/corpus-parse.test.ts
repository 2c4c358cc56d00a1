/**
 * @fileoverview Parses every `.d` file of the conformance corpus (Oracle's dtrace-utils tests).
 * A file must parse without diagnostics, unless it is an `err.D_TAG.*` test whose tag belongs
 * to the front end (tags.ts stage `lexical`/`syntax`): then parsing must fail with exactly
 * that tag first. Files under `preprocessor/` or run with `-C` go through cpp first.
 * Other `err.*` tests fail in later stages, so for them we only require no crash and,
 * when the parser does complain, a front-end tag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '../src/lang/parser.js';
import { preprocess } from '../src/lang/preprocess.js';
import { DiagnosticSink } from '../src/diag/diagnostic.js';
import { makeSource } from '../src/diag/source.js';
import { isFrontEndTag } from '../src/diag/tags.js';
import { renderDiagnostic } from '../src/diag/render.js';
import { printProgram } from '../src/lang/print.js';

const here = dirname(fileURLToPath(import.meta.url));
// build/test/x.js or test/x.ts: the repo root is two or one levels up.
const repo = [resolve(here, '..'), resolve(here, '../..')].find((d) => existsSync(join(d, 'package.json')))!;
const corpus = resolve(repo, '../shared/conformance/dtrace-utils');

/** D_SYNTAX tests whose error comes from the printf format checker, not the parser. */
const SYNTAX_FROM_CHECKER = /\/printf\/err\.D_SYNTAX\./;

/** Stands in for kernel BTF typedefs the checker will supply through `isTypeName`. */
const kernelTypeName = (name: string): boolean => /^(__)?[us](8|16|32|64)$/.test(name);

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.d')) out.push(p);
  }
  return out;
}

/** `@@runtest-opts` of the file and `test.options` of its directories. */
function runtestOptions(file: string, text: string): string {
  let opts = [...text.matchAll(/@@runtest-opts:([^\n*]*)/g)].map((m) => m[1]).join(' ');
  for (let d = dirname(file); d.startsWith(corpus); d = dirname(d)) {
    const f = join(d, 'test.options');
    if (existsSync(f)) opts += ' ' + readFileSync(f, 'utf8').replace(/@@runtest-opts:/g, '');
  }
  return opts;
}

test('every corpus .d file parses or fails with its front-end tag', { skip: existsSync(corpus) ? false : `no corpus at ${corpus}` }, () => {
  // test/utils holds files included by other tests, not tests.
  const files = walk(join(corpus, 'test/unittest')).sort();
  const counts = { files: files.length, parsed: 0, expectedFrontEndErrors: 0, earlyErrors: 0, laterStageErrors: 0, cpp: 0, cppFailed: 0 };
  const unexpected: string[] = [];
  const env = { ...process.env, DTRACE_OPT_CPPARGS: '-fno-diagnostics-show-caret -fdiagnostics-color=never -fno-diagnostics-show-option -fno-show-column' };
  for (const file of files) {
    const rel = relative(corpus, file);
    const text = readFileSync(file, 'utf8');
    const base = rel.split('/').pop()!;
    const expectedTag = /^err\.(D_[A-Z0-9_]+)\./.exec(base)?.[1];
    const isErr = base.startsWith('err.');
    const opts = runtestOptions(file, text);
    let source = makeSource(rel, text);
    if (/(^|\s)(-[qeZwvSF]*C|-xcpp)(\s|$)/.test(opts)) {
      counts.cpp++;
      const defines = [...opts.matchAll(/-D\s*(\S+)/g)].map((m) => m[1]!).concat(['ARCH_x86_64']);
      const includes = [...opts.matchAll(/-I\s*(\S+)/g)].map((m) => resolve(corpus, m[1]!));
      const r = preprocess(source, { defines, undefs: [], includes, extraArgs: [], env });
      if ('error' in r) {
        counts.cppFailed++;
        if (!isErr) unexpected.push(`${rel}: cpp failed: ${r.cppStderr}`);
        continue;
      }
      source = r.source;
    }
    // Macro arguments as the runner passes them (operands after the script).
    const operands = opts.replace(/-[CDUIx]\s*\S+|-[CqeZw]\b|-s\s+\S+/g, ' ').trim().split(/\s+/).filter((w) => w !== '' && !w.startsWith('-'));
    const sink = new DiagnosticSink();
    const program = parse(source, sink, {
      macroArgs: [rel, ...operands], macroVars: { pid: 1, ppid: 1, pgid: 1, sid: 1, uid: 0, gid: 0, euid: 0, egid: 0, target: 0, projid: 0, taskid: 0 },
      isTypeName: kernelTypeName,
      defaultArgs: /defaultargs/.test(opts) || /option\s+defaultargs/.test(text), argRef: true,
    });
    const first = sink.errors[0];
    const wantsFrontEnd = expectedTag !== undefined && isFrontEndTag(expectedTag) && !SYNTAX_FROM_CHECKER.test(rel);
    if (wantsFrontEnd) {
      const rfile = file.replace(/\.d$/, '.r');
      const want = existsSync(rfile) && !existsSync(rfile + '.p')
        ? readFileSync(rfile, 'utf8').split('\n').find((l) => l.startsWith('dtrace: failed to compile'))
        : undefined;
      const got = first ? renderDiagnostic(first, { errtags: true, caret: false }) : undefined;
      if (first?.tag === expectedTag && (want === undefined || want.includes('{ptr}') || want === got)) counts.expectedFrontEndErrors++;
      else if (first?.tag === expectedTag) unexpected.push(`${rel}: message differs:\n  want ${want}\n  got  ${got}`);
      else unexpected.push(`${rel}: expected ${expectedTag}, got ${first ? renderDiagnostic(first, { errtags: true, caret: false }) : 'no error'}`);
    } else if (first) {
      // The parser may raise a later-stage tag the test expects (e.g. D_DECL_LONGINT), an
      // untagged `err.*` test may fail here with any front-end tag, and `-V` runs no program.
      const ok = first.tag === expectedTag || (isErr && expectedTag === undefined && isFrontEndTag(first.tag)) ||
        (first.tag === 'D_EMPTY' && /(^|\s)-V\b/.test(opts));
      if (ok) counts.earlyErrors++;
      else unexpected.push(`${rel}: unexpected ${renderDiagnostic(first, { errtags: true, caret: false })}`);
    } else {
      counts.parsed++;
      if (isErr) counts.laterStageErrors++;
      // The printer's contract: parse → print → parse → print is a fixed point.
      const printed = printProgram(program);
      const again = new DiagnosticSink();
      const reparsed = parse(makeSource(rel, printed), again, { isTypeName: kernelTypeName, allowEmpty: true });
      if (again.errors.length > 0) unexpected.push(`${rel}: printed text does not parse: ${again.errors[0]!.message}\n${printed}`);
      else if (printProgram(reparsed) !== printed) unexpected.push(`${rel}: print is not a fixed point`);
    }
  }
  console.log(`corpus-parse: ${JSON.stringify(counts)}; unexpected: ${unexpected.length}`);
  assert.deepEqual(unexpected, []);
});
