/**
 * @fileoverview Golden tests of the front end: each test/golden/parse/NAME.d is parsed and the
 * canonical print of its tree (print.ts), followed by its rendered diagnostics with carets,
 * must equal NAME.out. `UPDATE_GOLDEN=1` rewrites the .out files (review the diff).
 * Files using `$1`… are parsed with macro arguments `["NAME.d", "42"]` and `$pid` = 1234.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '../src/lang/parser.js';
import { printProgram } from '../src/lang/print.js';
import { DiagnosticSink } from '../src/diag/diagnostic.js';
import { makeSource } from '../src/diag/source.js';
import { renderDiagnostic } from '../src/diag/render.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = [resolve(here, '..'), resolve(here, '../..')].find((d) => existsSync(join(d, 'package.json')))!;
const dir = join(repo, 'test/golden/parse');
const update = process.env.UPDATE_GOLDEN === '1';

export function goldenOutput(name: string, text: string): string {
  const sink = new DiagnosticSink();
  const program = parse(makeSource(name, text), sink, { macroArgs: [name, '42'], macroVars: { pid: 1234, target: 99 }, argRef: true });
  let out = printProgram(program);
  for (const d of sink.items) out += '-- diagnostic --\n' + renderDiagnostic(d, { errtags: true, caret: true }) + '\n';
  return out;
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.d')).sort()) {
  test(`golden parse ${file}`, () => {
    const text = readFileSync(join(dir, file), 'utf8');
    const actual = goldenOutput(file, text);
    const outFile = join(dir, file.replace(/\.d$/, '.out'));
    if (update || !existsSync(outFile)) {
      writeFileSync(outFile, actual);
      if (!update) assert.fail(`${outFile} was missing and has been written; review it`);
      return;
    }
    assert.equal(actual, readFileSync(outFile, 'utf8'));
  });
}
