/**
 * @fileoverview The BTF and func_info records that describe the functions of a linked program
 * to the verifier (bpf_func_info: the instruction where each function starts, and its FUNC).
 *
 * A FUNC's linkage decides how the verifier checks a BPF-to-BPF call:
 * - static: the callee is walked again at every call site, with the caller's register state
 *   (its prototype is not checked; we give every static function `long f(long, long)`);
 * - global (Linux 5.12 for pointer arguments): the callee is verified once, on its own, with
 *   arguments typed by its prototype — a scalar for an integer, and for a pointer to a sized
 *   type a pointer to that many bytes of memory that may be NULL (the callee must test it) — and
 *   each call only checks the arguments against the prototype. Its return must be a scalar.
 */
import { encodeBtf, type BtfTypeSpec } from './encode.js';

/** A global function's prototype: `long name(struct <mem.struct> *<mem.name>, long <scalar>, …)`. */
export interface GlobalPrototype {
  /** The first parameter: a pointer to memory of `bytes` bytes (a struct of that size in BTF). */
  mem: { struct: string; name: string; bytes: number };
  /** Names of the `long` parameters that follow (at most four: BPF passes five in registers). */
  scalars: string[];
}

/** One function of a linked program. */
export interface ProgramFunction {
  /** Instruction (slot) index of its first instruction. */
  start: number;
  name: string;
  /** Present: described as a global function with this prototype; absent: static. */
  global?: GlobalPrototype;
}

/** The prototype as C, for listings: `long dt_f_strstr(struct dt_f_area *area, long s, long t)`. */
export function prototypeText(name: string, p: GlobalPrototype): string {
  return `long ${name}(struct ${p.mem.struct} *${p.mem.name}${p.scalars.map((s) => `, long ${s}`).join('')})`;
}

/** BTF holding a FUNC for each of `functions`, and the func_info records naming them (8 bytes each). */
export function programFunctionsBtf(functions: readonly ProgramFunction[]): { btf: Uint8Array; funcInfo: Uint8Array } {
  const types: BtfTypeSpec[] = [];
  const add = (t: BtfTypeSpec): number => types.push(t); // ids start at 1
  const long = add({ kind: 'int', name: 'long', sizeBytes: 8, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 64 });
  const staticProto = add({ kind: 'func_proto', name: '', returnType: long, params: [{ name: 'a', type: long }, { name: 'b', type: long }], variadic: false, explicitVoid: false });
  let byte: number | undefined, index: number | undefined;
  const memStructs = new Map<string, number>(); // "name/bytes" → pointer type id
  const pointerTo = (mem: GlobalPrototype['mem']): number => {
    const key = `${mem.struct}/${mem.bytes}`;
    let ptr = memStructs.get(key);
    if (ptr === undefined) {
      byte ??= add({ kind: 'int', name: 'unsigned char', sizeBytes: 1, signed: false, isChar: false, isBool: false, bitOffset: 0, bits: 8 });
      index ??= add({ kind: 'int', name: 'unsigned int', sizeBytes: 4, signed: false, isChar: false, isBool: false, bitOffset: 0, bits: 32 });
      const array = add({ kind: 'array', name: '', type: byte, indexType: index, nelems: mem.bytes });
      const struct = add({ kind: 'struct', name: mem.struct, sizeBytes: mem.bytes, kindFlag: false, members: [{ name: 'bytes', type: array, bitOffset: 0, bitfieldSize: 0 }] });
      ptr = add({ kind: 'ptr', name: '', type: struct });
      memStructs.set(key, ptr);
    }
    return ptr;
  };
  const funcIds = functions.map((f) => {
    let proto = staticProto;
    if (f.global) {
      const params = [{ name: f.global.mem.name, type: pointerTo(f.global.mem) }, ...f.global.scalars.map((name) => ({ name, type: long }))];
      proto = add({ kind: 'func_proto', name: '', returnType: long, params, variadic: false, explicitVoid: false });
    }
    return add({ kind: 'func', name: f.name, type: proto, linkage: f.global ? 'global' : 'static' });
  });
  const funcInfo = new Uint8Array(functions.length * 8);
  const v = new DataView(funcInfo.buffer);
  functions.forEach((f, n) => { v.setUint32(n * 8, f.start, true); v.setUint32(n * 8 + 4, funcIds[n]!, true); });
  return { btf: encodeBtf(types), funcInfo };
}

/** A name BTF accepts for a function (a C identifier), from a subprogram's name. */
export function btfFunctionName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}
