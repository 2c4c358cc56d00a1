/**
 * @fileoverview CO-RE access specifications: what a relocation in a BPF object refers to
 * (`0:1:2` against a local type), and the same access found again in a target (kernel) BTF.
 *
 * The algorithm follows libbpf's relo_core.c (bpf_core_parse_spec, bpf_core_spec_match,
 * bpf_core_match_member, bpf_core_fields_are_compat, bpf_core_types_are_compat): the first
 * index of an access string is an array index on the root type (pointer arithmetic); later
 * ones are member indices in structs/unions or element indices in arrays. Matching goes by
 * member *name* (anonymous members are searched through), ignoring `___flavor` suffixes.
 */
import type { Btf, BtfType, TypeId } from '../btf/index.js';

export const CoreReloKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

export const CORE_RELO_KIND_NAMES = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
] as const;

export function isFieldKind(kind: number): boolean { return kind <= CoreReloKind.FIELD_RSHIFT_U64; }
export function isTypeKind(kind: number): boolean {
  return (kind >= CoreReloKind.TYPE_ID_LOCAL && kind <= CoreReloKind.TYPE_SIZE) || kind === CoreReloKind.TYPE_MATCHES;
}
export function isEnumvalKind(kind: number): boolean {
  return kind === CoreReloKind.ENUMVAL_EXISTS || kind === CoreReloKind.ENUMVAL_VALUE;
}

/** One step of an access: a member (with its name) or an array element (no name). */
export interface CoreAccessor { typeId: TypeId; index: number; name: string | undefined }

export interface CoreSpec {
  btf: Btf;
  rootTypeId: TypeId;
  kind: number;
  /** Named steps only (anonymous members are folded into the offset). */
  accessors: CoreAccessor[];
  /** Every index, anonymous members included. */
  raw: number[];
  bitOffset: number;
}

/** libbpf's BPF_CORE_SPEC_MAX_LEN. */
const SPEC_MAX_LEN = 64;

export class CoreSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CoreSpecError';
  }
}

/** Length of a name without its `___flavor` suffix (the last `x___y` separator). */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return i + 1;
  }
  return name.length;
}

export function essentialName(name: string): string { return name.slice(0, essentialNameLength(name)); }

function skip(btf: Btf, id: TypeId): { id: TypeId; t: BtfType } {
  const r = btf.resolve(id);
  return { id: r, t: btf.typeById(r) };
}

function isComposite(t: BtfType): t is Extract<BtfType, { kind: 'struct' | 'union' }> {
  return t.kind === 'struct' || t.kind === 'union';
}
function isAnyEnum(t: BtfType): t is Extract<BtfType, { kind: 'enum' | 'enum64' }> {
  return t.kind === 'enum' || t.kind === 'enum64';
}

function sizeOrThrow(btf: Btf, id: TypeId): number {
  const sz = btf.sizeOf(id);
  if (sz === undefined) throw new CoreSpecError(`type [${id}] has no size`);
  return sz;
}

/** A flexible array member: the last member of its struct with 0 elements. */
function isFlexArray(btf: Btf, parent: CoreAccessor | undefined, nelems: number): boolean {
  if (nelems !== 0 || !parent?.name) return false;
  const t = btf.typeById(parent.typeId);
  return isComposite(t) && parent.index === t.members.length - 1;
}

/** bpf_core_parse_spec: the local side of a relocation. */
export function parseSpec(btf: Btf, typeId: TypeId, access: string, kind: number): CoreSpec {
  const raw = access.split(':').map((s) => {
    if (!/^\d+$/.test(s)) throw new CoreSpecError(`bad access string "${access}"`);
    return Number(s);
  });
  if (raw.length === 0 || raw.length > SPEC_MAX_LEN) throw new CoreSpecError(`bad access string "${access}"`);
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, accessors: [], raw, bitOffset: 0 };
  if (isTypeKind(kind)) {
    if (access !== '0') throw new CoreSpecError(`type relocation with access "${access}"`);
    return spec;
  }
  let { id, t } = skip(btf, typeId);
  const first = raw[0]!;
  spec.accessors.push({ typeId: id, index: first, name: undefined });
  if (isEnumvalKind(kind)) {
    if (!isAnyEnum(t) || raw.length > 1 || first >= t.values.length) throw new CoreSpecError(`bad enum access "${access}"`);
    spec.accessors[0]!.name = t.values[first]!.name;
    return spec;
  }
  if (!isFieldKind(kind)) throw new CoreSpecError(`unknown relocation kind ${kind}`);
  spec.bitOffset = first * sizeOrThrow(btf, id) * 8;
  for (let i = 1; i < raw.length; i++) {
    ({ id, t } = skip(btf, id));
    const index = raw[i]!;
    if (isComposite(t)) {
      const m = t.members[index];
      if (!m) throw new CoreSpecError(`member index ${index} out of range in [${id}]`);
      spec.bitOffset += m.bitOffset;
      if (m.name) spec.accessors.push({ typeId: id, index, name: m.name });
      id = m.type;
    } else if (t.kind === 'array') {
      const parent = spec.accessors[spec.accessors.length - 1];
      const flex = isFlexArray(btf, parent, t.nelems);
      const elem = skip(btf, t.type);
      if (!flex && index >= t.nelems) throw new CoreSpecError(`array index ${index} out of range in [${id}]`);
      id = elem.id;
      spec.accessors.push({ typeId: id, index, name: undefined });
      spec.bitOffset += index * sizeOrThrow(btf, id) * 8;
    } else {
      throw new CoreSpecError(`access "${access}" steps into non-composite [${id}]`);
    }
  }
  return spec;
}

/** bpf_core_fields_are_compat. */
export function fieldsAreCompat(local: Btf, localId: TypeId, targ: Btf, targId: TypeId): boolean {
  for (let depth = 0; depth < 32; depth++) {
    const l = skip(local, localId).t;
    const r = skip(targ, targId).t;
    if (isComposite(l) && isComposite(r)) return true;
    if (l.kind !== r.kind) return isAnyEnum(l) && isAnyEnum(r);
    switch (l.kind) {
      case 'ptr': case 'float': return true;
      case 'fwd': case 'enum': case 'enum64': {
        // An anonymous side matches any name (an inline `enum { … } c` against a named enum).
        const ln = essentialName(l.name), rn = essentialName(r.name);
        return ln === '' || rn === '' || ln === rn;
      }
      case 'int': return l.bitOffset === 0 && (r as typeof l).bitOffset === 0;
      case 'array': localId = l.type; targId = (r as typeof l).type; continue;
      default: return false;
    }
  }
  return false;
}

/** bpf_core_types_are_compat (type_exists / type_size / type_id relocations). */
export function typesAreCompat(local: Btf, localId: TypeId, targ: Btf, targId: TypeId, depth = 0): boolean {
  if (depth > 32) return false;
  const l = skip(local, localId).t;
  const r = skip(targ, targId).t;
  if (l.kind !== r.kind) return isAnyEnum(l) && isAnyEnum(r);
  switch (l.kind) {
    case 'void': case 'struct': case 'union': case 'enum': case 'enum64': case 'fwd': case 'float': return true;
    case 'int': return l.bitOffset === 0 && (r as typeof l).bitOffset === 0;
    case 'ptr': return typesAreCompat(local, l.type, targ, (r as typeof l).type, depth + 1);
    case 'array': return typesAreCompat(local, l.type, targ, (r as typeof l).type, depth + 1);
    case 'func_proto': {
      const rp = r as typeof l;
      if (l.params.length !== rp.params.length) return false;
      for (let i = 0; i < l.params.length; i++) {
        if (!typesAreCompat(local, l.params[i]!.type, targ, rp.params[i]!.type, depth + 1)) return false;
      }
      return typesAreCompat(local, l.returnType, targ, rp.returnType, depth + 1);
    }
    default: return false;
  }
}

/** Essential names match, and an anonymous side matches anything (libbpf's bpf_core_names_match). */
function namesMatch(a: string, b: string): boolean {
  return a === '' || b === '' || essentialName(a) === essentialName(b);
}

/**
 * bpf_core_types_match (type_matches relocations): a shape-level comparison. Modifiers and typedefs
 * are skipped, names must match (anonymous matches anything), ints by size and signedness, enums by
 * size and names of the local enumerators, arrays by length, function prototypes by arity, structs
 * and unions by the local members' names and types — except behind a pointer, where a struct only
 * needs its kind (or a forward declaration of that kind) to match.
 */
export function typesMatch(local: Btf, localId: TypeId, targ: Btf, targId: TypeId, behindPtr = false, depth = 0): boolean {
  if (depth > 32) return false;
  const l = local.typeById(local.resolve(localId));
  const r = targ.typeById(targ.resolve(targId));
  if (!namesMatch(l.name, r.name)) return false;
  const rec = (a: TypeId, b: TypeId, ptr = behindPtr): boolean => typesMatch(local, a, targ, b, ptr, depth + 1);
  switch (l.kind) {
    case 'void': case 'float': return l.kind === r.kind;
    case 'fwd':
      if (r.kind === 'fwd') return l.fwdKind === r.fwdKind;
      return behindPtr && isComposite(r) && r.kind === l.fwdKind;
    case 'enum': case 'enum64':
      return isAnyEnum(r) && l.sizeBytes === r.sizeBytes && enumNamesIn(l, r);
    case 'struct': case 'union':
      if (behindPtr) return r.kind === l.kind || (r.kind === 'fwd' && r.fwdKind === l.kind);
      if (r.kind !== l.kind || l.members.length > r.members.length) return false;
      return l.members.every((lm) => r.members.some((rm) => namesMatch(lm.name, rm.name) && rec(lm.type, rm.type)));
    case 'int': return r.kind === 'int' && l.sizeBytes === r.sizeBytes && l.signed === r.signed;
    case 'ptr': return r.kind === 'ptr' && rec(l.type, r.type, true);
    case 'array': return r.kind === 'array' && l.nelems === r.nelems && rec(l.type, r.type);
    case 'func_proto':
      return r.kind === 'func_proto' && l.params.length === r.params.length
        && l.params.every((p, i) => rec(p.type, r.params[i]!.type)) && rec(l.returnType, r.returnType);
    default: return false;
  }
}

function enumNamesIn(l: Extract<BtfType, { kind: 'enum' | 'enum64' }>, r: Extract<BtfType, { kind: 'enum' | 'enum64' }>): boolean {
  return l.values.every((v) => r.values.some((x) => namesMatch(v.name, x.name)));
}

/** bpf_core_match_member: finds local accessor's member in target type `targId` (through anonymous members). */
function matchMember(local: Btf, localAcc: CoreAccessor, targ: Btf, targId: TypeId, spec: CoreSpec): TypeId | undefined | false {
  const localT = local.typeById(localAcc.typeId);
  if (!isComposite(localT)) return false;
  const localMember = localT.members[localAcc.index]!;
  const { id, t } = skip(targ, targId);
  if (!isComposite(t)) return false;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i]!;
    if (spec.raw.length >= SPEC_MAX_LEN) throw new CoreSpecError('nesting too deep');
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (!m.name) {
      const found = matchMember(local, localAcc, targ, m.type, spec);
      if (found !== false) return found;
    } else if (m.name === localMember.name) {
      if (!fieldsAreCompat(local, localMember.type, targ, m.type)) return false;
      spec.accessors.push({ typeId: id, index: i, name: m.name });
      return m.type;
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return false;
}

/** bpf_core_spec_match: the local spec found again in candidate `targId`, or undefined. */
export function matchSpec(localSpec: CoreSpec, targ: Btf, targId: TypeId): CoreSpec | undefined {
  const spec: CoreSpec = { btf: targ, rootTypeId: targId, kind: localSpec.kind, accessors: [], raw: [], bitOffset: 0 };
  const local = localSpec.btf;
  if (isTypeKind(localSpec.kind)) {
    const ok = localSpec.kind === CoreReloKind.TYPE_MATCHES
      ? typesMatch(local, localSpec.rootTypeId, targ, targId)
      : typesAreCompat(local, localSpec.rootTypeId, targ, targId);
    return ok ? spec : undefined;
  }
  if (isEnumvalKind(localSpec.kind)) {
    const { id, t } = skip(targ, targId);
    if (!isAnyEnum(t)) return undefined;
    const want = essentialName(localSpec.accessors[0]!.name ?? '');
    const i = t.values.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    spec.accessors.push({ typeId: id, index: i, name: t.values[i]!.name });
    spec.raw.push(i);
    return spec;
  }
  let cur = targId;
  for (let i = 0; i < localSpec.accessors.length; i++) {
    const la = localSpec.accessors[i]!;
    if (la.name !== undefined) {
      const next = matchMember(local, la, targ, cur, spec);
      if (next === false || next === undefined) return undefined;
      cur = next;
      continue;
    }
    if (i > 0) {
      const { t } = skip(targ, cur);
      if (t.kind !== 'array') return undefined;
      const flex = isFlexArray(targ, spec.accessors[spec.accessors.length - 1], t.nelems);
      if (!flex && la.index >= t.nelems) return undefined;
      cur = t.type;
    }
    cur = targ.resolve(cur);
    if (spec.raw.length >= SPEC_MAX_LEN) throw new CoreSpecError('nesting too deep');
    spec.accessors.push({ typeId: cur, index: la.index, name: undefined });
    spec.raw.push(la.index);
    spec.bitOffset += la.index * sizeOrThrow(targ, cur) * 8;
  }
  return spec;
}

/** A readable form of a spec: `struct task_struct.real_parent->…` style, as `struct task_struct.real_parent.tgid`. */
export function describeSpec(spec: CoreSpec): string {
  const root = spec.btf.typeToString(spec.rootTypeId);
  if (isTypeKind(spec.kind)) return root;
  if (isEnumvalKind(spec.kind)) return `${root}::${spec.accessors[0]?.name ?? '?'}`;
  let text = root;
  spec.accessors.forEach((a, i) => {
    if (a.name !== undefined) text += `.${a.name}`;
    else if (i > 0 || a.index !== 0) text += `[${a.index}]`;
  });
  return text;
}
