/**
 * @fileoverview TraceOutput: bytes written after pending text keep their order, and go to the
 * byte writer when there is one, else to the text writer as their latin1 text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceOutput } from './output.js';

test('writeBytes flushes pending text first and uses the byte writer when given', () => {
  const got: (string | number[])[] = [];
  const out = new TraceOutput((t) => got.push(t), () => undefined, (b) => got.push([...b]));
  out.write('a\n');
  out.writeBytes(new Uint8Array([0x62, 0xe9, 0x0a]));
  out.write('c\n');
  out.flush();
  assert.deepEqual(got, ['a\n', [0x62, 0xe9, 0x0a], 'c\n']);
});

test('without a byte writer, bytes reach the text writer as latin1 text', () => {
  const got: string[] = [];
  const out = new TraceOutput((t) => got.push(t), () => undefined);
  out.write('a');
  out.writeBytes(new Uint8Array([0x62, 0xe9]).subarray(1));
  assert.deepEqual(got, ['a', '\u00e9']);
});
