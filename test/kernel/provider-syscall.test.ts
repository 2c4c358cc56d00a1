/**
 * @fileoverview syscall and proc behaviour at a system call's edges, against the real kernel
 * through the CLI: `errno` at a return probe, the user-space string argument of proc:::exec,
 * and copyinstr() of a syscall argument whose page the process has not touched yet. Every
 * expectation comes from what the `-c` command demonstrably does, filtered to the target.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { hasRawTracepoint } from '../../src/providers/kernel-events.js';
import { buildFreshPagesWorkload, dropFromPageCache } from '../helpers/fresh-pages.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' :
  !hasRawTracepoint('sys_enter') ? 'kernel BTF has no raw tracepoint prototypes' : false;

function dtrace(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lineCounts(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split('\n')) if (line !== '') out.set(line, (out.get(line) ?? 0) + 1);
  return out;
}

test('syscall: errno at openat:return is the failed call\'s error number, 0 after a success', { skip }, () => {
  // cat opens its libraries (success), then the missing file (ENOENT = 2); ls of a
  // directory without search permission is not needed: ENOENT alone pins the value.
  const r = dtrace(['-q', '-n', `
    syscall::openat:return /pid == $target && arg1 < 0/ { printf("fail %d %d\\n", arg1, errno); }
    syscall::openat:return /pid == $target && arg1 >= 0/ { printf("ok %d\\n", errno); }
    syscall::getpid:entry /pid == $target/ { printf("entry %d\\n", errno); }`,
  '-c', 'cat /nonexistent/dtrace-ts-errno-test']);
  assert.equal(r.status, 0, r.stderr);
  const c = lineCounts(r.stdout);
  assert.ok((c.get('fail -2 2') ?? 0) >= 1, `ENOENT seen as errno 2: ${r.stdout}`);
  assert.ok((c.get('ok 0') ?? 0) >= 1, `successful opens have errno 0: ${r.stdout}`);
  for (const line of c.keys()) assert.match(line, /^(fail -2 2|ok 0|entry 0)$/, r.stdout);
});

test('proc: exec\'s args[0] is the path, read from user space (stringof, trace, printf)', { skip }, () => {
  const r = dtrace(['-q', '-n', `
    proc:::exec /ppid == $target/ { printf("[%s]\\n", stringof(args[0])); trace(args[0]); printf("\\n"); }`,
  '-c', '/bin/sh -c /bin/true;/bin/echo']);
  assert.equal(r.status, 0, r.stderr);
  const c = lineCounts(r.stdout);
  assert.equal(c.get('[/bin/true]'), 1, r.stdout);
  assert.equal(c.get('[/bin/echo]'), 1, r.stdout);
  assert.equal(c.get('/bin/true'), 1, r.stdout);
  assert.equal(c.get('/bin/echo'), 1, r.stdout);
  assert.doesNotMatch(r.stderr, /invalid address/, r.stderr);
});

test('syscall: copyinstr(arg1) at openat:entry reads all 1,000 names that sit in pages the process never touched', { skip }, (t) => {
  const w = buildFreshPagesWorkload(1000);
  t.after(() => w.remove());
  const prefix = '/nonexistent-dtrace-ts/fresh-page-name-';
  // Control: the same strings read through a variable are not checked before the clause runs,
  // so some must fault — else this workload no longer exercises unfaulted pages.
  dropFromPageCache(w.binary);
  const control = dtrace(['-q', '-n', 'syscall::openat:entry /pid == $target/ { self->p = arg1; printf("%s\\n", copyinstr(self->p)); }', '-c', w.binary]);
  assert.ok((control.stderr.match(/invalid address/g) ?? []).length > 0, `no name was unreadable at entry: the workload no longer tests anything\n${control.stderr.slice(0, 500)}`);

  dropFromPageCache(w.binary);
  const r = dtrace(['-q', '-n', 'syscall::openat:entry /pid == $target/ { printf("%s\\n", copyinstr(arg1)); }', '-c', w.binary]);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /invalid address/, r.stderr.slice(0, 500));
  const got = r.stdout.split('\n').filter((l) => l.startsWith(prefix));
  assert.deepEqual(got, w.names, 'every name, once, in the order opened');
});

test('syscall: a replayed entry keeps its order before the return of the same call, and its arguments', { skip }, (t) => {
  const w = buildFreshPagesWorkload(50);
  t.after(() => w.remove());
  dropFromPageCache(w.binary);
  const r = dtrace(['-q', '-n', `
    syscall::openat:entry /pid == $target/ { printf("E %s %d\\n", copyinstr(arg1), arg2); self->ts = timestamp; }
    syscall::openat:return /pid == $target && self->ts/ { printf("R %d %d\\n", errno, timestamp >= self->ts); self->ts = 0; }`,
  '-c', w.binary]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.includes('fresh-page-name-') || l.startsWith('R '));
  const fresh = lines.flatMap((l, i) => (l.startsWith('E ') && l.includes('fresh-page-name-') ? [i] : []));
  assert.equal(fresh.length, 50, r.stdout);
  // O_RDONLY is 0; each open fails with ENOENT, and its return follows its entry.
  for (const [k, i] of fresh.entries()) {
    assert.equal(lines[i], `E ${w.names[k]} 0`, r.stdout);
    assert.equal(lines[i + 1], 'R 2 1', r.stdout);
  }
});

// sys_enter and sys_exit run for every system call on the machine: a program tracing a few of
// them compares the number first and leaves (no scratch lookup, no activity check) for the rest.
test('a program tracing a few system calls leaves at once for the others (the number is compared first)', { skip }, () => {
  const program = (probes: string) => {
    const r = spawnSync(process.execPath, [cli, '-S', '-e', '-n', `${probes} { @ = count(); }`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout + r.stderr; // -S prints the programs on stderr
  };
  const entry = program('syscall::getppid:entry');
  const head = entry.slice(entry.indexOf('syscall_entry'), entry.indexOf('map[mem]'));
  assert.match(head, /r2 = \*\(u64 \*\)\(r1 \+8\)\n\s+\d+: if r2 == 0x6e goto traced/, entry);
  const ret = program('syscall::getppid:return');
  const retHead = ret.slice(ret.indexOf('syscall_return'), ret.indexOf('map[mem]'));
  assert.match(retHead, /call bpf_probe_read_kernel[\s\S]*if r2 == 0x6e goto traced/, ret);
  // Every system call: the dispatch alone decides, no prefilter.
  const all = program('syscall:::entry');
  assert.doesNotMatch(all.slice(all.indexOf('syscall_entry'), all.indexOf('map[mem]')), /goto traced/);
});
