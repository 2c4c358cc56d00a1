/**
 * @fileoverview printf engine tests: C conversions cross-checked against the C library's own
 * printf (through coreutils printf(1)), D-specific conversions, and the compile-time
 * diagnostics with the exact texts of Oracle's conformance tests (test/unittest/printf/err.*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { compilePrintf, formatPrintf, isPrintfError, renderPrintf } from './printf.js';
import { intValue, type Value } from './values.js';

const ctx = { timeZone: 'UTC' };
const str = (value: string): Value => ({ kind: 'string', value });

test('integer and string conversions match the C library printf', () => {
  const flagSets = ['', '-', '0', '+', ' ', '#', '-+', '0#', ' 0'];
  const cases = fc.sample(fc.record({
    flags: fc.constantFrom(...flagSets),
    width: fc.constantFrom('', '1', '5', '12'),
    prec: fc.constantFrom('', '.1', '.3', '.8'),
    conv: fc.constantFrom('d', 'i', 'u', 'x', 'X', 'o'),
    value: fc.integer({ min: -100000, max: 100000 }),
  }), 150);
  const fmts: string[] = [];
  const args: string[] = [];
  const ours: string[] = [];
  for (const c of cases) {
    // printf(1) rejects '#' except with x, X, o (undefined in C); D would pass it through.
    if (c.flags.includes('#') && !['x', 'X', 'o'].includes(c.conv)) continue;
    const fmt = `%${c.flags}${c.width}${c.prec}${c.conv}`;
    // D prints %u/%x/%o of a signed 64-bit value as its unsigned reading, as C does for %llu.
    fmts.push(fmt.replace(/[diuxXo]$/, (m) => m) + '|');
    args.push(String(c.value));
    ours.push(formatPrintf(fmt + '|', [intValue(c.value, 8, true)], ctx));
  }
  const theirs = execFileSync('/usr/bin/printf', [fmts.join(''), ...args], { encoding: 'latin1' });
  assert.equal(ours.join(''), theirs);
});

test('float conversions match the C library printf', () => {
  const values = [0, 1, -1.5, 3.14159, 1234567.891, 0.000123456, 1e20, -2.5e-7, 100, 99999.5];
  const fmts = ['%e', '%f', '%g', '%E', '%G', '%.2f', '%10.3e', '%-12g|', '%+.1f', '%#g', '%08.2f', '%.10g'];
  for (const f of fmts) {
    const theirs = execFileSync('/usr/bin/printf', [values.map(() => f + ';').join(''), ...values.map(String)], { encoding: 'latin1' });
    const ours = values.map((v) => formatPrintf(f + ';', [{ kind: 'float', value: v, sizeBytes: 8 }], ctx)).join('');
    assert.equal(ours, theirs, f);
  }
});

test('D integer rules: size and signedness come from the argument', () => {
  assert.equal(formatPrintf('%d', [intValue(-1, 4, false)]), '4294967295');
  assert.equal(formatPrintf('%d', [intValue(-17, 1, true)]), '-17');
  assert.equal(formatPrintf('%u', [intValue(-17, 1, true)]), '239');
  assert.equal(formatPrintf('%x', [intValue(0x1234567890abcdefn, 2, true)]), 'cdef');
  assert.equal(formatPrintf('%d', [intValue(0x1234567890abcdefn, 4, true)]), '-1867788817');
  assert.equal(formatPrintf('%p', [intValue(0x61, 8, false)]), '61');
  assert.equal(formatPrintf('%#p', [intValue(0x61, 8, false)]), '0x61');
  assert.equal(formatPrintf('%c%c', [intValue(104, 4), intValue(105, 1)]), 'hi');
  assert.equal(formatPrintf('%.0d|%.d', [intValue(0, 4), intValue(0, 4)]), '0|0'); // precision 0 is dropped
  assert.equal(formatPrintf('%-*d|', [intValue(6, 4), intValue(42, 4)]), '42    |');
  assert.equal(formatPrintf('%*d|', [intValue(-6, 4), intValue(42, 4)]), '42    |');
  assert.equal(formatPrintf('%?d', [intValue(0, 4)]), ' '.repeat(15) + '0');
  assert.equal(formatPrintf('100%%', []), '100%');
});

test('strings, escapes, symbols, stacks and times', () => {
  assert.equal(formatPrintf('%.2s|%*.*s|%-6s|', [str('hello'), intValue(6, 4), intValue(6, 4), str('hello'), str('ab')]), 'he| hello|ab    |');
  assert.equal(formatPrintf('%S', [str('a\tb"\\\x01 \xff')]), 'a\\tb\\"\\\\\\001 \\377\\0');
  assert.equal(formatPrintf('%C', [intValue(10, 4)]), '\\n');
  assert.equal(formatPrintf('%a', [{ kind: 'symbol', text: 'vmlinux`ksys_write+0x71' }]), 'vmlinux`ksys_write+0x71');
  assert.equal(formatPrintf('%a', [intValue(0x1234, 8, false)]), '0x1234');
  assert.equal(formatPrintf('%a', [intValue(0x1234, 8, false)], { kernelSymbol: () => 'vmlinux`x' }), 'vmlinux`x');
  assert.equal(formatPrintf('%k', [{ kind: 'stack', frames: ['a`b', 'c`d'] }]), '\na`b\nc`d\n');
  assert.equal(formatPrintf('%-4k', [{ kind: 'stack', frames: ['a`b'] }]), '\n    a`b\n');
  assert.equal(formatPrintf('%Y', [intValue(1728679418n * 1_000_000_000n, 8, false)], ctx), '2024 Oct 11 20:43:38');
  assert.equal(formatPrintf('%Y', [intValue(123_456_000_000_000_000n, 8, false)], ctx), '1973 Nov 29 21:20:00');
  assert.equal(formatPrintf('%Y', [intValue(86_400_000_000_000n, 8, false)], ctx), '1970 Jan  2 00:00:00');
  // D drops a zero precision (dt_printf_format only adds `.prec` when it is > 0).
  assert.equal(formatPrintf('%.0f', [{ kind: 'float', value: 1.5, sizeBytes: 8 }]), '1.500000');
  assert.equal(formatPrintf('%T', [intValue(1728679418n * 1_000_000_000n, 8, false)], ctx), 'Fri, 11 Oct 2024 20:43:38 UTC');
});

test('format parse errors carry D_SYNTAX and Oracle\'s texts', () => {
  const err = (fmt: string): string => {
    const p = compilePrintf(fmt);
    assert.ok(isPrintfError(p));
    return `[${p.tag}] ${p.error}`;
  };
  assert.equal(err('%3$d'), '[D_SYNTAX] format conversion #1 uses unsupported positional format (%n$)');
  assert.equal(err('%3'), '[D_SYNTAX] format conversion #1 name expected before end of format string');
  assert.equal(err('%Z'), '[D_SYNTAX] format conversion #1 is undefined: %Z');
  assert.equal(err('%d %-%'), '[D_SYNTAX] format conversion #2 cannot be combined with other format flags: %%');
  assert.equal(err('%1.2.3d'), "[D_SYNTAX] format conversion #1 has more than one '.' specified");
});


test('printa %@T/%@Y print an aggregation value as a time; %@d stays an integer', () => {
  const program = compilePrintf('%@Y|%@T|%@d');
  assert.ok(!isPrintfError(program));
  const cell = { desc: { id: 1, name: 'x', fn: 'max' as const, keyTypes: [] }, value: { kind: 'scalar' as const, value: 1075064400n * 1000000000n } };
  assert.equal(renderPrintf(program, [], [cell], ctx), '2004 Jan 25 21:00:00|Sun, 25 Jan 2004 21:00:00 UTC|1075064400000000000');
});
