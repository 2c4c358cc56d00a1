import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpeculationBudget } from './speculation-budget.js';
import { RECORD_HEADER_BYTES } from '../program/spec.js';

test('specsize: records count as dtrace-utils sizes them (16-byte header); a record that does not fit is a drop; commit/discard empties', () => {
  const perRecord = 24 + 16 - RECORD_HEADER_BYTES;
  const b = new SpeculationBudget(2 * perRecord);
  assert.equal(b.admit(0, 24), true); // not speculative: never counted
  assert.equal(b.admit(1, 24), true);
  assert.equal(b.admit(1, 24), true);
  assert.equal(b.admit(1, 24), false);
  assert.equal(b.admit(2, 24), true); // each speculation has its own budget
  assert.equal(b.drops, 1);
  b.release(1);
  assert.equal(b.admit(1, 24), true);
  assert.equal(new SpeculationBudget(undefined).admit(3, 1 << 20), true);
});
