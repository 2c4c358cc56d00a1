/**
 * @fileoverview D's type namespace and C declarations: turns TypeSpecifier + Declarator
 * syntax into CType (ctypes.ts), lays out structs/unions (offsets, alignment, bit-fields) and
 * enums, and keeps the typedef/tag tables. Lookup order follows DTrace (spec §5.2): the D
 * container (builtin types, D library, the program) first, then the kernel's types (BTF, via a
 * KernelTypeSource, only asked when a name is not found locally). ``vmlinux`name`` asks the
 * kernel directly.
 */
import type { Declarator, EnumSpec, Expr, StructSpec, TypeName, TypeSpecifier, TypeQualifier } from '../lang/ast.js';
import type { Span } from '../diag/source.js';
import {
  Types, typedef, pointerTo, resolve, alignOf, sizeOf, typeName,
  type CType, type StructType, type EnumType, type StructMemberType, type IntType,
} from './ctypes.js';
import { fail } from './abort.js';

/** Kernel types, looked up by name on demand (see btf-types.ts). */
export interface KernelTypeSource {
  /** `struct name` / `union name`; undefined when the kernel has no such type. */
  structType(tag: 'struct' | 'union', name: string): StructType | undefined;
  enumType(name: string): EnumType | undefined;
  /** A kernel typedef (`dev_t`, `rwlock_t`, …). */
  typedefType(name: string): CType | undefined;
  /** The type of a kernel variable (`` `max_pfn ``), when BTF describes it. */
  variableType?(name: string): CType | undefined;
}

/** D's fixed-width and Solaris-heritage typedefs, all LP64 (spec §5.1). */
function dIntrinsicTypedefs(): [string, CType][] {
  const i8 = Types.signedChar, u8 = Types.uchar, i16 = Types.short, u16 = Types.ushort;
  const i32 = Types.int, u32 = Types.uint, i64 = Types.long, u64 = Types.ulong;
  const list: [string, CType][] = [
    ['int8_t', typedef('int8_t', Types.char)], ['int16_t', i16], ['int32_t', i32], ['int64_t', i64],
    ['uint8_t', u8], ['uint16_t', u16], ['uint32_t', u32], ['uint64_t', u64],
    ['intptr_t', i64], ['uintptr_t', u64], ['size_t', u64], ['ssize_t', i64], ['ptrdiff_t', i64],
    ['uchar_t', u8], ['ushort_t', u16], ['uint_t', u32], ['ulong_t', u64],
    ['u_longlong_t', Types.ulonglong], ['longlong_t', Types.longlong], ['offset_t', Types.longlong],
    ['id_t', i32], ['pid_t', i32], ['uid_t', u32], ['gid_t', u32], ['processorid_t', i32],
    ['psetid_t', i32], ['zoneid_t', i32], ['taskid_t', i32], ['projid_t', i32], ['lgrp_id_t', i32],
    ['chipid_t', i32], ['major_t', u32], ['minor_t', u32], ['mode_t', u32], ['nlink_t', u32],
    ['hrtime_t', Types.longlong], ['time_t', i64], ['off_t', i64], ['off64_t', i64], ['loff_t', i64],
    ['daddr_t', i64], ['caddr_t', pointerTo(Types.char)], ['ipaddr_t', u32], ['in_addr_t', u32],
    ['wchar_t', i32], ['bool', Types.bool], ['boolean_t', i32], ['dev_t', u32],
    ['u8', u8], ['u16', u16], ['u32', u32], ['u64', u64], ['s8', i8], ['s16', i16], ['s32', i32], ['s64', i64],
    ['__u8', u8], ['__u16', u16], ['__u32', u32], ['__u64', u64], ['__s8', i8], ['__s16', i16], ['__s32', i32], ['__s64', i64],
    // D's own opaque record types: what stack()/sym()/usym() return.
    ['intmax_t', i64], ['uintmax_t', u64], ['u_char', u8], ['u_short', u16], ['u_int', u32], ['u_long', u64],
    ['clock_t', i64], ['ino_t', u64], ['key_t', i32], ['timer_t', i32], ['useconds_t', u32], ['suseconds_t', i64],
    ['blkcnt_t', i64], ['fsblkcnt_t', u64], ['int_t', i32], ['lwpid_t', i32], ['ctid_t', i32],
    ['dtrace_id_t', u32], ['dtrace_epid_t', u32],
    ['stack', u64], ['_symaddr', u64], ['_usymaddr', u64],
  ];
  return list.map(([name, t]) => [name, t.kind === 'typedef' && t.name === name ? t : typedef(name, t)]);
}

/** Names of D's intrinsic typedefs (for the parser's type-name hook when parsing the library). */
export const D_TYPEDEF_NAMES: ReadonlySet<string> = new Set(dIntrinsicTypedefs().map(([n]) => n));

export interface TypeScope {
  typedefs: Map<string, CType>;
  /** Keyed `struct name` / `union name`. Incomplete (forward) types have no members. */
  tags: Map<string, StructType>;
  enums: Map<string, EnumType>;
  /** Kernel types, asked lazily; undefined when BTF is not available. */
  kernel: () => KernelTypeSource | undefined;
}

export function createTypeScope(kernel: () => KernelTypeSource | undefined): TypeScope {
  return { typedefs: new Map(dIntrinsicTypedefs()), tags: new Map(), enums: new Map(), kernel };
}

/** Splits ``mod`name`` into its parts. */
function scoped(name: string): { module?: string; name: string } {
  const i = name.lastIndexOf('`');
  return i < 0 ? { name } : { module: name.slice(0, i), name: name.slice(i + 1) };
}

/** A name the program's own declarations define first (unless it names a module), then the kernel's types. */
function lookupScoped<T>(fullName: string, local: (name: string) => T | undefined, kernel: (name: string) => T | undefined): T | undefined {
  const { module, name } = scoped(fullName);
  if (isProgramModule(module)) return local(name);
  return (module === undefined ? local(name) : undefined) ?? kernel(name);
}

/** ``D`name`` and ``C`name`` scope a name to the program's own declarations (DTrace's D and C containers). */
function isProgramModule(module: string | undefined): boolean {
  return module === 'D' || module === 'C';
}

export function lookupTypedef(scope: TypeScope, fullName: string): CType | undefined {
  return lookupScoped(fullName, (name) => scope.typedefs.get(name), (name) => scope.kernel()?.typedefType(name));
}

export function lookupTag(scope: TypeScope, tag: 'struct' | 'union', fullName: string): StructType | undefined {
  const { module, name } = scoped(fullName);
  if (isProgramModule(module)) return scope.tags.get(`${tag} ${name}`);
  if (module === undefined) {
    const local = scope.tags.get(`${tag} ${name}`);
    if (local && local.members) return local;
    const k = scope.kernel()?.structType(tag, name);
    return k ?? local;
  }
  return scope.kernel()?.structType(tag, name);
}

export function lookupEnum(scope: TypeScope, fullName: string): EnumType | undefined {
  return lookupScoped(fullName, (name) => scope.enums.get(name), (name) => scope.kernel()?.enumType(name));
}

export interface DeclContext {
  scope: TypeScope;
  strsize: number;
  /** Integer value of a constant expression, or undefined when it is not constant. */
  constValue(e: Expr): bigint | undefined;
  /** Defines an enumerator as a global identifier (the checker owns that namespace). */
  defineEnumerator(name: string, value: bigint, type: EnumType, span: Span): void;
}

const unknownTypeName = (text: string, span: Span): never =>
  fail('D_UNKNOWN', `failed to resolve type ${text}: Unknown type name`, span);

/** The base type named by a builtin keyword combination (`unsigned long long`, `string`, …). */
function builtinWords(words: string[], span: Span): CType {
  let signed = 0, unsigned = 0, short = 0, long = 0, char = 0, int = 0, other: string | undefined;
  for (const w of words) {
    switch (w) {
      case 'signed': signed++; break;
      case 'unsigned': unsigned++; break;
      case 'short': short++; break;
      case 'long': long++; break;
      case 'char': char++; break;
      case 'int': int++; break;
      default:
        if (other !== undefined) fail('D_DECL_COMBO', 'invalid type combination', span);
        other = w;
    }
  }
  const attrs = signed + unsigned + short + long;
  if (other === 'void') {
    if (attrs || char || int) fail('D_DECL_VOIDATTR', 'invalid type declaration: attributes may not be used with void type', span);
    return Types.void;
  }
  if (other !== undefined && other !== 'float' && other !== 'double') {
    if (char || int) fail('D_DECL_COMBO', 'invalid type combination', span);
    if (signed || unsigned) fail('D_DECL_SIGNINT', 'invalid type declaration: signed and unsigned may only be used with integer type', span);
    if (short || long) fail('D_DECL_LONGINT', 'invalid type declaration: long and long long may only be used with integer or floating-point type', span);
    if (other === 'string') return Types.string;
    if (other === '_Bool') return Types.bool;
    return unknownTypeName(words.join(' '), span);
  }
  if (other === 'float' || other === 'double') {
    if (char || int) fail('D_DECL_COMBO', 'invalid type combination', span);
    if (signed || unsigned) fail('D_DECL_SIGNINT', 'invalid type declaration: signed and unsigned may only be used with integer type', span);
    if (other === 'float') {
      if (short || long) fail('D_DECL_LONGINT', 'invalid type declaration: long and long long may only be used with integer or floating-point type', span);
      return Types.float;
    }
    if (short) unknownTypeName(words.join(' '), span);
    if (long > 1) fail('D_DECL_COMBO', 'invalid type combination', span);
    return long ? Types.longDouble : Types.double;
  }
  if (char > 1 || int > 1 || (char && int) || (signed && unsigned) || signed > 1 || unsigned > 1 || long > 2)
    fail('D_DECL_COMBO', 'invalid type combination', span);
  if (char && (short || long)) fail('D_DECL_CHARATTR', 'invalid type declaration: short and long may not be used with char type', span);
  if (short && long) {
    // DTrace builds the name from its attribute flags, each word followed by a blank and in its
    // own order (dt_decl_type), drops `int`, and fails to find it: "short long ".
    const t = (signed ? 'signed ' : '') + (unsigned ? 'unsigned ' : '') + 'short ' + (long === 2 ? 'long long ' : 'long ');
    unknownTypeName(t, span);
  }
  if (short > 1) fail('D_DECL_COMBO', 'invalid type combination', span);
  if (char) return unsigned ? Types.uchar : signed ? Types.signedChar : Types.char;
  if (short) return unsigned ? Types.ushort : Types.short;
  if (long === 2) return unsigned ? Types.ulonglong : Types.longlong;
  if (long === 1) return unsigned ? Types.ulong : Types.long;
  return unsigned ? Types.uint : Types.int;
}

export function resolveSpecifier(ctx: DeclContext, spec: TypeSpecifier): CType {
  switch (spec.kind) {
    case 'BuiltinTypeSpec': return builtinWords(spec.words, spec.span);
    case 'TypedefNameSpec': {
      const t = lookupTypedef(ctx.scope, spec.name);
      if (!t) return unknownTypeName(spec.name, spec.span);
      return t;
    }
    case 'StructSpec': return resolveStruct(ctx, spec);
    case 'EnumSpec': return resolveEnum(ctx, spec);
  }
}

function resolveStruct(ctx: DeclContext, spec: StructSpec): StructType {
  const key = spec.name !== undefined ? `${spec.tag} ${spec.name}` : undefined;
  if (spec.members === undefined) {
    if (spec.name === undefined) fail('D_DECL_USELESS', 'useless declaration', spec.span);
    const found = lookupTag(ctx.scope, spec.tag, spec.name);
    if (found) return found;
    // A reference to an undeclared tag declares an incomplete (forward) type.
    const fwd: StructType = { kind: 'struct', tag: spec.tag, name: spec.name, sizeBytes: 0, alignBytes: 1, origin: { from: 'd' } };
    ctx.scope.tags.set(key!, fwd);
    return fwd;
  }
  if (key) {
    const prev = ctx.scope.tags.get(key);
    if (prev && prev.members) fail('D_DECL_TYPERED', `type redeclared: ${key}`, spec.span);
  }
  const members: StructMemberType[] = [];
  // DTrace lays D structs out as libctf's ctf_add_member does: each member (a bit-field too) starts
  // at the first byte past the previous member's last bit, rounded up to its own alignment; a
  // bit-field's storage is the smallest power-of-two byte count holding its bits; no tail padding.
  let endBits = 0, sizeBytes = 0, alignBytes = 1;
  const seen = new Set<string>();
  for (const m of spec.members) {
    const base = resolveSpecifier(ctx, m.specifiers);
    const { type, name } = m.declarator ? applyDeclarator(ctx, base, m.declarator) : { type: base, name: undefined };
    const r = resolve(type);
    if (r.kind === 'struct' && !r.members) {
      fail('D_DECL_INCOMPLETE', `incomplete struct/union/enum ${typeName(type)}: ${name ?? ''}`, m.span);
    }
    if (r.kind === 'void' || r.kind === 'function') fail('D_DECL_VOIDOBJ', `cannot have void member: ${name ?? '(null)'}`, m.span);
    let memberType = type, size = sizeOf(type, ctx.strsize), align = alignOf(type), bitSize: number | undefined;
    if (m.bitWidth !== undefined) {
      const w = ctx.constValue(m.bitWidth);
      // An unnamed zero-width bit-field only asks to end the storage unit; DTrace ignores it.
      if (w === 0n && name === undefined) continue;
      if (w === undefined || w <= 0n) fail('D_DECL_BFCONST', 'positive integral constant expression expected as bit-field size', m.bitWidth.span);
      if (r.kind !== 'int' && r.kind !== 'enum') fail('D_DECL_BFTYPE', `invalid type for bit-field: ${name ?? '(anon)'}`, m.span);
      bitSize = Number(w);
      if (bitSize > size * 8) fail('D_DECL_BFSIZE', `bit-field too big for type: ${name ?? '(anon)'}`, m.span);
      if (r.kind === 'int') memberType = { ...r, bits: bitSize };
      size = align = bitFieldBytes(bitSize);
    }
    if (name !== undefined) {
      if (seen.has(name)) fail('D_UNKNOWN', `failed to define member '${name}': Duplicate member or variable name`, m.span);
      seen.add(name);
    }
    const at = spec.tag === 'union' || members.length === 0 ? 0 : Math.ceil(Math.ceil(endBits / 8) / align) * align;
    members.push(bitSize === undefined ? { name: name ?? '', type: memberType, bitOffset: at * 8 } : { name: name ?? '', type: memberType, bitOffset: at * 8, bitSize });
    endBits = at * 8 + (bitSize ?? size * 8);
    sizeBytes = Math.max(sizeBytes, at + size);
    // ctf_type_align: a struct aligns as its first member, a union as its most aligned one.
    if (spec.tag === 'union') alignBytes = Math.max(alignBytes, align);
    else if (members.length === 1) alignBytes = align;
  }
  const prev = key ? ctx.scope.tags.get(key) : undefined;
  if (prev && !prev.members) {
    // Complete the forward declaration in place so earlier pointers to it see the members.
    Object.assign(prev, { members, sizeBytes, alignBytes });
    return prev;
  }
  const st: StructType = { kind: 'struct', tag: spec.tag, name: spec.name, members, sizeBytes, alignBytes, origin: { from: 'd' } };
  if (key) ctx.scope.tags.set(key, st);
  return st;
}

/** Bytes of a bit-field's storage: the bits rounded up to bytes, then to a power of two. */
function bitFieldBytes(bits: number): number {
  const bytes = Math.ceil(bits / 8);
  return bytes <= 1 ? 1 : bytes <= 2 ? 2 : bytes <= 4 ? 4 : 8;
}

const INT_MAX = 2147483647n, INT_MIN = -2147483648n;

/** Enums named before they were defined (`enum e x;`): a definition may still complete them. */
const forwardEnums = new WeakSet<EnumType>();

function resolveEnum(ctx: DeclContext, spec: EnumSpec): EnumType {
  if (spec.members === undefined) {
    if (spec.name === undefined) fail('D_DECL_USELESS', 'useless declaration', spec.span);
    const found = lookupEnum(ctx.scope, spec.name);
    if (found) return found;
    // A reference to an undeclared tag declares it, as for struct and union (a forward enum:
    // an int with no enumerators yet; a later definition with members completes it).
    const fwd: EnumType = { kind: 'enum', name: spec.name, values: [], sizeBytes: 4, signed: true };
    forwardEnums.add(fwd);
    ctx.scope.enums.set(spec.name, fwd);
    return fwd;
  }
  const prev = spec.name !== undefined ? ctx.scope.enums.get(spec.name) : undefined;
  if (prev && !forwardEnums.has(prev)) fail('D_DECL_TYPERED', `type redeclared: enum ${spec.name}`, spec.span);
  const et: EnumType = { kind: 'enum', name: spec.name, values: [], sizeBytes: 4, signed: true };
  let next = 0n;
  for (const m of spec.members) {
    let value = next;
    if (m.value !== undefined) {
      const v = ctx.constValue(m.value);
      if (v === undefined) fail('D_DECL_ENCONST', `enumerator '${m.name}' must be assigned to an integral constant expression`, m.span);
      value = v;
    }
    // DTrace names INT_MAX for either bound.
    if (value > INT_MAX || value < INT_MIN) fail('D_DECL_ENOFLOW', `enumerator '${m.name}' value overflows INT_MAX (${INT_MAX})`, m.span);
    if (et.values.some((x) => x.name === m.name)) fail('D_UNKNOWN', `failed to define enumerator '${m.name}': Duplicate member or variable name`, m.span);
    et.values.push({ name: m.name, value });
    ctx.defineEnumerator(m.name, value, et, m.span);
    next = value + 1n;
  }
  if (spec.name !== undefined) ctx.scope.enums.set(spec.name, et);
  return et;
}

/** What a declarator makes of a base type; `keyTypes` is set for `a[int, string]`. */
export interface DeclaredName {
  type: CType;
  name?: string;
  keyTypes?: CType[];
  /** The declarator is a function prototype (`int foo(int)`). */
  isFunction?: boolean;
}

export function applyDeclarator(ctx: DeclContext, base: CType, d: Declarator): DeclaredName {
  switch (d.kind) {
    case 'NameDeclarator': return { type: base, name: d.name };
    case 'ParenDeclarator': return applyDeclarator(ctx, base, d.inner);
    case 'PointerDeclarator': return applyDeclarator(ctx, pointerTo(base), d.inner);
    case 'ArrayDeclarator': {
      if (d.keyTypes) {
        const keys = d.keyTypes.map((k, i) => {
          const t = resolveTypeName(ctx, k);
          if (resolve(t).kind === 'void') {
            fail('D_DECL_PROTO_TYPE', `array prototype may not use parameter of type void: (anonymous), parameter #${i + 1}`, k.span);
          }
          return t;
        });
        const inner = applyDeclarator(ctx, base, d.inner);
        return { ...inner, keyTypes: keys };
      }
      if (d.size === undefined) {
        const inner = applyDeclarator(ctx, { kind: 'array', element: base }, d.inner);
        return inner;
      }
      const n = ctx.constValue(d.size);
      if (n === undefined || n <= 0n) {
        fail('D_DECL_ARRSUB', 'positive integral constant expression or tuple signature expected as array declaration subscript', d.size.span);
      }
      if (n > 0x7fffffffn) fail('D_DECL_ARRBIG', 'array dimension too big', d.size.span);
      return applyDeclarator(ctx, { kind: 'array', element: base, length: Number(n) }, d.inner);
    }
    case 'FunctionDeclarator': {
      const params: CType[] = [];
      for (const [i, p] of d.params.entries()) {
        if (p.type.declarator?.kind === 'ArrayDeclarator' && p.type.declarator.keyTypes) {
          fail('D_DECL_PROTO_TYPE', `function prototype may not use parameter of type dynamic variable: ${p.name ?? declaratorName(p.type.declarator) ?? '(anonymous)'}, parameter #${i + 1}`, p.span);
        }
        const t = resolveTypeName(ctx, p.type);
        if (resolve(t).kind === 'void') {
          if (p.name !== undefined) fail('D_DECL_PROTO_NAME', `void parameter may not have a name: ${p.name}`, p.span);
          // dt_decl_prototype permits void per parameter, then refuses it beside others.
          if (d.params.length > 1) fail('D_DECL_PROTO_VOID', 'void must be sole parameter', d.span);
          continue;
        }
        params.push(t);
      }
      const inner = applyDeclarator(ctx, { kind: 'function', returnType: base, params, variadic: d.variadic }, d.inner);
      return { ...inner, isFunction: true };
    }
  }
}

export function resolveTypeName(ctx: DeclContext, tn: TypeName): CType {
  const base = resolveSpecifier(ctx, tn.specifiers);
  return tn.declarator ? applyDeclarator(ctx, base, tn.declarator).type : base;
}

export function hasConst(q: TypeQualifier[]): boolean { return q.includes('const'); }

/**
 * Parses a D type name written as text (builtin prototypes: `const char *`,
 * ``vmlinux`struct mutex *``, `void *`, `uint32_t`). Returns undefined when a name is unknown.
 */
export function parseTypeText(scope: TypeScope, text: string): CType | undefined {
  let t = text.trim().replace(/\bconst\b|\bvolatile\b/g, '').trim();
  let stars = 0;
  while (t.endsWith('*')) { stars++; t = t.slice(0, -1).trim(); }
  let base: CType | undefined;
  const m = /^(?:(\w+)`)?(struct|union|enum)\s+(\w+)$/.exec(t) ?? /^(\w+)`(struct|union|enum)\s+(\w+)$/.exec(t);
  if (m) {
    const [, module, tag, name] = m;
    const full = module ? `${module}\`${name}` : name!;
    if (tag === 'enum') base = lookupEnum(scope, full);
    else {
      base = lookupTag(scope, tag as 'struct' | 'union', full);
      // Without kernel types a prototype's struct is an opaque (incomplete) struct.
      base ??= { kind: 'struct', tag: tag as 'struct' | 'union', name, sizeBytes: 0, alignBytes: 1 };
    }
  } else {
    const words = t.split(/\s+/);
    const builtin = ['void', 'char', 'short', 'int', 'long', 'signed', 'unsigned', 'string', 'float', 'double'];
    if (words.every((w) => builtin.includes(w))) {
      try { base = builtinWords(words, { source: { name: '<builtin>', kind: 'library', text: '' }, start: 0, end: 0 }); } catch { base = undefined; }
    } else if (words.length === 1) {
      base = lookupTypedef(scope, words[0]!);
      if (!base && words[0]!.includes('`')) {
        // A kernel typedef unavailable without BTF: model it as an opaque 64-bit integer.
        const name = words[0]!.slice(words[0]!.lastIndexOf('`') + 1);
        base = typedef(name, name === 'dev_t' ? Types.uint : Types.ulong);
      }
    }
  }
  if (!base) return undefined;
  for (let i = 0; i < stars; i++) base = pointerTo(base);
  return base;
}

function declaratorName(d: Declarator): string | undefined {
  switch (d.kind) {
    case 'NameDeclarator': return d.name;
    default: return declaratorName(d.inner);
  }
}
