/**
 * @fileoverview USDT notes: the argument-spec parser (one case per line), pt_regs locations,
 * the committed fixture (probes written by our own -h header), the prelink fix-up, and the
 * real python3.11 / postgres binaries cross-checked against readelf -n when installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseElf } from './elf.js';
import { parseUsdtArgs, readUsdtProbes, registerSlot, usdtArgLocation, usdtArgType, usdtProbesOfElf, type UsdtOperand } from './stapsdt.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/elf/sample', import.meta.url));

function one(spec: string): UsdtOperand {
  const ops = parseUsdtArgs(spec);
  assert.equal(ops.length, 1, spec);
  return ops[0]!;
}

test('argument specs: registers, constants, memory', () => {
  assert.deepEqual(one('-4@%edi'), { sizeBytes: 4, signed: true, location: { kind: 'register', register: 'edi' }, text: '-4@%edi' });
  assert.deepEqual(one('8@%rax').location, { kind: 'register', register: 'rax' });
  assert.equal(one('8@%rax').signed, false);
  assert.deepEqual(one('1@%dil').location, { kind: 'register', register: 'dil' });
  assert.deepEqual(one('4@%r14d').location, { kind: 'register', register: 'r14d' });
  assert.deepEqual(one('-4@$5').location, { kind: 'constant', value: 5n });
  assert.deepEqual(one('-4@$-1').location, { kind: 'constant', value: -1n });
  assert.deepEqual(one('8@$0x10').location, { kind: 'constant', value: 16n });
  assert.deepEqual(one('8@-16(%rbp)').location, { kind: 'memory', base: 'rbp', index: undefined, scale: 1, displacement: -16 });
  assert.deepEqual(one('4@(%r12)').location, { kind: 'memory', base: 'r12', index: undefined, scale: 1, displacement: 0 });
  assert.deepEqual(one('-4@112(%rsp)').location, { kind: 'memory', base: 'rsp', index: undefined, scale: 1, displacement: 112 });
  assert.deepEqual(one('8@8+symbol(%rip)').location, { kind: 'memory', base: 'rip', index: undefined, scale: 1, displacement: 8, symbol: 'symbol' });
  assert.deepEqual(one('-4@NBuffers(%rip)').location, { kind: 'memory', base: 'rip', index: undefined, scale: 1, displacement: 0, symbol: 'NBuffers' });
  assert.deepEqual(one('8@sym-4(%rip)').location, { kind: 'memory', base: 'rip', index: undefined, scale: 1, displacement: -4, symbol: 'sym' });
  assert.deepEqual(one('8@16(%rax,%rdx,8)').location, { kind: 'memory', base: 'rax', index: 'rdx', scale: 8, displacement: 16 });
  assert.deepEqual(one('2@12(%r12)').sizeBytes, 2);
});

test('argument specs: lists, legacy form and errors', () => {
  assert.deepEqual(parseUsdtArgs('-4@-4(%rbp) 8@%rax -4@$18').map((o) => o.text), ['-4@-4(%rbp)', '8@%rax', '-4@$18']);
  assert.deepEqual(parseUsdtArgs(''), []);
  assert.deepEqual(parseUsdtArgs('  '), []);
  const legacy = one('%rdi');
  assert.deepEqual([legacy.sizeBytes, legacy.signed, legacy.location.kind], [8, true, 'register']);
  assert.throws(() => parseUsdtArgs('3@%eax'), /size 3/);
  assert.throws(() => parseUsdtArgs('8@%foo'), /unknown register %foo/);
  assert.throws(() => parseUsdtArgs('8@1(%rax'), /cannot parse/);
});

test('pt_regs locations and D types', () => {
  assert.deepEqual(registerSlot('rdi'), { register: 'rdi', ptRegsOffset: 112, registerSizeBytes: 8, bitShift: 0 });
  assert.deepEqual(registerSlot('edi'), { register: 'edi', ptRegsOffset: 112, registerSizeBytes: 4, bitShift: 0 });
  assert.deepEqual(registerSlot('al'), { register: 'al', ptRegsOffset: 80, registerSizeBytes: 1, bitShift: 0 });
  assert.deepEqual(registerSlot('ah'), { register: 'ah', ptRegsOffset: 80, registerSizeBytes: 1, bitShift: 8 });
  assert.equal(registerSlot('r15')!.ptRegsOffset, 0);
  assert.equal(registerSlot('r9w')!.ptRegsOffset, 64);
  assert.equal(registerSlot('rsp')!.ptRegsOffset, 152);
  assert.equal(registerSlot('rip')!.ptRegsOffset, 128);
  assert.equal(registerSlot('ebp')!.ptRegsOffset, 32);
  assert.equal(registerSlot('xmm0'), undefined);

  const reg = usdtArgLocation(one('-4@%esi'));
  assert.deepEqual(reg, { kind: 'register', slot: registerSlot('esi'), sizeBytes: 4, signed: true });
  const mem = usdtArgLocation(one('8@-16(%rbp)'));
  assert.deepEqual(mem, { kind: 'memory', base: registerSlot('rbp'), scale: 1, displacement: -16, sizeBytes: 8, signed: false });
  const rip = usdtArgLocation(one('-4@NBuffers(%rip)'));
  assert.deepEqual(rip, { kind: 'memory', scale: 1, displacement: 0, symbol: 'NBuffers', sizeBytes: 4, signed: true }, 'sym(%rip) is the symbol address');
  assert.deepEqual(usdtArgLocation(one('-4@$7')), { kind: 'constant', value: 7n, sizeBytes: 4, signed: true });
  assert.equal(usdtArgType(one('-4@%eax')), 'int32_t');
  assert.equal(usdtArgType(one('8@%rax')), 'uint64_t');
  assert.equal(usdtArgType(one('1@%al')), 'uint8_t');
});

test('fixture: probes written by the -h header', () => {
  const probes = readUsdtProbes(FIXTURE);
  assert.equal(probes.length, 2);
  const [step, tick] = probes;
  assert.deepEqual(
    { p: step!.provider, n: step!.name, note: step!.noteName, m: step!.module, f: step!.function, pc: step!.pc, off: step!.pcFileOffset, sem: step!.semaphore, semOff: step!.semaphoreFileOffset, args: step!.argsText },
    { p: 'fixture', n: 'big-step', note: 'big__step', m: 'sample', f: 'helper', pc: 0x1141, off: 0x1141, sem: 0x401a, semOff: 0x301a, args: '-8@%rdx 1@%dil' },
  );
  assert.deepEqual(step!.args.map(usdtArgType), ['int64_t', 'uint8_t']);
  assert.deepEqual([tick!.name, tick!.function, tick!.pc, tick!.semaphoreFileOffset, tick!.argsText], ['tick', 'tick', 0x115b, 0x3018, '-4@%edi 8@%rsi']);
});

test('prelink fix-up: a recorded base that differs from .stapsdt.base shifts pc and semaphore', () => {
  const buf = Buffer.from(readFileSync(FIXTURE));
  const elf = parseElf(buf, FIXTURE);
  const before = usdtProbesOfElf(elf);
  // Pretend the object was linked 0x10 lower: the notes record base - 0x10, pc - 0x10 …
  const note = elf.sections.find((s) => s.name === '.note.stapsdt')!;
  let o = note.fileOffset;
  while (o < note.fileOffset + note.sizeBytes) {
    const nameSize = buf.readUInt32LE(o);
    const descSize = buf.readUInt32LE(o + 4);
    const desc = o + 12 + ((nameSize + 3) & ~3);
    for (const field of [0, 8, 16]) buf.writeBigUInt64LE(buf.readBigUInt64LE(desc + field) - 0x10n, desc + field);
    o = desc + ((descSize + 3) & ~3);
  }
  const after = usdtProbesOfElf(parseElf(buf, FIXTURE));
  assert.deepEqual(after.map((p) => [p.pc, p.semaphore, p.pcFileOffset]), before.map((p) => [p.pc, p.semaphore, p.pcFileOffset]));
});

/** `readelf -n` stapsdt entries: provider, name, location, semaphore, args. */
function readelfNotes(path: string): { provider: string; name: string; pc: number; sem: number; args: string }[] | undefined {
  const r = spawnSync('readelf', ['-n', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return undefined;
  const re = /Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: 0x([0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: 0x([0-9a-f]+)\n\s+Arguments: ?([^\n]*)/g;
  return [...r.stdout.matchAll(re)].map((m) => ({ provider: m[1]!, name: m[2]!, pc: parseInt(m[3]!, 16), sem: parseInt(m[4]!, 16), args: m[5]!.trim() }));
}

function checkAgainstReadelf(path: string, t: { skip(msg: string): void }): ReturnType<typeof readUsdtProbes> | undefined {
  const probes = readUsdtProbes(path);
  const expected = readelfNotes(path);
  if (!expected) { t.skip('readelf not available'); return undefined; }
  assert.equal(probes.length, expected.length);
  probes.forEach((p, i) => {
    const e = expected[i]!;
    assert.deepEqual([p.provider, p.noteName, p.pc, p.semaphore, p.argsText], [e.provider, e.name, e.pc, e.sem, e.args]);
    assert.equal(p.args.length, e.args === '' ? 0 : e.args.split(/\s+/).length, `${p.noteName}: every operand parsed`);
    assert.ok(p.semaphore === 0 || p.semaphoreFileOffset !== undefined);
  });
  return probes;
}

const PYTHON = '/usr/bin/python3.11';
test('python3.11 probes', { skip: !existsSync(PYTHON) && `${PYTHON} not installed (apt-get install python3.11)` }, (t) => {
  const probes = checkAgainstReadelf(PYTHON, t);
  if (!probes) return;
  const byName = new Map(probes.map((p) => [p.name, p]));
  for (const n of ['function-entry', 'function-return', 'line', 'gc-start', 'gc-done']) assert.ok(byName.has(n), n);
  assert.ok(probes.every((p) => p.provider === 'python' && p.module === 'python3.11'));
  assert.equal(byName.get('function-entry')!.args.length, 3);
  assert.equal(byName.get('gc-start')!.args.length, 1);
  assert.ok(probes.every((p) => p.semaphoreFileOffset !== undefined), 'python guards every probe with a semaphore');
});

const POSTGRES = '/usr/lib/postgresql/15/bin/postgres';
test('postgres 15 probes', { skip: !existsSync(POSTGRES) && `${POSTGRES} not installed (apt-get install postgresql)` }, (t) => {
  const probes = checkAgainstReadelf(POSTGRES, t);
  if (!probes) return;
  const byName = new Map(probes.map((p) => [p.name, p]));
  for (const n of ['transaction-start', 'transaction-commit', 'query-start', 'lock-wait-start', 'checkpoint-start']) assert.ok(byName.has(n), n);
  assert.equal(byName.get('transaction-start')!.args.length, 1);
  assert.equal(byName.get('query-start')!.args.length, 1);
  const rip = probes.flatMap((p) => p.args).find((a) => a.location.kind === 'memory' && a.location.symbol !== undefined);
  assert.ok(rip, 'postgres has a sym(%rip) operand');
  const loc = rip.location as { symbol: string; symbolVaddr?: number };
  const r = spawnSync('nm', ['-D', '--defined-only', POSTGRES], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const nmLine = new RegExp(`^([0-9a-f]+) \\w ${loc.symbol}$`, 'm').exec(r.stdout ?? '');
  if (nmLine) assert.equal(loc.symbolVaddr, parseInt(nmLine[1]!, 16), `${loc.symbol} resolved`);
  assert.ok(probes.some((p) => p.function !== '-'), 'functions named from symbols');
});
