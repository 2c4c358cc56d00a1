/**
 * @fileoverview The tracer's life cycle against the real kernel: signals at any time (with and
 * without -c) end the run cleanly with DTrace's status; a closed output pipe ends it quietly
 * (death by SIGPIPE, as DTrace's); `-c` runs its command unparsed by a shell, held stopped until
 * every probe is enabled, and a command that cannot run fails before tracing; `-p` of a missing
 * process is refused and `-p`/`-c` end the run when their processes exit; a `-c` child dies with
 * a SIGKILLed tracer; every exit() sets the status; system() forks without stray system calls.
 * Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs' : !existsSync(cli) ? 'dist/cli.js not built' : false;

function dtrace(args: string[], timeout = 60_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the tracer in its own process group; resolves `ready` once stderr shows `marker`. */
function start(args: string[], marker: RegExp) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.setEncoding('latin1').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('latin1').on('data', (d: string) => { err += d; });
  const ready = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tracer did not start: ${err}`)), 30_000);
    const look = () => { if (marker.test(err) || marker.test(out)) { clearTimeout(t); resolve(); } };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', () => { clearTimeout(t); reject(new Error(`tracer exited early: ${err}`)); });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, ready, exited, out: () => out, err: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+[ZX]/m.test(readFileSync(`/proc/${pid}/status`, 'latin1'));

/** Pids of processes whose command line is exactly `argv`. */
function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const pids: number[] = [];
  for (const name of spawnSync('ls', ['/proc'], { encoding: 'latin1' }).stdout.split('\n')) {
    if (!/^\d+$/.test(name)) continue;
    try { if (readFileSync(`/proc/${name}/cmdline`, 'latin1') === want) pids.push(Number(name)); } catch { /* gone */ }
  }
  return pids;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} to the process group of a -c run: aggregations printed, status 0, no error`, { skip }, async () => {
    const marker = `${process.pid}${signal.length}7`;
    const t = start(['-n', 'syscall::clock_nanosleep:entry,syscall::nanosleep:entry /pid == $target/ { @[probefunc] = count(); }', '-c', `sleep 3${marker}`], /matched 2 probes/);
    await t.ready;
    // "matched" is printed before the programs load and attach, and the command is released only
    // after that: wait until it sleeps (state S — held, it is stopped: T), on a loaded machine too.
    const sleeping = () => pidsRunning(['sleep', `3${marker}`]).some((p) => {
      try { return /^State:\s+S/m.test(readFileSync(`/proc/${p}/status`, 'latin1')); } catch { return false; }
    });
    for (let waited = 0; !sleeping() && waited < 20_000; waited += 20) await sleep(20);
    await sleep(100);
    process.kill(-t.child.pid!, signal);
    const { code } = await t.exited;
    assert.equal(code, 0, t.err());
    assert.doesNotMatch(t.err(), /Error|error|closed/);
    // The first signal prints a newline, then END's; when the command (in the same process
    // group) dies of the signal first, the run ends with it and there is no signal newline.
    assert.match(t.out(), /^\n\n? {2}clock_nanosleep +1\n$/);
    assert.deepEqual(pidsRunning(['sleep', `3${marker}`]), []);
  });
}

test('SIGTERM while probes are being enabled: a clean stop, END runs, status 0', { skip }, async () => {
  // Many probes make the attach phase long enough to land in it.
  const t = start(['-n', 'syscall:::entry /pid == 1/ { @ = count(); } END { printf("end ran\\n"); }'], /matched/);
  await t.ready;
  process.kill(-t.child.pid!, 'SIGTERM');
  const { code } = await t.exited;
  assert.equal(code, 0, t.err());
  assert.match(t.out(), /end ran\n/);
  assert.doesNotMatch(t.err(), /Error|error/);
});

test('a reader that goes away (| head -1): no message, the tracer dies of SIGPIPE', { skip }, () => {
  const r = spawnSync('/bin/sh', ['-c', `'${process.execPath}' '${cli}' -qn 'tick-1ms { printf("x\\n"); }' | head -1; echo "status=\${?}"`], { encoding: 'latin1', timeout: 30_000 });
  assert.equal(r.stdout, 'x\nstatus=0\n');
  assert.equal(r.stderr, '');
  const s = spawnSync('/bin/bash', ['-c', `'${process.execPath}' '${cli}' -qn 'tick-1ms { printf("x\\n"); }' | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'latin1', timeout: 30_000 });
  assert.equal(s.stdout, `${128 + 13}\n`, s.stderr);
  assert.equal(s.stderr, '');
});

test('-c nosuchcommand fails before tracing with DTrace\'s message and status', { skip }, () => {
  const r = dtrace(['-n', 'BEGIN { printf("traced\\n"); }', '-c', 'nosuchcommand-lifecycle arg']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'dtrace: failed to execute nosuchcommand-lifecycle: No such file or directory\n');
  const d = dtrace(['-n', 'BEGIN { printf("traced\\n"); }', '-c', '/etc']);
  assert.equal(d.status, 1);
  assert.equal(d.stderr, 'dtrace: failed to execute /etc: Permission denied\n');
});

test('-c splits on blanks only, without a shell: quotes and $ reach the program as they are', { skip }, () => {
  const r = dtrace(['-q', '-n', 'BEGIN { }', '-c', '/bin/echo "a  b" $HOME \'c\'']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '"a b" $HOME \'c\'\n\n');
});

test('pid$target counts only the program\'s own work: 777 mallocs are 777', { skip }, () => {
  const bin = buildWorkload('malloc_777');
  const r = dtrace(['-q', '-n', 'pid$target:libc.so.6:malloc:entry { @ = count(); }', '-c', bin]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '\n              777\n');
});

test('syscalls of a -c target are seen from its first one after execve (the dynamic linker\'s)', { skip }, () => {
  // Held stopped right after execve, the target has not yet run its dynamic linker: its first
  // traced system call is ld.so's (brk), and none is the stub's (execve, setpriv's prctl, the
  // shell's fcntl/dup2).
  const r = dtrace(['-q', '-n', 'syscall:::entry /pid == $target/ { @[probefunc] = count(); }', '-c', '/bin/true']);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /\bexecve\b|\bprctl\b|\bfcntl\b|\bdup2\b/);
  assert.match(r.stdout, /\bbrk\b/);
  assert.match(r.stdout, /\bexit_group\b/);
});

test('two -c commands both run; the run ends when both have exited', { skip }, () => {
  const began = Date.now();
  const r = dtrace(['-q', '-n', 'syscall::exit_group:entry /ppid == $pid && (execname == "echo" || execname == "sleep")/ { printf("%s exits\\n", execname); }',
    '-c', '/bin/echo one', '-c', '/bin/sleep 1']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '').sort();
  assert.deepEqual(lines, ['echo exits', 'one', 'sleep exits']);
  assert.ok(Date.now() - began >= 1000);
});

test('-p of a missing process is refused; -p ends the run when the process exits', { skip }, async () => {
  const missing = dtrace(['-n', 'BEGIN { }', '-p', '999999']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'dtrace: failed to grab pid 999999: No such process\n');
  // Long enough to outlive the tracer's start-up on a loaded machine, short enough to end it.
  const victim = spawn('sleep', ['4'], { stdio: 'ignore' });
  const t = start(['-q', '-n', 'tick-10ms { @ = count(); } END { printf("end\\n"); }', '-p', String(victim.pid)], /.?/);
  const began = Date.now();
  const { code } = await t.exited;
  assert.equal(code, 0, t.err());
  assert.match(t.out(), /^end\n/);
  assert.ok(Date.now() - began < 15_000, 'the run did not end with its -p process');
});

test('a -c child dies with a SIGKILLed tracer', { skip }, async () => {
  const marker = `${process.pid}1`;
  const t = start(['-n', 'syscall::clock_nanosleep:entry /pid == $target/ { }', '-c', `sleep 4${marker}`], /matched 1 probe/);
  await t.ready;
  await sleep(300);
  const [pid] = pidsRunning(['sleep', `4${marker}`]);
  assert.ok(pid !== undefined && alive(pid), 'the -c command is not running');
  process.kill(t.child.pid!, 'SIGKILL');
  await t.exited;
  const deadline = Date.now() + 2000;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  assert.equal(alive(pid), false);
});

test('every exit() consumed sets the status: exit(0) in END after exit(3) in BEGIN is 0', { skip }, () => {
  assert.equal(dtrace(['-q', '-n', 'BEGIN { exit(3); } END { exit(0); }']).status, 0);
  assert.equal(dtrace(['-q', '-n', 'BEGIN { exit(0); } END { exit(4); }']).status, 4);
  assert.equal(dtrace(['-q', '-n', 'BEGIN { exit(3); }']).status, 3);
});

test('system() forks without stray system calls: a script tracing ppid == $pid sees only the command', { skip }, () => {
  const r = dtrace(['-wq', '-n', 'BEGIN { system("printf lifecycle > /dev/null"); } syscall::write:entry,syscall::pipe2:entry /ppid == $pid/ { @[execname, probefunc] = count(); } tick-1s { exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).join(' '));
  assert.deepEqual(rows, ['sh write 1']);
});

test('system() runs /bin/sh, as DTrace\'s system(3) does', { skip }, () => {
  const r = dtrace(['-wq', '-n', 'BEGIN { system("readlink /proc/$$/exe"); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const expected = spawnSync('readlink', ['-f', '/bin/sh'], { encoding: 'latin1' }).stdout;
  assert.equal(r.stdout.trim(), expected.trim());
});
