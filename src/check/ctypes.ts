/**
 * @fileoverview The D type model: C types (LP64) plus D's own `string`, with sizes and alignment.
 * The checker produces these (from declarations, from BTF through a bridge, from builtins);
 * code generation and the record layouts read them. Plain data; structural equality via
 * `sameType`.
 */

export type CType =
  | IntType
  | FloatType
  | VoidType
  | StringType
  | PointerType
  | ArrayType
  | StructType
  | EnumType
  | FunctionType
  | TypedefType;

export interface IntType {
  kind: 'int';
  /** The C spelling, e.g. `int`, `unsigned long long`, `char`, `uint64_t` is a typedef over this. */
  name: string;
  sizeBytes: 1 | 2 | 4 | 8;
  signed: boolean;
  /** `_Bool`/`bool`: conversion to it yields 0 or 1. */
  isBool?: boolean;
  /** `char` (signed on x86): strings of char print as text. */
  isChar?: boolean;
  /** Bit-field width when this type is a member's bit-field type view. */
  bits?: number;
}

export interface FloatType { kind: 'float'; name: string; sizeBytes: 4 | 8 | 16 }
export interface VoidType { kind: 'void' }

/** D's `string`: a NUL-terminated buffer of capacity `strsize`; stored as strsize bytes (+1 for NUL per dtu). */
export interface StringType { kind: 'string' }

/** Where a pointer points: kernel memory, user memory (needs copyin), or D's own storage (alloca/scratch). */
export type AddressSpace = 'kernel' | 'user' | 'dtrace';

export interface PointerType {
  kind: 'pointer';
  target: CType;
  /** Defaults to 'kernel' when absent. */
  space?: AddressSpace;
}

export interface ArrayType {
  kind: 'array';
  element: CType;
  /** Element count; undefined for `[]` or an associative array. */
  length?: number;
}

export interface StructMemberType {
  name: string; // '' for an anonymous member
  type: CType;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Bit-field width, when a bit-field. */
  bitSize?: number;
}

export interface StructType {
  kind: 'struct';
  tag: 'struct' | 'union';
  /** Undefined for an anonymous struct. */
  name?: string;
  /** Undefined for an incomplete (forward-declared) type. */
  members?: StructMemberType[];
  sizeBytes: number;
  alignBytes: number;
  /** Where the type comes from: the D program, the D library, or the kernel's BTF (with its id). */
  origin?: { from: 'd' } | { from: 'btf'; id: number; module?: string };
}

export interface EnumType {
  kind: 'enum';
  name?: string;
  /** Value of each enumerator, in declaration order. */
  values: { name: string; value: bigint }[];
  sizeBytes: 4 | 8;
  signed: boolean;
}

export interface FunctionType {
  kind: 'function';
  returnType: CType;
  params: CType[];
  variadic: boolean;
}

/** A named alias; `resolve()` looks through it. Kept so types print as written (`uint64_t`). */
export interface TypedefType { kind: 'typedef'; name: string; target: CType }

// ---------------------------------------------------------------------------------------------
// Builtins

const int = (name: string, sizeBytes: IntType['sizeBytes'], signed: boolean, extra: Partial<IntType> = {}): IntType =>
  ({ kind: 'int', name, sizeBytes, signed, ...extra });

export const Types = {
  void: { kind: 'void' } as VoidType,
  char: int('char', 1, true, { isChar: true }),
  signedChar: int('signed char', 1, true, { isChar: true }),
  uchar: int('unsigned char', 1, false, { isChar: true }),
  short: int('short', 2, true),
  ushort: int('unsigned short', 2, false),
  int: int('int', 4, true),
  uint: int('unsigned int', 4, false),
  long: int('long', 8, true),
  ulong: int('unsigned long', 8, false),
  longlong: int('long long', 8, true),
  ulonglong: int('unsigned long long', 8, false),
  bool: int('_Bool', 1, false, { isBool: true }),
  float: { kind: 'float', name: 'float', sizeBytes: 4 } as FloatType,
  double: { kind: 'float', name: 'double', sizeBytes: 8 } as FloatType,
  longDouble: { kind: 'float', name: 'long double', sizeBytes: 16 } as FloatType,
  string: { kind: 'string' } as StringType,
} as const;

export function typedef(name: string, target: CType): TypedefType {
  return { kind: 'typedef', name, target };
}

export function pointerTo(target: CType, space?: AddressSpace): PointerType {
  return space ? { kind: 'pointer', target, space } : { kind: 'pointer', target };
}

/** Looks through typedefs. */
export function resolve(t: CType): CType {
  while (t.kind === 'typedef') t = t.target;
  return t;
}

export function isInteger(t: CType): boolean {
  const r = resolve(t);
  return r.kind === 'int' || r.kind === 'enum';
}

export function isArithmetic(t: CType): boolean {
  const r = resolve(t);
  return r.kind === 'int' || r.kind === 'enum' || r.kind === 'float';
}

export function isPointerLike(t: CType): boolean {
  const r = resolve(t);
  return r.kind === 'pointer' || r.kind === 'array';
}

export function isScalar(t: CType): boolean {
  return isArithmetic(t) || resolve(t).kind === 'pointer';
}

export function isString(t: CType): boolean {
  return resolve(t).kind === 'string';
}

/** `char *`, `char[N]` and `string` are string-like for printf %s, trace and comparisons. */
export function isCharPointerOrArray(t: CType): boolean {
  const r = resolve(t);
  if (r.kind !== 'pointer' && r.kind !== 'array') return false;
  const e = resolve(r.kind === 'pointer' ? r.target : r.element);
  return e.kind === 'int' && e.sizeBytes === 1 && !!e.isChar;
}

/** Size in bytes; `strsize` is needed for `string`. Functions and void have size 0 (sizeof errors elsewhere). */
export function sizeOf(t: CType, strsize: number): number {
  const r = resolve(t);
  switch (r.kind) {
    case 'int': return r.sizeBytes;
    case 'float': return r.sizeBytes;
    case 'void': return 0;
    case 'string': return strsize;
    case 'pointer': return 8;
    case 'array': return r.length === undefined ? 0 : r.length * sizeOf(r.element, strsize);
    case 'struct': return r.sizeBytes;
    case 'enum': return r.sizeBytes;
    case 'function': return 0;
    case 'typedef': return sizeOf(r.target, strsize); // unreachable: resolve() looks through typedefs
  }
}

export function alignOf(t: CType): number {
  const r = resolve(t);
  switch (r.kind) {
    case 'int': return r.sizeBytes;
    case 'float': return r.sizeBytes === 16 ? 16 : r.sizeBytes;
    case 'void': return 1;
    case 'string': return 1;
    case 'pointer': return 8;
    case 'array': return alignOf(r.element);
    case 'struct': return r.alignBytes;
    case 'enum': return r.sizeBytes;
    case 'function': return 1;
    case 'typedef': return alignOf(r.target); // unreachable: resolve() looks through typedefs
  }
}

/** The C spelling of a type, as DTrace prints it in messages (`int`, `char *`, `struct foo`, `string`). */
export function typeName(t: CType): string {
  switch (t.kind) {
    case 'int': return t.name;
    case 'float': return t.name;
    case 'void': return 'void';
    case 'string': return 'string';
    case 'typedef': return t.name;
    case 'pointer': {
      const inner = typeName(t.target);
      return inner.endsWith('*') ? `${inner}*` : `${inner} *`;
    }
    case 'array': return `${typeName(t.element)} [${t.length ?? ''}]`;
    // An anonymous tag keeps the blank after its keyword, as ctf_type_name prints it.
    case 'struct': return `${t.tag} ${t.name ?? ''}`;
    case 'enum': return `enum ${t.name ?? ''}`;
    case 'function': return `${typeName(t.returnType)} (*)(${t.params.map(typeName).join(', ')}${t.variadic ? ', ...' : ''})`;
  }
}

/** Structural type identity after typedef resolution (used for D's "same type" rules). */
export function sameType(a: CType, b: CType): boolean {
  const x = resolve(a), y = resolve(b);
  if (x.kind !== y.kind) return false;
  switch (x.kind) {
    case 'int': { const o = y as IntType; return x.sizeBytes === o.sizeBytes && x.signed === o.signed && !!x.isBool === !!o.isBool; }
    case 'float': return x.sizeBytes === (y as FloatType).sizeBytes;
    case 'void': case 'string': return true;
    case 'pointer': return sameType(x.target, (y as PointerType).target);
    case 'array': { const o = y as ArrayType; return x.length === o.length && sameType(x.element, o.element); }
    case 'struct': { const o = y as StructType; return x === o || (x.tag === o.tag && x.name !== undefined && x.name === o.name); }
    case 'enum': { const o = y as EnumType; return x === o || (x.name !== undefined && x.name === o.name); }
    case 'function': {
      const o = y as FunctionType;
      return x.variadic === o.variadic && x.params.length === o.params.length &&
        sameType(x.returnType, o.returnType) && x.params.every((p, i) => sameType(p, o.params[i]!));
    }
    case 'typedef': return false; // unreachable: resolve() looks through typedefs
  }
}

/**
 * A member of a struct or union by name, looking into anonymous members (its bit offset then
 * counts from the outer struct). `complete` supplies the definition of an anonymous member
 * whose type is only declared here (BTF forward declarations); without it such members are
 * skipped.
 */
export function memberOf(st: StructType, name: string, complete?: (t: StructType) => StructType): StructMemberType | undefined {
  for (const m of st.members ?? []) {
    if (m.name === name) return m;
    if (m.name === '') {
      const r = resolve(m.type);
      if (r.kind === 'struct') {
        const inner = memberOf(r.members || !complete ? r : complete(r), name, complete);
        if (inner) return { ...inner, bitOffset: inner.bitOffset + m.bitOffset };
      }
    }
  }
  return undefined;
}
