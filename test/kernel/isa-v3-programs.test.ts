/**
 * @fileoverview Programs compiled for an emulated 5.15 kernel (DTRACE_TS_KERNEL=5.15): the code
 * holds no ISA v4 instruction (checked on the disassembly `-S` prints), it loads, and it prints
 * what the same program prints with v4 code. Covers what made code generation emit v4: variable
 * stores (`i = 0`), signed division and modulo, casts to signed types, signed arguments, pointer
 * differences, aggregations of negative values. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** Disassembly of a v4-only instruction: movsx `(s8)`, ldsx `*(s8 *)`, `s/=`, `s%=`, bswap. */
const V4_FORMS = /= \(s(8|16|32)\)r|\*\(s(8|16|32) \*\)| s\/= | s%= |= bswap(16|32|64) |gotol/;

function run(program: string, level: string | undefined, showBpf: boolean): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  if (level) env.DTRACE_TS_KERNEL = level; else delete env.DTRACE_TS_KERNEL;
  const r = spawnSync(process.execPath, [cli, '-q', ...(showBpf ? ['-S'] : []), '-n', program], { encoding: 'latin1', timeout: 30_000, env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROGRAMS = [
  'BEGIN { i = 0; j = i - 5; printf("%d %d\\n", i, j); exit(0); }',
  'BEGIN { a = -7; b = 2; c = -2; printf("%d %d %d %d %d %d\\n", a / b, a % b, a / c, a % c, 7 / c, 7 % c); exit(0); }',
  'BEGIN { m = -9223372036854775807 - 1; n = -1; printf("%d %d %d\\n", m / n, m % n, m / 3); exit(0); }',
  'BEGIN { x = 0x1ff; printf("%d %d %d %d\\n", (char)x, (short)0x18000, (int)0x180000000, (signed char)-3); exit(0); }',
  'BEGIN { self->v = -3; t[1] = (int)-4; printf("%d %d\\n", self->v * t[1], t[1] / 3); exit(0); }',
  'BEGIN { s = "hello"; p = (char *)&s[3]; q = (char *)&s[0]; printf("%d\\n", p - q); exit(0); }',
  'BEGIN { @q = quantize(-5); @l = lquantize(-3, -10, 10, 2); @s = sum(-40 / 3); exit(0); }',
  'syscall::getpid:entry /pid == $pid/ { } BEGIN { x = (int)-1; y = (long)x; printf("%d %d\\n", x, y / 2); exit(0); }',
];

test('at DTRACE_TS_KERNEL=5.15 programs hold no v4 instruction, load, and print what v4 code prints', { skip }, () => {
  for (const program of PROGRAMS) {
    const v3 = run(program, '5.15', true);
    assert.equal(v3.status, 0, `${program}\n${v3.stderr}`);
    assert.match(v3.stderr, /r0 = 0/, 'the disassembly was printed');
    assert.doesNotMatch(v3.stderr, V4_FORMS, program);
    const native = run(program, undefined, false);
    assert.equal(native.status, 0, `${program}\n${native.stderr}`);
    assert.equal(v3.stdout, native.stdout, program);
  }
});

test('the native level on a v4 kernel keeps the v4 instructions', { skip }, () => {
  const r = run(PROGRAMS[1]!, undefined, true);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, / s\/= /);
});

test('a malformed DTRACE_TS_KERNEL is refused in one line', { skip }, () => {
  const r = run('BEGIN { exit(0); }', 'six', false);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /DTRACE_TS_KERNEL=six: expected a mainline kernel version such as 5\.15/);
});
