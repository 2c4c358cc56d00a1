/**
 * @fileoverview mutex_owned(), mutex_owner(), mutex_type_*() and rw_*() against the kernel:
 * each thread of the lock_contention workload that slept on a pipe's mutex holds it when
 * lockstat:::adaptive-block fires (the wait ended with the lock held) — so mutex_owned() is 1
 * and mutex_owner() is curthread — while the task's cred_guard_mutex, held only across exec
 * and ptrace attach, is free; and the flag and count bits of a mutex and a qrwlock laid out in
 * alloca()d memory as the kernel lays them out. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';
import { matchProbes } from '../../src/providers/registry.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const blockSkip = skip || (matchProbes({ provider: 'lockstat', module: '', function: '', name: 'adaptive-block' }).length > 0 ? false : 'lockstat:::adaptive-block is not available on this kernel');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, '-q', ...args], { encoding: 'latin1', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a contended mutex is owned by the thread that waited for it; a free one by nobody', { skip: blockSkip }, () => {
  const WAITERS = 3;
  const r = run(['-n', `lockstat:::adaptive-block /pid == $target/ { printf("held %d %d %d %d\\n", mutex_owned(args[0]), mutex_owner(args[0]) == curthread, ` +
    'mutex_type_adaptive(args[0]), mutex_type_spin(args[0])); printf("free %d %d\\n", mutex_owned(&curthread->signal->cred_guard_mutex), ' +
    '(long)mutex_owner(&curthread->signal->cred_guard_mutex)); }', '-c', `${buildWorkload('lock_contention')} ${WAITERS}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`waiters ${WAITERS} blocked ${WAITERS}`));
  const held = r.stdout.split('\n').filter((l) => l.startsWith('held '));
  assert.ok(held.length >= WAITERS, r.stdout);
  assert.ok(held.every((l) => l === 'held 1 1 1 0'), r.stdout);
  const free = r.stdout.split('\n').filter((l) => l.startsWith('free '));
  assert.ok(free.length >= WAITERS && free.every((l) => l === 'free 0 0'), r.stdout);
});

test('the owner word\'s flag bits and a qrwlock\'s reader count and writer byte, laid out as the kernel does', { skip }, () => {
  const r = run(['-n', 'BEGIN { m = (struct mutex *)alloca(sizeof(struct mutex)); m->owner.counter = (long)curthread | 5; ' +
    'printf("%d %d\\n", mutex_owned(m), mutex_owner(m) == curthread); m->owner.counter = 8; printf("%d %x\\n", mutex_owned(m), (long)mutex_owner(m)); ' +
    'l = (rwlock_t *)alloca(sizeof(rwlock_t)); l->raw_lock.cnts.counter = 2 << 9; printf("%x %x %x\\n", rw_read_held(l), rw_write_held(l), rw_iswriter(l)); ' +
    'l->raw_lock.cnts.counter = 0xff; printf("%x %x %x\\n", rw_read_held(l), rw_write_held(l), rw_iswriter(l)); ' +
    'l->raw_lock.cnts.counter = 0x100; printf("%x %x %x\\n", rw_read_held(l), rw_write_held(l), rw_iswriter(l)); exit(0); } ERROR { exit(1); }']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '1 1\n0 8\n400 0 0\n0 ff ff\n0 0 100\n\n');
  const nul = run(['-n', 'BEGIN { trace(mutex_owned((struct mutex *)0)); exit(0); } ERROR { exit(1); }']);
  assert.equal(nul.status, 1);
  assert.match(nul.stderr, /invalid address \(0x0\)/);
});
