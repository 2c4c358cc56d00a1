/**
 * @fileoverview Examples in the manner of the Dynamic Tracing Guide's chapters, run as a user
 * runs them (-c target, -n/-s programs): the Output Formatting chapter's %a and %k, the
 * tracing functions (stack, func, …) recorded by printf as trace() records them and refused as
 * values. Expected text comes from the same program's own actions (stack(), func()) and the
 * running kernel's symbols. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('printf %a of an integer kernel address prints module`symbol+offset, as func() names it', { skip }, () => {
  const loop = buildWorkload('getpid_loop');
  const r = run(['-q', '-n', 'syscall::getpid:entry /pid == $target/ { printf("%a|%-60a|%a|", caller, caller, 0); trace(func(caller)); exit(0); }', '-c', `${loop} 5`]);
  assert.equal(r.status, 0, r.stderr);
  const [a, , zero, fn] = r.stdout.split('|').map((x) => x.trim());
  assert.match(a!, /^vmlinux`[\w.]+\+0x[0-9a-f]+$/);
  assert.equal(a!.slice(0, a!.indexOf('+')), fn, 'the same function as func(caller)');
  assert.equal(r.stdout.split('|')[1], a!.padEnd(60), 'a width pads the symbol text');
  assert.equal(zero, '0x0', 'an address of no symbol prints in hex');
});

test('printf %k of stack()/ustack() prints the frames the stack() action prints; %A of ufunc() names the function', { skip }, () => {
  const loop = buildWorkload('getpid_loop');
  const r = run(['-q', '-n', 'syscall::getpid:entry /pid == $target/ { printf("<%k>", stack(3)); stack(3); printf("<%k>", ustack(2)); printf("<%A>\\n", ufunc(uregs[R_PC])); exit(0); }', '-c', `${loop} 100000`]);
  assert.equal(r.status, 0, r.stderr);
  const m = /^<\n((?:.+\n){3})>\n((?:.+\n){3})<\n((?:.+\n){2})><(.*)>\n/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const printed = m[1]!.split('\n').slice(0, 3), action = m[2]!.split('\n').slice(0, 3);
  // stack() indents by stackindent (14); %k without a width does not.
  assert.deepEqual(action, printed.map((f) => ' '.repeat(14) + f));
  assert.match(printed[0]!, /^vmlinux`[\w.]+\+0x[0-9a-f]+$/);
  assert.match(m[3]!, /^libc\.so\.6`[\w.]+\+0x[0-9a-f]+\n/, 'the target\'s frames are named while it lives');
  assert.match(m[4]!, /^libc\.so\.6`[\w.]+$/);
});

test('tracing functions used as values are refused at compile time (D_CG_EXPR), not crashed on', { skip }, () => {
  for (const [body, fn] of [['x = stack();', 'stack'], ['self->u = ustack();', 'ustack'], ['a[func(arg0)] = 1;', 'func'], ['x = func(arg0) == func(arg1);', 'func']] as const) {
    const r = run(['-n', `BEGIN { ${body} exit(0); }`]);
    assert.equal(r.status, 1, body);
    assert.match(r.stderr, new RegExp(`^dtrace: invalid probe specifier .*: tracing function ${fn}\\( \\) may not be called from a D expression \\(D program context required\\)\\n`), body);
    assert.doesNotMatch(r.stderr, /internal error/, body);
  }
  // As an aggregation key, a trace() argument or an action of its own they are fine.
  const ok = run(['-q', '-n', 'BEGIN { @[func(arg0), stack()] = count(); trace((func(arg0))); stack(1); exit(0); }']);
  assert.equal(ok.status, 0, ok.stderr);
});

test('pid$target:a.out::return leaves the entry point alone: the traced program still sees its arguments', { skip }, () => {
  const loop = buildWorkload('getpid_loop');
  // getpid_loop makes argv[1] getpid calls (100000 when argc is wrong); _start has argc where a
  // uretprobe would put its trampoline address.
  const r = run(['-q', '-n', 'pid$target:a.out::entry, pid$target:a.out::return { @f[probefunc, probename] = count(); } syscall::getpid:entry /pid == $target/ { @n = count(); } END { printa("%s %s\\n", @f); printa("calls %@d\\n", @n); }', '-c', `${loop} 7`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^calls 7$/m);
  assert.match(r.stdout, /^_start entry$/m);
  assert.doesNotMatch(r.stdout, /^_start return$/m);
  assert.match(r.stdout, /^main return$/m);
});

test('printa(@a, @b) without a format joins the aggregations: the keys once, then each value', { skip }, () => {
  const r = run(['-q', '-n', 'BEGIN { @a["x", 1] = count(); @b["x", 1] = sum(370); @b["y", 2] = sum(5); printa(@a, @b); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const key = (s: string, n: number) => `  ${s.padEnd(50)} ${String(n).padStart(8)}`; // an int key: " %8d"
  // Sorted by the first aggregation's value (y has none: 0), then by key.
  assert.equal(r.stdout, `\n${key('y', 2)} ${'0'.padStart(16)} ${'5'.padStart(16)}\n${key('x', 1)} ${'1'.padStart(16)} ${'370'.padStart(16)}\n\n`);
});

test('printf/printa %A of a plain user address names the -c target\'s symbol (pfprint_uaddr), hex without a target', { skip }, () => {
  const loop = buildWorkload('getpid_loop');
  // The process has exited by END: its symbols come from the snapshot kept while it ran.
  const r = run(['-q', '-n', 'pid$target::syscall:entry { printf("%A|%A|", uregs[R_PC], 0); trace(ufunc(uregs[R_PC])); printf("\\n"); @[uregs[R_PC]] = count(); } END { printa("%A %@d\\n", @); }', '-c', `${loop} 3 200`]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 4, r.stdout);
  const [a, zero, fn] = lines[0]!.split('|').map((x) => x.trim());
  assert.equal(a, fn, 'at the entry of syscall() the address is the symbol itself');
  assert.match(a!, /^libc\.so\.6`syscall$/);
  assert.equal(zero, '0x0');
  assert.equal(lines[3], `${a} 3`);
  const none = run(['-q', '-n', 'BEGIN { printf("%A\\n", 0x7f0000001000); exit(0); }']);
  assert.equal(none.stdout, '0x7f0000001000\n\n');
});

test('pid$target::f: fires entry before offset 0 of the same instruction (probe id order), one site or many', { skip }, () => {
  const loop = buildWorkload('getpid_loop');
  for (const desc of ['pid$target:a.out:main:', 'pid$target:a.out:main:entry, pid$target:a.out:main:0']) {
    const r = run(['-n', `${desc} { printf("%s", probename); }`, '-c', `${loop} 1`]);
    assert.equal(r.status, 0, r.stderr);
    const names = [...r.stdout.matchAll(/main:(\w+) (\w+)/g)].map((m) => m[2]);
    assert.deepEqual(names.slice(0, 2), ['entry', '0'], `${desc}\n${r.stdout}`);
  }
});

test('profile: @[ufunc(arg1)] / @[umod(arg1)] / @[func(arg0)] fold every address of a function into one entry', { skip }, () => {
  const hot = buildWorkload('cpu_hot');
  const r = run(['-q', '-n', 'profile-997 /pid == $target && arg1/ { @f[ufunc(arg1)] = count(); @m[umod(arg1)] = count(); @a[uaddr(arg1)] = count(); } profile-997 /arg0/ { @k[func(arg0)] = count(); } END { printa("F %A %@d\\n", @f); printa("M %A %@d\\n", @m); printa("K %a %@d\\n", @k); printa("A %A %@d\\n", @a); }', '-c', `${hot} 20`]);
  assert.equal(r.status, 0, r.stderr);
  const rows = (tag: string) => r.stdout.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => l.split(' '));
  const names = (tag: string) => rows(tag).map((x) => x[1]!);
  for (const tag of ['F', 'M', 'K']) {
    const list = names(tag);
    assert.equal(new Set(list).size, list.length, `${tag}: one entry per symbol\n${r.stdout}`);
  }
  assert.ok(names('F').includes('cpu_hot`hot_spin'), r.stdout);
  assert.ok(names('M').includes('cpu_hot'), r.stdout);
  // uaddr() keeps each address apart; the folded entry holds the samples of all of them.
  const count = (tag: string, re: RegExp) => rows(tag).filter((x) => re.test(x[1]!)).reduce((n, x) => n + Number(x[2]), 0);
  assert.equal(count('F', /^cpu_hot`hot_spin$/), count('A', /^cpu_hot`hot_spin(\+0x[0-9a-f]+)?$/), r.stdout);
});
