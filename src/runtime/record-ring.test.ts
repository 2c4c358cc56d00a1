import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordRing } from './record-ring.js';

test('the ring keeps the newest records that fit in its bytes, oldest first', () => {
  const ring = new RecordRing(100);
  for (let i = 0; i < 10; i++) ring.push(`${i}\n`, 24);
  assert.equal(ring.take(), '6\n7\n8\n9\n');
  assert.equal(ring.take(), '');
  for (let i = 0; i < 5000; i++) ring.push(`${i},`, 10);
  assert.equal(ring.take(), Array.from({ length: 10 }, (_, k) => `${4990 + k},`).join(''));
});

test('a record larger than the ring is not kept', () => {
  const ring = new RecordRing(16);
  ring.push('big', 32);
  ring.push('ok', 8);
  assert.equal(ring.take(), 'ok');
});
