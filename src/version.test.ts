import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DTRACE_TS_VERSION } from './version.js';

test('DTRACE_TS_VERSION is package.json\'s version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(DTRACE_TS_VERSION, pkg.version);
});
