/**
 * @fileoverview The D library is found from the build tree, parses cleanly, and is only
 * requested for programs that name something it defines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLibrary, loadLibraryPrograms, libraryNeeded, libraryFor, libraryTypeNames } from './library.js';

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
