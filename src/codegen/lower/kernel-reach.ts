/**
 * @fileoverview What reaches past the probe's own data: the stack-shaped variables (caller,
 * ucaller, stackdepth, ustackdepth) and kernel stacks without the tracer's frames, vtimestamp
 * from the scheduler's per-task runtime, and the destructive actions that act on the process or
 * CPU (raise, stop, chill, copyout, copyoutstr). breakpoint() and panic() have no BPF
 * equivalent and are refused here.
 */
import { emitChillLoop } from './chill-loop.js';
import { R0, R1, R2, R3, R4, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { MST, Fault } from '../layout.js';
import { type VType, U64, U32 } from '../infer.js';
import { TRACER_FRAME_SUBPROGRAM, TRACER_SLACK_FRAMES, TracerFrame } from '../tracer-skip.js';
import { LowerError, type Val } from './context.js';
import { ActionLowering } from './actions.js';

const BPF_F_USER_STACK = 256;
/** The deepest stack stackdepth/ustackdepth count (the kernel's perf_event_max_stack default). */
const MAX_STACK_FRAMES = 127;
const SIGSTOP = 19;
const NSIG = 64;
/** DTrace's cap on one chill() (dtrace_chill_max: 500 ms per second); more is an illegal operation. */
export const CHILL_MAX_NS = 500_000_000;
/**
 * chill() busy-waits in a bounded loop, which the verifier walks iteration by iteration: each
 * time check leaves a branch for it to explore later, and it keeps at most 8192 of those, so
 * the clock is compared every CHILL_READS_PER_CHECK reads, at most CHILL_CHECKS times.
 */
export const CHILL_CHECKS = 1024;
export const CHILL_READS_PER_CHECK = 64;
/**
 * Where the kernel has bpf_iter_num (6.4), the verifier checks chill()'s loop once: up to
 * BPF_MAX_LOOPS iterations of CHILL_READS_PER_ITERATION clock reads — seconds of reads, so
 * any chill() up to the cap waits its whole time (the bounded loop above gives out after
 * 65,536 reads, a millisecond or two). Its iterator lives at fp-24, otherwise only the
 * prologue's map key.
 */
const CHILL_ITERATIONS = 1 << 23;
const CHILL_READS_PER_ITERATION = 16;
const CHILL_ITER_SLOT = -24;
/** With bpf_loop (5.17) instead: its callback's two words (start, ns) at fp-40 and fp-32, free then. */
const CHILL_LOOP_SLOT = -40;
/** x86-64 `struct pt_regs`: offset of `sp`. */
const PT_REGS_SP = 152;

export abstract class ReachLowering extends ActionLowering {
  protected override ident(e: A.Ident): Val {
    const s = this.sym(e);
    if (s?.kind === 'builtin-var' || !s) {
      switch (e.name) {
        case 'caller': return this.callerValue(e);
        case 'ucaller': return this.ucallerValue(e);
        case 'stackdepth': return this.stackDepth(e, false);
        case 'ustackdepth': return this.stackDepth(e, true);
        case 'vtimestamp': if (this.env.kernelTypes()?.structType('struct', 'task_struct')) return this.vtimestamp(e); break;
      }
    }
    return super.ident(e);
  }

  protected override call(e: A.Call): Val | undefined {
    switch (e.callee.name) {
      case 'raise': return this.raise(e.args[0]!);
      case 'stop': return this.raiseConst(SIGSTOP);
      case 'chill': return this.chill(e.args[0]!, e);
      case 'copyout': return this.copyout(e);
      case 'copyoutstr': return this.copyoutstr(e);
      case 'breakpoint': throw new LowerError('breakpoint( ) is not supported on Linux: a BPF program cannot stop the kernel in a debugger', e);
      case 'panic': throw new LowerError('panic( ) is not supported on Linux: a BPF program cannot panic the kernel', e);
    }
    return super.call(e);
  }

  /** Kernel stacks: stack(N) records N frames of the traced code, the tracer's own skipped. */
  protected override emitRecorded(call: A.Call, at: number, rt: Extract<VType, { t: 'obj' }>): void {
    if (rt.decode !== 'stack') { super.emitRecorded(call, at, rt); return; }
    const a = this.asm;
    const frames = rt.size / 8 - TRACER_SLACK_FRAMES;
    a.ldx(8, R1, R10, -8).mov(R2, R9).alu64('add', R2, imm(at)).mov(R3, imm(rt.size)).mov(R4, imm(0)).call(Helper.get_stack);
    if (this.stackHasTracerFrames()) {
      const k = this.alloc(call);
      this.tracerSkip(at, k);
      // Shift the traced frames down over the tracer's (k ≤ slack: in bounds for the verifier).
      const none = a.newLabel('nosk');
      a.jmp('jeq', k, imm(0), none);
      a.mov(R1, k).alu64('lsh', R1, imm(3)).mov(R2, R9).alu64('add', R2, R1);
      for (let i = 0; i < frames; i++) a.ldx(8, R3, R2, at + 8 * i).stx(8, R9, at + 8 * i, R3);
      a.label(none).mov(R0, R0);
      this.release(k);
    }
    for (let i = frames; i < frames + TRACER_SLACK_FRAMES; i++) a.st(8, R9, at + 8 * i, 0);
  }

  /** Whether bpf_get_stack in this program starts in the tracer (not at the probed registers). */
  private stackHasTracerFrames(): boolean {
    return (this.env.bpfType === 'raw_tracepoint' || this.env.bpfType === 'tracing') && !!this.env.tracerFrames?.();
  }

  /**
   * k = the number of the tracer's frames at the top of the kernel stack at R9 + `at`: first the
   * frames outside the kernel's text (the BPF program, a trampoline), then tracer functions.
   */
  private tracerSkip(at: number, k: Reg): void {
    const a = this.asm;
    const n = TRACER_SLACK_FRAMES;
    const top = (i: number) => `${done}.top${i}`, after = (i: number) => `${done}.after${i}`, found = (i: number) => `${done}.k${i}`;
    const done = a.newLabel('tskip');
    for (let i = 0; i < n; i++) {
      a.label(top(i)).ldx(8, R1, R9, at + 8 * i).jmp('jeq', R1, imm(0), found(i)).callSub(TRACER_FRAME_SUBPROGRAM);
      a.jmp('jeq', R0, imm(TracerFrame.TRACED), found(i)).jmp('jeq', R0, imm(TracerFrame.TRACER), i + 1 < n ? after(i + 1) : found(n));
    }
    a.ja(found(n));
    for (let i = 1; i < n; i++) {
      a.label(after(i)).ldx(8, R1, R9, at + 8 * i).jmp('jeq', R1, imm(0), found(i)).callSub(TRACER_FRAME_SUBPROGRAM);
      a.jmp('jne', R0, imm(TracerFrame.TRACER), found(i));
    }
    a.ja(found(n));
    for (let i = 0; i <= n; i++) a.label(found(i)).mov(k, imm(i)).ja(done);
    a.label(done).mov(k, k);
  }

  /** Offset of `bytes` of consecutive temporary slots (fewer when the slots run out; the size is returned). */
  private scratchArea(bytes: number, node: A.Expr): { off: number; bytes: number } {
    const first = this.tmpSlot(node);
    let have = this.mem.strSlot;
    while (have < bytes && this.tmpNext < this.mem.ntmp) { this.tmpSlot(node); have += this.mem.strSlot; }
    return { off: first, bytes: Math.min(bytes, have) & ~7 };
  }

  /** caller: the return address into the function that made the probed call (or hit the tracepoint). */
  private callerValue(e: A.Ident): Val {
    const a = this.asm;
    const slots = TRACER_SLACK_FRAMES + 2;
    const buf = this.scratchArea(slots * 8, e);
    const r = this.alloc(e);
    a.ldx(8, R1, R10, -8).mov(R2, R9).alu64('add', R2, imm(buf.off)).mov(R3, imm(buf.bytes)).mov(R4, imm(0)).call(Helper.get_stack);
    if (this.stackHasTracerFrames()) this.tracerSkip(buf.off, r); else a.mov(r, imm(0));
    // At a function's entry the first frame is the function itself.
    const entry = this.env.bpfType === 'tracing' || (this.env.bpfType === 'kprobe' && this.probe.name === 'entry');
    if (entry) a.alu64('add', r, imm(1));
    const ok = a.newLabel('callok');
    a.jmp('jle', r, imm(buf.bytes / 8 - 1), ok).mov(r, imm(buf.bytes / 8 - 1)).label(ok);
    a.alu64('lsh', r, imm(3)).alu64('add', r, R9).ldx(8, r, r, buf.off);
    return { t: 'int', reg: r, type: U64 };
  }

  /** ucaller: the user-space return address (at a pid entry probe, the word at the stack pointer). */
  private ucallerValue(e: A.Ident): Val {
    const a = this.asm;
    const r = this.alloc(e);
    if (this.env.bpfType === 'kprobe' && this.probe.provider.startsWith('pid') && this.probe.name === 'entry') {
      a.ldx(8, R1, R10, -8).ldx(8, R3, R1, PT_REGS_SP).st(8, R9, MST.scratchU64, 0);
      a.mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(8)).call(Helper.probe_read_user);
      a.ldx(8, r, R9, MST.scratchU64);
      return { t: 'int', reg: r, type: U64 };
    }
    const buf = this.tmpSlot(e);
    a.ldx(8, R1, R10, -8).mov(R2, R9).alu64('add', R2, imm(buf)).mov(R3, imm(16)).mov(R4, imm(BPF_F_USER_STACK)).call(Helper.get_stack);
    a.ldx(8, r, R9, buf + 8);
    return { t: 'int', reg: r, type: U64 };
  }

  /** stackdepth / ustackdepth: the frames bpf_get_stack finds (up to 127), less the tracer's own. */
  private stackDepth(e: A.Ident, user: boolean): Val {
    const a = this.asm;
    const buf = this.scratchArea(MAX_STACK_FRAMES * 8, e);
    const r = this.alloc(e);
    a.ldx(8, R1, R10, -8).mov(R2, R9).alu64('add', R2, imm(buf.off)).mov(R3, imm(buf.bytes)).mov(R4, imm(user ? BPF_F_USER_STACK : 0)).call(Helper.get_stack);
    const ok = a.newLabel('sdok');
    a.mov(r, R0).jmp('jsge', r, imm(0), ok).mov(r, imm(0)).label(ok).alu64('rsh', r, imm(3));
    if (!user && this.stackHasTracerFrames()) {
      // The subprogram keeps R6–R9: r survives it.
      const k = this.alloc(e);
      this.tracerSkip(buf.off, k);
      a.alu64('sub', r, k);
      this.release(k);
    }
    return { t: 'int', reg: r, type: U32 };
  }

  /** vtimestamp: the thread's time on CPU (se.sum_exec_runtime, brought up to date at each tick and switch). */
  private vtimestamp(e: A.Ident): Val {
    const a = this.asm;
    const types = this.env.kernelTypes();
    const task = types?.structType('struct', 'task_struct');
    const se = task && this.findMember(task, 'se');
    const entity = types?.structType('struct', 'sched_entity');
    const runtime = entity && this.findMember(entity, 'sum_exec_runtime');
    if (!se || !runtime) throw new LowerError('vtimestamp needs struct task_struct and struct sched_entity from the kernel BTF', e);
    const r = this.alloc(e);
    a.call(Helper.get_current_task).mov(r, R0).alu64('add', r, imm((se.bitOffset + runtime.bitOffset) / 8));
    this.readMemory(r, 8, 'kernel');
    a.ldx(8, r, R9, MST.scratchU64);
    return { t: 'int', reg: r, type: U64 };
  }

  /** raise(sig): the signal to the current process; an invalid signal is an illegal operation. */
  private raise(sigExpr: A.Expr): undefined {
    const a = this.asm;
    const sig = this.evalInt(sigExpr);
    const bad = a.newLabel('sigbad'), ok = a.newLabel('sigok');
    a.jmp('jslt', sig.reg, imm(1), bad).jmp('jsgt', sig.reg, imm(NSIG), bad);
    a.mov(R1, sig.reg).call(Helper.send_signal).ja(ok);
    a.label(bad);
    this.fault(Fault.ILLOP, sig.reg);
    a.label(ok).mov(R0, R0);
    this.release(sig);
    return undefined;
  }

  private raiseConst(sig: number): undefined {
    this.asm.mov(R1, imm(sig)).call(Helper.send_signal);
    return undefined;
  }

  /** chill(ns): spin on the CPU until ns have passed (bounded; above DTrace's cap, an illegal operation). */
  private chill(nsExpr: A.Expr, e: A.Call): undefined {
    const a = this.asm;
    const ns = this.evalInt(nsExpr);
    const ok = a.newLabel('chillok'), loop = a.newLabel('chill'), done = a.newLabel('chilled');
    a.jmp('jle', ns.reg, imm(CHILL_MAX_NS), ok);
    this.fault(Fault.ILLOP, ns.reg);
    a.label(ok);
    if (this.env.kfuncs?.has('bpf_iter_num_new')) { this.chillOnIterator(ns.reg, e); this.release(ns); return undefined; }
    if (this.env.bpfLoop) { emitChillLoop(a, ns.reg, CHILL_LOOP_SLOT); this.release(ns); return undefined; }
    const start = this.alloc(e), count = this.alloc(e);
    a.call(Helper.ktime_get_ns).mov(start, R0).mov(count, imm(0));
    // Outer count in the high bits of `count`, reads since the last check in the low bits.
    a.label(loop).call(Helper.ktime_get_ns).alu64('add', count, imm(1));
    a.mov(R1, count).alu64('and', R1, imm(CHILL_READS_PER_CHECK - 1)).jmp('jne', R1, imm(0), loop);
    a.alu64('sub', R0, start).jmp('jge', R0, ns.reg, done);
    a.jmp('jlt', count, imm(CHILL_CHECKS * CHILL_READS_PER_CHECK), loop);
    a.label(done).mov(count, imm(0)).mov(start, imm(0));
    this.release(count); this.release(start); this.release(ns);
    return undefined;
  }

  /** chill()'s wait on bpf_iter_num: read the clock until `ns` have passed since the first read. */
  private chillOnIterator(ns: Reg, e: A.Call): void {
    const a = this.asm;
    const start = this.alloc(e);
    const head = a.newLabel('chillit'), done = a.newLabel('chillitdone');
    const iter = (): void => { a.mov(R1, R10).alu64('add', R1, imm(CHILL_ITER_SLOT)); };
    a.call(Helper.ktime_get_ns).mov(start, R0);
    iter(); a.mov(R2, imm(0)).mov(R3, imm(CHILL_ITERATIONS)).callKfunc('bpf_iter_num_new');
    a.label(head); iter(); a.callKfunc('bpf_iter_num_next').jmp('jeq', R0, imm(0), done);
    for (let i = 0; i < CHILL_READS_PER_ITERATION; i++) a.call(Helper.ktime_get_ns);
    a.alu64('sub', R0, start).jmp('jlt', R0, ns, head);
    a.label(done); iter(); a.callKfunc('bpf_iter_num_destroy');
    a.mov(start, imm(0));
    this.release(start);
  }

  /** Refuses copyout()/copyoutstr() where the kernel forbids writing user memory, saying why. */
  private requireUserWrites(e: A.Call): void {
    const status = this.env.writeUser?.() ?? { available: false, reason: 'the kernel was not asked whether it allows bpf_probe_write_user' };
    if (!status.available) throw new LowerError(`${e.callee.name}( ) needs bpf_probe_write_user: ${status.reason ?? 'this kernel forbids it'}`, e);
  }

  /** copyout(src, uaddr, n): n bytes of alloca()d memory to the process's address uaddr. */
  private copyout(e: A.Call): undefined {
    this.requireUserWrites(e);
    const a = this.asm;
    const [src, dst, n] = this.evalArgs(e.args) as Array<Extract<Val, { t: 'int' }>>;
    const sizeOk = a.newLabel('cpoutsz');
    a.jmp('jle', n!.reg, imm(this.mem.scratchsize), sizeOk);
    this.fault(Fault.BADSIZE, n!.reg);
    a.label(sizeOk);
    this.allocaAccess(src!.reg, { reg: n!.reg }, 'write', true);
    this.writeUser(dst!.reg, n!.reg, this.mem.scratchsize);
    this.release(src); this.release(dst); this.release(n);
    return undefined;
  }

  /** copyoutstr(str, uaddr, n): the string and its NUL, at most n bytes, to the process. */
  private copyoutstr(e: A.Call): undefined {
    this.requireUserWrites(e);
    const a = this.asm;
    const [s, dst, n] = this.evalArgs(e.args) as Array<Extract<Val, { t: 'int' }>>;
    const tmp = this.tmpSlot(e);
    // A copy in scratch memory: its length (with the NUL) is what probe_read_kernel_str returns.
    a.mov(R1, R9).alu64('add', R1, imm(tmp)).mov(R2, imm(this.mem.strsize + 1)).mov(R3, s!.reg).call(Helper.probe_read_kernel_str);
    const got = a.newLabel('cpostr');
    a.jmp('jsgt', R0, imm(0), got);
    this.fault(Fault.BADADDR, s!.reg);
    a.label(got).jmp('jle', n!.reg, R0, `${got}.n`).mov(n!.reg, R0).label(`${got}.n`);
    a.mov(R1, R9).alu64('add', R1, imm(tmp));
    this.writeUser(dst!.reg, n!.reg, this.mem.strsize + 1);
    this.release(s); this.release(dst); this.release(n);
    return undefined;
  }

  /** bpf_probe_write_user(dst, R1 = a map-value pointer, len ≤ bound); a failed write faults on dst. */
  private writeUser(dst: Reg, len: Reg, bound: number): void {
    const a = this.asm;
    const inb = a.newLabel('pwlen'), ok = a.newLabel('pwok');
    a.mov(R2, R1).mov(R3, len).jmp('jle', R3, imm(bound), inb).mov(R3, imm(bound)).label(inb);
    a.jmp('jeq', R3, imm(0), ok);
    a.mov(R1, dst).call(Helper.probe_write_user).jmp('jeq', R0, imm(0), ok);
    this.fault(Fault.BADADDR, dst);
    a.label(ok).mov(R0, R0);
  }
}
