/**
 * @fileoverview The pure parts of scripts/conformance-ratchet.mjs: the single runner filter
 * (the runner keeps only the last --filter it is given, so skip list, selection and a retry's
 * pattern must be one expression) and the list --update writes after a selected run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface RatchetHelpers {
  runnerFilter(parts: { skipPaths?: string[]; onlyPaths?: string[]; pattern?: string }): string | undefined;
  updatedList(listed: string[], passed: string[], onlyPaths: string[] | undefined): string[];
}

async function helpers(): Promise<RatchetHelpers> {
  // build/test/ → the repository's scripts/ (a plain .mjs script, not part of the TypeScript build).
  const url: string = new URL('../../scripts/conformance-ratchet.mjs', import.meta.url).href;
  const m: RatchetHelpers = await import(url);
  return m;
}

const T = (name: string): string => `test/unittest/${name}`;

test('runnerFilter: skip list, selection and a retry pattern in one expression', async () => {
  const { runnerFilter } = await helpers();
  const filter = runnerFilter({
    skipPaths: [T('a/err.D_X.d'), T('b/tst.b.d')],
    onlyPaths: [T('b/tst.b.d'), T('c/tst.c.d'), T('c/tst.c+1.d'), T('x/tst.x.d')],
    pattern: `(${T('c/tst.c.d').replace(/\./g, '\\.')}|${T('c/tst.c+1.d').replace(/[.+]/g, '\\$&')})$`,
  });
  assert.ok(filter !== undefined);
  const re = new RegExp(filter);
  assert.equal(re.test(T('a/err.D_X.d')), false, 'skipped');
  assert.equal(re.test(T('b/tst.b.d')), false, 'skipped although selected');
  assert.equal(re.test(T('c/tst.c.d')), true, 'selected and retried');
  assert.equal(re.test(T('c/tst.c+1.d')), true, 'regex characters in a path are literal');
  assert.equal(re.test(T('c/tst.cc.d')), false, 'a dot is not any character');
  assert.equal(re.test(T('x/tst.x.d')), false, 'selected but not retried');
  assert.equal(re.test(T('y/tst.y.d')), false, 'not selected');
});

test('runnerFilter: only the skip list, or nothing', async () => {
  const { runnerFilter } = await helpers();
  assert.equal(runnerFilter({}), undefined);
  const re = new RegExp(runnerFilter({ skipPaths: [T('a.d')] }) ?? '');
  assert.equal(re.test(T('a.d')), false);
  assert.equal(re.test(T('a.d.orig')), true, 'a skipped path is matched whole');
  assert.equal(re.test(T('b.d')), true);
});

test('updatedList keeps listed tests outside a selection, drops failed ones inside it', async () => {
  const { updatedList } = await helpers();
  const listed = [T('a.d'), T('b.d'), T('c.d')];
  // b and c were run (selected): b failed, d newly passed; a was not run and stays.
  assert.deepEqual(updatedList(listed, [T('d.d'), T('c.d')], [T('b.d'), T('c.d'), T('d.d')]), [T('a.d'), T('c.d'), T('d.d')]);
  // Without a selection the run is the whole list.
  assert.deepEqual(updatedList(listed, [T('d.d')], undefined), [T('d.d')]);
});
