/**
 * @fileoverview The ring buffer consumer against the real kernel: a raw_tracepoint program run
 * with BPF_PROG_TEST_RUN writes records with bpf_ringbuf_output (its ctx arg as payload), and
 * RingBuffer.drain reads them back in order, across the wrap-around, skipping discarded records;
 * wait() wakes the event loop. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMap, type BpfMap } from '../../src/bpf/map.js';
import { loadProgram, rawTracepointArgs, testRun, type BpfProgram } from '../../src/bpf/program.js';
import { openRingBuffer } from '../../src/bpf/ringbuf.js';
import { hasFeature } from '../../src/bpf/features.js';
import { Epoll, Helper } from '../../src/bpf/uapi.js';
import { closeFd, epollCreate, epollCtl, epollWait } from '../../src/bpf/sys.js';

const skip = process.getuid?.() !== 0 ? 'needs root (bpf(2) with CAP_SYS_ADMIN)'
  : !hasFeature('ringbuf') ? 'kernel lacks BPF ring buffers (Linux 5.8)'
  : !hasFeature('test_run_raw_tp') ? 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints' : false;

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, (src << 4) | dst, off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, (imm >>> 24) & 0xff];
}
/** r{dst} = map fd (BPF_LD_IMM64 with BPF_PSEUDO_MAP_FD). */
function ldMapFd(dst: number, fd: number): number[] {
  return [...insn(0x18, dst, 1, 0, fd), ...insn(0, 0, 0, 0, 0)];
}

/**
 * Writes ctx[1] bytes of a record whose first u64 is ctx[0] (the rest zero), with flags ctx[2]:
 *   buf[0..5] = {ctx[0], 0...}; bpf_ringbuf_output(&rb, buf, ctx[1] & 47 | 8, ctx[2]); return 0
 */
function outputProgram(rb: BpfMap): BpfProgram {
  const insns: number[] = [
    ...insn(0xbf, 6, 1, 0, 0), //          r6 = r1 (ctx)
    ...insn(0xb7, 1, 0, 0, 0), //          r1 = 0
    ...insn(0x7b, 10, 1, -48, 0), ...insn(0x7b, 10, 1, -40, 0), ...insn(0x7b, 10, 1, -32, 0),
    ...insn(0x7b, 10, 1, -24, 0), ...insn(0x7b, 10, 1, -16, 0), ...insn(0x7b, 10, 1, -8, 0),
    ...insn(0x79, 1, 6, 0, 0), //          r1 = ctx[0]
    ...insn(0x7b, 10, 1, -48, 0), //       *(u64 *)(fp - 48) = r1
    ...insn(0x79, 3, 6, 8, 0), //          r3 = ctx[1]
    ...insn(0x57, 3, 0, 0, 47), //         r3 &= 47
    ...insn(0x47, 3, 0, 0, 8), //          r3 |= 8   (8..47 bytes)
    ...insn(0x79, 4, 6, 16, 0), //         r4 = ctx[2] (flags)
    ...ldMapFd(1, rb.fd), //               r1 = &rb
    ...insn(0xbf, 2, 10, 0, 0), //         r2 = fp
    ...insn(0x07, 2, 0, 0, -48), //        r2 -= 48
    ...insn(0x85, 0, 0, 0, Helper.ringbuf_output),
    ...insn(0xb7, 0, 0, 0, 0),
    ...insn(0x95, 0, 0, 0, 0),
  ];
  return loadProgram({ name: 'test_rb_out', type: 'raw_tracepoint', insns: new Uint8Array(insns) });
}

/** Reserves 16 bytes and discards them: `if (p = bpf_ringbuf_reserve(&rb, 16, 0)) bpf_ringbuf_discard(p, 0)`. */
function discardProgram(rb: BpfMap): BpfProgram {
  const insns: number[] = [
    ...ldMapFd(1, rb.fd),
    ...insn(0xb7, 2, 0, 0, 16),
    ...insn(0xb7, 3, 0, 0, 0),
    ...insn(0x85, 0, 0, 0, Helper.ringbuf_reserve),
    ...insn(0x15, 0, 0, 3, 0), //           if r0 == 0 goto +3
    ...insn(0xbf, 1, 0, 0, 0), //           r1 = r0
    ...insn(0xb7, 2, 0, 0, 0),
    ...insn(0x85, 0, 0, 0, Helper.ringbuf_discard),
    ...insn(0xb7, 0, 0, 0, 0),
    ...insn(0x95, 0, 0, 0, 0),
  ];
  return loadProgram({ name: 'test_rb_discard', type: 'raw_tracepoint', insns: new Uint8Array(insns) });
}

test('records written by a program are drained in order, across the wrap', { skip }, () => {
  const rb = createMap({ name: 'test_rb', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const out = outputProgram(rb);
  const discard = discardProgram(rb);
  const ring = openRingBuffer(rb);
  try {
    assert.equal(ring.available(), 0);
    assert.equal(ring.drain(() => assert.fail('empty')), 0);
    let next = 0;
    const got: { value: number; length: number }[] = [];
    const collect = (view: DataView, offset: number, length: number) => {
      got.push({ value: Number(view.getBigUint64(offset, true)), length });
      for (let i = 8; i < length; i++) assert.equal(view.getUint8(offset + i), 0);
    };
    // 4096-byte ring, records of 16..56 bytes: several rounds wrap the ring many times.
    for (let round = 0; round < 20; round++) {
      const expected: { value: number; length: number }[] = [];
      for (let i = 0; i < 60; i++, next++) {
        const size = (next * 7) & 47 | 8;
        testRun(out, { ctxIn: rawTracepointArgs([next, next * 7, 0]) });
        expected.push({ value: next, length: size });
        if (i % 13 === 0) testRun(discard); // a discarded record in between is skipped
      }
      assert.ok(ring.available() > 0);
      got.length = 0;
      assert.equal(ring.drain(collect), 60);
      assert.deepEqual(got, expected);
      assert.equal(ring.available(), 0);
    }
    // `max` bounds one drain; the rest stays for the next.
    for (let i = 0; i < 5; i++) testRun(out, { ctxIn: rawTracepointArgs([i, 8, 0]) });
    got.length = 0;
    assert.equal(ring.drain(collect, 2), 2);
    assert.equal(ring.drain(collect), 3);
    assert.deepEqual(got.map((g) => g.value), [0, 1, 2, 3, 4]);
  } finally {
    ring.close();
    out.close();
    discard.close();
    rb.close();
  }
});

test('a full ring drops records instead of blocking; draining frees space', { skip }, () => {
  const rb = createMap({ name: 'test_rb_full', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const out = outputProgram(rb);
  const ring = openRingBuffer(rb);
  try {
    for (let i = 0; i < 300; i++) testRun(out, { ctxIn: rawTracepointArgs([i, 8, 0]) }); // 16 B each
    let count = 0;
    let last = -1;
    ring.drain((view, offset) => { const v = Number(view.getBigUint64(offset, true)); assert.equal(v, last + 1); last = v; count++; });
    // The kernel keeps one byte free (a reservation must leave prod - cons <= size - 1): 255 fit.
    assert.equal(count, 255);
    testRun(out, { ctxIn: rawTracepointArgs([999, 8, 0]) });
    assert.equal(ring.drain((view, offset) => assert.equal(view.getBigUint64(offset, true), 999n)), 1);
  } finally {
    ring.close();
    out.close();
    rb.close();
  }
});

test('wait() is woken through the event loop', { skip }, async () => {
  const rb = createMap({ name: 'test_rb_wait', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 * 4 });
  const out = outputProgram(rb);
  const ring = openRingBuffer(rb);
  try {
    const values: number[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no wake-up within 2 s')), 2000);
      ring.wait(() => {
        ring.drain((view, offset) => values.push(Number(view.getBigUint64(offset, true))));
        if (values.length >= 3) { clearTimeout(timer); resolve(); }
      });
    });
    // Produce from a later turn of the loop, so the watch is already armed.
    setTimeout(() => { for (const v of [7, 8, 9]) testRun(out, { ctxIn: rawTracepointArgs([v, 8, 0]) }); }, 20);
    await done;
    assert.deepEqual(values, [7, 8, 9]);
  } finally {
    ring.close();
    out.close();
    rb.close();
  }
});

test('epoll on the map fd reports data (the alternative to wait())', { skip }, () => {
  const rb = createMap({ name: 'test_rb_epoll', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 });
  const out = outputProgram(rb);
  const ring = openRingBuffer(rb);
  const ep = epollCreate('watch ring buffer');
  try {
    epollCtl(ep, Epoll.CTL_ADD, rb.fd, Epoll.IN, rb.fd, 'watch ring buffer');
    assert.deepEqual(epollWait(ep, 4, 0, 'poll ring buffer'), []);
    testRun(out, { ctxIn: rawTracepointArgs([5, 8, 0]) });
    assert.deepEqual(epollWait(ep, 4, 1000, 'poll ring buffer'), [{ events: Epoll.IN, data: rb.fd }]);
    assert.equal(ring.drain(() => {}), 1);
    assert.deepEqual(epollWait(ep, 4, 0, 'poll ring buffer'), []);
  } finally {
    closeFd(ep);
    ring.close();
    out.close();
    rb.close();
  }
});
