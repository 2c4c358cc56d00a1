/**
 * @fileoverview jstackstrsize and jstack()'s second argument: the string space for JIT frame
 * names (the names a Node.js --perf-basic-prof process writes to its perf map). With the
 * default 512 bytes the hot JS function is named; with 8 bytes its name does not fit and the
 * frame prints as an address; jstack(n, 4096) gives the room back whatever the option. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** The sampled stacks of a node workload whose time is spent in hotLoop: frames named hotLoop, and in all. */
function profile(dir: string, action: string, extra: string[] = []): { named: number; total: number; stdout: string } {
  const work = join(dir, 'work.js');
  writeFileSync(work, [
    'function hotLoop(n) { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i) * (i % 7); return x; }',
    'const end = Date.now() + 1200; let s = 0;',
    'while (Date.now() < end) s += hotLoop(200000);',
    'if (s === 42) console.log(s);',
  ].join('\n'));
  const r = spawnSync(process.execPath, [cli, '-q', ...extra, '-n', `profile-997 /pid == $target/ { @[${action}] = count(); }`,
    '-c', `${process.execPath} --perf-basic-prof ${work}`], { encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  let named = 0, total = 0;
  for (const m of r.stdout.matchAll(/((?:\n {14}\S.*)+)\n\s+(\d+)\n/g)) {
    total += Number(m[2]);
    if (/hotLoop/.test(m[1]!)) named += Number(m[2]);
  }
  return { named, total, stdout: r.stdout };
}

test('jstack() names JIT frames within its string space: jstackstrsize, or its second argument', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-jstack-'));
  try {
    const dflt = profile(dir, 'jstack(4)');
    // Under emulation (the 6.1 guest's TCG) node spends most samples starting up: a few named ones suffice.
    assert.ok(dflt.total > 100 && dflt.named >= 5 && dflt.named / dflt.total > 0.05, `hotLoop named in ${dflt.named} of ${dflt.total}\n${dflt.stdout.slice(-1500)}`);
    const tight = profile(dir, 'jstack(4)', ['-x', 'jstackstrsize=8']);
    assert.ok(tight.total > 100, tight.stdout.slice(-1500));
    assert.equal(tight.named, 0, tight.stdout.slice(-1500));
    const wide = profile(dir, 'jstack(4, 4096)', ['-x', 'jstackstrsize=8']);
    assert.ok(wide.total > 100 && wide.named >= 5 && wide.named / wide.total > 0.05, `hotLoop named in ${wide.named} of ${wide.total}\n${wide.stdout.slice(-1500)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
