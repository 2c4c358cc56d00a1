/**
 * @fileoverview Loading and running programs against the real kernel: a tiny raw_tracepoint
 * program is accepted and test-run (with its u64 ctx args), a bad one yields a VerifierError with
 * the log and the failing instruction, and the program fd is released on close. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { loadProgram, programInfo, rawTracepointArgs, testRun } from '../../src/bpf/program.js';
import { VerifierError } from '../../src/bpf/errors.js';
import { hasFeature } from '../../src/bpf/features.js';

const skip = process.getuid?.() !== 0 ? 'needs root (bpf(2) with CAP_SYS_ADMIN)'
  : !hasFeature('test_run_raw_tp') ? 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints' : false;

/** Encodes one struct bpf_insn (the tests hand-assemble; src/bpf/asm is tested separately). */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, (src << 4) | dst, off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, (imm >>> 24) & 0xff];
}

function fdIsProgram(fd: number): boolean {
  try { return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-prog'; } catch { return false; }
}

test('r0 = 0; exit loads, test-runs and closes', { skip }, () => {
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const prog = loadProgram({ name: 'test_ret0', type: 'raw_tracepoint', insns });
  assert.ok(fdIsProgram(prog.fd));
  assert.equal(prog.insnCount, 2);
  assert.deepEqual(testRun(prog).retval, 0);
  const info = programInfo(prog.fd);
  assert.equal(info.name, 'test_ret0');
  assert.equal(info.type, 17);
  assert.ok(info.id > 0);
  prog.close();
  assert.equal(fdIsProgram(prog.fd), false);
});

test('test-run passes ctx args: r0 = ctx[1] + ctx[2]', { skip }, () => {
  const insns = new Uint8Array([
    ...insn(0x79, 0, 1, 8, 0), //  r0 = *(u64 *)(r1 + 8)
    ...insn(0x79, 2, 1, 16, 0), // r2 = *(u64 *)(r1 + 16)
    ...insn(0x0f, 0, 2, 0, 0), //  r0 += r2
    ...insn(0x95, 0, 0, 0, 0), //  exit
  ]);
  const prog = loadProgram({ name: 'test_args', type: 'raw_tracepoint', insns });
  try {
    assert.equal(testRun(prog, { ctxIn: rawTracepointArgs([1000, 20, 22]) }).retval, 42);
    assert.equal(testRun(prog, { ctxIn: rawTracepointArgs([0, 5, 7]), cpu: 0 }).retval, 12);
  } finally {
    prog.close();
  }
});

test('a verifier rejection carries the log and the failing instruction', { skip }, () => {
  const insns = new Uint8Array([
    ...insn(0xb7, 0, 0, 0, 0), //  r0 = 0
    ...insn(0xb7, 3, 0, 0, 1), //  r3 = 1
    ...insn(0x79, 1, 2, 0, 0), //  r1 = *(u64 *)(r2 + 0)   r2 is uninitialised
    ...insn(0x95, 0, 0, 0, 0),
  ]);
  assert.throws(() => loadProgram({ name: 'test_bad', type: 'raw_tracepoint', insns }), (e: unknown) => {
    assert.ok(e instanceof VerifierError);
    assert.equal(e.insnIndex, 2);
    assert.match(e.reason, /R2 !read_ok/);
    assert.match(e.log, /2: \(79\) r1 = \*\(u64 \*\)\(r2 \+0\)/);
    assert.equal(e.code, 'EACCES');
    assert.match(e.message, /load program test_bad: BPF_PROG_LOAD: EACCES: R2 !read_ok \(at instruction 2\)/);
    return true;
  });
});

test('a too-small first log buffer is grown to the size the kernel reports', { skip }, () => {
  const insns: number[] = [];
  for (let i = 0; i < 200; i++) insns.push(...insn(0xb7, 1 + (i % 5), 0, 0, i)); // r1..r5 = i
  insns.push(...insn(0x79, 1, 7, 0, 0), ...insn(0x95, 0, 0, 0, 0)); //              r1 = *(u64 *)(r7 + 0): r7 uninitialised
  assert.throws(() => loadProgram({ name: 'test_biglog', type: 'raw_tracepoint', insns: new Uint8Array(insns), logSizeBytes: 256, logLevel: 2 }),
    (e: unknown) => {
      assert.ok(e instanceof VerifierError);
      assert.equal(e.insnIndex, 200);
      assert.match(e.reason, /R7 !read_ok/);
      // The whole log, from the first instruction on, not only the 256-byte tail.
      assert.match(e.log, /^0: R1=ctx\(\) R10=fp0$/m);
      assert.ok(e.log.length > 256);
      return true;
    });
});

test('a jump out of range is located from the message', { skip }, () => {
  const insns = new Uint8Array([
    ...insn(0xb7, 0, 0, 0, 0),
    ...insn(0x05, 0, 0, 5, 0), //  goto +5 (past the end)
    ...insn(0x95, 0, 0, 0, 0),
  ]);
  assert.throws(() => loadProgram({ name: 'test_jmp', type: 'raw_tracepoint', insns }), (e: unknown) =>
    e instanceof VerifierError && e.insnIndex === 1 && /jump out of range/.test(e.reason));
});

test('instructions must be whole', () => {
  assert.throws(() => loadProgram({ name: 'x', type: 'raw_tracepoint', insns: new Uint8Array(12) }), RangeError);
});
