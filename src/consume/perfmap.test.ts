import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, chownSync, symlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parsePerfMap, lookupPerfMap, lookupJitSymbol, forgetPerfMaps } from './perfmap.js';

const V8_LINES = [
  '3ef414a0c0 1e Builtin:ArgumentsAdaptorTrampoline',
  '3ef414a100 80 JS:*hotLoop /tmp/work.js:3',
  '3ef414a200 40 JS:~main /tmp/work.js:9',
  '0x3ef414a300 0x20 Function:<anonymous> with spaces',
].join('\n') + '\n3ef414a400 10 half-writ';

test('parsePerfMap: hex START SIZE NAME, names with spaces, an unfinished last line ignored', () => {
  const m = parsePerfMap(V8_LINES);
  assert.equal(m.names.length, 4);
  assert.deepEqual(lookupPerfMap(m, 0x3ef414a100 + 0x10), { name: 'JS:*hotLoop /tmp/work.js:3', offset: 0x10 });
  assert.deepEqual(lookupPerfMap(m, 0x3ef414a300), { name: 'Function:<anonymous> with spaces', offset: 0 });
  assert.equal(lookupPerfMap(m, 0x3ef414a180), undefined, 'between two functions');
  assert.equal(lookupPerfMap(m, 0x3ef414a400), undefined, 'the half-written line is not used');
  assert.equal(lookupPerfMap(m, 0x10), undefined);
});

test('parsePerfMap: code listed again (recompiled) resolves to the later entry', () => {
  const m = parsePerfMap('1000 100 old\n1000 100 new\n');
  assert.equal(lookupPerfMap(m, 0x1010)?.name, 'new');
});

test('lookupJitSymbol reads only maps nobody else could have planted', { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-perfmap-'));
  try {
    const pid = process.pid; // owned by root, like the test
    const file = join(dir, `perf-${pid}.map`);
    writeFileSync(file, '1000 100 trusted\n');
    chmodSync(file, 0o644);
    forgetPerfMaps();
    assert.equal(lookupJitSymbol(pid, 0x1010, dir)?.name, 'trusted');

    chownSync(file, 12345, 12345); // another user's file for a root process
    forgetPerfMaps();
    assert.equal(lookupJitSymbol(pid, 0x1010, dir), undefined, 'a file owned by another user is not read');

    chownSync(file, 0, 0);
    chmodSync(file, 0o666);
    forgetPerfMaps();
    assert.equal(lookupJitSymbol(pid, 0x1010, dir), undefined, 'a world-writable file is not read');

    rmSync(file);
    const real = join(dir, 'elsewhere');
    writeFileSync(real, '1000 100 via-link\n');
    chmodSync(real, 0o644);
    symlinkSync(real, file);
    forgetPerfMaps();
    assert.equal(lookupJitSymbol(pid, 0x1010, dir), undefined, 'a symbolic link is not followed');
  } finally {
    forgetPerfMaps();
    rmSync(dir, { recursive: true, force: true });
  }
});
