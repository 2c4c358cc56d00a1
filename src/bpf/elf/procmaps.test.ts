/**
 * @fileoverview /proc/PID/maps parsing, module naming and matching, and pid probe
 * resolution, on fixed maps text and on live child processes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readElfFile } from './elf.js';
import { fileOffsetOf, functionSymbols } from './symbols.js';
import { mappingAt, matchModule, modulesOfMaps, parseProcMaps, processModules, resolvePidProbes, resolvePidProbesIn, type ProcessModule } from './procmaps.js';
import { resolveUsdtProbes } from './stapsdt.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/elf/sample', import.meta.url));

const MAPS = `55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234 /usr/bin/my prog
55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 1234 /usr/bin/my prog
55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]
7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 777 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2a028000-7f1c2a1bd000 r-xp 00028000 08:01 777 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2a300000-7f1c2a301000 r-xp 00000000 08:01 999 /tmp/libgone.so (deleted)
7ffd1a2b3000-7ffd1a2b5000 r-xp 00000000 00:00 0                          [vdso]
`;

test('parseProcMaps reads every field, paths with spaces and deleted files', () => {
  const maps = parseProcMaps(MAPS);
  assert.equal(maps.length, 7);
  assert.deepEqual(maps[1], { start: 0x55d0c0a01000, end: 0x55d0c0a02000, perms: 'r-xp', fileOffset: 0x1000, dev: '08:01', inode: 1234, path: '/usr/bin/my prog', deleted: false });
  assert.equal(maps[2]!.path, '[heap]');
  assert.deepEqual([maps[5]!.path, maps[5]!.deleted], ['/tmp/libgone.so', true]);
  assert.equal(mappingAt(maps, 0x7f1c2a028010)?.fileOffset, 0x28000);
  assert.equal(mappingAt(maps, 0x7f1c2a1bd000), undefined, 'end is exclusive');
  assert.equal(mappingAt(maps, 0x10), undefined);
});

test('modules: base names, the executable, matching rules', () => {
  const mods = modulesOfMaps(parseProcMaps(MAPS), '/usr/bin/my prog');
  assert.deepEqual(mods.map((m) => [m.name, m.isExecutable, m.mappings.length]), [['my prog', true, 2], ['libc.so.6', false, 2], ['libgone.so', false, 1]]);
  const [exe, libc] = mods as [ProcessModule, ProcessModule];
  assert.equal(matchModule('a.out', exe), true);
  assert.equal(matchModule('a.out', libc), false);
  assert.equal(matchModule('libc.so.6', libc), true);
  assert.equal(matchModule('libc', libc), true);
  assert.equal(matchModule('libc.so', libc), true);
  assert.equal(matchModule('libc.s', libc), false);
  assert.equal(matchModule('lib*', libc), true);
  assert.equal(matchModule('/usr/lib/x86_64-linux-gnu/libc.so.6', libc), true);
  assert.equal(matchModule('', libc), true);
  assert.equal(matchModule(undefined, exe), true);
});

function fixtureModule(): ProcessModule {
  const st = statSync(FIXTURE);
  const m = { start: 0x1000, end: 0x2000, perms: 'r-xp', fileOffset: 0, dev: '00:00', inode: st.ino, path: FIXTURE, deleted: false };
  return { name: 'sample', path: FIXTURE, dev: '00:00', inode: st.ino, isExecutable: true, mappings: [m] };
}

test('resolvePidProbesIn: entry, return, offsets, globs and absolute addresses', () => {
  const mods = [fixtureModule()];
  const add = resolvePidProbesIn(42, mods, { module: 'sample', function: 'add', name: 'entry' });
  assert.deepEqual(add, [{ pid: 42, path: FIXTURE, fileOffset: 0x114d, module: 'sample', function: 'add', symbolAddr: 0x114d, probeName: 'entry', kind: 'entry' }]);
  const ret = resolvePidProbesIn(42, mods, { module: 'a.out', function: 'tick', name: 'return' });
  assert.deepEqual(ret.map((s) => [s.function, s.kind, s.fileOffset]), [['tick', 'return', 0x1151]]);
  // An empty name: entry, return and a probe per instruction (objdump: 0 4 8 9 10 13).
  const both = resolvePidProbesIn(42, mods, { module: 'sample', function: 'helper', name: '' });
  assert.deepEqual(both.map((s) => s.kind === 'offset' ? s.probeName : s.kind), ['entry', 'return', '0', '4', '8', '9', '10', '13']);
  assert.deepEqual(both.filter((s) => s.kind === 'offset').map((s) => s.fileOffset - 0x1139), [0, 4, 8, 9, 0x10, 0x13]);
  const globbed = resolvePidProbesIn(42, mods, { module: 'sample', function: 'helper', name: '1?' });
  assert.deepEqual(globbed.map((s) => s.probeName), ['10', '13']);
  const off = resolvePidProbesIn(42, mods, { function: 'tick', name: 'a' });
  assert.deepEqual(off.map((s) => [s.probeName, s.kind, s.fileOffset]), [['a', 'offset', 0x1151 + 0xa]]);
  const tickSize = functionSymbols(readElfFile(FIXTURE)).find((f) => f.name === 'tick')!.sizeBytes;
  assert.deepEqual(resolvePidProbesIn(42, mods, { function: 'tick', name: tickSize.toString(16) }), [], 'offset past the end');
  const aliases = resolvePidProbesIn(42, mods, { function: '*add', name: 'entry' });
  assert.deepEqual(aliases.map((s) => s.function).sort(), ['__sample_add', 'add']);
  const abs = resolvePidProbesIn(42, mods, { module: 'a.out', function: '-', name: '1141' });
  assert.deepEqual(abs.map((s) => [s.function, s.fileOffset, s.kind]), [['-', 0x1141, 'offset']]);
  assert.deepEqual(resolvePidProbesIn(42, mods, { module: 'libc.so.6', function: 'add', name: 'entry' }), []);
  // The entry point (_start, e_entry 0x1050) has an entry probe but no return probe: a
  // uretprobe there would overwrite argc, where its return address would be.
  assert.deepEqual(resolvePidProbesIn(42, mods, { module: 'a.out', function: '_start', name: '' }).filter((s) => s.kind !== 'offset').map((s) => s.kind), ['entry']);
  assert.deepEqual(resolvePidProbesIn(42, mods, { module: 'a.out', function: '_start', name: 'return' }), []);
  assert.ok(resolvePidProbesIn(42, mods, { module: 'a.out', function: '', name: 'return' }).some((s) => s.function === 'main'));
});

async function startChild(cmd: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  // Wait until the exec has happened and the libraries are mapped.
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${child.pid}/exe`) !== process.execPath && processModules(child.pid!).some((m) => m.name.startsWith('libc'))) break;
    } catch { /* not yet */ }
    await sleep(10);
  }
  return child;
}

test('live process: libc malloc entry has the file offset computed from the ELF', { skip: !existsSync('/usr/bin/sleep') && 'no /usr/bin/sleep' }, async () => {
  const child = await startChild('/usr/bin/sleep', ['10']);
  try {
    const pid = child.pid!;
    const mods = processModules(pid);
    const exe = mods.find((m) => m.isExecutable)!;
    assert.equal(exe.name, 'sleep');
    const libc = mods.find((m) => m.name.startsWith('libc.so'))!;
    const sites = resolvePidProbes(pid, { module: 'libc', function: 'malloc', name: 'entry' });
    assert.equal(sites.length, 1);
    const elf = readElfFile(libc.path);
    const malloc = functionSymbols(elf).find((f) => f.name === 'malloc')!;
    assert.deepEqual([sites[0]!.module, sites[0]!.fileOffset, sites[0]!.pid], [libc.name, fileOffsetOf(elf, malloc.value), pid]);
    const many = resolvePidProbes(pid, { module: 'libc.so.6', function: 'str*', name: 'entry' });
    assert.ok(many.length > 10 && many.every((s) => s.function.startsWith('str')));
  } finally {
    child.kill('SIGKILL');
  }
});

test('live process: python3.11 USDT probes are named provider<PID>', { skip: !existsSync('/usr/bin/python3.11') && 'python3.11 not installed' }, async () => {
  const child = await startChild('/usr/bin/python3.11', ['-c', 'import time; time.sleep(10)']);
  try {
    const pid = child.pid!;
    const probes = resolveUsdtProbes(pid, { provider: 'python*', name: 'function-entry' });
    assert.equal(probes.length, 1);
    assert.deepEqual([probes[0]!.provider, probes[0]!.module, probes[0]!.name], [`python${pid}`, 'python3.11', 'function-entry']);
    assert.ok(probes[0]!.probe.semaphoreFileOffset !== undefined);
    assert.deepEqual(resolveUsdtProbes(pid, { provider: 'python1', name: 'line' }), [], 'another pid does not match');
    assert.ok(resolveUsdtProbes(pid, { provider: `python${pid}` }).length >= 8);
  } finally {
    child.kill('SIGKILL');
  }
});
