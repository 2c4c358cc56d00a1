/**
 * @fileoverview Bad input of every kind gets a diagnostic and status 1 or 2 — never a
 * JavaScript stack trace, an "internal error" or a hang. Runs the built command with -e
 * (compile only). Needs root (DTrace refuses -e without privileges).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root (dtrace -e requires privileges)';

function compileScript(text: string | Buffer): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-bad-'));
  try {
    const file = join(dir, 'x.d');
    writeFileSync(file, text);
    const r = spawnSync(process.execPath, [cli, '-e', '-s', file], { encoding: 'latin1', timeout: 120_000 });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertDiagnosed(r: { status: number | null; stderr: string }, what: string): void {
  assert.ok(r.status === 1 || r.status === 2, `${what}: status ${r.status}\n${r.stderr.slice(0, 500)}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at .*\(.*:\d+:\d+\)/, `${what}: a stack trace\n${r.stderr.slice(0, 1000)}`);
  assert.match(r.stderr, /^dtrace: /, what);
}

test('deep nesting: 10,000 parentheses, 5,000 nested ifs', { skip }, () => {
  assertDiagnosed(compileScript(`BEGIN { x = ${'('.repeat(10000)}1${')'.repeat(10000)}; }`), 'parentheses');
  assertDiagnosed(compileScript(`BEGIN { ${'if (1) { '.repeat(5000)}x = 1;${' }'.repeat(5000)} }`), 'ifs');
});

test('NUL bytes, invalid UTF-8, random bytes and an overlong identifier', { skip }, () => {
  assertDiagnosed(compileScript(Buffer.from('BEGIN { trace(1); }\0\0 garbage')), 'NUL bytes');
  assertDiagnosed(compileScript(Buffer.from([0x42, 0x45, 0x47, 0x49, 0x4e, 0x20, 0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x7d])), 'invalid UTF-8');
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff; };
  for (let i = 0; i < 5; i++) assertDiagnosed(compileScript(Buffer.from(Array.from({ length: 300 }, random))), `random bytes #${i}`);
  assertDiagnosed(compileScript(`BEGIN { ${'a'.repeat(100_000)} = 1; trace(${'b'.repeat(100_000)}); }`), 'overlong identifiers');
});
