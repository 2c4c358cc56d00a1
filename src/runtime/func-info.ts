/**
 * @fileoverview The BTF a program needs when it hands a BPF function to a helper (bpf_loop's
 * callback, an ld_imm64 of BPF_PSEUDO_FUNC): the verifier then wants func_info — one FUNC per
 * function of the program, at the instruction where each starts. Every function gets the same
 * static prototype `long f(long, long)`: static functions' arguments are not checked against it.
 */
import { encodeBtf } from '../bpf/btf/encode.js';
import { loadBtfIntoKernel } from '../bpf/elf/object-btf.js';
import { isLdImm64, slots, type Insn } from '../bpf/asm/insn.js';

const PSEUDO_FUNC = 4;
const JMP_CALL = 0x85;
const PSEUDO_CALL = 1;

/** Whether linked instructions take the address of a BPF function. */
export function takesFunctionAddress(insns: readonly Insn[]): boolean {
  return insns.some((i) => isLdImm64(i) && i.src === PSEUDO_FUNC);
}

/** The instruction (slot) index where each function of a linked program starts: 0, then every call or function-address target. */
function functionStarts(insns: readonly Insn[]): number[] {
  const starts = new Set<number>([0]);
  let slot = 0;
  for (const i of insns) {
    if ((isLdImm64(i) && i.src === PSEUDO_FUNC) || (i.code === JMP_CALL && i.src === PSEUDO_CALL)) starts.add(slot + 1 + i.imm);
    slot += slots(i);
  }
  return [...starts].sort((a, b) => a - b);
}

/** Loads the program's BTF; returns its fd and the func_info records, or the kernel's complaint. */
export function programFuncInfo(insns: readonly Insn[]): { btfFd: number; funcInfo: Uint8Array } | { error: string } {
  const starts = functionStarts(insns);
  const btf = encodeBtf([
    { kind: 'int', name: 'long', sizeBytes: 8, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 64 },
    { kind: 'func_proto', name: '', returnType: 1, params: [{ name: 'a', type: 1 }, { name: 'b', type: 1 }], variadic: false, explicitVoid: false },
    ...starts.map((_, n) => ({ kind: 'func' as const, name: `dt_fn${n}`, type: 2, linkage: 'static' as const })),
  ]);
  const loaded = loadBtfIntoKernel(btf);
  if ('error' in loaded) return loaded;
  const funcInfo = new Uint8Array(starts.length * 8);
  const v = new DataView(funcInfo.buffer);
  starts.forEach((s, n) => { v.setUint32(n * 8, s, true); v.setUint32(n * 8 + 4, 3 + n, true); });
  return { btfFd: loaded.fd, funcInfo };
}
