/**
 * @fileoverview Pure parts of the pid/USDT providers: command lookup in PATH, the CLI's
 * held-before-exec command line, the modules an executable will load (DT_NEEDED + interpreter),
 * per-process provider naming, and USDT constant narrowing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolveCommand, heldCommandOf, modulesOfExecutable, processProviders, clearTargets, setTargetCommand, withProcessProviders } from './pid.js';
import { usdtConstantValue } from './usdt.js';

test('resolveCommand looks bare names up in PATH and keeps paths', () => {
  assert.equal(resolveCommand('sh', '/nonexistent:/bin'), '/bin/sh');
  assert.equal(resolveCommand('/bin/sh'), '/bin/sh');
  assert.equal(resolveCommand('no-such-command-xyz', '/bin'), undefined);
});

test('heldCommandOf reads the command of a process held by the -c wrapper', async () => {
  const child = spawn('/bin/sh', ['-c', 'read _ <&3; exec 3<&-; exec "$0" "$@"', 'true', 'arg'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  try {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(heldCommandOf(child.pid!), 'true');
    assert.equal(heldCommandOf(process.pid), undefined);
  } finally {
    child.kill('SIGKILL');
  }
});

test('modulesOfExecutable: the executable, its interpreter and libc, each once', () => {
  const mods = modulesOfExecutable('/bin/sh');
  assert.equal(mods[0]!.path, '/bin/sh');
  assert.equal(mods[0]!.isExecutable, true);
  assert.ok(mods.some((m) => m.name === 'libc.so.6' && !m.isExecutable), mods.map((m) => m.path).join(' '));
  assert.ok(mods.some((m) => m.name.startsWith('ld-linux')));
  assert.equal(new Set(mods.map((m) => m.inode)).size, mods.length);
});

test('a -c target gets pid<PID> and USDT providers in the provider list', { skip: existsSync('/usr/bin/python3.11') ? false : 'no /usr/bin/python3.11' }, () => {
  clearTargets();
  assert.deepEqual(withProcessProviders([]).filter((p) => /4242$/.test(p.name)), []);
  setTargetCommand(4242, '/usr/bin/python3.11');
  const list = withProcessProviders([]);
  const names = list.map((p) => p.name);
  assert.ok(names.includes('pid4242'));
  assert.ok(names.includes('python4242'), names.join(' '));
  assert.equal(processProviders(4242)[0], list[0], 'the same objects each time');
  const sites = list.find((p) => p.name === 'python4242')!.match({ provider: 'python4242', module: '', function: '', name: 'function-entry' });
  assert.equal(sites.length, 1);
  assert.equal(sites[0]!.module, 'python3.11');
  const pidSites = list[0]!.match({ provider: 'pid4242', module: 'libc.so.6', function: 'malloc', name: 'entry' });
  assert.deepEqual(pidSites.map((s) => `${s.module}:${s.function}:${s.name}`), ['libc.so.6:malloc:entry']);
  clearTargets();
});

test('usdtConstantValue narrows and extends like the operand size says', () => {
  assert.equal(usdtConstantValue(-1n, 4, true), -1n);
  assert.equal(usdtConstantValue(-1n, 4, false), 0xffffffffn);
  assert.equal(usdtConstantValue(0x1ffn, 1, false), 0xffn);
  assert.equal(usdtConstantValue(0x80n, 1, true), -128n);
});
