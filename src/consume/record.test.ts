/**
 * @fileoverview The record printf fast path must print exactly what the generic path
 * (decode to Values, then printf.ts) prints, for every flag, width, precision, conversion,
 * field size and signedness, including values that force the BigInt fallback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldLayout } from '../program/spec.js';
import { compilePrintfAction, decodeField, formatCIntNumber, readString } from './record.js';
import { formatPrintf } from './format/printf.js';
import { cspec, formatCInt } from './format/cformat.js';

const NO_TYPE = undefined as unknown as FieldLayout['type'];
const STRSIZE = 32;

function intField(offset: number, sizeBytes: number, signed: boolean): FieldLayout {
  return { offset, sizeBytes, type: NO_TYPE, decode: 'int', signed };
}

test('integer directives render like the generic path for every size, sign and value', () => {
  const bigValue = fc.oneof(
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.bigInt({ min: -1000n, max: 1000n }),
    fc.constantFrom(0n, -1n, (1n << 53n) - 1n, 1n << 53n, -(1n << 53n), (1n << 63n) - 1n, -(1n << 63n), 0xffffffffn, 0x80000000n),
  );
  fc.assert(fc.property(
    fc.constantFrom('', '-', '0', '+', ' ', '#', '-+', '0#', ' 0', "'"),
    fc.constantFrom('', '1', '5', '12', '22'),
    fc.constantFrom('', '.1', '.3', '.8', '.0'),
    fc.constantFrom('d', 'i', 'u', 'x', 'X', 'o', 'hd', 'hu', 'hx', 'ld', 'lu', 'lx', 'lld', 'llu', 'llx', 'llX', 'lo', 'p'),
    fc.constantFrom(1, 2, 4, 8),
    fc.boolean(),
    bigValue,
    (flags, width, prec, conv, size, signed, value) => {
      const bytes = new Uint8Array(24);
      const view = new DataView(bytes.buffer);
      view.setBigUint64(8, BigInt.asUintN(64, value), true);
      const field = intField(8, size, signed);
      const format = `<%${flags}${width}${prec}${conv}>`;
      const fast = compilePrintfAction(format, [field], STRSIZE)(view, 0);
      const generic = formatPrintf(format, [decodeField(view, 0, field, STRSIZE)], { strsizeBytes: STRSIZE });
      assert.equal(fast, generic, format);
    },
  ), { numRuns: 3000 });
});

test('string and mixed directives render like the generic path', () => {
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 0, maxLength: STRSIZE + 4 }),
    fc.constantFrom('%s', '%-10s|', '%10s', '%.3s', '%5.2s', '%d %s %x\n', '[%s] %% %u'),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    (text, format, n) => {
      const bytes = new Uint8Array(16 + STRSIZE + 8);
      bytes.set(text.subarray(0, STRSIZE + 1), 16);
      const view = new DataView(bytes.buffer);
      view.setInt32(8, n, true);
      const str: FieldLayout = { offset: 16, sizeBytes: STRSIZE + 1, type: NO_TYPE, decode: 'string' };
      const args = format.startsWith('%d') ? [intField(8, 4, true), str, intField(8, 4, true)]
        : format.includes('%u') ? [str, intField(8, 4, false)] : [str];
      const fast = compilePrintfAction(format, args, STRSIZE)(view, 0);
      const generic = formatPrintf(format, args.map((f) => decodeField(view, 0, f, STRSIZE)), { strsizeBytes: STRSIZE });
      assert.equal(fast, generic);
    },
  ), { numRuns: 1000 });
});

test('strings are decoded one char per byte (latin1), cut at NUL and at strsize', () => {
  const bytes = new Uint8Array([0x41, 0x80, 0x9f, 0xe9, 0xff, 0, 0x42]);
  const view = new DataView(bytes.buffer);
  assert.deepEqual([...readString(view, 0, 32)].map((c) => c.charCodeAt(0)), [0x41, 0x80, 0x9f, 0xe9, 0xff]);
  assert.equal(readString(view, 0, 2), 'A\x80');
  const long = new Uint8Array(300).fill(0x80);
  assert.equal(readString(new DataView(long.buffer), 0, 256), '\x80'.repeat(256));
});

test('conversions the fast path does not handle fall back to printf.ts', () => {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setInt32(8, 65, true);
  const f = intField(8, 4, true);
  for (const format of ['%c', '%*d', '%e', '%a']) {
    const args = format === '%*d' ? [f, f] : [f];
    assert.equal(compilePrintfAction(format, args, STRSIZE)(view, 0), formatPrintf(format, args.map((a) => decodeField(view, 0, a, STRSIZE)), {}));
  }
});

test('formatCIntNumber agrees with formatCInt', () => {
  fc.assert(fc.property(
    fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    fc.constantFrom('d', 'u', 'o', 'x', 'X'),
    fc.record({ alt: fc.boolean(), zero: fc.boolean(), left: fc.boolean(), plus: fc.boolean(), space: fc.boolean(), width: fc.integer({ min: 0, max: 24 }), precision: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }) }),
    (n, conv, flags) => {
      const value = conv === 'd' ? n : Math.abs(n);
      const spec = cspec(flags);
      assert.equal(formatCIntNumber(value, conv as 'd', spec), formatCInt(BigInt(value), conv as 'd', spec));
    },
  ), { numRuns: 2000 });
});

test('float fields decode as IEEE doubles and floats; %e/%f/%g print them as C does', () => {
  const view = new DataView(new ArrayBuffer(16));
  view.setFloat64(0, -1234.5, true);
  view.setFloat32(8, 0.25, true);
  const d: FieldLayout = { offset: 0, sizeBytes: 8, type: NO_TYPE, decode: 'float' };
  const f: FieldLayout = { offset: 8, sizeBytes: 4, type: NO_TYPE, decode: 'float' };
  assert.deepEqual(decodeField(view, 0, d, STRSIZE), { kind: 'float', value: -1234.5, sizeBytes: 8 });
  assert.deepEqual(decodeField(view, 0, f, STRSIZE), { kind: 'float', value: 0.25, sizeBytes: 4 });
  assert.equal(formatPrintf('%e|%f|%g', [decodeField(view, 0, d, STRSIZE), decodeField(view, 0, f, STRSIZE), decodeField(view, 0, d, STRSIZE)]), '-1.234500e+03|0.250000|-1234.5');
});

test('bytes fields are copied out of the record (structs traced by value)', () => {
  const buf = new Uint8Array([0, 0, 0x34, 0x12, 0, 0, 0x76, 0x98]);
  const v = decodeField(new DataView(buf.buffer), 2, { offset: 0, sizeBytes: 6, type: NO_TYPE, decode: 'bytes' }, STRSIZE);
  assert.equal(v.kind, 'bytes');
  buf.fill(0);
  assert.deepEqual(Array.from((v as { bytes: Uint8Array }).bytes), [0x34, 0x12, 0, 0, 0x76, 0x98]);
});
