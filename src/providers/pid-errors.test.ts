/**
 * @fileoverview pid descriptions DTrace refuses outright (D_PROC_*), checked against /bin/sh's
 * real modules, and `#!` scripts, whose a.out is their interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modulesOfExecutable, programOf, pidProviderFor } from './pid.js';
import { pidDescriptionError } from './pid-errors.js';
import { probeDescriptionError } from './registry.js';

const mods = modulesOfExecutable('/bin/sh');
const check = (module: string, func: string, name: string) => pidDescriptionError(process.pid, mods, { provider: 'pid1', module, function: func, name })?.tag;

test('a function a named module lacks is D_PROC_FUNC; in a glob or absent module it only matches nothing', () => {
  assert.equal(check('a.out', 'no_such_function_xyz', 'entry'), 'D_PROC_FUNC');
  assert.equal(check('libc.so.6', 'no_such_function_xyz', 'entry'), 'D_PROC_FUNC');
  assert.equal(check('', 'no_such_function_xyz', 'entry'), undefined);
  assert.equal(check('libc*', 'no_such_function_xyz', 'entry'), undefined);
  assert.equal(check('libnothere.so', 'malloc', 'entry'), undefined);
});

test('a probe name that is not entry, return, a glob or hex is D_PROC_NAME; an offset past the end D_PROC_OFF', () => {
  assert.equal(check('libc.so.6', 'malloc', 'beginning'), 'D_PROC_NAME');
  assert.equal(check('libc.so.6', 'mallo*', 'beginning'), 'D_PROC_NAME');
  assert.equal(check('libc.so.6', 'malloc', 'fffffff'), 'D_PROC_OFF');
  assert.equal(check('', '_exit', '100000'), 'D_PROC_OFF');
  for (const name of ['entry', 'return', '0', '', 'ent*']) assert.equal(check('libc.so.6', 'malloc', name), undefined, name);
  // A name no function gets to is not checked.
  assert.equal(check('libc.so.6', 'no_such_function_*', 'beginning'), undefined);
});

test("the '-' function takes one address in the executable", () => {
  assert.equal(check('libc', '-', '800'), 'D_PROC_LIB');
  assert.equal(check('a.*', '-', '800'), 'D_PROC_LIB');
  assert.equal(check('', '-', ''), 'D_PROC_NAME');
  assert.equal(check('', '-', '10*'), 'D_PROC_NAME');
  assert.equal(check('a.out', '-', '400'), undefined);
  assert.equal(check('', '-', '400'), undefined);
});

test('pid0 is never a valid pid provider', () => {
  const e = probeDescriptionError({ provider: 'pid0', module: '', function: '', name: 'entry' }, []);
  assert.deepEqual(e, { tag: 'D_PROC_BADPID', message: 'pid0 does not contain a valid pid' });
  assert.equal(probeDescriptionError({ provider: 'pid01', module: '', function: '', name: 'entry' }, []), undefined);
});

test("a script's program is its interpreter (through nested #! lines); its modules are the interpreter's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-script-'));
  try {
    const inner = join(dir, 'inner');
    writeFileSync(inner, '#!/bin/sh -e\necho hi\n');
    chmodSync(inner, 0o755);
    const outer = join(dir, 'outer');
    writeFileSync(outer, `#!${inner}\n`);
    assert.equal(programOf(inner), '/bin/sh');
    assert.equal(programOf(outer), '/bin/sh');
    assert.equal(programOf('/bin/sh'), '/bin/sh');
    const scriptMods = modulesOfExecutable(inner);
    assert.equal(scriptMods[0]!.path, '/bin/sh');
    assert.ok(scriptMods.some((m) => m.name === 'libc.so.6'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('only a provider field ending in a pid gets the pid checks', () => {
  const provider = pidProviderFor(process.pid, () => mods);
  const desc = { module: '', function: '', name: 'profile-97' };
  assert.equal(probeDescriptionError({ provider: '', ...desc }, [provider]), undefined);
  assert.equal(probeDescriptionError({ provider: 'pid*', ...desc }, [provider]), undefined);
  assert.equal(probeDescriptionError({ provider: `pid${process.pid}`, ...desc }, [provider])?.tag, 'D_PROC_NAME');
});
