/**
 * @fileoverview `-x oformat=json` over the conformance corpus: every test that passes in text
 * mode (conformance/passing.txt) is run again through the corpus runner with oformat=json,
 * and every line the tracer writes to stdout must parse as JSON (one probe, aggregation,
 * drop or error object per line). A full walk takes ~10 minutes on a loaded 2-core machine,
 * so the test takes a fixed sample — every SAMPLE_STRIDE-th listed tst.* test — unless
 * DTRACE_TS_JSON_WALK=all. Modes that trace nothing (-l, -V, -e, -h, -G) print no JSON and are
 * left out. Needs root (the tests trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const root = repoRoot();
const runner = join(root, '..', 'shared', 'conformance', 'run');
const SAMPLE_STRIDE = 10;
const skip = process.getuid?.() !== 0 ? 'needs root to trace'
  : !existsSync(runner) ? `no conformance runner at ${runner}`
    : !existsSync(join(root, 'dist', 'cli.js')) ? 'dist/cli.js not built' : false;

test('oformat=json: the stdout of corpus tests that pass in text mode is JSON, line by line', { skip, timeout: 1_800_000 }, (t) => {
  const listed = readFileSync(join(root, 'conformance', 'passing.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  // The sample is taken from the tst.* tests: the err.* ones mostly fail to compile and print nothing.
  const producing = listed.filter((p) => /\/tst\.[^/]*$/.test(p));
  const sample = process.env['DTRACE_TS_JSON_WALK'] === 'all' ? listed : producing.filter((_, i) => i % SAMPLE_STRIDE === 0);
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-json-walk-'));
  try {
    writeFileSync(join(dir, 'list'), sample.join('\n') + '\n');
    const tracer = `${process.execPath} ${join(root, 'build', 'test', 'helpers', 'json-tracer.js')}`;
    const r = spawnSync(runner, ['--jobs', '2', '--list', join(dir, 'list'), '--dtrace', tracer], {
      cwd: root, encoding: 'utf8', env: { ...process.env, JSON_TRACER_CAPTURE: dir }, timeout: 1_700_000,
    });
    assert.match(r.stdout, /\d+ passed, \d+ failed, \d+ skipped/, `runner: ${r.stderr}`);
    const captures = readdirSync(dir).filter((f) => f.endsWith('.json'));
    let checkedRuns = 0;
    let lines = 0;
    const bad: string[] = [];
    for (const f of captures) {
      const { args, stdout } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { args: string[]; stdout: string };
      if (args.some((a) => /^-(l\w*|V|e|h|G|-version|-help)$/.test(a))) continue;
      checkedRuns++;
      for (const line of stdout.split('\n')) {
        if (line === '') continue;
        lines++;
        try { JSON.parse(line); } catch { bad.push(`${args.join(' ')}: ${line.slice(0, 200)}`); }
      }
    }
    t.diagnostic(`${sample.length} tests, ${checkedRuns} traced runs, ${lines} lines checked`);
    assert.ok(checkedRuns >= sample.length / 2, `only ${checkedRuns} traced runs captured for ${sample.length} tests`);
    assert.ok(lines > 0, 'no output at all');
    assert.deepEqual(bad, [], `${bad.length} of ${lines} lines are not JSON`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
