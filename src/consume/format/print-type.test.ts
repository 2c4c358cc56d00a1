/**
 * @fileoverview print() layout tests: the object of Oracle's print tests (tst.print.local*)
 * built by hand — types and bytes — and laid out as dtrace-utils lays it out (their expected
 * texts, with the address filled in), plus the cases those tests do not reach: bit-fields,
 * integer arrays with zeros, arrays of structs, a top-level scalar, function pointers, the
 * depth limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type CType, type EnumType, type StructType, type StructMemberType, Types, typedef, pointerTo } from '../../check/ctypes.js';
import { formatPrint } from './print-type.js';

const I = (n: number): string => ' '.repeat(44 + n);
const member = (name: string, type: CType, byteOffset: number, bitSize?: number): StructMemberType =>
  ({ name, type, bitOffset: byteOffset * 8, ...(bitSize !== undefined ? { bitSize } : {}) });
const struct = (tag: 'struct' | 'union', name: string | undefined, sizeBytes: number, members: StructMemberType[]): StructType =>
  ({ kind: 'struct', tag, ...(name !== undefined ? { name } : {}), members, sizeBytes, alignBytes: 8 });

const u8 = typedef('__u8', Types.uchar);
const u64 = typedef('__u64', Types.ulonglong);
const uint64 = typedef('uint64_t', Types.ulong);
const bool = typedef('bool', Types.bool);
const eh: EnumType = { kind: 'enum', name: 'eh', values: [{ name: 'FIRSTVAL', value: 0n }, { name: 'SECONDVAL', value: 1n }, { name: 'THIRDVAL', value: 3n }], sizeBytes: 4, signed: true };

/** tst.print.local.d's struct test_struct: a 0; b 4; u 16; s 24; g 40; h 44; size 48. */
const testStruct = struct('struct', 'test_struct', 48, [
  member('a', Types.int, 0),
  member('b', { kind: 'array', element: Types.char, length: 5 }, 4),
  member('u', struct('union', undefined, 8, [member('c', u8, 0), member('d', u64, 0)]), 16),
  member('s', struct('struct', undefined, 16, [member('e', pointerTo(Types.void), 0), member('f', uint64, 8)]), 24),
  member('g', bool, 40),
  member('h', eh, 44),
]);

function bytes(size: number, fill: (v: DataView) => void): Uint8Array {
  const b = new Uint8Array(size);
  fill(new DataView(b.buffer));
  return b;
}

const local = bytes(48, (v) => {
  v.setInt32(0, 1, true);
  [...'test'].forEach((c, i) => v.setUint8(4 + i, c.charCodeAt(0)));
  v.setBigUint64(16, 123456789n, true);
  v.setBigUint64(24, 0xffff9b7aca7e0000n, true);
  v.setBigUint64(32, 987654321n, true);
  v.setUint8(40, 1);
  v.setInt32(44, 1, true);
});

test('a struct with an array, an anonymous union and struct, a bool and an enum (tst.print.local)', () => {
  assert.equal(formatPrint(0xffff888012345678n, testStruct, local, 8192), [
    '0xffff888012345678 = *',
    `${I(0)}(struct test_struct) {`,
    `${I(1)}.a = (int)1,`,
    `${I(1)}.b = (char [5]) [`,
    `${I(2)}(char)'t',`, `${I(2)}(char)'e',`, `${I(2)}(char)'s',`, `${I(2)}(char)'t',`,
    `${I(1)}],`,
    `${I(1)}.u = (union) {`,
    `${I(2)}.c = (__u8)21,`,
    `${I(2)}.d = (__u64)123456789,`,
    `${I(1)}},`,
    `${I(1)}.s = (struct) {`,
    `${I(2)}.e = (void *)0xffff9b7aca7e0000,`,
    `${I(2)}.f = (uint64_t)987654321,`,
    `${I(1)}},`,
    `${I(1)}.g = (bool)1,`,
    `${I(1)}.h = (enum eh)SECONDVAL,`,
    `${I(0)}}`,
    '',
  ].join('\n'));
});

test('printsize cuts the walk at the first item past it, with "..." and the open braces closed (tst.print.local.trunc)', () => {
  const head = ['0x8 = *', `${I(0)}(struct test_struct) {`, `${I(1)}.a = (int)1,`, `${I(1)}.b = (char [5]) [`,
    `${I(2)}(char)'t',`, `${I(2)}(char)'e',`, `${I(2)}(char)'s',`, `${I(2)}(char)'t',`, `${I(1)}],`];
  assert.equal(formatPrint(8n, testStruct, local, 8), [...head, `${I(1)}...`, `${I(0)}}`, ''].join('\n'));
  assert.equal(formatPrint(8n, testStruct, local, 24), [...head, `${I(1)}.u = (union) {`, `${I(2)}.c = (__u8)21,`,
    `${I(2)}.d = (__u64)123456789,`, `${I(1)}...`, `${I(1)}},`, `${I(0)}}`, ''].join('\n'));
});

test('zero members are left out below the top level; a char array ends at its first NUL (tst.print.local.zeroed)', () => {
  const zeroed = bytes(48, (v) => { [...'est'].forEach((c, i) => v.setUint8(5 + i, c.charCodeAt(0))); v.setUint8(40, 1); v.setInt32(44, 0, true); });
  assert.equal(formatPrint(8n, testStruct, zeroed, 8192), ['0x8 = *', `${I(0)}(struct test_struct) {`, `${I(1)}.b = (char [5]) [`, `${I(1)}],`,
    `${I(1)}.g = (bool)1,`, `${I(0)}}`, ''].join('\n'));
  // An all-zero struct still opens and closes at the top level.
  assert.equal(formatPrint(8n, testStruct, new Uint8Array(48), 8192), ['0x8 = *', `${I(0)}(struct test_struct) {`, `${I(0)}}`, ''].join('\n'));
});

test('nested structs close one brace per level; deep nesting stops at depth 10 (tst.print.local.trunc2)', () => {
  // Eleven levels of struct { long long x; struct {...} next; }.
  let t: StructType = struct('struct', undefined, 8, [member('x', Types.longlong, 0)]);
  for (let d = 0; d < 10; d++) t = struct('struct', undefined, t.sizeBytes + 8, [member('x', Types.longlong, 0), member('n', t, 8)]);
  const data = bytes(t.sizeBytes, (v) => { for (let i = 0; i < t.sizeBytes / 8; i++) v.setBigInt64(i * 8, BigInt(i + 1), true); });
  const lines = formatPrint(16n, t, data, 8192).split('\n');
  assert.equal(lines[1], `${I(0)}(struct) {`);
  assert.equal(lines[2], `${I(1)}.x = (long long)1,`);
  const dots = lines.findIndex((l) => l.trim() === '...');
  assert.equal(lines[dots], `${I(10)}...`);
  assert.deepEqual(lines.slice(dots - 2, dots), [`${I(9)}.x = (long long)9,`, `${I(9)}.n = (struct) {`]);
  // Then a "}," for each level below the last line printed, and the final "}" (the brace
  // opened on that last line stays open, as in dtrace-utils).
  assert.deepEqual(lines.slice(dots + 1), [...Array.from({ length: 8 }, (_, i) => `${I(8 - i)}},`), `${I(0)}}`, '']);
  // printsize 32: the fifth x (offset 32) is where the walk stops.
  const cut = formatPrint(16n, t, data, 32).split('\n');
  assert.equal(cut.filter((l) => l.includes('.x = ')).length, 4);
  assert.equal(cut.find((l) => l.trim() === '...'), `${I(4)}...`);
});

test('bit-fields, integer arrays (zero elements left out), arrays of structs, enums without a name, signed bytes', () => {
  const pair = struct('struct', 'pair', 8, [member('k', Types.int, 0), member('v', Types.int, 4)]);
  const t = struct('struct', 'mixed', 48, [
    { name: 'lo', type: Types.uint, bitOffset: 0, bitSize: 3 },
    { name: 'hi', type: Types.uint, bitOffset: 3, bitSize: 5 },
    member('sc', Types.signedChar, 1),
    member('ints', { kind: 'array', element: Types.int, length: 3 }, 4),
    member('pairs', { kind: 'array', element: pair, length: 2 }, 16),
    member('e', eh, 32),
    member('fp', pointerTo({ kind: 'function', returnType: Types.int, params: [Types.long], variadic: false }), 40),
  ]);
  const data = bytes(48, (v) => {
    v.setUint8(0, 5 | (17 << 3)); v.setInt8(1, -2);
    v.setInt32(4, 7, true); v.setInt32(12, -9, true);
    v.setInt32(24, 3, true); v.setInt32(28, 4, true);
    v.setInt32(32, 2, true); v.setBigUint64(40, 0xffffffff81000000n, true);
  });
  assert.equal(formatPrint(8n, t, data, 8192), [
    '0x8 = *', `${I(0)}(struct mixed) {`,
    `${I(1)}.lo = (unsigned int)5,`, `${I(1)}.hi = (unsigned int)17,`, `${I(1)}.sc = (signed char)-2,`,
    `${I(1)}.ints = (int [3]) [`, `${I(2)}(int)7,`, `${I(2)}(int)-9,`, `${I(1)}],`,
    `${I(1)}.pairs = (struct pair [2]) [`, `${I(2)}(struct pair) {`, `${I(3)}.k = (int)3,`, `${I(3)}.v = (int)4,`, `${I(2)}},`, `${I(1)}],`,
    `${I(1)}.e = (enum eh)2,`,
    `${I(1)}.fp = (int (*)(long))0xffffffff81000000,`,
    `${I(0)}}`, '',
  ].join('\n'));
});

test('a pointer to a scalar prints one line; a NULL address prints as %p does', () => {
  const pid = typedef('pid_t', Types.int);
  assert.equal(formatPrint(0xffff0000n, pid, bytes(4, (v) => v.setInt32(0, 4242, true)), 8192), `0xffff0000 = *\n${I(0)}(pid_t)4242,\n`);
  // Zero at the top level is shown (only nested items are left out when zero).
  assert.equal(formatPrint(0n, Types.ulong, new Uint8Array(8), 8192), `(nil) = *\n${I(0)}(unsigned long)0,\n`);
});

test('an object larger than what was recorded ends in "..." where the record ends', () => {
  const big = struct('struct', 'big', 16, [member('a', Types.long, 0), member('b', Types.long, 8)]);
  const data = bytes(8, (v) => v.setBigInt64(0, 5n, true));
  assert.equal(formatPrint(8n, big, data, 8192), ['0x8 = *', `${I(0)}(struct big) {`, `${I(1)}.a = (long)5,`, `${I(1)}...`, `${I(0)}}`, ''].join('\n'));
});
