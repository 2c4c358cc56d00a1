/**
 * @fileoverview The sched provider (providers-on-linux.md §9), `sched:vmlinux::<name>`, with
 * Oracle's names and args[] (dtrace-utils dt_prov_sched.c) over raw tracepoints:
 *
 *   off-cpu     sched_switch, in the outgoing thread; args[] = the thread about to run
 *   on-cpu      sched_exit_tp with is_switch: the tail of __schedule(), which runs in the
 *               thread just switched to (a new thread's first run goes through
 *               schedule_tail instead and is not seen). Kernels before 6.16 have no such
 *               tracepoint: there the entry of finish_task_switch() (fbt: fentry or a kprobe;
 *               `.isra.0` where the compiler cloned it), which also runs in the thread
 *               switched to, after every switch (schedule_tail calls it too), as dtrace-utils
 *   remain-cpu  sched_exit_tp without a switch: the scheduler kept the current thread (no
 *               event of older kernels marks this: __schedule() is notrace)
 *   sleep       sched_switch when the outgoing thread blocks (not preempted, state not
 *               TASK_RUNNING)
 *   preempt     sched_switch when the outgoing thread is preempted
 *   wakeup      sched_wakeup, in the waker; args[] = the thread woken
 *   surrender   sched_yield(2) entry; args[] = the current thread
 *
 * enqueue, dequeue and tick hang on kernel functions (fbt, as Oracle's): enqueue_task_<class> and
 * dequeue_task_<class>(rq, task, flags), scheduler_tick() (sched_tick() since Linux 6.10). A
 * kernel without kprobes or fentry (this project's 6.18 target) does not offer them rather than
 * approximate them.
 */
import { R1, R6, imm } from '../bpf/asm/insn.js';
import { dependentProvider, emitCurrentTask, taskArgs, type DependentProbe, type Underlying } from './dependent.js';

/** The scheduling classes' enqueue_task_<class>/dequeue_task_<class> functions. */
const SCHED_CLASSES = ['fair', 'rt', 'dl', 'stop', 'idle', 'ext'];
const classFunctions = (stem: string): Underlying[] => SCHED_CLASSES.map((c) => ({ kind: 'fbt', fn: `${stem}_${c}`, dir: 'entry' }));

/**
 * No tracepoint of older kernels fires in the thread that was just switched to (sched_switch
 * runs in the outgoing one), so on-cpu/remain-cpu cannot be built from tracepoints there.
 */
const SCHED_EXIT_TP_HINT = 'only recent kernels (6.16 on) have sched_exit_tp';
const ON_CPU_HINT = 'only recent kernels (6.16 on) have sched_exit_tp; older ones need kprobes or fentry for finish_task_switch';

/** finish_task_switch(prev) as fbt knows it: its own name, or a clone's (Debian 12's 6.1). */
const FINISH_TASK_SWITCH: Underlying[] = ['finish_task_switch', 'finish_task_switch.isra.0']
  .map((fn) => ({ kind: 'fbt', fn, dir: 'entry' }));

/**
 * args[2] of enqueue and dequeue: the CPU of the run queue (lib/sched.d translates the struct rq;
 * dtrace-utils leaves this pointer NULL, and the book's rq.d, qtime.d and lat.d read cpu_id).
 */
const RUN_QUEUE_CPU = { mapping: 1, native: 'struct rq *', xlate: 'cpuinfo_t *' };

const SCHED_PROBES: DependentProbe[] = [
  {
    name: 'dequeue',
    args: [...taskArgs(0), RUN_QUEUE_CPU, { mapping: 2, native: 'int' }],
    sources: classFunctions('dequeue_task'),
    emit(e) { e.raw(1, R6); e.setArg(0, R6); e.raw(0, R6); e.setArg(1, R6); e.raw(2, R6); e.setArg(2, R6); },
  },
  {
    name: 'enqueue',
    args: [...taskArgs(0), RUN_QUEUE_CPU],
    sources: classFunctions('enqueue_task'),
    emit(e) { e.raw(1, R6); e.setArg(0, R6); e.raw(0, R6); e.setArg(1, R6); },
  },
  {
    name: 'off-cpu',
    args: taskArgs(0),
    sources: [{ kind: 'rawtp', tp: 'sched_switch' }],
    // sched_switch(preempt, prev, next, prev_state)
    emit(e) { e.raw(2, R6); e.setArg(0, R6); },
  },
  {
    name: 'on-cpu',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_exit_tp' }, ...FINISH_TASK_SWITCH],
    firstSourceOnly: true,
    missingHint: ON_CPU_HINT,
    // sched_exit_tp(is_switch); finish_task_switch runs only after a switch.
    emit(e, source) { if (source.kind === 'rawtp') { e.raw(0, R6); e.asm.alu64('and', R6, imm(0xff)).jmp('jeq', R6, imm(0), e.skip); } },
  },
  {
    name: 'preempt',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_switch' }],
    emit(e) { e.raw(0, R6); e.asm.alu64('and', R6, imm(0xff)).jmp('jeq', R6, imm(0), e.skip); },
  },
  {
    name: 'remain-cpu',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_exit_tp' }],
    missingHint: SCHED_EXIT_TP_HINT,
    emit(e) { e.raw(0, R6); e.asm.alu64('and', R6, imm(0xff)).jmp('jne', R6, imm(0), e.skip); },
  },
  {
    name: 'sleep',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_switch' }],
    // A preempted thread is still runnable; a sleeping one left TASK_RUNNING (0).
    emit(e) {
      e.raw(0, R6); e.asm.alu64('and', R6, imm(0xff)).jmp('jne', R6, imm(0), e.skip);
      e.raw(3, R1); e.asm.mov32(R1, R1).jmp('jeq', R1, imm(0), e.skip);
    },
  },
  {
    name: 'surrender',
    args: taskArgs(0),
    sources: [{ kind: 'syscall', dir: 'entry', syscalls: ['sched_yield'] }],
    emit(e) { emitCurrentTask(e.asm, R6); e.setArg(0, R6); },
  },
  {
    name: 'tick',
    args: taskArgs(0),
    sources: [{ kind: 'fbt', fn: 'scheduler_tick', dir: 'entry' }, { kind: 'fbt', fn: 'sched_tick', dir: 'entry' }],
    emit(e) { emitCurrentTask(e.asm, R6); e.setArg(0, R6); },
  },
  {
    name: 'wakeup',
    args: taskArgs(0),
    sources: [{ kind: 'rawtp', tp: 'sched_wakeup' }],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
];

export const schedProvider = dependentProvider('sched', SCHED_PROBES);
