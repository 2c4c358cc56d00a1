/**
 * @fileoverview Nothing outside the tracer may steer it: it runs as root, and Node opens a root
 * debugger (the inspector, 127.0.0.1:9229) on SIGUSR1. The built command is run as a user runs
 * it (through its shebang, so NODE_OPTIONS is dropped as well) and poked from outside. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** Ports in LISTEN state owned by any socket of `pid` (from /proc/net/tcp{,6} and its fds). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch { /* closed meanwhile */ }
    }
  } catch { return []; }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

/** `nodeFlags` given: run as `node FLAGS cli.js`, else as the file itself. */
function startTracer(env: NodeJS.ProcessEnv, nodeFlags?: string[]) {
  // Run the file itself (its shebang), not `node cli.js`: that is how `dtrace` is installed.
  // "ready" comes after the first count (the clauses of one probe run in order): the
  // aggregation printed at exit is never empty, however soon after "ready" the test ends the run.
  const args = ['-q', '-n', 'tick-10ms { @ = count(); } tick-10ms /!ready/ { ready = 1; printf("ready\\n"); }'];
  const child = nodeFlags === undefined
    ? spawn(cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [...nodeFlags, cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('latin1').on('data', (d: string) => { err += d; });
  const ready = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tracer did not start: ${err}`)), 20_000);
    child.stdout.on('data', () => { if (out.includes('ready')) { clearTimeout(t); resolve(); } });
    child.on('exit', () => { clearTimeout(t); reject(new Error(`tracer exited early: ${err}`)); });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited, output: () => out, errors: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGUSR1 opens no inspector port and changes nothing', { skip }, async () => {
  const t = startTracer(process.env);
  try {
  await t.ready;
  const before = listeningPorts(t.child.pid!);
  for (let i = 0; i < 3; i++) { t.child.kill('SIGUSR1'); await sleep(200); }
  assert.deepEqual(listeningPorts(t.child.pid!), before, 'a port was opened after SIGUSR1');
  assert.equal(t.child.exitCode, null, 'the tracer died of SIGUSR1');
  assert.doesNotMatch(t.errors(), /Debugger|inspector|ws:\/\//i);
  t.child.kill('SIGINT');
  assert.equal(await t.exited, 0, t.errors());
  // It still did its work: the aggregation is printed at exit.
  assert.match(t.output(), /^\s*\d+\s*$/m);
  } finally { t.child.kill('SIGKILL'); }
});

// A SIGUSR1 during Node's own start-up, before the loader's handler exists, opens the inspector;
// the loader then closes it. Node's --inspect flag opens it the same way, before the loader runs.
test('an inspector already open when the loader runs is closed before the program runs', { skip }, async () => {
  const t = startTracer(process.env, ['--inspect=127.0.0.1:0']);
  try {
  await t.ready;
  assert.deepEqual(listeningPorts(t.child.pid!), [], 'the inspector still listens');
  t.child.kill('SIGINT');
  assert.equal(await t.exited, 0, t.errors());
  assert.match(t.output(), /^\s*\d+\s*$/m);
  } finally { t.child.kill('SIGKILL'); }
});

test('NODE_OPTIONS in the environment does not reach the tracer (no --require, no --inspect)', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-sec-'));
  try {
    const marker = join(dir, 'ran');
    const evil = join(dir, 'evil.cjs');
    writeFileSync(evil, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
    const t = startTracer({ ...process.env, NODE_OPTIONS: `--require ${evil} --inspect=127.0.0.1:0` });
    try {
    await t.ready;
    assert.deepEqual(listeningPorts(t.child.pid!), []);
    t.child.kill('SIGINT');
    assert.equal(await t.exited, 0, t.errors());
    assert.throws(() => readFileSync(marker), 'a --require from NODE_OPTIONS ran inside the tracer');
    } finally { t.child.kill('SIGKILL'); }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
