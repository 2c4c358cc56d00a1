/**
 * @fileoverview Subroutines and variables read from the task through BTF, each against /proc or
 * the kernel: progenyof() (a child true, a stranger false), getmajor()/getminor() of a device's
 * st_rdev, cwd/root against /proc/PID/cwd and /proc/PID/root in a deep directory, fds[] against
 * /proc/PID/fd, uregs[] with regs.d's names against the system call being made. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, statSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** Runs the tracer on `python3 script` (the script written to a fresh directory) from `cwd`. */
function traceScript(program: string, script: string, cwd?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-task-'));
  try {
    const path = join(dir, 'target.py');
    writeFileSync(path, script);
    return spawnSync(process.execPath, [cli, '-q', '-n', program, '-c', `python3 ${path}`], { encoding: 'latin1', timeout: 240_000, cwd });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('progenyof() is true for the process and its ancestors, false for a stranger', { skip }, () => {
  // The target's parent is the tracer ($pid); a pid that cannot exist is no ancestor.
  const r = traceScript('syscall::umask:entry /pid == $target && arg0 == 0123/ { printf("%d %d %d %d\\n", progenyof(pid), progenyof(ppid), progenyof($pid), progenyof(1)); printf("%d\\n", progenyof(4194304 + 7)); exit(0); }',
    'import os\nos.umask(0o123)\n');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split(/\s+/), ['1', '1', '1', '1', '0']);
  // BEGIN runs in the tracer: the parent of its -c child, so no descendant of it.
  const stranger = spawnSync(process.execPath, [cli, '-q', '-n', 'BEGIN { printf("%d %d\\n", progenyof($target), progenyof($pid)); exit(0); }',
    '-c', 'python3 -c pass'], { encoding: 'latin1', timeout: 240_000 });
  assert.equal(stranger.status, 0, stranger.stderr);
  assert.equal(stranger.stdout.trim(), '0 1');
});

test('getmajor()/getminor() split a Linux dev_t as stat(2) does', { skip }, () => {
  const st = statSync('/dev/null');
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  // The kernel's dev_t of /dev/null's inode: major << 20 | minor.
  const r = traceScript('syscall::umask:entry /pid == $target && arg0 == 0123/ { this->f = curthread->files->fdt->fd[0]; printf("%d %d\\n", getmajor(this->f->f_inode->i_rdev), getminor(this->f->f_inode->i_rdev)); exit(0); }',
    'import os\nos.close(0)\nos.open("/dev/null", os.O_RDONLY)\nos.umask(0o123)\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${major} ${minor}`);
});

test('cwd and root are the paths /proc shows, from a deep directory', { skip }, () => {
  const base = mkdtempSync(join(tmpdir(), 'dtrace-ts-cwd-'));
  try {
    const deep = join(base, 'one', 'two', 'three', 'four', 'five', 'six', 'seven');
    mkdirSync(deep, { recursive: true });
    const r = traceScript('syscall::umask:entry /pid == $target && arg0 == 0123/ { printf("traced=%s|%s\\n", cwd, root); }',
      'import os\nos.umask(0o123)\nprint("truth=" + os.readlink("/proc/self/cwd") + "|" + os.readlink("/proc/self/root"))\n', deep);
    assert.equal(r.status, 0, r.stderr);
    // The two lines may come in either order.
    const traced = /^traced=(.*)$/m.exec(r.stdout)?.[1];
    const truth = /^truth=(.*)$/m.exec(r.stdout)?.[1];
    assert.equal(traced, truth);
    assert.equal(truth, `${realpathSync(deep)}|/`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('fds[] translates the open files as /proc/PID/fd names them', { skip }, () => {
  const r = traceScript('syscall::umask:entry /pid == $target && arg0 == 0123/ { printf("%s|%s|%s|%s\\n", fds[3].fi_pathname, fds[3].fi_name, fds[3].fi_dirname, fds[900].fi_pathname); }',
    'import os\nfd = os.open("/etc/hostname", os.O_RDONLY)\nassert fd == 3\nos.umask(0o123)\nprint(os.readlink("/proc/self/fd/3"))\n');
  assert.equal(r.status, 0, r.stderr);
  // The two lines may come in either order: the tracer's has the separators.
  const lines = r.stdout.trim().split('\n');
  const traced = lines.find((l) => l.includes('|'));
  const truth = lines.find((l) => !l.includes('|'));
  const real = realpathSync('/etc/hostname');
  assert.equal(truth, real);
  assert.equal(traced, `${real}|${real.slice(real.lastIndexOf('/') + 1)}|${real.slice(0, real.lastIndexOf('/'))}|<none>`);
});

test('uregs[] with regs.d names reads the saved user registers of the system call', { skip }, () => {
  // At syscall entry: orig_ax is the call's number (umask: 95 on x86-64), ax holds -ENOSYS, and
  // the user stack the kernel walks starts at the saved ip.
  const r = traceScript('syscall::umask:entry /pid == $target && arg0 == 0123/ { printf("%d %d %x %x\\n", uregs[R_ERR], (long)uregs[R_RAX], uregs[R_PC], uregs[R_RIP]); ustack(1); exit(0); }',
    'import os\nos.umask(0o123)\n');
  assert.equal(r.status, 0, r.stderr);
  const m = /^(\d+) (-?\d+) ([0-9a-f]+) ([0-9a-f]+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(m[1], '95');
  assert.equal(m[2], '-38');
  assert.equal(m[3], m[4]);
  const frame = /^\s+(\S+)$/m.exec(r.stdout.slice(m.index + m[0].length))?.[1] ?? '';
  assert.ok(frame.startsWith('0x') ? frame === `0x${m[3]}` : /`/.test(frame), `ustack(1) ${frame} vs uregs[R_PC] 0x${m[3]}`);
});

test('curlwpsinfo->pr_clname is the scheduling class ps(1) shows', { skip }, () => {
  const script = 'import os, subprocess\nos.umask(0o123)\nsubprocess.run(["ps", "-o", "cls=", "-p", str(os.getpid())])\n';
  for (const [prefix, cls] of [['', 'TS'], ['chrt -f 10 ', 'FF'], ['chrt -b 0 ', 'B']] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-cls-'));
    try {
      const path = join(dir, 'target.py');
      writeFileSync(path, script);
      const r = spawnSync(process.execPath, [cli, '-q', '-n', 'syscall::umask:entry /pid == $target && arg0 == 0123/ { printf("clname=%s\\n", curlwpsinfo->pr_clname); }',
        '-c', `${prefix}python3 ${path}`], { encoding: 'latin1', timeout: 240_000 });
      assert.equal(r.status, 0, r.stderr);
      const traced = /clname=(\S+)/.exec(r.stdout)?.[1];
      const truth = r.stdout.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('clname='));
      assert.equal(truth, cls, r.stdout);
      assert.equal(traced, truth);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
