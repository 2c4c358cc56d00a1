/** @fileoverview Verifier log parsing (logs captured from Linux 6.18). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVerifierLog, rawTracepointArgs } from './program.js';

test('the failing instruction is the last one printed', () => {
  const log = [
    'func#0 @0',
    '0: R1=ctx() R10=fp0',
    '0: (b7) r0 = 0                        ; R0_w=0',
    '1: (79) r1 = *(u64 *)(r2 +0)',
    'R2 !read_ok',
    'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
    '',
  ].join('\n');
  assert.deepEqual(parseVerifierLog(log), { insnIndex: 1, reason: 'R2 !read_ok' });
});

test('CFG errors name the instruction in the message', () => {
  assert.deepEqual(parseVerifierLog('jump out of range from insn 3 to 9\nprocessed 0 insns (limit 1000000)\n'),
    { insnIndex: 3, reason: 'jump out of range from insn 3 to 9' });
  assert.deepEqual(parseVerifierLog('back-edge from insn 4 to 2\n'), { insnIndex: 4, reason: 'back-edge from insn 4 to 2' });
});

test('no instruction at all', () => {
  assert.deepEqual(parseVerifierLog('unknown opcode 00\n'), { insnIndex: undefined, reason: 'unknown opcode 00' });
  assert.deepEqual(parseVerifierLog(''), { insnIndex: undefined, reason: '' });
});

test('raw tracepoint ctx encoding', () => {
  const ctx = rawTracepointArgs([1, -1n, 0x1234567890n]);
  const v = new DataView(ctx.buffer);
  assert.equal(ctx.length, 24);
  assert.equal(v.getBigUint64(0, true), 1n);
  assert.equal(v.getBigUint64(8, true), 0xffff_ffff_ffff_ffffn);
  assert.equal(v.getBigUint64(16, true), 0x1234567890n);
});
