/**
 * @fileoverview USDT across processes with a real PostgreSQL 15 (Debian's, built with
 * --enable-dtrace): a private cluster on loopback in a temporary directory, started as the
 * postgres user, and `postgresql*:::query-start { @[copyinstr(arg0)] = count(); }` while psql
 * runs N queries. Each psql connection gets a backend forked after dtrace attached, so this
 * also checks that `provider*` probes fire in processes started later. PostgreSQL is installed
 * with apt-get when missing; the test skips with the reason when that is impossible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';

const cli = join(repoRoot(), 'dist', 'cli.js');

/** The bin directory of an installed PostgreSQL whose server carries the postgresql USDT provider. */
function findPostgres(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  for (const v of readdirSync(base).sort().reverse()) {
    const bin = join(base, v, 'bin');
    try {
      if (readUsdtProbes(join(bin, 'postgres')).some((p) => p.provider === 'postgresql' && p.name === 'query-start')) return bin;
    } catch {
      // not installed completely
    }
  }
  return undefined;
}

/** Installs Debian's postgresql-15 when no PostgreSQL is there (root, network); why not, otherwise. */
function ensurePostgres(): string | { skip: string } {
  let bin = findPostgres();
  if (bin) return bin;
  if (process.getuid?.() !== 0) return { skip: 'PostgreSQL is not installed and installing it needs root' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql-15'], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, timeout: 300_000 });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql-15'], { env, timeout: 600_000 });
  }
  bin = findPostgres();
  return bin ?? { skip: `PostgreSQL could not be installed (apt-get: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})` };
}

const hasPostgresUser = spawnSync('id', ['postgres']).status === 0;
const pre =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync('/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset') ? 'uprobe PMU without ref_ctr_offset (USDT semaphores)' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' : false;
const found = pre ? undefined : ensurePostgres();
const skip = pre || (typeof found === 'object' ? found.skip : !hasPostgresUser ? 'no postgres user' : spawnSync('psql', ['--version']).status !== 0 ? 'no psql' : false);
const bin = typeof found === 'string' ? found : '';

function asPostgres(args: string[]) {
  return spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('postgresql*:::query-start counts every query of every backend, with its text', { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-pg-'));
  chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
  const data = join(dir, 'data');
  const port = String(20000 + Math.floor(Math.random() * 20000));
  let started = false;
  try {
    const init = asPostgres([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres']);
    assert.equal(init.status, 0, init.stderr);
    const start = asPostgres([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-o', `-k ${dir} -h 127.0.0.1 -p ${port} -c listen_addresses=127.0.0.1`, 'start']);
    assert.equal(start.status, 0, start.stderr + start.stdout);
    started = true;

    const tracer = spawn(process.execPath, [cli, '-q', '-n',
      'postgresql*:::query-start { @[copyinstr(arg0)] = count(); } profile:::tick-50ms /!ready/ { ready = 1; printf("ready\\n"); }'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    tracer.stdout.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
    tracer.stderr.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => tracer.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (stdout.includes('ready\n')) { clearInterval(poll); resolve(); }
        if (tracer.exitCode !== null) { clearInterval(poll); reject(new Error(`dtrace ended: ${stderr}`)); }
      }, 20);
    });

    // N queries, each in its own connection (a backend forked after dtrace attached).
    const queries = ['select 1 as first', 'select 2 as second', 'select 3 as third', 'select 4 as fourth'];
    const repeated = 'select count(*) from pg_class';
    const run = (sql: string) => {
      const r = spawnSync('psql', ['-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-X', '-q', '-A', '-t', '-c', sql], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
    };
    for (const q of queries) run(q);
    for (let i = 0; i < 3; i++) run(repeated);

    tracer.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const counts = new Map<string, number>();
    for (const line of stdout.split('\n')) {
      const m = /^\s+(.*?)\s+(\d+)$/.exec(line);
      if (m) counts.set(m[1]!, Number(m[2]));
    }
    for (const q of queries) assert.equal(counts.get(q), 1, `${q}: ${stdout}`);
    assert.equal(counts.get(repeated), 3, stdout);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, queries.length + 3, `only our queries ran: ${stdout}`);
  } finally {
    if (started) asPostgres([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  }
});
