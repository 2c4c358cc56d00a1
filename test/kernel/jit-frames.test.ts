/**
 * @fileoverview JIT frames in user stacks: a Node.js program run with --perf-basic-prof writes
 * /tmp/perf-<pid>.map, and ustack() names its JavaScript functions from it (consume/perfmap.ts).
 * Needs root.
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

test('profile of a node --perf-basic-prof workload names its hot JS function', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-jit-'));
  try {
    const work = join(dir, 'work.js');
    writeFileSync(work, [
      'function hotLoop(n) { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i) * (i % 7); return x; }',
      'const end = Date.now() + 1500; let s = 0;',
      'while (Date.now() < end) s += hotLoop(200000);',
      'if (s === 42) console.log(s);',
    ].join('\n'));
    const r = spawnSync(process.execPath, [cli, '-q', '-n', 'profile-997 /pid == $target/ { @[ustack(4)] = count(); }',
      '-c', `${process.execPath} --perf-basic-prof ${work}`], { encoding: 'latin1', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    // Each aggregation entry: frames, then the count on a line of its own.
    let hot = 0;
    let total = 0;
    for (const m of r.stdout.matchAll(/((?:\n {14}\S.*)+)\n\s+(\d+)\n/g)) {
      const n = Number(m[2]);
      total += n;
      if (/hotLoop/.test(m[1]!)) hot += n;
    }
    assert.ok(total > 100, `too few samples (${total}):\n${r.stdout.slice(-2000)}`);
    assert.ok(hot / total > 0.5, `hotLoop in ${hot} of ${total} sampled stacks:\n${r.stdout.slice(-2000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
