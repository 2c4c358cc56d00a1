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

test('fill keeps the oldest records; the first that does not fit fills it and no later record is consumed until END', () => {
  let pending = '';
  const ring = new RecordRing(100, { get: () => pending, set: (t) => { pending = t; } }, 'fill');
  const consumed: number[] = [];
  const consume = ring.consumer((view, offset) => { consumed.push(offset); pending += `${offset}\n`; });
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 10; i++) consume(view, i, 24);
  assert.equal(ring.full, true);
  // Four 24-byte records fit in 100; the fifth filled the buffer and was never consumed.
  assert.deepEqual(consumed, [0, 1, 2, 3]);
  ring.acceptAll();
  consume(view, 99, 64);
  assert.equal(ring.take(), '0\n1\n2\n3\n99\n');
});
