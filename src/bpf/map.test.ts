/** @fileoverview Map helpers that need no kernel (map operations are in test/kernel/bpf-map.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuList, sanitizeObjectName } from './map.js';

test('CPU lists', () => {
  assert.deepEqual(parseCpuList('0-1\n'), [0, 1]);
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-2,5,7-8'), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseCpuList(''), []);
  assert.throws(() => parseCpuList('x'));
});

test('object names keep what the kernel accepts', () => {
  assert.equal(sanitizeObjectName('agg@count'), 'agg_count');
  assert.equal(sanitizeObjectName('a.b_c9'), 'a.b_c9');
  assert.equal(sanitizeObjectName('a_very_long_name_for_a_map').length, 15);
});
