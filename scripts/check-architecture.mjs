#!/usr/bin/env node
// Checks the shape rules of ARCHITECTURE.md on src/, so that CI keeps them:
//   - no source file over 900 lines and no function over 200 lines (the parser excepted);
//   - the layering: nothing in providers/, consume/ or lang/ imports codegen/, codegen/ does not
//     import consume/, and no import cycle between files (type-only imports count: a cycle of
//     types is still two files that cannot be read apart).
// Usage: node scripts/check-architecture.mjs [--report]   (--report also prints the measurements)
// Exits 1 with one line per violation. Tests (*.test.ts) are not held to the sizes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = join(ROOT, 'src');
const MAX_FILE_LINES = 900;
const MAX_FUNCTION_LINES = 200;
/** Files exempt from the size rules: the recursive-descent parser is one grammar. */
const SIZE_EXEMPT = new Set(['lang/parser.ts']);
/**
 * Functions over the limit when the rule came in, with their length then: a ratchet (they may
 * shrink, not grow; remove an entry once its function is split). Key: `file:function`.
 */
const KNOWN_LONG_FUNCTIONS = new Map([
]);
/** Files over the limit when the rule came in (the same ratchet), with their length then. */
const KNOWN_LONG_FILES = new Map();
/** [importing folder, imported folder]: imports that run against the pipeline. */
const FORBIDDEN = [['providers', 'codegen'], ['consume', 'codegen'], ['lang', 'codegen'], ['codegen', 'consume']];

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

/** The text with comments, strings and template text blanked (kept: line breaks, braces of code). */
function codeOnly(text) {
  let out = '';
  let i = 0;
  const templateDepth = []; // brace depth inside each open `${`
  while (i < text.length) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
      continue;
    }
    if (c === '\'' || c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      out += ' '.repeat(j + 1 - i);
      i = j + 1;
      continue;
    }
    if (c === '`' || (c === '}' && templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === 0)) {
      if (c === '}') templateDepth.pop();
      let j = i + 1;
      while (j < text.length && text[j] !== '`' && !(text[j] === '$' && text[j + 1] === '{')) j += text[j] === '\\' ? 2 : 1;
      out += (c === '}' ? ' ' : ' ') + text.slice(i + 1, j).replace(/[^\n]/g, ' ');
      if (text[j] === '$') { templateDepth.push(0); out += '  '; i = j + 2; } else { out += ' '; i = j + 1; }
      continue;
    }
    if (c === '/' && /(?:^|[(,=:[!&|?{};]|\breturn)\s*$/.test(out.slice(-40))) {
      // A regular expression literal (a `/` where a value starts): skipped to its closing `/`.
      let j = i + 1, inClass = false;
      while (j < text.length && text[j] !== '\n' && (inClass || text[j] !== '/')) {
        if (text[j] === '\\') j++;
        else if (text[j] === '[') inClass = true;
        else if (text[j] === ']') inClass = false;
        j++;
      }
      out += ' '.repeat(j + 1 - i);
      i = j + 1;
      continue;
    }
    if (c === '{' && templateDepth.length > 0) templateDepth[templateDepth.length - 1]++;
    if (c === '}' && templateDepth.length > 0) templateDepth[templateDepth.length - 1]--;
    out += c;
    i++;
  }
  return out;
}

const FUNCTION_START = [
  /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b\s*\*?\s*([\w$]*)/,
  /^\s*(?:export\s+)?(?:const|let)\s+([\w$]+)\s*(?::[^=]*)?=\s*(?:async\s+)?(?:\([^)]*\)|[\w$]+)\s*(?::[^=]*)?=>/,
  /^\s+(?:(?:public|private|protected|static|override|readonly|async|abstract)\s+)*(?:get\s+|set\s+)?([\w$]+)\s*(?:<[^>]*>)?\s*\(/,
];
const NOT_A_NAME = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'super', 'await', 'typeof', 'new', 'throw', 'else', 'do']);

/** Functions (declarations, methods, arrow functions bound to a name) and their line counts. */
function functions(code) {
  const lines = code.split('\n');
  const depthAfter = [];
  let depth = 0;
  for (const l of lines) {
    for (const ch of l) { if (ch === '{') depth++; else if (ch === '}') depth--; }
    depthAfter.push(depth);
  }
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    let name;
    for (const re of FUNCTION_START) {
      const m = re.exec(lines[i]);
      if (m && !NOT_A_NAME.has(m[1])) { name = m[1] || '(anonymous)'; break; }
    }
    if (name === undefined) continue;
    const before = i === 0 ? 0 : depthAfter[i - 1];
    let j = i;
    let opened = false;
    // The body opens on the signature's last line (a signature may span lines) and closes when
    // the depth comes back to where it was.
    for (; j < lines.length; j++) {
      if (depthAfter[j] > before) opened = true;
      else if (opened || /[;]\s*$/.test(lines[j]) || (j === i && lines[j].includes('{'))) break;
      if (!opened && j - i > 20) break; // not a function after all
    }
    if (opened) out.push({ name, line: i + 1, lines: j - i + 1 });
  }
  return out;
}

function importsOf(text) {
  const out = [];
  const re = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms;
  for (const m of text.matchAll(re)) out.push(m[1]);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push(m[1]);
  return out;
}

const files = sourceFiles(SRC);
const rel = (p) => relative(SRC, p);
const violations = [];
const report = process.argv.includes('--report');
const graph = new Map();
let longestFile = { file: '', lines: 0 };
let longestFunction = { where: '', lines: 0 };

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const name = rel(file);
  const isTest = name.endsWith('.test.ts');
  const lineCount = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (!isTest && !SIZE_EXEMPT.has(name)) {
    if (lineCount > longestFile.lines) longestFile = { file: name, lines: lineCount };
    const allowedLines = Math.max(MAX_FILE_LINES, KNOWN_LONG_FILES.get(name) ?? 0);
    if (lineCount > allowedLines) violations.push(`${name}: ${lineCount} lines (at most ${allowedLines})`);
    for (const f of functions(codeOnly(text))) {
      if (f.lines > longestFunction.lines) longestFunction = { where: `${name}:${f.line} ${f.name}`, lines: f.lines };
      const allowed = Math.max(MAX_FUNCTION_LINES, KNOWN_LONG_FUNCTIONS.get(`${name}:${f.name}`) ?? 0);
      if (f.lines > allowed) violations.push(`${name}:${f.line}: function ${f.name} is ${f.lines} lines (at most ${allowed})`);
      else if (f.lines > MAX_FUNCTION_LINES && report) console.log(`known: ${name}:${f.line} ${f.name} is ${f.lines} lines (to be split)`);
    }
  }
  const deps = [];
  for (const spec of importsOf(text)) {
    if (!spec.startsWith('.')) continue;
    const target = rel(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    deps.push(target);
    const [from, to] = [name.split('/')[0], target.split('/')[0]];
    if (!isTest && FORBIDDEN.some(([a, b]) => a === from && b === to)) violations.push(`${name}: imports ${target} (${from}/ must not import ${to}/)`);
  }
  graph.set(name, deps);
}

// Import cycles: strongly connected components of more than one file (Tarjan).
let index = 0;
const idx = new Map(), low = new Map(), onStack = new Set(), stack = [];
const cycles = [];
function connect(v) {
  idx.set(v, index); low.set(v, index); index++;
  stack.push(v); onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) { connect(w); low.set(v, Math.min(low.get(v), low.get(w))); }
    else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do { w = stack.pop(); onStack.delete(w); comp.push(w); } while (w !== v);
    if (comp.length > 1) cycles.push(comp.sort());
  }
}
for (const v of graph.keys()) if (!idx.has(v)) connect(v);
for (const c of cycles) violations.push(`import cycle: ${c.join(' ↔ ')}`);

if (report) {
  console.log(`files: ${files.length}; longest file ${longestFile.file} (${longestFile.lines} lines); longest function ${longestFunction.where} (${longestFunction.lines} lines); import cycles: ${cycles.length}`);
}
for (const v of violations) console.log(v);
if (violations.length > 0) { console.log(`${violations.length} architecture violation(s)`); process.exit(1); }
if (report) console.log('architecture rules hold');
