/**
 * @fileoverview The BTF API the rest of dtrace-ts uses: load a BTF blob (the kernel's, a
 * module's split BTF, or a fixture), look types up by id or name, and ask C questions about
 * them (size, alignment, members, spelling). Opening only indexes record offsets (decode.ts);
 * types are decoded when first asked for and name indexes are built per kind on first lookup,
 * so loading vmlinux BTF (~127k types) costs a few milliseconds of startup.
 *
 * Sizes and alignment follow libbpf (btf__resolve_size, btf__align_of) so that our layouts and
 * the C header cdump.ts writes agree with what clang computes from that header.
 */
import { readFileSync } from 'node:fs';
import {
  chainTypeCount, decodeType, kindNumberOf, kindOf, KIND, nameOf, ownerOf,
  parseBtf, BtfFormatError, type RawBtf,
} from './decode.js';
import {
  BTF_KIND_NAMES, type Btf, type BtfKind, type BtfType, type CompositeType, type Member,
  type NamedKind, type TypeId,
} from './types.js';

export type * from './types.js';
export { BtfFormatError } from './decode.js';

/** The RawBtf behind each Btf, so a split set can find its base's bytes. */
const rawOfBtf = new WeakMap<Btf, RawBtf>();

export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * How deep a chain of typedefs, qualifiers, arrays or members may go: far beyond any real
 * type, and a bound on the cycles only corrupt BTF has (which would otherwise never end).
 */
const MAX_CHAIN = 1024;

/** The size/type word of a record (the referenced type for ptr, typedef, modifiers, ...). */
function sizeOrTypeOf(raw: RawBtf, id: TypeId): number {
  const owner = ownerOf(raw, id)!;
  return owner.view.getUint32(owner.typeOffsets[id - owner.firstId]! + 8, owner.littleEndian);
}

/** Decodes `buf` as BTF; with `base`, as split BTF whose ids and strings continue the base's. */
export function loadBtf(buf: Uint8Array, base?: Btf): Btf {
  const baseRaw = base ? rawOfBtf.get(base) : undefined;
  if (base && !baseRaw) throw new TypeError('base is not a Btf made by loadBtf');
  const raw = parseBtf(buf, baseRaw);
  const firstId = raw.firstId;
  const typeCount = chainTypeCount(raw);
  const decoded: (BtfType | undefined)[] = new Array(raw.typeOffsets.length);
  const nameIndexes = new Map<NamedKind, Map<string, TypeId[]>>();
  const alignCache = new Map<TypeId, number>();
  let pointerSize: number | undefined;

  function checkId(id: TypeId): void {
    if (!Number.isInteger(id) || id < 0 || id >= typeCount) {
      throw new RangeError(`BTF type id ${id} out of range (0..${typeCount - 1})`);
    }
  }

  function typeById(id: TypeId): BtfType {
    checkId(id);
    if (id < firstId) return id === 0 ? decodeType(raw, 0) : base!.typeById(id);
    const local = id - firstId;
    return (decoded[local] ??= decodeType(raw, id));
  }

  function nameIndex(kind: NamedKind): Map<string, TypeId[]> {
    let index = nameIndexes.get(kind);
    if (index) return index;
    index = new Map();
    const kindNumber = KIND[kind];
    const { view, littleEndian, typeOffsets } = raw;
    for (let i = 0; i < typeOffsets.length; i++) {
      const off = typeOffsets[i]!;
      if (((view.getUint32(off + 4, littleEndian) >>> 24) & 0x1f) !== kindNumber) continue;
      if (view.getUint32(off, littleEndian) === 0) continue;
      const id = firstId + i;
      const name = nameOf(raw, id);
      const ids = index.get(name);
      if (ids) ids.push(id); else index.set(name, [id]);
    }
    nameIndexes.set(kind, index);
    return index;
  }

  function findAllByName(kind: NamedKind, name: string): TypeId[] {
    const own = nameIndex(kind).get(name) ?? [];
    return base ? [...base.findAllByName(kind, name), ...own] : [...own];
  }

  function findByName(kind: NamedKind, name: string): TypeId | undefined {
    const fromBase = base?.findByName(kind, name);
    if (fromBase !== undefined) return fromBase;
    return nameIndex(kind).get(name)?.[0];
  }

  function resolve(id: TypeId): TypeId {
    checkId(id);
    const start = id;
    for (let depth = 0; ; depth++) {
      const k = kindNumberOf(raw, id);
      if (k !== KIND.typedef && k !== KIND.const && k !== KIND.volatile && k !== KIND.restrict && k !== KIND.type_tag) {
        return id;
      }
      // Only corrupt BTF chains typedefs and qualifiers this deep: a cycle would never end.
      if (depth >= MAX_CHAIN) throw new BtfFormatError(`type ${start} is a cycle of typedefs or qualifiers`);
      id = sizeOrTypeOf(raw, id);
      checkId(id);
    }
  }

  function pointerSizeBytes(): number {
    if (pointerSize !== undefined) return pointerSize;
    // libbpf's determine_ptr_size: the size of `long` is the target's pointer size.
    for (const name of ['long int', 'long unsigned int', 'long', 'unsigned long', 'unsigned long int']) {
      const id = findByName('int', name);
      if (id !== undefined) return (pointerSize = sizeOrTypeOf(raw, id));
    }
    return (pointerSize = 8);
  }

  function sizeOf(id: TypeId): number | undefined {
    checkId(id);
    let count = 1;
    for (let depth = 0; depth < 64; depth++) {
      switch (kindNumberOf(raw, id)) {
        case KIND.int: case KIND.float: case KIND.struct: case KIND.union: case KIND.enum:
        case KIND.enum64: case KIND.datasec:
          return count * sizeOrTypeOf(raw, id);
        case KIND.ptr:
          return count * pointerSizeBytes();
        case KIND.typedef: case KIND.volatile: case KIND.const: case KIND.restrict:
        case KIND.type_tag: case KIND.var:
          id = sizeOrTypeOf(raw, id);
          break;
        case KIND.array: {
          const t = typeById(id) as Extract<BtfType, { kind: 'array' }>;
          count *= t.nelems;
          id = t.type;
          break;
        }
        default:
          return undefined;
      }
    }
    return undefined;
  }

  function alignOf(id: TypeId, depth = 0): number {
    checkId(id);
    if (depth > MAX_CHAIN) throw new BtfFormatError(`type ${id} contains itself`);
    switch (kindNumberOf(raw, id)) {
      case KIND.int: case KIND.enum: case KIND.enum64: case KIND.float:
        return Math.min(pointerSizeBytes(), sizeOrTypeOf(raw, id));
      case KIND.ptr:
        return pointerSizeBytes();
      case KIND.typedef: case KIND.volatile: case KIND.const: case KIND.restrict: case KIND.type_tag:
        return alignOf(sizeOrTypeOf(raw, id), depth + 1);
      case KIND.array:
        return alignOf((typeById(id) as Extract<BtfType, { kind: 'array' }>).type, depth + 1);
      case KIND.struct: case KIND.union: {
        const cached = alignCache.get(id);
        if (cached !== undefined) return cached;
        const align = compositeAlign(typeById(id) as CompositeType, depth);
        alignCache.set(id, align);
        return align;
      }
      default:
        return 0;
    }
  }

  /** Natural alignment of a struct, or 1 when its layout shows it was packed. */
  function compositeAlign(t: CompositeType, depth: number): number {
    let maxAlign = 1;
    for (const m of t.members) {
      const align = alignOf(m.type, depth + 1);
      if (align <= 0) return 0;
      maxAlign = Math.max(maxAlign, align);
      // A field placed off its type's alignment can only come from a packed struct.
      if (m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return 1;
    }
    return t.sizeBytes % maxAlign !== 0 ? 1 : maxAlign;
  }

  function isPacked(id: TypeId): boolean {
    const t = typeById(id);
    if (t.kind !== 'struct' && t.kind !== 'union') return false;
    let maxAlign = 1;
    for (const m of t.members) {
      const align = alignOf(m.type);
      if (align && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
      maxAlign = Math.max(maxAlign, align);
    }
    return t.sizeBytes % maxAlign !== 0;
  }

  function members(id: TypeId): Member[] {
    const t = typeById(resolve(id));
    if (t.kind !== 'struct' && t.kind !== 'union') {
      throw new TypeError(`BTF type ${id} is ${t.kind}, not a struct or union`);
    }
    return t.members;
  }

  function* types(): IterableIterator<BtfType> {
    for (let id = firstId; id < typeCount; id++) yield typeById(id);
  }

  const btf: Btf = {
    firstId,
    typeCount,
    base,
    typeById,
    kindOf: (id: TypeId): BtfKind => { checkId(id); return kindOf(raw, id); },
    nameOf: (id: TypeId): string => { checkId(id); return nameOf(raw, id); },
    findByName,
    findAllByName,
    resolve,
    sizeOf,
    alignOf,
    members,
    isPacked,
    findFunc: (name: string) => findByName('func', name),
    typeToString: (id: TypeId) => { checkId(id); return spell(btf, id, ''); },
    types,
    stringsSizeBytes: raw.baseStrLenBytes + raw.strLenBytes,
    get pointerSizeBytes() { return pointerSizeBytes(); },
  };
  rawOfBtf.set(btf, raw);
  return btf;
}

/** Whether `id`, seen through modifiers, is a kind whose declarator needs `(*…)` around it. */
function bindsTighterThanPointer(btf: Btf, id: TypeId): boolean {
  for (let depth = 0; ; depth++) {
    if (depth > MAX_CHAIN) throw new BtfFormatError(`type ${id} is a cycle of qualifiers`);
    const t = btf.typeById(id);
    if (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag') id = t.type;
    else return t.kind === 'array' || t.kind === 'func_proto';
  }
}

/**
 * C spelling of type `id` around the declarator `decl` ('' for an abstract type name). Works
 * inside out as C declarations do: a pointer adds `*` to the declarator, an array appends
 * `[n]`, a function appends its parameter list, and `(…)` groups a pointer to either.
 */
function spell(btf: Btf, id: TypeId, decl: string, depth = 0): string {
  if (depth > MAX_CHAIN) throw new BtfFormatError(`type ${id} contains itself`);
  const t = btf.typeById(id);
  const spellInner = (inner: TypeId, innerDecl: string) => spell(btf, inner, innerDecl, depth + 1);
  const withDecl = (base: string): string => (decl === '' ? base : `${base} ${decl}`);
  switch (t.kind) {
    case 'void': return withDecl('void');
    case 'int': case 'float': case 'typedef': return withDecl(t.name);
    case 'struct': case 'union': case 'enum': return withDecl(`${t.kind} ${t.name || '(anon)'}`);
    case 'enum64': return withDecl(`enum ${t.name || '(anon)'}`);
    case 'fwd': return withDecl(`${t.fwdKind} ${t.name}`);
    case 'ptr': {
      const inner = `*${decl}`;
      return spellInner(t.type, bindsTighterThanPointer(btf, t.type) ? `(${inner})` : inner);
    }
    case 'const': case 'volatile': case 'restrict': {
      // Qualifiers of a pointer go right of its `*`; of anything else, before the base type.
      let through = btf.typeById(t.type);
      for (let n = 0; through.kind === 'const' || through.kind === 'volatile' || through.kind === 'restrict' || through.kind === 'type_tag'; n++) {
        if (n > MAX_CHAIN) throw new BtfFormatError(`type ${id} is a cycle of qualifiers`);
        through = btf.typeById(through.type);
      }
      if (through.kind === 'ptr') return spellInner(t.type, decl === '' ? t.kind : `${t.kind} ${decl}`);
      return `${t.kind} ${spellInner(t.type, decl)}`;
    }
    case 'type_tag': return spellInner(t.type, decl);
    case 'array': return spellInner(t.type, `${decl}[${t.nelems}]`);
    case 'func_proto': {
      const params = t.params.map((p) => spellInner(p.type, ''));
      if (t.variadic) params.push('...');
      return spellInner(t.returnType, `${decl}(${params.length ? params.join(', ') : 'void'})`);
    }
    case 'func': return spellInner(t.type, t.name);
    case 'var': return spellInner(t.type, t.name);
    case 'datasec': return withDecl(`SEC("${t.name}")`);
    case 'decl_tag': return spellInner(t.type, decl);
  }
}

let kernelBtf: Btf | undefined;

/** The running kernel's BTF (/sys/kernel/btf/vmlinux), read once and cached. */
export function loadKernelBtf(): Btf {
  return (kernelBtf ??= loadBtf(readFileSync(KERNEL_BTF_PATH)));
}

const moduleBtfs = new Map<string, Btf>();

/** A kernel module's split BTF (/sys/kernel/btf/<module>), on top of the kernel's. */
export function loadModuleBtf(moduleName: string): Btf {
  let btf = moduleBtfs.get(moduleName);
  if (!btf) {
    btf = loadBtf(readFileSync(`/sys/kernel/btf/${moduleName}`), loadKernelBtf());
    moduleBtfs.set(moduleName, btf);
  }
  return btf;
}

/** Name of a BTF kind number, for messages. */
export function kindName(kindNumber: number): string {
  return BTF_KIND_NAMES[kindNumber] ?? `kind ${kindNumber}`;
}
