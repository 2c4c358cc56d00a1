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
import { STRING_SUBRS, stringSubprograms, needsStringFallback } from './strings.js';
import { kfuncsCalled } from './kfuncs.js';
import { FALLBACK_SUBPROGRAMS } from './fallback.js';
import { NEWEST_KERNEL } from '../../bpf/kernel-caps.js';
import { mainlineCaps as emulatedKernel } from '../../bpf/features.js';

const KFUNCS = new Set(['bpf_strnlen', 'bpf_strchr', 'bpf_strrchr', 'bpf_strstr', 'bpf_strspn', 'bpf_strcspn', 'bpf_strcmp',
  'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy']);

test('every string subroutine builds, fits the encoding and links at strsize 1..4096, with kfuncs and without', () => {
  for (const kernel of [NEWEST_KERNEL, emulatedKernel('6.1'), emulatedKernel('5.15')]) for (const strsize of [1, 5, 13, 32, 256, 1024, 4096]) {
    const mem = memLayout(strsize, undefined, needsStringFallback(kernel));
    const subs = stringSubprograms(mem, kernel);
    const where = `${kernel.version}/${strsize}`;
    for (const [key, subr] of Object.entries(STRING_SUBRS)) {
      assert.ok(subr.params.length <= 3, key);
      const insns = subr.build(mem, kernel);
      // An exit, or out-of-line code jumping back (BPF_JA): the verifier wants one of them last.
      assert.ok([0x95, 0x05].includes(insns[insns.length - 1]!.code), `${key}: ends in exit or ja`);
      assert.ok(insns.some((i) => i.code === 0x95), `${key}: has an exit`);
      for (const i of insns) {
        assert.ok(i.off >= -32768 && i.off <= 32767, `${key}@${where}: offset ${i.off} does not fit 16 bits`);
        if (i.kfunc !== undefined) assert.ok(KFUNCS.has(i.kfunc) && kernel.kfuncs.has(i.kfunc), `${key}@${where}: unexpected kfunc ${i.kfunc}`);
      }
      if (kernel !== NEWEST_KERNEL) assert.deepEqual(kfuncsCalled(insns), [], `${key}@${where}: no kfuncs below 6.4`);
      for (const callee of subr.calls ?? []) assert.ok(subs.get(callee), `${key}: calls unknown ${callee}`);
      const main = new Asm('main').mov(R1, imm(0)).mov(R2, imm(0)).mov(R5, imm(0)).callSub(subr.name).mov(R0, imm(0)).exit();
      assert.doesNotThrow(() => link(main.insns, subs), `${key}@${where} links`);
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

test('the fallbacks replace every string kfunc: strcmp calls its stand-in below 6.17', () => {
  const mem = memLayout(256, undefined, true);
  const insns = STRING_SUBRS.strcmp!.build(mem, emulatedKernel('6.16'));
  assert.deepEqual(kfuncsCalled(insns), []);
  assert.deepEqual(insns.filter((i) => i.callee !== undefined).map((i) => i.callee), ['dt_f_strcmp']);
  const subs = stringSubprograms(mem, emulatedKernel('5.15'));
  for (const name of FALLBACK_SUBPROGRAMS) assert.deepEqual(kfuncsCalled(subs.get(name)!), [], name);
  assert.equal(needsStringFallback(NEWEST_KERNEL), false);
  assert.equal(needsStringFallback(emulatedKernel('6.17')), false);
  assert.equal(needsStringFallback(emulatedKernel('6.12')), true);
  assert.ok(emulatedKernel('6.4').kfuncs.has('bpf_iter_num_new') && !emulatedKernel('6.3').kfuncs.has('bpf_iter_num_new'));
});
