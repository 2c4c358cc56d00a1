/**
 * @fileoverview Kernel-free checks of the string subroutines' code: every table entry builds at
 * small and large strsize, its instructions fit the encoding (16-bit load/store offsets, which
 * encode() would silently wrap), its labels and calls link, and it calls only the kfuncs the
 * kernel tests probe for. Their behaviour is tested against the kernel in
 * test/kernel/codegen-strings.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R1, R2, R5, imm } from '../../bpf/asm/insn.js';
import { link } from '../../bpf/asm/encode.js';
import { memLayout } from '../layout.js';
import { STRING_SUBRS, stringSubprograms } from './strings.js';
import { kfuncsCalled } from './kfuncs.js';

const KFUNCS = new Set(['bpf_strnlen', 'bpf_strchr', 'bpf_strrchr', 'bpf_strstr', 'bpf_strspn', 'bpf_strcspn', 'bpf_strcmp',
  'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy']);

test('every string subroutine builds, fits the encoding and links at strsize 1..4096', () => {
  for (const strsize of [1, 5, 13, 32, 256, 1024, 4096]) {
    const mem = memLayout(strsize);
    const subs = stringSubprograms(mem);
    for (const [key, subr] of Object.entries(STRING_SUBRS)) {
      assert.ok(subr.params.length <= 3, key);
      const insns = subr.build(mem);
      assert.equal(insns[insns.length - 1]!.code, 0x95, `${key}: ends in exit`);
      for (const i of insns) {
        assert.ok(i.off >= -32768 && i.off <= 32767, `${key}@${strsize}: offset ${i.off} does not fit 16 bits`);
        if (i.kfunc !== undefined) assert.ok(KFUNCS.has(i.kfunc), `${key}: unexpected kfunc ${i.kfunc}`);
      }
      for (const callee of subr.calls ?? []) assert.ok(subs.get(callee), `${key}: calls unknown ${callee}`);
      const main = new Asm('main').mov(R1, imm(0)).mov(R2, imm(0)).mov(R5, imm(0)).callSub(subr.name).mov(R0, imm(0)).exit();
      assert.doesNotThrow(() => link(main.insns, subs), `${key}@${strsize} links`);
    }
  }
});

test('subprogram names are unique and the table has every D function of the contract', () => {
  const names = Object.values(STRING_SUBRS).map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  for (const key of ['strjoin', 'substr/2', 'substr/3', 'index/2', 'index/3', 'rindex/2', 'rindex/3', 'strchr', 'strrchr',
    'strstr', 'strtok', 'toupper', 'tolower', 'basename', 'dirname', 'cleanpath', 'inet_ntoa', 'inet_ntoa6', 'inet_ntop', 'strcmp']) {
    assert.ok(STRING_SUBRS[key], key);
  }
  assert.deepEqual(kfuncsCalled(STRING_SUBRS.strcmp!.build(memLayout(256))), ['bpf_strcmp']);
});
