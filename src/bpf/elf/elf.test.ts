/**
 * @fileoverview The ELF reader against the committed fixture (test/fixtures/elf/sample, built
 * from sample.c) and, when present, system objects cross-checked with readelf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildId, debugLink, ElfFormatError, findSection, loadSegments, parseElf, readElfFile, readNotes, readSymbols, stapsdtBaseAddress } from './elf.js';

const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/elf/sample', import.meta.url));

test('header, sections and segments of the fixture', () => {
  const elf = readElfFile(FIXTURE);
  assert.equal(elf.header.fileType, 'DYN');
  assert.equal(elf.header.machine, 62);
  const text = findSection(elf, '.text');
  assert.ok(text && text.addr === 0x1050 && text.type === 1);
  assert.equal(findSection(elf, '.note.stapsdt')?.type, 7);
  const loads = loadSegments(elf);
  assert.equal(loads.length, 4);
  assert.deepEqual(loads.map((s) => [s.vaddr, s.fileOffset]), [[0, 0], [0x1000, 0x1000], [0x2000, 0x2000], [0x3dd0, 0x2dd0]]);
  assert.equal(loads[3]!.memSizeBytes, 0x258);
  assert.equal(stapsdtBaseAddress(elf), 0x2009);
  assert.equal(buildId(elf), '68084175a62e49668aba20afd31afe678cf0e7b6');
  assert.equal(debugLink(elf), undefined);
});

test('symbol tables of the fixture', () => {
  const elf = readElfFile(FIXTURE);
  const symtab = readSymbols(elf, 'symtab');
  const byName = new Map(symtab.map((s) => [s.name, s]));
  assert.deepEqual(
    [byName.get('add')?.value, byName.get('add')?.type, byName.get('add')?.binding],
    [0x114d, 'FUNC', 'GLOBAL'],
  );
  assert.deepEqual([byName.get('helper')?.value, byName.get('helper')?.binding], [0x1139, 'LOCAL']);
  assert.equal(byName.get('counter')?.type, 'OBJECT');
  assert.ok(byName.get('main')!.sizeBytes > 0);
  const dynsym = readSymbols(elf, 'dynsym');
  assert.ok(dynsym.some((s) => s.name === 'printf' && s.sectionIndex === 0), 'imports are undefined symbols');
  assert.ok(dynsym.every((s) => s.table === 'dynsym'));
  const funcsOnly = readSymbols(elf, 'symtab', (t) => t === 'FUNC');
  assert.ok(funcsOnly.length > 0 && funcsOnly.every((s) => s.type === 'FUNC'));
});

test('notes: build-id and stapsdt owners', () => {
  const elf = readElfFile(FIXTURE);
  const owners = readNotes(elf).map((n) => `${n.owner}/${n.type}`);
  assert.ok(owners.includes('GNU/3'));
  assert.equal(owners.filter((o) => o === 'stapsdt/3').length, 2);
  assert.equal(readNotes(elf, '.note.stapsdt').length, 2);
});

test('non-ELF, 32-bit, big-endian and truncated inputs raise ElfFormatError', () => {
  const expectFormatError = (buf: Buffer, re: RegExp): void => {
    assert.throws(() => parseElf(buf, 'x'), (e: unknown) => e instanceof ElfFormatError && e.kind === 'ElfFormatError' && re.test(e.message));
  };
  expectFormatError(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)), /not an ELF file/);
  expectFormatError(Buffer.alloc(10), /not an ELF file/);
  const good = readFileSync(FIXTURE);
  const b32 = Buffer.from(good); b32[4] = 1;
  expectFormatError(b32, /64-bit/);
  const be = Buffer.from(good); be[5] = 2;
  expectFormatError(be, /little-endian/);
  expectFormatError(good.subarray(0, 200), /beyond end of file/);
});

test('system libc: sections and dynamic symbols agree with readelf', { skip: !existsSync('/usr/lib/x86_64-linux-gnu/libc.so.6') && 'no /usr/lib/x86_64-linux-gnu/libc.so.6' }, (t) => {
  const path = '/usr/lib/x86_64-linux-gnu/libc.so.6';
  const elf = readElfFile(path);
  assert.equal(elf.header.fileType, 'DYN');
  const link = debugLink(elf);
  assert.ok(link && link.fileName.endsWith('.debug'), `debuglink ${JSON.stringify(link)}`);
  const r = spawnSync('readelf', ['-SW', '--dyn-syms', path], { encoding: 'utf8' });
  if (r.status !== 0) { t.skip('readelf not available'); return; }
  // `[ 0]` has no name (readelf shows its type there), so compare from section 1 on.
  const sectionNames = [...r.stdout.matchAll(/^\s*\[\s*([1-9]\d*)\]\s+(\S+)/gm)].map((m) => m[2]);
  assert.deepEqual(elf.sections.slice(1).map((s) => s.name), sectionNames);
  const mallocLine = /^\s*\d+: ([0-9a-f]+)\s+(\d+) FUNC\s+GLOBAL\s+DEFAULT\s+\d+ malloc@@/m.exec(r.stdout);
  assert.ok(mallocLine);
  const malloc = readSymbols(elf, 'dynsym').find((s) => s.name === 'malloc');
  assert.equal(malloc?.value, parseInt(mallocLine[1]!, 16));
  assert.equal(malloc?.sizeBytes, Number(mallocLine[2]));
});
