/**
 * @fileoverview Telling the tracer's frames from the traced code's in BPF. A raw tracepoint or
 * fentry program that calls bpf_get_stack() sees its own frame, the BPF trampoline's, and the
 * tracepoint glue (bpf_trace_runN, __bpf_trace_<class>, __traceiter_<event>) above the code
 * that hit the probe; how many depends on how many programs share the tracepoint, so the count
 * is found at run time. `dt_tracer_frame` classifies one return address against the kernel's
 * text and the tracer functions' ranges (from kallsyms, via KernelLookups.tracerFrames):
 * R1 = the address; R0 = 0 (traced code), 1 (tracer function), 2 (outside the kernel's text: a
 * BPF program or trampoline, or a module).
 */
import { Asm, R0, R1, R2, imm, type Insn } from '../bpf/asm/insn.js';

/** The kernel's text and the tracer functions in it, as offsets from the text's start (consume/tracer-frames.ts builds it). */
export interface TracerFrameTable {
  textStart: bigint;
  textBytes: number;
  /** Sorted, disjoint [start, end) offsets of the tracer functions. */
  ranges: Array<[number, number]>;
}

export const TRACER_FRAME_SUBPROGRAM = 'dt_tracer_frame';

/** Frames of the tracer that can sit above the traced code (program, trampoline, glue). */
export const TRACER_SLACK_FRAMES = 8;

export const TracerFrame = { TRACED: 0, TRACER: 1, OUTSIDE_TEXT: 2 } as const;

export function tracerFrameSubprogram(t: TracerFrameTable): Insn[] {
  const a = new Asm(TRACER_FRAME_SUBPROGRAM);
  const out = 'out', traced = 'traced';
  a.ldImm64(R2, BigInt.asIntN(64, t.textStart)).alu64('sub', R1, R2);
  a.mov(R0, imm(TracerFrame.OUTSIDE_TEXT)).jmp('jge', R1, imm(t.textBytes), out);
  a.mov(R0, imm(TracerFrame.TRACER));
  // Sorted ranges: below a range's start means below every later one too.
  for (const [start, end] of t.ranges) a.jmp('jlt', R1, imm(start), traced).jmp('jlt', R1, imm(end), out);
  a.label(traced).mov(R0, imm(TracerFrame.TRACED));
  a.label(out).exit();
  return a.insns;
}
