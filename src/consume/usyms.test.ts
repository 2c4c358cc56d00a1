/**
 * @fileoverview User-space symbolisation: registered snapshots over the committed fixture,
 * a live child process, and a process that has exited after its snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readElfFile } from '../bpf/elf/elf.js';
import { fileOffsetOf, functionSymbols } from '../bpf/elf/symbols.js';
import { parseProcMaps, readProcMaps } from '../bpf/elf/procmaps.js';
import { forgetProcess, formatUserAddress, formatUserFunction, formatUserModule, lookupUser, registerSnapshot, snapshotProcess } from './usyms.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/elf/sample', import.meta.url));

test('registered snapshot: PIE fixture loaded at a bias', () => {
  const ino = statSync(FIXTURE).ino;
  const bias = 0x555555554000;
  const line = (start: number, end: number, perms: string, off: number): string =>
    `${start.toString(16)}-${end.toString(16)} ${perms} ${off.toString(16).padStart(8, '0')} 00:2a ${ino} ${FIXTURE}`;
  const maps = [line(bias, bias + 0x1000, 'r--p', 0), line(bias + 0x1000, bias + 0x2000, 'r-xp', 0x1000)];
  const pid = 999_001;
  registerSnapshot(pid, parseProcMaps(maps.join('\n')), FIXTURE);
  assert.equal(formatUserAddress(pid, bias + 0x114d), 'sample`add');
  assert.equal(formatUserAddress(pid, BigInt(bias + 0x1141)), 'sample`helper+0x8');
  assert.equal(formatUserFunction(pid, bias + 0x1160), 'sample`tick');
  assert.equal(formatUserModule(pid, bias + 0x1160), 'sample');
  assert.equal(formatUserAddress(pid, bias + 0x1000), 'sample`_init');
  assert.equal(formatUserAddress(pid, bias + 0x1008), 'sample`0x555555555008', 'zero-sized symbols cover only their address');
  assert.equal(formatUserAddress(pid, bias + 0x10), 'sample`0x555555554010', 'mapped, no symbol');
  assert.equal(formatUserAddress(pid, 0x1234), '0x1234', 'unmapped');
  assert.equal(formatUserAddress(pid, bias + 0x1141, { noresolve: true }), `${FIXTURE}:0x1141`);
  assert.deepEqual(lookupUser(pid, bias + 0x1141), { module: 'sample', path: FIXTURE, fileOffset: 0x1141, name: 'helper', offset: 8 });
  forgetProcess(pid);
});

test('live child: libc addresses resolve, and keep resolving after it exits', { skip: !existsSync('/usr/bin/sleep') && 'no /usr/bin/sleep' }, async () => {
  const child = spawn('/usr/bin/sleep', ['10'], { stdio: 'ignore' });
  const pid = child.pid!;
  let maps = readProcMaps(pid);
  for (let i = 0; i < 200 && !(readlinkSync(`/proc/${pid}/exe`).endsWith('sleep') && maps.some((m) => m.path.includes('libc.so'))); i++) {
    await sleep(10);
    maps = readProcMaps(pid);
  }
  const libcMap = maps.find((m) => m.path.includes('libc.so') && m.perms.includes('x'))!;
  assert.ok(libcMap);
  const elf = readElfFile(libcMap.path);
  const malloc = functionSymbols(elf).find((f) => f.name === 'malloc')!;
  const runtime = libcMap.start - libcMap.fileOffset + fileOffsetOf(elf, malloc.value)!;
  forgetProcess(pid);
  assert.ok(snapshotProcess(pid));
  const libcName = libcMap.path.split('/').pop()!;
  assert.equal(formatUserAddress(pid, runtime + 0x12), `${libcName}\`malloc+0x12`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await sleep(20);
  assert.equal(existsSync(`/proc/${pid}/maps`), false, 'the child is gone');
  assert.equal(formatUserAddress(pid, runtime), `${libcName}\`malloc`, 'the snapshot outlives the process');
  forgetProcess(pid);
  assert.equal(formatUserAddress(pid, runtime), `0x${runtime.toString(16)}`, 'nothing known about it now');
});
