/**
 * @fileoverview The CO-RE loader against the real kernel, with real clang objects (test/core/*.bpf.c,
 * compiled against our own vmlinux.h by test/core/objects.ts): exact getpid counts and true parent
 * pids through BPF_CORE_READ, a missing field's error naming struct, field and C line (and the same
 * read skipped under bpf_core_field_exists), a bit-field, a ___v46 flavor, kconfig externs, a .rodata
 * switch set before load, a tail call and a typed ring buffer. Ground truth comes from the processes
 * the tests start (their pids, their parent: this process) and from the kernel's own BTF and release.
 * Runs in the Debian 6.1 guest too (scripts/test-vm.sh), with the objects compiled on the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { loadObject, ObjectLoadError, type LoadedObject } from '../../src/bpf/elf/load-object.js';
import { kernelConfig, kernelVersionCode } from '../../src/bpf/elf/kconfig.js';
import { loadKernelBtf } from '../../src/bpf/btf/index.js';
import { hasFeature } from '../../src/bpf/features.js';
import { dumpObjectMap } from '../../src/cli/bpf.js';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';
import { cannotCompile, coreObject, usdtPython, vmlinuxHeader } from '../core/objects.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() !== 0 ? 'needs root' : cannotCompile();
const ATTACH_TIMEOUT_MS = 180_000;

/** Maps of a `dtrace bpf run` dump (or dumpObjectMap text): name → parsed JSON (typed maps only). */
function parseDump(text: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const parts = text.split(/^map '([^']+)' \([^)]*\):$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const body = parts[i + 1]!.trim();
    if (body.startsWith('[') || body.startsWith('{')) out.set(parts[i]!, JSON.parse(body));
  }
  return out;
}

function entries(dump: Map<string, unknown>, name: string): Map<number, unknown> {
  const list = dump.get(name) as { key: number; value: unknown }[] | undefined;
  assert.ok(list, `map ${name} missing from the dump`);
  return new Map(list.map((e) => [e.key, e.value]));
}

/** Starts `dtrace bpf run ARGS` and resolves once it says its programs are attached. */
function startRun(args: string[]): Promise<{ child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | string> }> {
  const child = spawn(process.execPath, [cli, 'bpf', 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  // The exit status, or the name of the signal that ended it.
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no "attached" line in time; stderr: ${err}`)); }, ATTACH_TIMEOUT_MS);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('latin1');
      if (/attached\n/.test(err)) { clearTimeout(timer); resolve({ child, stdout: () => out, stderr: () => err, exited }); }
    });
    child.on('close', () => { clearTimeout(timer); reject(new Error(`dtrace bpf run exited early: ${err}`)); });
  });
}

/** The subreaper workload, started and waiting for its go byte: pid and a go() that runs it to the end. */
function startWorkload(calls: number): { pid: number; go: () => Promise<number | null> } {
  const child = spawn(buildWorkload('subreaper_getpid'), [String(calls)], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { pid: child.pid!, go: () => { child.stdin!.end('g'); return done; } };
}

test('the CO-RE objects were compiled against this or another kernel\'s vmlinux.h', { skip }, (t) => {
  const { kernel } = vmlinuxHeader();
  t.diagnostic(`objects built against Linux ${kernel}; running on Linux ${release()}`);
  assert.ok(kernel.length > 0);
});

test('getpid counter: exact count per pid and the true parent via BPF_CORE_READ(task, real_parent, tgid)', { skip, timeout: 300_000 }, async () => {
  const obj = coreObject('getpid_parent');
  const run = await startRun([obj]);
  const calls = 1234;
  const w = spawnSync(buildWorkload('getpid_loop'), [String(calls)]);
  assert.equal(w.status, 0);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const dump = parseDump(run.stdout());
  assert.equal(entries(dump, 'counts').get(w.pid), calls);
  assert.equal(entries(dump, 'parents').get(w.pid), process.pid);
});

test('a field the kernel lacks: the load fails naming the struct, the field and the C line', { skip, timeout: 120_000 }, () => {
  const obj = coreObject('core_missing');
  const source = readFileSync(join(repoRoot(), 'test', 'core', 'core_missing.bpf.c'), 'utf8').split('\n');
  const line = source.findIndex((l, i) => i > source.indexOf('#else') && l.includes('BPF_CORE_READ(task, no_such_field)')) + 1;
  assert.ok(line > 0);
  assert.throws(() => loadObject(obj), (e: unknown) => {
    assert.ok(e instanceof ObjectLoadError, String(e));
    assert.match(e.message, /struct task_struct\b/);
    assert.match(e.message, /no_such_field/);
    assert.match(e.message, new RegExp(`core_missing\\.bpf\\.c:${line}: value = BPF_CORE_READ\\(task, no_such_field\\);`));
    return true;
  });
  const r = spawnSync(process.execPath, [cli, 'bpf', 'run', obj, '--for', '1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`no field no_such_field\\n  at .*core_missing\\.bpf\\.c:${line}:`));
  assert.doesNotMatch(r.stderr, /\n\s+at .*\.js:\d+/, 'no stack trace');
});

function globalsOf(o: LoadedObject, section: string): Record<string, unknown> {
  const m = o.map(section);
  assert.ok(m, `no ${section} map`);
  return parseDump(dumpObjectMap(o, m)).get(section) as Record<string, unknown>;
}

test('the same read under bpf_core_field_exists() loads and sees 0', { skip, timeout: 120_000 }, () => {
  const o = loadObject(coreObject('core_missing', ['GUARDED']));
  try {
    o.attachAll();
    assert.equal(spawnSync(buildWorkload('getpid_loop'), ['3']).status, 0);
    assert.equal(globalsOf(o, '.data').seen_exists, 0);
  } finally {
    o.close();
  }
});

async function runFeatures(reportParent: boolean): Promise<{ result: Record<string, number>; pid: number }> {
  const w = startWorkload(5);
  const o = loadObject(coreObject('core_features'), { globals: { target_tgid: w.pid, report_parent: reportParent } });
  try {
    o.attachAll();
    assert.equal(await w.go(), 0);
    return { result: globalsOf(o, '.bss').result as Record<string, number>, pid: w.pid };
  } finally {
    o.close();
  }
}

test('bit-field, ___v46 flavor, kconfig, type and enum relocations, with ground truth', { skip, timeout: 120_000 }, async () => {
  const { result, pid } = await runFeatures(false);
  const kbtf = loadKernelBtf();
  const taskStruct = kbtf.findByName('struct', 'task_struct')!;
  const pidType = kbtf.typeById(kbtf.findByName('enum', 'pid_type')!);
  assert.ok(pidType.kind === 'enum');
  assert.equal(result.calls, 5);
  assert.equal(result.kernel_version, kernelVersionCode(release()));
  assert.equal(result.config_bpf_syscall, kernelConfig().get('CONFIG_BPF_SYSCALL') === 'y' ? 1 : 0);
  assert.equal(result.config_missing, 0);
  assert.equal(result.subreaper, 1, 'signal->is_child_subreaper after prctl(PR_SET_CHILD_SUBREAPER)');
  assert.equal(result.flavor_pid, pid);
  assert.equal(result.flavor_tgid, pid);
  assert.equal(result.flavor_extra_exists, 0);
  assert.equal(result.who, pid);
  assert.equal(result.task_struct_size, kbtf.sizeOf(taskStruct));
  assert.equal(result.task_struct_exists, 1);
  assert.equal(result.no_such_type_exists, 0);
  assert.equal(BigInt(result.pidtype_tgid!), pidType.values.find((v) => v.name === 'PIDTYPE_TGID')!.value);
});

test('a .rodata switch set before load changes what the program does', { skip, timeout: 120_000 }, async () => {
  const { result } = await runFeatures(true);
  assert.equal(result.who, process.pid, 'report_parent=true: the parent tgid, i.e. this test process');
});

test('tail call through a statically initialised prog_array, records through a typed ring buffer', { skip, timeout: 300_000 }, async () => {
  const calls = 7;
  const w = startWorkload(calls);
  const run = await startRun([coreObject('tailcall_ringbuf'), '--set', `target_tgid=${w.pid}`]);
  assert.equal(await w.go(), 0);
  // Records still in the ring at SIGTERM are printed by the final drain before the map dump.
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const records = run.stdout().split('\n').filter((l) => l.startsWith('events: ')).map((l) => JSON.parse(l.slice(8)) as Record<string, unknown>);
  assert.equal(records.length, calls, run.stdout());
  records.forEach((r, i) => {
    assert.equal(r.pid, w.pid);
    assert.equal(r.ppid, process.pid);
    assert.equal(r.seq, i);
    assert.equal(r.comm, 'subreaper_getpi');
  });
  assert.equal(entries(parseDump(run.stdout()), 'tail_hits').get(0), calls);
});

test('attach by section: ksyscall, fentry, tp_btf and raw_tp programs each count exactly (those this kernel has)', { skip, timeout: 180_000 }, async (t) => {
  const wanted = ['on_sys_enter_btf', 'on_sys_enter_raw'];
  if (hasFeature('kprobe_pmu')) wanted.push('on_getpid_ksyscall');
  else t.diagnostic('this kernel has no kprobes: SEC("ksyscall/getpid") not tried');
  if (hasFeature('fentry') && loadKernelBtf().findFunc('__x64_sys_getpid') !== undefined) wanted.push('on_getpid_fentry');
  else t.diagnostic('no fentry trampolines (or no __x64_sys_getpid in BTF): SEC("fentry/...") not tried');
  const calls = 9;
  const w = startWorkload(calls);
  const o = loadObject(coreObject('attach_kinds'), { globals: { target_tgid: w.pid }, programs: wanted });
  try {
    assert.deepEqual(o.programs.map((p) => p.name).sort(), [...wanted].sort());
    assert.equal(o.attachAll().length, wanted.length);
    assert.equal(await w.go(), 0);
    const g = globalsOf(o, '.bss');
    const hits: Record<string, string> = {
      on_getpid_ksyscall: 'ksyscall_hits', on_getpid_fentry: 'fentry_hits', on_sys_enter_btf: 'tp_btf_hits', on_sys_enter_raw: 'raw_tp_hits',
    };
    for (const [prog, counter] of Object.entries(hits)) assert.equal(g[counter], wanted.includes(prog) ? calls : 0, counter);
  } finally {
    o.close();
  }
});

test('multi-link sections: uprobe.multi and uretprobe.multi on a library glob, kprobe.multi on a kernel glob, each count exactly (those this kernel has)', { skip, timeout: 180_000 }, async (t) => {
  const wanted: string[] = [];
  if (hasFeature('uprobe_multi')) wanted.push('on_syscall_entry', 'on_syscall_return');
  else t.diagnostic('this kernel has no uprobe_multi links: SEC("uprobe.multi/...") not tried');
  if (hasFeature('kprobe_multi')) wanted.push('on_getpid_kprobe_multi');
  else t.diagnostic('this kernel has no kprobe_multi links: SEC("kprobe.multi/...") not tried');
  if (wanted.length === 0) return;
  const calls = 11;
  const w = startWorkload(calls);
  const o = loadObject(coreObject('multi_kinds'), { globals: { target_tgid: w.pid }, programs: wanted });
  try {
    assert.equal(o.attachAll().length, wanted.length);
    assert.equal(await w.go(), 0);
    const g = globalsOf(o, '.bss');
    const hits: Record<string, string> = {
      on_syscall_entry: 'uprobe_multi_hits', on_syscall_return: 'uretprobe_multi_hits', on_getpid_kprobe_multi: 'kprobe_multi_hits',
    };
    // The workload calls libc's syscall() exactly `calls` times, each a getpid system call.
    for (const [prog, counter] of Object.entries(hits)) assert.equal(g[counter], wanted.includes(prog) ? calls : 0, counter);
  } finally {
    o.close();
  }
});

test('a map pinned by name (LIBBPF_PIN_BY_NAME): pinned on first load, reused and counted into by the next, an incompatible definition refused', { skip, timeout: 180_000 }, async () => {
  const pinRoot = mkdtempSync('/sys/fs/bpf/dtrace-ts-test-');
  const key = (pid: number) => new Uint8Array(new Uint32Array([pid]).buffer);
  try {
    const w1 = startWorkload(5);
    const first = loadObject(coreObject('pinned_map'), { globals: { target_tgid: w1.pid }, pinRoot });
    first.attachAll();
    assert.equal(await w1.go(), 0);
    first.close();
    assert.ok(existsSync(join(pinRoot, 'pinned_counts')), 'the map stays pinned after the object is closed');
    // A second load with the same target pid counts on in the pinned map.
    const w2 = startWorkload(7);
    const second = loadObject(coreObject('pinned_map'), { globals: { target_tgid: w2.pid }, pinRoot });
    try {
      second.attachAll();
      assert.equal(await w2.go(), 0);
      const m = second.map('pinned_counts')!.map;
      const count = (pid: number) => { const v = m.lookup(key(pid)); return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : undefined; };
      assert.equal(count(w1.pid), 5n, 'the first run\'s count is in the reused map');
      assert.equal(count(w2.pid), 7n);
    } finally {
      second.close();
    }
    assert.throws(() => loadObject(coreObject('pinned_map', ['MAX_ENTRIES=128']), { pinRoot }),
      (e: Error) => e instanceof ObjectLoadError && /map 'pinned_counts': the map pinned at .* is not compatible \(maxEntries 64, wanted 128\)/.test(e.message));
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
  }
});

test('dtrace bpf: usage, missing and non-BPF files are one clear line; gen types; prog list shows a loaded object; map dump types it by its BTF', { skip, timeout: 180_000 }, () => {
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'bpf', ...args], { encoding: 'utf8', timeout: 120_000 });
  const none = run([]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^Usage: dtrace bpf run FILE\.o/);
  const missing = run(['run', '/nonexistent/x.bpf.o']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'dtrace: bpf run: /nonexistent/x.bpf.o: no such file\n');
  const notBpf = run(['run', process.execPath]);
  assert.equal(notBpf.status, 1);
  assert.match(notBpf.stderr, /not a BPF object/);
  assert.equal(notBpf.stderr.split('\n').length, 2, 'one line, no stack trace');
  const types = run(['gen', 'types', coreObject('getpid_parent')]);
  assert.equal(types.status, 0, types.stderr);
  assert.match(types.stdout, /counts: \{ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4096 \} as MapInfo<number, bigint>,/);
  assert.match(types.stdout, /count_getpid: "tracepoint\/syscalls\/sys_enter_getpid",/);
  const features = run(['gen', 'types', coreObject('core_features')]);
  assert.match(features.stdout, /export interface result \{[^}]*subreaper: number;/);
  assert.match(features.stdout, /target_tgid\?: number;/);
  const o = loadObject(coreObject('getpid_parent'));
  try {
    const list = run(['prog', 'list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /: tracepoint {2}name count_getpid {2}tag [0-9a-f]{16}/);
    const maps = run(['map', 'list']);
    assert.match(maps.stdout, /: hash {2}name counts {2}flags 0x0\n\tkey 4B {2}value 8B {2}max_entries 4096/);
    // `map dump ID` types the entries by the BTF the map was created with, as bpftool does.
    o.map('counts')!.map.update(new Uint8Array(new Uint32Array([4242]).buffer), new Uint8Array(new BigUint64Array([99n]).buffer));
    const counts = [...maps.stdout.matchAll(/^(\d+): hash {2}name counts /gm)].map((m) => m[1]!);
    const dumps = counts.map((id) => run(['map', 'dump', id]).stdout);
    assert.ok(dumps.some((d) => /"key": 4242,\n\s*"value": 99\n/.test(d)), dumps.join('\n---\n'));
  } finally {
    o.close();
  }
});

test('perf event array: bpf_perf_event_output records reach dtrace bpf run through the perf buffer', { skip, timeout: 300_000 }, async () => {
  const calls = 6;
  const w = startWorkload(calls);
  const run = await startRun([coreObject('perf_output'), '--set', `target_tgid=${w.pid}`]);
  assert.equal(await w.go(), 0);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const records = run.stdout().split('\n').filter((l) => l.startsWith('pevents: ')).map((l) => Buffer.from(l.slice(9).replace(/ /g, ''), 'hex'));
  assert.equal(records.length, calls, run.stdout());
  assert.deepEqual(records.map((r) => r.readUInt32LE(0)), Array(calls).fill(w.pid));
  assert.deepEqual(records.map((r) => r.readUInt32LE(4)).sort((a, b) => a - b), [...Array(calls).keys()]);
});

test('usdt/PATH:python:function__entry with BPF_USDT: function names and lines from CPython\'s probe arguments', { skip: skip || (!usdtPython() && 'no python3.11 with USDT notes'), timeout: 300_000 }, async () => {
  const python = usdtPython()!;
  const child = spawn(python, ['-c', 'import sys\nsys.stdin.read(1)\ndef core_loader_probe():\n    pass\ncore_loader_probe()\n'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let run: Awaited<ReturnType<typeof startRun>>;
  try {
    run = await startRun([coreObject('usdt_python', [`PYTHON="${python}"`]), '--set', `target_tgid=${child.pid}`]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  child.stdin!.end('g');
  assert.equal(await done, 0);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const calls = run.stdout().split('\n').filter((l) => l.startsWith('calls: ')).map((l) => JSON.parse(l.slice(7)) as { func: string; line: number });
  assert.ok(calls.some((c) => c.func === 'core_loader_probe' && c.line === 3), run.stdout());
});
