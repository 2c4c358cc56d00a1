/**
 * @fileoverview CO-RE relocation: computes a relocation's value against the running kernel's BTF
 * and patches the instruction (libbpf relo_core.c: bpf_core_calc_relo_insn, bpf_core_patch_insn).
 *
 * Every candidate type (same kind, same name without `___flavor`) that matches the access must
 * give the same answer, or the relocation is ambiguous. When none matches, "exists" kinds give
 * 0 and the rest poison the instruction: it becomes a call to the unknown helper 0xbad2310,
 * which the verifier rejects only if the instruction is reachable. So a field read guarded by
 * bpf_core_field_exists() loads fine on a kernel without the field, and an unguarded one fails;
 * the loader then names the relocation and the C line.
 */
import type { Btf, BtfType, TypeId } from '../btf/index.js';
import {
  CoreReloKind, CoreSpecError, describeSpec, essentialName, isEnumvalKind, isFieldKind, isTypeKind, matchSpec, parseSpec,
  CORE_RELO_KIND_NAMES, type CoreSpec,
} from './spec.js';
import type { CoreCandidate, CoreCandidateSource } from './candidates.js';

/** libbpf's POISON_CALL_KFUNC_BASE-independent poison helper id (0xbad2310). */
export const CORE_POISON_IMM = 0xbad2310;

export interface CoreReloInput {
  /** Instruction index in `insns` the relocation applies to. */
  insnIndex: number;
  /** Local (object) BTF type id. */
  typeId: TypeId;
  access: string;
  kind: number;
}

export interface CoreReloResult {
  /** `struct task_struct.real_parent.tgid` (the local spec). */
  description: string;
  kindName: string;
  /** The local root type without its ___flavor (`struct task_struct`). */
  rootName: string;
  /** The last named field of the access, for field relocations. */
  fieldName: string | undefined;
  poisoned: boolean;
  origValue: bigint;
  newValue: bigint;
}

export class CoreRelocationError extends Error {
  constructor(readonly description: string, readonly reason: string) {
    super(`CO-RE relocation ${description}: ${reason}`);
    this.name = 'CoreRelocationError';
  }
}

interface CalcResult { value: bigint; poison: boolean; validate: boolean; fieldSize?: number; fieldIsScalar?: boolean }

function fieldMemberType(spec: CoreSpec): { member: { bitOffset: number; bitfieldSize: number; type: TypeId } | undefined; t: BtfType } {
  const acc = spec.accessors[spec.accessors.length - 1]!;
  const t = spec.btf.typeById(acc.typeId);
  if (acc.name === undefined || (t.kind !== 'struct' && t.kind !== 'union')) return { member: undefined, t };
  return { member: t.members[acc.index]!, t };
}

function calcField(spec: CoreSpec | undefined, kind: number): CalcResult {
  if (kind === CoreReloKind.FIELD_EXISTS) return { value: spec ? 1n : 0n, poison: false, validate: true };
  if (!spec) return { value: 0n, poison: true, validate: false };
  const btf = spec.btf;
  const acc = spec.accessors[spec.accessors.length - 1]!;
  const { member } = fieldMemberType(spec);
  if (!member) {
    const sz = btf.sizeOf(acc.typeId) ?? 0;
    if (kind === CoreReloKind.FIELD_BYTE_OFFSET) {
      return { value: BigInt(spec.bitOffset / 8), poison: false, validate: true, fieldSize: sz, fieldIsScalar: isScalar(btf, acc.typeId) };
    }
    if (kind === CoreReloKind.FIELD_BYTE_SIZE) return { value: BigInt(sz), poison: false, validate: true };
    throw new CoreSpecError(`${CORE_RELO_KIND_NAMES[kind]} cannot apply to an array element`);
  }
  const fieldTypeId = btf.resolve(member.type);
  const mt = btf.typeById(fieldTypeId);
  const bitOff = spec.bitOffset;
  let bitSize = member.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    byteSize = btf.sizeOf(fieldTypeId) ?? 0;
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreSpecError('bit-field cannot be read with a 64-bit load');
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = btf.sizeOf(fieldTypeId) ?? 0;
    byteOff = bitOff / 8;
    bitSize = byteSize * 8;
  }
  switch (kind) {
    case CoreReloKind.FIELD_BYTE_OFFSET:
      return bitfield
        ? { value: BigInt(byteOff), poison: false, validate: false }
        : { value: BigInt(byteOff), poison: false, validate: true, fieldSize: byteSize, fieldIsScalar: isScalar(btf, fieldTypeId) };
    case CoreReloKind.FIELD_BYTE_SIZE: return { value: BigInt(byteSize), poison: false, validate: !bitfield };
    case CoreReloKind.FIELD_SIGNED: {
      const signed = ((mt.kind === 'enum' || mt.kind === 'enum64') && mt.signed) || (mt.kind === 'int' && mt.signed);
      return { value: signed ? 1n : 0n, poison: false, validate: true };
    }
    case CoreReloKind.FIELD_LSHIFT_U64: return { value: BigInt(64 - (bitOff + bitSize - byteOff * 8)), poison: false, validate: !bitfield };
    case CoreReloKind.FIELD_RSHIFT_U64: return { value: BigInt(64 - bitSize), poison: false, validate: true };
    default: throw new CoreSpecError(`unknown field relocation kind ${kind}`);
  }
}

function isScalar(btf: Btf, id: TypeId): boolean {
  const k = btf.typeById(btf.resolve(id)).kind;
  return k === 'int' || k === 'ptr' || k === 'enum' || k === 'enum64';
}

function calcType(spec: CoreSpec | undefined, kind: number): CalcResult {
  if (!spec) return { value: 0n, poison: false, validate: true };
  switch (kind) {
    case CoreReloKind.TYPE_ID_LOCAL: case CoreReloKind.TYPE_ID_TARGET: return { value: BigInt(spec.rootTypeId), poison: false, validate: true };
    case CoreReloKind.TYPE_EXISTS: case CoreReloKind.TYPE_MATCHES: return { value: 1n, poison: false, validate: true };
    case CoreReloKind.TYPE_SIZE: return { value: BigInt(spec.btf.sizeOf(spec.rootTypeId) ?? 0), poison: false, validate: true };
    default: throw new CoreSpecError(`unknown type relocation kind ${kind}`);
  }
}

function calcEnumval(spec: CoreSpec | undefined, kind: number): CalcResult {
  if (kind === CoreReloKind.ENUMVAL_EXISTS) return { value: spec ? 1n : 0n, poison: false, validate: true };
  if (!spec) return { value: 0n, poison: true, validate: false };
  const t = spec.btf.typeById(spec.accessors[0]!.typeId);
  if (t.kind !== 'enum' && t.kind !== 'enum64') throw new CoreSpecError('enum relocation on a non-enum');
  return { value: t.values[spec.accessors[0]!.index]!.value, poison: false, validate: true };
}

function calc(spec: CoreSpec | undefined, kind: number): CalcResult {
  if (isFieldKind(kind)) return calcField(spec, kind);
  if (isTypeKind(kind)) return calcType(spec, kind);
  if (isEnumvalKind(kind)) return calcEnumval(spec, kind);
  throw new CoreSpecError(`unknown relocation kind ${kind}`);
}

/**
 * Candidates per local type id, shared by every relocation of one object (libbpf's cand_cache):
 * once a relocation has matched some candidates, later relocations of the same local type only
 * consider those, so two flavors that each satisfy a different access do not both pass.
 */
export type CoreCandidateCache = Map<TypeId, CoreCandidate[]>;

/** Computes one relocation against the candidates `targets` offers (bpf_core_calc_relo_insn). */
export function computeCoreRelocation(local: Btf, relo: CoreReloInput, targets: CoreCandidateSource, cache: CoreCandidateCache = new Map()):
  { result: CoreReloResult; orig: CalcResult; target: CalcResult } {
  const localSpec = parseSpec(local, relo.typeId, relo.access, relo.kind);
  const description = describeSpec(localSpec);
  const kindName = CORE_RELO_KIND_NAMES[relo.kind] ?? `kind ${relo.kind}`;
  const orig = calc(localSpec, relo.kind);
  const localType = local.typeById(relo.typeId);
  const rootText = local.typeToString(relo.typeId);
  const rootName = localType.name ? rootText.replace(localType.name, essentialName(localType.name)) : rootText;
  const fieldName = isFieldKind(relo.kind) ? [...localSpec.accessors].reverse().find((a) => a.name !== undefined)?.name : undefined;
  const base = { description, kindName, rootName, fieldName };
  if (relo.kind === CoreReloKind.TYPE_ID_LOCAL) {
    return { result: { ...base, poisoned: false, origValue: orig.value, newValue: orig.value }, orig, target: orig };
  }
  if (!localType.name) throw new CoreRelocationError(description, 'relocations against anonymous types are not supported');
  let chosen: { spec: CoreSpec; res: CalcResult } | undefined;
  let cands = cache.get(relo.typeId);
  if (!cands) {
    cands = targets.candidates(localType.kind, essentialName(localType.name));
    cache.set(relo.typeId, cands);
  }
  const matched: CoreCandidate[] = [];
  for (const cand of cands) {
    const spec = matchSpec(localSpec, cand.btf, cand.id);
    if (!spec) continue;
    matched.push(cand);
    const res = calc(spec, relo.kind);
    if (!chosen) { chosen = { spec, res }; continue; }
    if (spec.bitOffset !== chosen.spec.bitOffset) {
      throw new CoreRelocationError(description, `field offset ambiguity: ${spec.bitOffset} != ${chosen.spec.bitOffset} bits among candidates`);
    }
    if (res.poison !== chosen.res.poison || res.value !== chosen.res.value) {
      throw new CoreRelocationError(description, `relocation decision ambiguity: ${res.value} != ${chosen.res.value} among candidates`);
    }
  }
  if (matched.length > 0) cache.set(relo.typeId, matched);
  const target = chosen ? chosen.res : calc(undefined, relo.kind);
  return { result: { ...base, poisoned: target.poison, origValue: orig.value, newValue: target.value }, orig, target };
}

const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_ALU64 = 0x07;
const SIZE_BYTES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
const SIZE_CODE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };

function poisonInsn(v: DataView, off: number): void {
  v.setUint8(off, 0x85); // BPF_JMP | BPF_CALL
  v.setUint8(off + 1, 0);
  v.setInt16(off + 2, 0, true);
  v.setInt32(off + 4, CORE_POISON_IMM, true);
}

/** Computes and applies a relocation to `insns` (8-byte instructions). */
export function applyCoreRelocation(insns: Uint8Array, local: Btf, relo: CoreReloInput, targets: CoreCandidateSource,
  cache: CoreCandidateCache = new Map()): CoreReloResult {
  const { result, orig, target } = computeCoreRelocation(local, relo, targets, cache);
  const v = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const off = relo.insnIndex * 8;
  if (off + 8 > insns.byteLength) throw new CoreRelocationError(result.description, `instruction #${relo.insnIndex} out of range`);
  const code = v.getUint8(off);
  const cls = code & 7;
  const fail = (why: string): never => { throw new CoreRelocationError(result.description, `insn #${relo.insnIndex}: ${why}`); };
  if (target.poison) {
    if (cls === BPF_LD && code === 0x18) poisonInsn(v, off + 8);
    poisonInsn(v, off);
    return result;
  }
  const value = target.value;
  switch (cls) {
    case BPF_ALU: case BPF_ALU64: {
      if ((code & 0x08) !== 0) fail('ALU instruction with a register source');
      const imm = v.getInt32(off + 4, true);
      if (orig.validate && BigInt(imm) !== BigInt.asIntN(32, orig.value)) fail(`unexpected immediate ${imm}, expected ${orig.value}`);
      if (value > 0xffffffffn || value < -0x80000000n) fail(`value ${value} does not fit 32 bits`);
      v.setInt32(off + 4, Number(BigInt.asIntN(32, value)), true);
      return result;
    }
    case BPF_LDX: case BPF_ST: case BPF_STX: {
      const memOff = v.getInt16(off + 2, true);
      if (orig.validate && BigInt(memOff) !== orig.value) fail(`unexpected offset ${memOff}, expected ${orig.value}`);
      if (value > 32767n) fail(`offset ${value} does not fit 16 bits`);
      v.setInt16(off + 2, Number(value), true);
      if (orig.fieldSize !== undefined && target.fieldSize !== undefined && orig.fieldSize !== target.fieldSize) {
        const insnSize = SIZE_BYTES[code & 0x18]!;
        const newCode = SIZE_CODE[target.fieldSize];
        if (insnSize !== orig.fieldSize || newCode === undefined || !target.fieldIsScalar) {
          fail(`field size changed from ${orig.fieldSize} to ${target.fieldSize} bytes and the access cannot follow`);
        }
        v.setUint8(off, (code & ~0x18) | newCode!);
      }
      return result;
    }
    case BPF_LD: {
      if (code !== 0x18 || off + 16 > insns.byteLength) fail('not a 64-bit immediate load');
      const imm = BigInt(v.getUint32(off + 4, true)) | (BigInt(v.getUint32(off + 12, true)) << 32n);
      if (orig.validate && imm !== BigInt.asUintN(64, orig.value)) fail(`unexpected immediate ${imm}, expected ${orig.value}`);
      const u = BigInt.asUintN(64, value);
      v.setUint32(off + 4, Number(u & 0xffffffffn), true);
      v.setUint32(off + 12, Number(u >> 32n), true);
      return result;
    }
    default:
      return fail(`instruction class ${cls} cannot take a CO-RE relocation`);
  }
}
