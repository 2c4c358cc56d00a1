/**
 * @fileoverview What a run reads at start-up. The CLI bundle's lazy chunks (scripts/cli-bundle.mjs,
 * src/cli/lazy.ts): a plain tracing run reads dist/cli-main.cjs and no other chunk, and the
 * commands whose code lives in a chunk (-l, -i, -v, -h, `dtrace btf`, `dtrace bpf`) load it and
 * work. The D library: a script that names nothing of it reads no lib/*.d (the build's index,
 * dist/lib-index.json, says what each file defines); an index that no longer matches lib/ is
 * not trusted. Which files are read is observed from outside the product: a --require hook of
 * this test records every dist/cli-*.cjs and lib/*.d passed to fs.readFileSync (how the loader
 * and the library read them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, readdirSync, cpSync, symlinkSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const dist = join(repoRoot(), 'dist');
const cli = join(dist, 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root';

/** Runs the built command with the read-recording hook: its result and the chunk files it read. */
function dtraceReading(args: string[], dir: string, command = cli): { status: number | null; stdout: string; stderr: string; chunks: string[]; libs: string[] } {
  const log = join(dir, `read-${Math.random().toString(36).slice(2)}.log`);
  const hook = join(dir, 'hook.cjs');
  writeFileSync(hook, `'use strict';
const fs = require('node:fs');
const readFileSync = fs.readFileSync;
const read = [];
fs.readFileSync = function (file, ...rest) {
  if (typeof file === 'string' && /\\/(dist\\/cli-[^/]*\\.cjs|lib\\/[^/]*\\.d)$/.test(file)) read.push(file.slice(file.lastIndexOf('/', file.lastIndexOf('/') - 1) + 1));
  return readFileSync.call(this, file, ...rest);
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(log)}, read.join('\\n')));
`);
  const env = { ...process.env };
  delete env._DTRACE_TESTING;
  const r = spawnSync(process.execPath, ['--require', hook, command, ...args], { encoding: 'latin1', timeout: 120_000, env, cwd: dir });
  const read = existsSync(log) ? readFileSync(log, 'latin1').split('\n').filter((l) => l !== '') : [];
  const chunks = read.filter((f) => f.startsWith('dist/')).map((f) => f.slice(5));
  const libs = read.filter((f) => f.startsWith('lib/')).map((f) => f.slice(4));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, chunks, libs };
}

function withDir(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-lazy-'));
  try { f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

const lazyChunks = (chunks: string[]) => chunks.filter((c) => c !== 'cli-main.cjs');

test('the bundle has chunks beside cli-main.cjs, each a function expression the loader accepts', () => {
  const chunks = readdirSync(dist).filter((n) => /^cli-[A-Z0-9]+\.cjs$/.test(n));
  assert.ok(chunks.length > 0, 'no lazy chunk in dist/');
  for (const c of chunks) assert.ok(readFileSync(join(dist, c), 'latin1').startsWith('(function (exports, require, module, __filename, __dirname) {'), c);
});

test('a BEGIN-only run reads cli-main.cjs and no other chunk', { skip }, () => withDir((dir) => {
  const r = dtraceReading(['-q', '-n', 'BEGIN { printf("%d %s\\n", 42, "x"); exit(0); }'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '42 x\n\n');
  assert.deepEqual(r.chunks, ['cli-main.cjs']);
  assert.deepEqual(r.libs, [], 'a script that names nothing of the D library read lib/');
}));

test('a script naming a library inline or type reads the library and compiles with it', { skip }, () => withDir((dir) => {
  const r = dtraceReading(['-q', '-n', 'BEGIN { printf("%d %d\\n", ENOENT, sizeof (psinfo_t) > 0); exit(0); }'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '2 1\n\n');
  assert.ok(r.libs.includes('errno.d'), `read ${r.libs.join(', ')}`);
}));

test('the library index is not trusted once lib/ changes: an inline added since the build is found', { skip }, () => withDir((dir) => {
  // A private install: package.json, dist/ and lib/ (node_modules linked), then one library file grown.
  const root = repoRoot();
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'lib'), join(dir, 'lib'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  assert.ok(existsSync(join(dir, 'dist', 'lib-index.json')), 'the build wrote no library index');
  appendFileSync(join(dir, 'lib', 'errno.d'), '\ninline int LAZYTEST_ADDED = 1234;\n');
  const r = dtraceReading(['-q', '-n', 'BEGIN { printf("%d\\n", LAZYTEST_ADDED); exit(0); }'], dir, join(dir, 'dist', 'cli.js'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1234\n\n');
}));

test('-l, -i and -v load their chunk and work', { skip }, () => withDir((dir) => {
  const l = dtraceReading(['-l', '-n', 'syscall::getpid:entry'], dir);
  assert.equal(l.status, 0, l.stderr);
  assert.match(l.stdout, /^\s*\d+\s+syscall\s+vmlinux\s+getpid entry$/m);
  assert.ok(lazyChunks(l.chunks).length > 0, `-l read only ${l.chunks.join(', ')}`);
  const i = dtraceReading(['-q', '-i', '1 { printf("begun"); exit(0); }'], dir);
  assert.equal(i.status, 0, i.stderr);
  assert.equal(i.stdout, 'begun\n');
  const v = dtraceReading(['-v', '-q', '-n', 'BEGIN { exit(0); }'], dir);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /Stability attributes for description BEGIN/);
  assert.ok(lazyChunks(v.chunks).length > 0, `-v read only ${v.chunks.join(', ')}`);
}));

test('-h writes the provider header through its chunk', { skip }, () => withDir((dir) => {
  const d = join(dir, 'prov.d');
  writeFileSync(d, 'provider lazytest { probe fired(int, char *); };\n');
  const r = dtraceReading(['-h', '-s', d, '-o', join(dir, 'prov.h')], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(join(dir, 'prov.h'), 'latin1'), /#define\s+LAZYTEST_FIRED\(/);
  assert.ok(lazyChunks(r.chunks).length > 0, `-h read only ${r.chunks.join(', ')}`);
}));

test('dtrace btf and dtrace bpf load their chunks', { skip }, () => withDir((dir) => {
  // A small BTF file (the fixture bpftool's listing of which is kept beside it).
  const fixture = join(repoRoot(), 'test', 'fixtures', 'btf');
  const btf = dtraceReading(['btf', 'dump', '--file', join(fixture, 'fixture.btf'), '--format', 'raw'], dir);
  assert.equal(btf.status, 0, btf.stderr);
  assert.equal(btf.stdout, readFileSync(join(fixture, 'fixture.bpftool.raw'), 'latin1'));
  assert.ok(lazyChunks(btf.chunks).length > 0);
  const bpf = dtraceReading(['bpf', 'prog', 'list'], dir);
  assert.equal(bpf.status, 0, bpf.stderr);
  assert.ok(lazyChunks(bpf.chunks).length > 0);
}));
