import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { instructionLength, instructionOffsets, uprobeRefusal } from './x86-length.js';
import { readElfFile } from './elf.js';
import { fileOffsetOf, functionSymbols } from './symbols.js';

const hex = (s: string) => Uint8Array.from(s.split(' ').map((b) => parseInt(b, 16)));

test('x86-64 instruction lengths: prefixes, REX, ModRM/SIB/displacement, immediates, VEX and EVEX', () => {
  const cases: [string, number][] = [
    ['55', 1], // push rbp
    ['48 89 e5', 3], // mov rbp, rsp
    ['f3 0f 1e fa', 4], // endbr64
    ['48 8b 05 00 00 00 00', 7], // mov rax, [rip+0]
    ['48 8b 44 24 08', 5], // mov rax, [rsp+8]
    ['48 8b 84 24 00 01 00 00', 8], // mov rax, [rsp+0x100]
    ['8b 04 25 00 00 00 00', 7], // mov eax, [abs32] (SIB, no base)
    ['48 b8 01 02 03 04 05 06 07 08', 10], // movabs rax, imm64
    ['b8 01 00 00 00', 5], // mov eax, 1
    ['66 b8 01 00', 4], // mov ax, 1
    ['e8 00 00 00 00', 5], // call rel32
    ['0f 84 00 00 00 00', 6], // je rel32
    ['74 05', 2], // je rel8
    ['f6 c1 01', 3], // test cl, 1
    ['f7 c1 01 00 00 00', 6], // test ecx, 1
    ['f7 d9', 2], // neg ecx (F7 /3: no immediate)
    ['48 83 ec 08', 4], // sub rsp, 8
    ['48 81 ec 00 01 00 00', 7], // sub rsp, 0x100
    ['c2 08 00', 3], // ret 8
    ['66 0f 1f 44 00 00', 6], // nop word [rax+rax]
    ['66 2e 0f 1f 84 00 00 00 00 00', 10], // cs nop
    ['c5 f9 6f 06', 4], // vmovdqa xmm0, [rsi]
    ['c4 e2 7d 00 c1', 5], // vpshufb ymm0, ymm0, ymm1 (map 0F38)
    ['c4 e3 7d 39 c1 01', 6], // vextracti128 xmm1, ymm0, 1 (map 0F3A: imm8)
    ['c5 f1 73 d8 08', 5], // vpsrldq xmm1, xmm0, 8 (map 0F, imm8)
    ['62 f1 7d 48 6f 06', 6], // vmovdqa32 zmm0, [rsi]
    ['62 b1 fe 28 6f 44 24 01', 8], // vmovdqu64 ymm0, [rsp+0x20] (disp8*N)
    ['a1 00 00 00 00 00 00 00 00', 9], // mov eax, [moffs64]
    ['0f 0b', 2], // ud2
    ['f0 48 0f b1 11', 5], // lock cmpxchg [rcx], rdx
  ];
  for (const [bytes, len] of cases) assert.equal(instructionLength(hex(bytes), 0), len, bytes);
  assert.equal(instructionLength(hex('06'), 0), undefined, 'push es is invalid in 64-bit mode');
  assert.equal(instructionLength(hex('48 8b'), 0), undefined, 'truncated');
  assert.deepEqual(instructionOffsets(hex('55 48 89 e5 5d c3')), { offsets: [0, 1, 4, 5], complete: true });
});

/** objdump's instruction addresses of one binary's .text, as a set. */
function objdumpAddresses(path: string): Set<number> {
  const r = spawnSync('objdump', ['-d', '--no-show-raw-insn', '-j', '.text', path], { encoding: 'latin1', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const out = new Set<number>();
  for (const m of r.stdout.matchAll(/^ *([0-9a-f]+):\t(.*)$/gm)) if (!/\(bad\)|^\.byte/.test(m[2]!)) out.add(parseInt(m[1]!, 16));
  return out;
}

const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib64/libc.so.6'].find((p) => existsSync(p));
const noObjdump = spawnSync('objdump', ['--version']).status !== 0;

test('instruction boundaries of every function of libc agree with objdump\'s', { skip: !libc ? 'no libc.so.6' : noObjdump ? 'no objdump (binutils)' : false }, (t) => {
  const elf = readElfFile(libc!);
  const text = elf.sections.find((s) => s.name === '.text')!;
  const truth = objdumpAddresses(libc!);
  let functions = 0, instructions = 0;
  const wrong: string[] = [];
  const seen = new Set<number>();
  for (const sym of functionSymbols(elf)) {
    if (seen.has(sym.value) || sym.sizeBytes === 0 || sym.value < text.addr || sym.value + sym.sizeBytes > text.addr + text.sizeBytes) continue;
    seen.add(sym.value);
    const off = fileOffsetOf(elf, sym.value)!;
    const { offsets, complete } = instructionOffsets(elf.buf.subarray(off, off + sym.sizeBytes));
    const expected = [...Array(sym.sizeBytes).keys()].filter((k) => truth.has(sym.value + k));
    functions++;
    instructions += expected.length;
    if (!complete || offsets.length !== expected.length || offsets.some((o, k) => o !== expected[k])) {
      const k = offsets.findIndex((o, j) => o !== expected[j]);
      wrong.push(`${sym.name}: first difference at +0x${(expected[k] ?? offsets[k] ?? 0).toString(16)} (complete ${complete})`);
    }
  }
  t.diagnostic(`${functions} functions, ${instructions} instructions of ${libc} checked against objdump`);
  assert.ok(functions > 1000 && instructions > 100_000, `${functions} functions decoded`);
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${functions} functions (${instructions} instructions) differ`);
});

test('uprobe refusals predicted as the kernel makes them: LOCK and segment prefixes, never-stepped opcodes', () => {
  assert.equal(uprobeRefusal(hex('f0 ff 0f'), 0), 'a LOCK prefix'); // lock decl [rdi] (pthread_spin_lock)
  assert.equal(uprobeRefusal(hex('66 2e 0f 1f 84 00 00 00 00 00'), 0), 'a segment-override prefix');
  assert.equal(uprobeRefusal(hex('cc'), 0), 'opcode 0xcc');
  assert.equal(uprobeRefusal(hex('f3 0f 1e fa'), 0), undefined, 'endbr64');
  assert.equal(uprobeRefusal(hex('55'), 0), undefined);
  assert.equal(uprobeRefusal(hex('48 89 e5'), 0), undefined);
});
