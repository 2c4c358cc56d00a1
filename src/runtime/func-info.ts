/**
 * @fileoverview The BTF a program is loaded with, when it needs one: func_info describing every
 * function of the linked program (bpf/btf/func-info.ts).
 * - A program that hands a BPF function to a helper (bpf_loop's callback, an ld_imm64 of
 *   BPF_PSEUDO_FUNC) cannot load without it; its functions are static.
 * - A program that calls functions the compiler declared global-capable (the string kfuncs'
 *   plain-BPF stand-ins, CompiledProgram.globalFunctions) describes those as BTF global
 *   functions, which the verifier checks once each instead of once per call site. Where the
 *   kernel refuses that (no BTF, a verifier older than 5.12, or the load fails for any reason),
 *   the program is loaded as before: the same instructions, every function static.
 */
import { loadBtfIntoKernel } from '../bpf/elf/object-btf.js';
import { isLdImm64, slots, type Insn } from '../bpf/asm/insn.js';
import { programFunctionsBtf, btfFunctionName, type GlobalPrototype, type ProgramFunction } from '../bpf/btf/func-info.js';
import { VerifierError } from '../bpf/errors.js';
import { closeFd } from '../bpf/sys.js';

const PSEUDO_FUNC = 4;
const JMP_CALL = 0x85;
const PSEUDO_CALL = 1;

/** Whether linked instructions take the address of a BPF function. */
export function takesFunctionAddress(insns: readonly Insn[]): boolean {
  return insns.some((i) => isLdImm64(i) && i.src === PSEUDO_FUNC);
}

/**
 * The functions of a linked program: the main one at 0, then every call or function-address
 * target, named after the subprogram called (`dt_fn<n>` where the instructions do not say).
 */
export function programFunctions(insns: readonly Insn[]): { start: number; name?: string }[] {
  const names = new Map<number, string | undefined>([[0, undefined]]);
  let slot = 0;
  for (const i of insns) {
    if ((isLdImm64(i) && i.src === PSEUDO_FUNC) || (i.code === JMP_CALL && i.src === PSEUDO_CALL)) {
      const start = slot + 1 + i.imm;
      if (!names.get(start)) names.set(start, i.callee);
    }
    slot += slots(i);
  }
  return [...names].sort(([a], [b]) => a - b).map(([start, name]) => (name === undefined ? { start } : { start, name }));
}

/** The BTF to load `insns` with: its fd, the func_info records, and whether any function is global. */
export interface ProgramBtf { btfFd: number; funcInfo: Uint8Array; global: boolean }

/**
 * Loads the BTF describing the program's functions, those named in `globals` as global
 * functions; undefined when the program needs none (no function address taken, no global
 * function called), or the kernel's complaint.
 */
export function programFuncInfo(insns: readonly Insn[], globals?: ReadonlyMap<string, GlobalPrototype>): ProgramBtf | { error: string } | undefined {
  const functions: ProgramFunction[] = programFunctions(insns).map((f, n) => {
    const global = f.name === undefined ? undefined : globals?.get(f.name);
    const name = f.name === undefined ? `dt_fn${n}` : btfFunctionName(f.name);
    return global ? { start: f.start, name, global } : { start: f.start, name };
  });
  const global = functions.some((f) => f.global);
  if (!global && !takesFunctionAddress(insns)) return undefined;
  const { btf, funcInfo } = programFunctionsBtf(functions);
  const loaded = loadBtfIntoKernel(btf);
  if ('error' in loaded) return loaded;
  return { btfFd: loaded.fd, funcInfo, global };
}

/**
 * Loads a linked program through `load` with the BTF it needs: its global-capable functions
 * (`globals`, when the kernel takes global functions) global, else every function static.
 * A kernel that refuses the global form (its BTF or the program) gets the static form; errors
 * of the static form are the caller's (`fail` for a BTF the kernel refuses).
 */
export function loadWithFunctions<P>(insns: readonly Insn[], globals: ReadonlyMap<string, GlobalPrototype> | undefined,
  load: (btf?: { btfFd: number; funcInfo: Uint8Array }) => P, fail: (message: string) => never): P {
  if (globals?.size) {
    const info = programFuncInfo(insns, globals);
    if (info && !('error' in info)) {
      try {
        return load(info);
      } catch (e) {
        // Rather the static form's verdict (today's behaviour) than a global-function one.
        if (!(e instanceof VerifierError) || !info.global) throw e;
      } finally {
        closeFd(info.btfFd);
      }
    }
  }
  const info = programFuncInfo(insns);
  if (info && 'error' in info) fail(info.error);
  try {
    return load(info);
  } finally {
    if (info) closeFd(info.btfFd);
  }
}
