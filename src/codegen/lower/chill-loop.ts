/**
 * @fileoverview chill()'s wait on kernels with bpf_loop (5.17) but not bpf_iter_num (6.4), such
 * as Debian 12's 6.1: bpf_loop runs a callback up to 8M times and the verifier checks it once.
 * The callback reads the clock CHILL_LOOP_READS times, then stops the loop (returns 1) once
 * the time asked for has passed since the start; the caller passes a pointer to two words on
 * its stack: the start time and the nanoseconds to wait.
 */
import { Asm, R0, R1, R2, R3, R4, R6, R10, imm, type Insn, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';

/** The callback's subprogram name (compile.ts links it in when a program refers to it). */
export const CHILL_LOOP_SUBPROGRAM = 'dt_chill_loop';
/** BPF_MAX_LOOPS: the most iterations one bpf_loop() runs. */
const MAX_LOOPS = 1 << 23;
const CHILL_LOOP_READS = 16;
/** ld_imm64's source register for the address of a BPF function (a callback). */
const PSEUDO_FUNC = 4;

/** The callback: (index, ctx) → 0 to go on, 1 once ctx[1] ns have passed since ctx[0]. */
export function chillLoopSubprogram(): Insn[] {
  const a = new Asm(CHILL_LOOP_SUBPROGRAM);
  a.mov(R6, R2);
  for (let i = 0; i < CHILL_LOOP_READS; i++) a.call(Helper.ktime_get_ns);
  a.ldx(8, R1, R6, 0).alu64('sub', R0, R1).ldx(8, R1, R6, 8);
  a.jmp('jge', R0, R1, 'done').mov(R0, imm(0)).exit();
  a.label('done').mov(R0, imm(1)).exit();
  return a.insns;
}

/**
 * Emits the wait: the start time and `ns` at fp+slot and fp+slot+8, then bpf_loop over the
 * callback. R1-R5 are clobbered.
 */
export function emitChillLoop(a: Asm, ns: Reg, slot: number): void {
  a.call(Helper.ktime_get_ns).stx(8, R10, slot, R0).stx(8, R10, slot + 8, ns);
  a.mov(R1, imm(MAX_LOOPS));
  a.emit({ code: 0x18, dst: R2, src: PSEUDO_FUNC, off: 0, imm: 0, callee: CHILL_LOOP_SUBPROGRAM });
  a.mov(R3, R10).alu64('add', R3, imm(slot)).mov(R4, imm(0)).call(Helper.loop);
}
