/**
 * @fileoverview The D library is found from the build tree, parses cleanly, and is only
 * requested for programs that name something it defines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSource } from '../diag/source.js';
import { loadLibrary, loadLibraryPrograms, libraryNeeded, libraryFor, libraryTypeNames, libraryDependencyProblem, addLibraryDirectories, findDependencyProblem } from './library.js';

test('library files are found and parse', () => {
  const names = loadLibrary().map((s) => s.name.split('/').pop());
  assert.ok(names.includes('psinfo.d') && names.includes('sched.d'), names.join(','));
  assert.equal(loadLibraryPrograms().length, names.length);
  assert.ok(libraryTypeNames().has('psinfo_t') && !libraryTypeNames().has('curpsinfo'));
});

test('the library is loaded only when a script needs it', () => {
  assert.equal(libraryNeeded('BEGIN { trace(curpsinfo->pr_pid); }'), true);
  assert.equal(libraryNeeded('BEGIN { raise(SIGINT); }'), true);
  assert.equal(libraryNeeded('BEGIN { trace(pid); exit(0); }'), false);
  assert.equal(libraryFor(['BEGIN { exit(0); }']), undefined);
});

/** A -L directory holding `files` (name → text). */
function libDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-lib-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('library dependencies: the package library is sound, a missing or circular one is refused', () => {
  assert.equal(findDependencyProblem(loadLibrary()), undefined);
  assert.equal(libraryDependencyProblem(), undefined);
  const chain = libDir({ 'a.d': '#pragma D depends_on library b.d\ninline int foo = bar;\n', 'b.d': 'inline int bar = 1;\n' });
  const missing = libDir({ 'a.d': '#pragma D depends_on library nothere.d\n' });
  const cycle = libDir({ 'a.d': '#pragma D depends_on library b.d\n', 'b.d': '#pragma D depends_on library c.d\n', 'c.d': '#pragma D depends_on library a.d\n' });
  try {
    addLibraryDirectories([chain]);
    assert.equal(libraryDependencyProblem(), undefined);
    addLibraryDirectories([missing]);
    assert.equal(libraryDependencyProblem(), `Invalid library dependency in ${join(missing, 'a.d')}: ${join(missing, 'nothere.d')}`);
    const lib = (name: string, text: string) => makeSource(join(cycle, name), text, 'library');
    const pragma = (dep: string) => `#pragma D depends_on library ${dep}\n`;
    assert.equal(findDependencyProblem([lib('a.d', pragma('b.d')), lib('b.d', pragma('c.d')), lib('c.d', pragma('a.d'))]),
      `Cyclic dependency detected: ${join(cycle, 'a.d')} => ${join(cycle, 'c.d')}`);
    assert.equal(findDependencyProblem([lib('a.d', pragma('b.d')), lib('b.d', pragma('c.d')), lib('c.d', ''), lib('d.d', pragma('a.d') + pragma('c.d'))]), undefined);
  } finally {
    for (const d of [chain, missing, cycle]) rmSync(d, { recursive: true, force: true });
  }
});
