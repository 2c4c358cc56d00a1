/**
 * @fileoverview Function symbols, address ↔ file offset conversion and symbol lookup, on the
 * committed fixture and cross-checked against nm/readelf for a system library.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readElfFile, parseElf } from './elf.js';
import { type FunctionSymbol, fileOffsetOf, functionSymbols, lookupSymbol, vaddrOfFileOffset } from './symbols.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/elf/sample', import.meta.url));

test('functionSymbols merges .symtab and .dynsym, dedupes and sorts', () => {
  const elf = readElfFile(FIXTURE);
  const funcs = functionSymbols(elf);
  const names = funcs.map((f) => f.name);
  for (const n of ['add', '__sample_add', 'helper', 'tick', 'main', '_start']) assert.ok(names.includes(n), n);
  assert.ok(!names.includes('printf'), 'imports are not functions of this object');
  assert.ok(!names.includes('counter'), 'objects are not functions');
  assert.equal(new Set(funcs.map((f) => `${f.name}@${f.value}`)).size, funcs.length, 'no duplicates');
  for (let i = 1; i < funcs.length; i++) assert.ok(funcs[i - 1]!.value <= funcs[i]!.value, 'sorted by address');
  assert.equal(functionSymbols(elf), funcs, 'cached per file');
});

test('fileOffsetOf / vaddrOfFileOffset go through PT_LOAD segments', () => {
  const elf = readElfFile(FIXTURE);
  assert.equal(fileOffsetOf(elf, 0x114d), 0x114d); // text: vaddr == offset in this file
  assert.equal(fileOffsetOf(elf, 0x401a), 0x301a); // data segment: vaddr 0x3dd0 at offset 0x2dd0
  assert.equal(fileOffsetOf(elf, 0x4030), undefined, '.bss has no file bytes');
  assert.equal(fileOffsetOf(elf, 0x900000), undefined);
  assert.equal(vaddrOfFileOffset(elf, 0x301a), 0x401a);
  assert.equal(vaddrOfFileOffset(elf, 0x114d), 0x114d);
});

test('lookupSymbol: containment, aliases and misses', () => {
  const elf = readElfFile(FIXTURE);
  assert.deepEqual(pick(lookupSymbol(elf, 0x114d)), ['add', 0], 'the alias without leading underscores wins');
  assert.deepEqual(pick(lookupSymbol(elf, 0x1141)), ['helper', 8], 'static functions from .symtab');
  assert.deepEqual(pick(lookupSymbol(elf, 0x115b)), ['tick', 10]);
  const main = functionSymbols(elf).find((f) => f.name === 'main')!;
  assert.deepEqual(pick(lookupSymbol(elf, main.value + main.sizeBytes - 1)), ['main', main.sizeBytes - 1]);
  assert.equal(lookupSymbol(elf, 0x10), undefined);
  assert.equal(lookupSymbol(elf, 0x7fff0000), undefined);
});

function pick(r: ReturnType<typeof lookupSymbol>): [string, number] | undefined {
  return r ? [r.name, r.offset] : undefined;
}

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
test('libc: function addresses and sizes match nm -D', { skip: !existsSync(LIBC) && `no ${LIBC}` }, (t) => {
  const r = spawnSync('nm', ['-D', '-S', '--defined-only', LIBC], { encoding: 'utf8' });
  if (r.status !== 0) { t.skip('nm not available'); return; }
  const elf = readElfFile(LIBC);
  // Versioned symbols (fmemopen@GLIBC_2.2.5, fmemopen@@GLIBC_2.22) share a name.
  const funcs = new Map<string, FunctionSymbol[]>();
  for (const f of functionSymbols(elf)) funcs.set(f.name, [...(funcs.get(f.name) ?? []), f]);
  let checked = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) [TiW] (\w+)(@.*)?$/.exec(line);
    if (!m) continue;
    const f = funcs.get(m[3]!)?.find((x) => x.value === parseInt(m[1]!, 16));
    assert.ok(f, `${m[3]} at ${m[1]} missing`);
    assert.equal(f.value, parseInt(m[1]!, 16), m[3]);
    assert.equal(f.sizeBytes, parseInt(m[2]!, 16), m[3]);
    checked++;
  }
  assert.ok(checked > 1000, `checked ${checked}`);
  const malloc = funcs.get('malloc')![0]!;
  assert.equal(lookupSymbol(elf, malloc.value + 0x12)?.symbol.value, malloc.value);
});

test('a relocatable-looking file without segments has no file offsets', () => {
  const elf = parseElf(Buffer.concat([readElfFileHeaderOnly()]), 'hdr');
  assert.equal(fileOffsetOf(elf, 0x1000), undefined);
  assert.deepEqual(functionSymbols(elf), []);
});

/** An ELF64 header with no sections and no segments. */
function readElfFileHeaderOnly(): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.writeUInt16LE(1, 16); // ET_REL
  b.writeUInt16LE(62, 18);
  return b;
}
