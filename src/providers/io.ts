/**
 * @fileoverview The io provider (providers-on-linux.md §10), `io:vmlinux::start|done`, with
 * Oracle's args[] (dtrace-utils dt_prov_io.c): args[0] `bufinfo_t *` and args[1]
 * `devinfo_t *` translated from a `struct bio *` (raw arg0), args[2] `fileinfo_t *` from a
 * `struct file *` that Linux never knows at this level (raw arg1, always 0).
 *
 *   start   block_bio_queue(bio)
 *   done    block_bio_complete(queue, bio), and block_rq_complete(rq, …) with rq->bio
 *           (requests without a bio are not reported)
 *
 *   wait-start  submit_bio_wait(bio) entry (fbt: fentry, or a kprobe)
 *   wait-done   submit_bio_wait(bio) return (fbt: fexit, whose context still holds the bio)
 * A kernel without kprobes or fentry (this project's 6.18 target) does not offer the wait probes.
 */
import { R6, imm } from '../bpf/asm/insn.js';
import { dependentProvider, type DependentProbe } from './dependent.js';
import { memberOffset } from './kernel-events.js';
import type { ProbeArgDesc } from './provider.js';

const IO_ARGS: ProbeArgDesc[] = [
  { mapping: 0, native: 'struct bio *', xlate: 'bufinfo_t *' },
  { mapping: 0, native: 'struct bio *', xlate: 'devinfo_t *' },
  { mapping: 1, native: 'struct file *', xlate: 'fileinfo_t *' },
];

const IO_PROBES: DependentProbe[] = [
  {
    name: 'done',
    args: IO_ARGS,
    sources: [{ kind: 'rawtp', tp: 'block_bio_complete' }, { kind: 'rawtp', tp: 'block_rq_complete' }],
    emit(e, s) {
      if (s.kind === 'rawtp' && s.tp === 'block_bio_complete') {
        e.raw(1, R6);
      } else {
        const bioAt = memberOffset('request', 'bio');
        if (bioAt === undefined) { e.asm.ja(e.skip); return; }
        e.raw(0, R6);
        e.readKernel(R6, R6, bioAt, 8);
        e.asm.jmp('jeq', R6, imm(0), e.skip);
      }
      e.setArg(0, R6);
    },
  },
  {
    name: 'start',
    args: IO_ARGS,
    sources: [{ kind: 'rawtp', tp: 'block_bio_queue' }],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
  {
    name: 'wait-done',
    args: IO_ARGS,
    sources: [{ kind: 'fbt', fn: 'submit_bio_wait', dir: 'return' }],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
  {
    name: 'wait-start',
    args: IO_ARGS,
    sources: [{ kind: 'fbt', fn: 'submit_bio_wait', dir: 'entry' }],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
];

export const ioProvider = dependentProvider('io', IO_PROBES);
