/**
 * @fileoverview fbt and rawfbt against a real kernel with kprobes and/or fentry — issue 12's
 * success criteria. This project's 6.18 host has neither, so there the tests skip and one test
 * checks the clear error instead; `npm run test:vm` runs them inside the Debian 12 (Linux 6.1)
 * guest, where every attach mechanism exists (DTRACE_TS_FBT_ATTACH forces each in turn).
 * Counts come from what the `-c` command demonstrably does (dd with bs=1 count=N reads N
 * times), filtered to the target so other activity does not count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { hasFeature } from '../../src/bpf/features.js';
import { loadProgram } from '../../src/bpf/program.js';
import { attachKprobeMulti } from '../../src/bpf/link.js';
import { AttachType } from '../../src/bpf/uapi.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const root = process.getuid?.() === 0;
const fbtWorks = root && (hasFeature('kprobe_pmu') || hasFeature('fentry'));
const skip = !root ? 'needs root to load BPF programs' : !existsSync(cli) ? 'dist/cli.js not built (npm run build)' :
  !fbtWorks ? 'this kernel has neither kprobes nor fentry (npm run test:vm runs these in a Linux 6.1 guest)' : false;
const skipMulti = skip || (!hasFeature('kprobe_multi') ? 'this kernel has no kprobe_multi links' : false);
const skipFentry = skip || (!hasFeature('fentry') ? 'this kernel has no fentry' : false);
const skipKprobe = skip || (!hasFeature('kprobe_pmu') ? 'this kernel has no kprobe PMU' : false);

function dtrace(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 240_000, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The single value of `@ = count()` / `@ = sum()` output. */
function scalar(stdout: string): number {
  const m = /^\s*(-?\d+)\s*$/m.exec(stdout);
  assert.ok(m, `no aggregation value in: ${stdout}`);
  return Number(m[1]);
}

const MECHANISMS = ['fentry', 'kprobe', 'kprobe_multi'] as const;
const skipOf = { fentry: skipFentry, kprobe: skipKprobe, kprobe_multi: skipMulti };

for (const mech of MECHANISMS) {
  test(`fbt (${mech}): vfs_read:entry /pid == $target/ counts every read of dd bs=1 count=2000`, { skip: skipOf[mech] }, () => {
    const r = dtrace(['-q', '-n', 'fbt::vfs_read:entry /pid == $target/ { @ = count(); }',
      '-c', 'dd if=/dev/zero of=/dev/null bs=1 count=2000 status=none'], { DTRACE_TS_FBT_ATTACH: mech });
    assert.equal(r.status, 0, r.stderr);
    // 2000 reads of the data, plus the few dd and the loader make before it.
    const n = scalar(r.stdout);
    assert.ok(n >= 2000 && n < 2100, `count ${n}\n${r.stdout}${r.stderr}`);
  });

  test(`fbt (${mech}): vfs_read:return arg1 is the return value (quantize and sum)`, { skip: skipOf[mech] }, () => {
    const r = dtrace(['-q', '-n', 'fbt::vfs_read:return /pid == $target && arg1 == 1/ { @one = count(); } ' +
      'fbt::vfs_read:return /pid == $target/ { @q = quantize(arg1); @neg = min(arg0); }',
    '-c', 'dd if=/dev/zero of=/dev/null bs=1 count=500 status=none'], { DTRACE_TS_FBT_ATTACH: mech });
    assert.equal(r.status, 0, r.stderr);
    // Every one of dd's 500 one-byte reads returned 1: the quantize row for 1 holds at least 500.
    const row = /^\s+1 \|@+\s+(\d+)\s*$/m.exec(r.stdout);
    assert.ok(row && Number(row[1]) >= 500, r.stdout);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.some((l) => /^\s*50\d\s*$/.test(l)) || lines.some((l) => /^\s*5\d\d\s*$/.test(l)), `@one: ${r.stdout}`);
    // arg0 of a return probe is -1, as Oracle's DTrace on Linux has it.
    assert.match(r.stdout, /^\s*-1\s*$/m, r.stdout);
  });

  test(`fbt (${mech}): do_sys_openat2:entry reads the file name through args[1]`, { skip: skipOf[mech] }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'dtrace-fbt-'));
    const file = join(dir, `opened-${mech}.txt`);
    writeFileSync(file, 'x\n');
    const r = dtrace(['-q', '-n', 'fbt::do_sys_openat2:entry /pid == $target/ { printf("open %s %s\\n", copyinstr(arg1), copyinstr((uintptr_t)args[1])); }',
      '-c', `cat ${file}`], { DTRACE_TS_FBT_ATTACH: mech });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(`open ${file} ${file}`), r.stdout + r.stderr);
  });
}

test('fbt: -l -P fbt lists tens of thousands of functions, entry and return, modules named', { skip }, () => {
  const r = dtrace(['-l', '-P', 'fbt']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').slice(1);
  assert.ok(lines.length > 20_000, `${lines.length} probes`);
  assert.ok(lines.some((l) => /\sfbt\s+vmlinux\s+vfs_read\s+entry$/.test(l)), 'vfs_read:entry listed');
  assert.ok(lines.some((l) => /\sfbt\s+vmlinux\s+vfs_read\s+return$/.test(l)), 'vfs_read:return listed');
  // Compiler clones are rawfbt's, not fbt's.
  assert.ok(!lines.some((l) => /\.(isra|constprop|part|cold)\b/.test(l)), 'no synthetic names');
});

test('fbt: -lv gives argument types from BTF (entry: the prototype; return: int and the return type)', { skip }, () => {
  const entry = dtrace(['-lv', '-n', 'fbt:vmlinux:vfs_read:entry']);
  assert.equal(entry.status, 0, entry.stderr);
  assert.match(entry.stdout, /args\[0\]: struct file \*\n\s+args\[1\]: char \*\n\s+args\[2\]: size_t\n\s+args\[3\]: loff_t \*/, entry.stdout);
  const ret = dtrace(['-lv', '-n', 'fbt:vmlinux:vfs_read:return']);
  assert.equal(ret.status, 0, ret.stderr);
  assert.match(ret.stdout, /args\[0\]: int\n\s+args\[1\]: ssize_t/, ret.stdout);
});

test('fbt: fbt::vfs_*:entry attaches hundreds of functions through one kprobe_multi link in well under a second', { skip: skipMulti }, () => {
  const listed = dtrace(['-l', '-n', 'fbt:vmlinux:vfs_*:entry']);
  assert.equal(listed.status, 0, listed.stderr);
  const funcs = listed.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[3]!);
  assert.ok(funcs.length >= 50, `${funcs.length} vfs_* functions`);
  const prog = loadProgram({ name: 'fbt_attach_t', type: 'kprobe', insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), expectedAttachType: AttachType.TRACE_KPROBE_MULTI });
  try {
    const t0 = performance.now();
    const link = attachKprobeMulti(prog, { funcs, retprobe: false });
    const attachMs = performance.now() - t0;
    const t1 = performance.now();
    link.close();
    const detachMs = performance.now() - t1;
    console.log(`fbt::vfs_*:entry: ${funcs.length} functions, attach ${attachMs.toFixed(1)} ms, detach ${detachMs.toFixed(1)} ms`);
    assert.ok(attachMs < 1000, `attach took ${attachMs} ms`);
  } finally {
    prog.close();
  }
});

test('fbt: fbt::vfs_*:entry and :return fire for the functions a cat demonstrably calls (one program for the glob)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-fbt-'));
  const file = join(dir, 'glob.txt');
  writeFileSync(file, 'x\n');
  const t0 = performance.now();
  const r = dtrace(['-q', '-n', 'fbt::vfs_*:entry /pid == $target/ { @[probefunc, probename] = count(); } ' +
    'fbt::vfs_read:return,fbt::vfs_write:return /pid == $target/ { @[probefunc, probename] = count(); }', '-c', `cat ${file}`]);
  console.log(`fbt::vfs_*:entry through the CLI (${hasFeature('kprobe_multi') ? 'kprobe_multi' : 'one kprobe PMU event per function'}): ${(performance.now() - t0).toFixed(0)} ms from start to exit`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+vfs_read\s+entry\s+\d+$/m, r.stdout);
  assert.match(r.stdout, /^\s+vfs_write\s+entry\s+\d+$/m, r.stdout);
  assert.match(r.stdout, /^\s+vfs_write\s+return\s+1$/m, r.stdout);
  const listed = dtrace(['-l', '-n', 'fbt::vfs_*:entry']);
  assert.ok(listed.stdout.trim().split('\n').length > 50, listed.stdout);
});

test('sched:::enqueue/dequeue/tick and io:::wait-start/wait-done exist where fbt works, and the sched ones fire', { skip }, () => {
  const sched = dtrace(['-l', '-P', 'sched']);
  for (const n of ['dequeue', 'enqueue', 'tick']) assert.match(sched.stdout, new RegExp(`\\s${n}$`, 'm'), sched.stdout);
  const io = dtrace(['-l', '-P', 'io']);
  for (const n of ['wait-start', 'wait-done']) assert.match(io.stdout, new RegExp(`\\s${n}$`, 'm'), io.stdout);
  // sleep blocks (its thread is dequeued in its own context) and is woken (enqueued); ticks come
  // at HZ on a busy CPU. The io wait probes must load and attach (the guest has no block device
  // to make them fire).
  const r = dtrace(['-q', '-n', 'sched:::dequeue /pid == $target/ { @d = count(); } sched:::enqueue { @e = count(); } ' +
    'sched:::tick { @t = count(); } io:::wait-start, io:::wait-done { @w = count(); } ' +
    'END { printa("dequeue %@d\\n", @d); printa("enqueue %@d\\n", @e); printa("tick %@d\\n", @t); }',
  '-c', 'sleep 0.3']);
  assert.equal(r.status, 0, r.stderr);
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
  assert.ok(value('dequeue') >= 1, r.stdout);
  assert.ok(value('enqueue') >= 1, r.stdout);
  assert.ok(value('tick') >= 1, r.stdout);
});

test('rawfbt: kprobes on any function, untyped arguments', { skip: skipKprobe }, () => {
  const r = dtrace(['-q', '-n', 'rawfbt::vfs_read:entry /pid == $target/ { @ = count(); }',
    '-c', 'dd if=/dev/zero of=/dev/null bs=1 count=300 status=none']);
  assert.equal(r.status, 0, r.stderr);
  const n = scalar(r.stdout);
  assert.ok(n >= 300 && n < 400, `count ${n}`);
  const lv = dtrace(['-lv', '-n', 'rawfbt::vfs_read:entry']);
  assert.equal(lv.status, 0, lv.stderr);
  assert.doesNotMatch(lv.stdout, /args\[0\]/, lv.stdout);
});

test('fbt: a kernel with neither kprobes nor fentry says so and matches nothing', { skip: !root ? 'needs root' : fbtWorks ? 'this kernel has fbt' : !existsSync(cli) ? 'dist/cli.js not built' : false }, () => {
  const r = dtrace(['-n', 'fbt::vfs_read:entry { @ = count(); }']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /does not match any probes/, r.stderr);
  assert.match(r.stderr, /fbt needs kprobes \(CONFIG_KPROBES\) or BPF trampolines \(fentry\)/, r.stderr);
  assert.equal(dtrace(['-l', '-P', 'fbt']).stdout.trim().split('\n').length, 1);
});
