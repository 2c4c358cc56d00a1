/**
 * @fileoverview `dtrace -h` (a C header for the declared providers) and `dtrace -G` (an empty
 * object: headers already embed the probes on Linux).
 */
import { writeFileSync } from 'node:fs';
import type * as A from '../lang/ast.js';
import { headerOutputPath, type CliOptions } from './options.js';
import { generateHeader } from './header.js';
import type { ProgramText } from './programs.js';

/** `-h`: the C header for every provider the programs declare (header.ts), to -o or script.h. */
export function writeHeader(cli: CliOptions, asts: A.Program[], err: (t: string) => void): number {
  const where = headerOutputPath(cli);
  if (!where.ok) { err(where.message); return where.status; }
  const providers = asts.flatMap((a) => a.items.filter((i): i is A.ProviderDecl => i.kind === 'ProviderDecl'));
  try {
    writeFileSync(where.path, generateHeader(providers, { guardName: where.path }));
  } catch (e) {
    err(`dtrace: failed to open header file '${where.path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    return 1;
  }
  return 0;
}

/**
 * `-G`: on Solaris it links DOF into an object file. Here the header from `-h` already puts
 * each probe's stapsdt note and semaphore into the program, so there is nothing to link; an
 * empty relocatable object is still written where -G would write one, so build rules that
 * link it keep working.
 */
export function explainElfMode(cli: CliOptions, programs: ProgramText[], err: (t: string) => void): number {
  const first = programs[0];
  const path = cli.outputFile
    ?? (first?.kind === 'script' && first.label.endsWith('.d') ? `${first.label.slice(first.label.lastIndexOf('/') + 1, -2)}.o` : 'd.out');
  err(`dtrace: -G is not needed on Linux: headers made by dtrace -h embed the probes (stapsdt notes) in the program itself; wrote an empty object file ${path}`);
  try {
    writeFileSync(path, emptyRelocatableElf());
  } catch (e) {
    err(`dtrace: failed to create ${path}: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

/** An x86-64 ELF relocatable object with no content: the null section and .shstrtab. */
function emptyRelocatableElf(): Buffer {
  const EHDR = 64, SHDR = 64;
  const names = Buffer.from('\0.shstrtab\0', 'latin1');
  const shoff = (EHDR + names.length + 7) & ~7;
  const b = Buffer.alloc(shoff + 2 * SHDR);
  b.set([0x7f, 0x45, 0x4c, 0x46, /*ELFCLASS64*/ 2, /*ELFDATA2LSB*/ 1, /*EV_CURRENT*/ 1], 0);
  b.writeUInt16LE(/*ET_REL*/ 1, 16);
  b.writeUInt16LE(/*EM_X86_64*/ 62, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(shoff), 40);
  b.writeUInt16LE(EHDR, 52);
  b.writeUInt16LE(SHDR, 58);
  b.writeUInt16LE(2, 60);
  b.writeUInt16LE(/*e_shstrndx*/ 1, 62);
  names.copy(b, EHDR);
  const sh = shoff + SHDR;
  b.writeUInt32LE(/*sh_name*/ 1, sh);
  b.writeUInt32LE(/*SHT_STRTAB*/ 3, sh + 4);
  b.writeBigUInt64LE(BigInt(EHDR), sh + 24);
  b.writeBigUInt64LE(BigInt(names.length), sh + 32);
  b.writeBigUInt64LE(1n, sh + 48);
  return b;
}
