/**
 * @fileoverview Property tests of the front end with fast-check: random text, random token
 * sequences and mutated real programs (golden files) go through the lexer (all modes) and the
 * parser. Nothing may throw; every problem must be a diagnostic with a catalogued tag and a
 * valid span; an input that parses cleanly must print to text that parses to the same print.
 * About 110,000 inputs per run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '../src/lang/parser.js';
import { tokenize } from '../src/lang/lexer.js';
import { printProgram } from '../src/lang/print.js';
import { DiagnosticSink } from '../src/diag/diagnostic.js';
import { makeSource } from '../src/diag/source.js';
import { ERR_TAGS } from '../src/diag/tags.js';
import { renderDiagnostic } from '../src/diag/render.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = [resolve(here, '..'), resolve(here, '../..')].find((d) => existsSync(join(d, 'package.json')))!;
const goldenDir = join(repo, 'test/golden/parse');
const seeds = readdirSync(goldenDir).filter((f) => f.endsWith('.d') && !f.startsWith('err-')).map((f) => readFileSync(join(goldenDir, f), 'utf8'));

/** Parses `text` both as a script and as a -n description; checks the invariants. */
function check(text: string, withMacros: boolean): void {
  for (const kind of ['script', 'description'] as const) {
    const source = makeSource('fuzz.d', text, kind);
    const sink = new DiagnosticSink();
    const program = parse(source, sink, withMacros ? { macroArgs: ['fuzz.d', 'x'], macroVars: { pid: 1 }, defaultArgs: true } : {});
    for (const d of sink.items) {
      assert.ok(ERR_TAGS.has(d.tag), `uncatalogued tag ${d.tag}`);
      assert.ok(d.span, `diagnostic without span: ${d.message}`);
      assert.ok(d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length, `bad span ${d.span.start}-${d.span.end} of ${text.length}`);
      renderDiagnostic(d, { errtags: true, caret: true });
    }
    if (kind === 'script' && sink.items.length === 0) {
      const printed = printProgram(program);
      const again = new DiagnosticSink();
      const reparsed = parse(makeSource('fuzz.d', printed), again, { allowEmpty: true });
      assert.deepEqual(again.items.map((d) => d.message), [], `printed text does not parse:\n${text}\n---\n${printed}`);
      assert.equal(printProgram(reparsed), printed, `print is not a fixed point for:\n${text}`);
    }
  }
}

function lexAll(text: string): void {
  for (const mode of ['outer', 'expr', 'member'] as const) {
    const toks = tokenize(makeSource('fuzz.d', text), mode);
    assert.equal(toks.at(-1)!.kind, 'eof');
    for (const t of toks) assert.ok(t.start >= 0 && t.start <= t.end && t.end <= text.length);
  }
}

const CHARS = [...'abcxyz_019`$@#!"\'\\/*+-=<>!&|^~?:;,.()[]{}% \t\n'];
const TOKENS = [
  'BEGIN', 'END', 'syscall::read:entry', 'tick-1s', 'pid$target:::entry', '{', '}', '(', ')', '[', ']', '/', ';', ',',
  'x', 'y', 'self', 'this', '->', '.', '@', '@a', '=', '+=', '==', '!=', '&&', '||', '^^', '?', ':', '++', '--',
  '+', '-', '*', '&', '!', '~', '<<', '>>', '<', '>', '1', '0x10', "'a'", '"s"', '$1', '$$1', '$pid', 'sizeof',
  'stringof', 'offsetof', 'xlate', 'int', 'char', 'unsigned', 'long', 'struct', 'union', 'enum', 'typedef', 'inline',
  'translator', 'provider', 'probe', 'string', 'uint64_t', 'if', 'else', 'count()', 'printf', '`sym', '#pragma D option quiet\n',
  '/* c */', '\n', 'trace', 'extern', 'const', '...',
];

test('fuzz: random text never crashes the lexer or the parser', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 60 }), (text) => {
    lexAll(text);
    check(text, false);
  }), { numRuns: 40000 });
});

test('fuzz: random token sequences', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }), fc.boolean(), (toks, macros) => {
    const text = toks.join(' ');
    lexAll(text);
    check(text, macros);
  }), { numRuns: 40000 });
});

test('fuzz: mutated real programs', () => {
  const mutation = fc.record({
    seed: fc.nat({ max: seeds.length - 1 }),
    edits: fc.array(fc.record({ at: fc.nat(), del: fc.nat({ max: 4 }), ins: fc.constantFrom('', ...TOKENS, ...CHARS) }), { minLength: 1, maxLength: 3 }),
  });
  fc.assert(fc.property(mutation, ({ seed, edits }) => {
    let text = seeds[seed]!;
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.ins + text.slice(at + e.del);
    }
    check(text, true);
  }), { numRuns: 30000 });
});
