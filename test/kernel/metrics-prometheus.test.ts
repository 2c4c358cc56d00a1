/**
 * @fileoverview `-x metrics=HOST:PORT` against a real Prometheus (Debian's `prometheus`): a
 * script counts a workload's getpid calls while Prometheus scrapes its /metrics every second;
 * Prometheus's HTTP query API then returns the same count as the script prints at exit, for
 * a count() (counter) and a quantize() (histogram). Also: the series limit keeps the
 * largest keys and reports how many were left out. Needs root and prometheus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const PROMETHEUS = '/usr/bin/prometheus';
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs' : false;
const CALLS = 777;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve(typeof a === 'object' && a ? a.port : 0)); });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function query(port: number, q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(body.status, 'success');
  return body.data.result;
}

test('Prometheus scraping -x metrics returns the counts the script prints', { skip, timeout: 240_000 }, async (t) => {
  if (!existsSync(PROMETHEUS)) { t.skip('prometheus is not installed (scripts/ci-setup.sh installs it)'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-prom-'));
  const [metricsPort, promPort] = [await freePort(), await freePort()];
  // The target: the workload's calls, then it idles so the run lasts until we stop it.
  const target = join(dir, 'target.sh');
  writeFileSync(target, `#!/bin/sh\n${buildWorkload('getpid_loop')} ${CALLS}\nexec sleep 120\n`);
  chmodSync(target, 0o755);
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: dtrace\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`);
  const dtrace = spawn(process.execPath, [cli, '-q', '-x', `metrics=127.0.0.1:${metricsPort}`, '-n',
    'syscall::getpid:entry /ppid == $target/ { @calls[execname] = count(); @q = quantize(arg0 + 5); }', '-c', target], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  dtrace.stdout.setEncoding('latin1').on('data', (d: string) => { out += d; });
  dtrace.stderr.setEncoding('latin1').on('data', (d: string) => { err += d; });
  const dtraceExit = new Promise<number | null>((r) => dtrace.on('close', (code) => r(code)));
  const prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promErr = '';
  prom.stderr.setEncoding('utf8').on('data', (d: string) => { promErr += d; });
  try {
    // Wait until Prometheus has scraped the final values (a scrape taken while the last call
    // was being counted may have one aggregation updated and not yet the other).
    let calls: string | undefined;
    let count: { value: [number, string] }[] = [];
    for (let i = 0; i < 120 && (calls !== String(CALLS) || count[0]?.value[1] !== String(CALLS)); i++) {
      await sleep(1000);
      try {
        calls = (await query(promPort, 'dtrace_calls_total{key0="getpid_loop"}'))[0]?.value[1];
        count = await query(promPort, 'dtrace_q_count');
      } catch { /* not up yet */ }
    }
    assert.equal(calls, String(CALLS), `Prometheus never saw ${CALLS} calls (last ${calls}); dtrace: ${err}; prometheus: ${promErr.slice(-500)}`);
    const up = await query(promPort, 'up{job="dtrace"}');
    assert.equal(up[0]?.value[1], '1', 'the scrape target is up');
    // Queried while the script runs: once it is gone Prometheus marks its series stale.
    const buckets = await query(promPort, 'dtrace_q_bucket{le="+Inf"}');
    dtrace.kill('SIGINT');
    assert.equal(await dtraceExit, 0, err);
    // The script's own output at exit: the same count.
    const printed = /^\s*getpid_loop\s+(\d+)\s*$/m.exec(out)?.[1];
    assert.equal(printed, String(CALLS), out);
    assert.equal(count[0]?.value[1], String(CALLS), 'the histogram counts every call');
    assert.equal(buckets[0]?.value[1], String(CALLS));
  } finally {
    dtrace.kill('SIGKILL');
    prom.kill('SIGTERM');
    await new Promise((r) => prom.once('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the metrics series limit keeps the largest keys and reports the rest', { skip, timeout: 120_000 }, async () => {
  const port = await freePort();
  const dtrace = spawn(process.execPath, [cli, '-q', '-x', `metrics=127.0.0.1:${port}`, '-x', 'metricsseries=2', '-n',
    'BEGIN { @k["a"] = sum(1); @k["b"] = sum(5); @k["c"] = sum(3); @k["d\\"\\n"] = sum(9); }'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  dtrace.stderr.setEncoding('latin1').on('data', (d: string) => { err += d; });
  try {
    let text = '';
    for (let i = 0; i < 60 && !text.includes('# EOF'); i++) {
      await sleep(500);
      try { text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(); } catch { /* not listening yet */ }
    }
    assert.match(text, /# EOF\n$/, `no /metrics: ${err}`);
    const series = text.split('\n').filter((l) => l.startsWith('dtrace_k{'));
    assert.deepEqual(series, ['dtrace_k{key0="d\\"\\n"} 9', 'dtrace_k{key0="b"} 5']);
    assert.match(text, /^dtrace_metrics_dropped_series\{aggregation="k"\} 2$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    dtrace.kill('SIGKILL');
  }
});
