/**
 * @fileoverview The C type model decoded from BTF. Each BTF type becomes one plain object with a
 * string `kind`; other types are referred to by BTF type id (a number), never by object, so a
 * type can be decoded on its own without pulling in the types it mentions. Id 0 is `void`.
 *
 * The record layouts mirror `struct btf_type` and friends in include/uapi/linux/btf.h; the
 * decoder (decode.ts) is the only code that knows those byte layouts.
 */

/** BTF_KIND_* numbers from include/uapi/linux/btf.h, indexed by kind number. */
export const BTF_KIND_NAMES = [
  'unknown', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile',
  'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag',
  'enum64',
] as const;

export type BtfKind = 'void' | Exclude<(typeof BTF_KIND_NAMES)[number], 'unknown'>;

/** A BTF type id: an index into the type table (0 is void; split BTF ids continue the base's). */
export type TypeId = number;

interface TypeBase {
  id: TypeId;
  /** The type's name, '' when anonymous. */
  name: string;
}

export interface VoidType extends TypeBase { kind: 'void' }

/** BTF_KIND_INT: the encoding flags are BTF_INT_SIGNED/CHAR/BOOL. */
export interface IntType extends TypeBase {
  kind: 'int';
  sizeBytes: number;
  signed: boolean;
  isChar: boolean;
  isBool: boolean;
  /** Bit offset of the value inside its storage (BTF_INT_OFFSET; 0 in practice). */
  bitOffset: number;
  /** Number of value bits (BTF_INT_BITS). */
  bits: number;
}

export interface FloatType extends TypeBase { kind: 'float'; sizeBytes: number }

export interface PtrType extends TypeBase { kind: 'ptr'; type: TypeId }

export interface ArrayType extends TypeBase {
  kind: 'array';
  /** Element type. */
  type: TypeId;
  indexType: TypeId;
  nelems: number;
}

export interface Member {
  name: string;
  type: TypeId;
  bitOffset: number;
  /** Bitfield width in bits; 0 when the member is not a bitfield. */
  bitfieldSize: number;
}

/** BTF_KIND_STRUCT / BTF_KIND_UNION. */
export interface CompositeType extends TypeBase {
  kind: 'struct' | 'union';
  sizeBytes: number;
  /** kind_flag: member offsets carry bitfield sizes in their top 8 bits. */
  kindFlag: boolean;
  members: Member[];
}

export interface EnumValue { name: string; value: bigint }

/** BTF_KIND_ENUM (32-bit values) and BTF_KIND_ENUM64. `signed` is the kind_flag. */
export interface EnumType extends TypeBase {
  kind: 'enum' | 'enum64';
  sizeBytes: number;
  signed: boolean;
  values: EnumValue[];
}

/** BTF_KIND_FWD: a forward declaration of a struct or union (kind_flag set: union). */
export interface FwdType extends TypeBase { kind: 'fwd'; fwdKind: 'struct' | 'union' }

/** Kinds that only wrap another type. */
export interface RefType extends TypeBase {
  kind: 'typedef' | 'volatile' | 'const' | 'restrict';
  type: TypeId;
}

/** BTF_KIND_TYPE_TAG: `__attribute__((btf_type_tag("name")))` (kind_flag: a plain attribute). */
export interface TypeTagType extends TypeBase { kind: 'type_tag'; type: TypeId; isAttribute: boolean }

export type Linkage = 'static' | 'global' | 'extern';

/** BTF_KIND_FUNC: a named function; `type` is its FUNC_PROTO. */
export interface FuncType extends TypeBase { kind: 'func'; type: TypeId; linkage: Linkage }

export interface Param { name: string; type: TypeId }

/** BTF_KIND_FUNC_PROTO. A trailing parameter of type 0 in BTF means `...`; it is not in params. */
export interface FuncProtoType extends TypeBase {
  kind: 'func_proto';
  returnType: TypeId;
  params: Param[];
  variadic: boolean;
  /** BTF spelled an empty list as one void parameter, as clang does for `(void)`. */
  explicitVoid: boolean;
}

export interface VarType extends TypeBase { kind: 'var'; type: TypeId; linkage: Linkage }

export interface DatasecVar { type: TypeId; offsetBytes: number; sizeBytes: number }

export interface DatasecType extends TypeBase { kind: 'datasec'; sizeBytes: number; vars: DatasecVar[] }

/** BTF_KIND_DECL_TAG: tags `type` (or its component `componentIndex`, -1 for the type itself). */
export interface DeclTagType extends TypeBase {
  kind: 'decl_tag';
  type: TypeId;
  componentIndex: number;
  isAttribute: boolean;
}

export type BtfType =
  | VoidType | IntType | FloatType | PtrType | ArrayType | CompositeType | EnumType | FwdType
  | RefType | TypeTagType | FuncType | FuncProtoType | VarType | DatasecType | DeclTagType;

/** Kinds that have a name index (`findByName`). */
export type NamedKind = 'struct' | 'union' | 'enum' | 'enum64' | 'typedef' | 'func' | 'fwd' | 'int' | 'float' | 'var' | 'datasec';

/** A BTF type set: the base (vmlinux) or a split set (a module) that continues a base's ids. */
export interface Btf {
  /** Ids below this come from the base; `firstId` is 1 for a base BTF. */
  readonly firstId: TypeId;
  /** One past the last valid id (ids run 0..typeCount-1, including the base's). */
  readonly typeCount: number;
  readonly base: Btf | undefined;
  /** The decoded type; throws RangeError for an id out of range. */
  typeById(id: TypeId): BtfType;
  /** The BTF kind of a type without decoding it (cheap). */
  kindOf(id: TypeId): BtfKind;
  /** The raw name of a type without decoding it (cheap). */
  nameOf(id: TypeId): string;
  /** First type of that kind and name (searching the base first), or undefined. */
  findByName(kind: NamedKind, name: string): TypeId | undefined;
  /** Every type id with that kind and name. */
  findAllByName(kind: NamedKind, name: string): TypeId[];
  /** Skips typedefs, modifiers (const/volatile/restrict) and type tags. */
  resolve(id: TypeId): TypeId;
  /** Size in bytes, like libbpf's btf__resolve_size; undefined for void, fwd, func, func_proto. */
  sizeOf(id: TypeId): number | undefined;
  /** C alignment in bytes (1 for a packed struct), like libbpf's btf__align_of; 0 when unknown. */
  alignOf(id: TypeId): number;
  /** Members of the struct/union that `id` resolves to; throws TypeError otherwise. */
  members(id: TypeId): Member[];
  /** Whether a struct's layout needs `__attribute__((packed))`. */
  isPacked(id: TypeId): boolean;
  /** BTF id of the FUNC named `name` (for kfunc calls), or undefined. */
  findFunc(name: string): TypeId | undefined;
  /** C spelling of a type: `struct task_struct *`, `char [16]`, `int (*)(void *)`. */
  typeToString(id: TypeId): string;
  /** Every type of this set (not the base's), in id order. */
  types(): IterableIterator<BtfType>;
  /** String bytes of this set and its base chain: a split set's string offsets start here. */
  readonly stringsSizeBytes: number;
  /** Pointer size of the target in bytes (8 unless `long` says otherwise). */
  readonly pointerSizeBytes: number;
}
