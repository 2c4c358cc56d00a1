/**
 * @fileoverview The USDT provider against the real kernel with CPython's probes
 * (/usr/bin/python3.11 is built with --with-dtrace): `python$target:::function-entry` for a
 * `-c` target counts each Python function exactly as often as the script calls it, the
 * semaphores are raised through the uprobe's ref_ctr_offset (CPython skips its probes
 * otherwise), and no uprobe stays attached after dtrace exits. Needs root, the uprobe PMU
 * and a python3.11 carrying stapsdt notes; skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';

const root = repoRoot();
const cli = join(root, 'dist', 'cli.js');
const script = join(root, 'test', 'fixtures', 'usdt', 'python_calls.py');

/** A python3.11 with the `python` USDT provider (the pyenv shim is a shell script: skip it). */
function findPython(): string | undefined {
  for (const p of ['/usr/bin/python3.11', '/usr/local/bin/python3.11']) {
    try {
      if (existsSync(p) && readUsdtProbes(p).some((u) => u.provider === 'python' && u.name === 'function-entry')) return p;
    } catch {
      // not an ELF file
    }
  }
  return undefined;
}

const python = findPython();
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync('/sys/bus/event_source/devices/uprobe/type') ? 'no uprobe PMU' :
  !existsSync('/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset') ? 'uprobe PMU without ref_ctr_offset (USDT semaphores)' :
  python === undefined ? 'no python3.11 with USDT probes (apt-get install python3.11)' :
  !existsSync(cli) ? 'dist/cli.js not built (node scripts/build.mjs)' : false;

function dtrace(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `@[key] = count()` printout → key → count. */
function keyedCounts(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^\s+(\S+)\s+(\d+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

test('python$target:::function-entry counts each function as often as the script calls it', { skip }, () => {
  const units = 10;
  // The line probe puts CPython 3.11 on the path where function__entry fires for every call
  // (see the fixture's comment).
  const r = dtrace(['-q', '-n', 'python$target:::function-entry { @[copyinstr(arg1)] = count(); } python$target:::line { }',
    '-c', `${python} ${script} ${units}`]);
  assert.equal(r.status, 0, r.stderr);
  const counts = keyedCounts(r.stdout);
  assert.equal(counts.get('alpha'), 3 * units, r.stdout);
  assert.equal(counts.get('beta'), 5 * units);
  assert.equal(counts.get('gamma'), 7 * units);
});

test('USDT arguments: filename (memory string), funcname and a signed 32-bit line number (%eax)', { skip }, () => {
  const r = dtrace(['-q', '-n', 'python$target:::function-entry /copyinstr(arg1) == "gamma"/ { @[copyinstr(arg0), arg2] = count(); } python$target:::line { }',
    '-c', `${python} ${script} 2`]);
  assert.equal(r.status, 0, r.stderr);
  const m = /^\s+(\S+)\s+(\d+)\s+(\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m[1], script);
  // CPython reports a function's first line: its `def`.
  const defLine = readFileSync(script, 'latin1').split('\n').findIndex((l) => l.startsWith('def gamma(')) + 1;
  assert.equal(Number(m[2]), defLine);
  assert.equal(Number(m[3]), 14);
});

test('no uprobe of python3.11 stays attached after dtrace exits', { skip: skip || (spawnSync('bpftool', ['version']).status !== 0 ? 'bpftool not installed' : false) }, () => {
  const before = spawnSync('bpftool', ['perf', 'list'], { encoding: 'latin1' }).stdout.split('\n').filter((l) => l.includes(python!)).length;
  const r = dtrace(['-q', '-n', 'python$target:::function-entry { @ = count(); }', '-c', `${python} ${script}`]);
  assert.equal(r.status, 0, r.stderr);
  const after = spawnSync('bpftool', ['perf', 'list'], { encoding: 'latin1' }).stdout.split('\n').filter((l) => l.includes(python!)).length;
  assert.equal(after, before);
});

test('CPython 3.11: function-entry alone counts every call (fib(15): 1,973), the line semaphore raised and said once under -v', { skip }, () => {
  const fib = join(root, 'test', 'fixtures', 'usdt', 'python_fib.py');
  const r = dtrace(['-v', '-q', '-n', 'python$target:::function-entry { @[copyinstr(arg1)] = count(); } python$target:::function-return { @r[copyinstr(arg1)] = count(); }',
    '-c', `${python} ${fib}`]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^\s+fib\s+\d+$/.test(l));
  assert.deepEqual(lines.map((l) => Number(l.trim().split(/\s+/)[1])), [1973, 1973], r.stdout);
  // Both probes enabled, one notice.
  assert.equal(r.stderr.match(/raised the python:::line semaphore/g)?.length, 1, r.stderr);
  const quiet = dtrace(['-q', '-n', 'python$target:::function-entry /copyinstr(arg1) == "fib"/ { @ = count(); }', '-c', `${python} ${fib}`]);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stdout, '\n             1973\n');
  assert.equal(quiet.stderr, '');
});

test('CPython 3.11 already running: python*:::function-entry counts every call (its line semaphore raised too)', { skip }, async () => {
  const loop = join(root, 'test', 'fixtures', 'usdt', 'python_loop.py');
  const child = spawn(python!, [loop, '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', () => reject(new Error('python exited early')));
    });
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const d = spawn(process.execPath, [cli, '-q', '-n',
        `python*:::function-entry /pid == ${child.pid} && copyinstr(arg1) == "fib"/ { @ = count(); } tick-2s { exit(0); }`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      d.stdout!.on('data', (b: Buffer) => { stdout += b.toString('latin1'); });
      d.stderr!.on('data', (b: Buffer) => { stderr += b.toString('latin1'); });
      d.on('exit', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    // Each fib(10) is 177 calls, about 150 of them in 2 s: without the line semaphore
    // CPython 3.11 reports none (fib calls fib without a C frame between).
    const n = Number(r.stdout.trim());
    assert.ok(n >= 177, r.stdout);
  } finally {
    child.kill();
  }
});
