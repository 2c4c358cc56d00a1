/**
 * @fileoverview Actions and variables that reach past the probe's own data, each checked against
 * the kernel or the process: stack(N)/stackdepth/caller without the tracer's frames, ucaller and
 * ustackdepth against the binary, jstack() naming a JIT-compiled JavaScript function, vtimestamp
 * against the scheduler's runtime in /proc, raise() and stop() against the process's fate,
 * chill() against the clock, copyout()/copyoutstr() against what the process writes (or the
 * kernel's refusal), breakpoint()/panic() refused. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';
import { featureStatus } from '../../src/bpf/features.js';
import { lookupKernel } from '../../src/consume/ksyms.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const TRACER = /bpf_prog_|bpf_trace_run|__bpf_trace_|__traceiter_|^bpf`/;

// Generous: the same tests run in the 6.1 guest under TCG, many times slower.
function dtrace(args: string[], timeout = 240_000) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout });
}

function withScript<T>(text: string, f: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-reach-'));
  try {
    const path = join(dir, 'target.py');
    writeFileSync(path, text);
    return f(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The frames of each stack() block in the output: runs of lines indented as DTrace indents frames. */
function stackBlocks(out: string): string[][] {
  const blocks: string[][] = [];
  let cur: string[] | undefined;
  for (const line of out.split('\n')) {
    const m = /^ {14}(\S.*)$/.exec(line);
    if (m) { (cur ??= []).push(m[1]!); continue; }
    if (cur) { blocks.push(cur); cur = undefined; }
  }
  if (cur) blocks.push(cur);
  return blocks;
}

test('stack(N), stackdepth and caller count only the traced kernel frames', { skip }, () => {
  withScript('import os\nos.getpid()\n', (script) => {
    const r = dtrace(['-q', '-n', 'syscall::getpid:entry /pid == $target/ { printf("depth=%d caller=%x\\n", stackdepth, caller); stack(2); printf("--\\n"); stack(); exit(0); }',
      '-c', `python3 ${script}`]);
    assert.equal(r.status, 0, r.stderr);
    const m = /depth=(\d+) caller=([0-9a-f]+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [two, all] = stackBlocks(r.stdout.slice(r.stdout.indexOf('\n', m.index)));
    assert.ok(two && all, r.stdout);
    assert.equal(two.length, 2, `stack(2):\n${two.join('\n')}`);
    assert.deepEqual(two, all.slice(0, 2));
    for (const f of all) assert.doesNotMatch(f, TRACER, `a tracer frame in\n${all.join('\n')}`);
    // The kernel's own view: the deepest frame is the system call entry, every frame is kernel text.
    assert.match(all[all.length - 1]!, /entry_SYSCALL_64/);
    assert.equal(Number(m[1]), all.length, `stackdepth ${m[1]} for\n${all.join('\n')}`);
    // caller is the return address the first traced frame shows, inside the same kernel function.
    const callerSym = lookupKernel(BigInt(`0x${m[2]}`));
    assert.ok(callerSym, `caller 0x${m[2]} is not kernel text`);
    assert.equal(`vmlinux\`${callerSym.name}+0x${callerSym.offset.toString(16)}`, all[0]);
  });
});

test('stack(1) at a tracepoint reached through __traceiter names the function that hit it', { skip }, () => {
  const r = withScript('import os\nos.execv("/bin/true", ["true"])\n', (script) =>
    dtrace(['-q', '-n', 'proc:::exec-success /pid == $target/ { stack(1); printf("depth=%d\\n", stackdepth); stack(); exit(0); }', '-c', `python3 ${script}`]));
  assert.equal(r.status, 0, r.stderr);
  const [one, all] = stackBlocks(r.stdout);
  assert.ok(one && all, r.stdout);
  assert.equal(one.length, 1);
  assert.doesNotMatch(one[0]!, TRACER);
  assert.equal(one[0], all[0]);
  assert.equal(Number(/depth=(\d+)/.exec(r.stdout)?.[1]), all.length);
  // The exec tracepoint fires in the exec path: execve's system call is below it.
  assert.ok(all.some((f) => /execve/.test(f)), all.join('\n'));
});

test('ucaller at a pid entry probe is the return address after the call instruction', { skip }, () => {
  const bin = buildWorkload('malloc_777');
  const r = dtrace(['-q', '-n', 'pid$target::malloc:entry { printf("depth=%d uc=", ustackdepth); trace(uaddr(ucaller)); printf("\\n"); ustack(); exit(0); }', '-c', bin]);
  assert.equal(r.status, 0, r.stderr);
  const m = /depth=(\d+) uc=\s*(\S+)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  // Ground truth from the binary: the instruction after main's call to malloc@plt.
  const dis = execFileSync('objdump', ['-d', '--no-show-raw-insn', bin], { encoding: 'latin1' });
  const call = /\n\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <malloc@plt>\n\s*([0-9a-f]+):/.exec(dis);
  assert.ok(call, 'no call to malloc@plt');
  const main = /^([0-9a-f]+) T main$/m.exec(execFileSync('nm', [bin], { encoding: 'latin1' }));
  assert.ok(main, 'no main in the symbol table');
  assert.equal(m[2], `malloc_777\`main+0x${(parseInt(call[2]!, 16) - parseInt(main[1]!, 16)).toString(16)}`);
  const frames = stackBlocks(r.stdout.slice(r.stdout.indexOf('\n', m.index)))[0] ?? [];
  assert.equal(Number(m[1]), frames.length, `ustackdepth ${m[1]} for\n${frames.join('\n')}`);
});

test('jstack() of a node --perf-basic-prof workload names its hot JS function', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-jstack-'));
  try {
    const work = join(dir, 'work.js');
    writeFileSync(work, [
      'function hotLoop(n) { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i) * (i % 7); return x; }',
      'const end = Date.now() + 1500; let s = 0;',
      'while (Date.now() < end) s += hotLoop(200000);',
      'if (s === 42) console.log(s);',
    ].join('\n'));
    const r = dtrace(['-q', '-n', 'profile-997 /pid == $target/ { @[jstack(4)] = count(); }', '-c', `${process.execPath} --perf-basic-prof ${work}`]);
    assert.equal(r.status, 0, r.stderr);
    // Samples by the innermost JavaScript function on the stack (node's own start-up, which a
    // slow machine samples a lot, has none).
    const byFunction = new Map<string, number>();
    let total = 0;
    for (const m of r.stdout.matchAll(/((?:\n {14}\S.*)+)\n\s+(\d+)\n/g)) {
      const js = /JS:\*?(\w+)/.exec(m[1]!)?.[1];
      if (!js) continue;
      total += Number(m[2]);
      byFunction.set(js, (byFunction.get(js) ?? 0) + Number(m[2]));
    }
    const hot = byFunction.get('hotLoop') ?? 0;
    assert.ok(total > 50, `too few samples in JavaScript (${total}):\n${r.stdout.slice(-2000)}`);
    assert.ok(hot / total > 0.5, `hotLoop in ${hot} of ${total} JavaScript samples:\n${r.stdout.slice(-2000)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vtimestamp counts time on CPU: the scheduler runtime /proc reports, and nothing while asleep', { skip }, () => {
  const script = [
    'import os, time',
    'def rt(): return int(open("/proc/thread-self/schedstat").read().split()[0])',
    // umask() calls with these masks mark the intervals (nothing else in Python uses them); the
    // runtime /proc reports is read outside and inside the traced interval.
    'a0 = rt(); os.umask(0o123); a1 = rt()',
    'x = 0',
    'end = time.monotonic() + 0.3',
    'while time.monotonic() < end: x += 1',
    'b1 = rt(); os.umask(0o124); b0 = rt()',
    'os.umask(0o125); time.sleep(0.3); os.umask(0o126)',
    'print("schedstat", b1 - a1, b0 - a0)',
  ].join('\n');
  withScript(script, (path) => {
    const r = dtrace(['-q', '-n', [
      'syscall::umask:entry /pid == $target && (arg0 == 0123 || arg0 == 0125)/ { self->v = vtimestamp; self->w = walltimestamp; }',
      'syscall::umask:entry /pid == $target && arg0 == 0124/ { printf("busy %d\\n", vtimestamp - self->v); }',
      'syscall::umask:entry /pid == $target && arg0 == 0126/ { printf("asleep %d wall %d\\n", vtimestamp - self->v, walltimestamp - self->w); }',
    ].join('\n'), '-c', `python3 ${path}`]);
    assert.equal(r.status, 0, r.stderr);
    const busy = Number(/busy (\d+)/.exec(r.stdout)?.[1]);
    const truth = /schedstat (\d+) (\d+)/.exec(r.stdout);
    const asleep = /asleep (\d+) wall (\d+)/.exec(r.stdout);
    assert.ok(busy > 0 && truth && asleep, r.stdout);
    // Both read se.sum_exec_runtime, which the scheduler brings up to date at ticks and switches
    // (HZ 100 at least: 10 ms, twice): the traced interval lies between the inner and outer ones.
    const lag = 25_000_000;
    assert.ok(busy >= Number(truth[1]) - lag && busy <= Number(truth[2]) + lag, `vtimestamp ${busy} ns vs /proc schedstat inside ${truth[1]} ns, outside ${truth[2]} ns`);
    assert.ok(Number(asleep[1]) < 50_000_000 && Number(asleep[2]) >= 300_000_000, `asleep: ${asleep[0]}`);
  });
});

/** Starts a Python loop of short sleeps (its own process, so its fate can be observed). */
function startSleeper() {
  const child = spawn('python3', ['-c', 'import time\nwhile True: time.sleep(0.02)'], { stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

test('raise(sig) delivers the signal to the current process', { skip }, async () => {
  const { child, exited } = startSleeper();
  try {
    const r = dtrace(['-q', '-w', '-n', `syscall::clock_nanosleep:entry /pid == ${child.pid}/ { raise(10); exit(0); }`]);
    assert.equal(r.status, 0, r.stderr);
    const fate = await Promise.race([exited, new Promise<undefined>((res) => setTimeout(res, 10_000))]);
    assert.equal(fate?.signal, 'SIGUSR1');
  } finally {
    child.kill('SIGKILL');
  }
});

test('stop() leaves the process stopped (state T in /proc)', { skip }, async () => {
  const { child, exited } = startSleeper();
  try {
    const r = dtrace(['-q', '-w', '-n', `syscall::clock_nanosleep:entry /pid == ${child.pid}/ { stop(); exit(0); }`]);
    assert.equal(r.status, 0, r.stderr);
    let state = '';
    for (let i = 0; i < 50 && state !== 'T'; i++) {
      state = /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${child.pid}/stat`, 'latin1'))?.[1] ?? '';
      if (state !== 'T') await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(state, 'T');
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});

test('chill(ns) delays its probe by at least ns; above DTrace\'s cap it is an illegal operation', { skip }, () => {
  withScript('import os\nos.getpid()\nos.getppid()\n', (script) => {
    const r = dtrace(['-q', '-w', '-n', [
      'syscall::getpid:entry /pid == $target/ { this->t = walltimestamp; chill(1000000); printf("chilled %d\\n", walltimestamp - this->t); }',
      'syscall::getppid:entry /pid == $target/ { chill(600000000); printf("not reached\\n"); }',
    ].join('\n'), '-c', `python3 ${script}`]);
    assert.equal(r.status, 0, r.stderr);
    const ns = Number(/chilled (\d+)/.exec(r.stdout)?.[1]);
    assert.ok(ns >= 1_000_000, r.stdout);
    assert.doesNotMatch(r.stdout, /not reached/);
    assert.match(r.stderr, /illegal operation/);
  });
  const refused = dtrace(['-q', '-n', 'BEGIN { chill(10); }']);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /Destructive actions not allowed/);
});

test('copyout()/copyoutstr() write the process\'s buffer where the kernel allows it, else say why not', { skip }, () => {
  const status = featureStatus('probe_write_user');
  const prog = 'syscall::write:entry /pid == $target && arg0 == 1/ { this->p = (char *)alloca(2); this->p[0] = \'O\'; this->p[1] = \'K\'; copyoutstr("HELLO", arg1, 5); copyout(this->p, arg1 + 5, 2); }';
  const r = dtrace(['-q', '-w', '-n', prog, '-c', '/bin/echo hello_world']);
  if (status.available) {
    assert.equal(r.status, 0, r.stderr);
    // echo wrote "hello_world\n" through the buffer the probe overwrote first.
    assert.match(r.stdout, /HELLOOKorld/);
  } else {
    assert.equal(r.status, 1);
    assert.match(r.stderr, /copyout(str)?\( \) needs bpf_probe_write_user: .*(lockdown|forbids)/);
  }
});

test('breakpoint() and panic() are refused: BPF cannot do either', { skip }, () => {
  for (const action of ['breakpoint', 'panic']) {
    const r = dtrace(['-q', '-w', '-n', `BEGIN { ${action}(); }`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${action}\\( \\) is not supported on Linux`));
  }
});
