/**
 * @fileoverview The resize message dtrace(8) prints (cmd/dtrace.c): the largest unit that
 * divides the size exactly, else bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bufferLoweredMessage } from './load.js';

test('sizes are said in k, m, g when a whole number of them, else in bytes', () => {
  assert.equal(bufferLoweredMessage('buffer size', 2 ** 30), 'buffer size lowered to 1g');
  assert.equal(bufferLoweredMessage('buffer size', 512 * 2 ** 20), 'buffer size lowered to 512m');
  assert.equal(bufferLoweredMessage('buffer size', 4096), 'buffer size lowered to 4k');
  // Below 1k the unit is the blank of " kmgtpe" (as in dtrace(8); the ring is never that small).
  assert.equal(bufferLoweredMessage('buffer size', 1000), 'buffer size lowered to 1000 ');
  assert.equal(bufferLoweredMessage('aggregation size', 3 * 2 ** 20 + 512), 'aggregation size lowered to 3146240 bytes');
});
