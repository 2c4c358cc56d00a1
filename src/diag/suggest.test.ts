import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, nearestName, didYouMean } from './suggest.js';

test('editDistance counts insertions, deletions, substitutions and adjacent swaps', () => {
  assert.equal(editDistance('strln', 'strlen'), 1);
  assert.equal(editDistance('sycsall', 'syscall'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('abcdef', 'uvwxyz', 2), 3, 'stops past the limit');
});

test('nearestName suggests close names only', () => {
  assert.equal(nearestName('strln', ['strlen', 'strjoin', 'strstr']), 'strlen');
  assert.equal(nearestName('sycsall', ['syscall', 'sched', 'sdt']), 'syscall');
  assert.equal(nearestName('QUIET', ['quiet', 'bufsize']), 'quiet');
  assert.equal(nearestName('bufsz', ['bufsize', 'bufpolicy']), 'bufsize');
  assert.equal(nearestName('xyzzy', ['quiet', 'bufsize', 'flowindent']), undefined);
  assert.equal(nearestName('a', ['b', 'ab']), 'b');
  assert.equal(didYouMean('profle', ['profile']), 'did you mean `profile`?');
  assert.equal(didYouMean('zzz', ['profile']), undefined);
});
