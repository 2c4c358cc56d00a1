/**
 * @fileoverview Grammar fuzzing through the parser, checker, code generator and the kernel's
 * verifier: every generated program is run by the built command. A program the compiler
 * refuses must be refused with a diagnostic; a program it accepts must load (a verifier
 * rejection is our bug) and run to its exit(0); nothing may crash, print an internal error or
 * hang. `npm test` runs a few seeded programs; `npm run soak` runs many (FUZZ_PROGRAMS).
 * Figures are printed as a `fuzz:` line for the reliability report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';
import { fuzzProgram } from './fuzz-programs.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const COUNT = Number(process.env.FUZZ_PROGRAMS ?? 8);
const SEED = Number(process.env.FUZZ_SEED ?? 20261205);

type Outcome = 'loaded' | 'diagnosed' | 'verifier' | 'crash' | 'hang';

function classify(status: number | null, signal: NodeJS.Signals | null, stderr: string): Outcome {
  if (signal === 'SIGTERM' || status === null) return 'hang';
  if (/internal error|    at |RangeError|TypeError/.test(stderr)) return 'crash';
  if (/verifier|failed to enable probes|does not fit in/.test(stderr)) return 'verifier';
  if (status === 0) return 'loaded';
  return /^dtrace: /m.test(stderr) ? 'diagnosed' : 'crash';
}

test(`fuzzed D programs (${COUNT}, seed ${SEED}): no crash, no hang, no verifier rejection`, { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-fuzz-'));
  const counts: Record<Outcome, number> = { loaded: 0, diagnosed: 0, verifier: 0, crash: 0, hang: 0 };
  const bad: string[] = [];
  try {
    for (let i = 0; i < COUNT; i++) {
      const text = fuzzProgram(SEED, i);
      const file = join(dir, `p${i}.d`);
      writeFileSync(file, text);
      const r = spawnSync(process.execPath, [cli, '-q', '-s', file], { encoding: 'latin1', timeout: 90_000, killSignal: 'SIGTERM' });
      const outcome = classify(r.status, r.signal, r.stderr);
      counts[outcome]++;
      if (outcome !== 'loaded' && outcome !== 'diagnosed') bad.push(`program ${i} (seed ${SEED}): ${outcome}\n${text}\n${r.stderr.slice(0, 1500)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`fuzz: ${COUNT} programs, ${counts.loaded} loaded and ran, ${counts.diagnosed} refused with a diagnostic, ${counts.verifier} verifier rejections, ${counts.crash} crashes, ${counts.hang} hangs`);
  assert.deepEqual(bad, []);
  // The generator makes well-typed programs: most must get through to the kernel.
  assert.ok(counts.loaded >= COUNT / 2, `only ${counts.loaded} of ${COUNT} programs loaded`);
});
