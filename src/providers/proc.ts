/**
 * @fileoverview The proc provider (providers-on-linux.md §8): process and thread life cycle
 * and signals, `proc:vmlinux::<name>`, with Oracle's probe names and args[] table
 * (dtrace-utils dt_prov_proc.c). Without fbt the underlying events are:
 *
 *   create, lwp-create        sched_process_fork (parent context; raw arg 1 = the child)
 *   start, lwp-start          the child's first return from clone/clone3/fork/vfork (ret 0);
 *                             start only in a new process (pid == tid)
 *   exec                      execve/execveat entry (the path is a user pointer)
 *   exec-success              sched_process_exec (new image: execname is the new one)
 *   exec-failure              execve/execveat return with a non-zero value
 *   exit, lwp-exit            sched_process_exit; exit only when the thread group dies
 *   signal-send/-discard      signal_generate with result delivered (or info lost) / ignored
 *   signal-handle             signal_deliver (target context)
 */
import { R0, R1, R6, R7, imm } from '../bpf/asm/insn.js';
import { Helper, cEnum } from '../bpf/uapi.js';
import { dependentProvider, taskArgs, type DependentProbe } from './dependent.js';
import { memberOffset, rawTracepointParams } from './kernel-events.js';

const EXEC_SYSCALLS = ['execve', 'execveat'] as const;
const FORK_SYSCALLS = ['clone', 'clone3', 'fork', 'vfork'] as const;

// kernel/signal.c: enum trace_signal_result.
const TraceSignal = cEnum(['DELIVERED', 'IGNORED', 'ALREADY_PENDING', 'OVERFLOW_FAIL', 'LOSE_INFO']);
// <sys/wait.h> si_code values for a child's end (CLD_EXITED = 1, ...): exited, killed, dumped core.
const Cld = cEnum(['EXITED', 'KILLED', 'DUMPED'], 1);

/** Fires only when the current thread is its process's main thread (pid == tid). */
function emitRequireMainThread(e: Parameters<DependentProbe['emit']>[0]): void {
  const a = e.asm;
  a.call(Helper.get_current_pid_tgid).mov(R1, R0).alu64('rsh', R1, imm(32)).mov32(R0, R0);
  a.jmp('jne', R0, R1, e.skip);
}

const PROC_PROBES: DependentProbe[] = [
  {
    name: 'create',
    args: [{ mapping: 0, native: 'struct task_struct *', xlate: 'psinfo_t *' }],
    sources: [{ kind: 'rawtp', tp: 'sched_process_fork' }],
    emit(e) { e.raw(1, R6); e.setArg(0, R6); },
  },
  {
    name: 'exec',
    args: [{ mapping: 0, native: 'string', userland: true }],
    sources: [{ kind: 'syscall', dir: 'entry', syscalls: ['execve'] }, { kind: 'syscall', dir: 'entry', syscalls: ['execveat'] }],
    // execve(path, …) and execveat(dirfd, path, …).
    emit(e, s) { e.raw(s.kind === 'syscall' && s.syscalls[0] === 'execveat' ? 1 : 0, R6); e.setArg(0, R6); },
  },
  {
    name: 'exec-failure',
    args: [{ mapping: 0, native: 'int' }],
    sources: [{ kind: 'syscall', dir: 'return', syscalls: EXEC_SYSCALLS }],
    emit(e) { e.syscallReturn(R6); e.asm.jmp('jeq', R6, imm(0), e.skip); e.setArg(0, R6); },
  },
  {
    name: 'exec-success',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_process_exec' }],
    emit() { /* no arguments */ },
  },
  {
    name: 'exit',
    args: [{ mapping: 0, native: 'int' }],
    sources: [{ kind: 'rawtp', tp: 'sched_process_exit' }],
    available: () => memberOffset('task_struct', 'exit_code') !== undefined,
    emit(e) {
      const a = e.asm;
      // sched_process_exit(task, group_dead) where the kernel has group_dead; else the
      // leader's exit stands for the process's.
      if ((rawTracepointParams('sched_process_exit')?.length ?? 1) >= 2) {
        e.raw(1, R6);
        a.alu64('and', R6, imm(0xff)).jmp('jeq', R6, imm(0), e.skip);
      } else emitRequireMainThread(e);
      e.raw(0, R6);
      e.readKernel(R6, R6, memberOffset('task_struct', 'exit_code')!, 4);
      // (code & 0x7f) == 0: exited; else code & 0x80: dumped core; else killed.
      const out = a.newLabel('cld');
      a.mov(R7, imm(Cld.EXITED)).mov(R1, R6).alu64('and', R1, imm(0x7f)).jmp('jeq', R1, imm(0), out);
      a.mov(R7, imm(Cld.DUMPED)).mov(R1, R6).alu64('and', R1, imm(0x80)).jmp('jne', R1, imm(0), out);
      a.mov(R7, imm(Cld.KILLED));
      a.label(out);
      e.setArg(0, R7);
    },
  },
  {
    name: 'lwp-create',
    args: taskArgs(0),
    sources: [{ kind: 'rawtp', tp: 'sched_process_fork' }],
    emit(e) { e.raw(1, R6); e.setArg(0, R6); },
  },
  {
    name: 'lwp-exit',
    args: [],
    sources: [{ kind: 'rawtp', tp: 'sched_process_exit' }],
    emit() { /* no arguments */ },
  },
  {
    name: 'lwp-start',
    args: [],
    sources: [{ kind: 'syscall', dir: 'return', syscalls: FORK_SYSCALLS }],
    emit(e) { e.syscallReturn(R6); e.asm.jmp('jne', R6, imm(0), e.skip); },
  },
  {
    name: 'signal-discard',
    args: [...taskArgs(0), { mapping: 1, native: 'int' }],
    sources: [{ kind: 'rawtp', tp: 'signal_generate' }],
    // signal_generate(sig, info, task, group, result)
    emit(e) {
      e.raw(4, R6);
      e.asm.jmp('jne', R6, imm(TraceSignal.IGNORED), e.skip);
      e.raw(2, R6); e.setArg(0, R6);
      e.raw(0, R6); e.setArg(1, R6);
    },
  },
  {
    name: 'signal-handle',
    args: [{ mapping: 0, native: 'int' }, { mapping: 1, native: 'siginfo_t *' }, { mapping: 2, native: 'void (*)(void)' }],
    sources: [{ kind: 'rawtp', tp: 'signal_deliver' }],
    // signal_deliver(sig, info, ka): args[2] is the handler, ka->sa.sa_handler.
    emit(e) {
      e.raw(0, R6); e.setArg(0, R6);
      e.raw(1, R6); e.setArg(1, R6);
      e.raw(2, R6);
      e.readKernel(R6, R6, memberOffset('k_sigaction', 'sa', 'sa_handler') ?? 0, 8);
      e.setArg(2, R6);
    },
  },
  {
    name: 'signal-send',
    args: [...taskArgs(0), { mapping: 1, native: 'int' }],
    sources: [{ kind: 'rawtp', tp: 'signal_generate' }],
    // Queued for the target: complete_signal() ran (delivered, or delivered without its info).
    emit(e) {
      const a = e.asm;
      const fire = a.newLabel('queued');
      e.raw(4, R6);
      a.jmp('jeq', R6, imm(TraceSignal.DELIVERED), fire).jmp('jne', R6, imm(TraceSignal.LOSE_INFO), e.skip);
      a.label(fire);
      e.raw(2, R6); e.setArg(0, R6);
      e.raw(0, R6); e.setArg(1, R6);
    },
  },
  {
    name: 'start',
    args: [],
    sources: [{ kind: 'syscall', dir: 'return', syscalls: FORK_SYSCALLS }],
    emit(e) { e.syscallReturn(R6); e.asm.jmp('jne', R6, imm(0), e.skip); emitRequireMainThread(e); },
  },
];

export const procProvider = dependentProvider('proc', PROC_PROBES);
