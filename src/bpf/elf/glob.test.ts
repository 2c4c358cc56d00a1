/**
 * @fileoverview gmatch rules for probe descriptions: one expectation per line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isGlob, matchGlob, matchProbeField } from './glob.js';

test('literal and wildcard patterns', () => {
  assert.equal(matchGlob('read', 'read'), true);
  assert.equal(matchGlob('read', 'readv'), false);
  assert.equal(matchGlob('read*', 'readv'), true);
  assert.equal(matchGlob('read*', 'read'), true);
  assert.equal(matchGlob('*read', 'pread'), true);
  assert.equal(matchGlob('*read*', 'xreadv'), true);
  assert.equal(matchGlob('*', ''), true);
  assert.equal(matchGlob('', ''), true);
  assert.equal(matchGlob('', 'x'), false);
  assert.equal(matchGlob('r?ad', 'read'), true);
  assert.equal(matchGlob('r?ad', 'rad'), false);
  assert.equal(matchGlob('**a**b', 'xxaxxb'), true);
  assert.equal(matchGlob('*a*b', 'xxaxxc'), false);
});

test('bracket expressions', () => {
  assert.equal(matchGlob('sys_[rw]*', 'sys_write'), true);
  assert.equal(matchGlob('sys_[rw]*', 'sys_open'), false);
  assert.equal(matchGlob('tick-[0-9]s', 'tick-5s'), true);
  assert.equal(matchGlob('tick-[0-9]s', 'tick-xs'), false);
  assert.equal(matchGlob('[!a-c]x', 'dx'), true);
  assert.equal(matchGlob('[!a-c]x', 'bx'), false);
  assert.equal(matchGlob('[]]', ']'), true);
  assert.equal(matchGlob('[a-', 'a'), false, 'an unterminated bracket matches nothing');
  assert.equal(matchGlob('[a-]', '-'), true, 'a trailing - is literal');
});

test('backslash escapes', () => {
  assert.equal(matchGlob('a\\*', 'a*'), true);
  assert.equal(matchGlob('a\\*', 'ab'), false);
  assert.equal(matchGlob('\\?', '?'), true);
  assert.equal(matchGlob('\\[x]', '[x]'), true);
});

test('probe fields: empty matches everything; isGlob', () => {
  assert.equal(matchProbeField('', 'anything'), true);
  assert.equal(matchProbeField(undefined, 'anything'), true);
  assert.equal(matchProbeField('ent*', 'entry'), true);
  assert.equal(matchProbeField('ent*', 'return'), false);
  assert.equal(isGlob('entry'), false);
  assert.equal(isGlob('e*'), true);
  assert.equal(isGlob('e?'), true);
  assert.equal(isGlob('[a]'), true);
  assert.equal(isGlob('a\\b'), true);
});

test('property: a string matches itself with metacharacters escaped, and `*` matches all', () => {
  const escape = (s: string): string => s.replace(/[*?[\\]/g, (c) => `\\${c}`);
  fc.assert(fc.property(fc.string(), (s) => matchGlob(escape(s), s) && matchGlob('*', s)));
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => matchGlob(`${escape(a)}*`, a + b)));
});
