/**
 * @fileoverview Which functions a linked program has (func-info.ts): the main one, every call
 * target and every function whose address is taken, named after the subprogram.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R2, imm } from '../bpf/asm/insn.js';
import { link } from '../bpf/asm/encode.js';
import { programFunctions, takesFunctionAddress } from './func-info.js';

test('functions start at 0 and at every call or function-address target, named after the callee', () => {
  const main = new Asm('main');
  main.callSub('dt_index2').callSub('dt_f_strstr');
  main.emit({ code: 0x18, dst: R2, src: 4, off: 0, imm: 0, callee: 'dt_chill_loop' });
  main.mov(R0, imm(0)).exit();
  const bodies: Record<string, Asm> = {};
  for (const name of ['dt_index2', 'dt_f_strstr', 'dt_chill_loop']) bodies[name] = new Asm(name);
  bodies.dt_index2!.callSub('dt_f_strstr').callSub('dt_f_strnlen').exit();
  bodies.dt_f_strstr!.mov(R0, imm(1)).mov(R0, imm(2)).exit();
  bodies.dt_f_strnlen = new Asm('dt_f_strnlen');
  bodies.dt_f_strnlen.mov(R0, imm(3)).exit();
  bodies.dt_chill_loop!.mov(R0, imm(1)).exit();
  const linked = link(main.insns, { get: (name) => bodies[name]?.insns });
  // main: 2 calls, ld_imm64 (2 slots), mov, exit = 6 slots; then the pieces in first-call order.
  assert.deepEqual(programFunctions(linked), [
    { start: 0 },
    { start: 6, name: 'dt_index2' },
    { start: 9, name: 'dt_f_strstr' },
    { start: 12, name: 'dt_chill_loop' },
    { start: 14, name: 'dt_f_strnlen' },
  ]);
  assert.equal(takesFunctionAddress(linked), true);
  assert.equal(takesFunctionAddress(link(new Asm('x').mov(R0, imm(0)).exit().insns)), false);
});
