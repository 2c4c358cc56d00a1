/**
 * @fileoverview Faults, injected and real, end in one clear line and a status of 1 — never a
 * stack trace or a hang — and leave nothing loaded: bpf(2) failing with ENOMEM or EPERM at map
 * creation, program loading and attaching (the test build's DTRACE_TS_TEST_FAULT, see
 * src/bpf/test-faults.ts), and the tracer SIGKILLed at several points of its start-up (every
 * BPF program, map and link it held is gone afterwards). Prints `faults:` and `leaks:` lines
 * for the reliability report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { repoRoot } from '../helpers/workloads.js';

const root = repoRoot();
/** The per-module test build of the command: the only one that reads DTRACE_TS_TEST_FAULT. */
const testBuildCli = join(root, 'build', 'src', 'cli', 'main.js');
const cli = join(root, 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const hasBpftool = spawnSync('bpftool', ['version']).status === 0;
const PROGRAM = 'syscall::getpid:entry { @ = count(); } profile-97 { @p[cpu] = count(); } tick-1s { printf("%d", 1); }';

test('the installed bundle cannot be steered to fail: it has no fault hook', () => {
  // cli-main.cjs and the chunks it loads on first use (scripts/cli-bundle.mjs).
  const files = readdirSync(join(root, 'dist')).filter((n) => /^cli-.*\.cjs$/.test(n));
  assert.ok(files.includes('cli-main.cjs'));
  for (const f of files) assert.ok(!readFileSync(join(root, 'dist', f), 'latin1').includes('DTRACE_TS_TEST_FAULT'), `dist/${f} reads DTRACE_TS_TEST_FAULT`);
});

const FAULTS = [
  'BPF_MAP_CREATE:ENOMEM', 'BPF_MAP_CREATE:EPERM:3', 'BPF_MAP_CREATE:E2BIG:2', 'BPF_MAP_UPDATE_ELEM:ENOMEM',
  'BPF_PROG_LOAD:ENOMEM', 'BPF_PROG_LOAD:EPERM', 'BPF_RAW_TRACEPOINT_OPEN:ENOMEM', 'BPF_RAW_TRACEPOINT_OPEN:EPERM',
  'BPF_LINK_CREATE:ENOMEM', 'BPF_LINK_CREATE:EBUSY',
];

test(`injected bpf(2) faults (${FAULTS.length}): one clear line, status 1`, { skip }, () => {
  const problems: string[] = [];
  for (const fault of FAULTS) {
    const r = spawnSync(process.execPath, [testBuildCli, '-n', PROGRAM], {
      encoding: 'latin1', timeout: 60_000, env: { ...process.env, DTRACE_TS_TEST_FAULT: fault },
    });
    const [cmd, errno] = fault.split(':');
    const ok = r.status === 1 && r.signal === null
      && new RegExp(`^dtrace: could not enable tracing: .*${cmd}: ${errno}$`, 'm').test(r.stderr)
      && !/internal error|\n\s+at /.test(r.stderr);
    if (!ok) problems.push(`${fault}: status ${r.status} signal ${r.signal}\n${r.stderr}`);
  }
  console.log(`faults: ${FAULTS.length} injected, ${FAULTS.length - problems.length} reported cleanly`);
  assert.deepEqual(problems, []);
});

/** Ids of the BPF objects a process holds, from /proc/PID/fdinfo. */
function objectsOf(pid: number): string[] {
  const ids = new Set<string>();
  let fds: string[] = [];
  try { fds = readdirSync(`/proc/${pid}/fdinfo`); } catch { return []; }
  for (const fd of fds) {
    try {
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
      // A link's fdinfo names its program too: the link is the object it holds.
      const link = /^link_id:\s*(\d+)/m.exec(info);
      const prog = /^prog_id:\s*(\d+)/m.exec(info);
      const map = /^map_id:\s*(\d+)/m.exec(info);
      if (link) ids.add(`link ${link[1]}`);
      else if (prog) ids.add(`prog ${prog[1]}`);
      if (map) ids.add(`map ${map[1]}`);
    } catch { /* closed meanwhile */ }
  }
  return [...ids];
}
function exists(obj: string): boolean {
  const [kind, id] = obj.split(' ');
  return spawnSync('bpftool', [kind!, 'show', 'id', id!]).status === 0;
}

test('SIGKILL at several points of start-up and of the run: no BPF program, map or link left', { skip: skip || (!hasBpftool && 'needs bpftool') }, async () => {
  // Killed as soon as it holds its first map, its first program, its first link (attaching
  // under way), and once it has run for a second with everything attached.
  const points: { name: string; reached: (held: Set<string>) => boolean; afterMs: number }[] = [
    { name: 'first map', reached: (h) => [...h].some((o) => o.startsWith('map')), afterMs: 0 },
    { name: 'first program', reached: (h) => [...h].some((o) => o.startsWith('prog')), afterMs: 0 },
    { name: 'first link', reached: (h) => [...h].some((o) => o.startsWith('link')), afterMs: 0 },
    { name: 'running', reached: (h) => [...h].filter((o) => o.startsWith('link')).length >= 2, afterMs: 1000 },
  ];
  let seen = 0;
  const left: string[] = [];
  for (const point of points) {
    const child = spawn(process.execPath, [cli, '-q', '-n', PROGRAM], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const held = new Set<string>();
    const start = Date.now();
    while (!point.reached(held) && Date.now() - start < 60_000) {
      for (const o of objectsOf(child.pid!)) held.add(o);
      await new Promise((r) => setTimeout(r, 5));
    }
    if (point.afterMs) {
      await new Promise((r) => setTimeout(r, point.afterMs));
      for (const o of objectsOf(child.pid!)) held.add(o);
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(point.reached(held), `never reached "${point.name}"`);
    seen += held.size;
    // The kernel frees maps after an RCU grace period: give it a moment.
    let remaining = [...held];
    for (let i = 0; i < 30 && remaining.length; i++) { await new Promise((r) => setTimeout(r, 100)); remaining = remaining.filter(exists); }
    left.push(...remaining.map((o) => `${o} (killed at ${point.name})`));
  }
  console.log(`leaks: ${points.length} SIGKILLs (first map, first program, first link, running), ${seen} BPF objects held at the kills, ${left.length} left behind`);
  assert.deepEqual(left, []);
});
