/**
 * @fileoverview The output path under load, against the real kernel:
 *   - drain(…, holdLast) leaves the kernel's consumer position at the start of the last record
 *     it delivered (so a producer does not see a caught-up reader and wake it), never delivers
 *     a record twice, and release() gives the held record back;
 *   - the CLI's consumer delivers every printf record of a fast producer in order, or reports
 *     as drops exactly the records it did not print.
 * Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createMap, type BpfMap } from '../../src/bpf/map.js';
import { loadProgram, rawTracepointArgs, testRun, type BpfProgram } from '../../src/bpf/program.js';
import { openRingBuffer } from '../../src/bpf/ringbuf.js';
import { hasFeature } from '../../src/bpf/features.js';
import { Helper } from '../../src/bpf/uapi.js';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';

const skip = process.getuid?.() !== 0 ? 'needs root (bpf(2) with CAP_SYS_ADMIN)'
  : !hasFeature('ringbuf') ? 'kernel lacks BPF ring buffers (Linux 5.8)'
  : !hasFeature('test_run_raw_tp') ? 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints' : false;

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, (src << 4) | dst, off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, (imm >>> 24) & 0xff];
}

/** bpf_ringbuf_output(&rb, &(u64){ctx[0]}, 8, 0); return 0 */
function outputProgram(rb: BpfMap): BpfProgram {
  const insns: number[] = [
    ...insn(0x79, 1, 1, 0, 0), //        r1 = ctx[0]
    ...insn(0x7b, 10, 1, -8, 0), //      *(u64 *)(fp - 8) = r1
    ...insn(0x18, 1, 1, 0, rb.fd), ...insn(0, 0, 0, 0, 0), // r1 = &rb
    ...insn(0xbf, 2, 10, 0, 0), //       r2 = fp
    ...insn(0x07, 2, 0, 0, -8), //       r2 -= 8
    ...insn(0xb7, 3, 0, 0, 8), //        r3 = 8
    ...insn(0xb7, 4, 0, 0, 0), //        r4 = 0 (kernel-chosen wake-ups)
    ...insn(0x85, 0, 0, 0, Helper.ringbuf_output),
    ...insn(0xb7, 0, 0, 0, 0),
    ...insn(0x95, 0, 0, 0, 0),
  ];
  return loadProgram({ name: 'test_rb_seq', type: 'raw_tracepoint', insns: new Uint8Array(insns) });
}

const RECORD_BYTES = 16; // 8-byte header + 8-byte payload

test('holdLast keeps the last record uncommitted, delivers each record once, release() frees it', { skip }, () => {
  const rb = createMap({ name: 'test_rb_hold', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const out = outputProgram(rb);
  const ring = openRingBuffer(rb);
  try {
    const got: number[] = [];
    const collect = (view: DataView, offset: number) => { got.push(Number(view.getBigUint64(offset, true))); };
    let next = 0;
    // Many rounds through a 4 KiB ring (256 records): the held record wraps with the rest.
    for (let round = 0; round < 40; round++) {
      const count = 1 + (round * 37) % 200;
      for (let i = 0; i < count; i++) testRun(out, { ctxIn: rawTracepointArgs([next++]) });
      const hold = round % 3 !== 2;
      assert.equal(ring.drain(collect, Infinity, hold), count);
      // Held: the kernel still counts the last record as unread; otherwise nothing is.
      assert.equal(ring.available(), hold ? RECORD_BYTES : 0);
      assert.equal(ring.drain(collect, Infinity, hold), 0, 'a held record is not delivered again');
    }
    ring.release();
    assert.equal(ring.available(), 0);
    assert.deepEqual(got, Array.from({ length: next }, (_, i) => i));
  } finally {
    ring.close();
    out.close();
    rb.close();
  }
});

test('a fast producer: every printf record is printed in order, or reported as a drop', { skip }, () => {
  const cli = join(repoRoot(), 'dist', 'cli.js');
  if (!existsSync(cli)) return; // built by `npm test` before the tests run
  const workload = buildWorkload('getpid_bench');
  const calls = 400_000;
  // `keys N` calls getpid(i) for i = 0..N-1 as fast as it can: arg0 numbers the records.
  const r = spawnSync(process.execPath, [cli, '-q', '-n', 'syscall::getpid:entry /pid == $target/ { printf("%d\\n", arg0); }',
    '-c', `${workload} keys ${calls}`], { encoding: 'latin1', maxBuffer: 64 << 20, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const printed = r.stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  const dropped = [...r.stderr.matchAll(/(\d+) drops? on CPU/g)].reduce((n, m) => n + Number(m[1]), 0);
  for (let i = 1; i < printed.length; i++) assert.ok((printed[i] as number) > (printed[i - 1] as number), `out of order at line ${i}`);
  assert.equal(printed.length + dropped, calls, `printed ${printed.length}, reported ${dropped} drops`);
});
