/**
 * @fileoverview `dtrace btf dump` on the committed fixture: output, formats and exit statuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBtfCommand } from './btf.js';

const fixtureDir = fileURLToPath(new URL('../../../test/fixtures/btf/', import.meta.url));
const fixture = `${fixtureDir}fixture.btf`;

/** Runs the command with stdout and stderr captured. */
function run(argv: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string) => { stdout += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { stderr += chunk; return true; }) as typeof process.stderr.write;
  try {
    return { status: runBtfCommand(argv), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test('dump --format c writes the header bpftool writes', () => {
  const r = run(['dump', '--file', fixture, '--no-enum-mode']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, readFileSync(`${fixtureDir}fixture.bpftool.h`, 'utf8'));
  const withMode = run(['btf', 'dump', `--file=${fixture}`, '--format', 'c']);
  assert.equal(withMode.status, 0);
  assert.match(withMode.stdout, /\} __attribute__\(\(mode\(word\)\)\);/);
});

test('dump --format raw writes bpftool\'s raw listing', () => {
  const r = run(['dump', '--file', fixture, '--format', 'raw']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, readFileSync(`${fixtureDir}fixture.bpftool.raw`, 'utf8'));
});

test('usage errors and unreadable files', () => {
  assert.equal(run(['dump', '--format', 'json']).status, 2);
  assert.match(run(['dump', '--format', 'json']).stderr, /unknown format "json"/);
  assert.equal(run(['dump', '--bogus']).status, 2);
  assert.equal(run(['list']).status, 2);
  assert.equal(run([]).status, 2);
  const missing = run(['dump', '--file', '/nonexistent/btf']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^dtrace: btf dump: \/nonexistent\/btf: ENOENT/);
  const notBtf = run(['dump', '--file', `${fixtureDir}fixture.c`]);
  assert.equal(notBtf.status, 1);
  assert.match(notBtf.stderr, /bad BTF magic/);
});
