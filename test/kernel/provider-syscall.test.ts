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
    syscall::openat:return /pid == $target && (int)arg1 < 0/ { printf("fail %d %d\\n", arg1, errno); }
    syscall::openat:return /pid == $target && (int)arg1 >= 0/ { printf("ok %d\\n", errno); }
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
