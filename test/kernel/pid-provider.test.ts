/**
 * @fileoverview The pid provider against the real kernel, through the built command
 * (dist/cli.js): entry/return counts and arguments of a workload function for a `-c` target
 * (held before exec, so its probes are resolved from the command's executable and libraries),
 * an instruction-offset probe, malloc in libc, and that no uprobe stays attached once dtrace
 * has exited. Needs root, gcc and the uprobe PMU; skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, buildWorkload, uprobeWorkloadSkip } from '../helpers/workloads.js';

const root = repoRoot();
const cli = join(root, 'dist', 'cli.js');
const skip = uprobeWorkloadSkip(cli);

function dtrace(args: string[], timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: timeoutMs });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The numbers of an aggregation printout without keys, in order of printing. */
function values(stdout: string): number[] {
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '').map(Number);
}

const CALLS = 1234;
const SIZE_BYTES = 48;
/** A size libc's own start-up never asks malloc for. */
const ODD_SIZE_BYTES = 4321;

test('pid$target entry/return of a workload function: exact counts, arg0 and the return value', { skip }, () => {
  const bin = buildWorkload('malloc_loop');
  const r = dtrace(['-q', '-n',
    'pid$target::malloc_free_once:entry { @e = count(); @a = sum(arg0); } ' +
    'pid$target::malloc_free_once:return { @r = count(); @v = sum(arg1); }',
    '-c', `${bin} ${CALLS} ${SIZE_BYTES}`]);
  assert.equal(r.status, 0, r.stderr);
  // Aggregations print in the order they were declared: @e @a @r @v.
  assert.deepEqual(values(r.stdout), [CALLS, CALLS * SIZE_BYTES, CALLS, CALLS * (SIZE_BYTES + 1)]);
});

test('pid$target::malloc:entry/return in libc: at least one call per malloc_free_once, as many returns as entries', { skip }, () => {
  const bin = buildWorkload('malloc_loop');
  const r = dtrace(['-q', '-n',
    'pid$target::malloc:entry { @e = count(); } pid$target::malloc:return { @r = count(); } ' +
    'pid$target::malloc:entry /arg0 == ' + ODD_SIZE_BYTES + '/ { @s = count(); }',
    '-c', `${bin} ${CALLS} ${ODD_SIZE_BYTES}`]);
  assert.equal(r.status, 0, r.stderr);
  const [entries, returns, sized] = values(r.stdout);
  // libc's start-up may call malloc a few times more; the calls with our size are exact.
  assert.ok(entries! >= CALLS && entries! < CALLS + 50, r.stdout);
  assert.equal(returns, entries);
  assert.equal(sized, CALLS);
});

test('an instruction-offset probe pid$target:malloc_loop:malloc_free_once:<hex> fires once per call', { skip }, () => {
  const bin = buildWorkload('malloc_loop');
  // Offset 1 is the instruction after `push %rbp` (built with -fno-omit-frame-pointer), or the
  // function's second instruction in any case: find a real boundary with objdump when present.
  let offset = '1';
  const dis = spawnSync('objdump', ['-d', `--disassemble=malloc_free_once`, bin], { encoding: 'latin1' });
  if (dis.status === 0) {
    const addrs = [...dis.stdout.matchAll(/^\s+([0-9a-f]+):/gm)].map((m) => parseInt(m[1]!, 16));
    if (addrs.length > 2) offset = (addrs[2]! - addrs[0]!).toString(16);
  }
  const r = dtrace(['-q', '-n', `pid$target:malloc_loop:malloc_free_once:${offset} { @o = count(); @a = sum(arg0); }`, '-c', `${bin} 321 ${SIZE_BYTES}`]);
  assert.equal(r.status, 0, r.stderr);
  // At an offset probe the argument registers still hold the arguments (rdi until it is moved).
  assert.equal(values(r.stdout)[0], 321);
});

test('pid probes for a function that does not exist give a dtrace-style error', { skip }, () => {
  const bin = buildWorkload('malloc_loop');
  const r = dtrace(['-q', '-n', 'pid$target::no_such_function_xyz:entry { @ = count(); }', '-c', `${bin} 1`]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /does not match any probes/);
});

test('nothing stays attached after dtrace exits (bpftool perf list)', { skip: skip || (spawnSync('bpftool', ['version']).status !== 0 ? 'bpftool not installed' : false) }, async () => {
  const bin = buildWorkload('malloc_loop');
  // Sleep 3 s before the calls so the probes are observable while attached.
  const child = spawn(process.execPath, [cli, '-q', '-n', 'pid$target::malloc_free_once:entry,pid$target::malloc_free_once:return { @ = count(); }', '-c', `${bin} 10 8 3000`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const dtracePid = child.pid!;
  const perfLines = () => spawnSync('bpftool', ['perf', 'list'], { encoding: 'latin1' }).stdout.split('\n').filter((l) => l.startsWith(`pid ${dtracePid} `) && /\bu(ret)?probe\b/.test(l));
  let seen = 0;
  let done = false;
  void exited.then(() => { done = true; });
  while (!done && seen < 2) {
    await new Promise((r) => setTimeout(r, 50));
    seen = Math.max(seen, perfLines().length);
  }
  const code = await exited;
  assert.equal(code, 0);
  assert.equal(values(stdout)[0], 20);
  assert.equal(seen, 2, 'the entry and return uprobes were attached while tracing');
  assert.deepEqual(perfLines(), []);
});

test('pid$target:libc.so.6::entry (every libc function): attaches, exact counts of malloc and free, a refused site is one warning line', { skip }, () => {
  const bin = buildWorkload('malloc_loop');
  const r = dtrace(['-q', '-n',
    'pid$target:libc.so.6::entry { @[probefunc] = count(); } END { printa("%s %@d\\n", @); }',
    // Without uprobe_multi (Linux 6.1) each of the ~2,600 sites is one perf event: minutes under
    // the guest's emulated CPU (TCG), seconds on hardware.
    '-c', `${bin} ${CALLS} ${ODD_SIZE_BYTES}`], 600_000);
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
  const counts = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (m) counts.set(m[1]!, Number(m[2]));
  }
  // Every malloc_free_once call is one malloc and one free; start-up adds a few of each.
  assert.ok(counts.get('malloc')! >= CALLS && counts.get('malloc')! < CALLS + 50, r.stdout);
  assert.ok(counts.get('free')! >= CALLS && counts.get('free')! < CALLS + 50, r.stdout);
  assert.ok(counts.size > 10, `only ${counts.size} libc functions fired`);
  // A function whose first instruction the kernel's uprobes refuse (x86: a LOCK prefix) is
  // skipped with a warning naming it; nothing else is said on stderr.
  for (const line of r.stderr.split('\n').filter((l) => l !== '')) {
    assert.match(line, /^dtrace: warning: probe pid\d+:libc\.so\.6:\S+:entry skipped: the kernel cannot place a uprobe on its instruction \(E\w+(: [^)]+)?\)$/);
  }
  // On x86-64 the refusal of pthread_spin_lock's `lock decl` is known before the kernel is asked.
  if (process.arch === 'x64' && /pthread_spin_lock:entry skipped/.test(r.stderr)) assert.match(r.stderr, /pthread_spin_lock:entry skipped: .*\(ENOTSUPP: a LOCK prefix\)/);
});

test('the tracer raises its open-file limit to the hard limit (one perf event per site where the kernel has no uprobe_multi)', { skip }, () => {
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'latin1' }).stdout.trim();
  // system()'s shell is the tracer's child: $PPID is the tracer.
  const r = spawnSync('sh', ['-c', `ulimit -Sn 64; exec "${process.execPath}" "${cli}" -q -w -n 'BEGIN { system("grep \\"Max open files\\" /proc/$PPID/limits"); exit(0); }'`],
    { encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m[1], hard === 'unlimited' ? 'unlimited' : m[2]);
});

test('dtrace -l -n pid$target::FUNC: -c CMD lists the command\'s probes, then the command is killed, never run', { skip }, () => {
  const bin = buildWorkload('getpid_loop');
  const r = dtrace(['-l', '-n', 'pid$target::main:', '-c', `${bin} 1`]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  const pids = new Set(rows.map((f) => f[1]));
  assert.equal(pids.size, 1, r.stdout);
  const provider = [...pids][0]!;
  assert.match(provider, /^pid\d+$/);
  assert.deepEqual(rows.filter((f) => f[3] === 'main' && (f[4] === 'entry' || f[4] === 'return')).map((f) => [f[2], f[4]]),
    [['getpid_loop', 'entry'], ['getpid_loop', 'return']]);
  assert.equal(existsSync(`/proc/${provider.slice(3)}`), false, 'the listed command is gone');
  // The empty name also lists a probe per instruction of main, named by its hex offset: objdump's.
  const dis = spawnSync('objdump', ['-d', '--no-show-raw-insn', bin], { encoding: 'latin1' });
  if (dis.status === 0) {
    const body = /^([0-9a-f]+) <main>:\n([\s\S]*?)\n\n/m.exec(dis.stdout);
    assert.ok(body, 'objdump shows main');
    const start = parseInt(body[1]!, 16);
    // objdump goes on through the alignment padding after main: keep what is inside its symbol size.
    const size = parseInt(/^[0-9a-f]+ ([0-9a-f]+) T main$/m.exec(spawnSync('nm', ['-S', bin], { encoding: 'latin1' }).stdout)![1]!, 16);
    const expected = [...body[2]!.matchAll(/^ *([0-9a-f]+):/gm)].map((m) => parseInt(m[1]!, 16) - start).filter((o) => o < size).map((o) => o.toString(16));
    assert.deepEqual(rows.filter((f) => f[3] === 'main' && /^[0-9a-f]+$/.test(f[4]!)).map((f) => f[4]), expected);
  }
});

test('pid$target::main: traces entry, return and every instruction of main', { skip }, () => {
  const bin = buildWorkload('getpid_loop');
  const r = dtrace(['-q', '-n', 'pid$target::main: { @[probename] = count(); } END { printa("%s %@d\\n", @); }', '-c', `${bin} 3`]);
  assert.equal(r.status, 0, r.stderr);
  const counts = new Map(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([n, c]) => [n!, Number(c)]));
  assert.equal(counts.get('entry'), 1, r.stdout);
  assert.equal(counts.get('return'), 1, r.stdout);
  assert.equal(counts.get('0'), 1, 'the first instruction runs once');
  assert.ok([...counts.keys()].filter((k) => /^[0-9a-f]+$/.test(k)).length > 10, 'many instructions fired');
  assert.ok([...counts.values()].some((c) => c >= 3), 'the loop body ran three times');
});

test('speculations on pid probes: ten runs of the same script give identical output (every other call committed)', { skip, timeout: 600_000 }, () => {
  const bin = buildWorkload('malloc_loop');
  const script = [
    'pid$target::malloc_free_once:entry { self->spec = speculation(); speculate(self->spec); printf("entry %d\\n", arg0); }',
    'pid$target::malloc:entry /self->spec/ { speculate(self->spec); printf("malloc %d\\n", arg0); }',
    'pid$target::malloc_free_once:return /self->spec && (self->n++ % 2) == 0/ { commit(self->spec); self->spec = 0; }',
    'pid$target::malloc_free_once:return /self->spec/ { discard(self->spec); self->spec = 0; }',
  ].join('\n');
  const outputs = new Set<string>();
  for (let run = 0; run < 10; run++) {
    const r = dtrace(['-q', '-n', script, '-c', `${bin} 200 48`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no drops or unavailable speculations reported');
    outputs.add(r.stdout);
  }
  assert.equal(outputs.size, 1, 'every run printed the same');
  const lines = [...outputs][0]!.split('\n').filter((l) => l !== '');
  assert.equal(lines.filter((l) => l === 'entry 48').length, 100, 'half of the 200 calls committed');
  assert.equal(lines.filter((l) => l === 'malloc 48').length, 100);
});
