/**
 * @fileoverview BTF → C header (`vmlinux.h`), written the way `bpftool btf dump file F format c`
 * writes it, so the two outputs can be diffed line by line. The algorithm is libbpf's btf_dump:
 *
 *  1. Order: a depth-first walk from each type decides which named definitions must come first.
 *     A dependency is *strong* when the type is embedded (its size is needed) and *weak* when it
 *     is only reached through a pointer to a named type, where a forward declaration suffices.
 *     Anonymous structs/unions are defined inline, so their members' dependencies are strong
 *     even behind a pointer.
 *  2. Emit: each queued type is written after the types it needs; a struct that is still being
 *     written when something refers to it gets a forward declaration (`struct x;`) instead.
 *
 * Names that collide (two different `struct foo`s, or a typedef named like an enumerator) get a
 * `___N` suffix, numbered in the order they are first printed, as libbpf does.
 *
 * Declarators are built from a stack of the types on the way from a declaration to its base
 * type (pointer, const, array, function prototype, ...), because C writes qualifiers, pointers,
 * arrays and parameter lists around the name in an order different from the BTF chain.
 */
import type { Btf, BtfType, CompositeType, EnumType, RefType, TypeId } from './types.js';
import { cEnum } from '../uapi.js';

const PREAMBLE = [
  '#ifndef __VMLINUX_H__',
  '#define __VMLINUX_H__',
  '',
  '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX',
  '#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)',
  '#endif',
  '',
  '',
].join('\n');

const EPILOGUE = [
  '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX',
  '#pragma clang attribute pop',
  '#endif',
  '',
  '#endif /* __VMLINUX_H__ */',
  '',
].join('\n');

// Per-type ordering and emission states (libbpf's enum btf_dump_type_order_state and
// enum btf_dump_type_emit_state).
const Order = cEnum(['NOT_ORDERED', 'ORDERING', 'ORDERED']);
const Emit = cEnum(['NOT_EMITTED', 'EMITTING', 'EMITTED']);

/** GCC-internal base types that clang lacks; libbpf aliases them to standard ones. */
const MISSING_BASE_TYPES = new Map([
  ['__Poly8_t', 'unsigned char'],
  ['__Poly16_t', 'unsigned short'],
  ['__Poly64_t', 'unsigned long long'],
  ['__Poly128_t', 'unsigned __int128'],
]);

export interface DumpCOptions {
  /** Emit only these types (and what they need); default: every type, in id order. */
  rootIds?: TypeId[];
  /** Leave out the `#ifndef __VMLINUX_H__` preamble and epilogue. */
  bare?: boolean;
  /**
   * Mark 1- and 8-byte enums with `__attribute__((mode(byte|word)))` so clang gives them their
   * BTF size (libbpf ≥ 1.2 does; bpftool built on libbpf 1.1 does not). Default true.
   */
  enumModeAttributes?: boolean;
}

/** A slice of the shared declaration stack: `ids[0..count)`, top at `count - 1`. */
interface DeclStack { ids: TypeId[]; count: number }

/** The whole header for `btf`, as `bpftool btf dump file F format c` prints it. */
export function dumpC(btf: Btf, options: DumpCOptions = {}): string {
  const out: string[] = [];
  if (!options.bare) out.push(PREAMBLE);
  const dumper = createCDumper(btf, (s) => out.push(s), options.enumModeAttributes ?? true);
  if (options.rootIds) {
    for (const id of options.rootIds) dumper.dumpType(id);
  } else {
    for (let id = 1; id < btf.typeCount; id++) dumper.dumpType(id);
  }
  if (!options.bare) out.push(EPILOGUE);
  return out.join('');
}

export interface CDumper {
  /** Writes the definition of `id` and every definition it needs that was not written yet. */
  dumpType(id: TypeId): void;
  /** Writes the declaration of `name` with type `id` (e.g. `char *comm[16]`). */
  emitTypeDecl(id: TypeId, name: string, indentLevel: number): void;
}

/** A stateful C writer over `btf`: types written once are not written again. */
export function createCDumper(btf: Btf, write: (text: string) => void, enumModeAttributes = true): CDumper {
  return new CWriter(btf, write, enumModeAttributes);
}

/** libbpf's btf_dump: the per-type ordering and emission states and the names given so far. */
class CWriter implements CDumper {
  private readonly count: number;
  private readonly ptrSizeBytes: number;
  private readonly orderState: Uint8Array;
  private readonly emitState: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly nameResolved: Uint8Array;
  private readonly cachedNames = new Map<TypeId, string>();
  /** struct/union/enum names → occurrences so far. */
  private readonly typeNames = new Map<string, number>();
  /** typedef and enumerator names (one C namespace) → occurrences so far. */
  private readonly identNames = new Map<string, number>();
  private readonly declStackIds: TypeId[] = [];
  private emitQueue: TypeId[] = [];

  constructor(private readonly btf: Btf, private readonly write: (text: string) => void, private readonly enumModeAttributes: boolean) {
    this.count = btf.typeCount;
    this.ptrSizeBytes = btf.pointerSizeBytes;
    this.orderState = new Uint8Array(this.count);
    this.emitState = new Uint8Array(this.count);
    this.fwdEmitted = new Uint8Array(this.count);
    this.referenced = new Uint8Array(this.count);
    this.nameResolved = new Uint8Array(this.count);
    this.orderState[0] = Order.ORDERED;
    this.emitState[0] = Emit.EMITTED;
    this.markReferenced();
  }

  dumpType(id: TypeId): void {
    if (id < 0 || id >= this.count) throw new RangeError(`BTF type id ${id} out of range`);
    this.emitQueue = [];
    this.orderType(id, false);
    for (const queued of this.emitQueue) this.emitType(queued, 0);
  }

  private type(id: TypeId): BtfType {
    return this.btf.typeById(id);
  }

  private typeName(t: BtfType): string {
    return this.resolveName(t, this.typeNames);
  }

  private identName(t: BtfType): string {
    return this.resolveName(t, this.identNames);
  }

  /**
   * An anonymous enum that nothing refers to is a top-level list of constants and is emitted
   * on its own; one referred to is written inline where it is used.
   */
  private markReferenced(): void {
    for (let id = 1; id < this.count; id++) {
      const t = this.type(id);
      switch (t.kind) {
        case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'func':
        case 'var': case 'decl_tag': case 'type_tag':
          this.referenced[t.type] = 1;
          break;
        case 'array':
          this.referenced[t.indexType] = 1;
          this.referenced[t.type] = 1;
          break;
        case 'struct': case 'union':
          for (const m of t.members) this.referenced[m.type] = 1;
          break;
        case 'func_proto':
          // Only parameters count (libbpf does not mark the return type).
          for (const p of t.params) this.referenced[p.type] = 1;
          break;
        case 'datasec':
          for (const v of t.vars) this.referenced[v.type] = 1;
          break;
        default:
          break;
      }
    }
  }

  /**
   * Topological ordering (btf_dump_order_type). Returns true when `id` is part of a strong
   * link (its full definition is needed first), false when a forward declaration will do.
   */
  private orderType(id: TypeId, throughPtr: boolean): boolean {
    if (this.orderState[id] === Order.ORDERED) return true;
    const t = this.type(id);
    if (this.orderState[id] === Order.ORDERING) {
      // A loop is fine through a pointer to a named struct: a forward declaration breaks it.
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name !== '') return false;
      throw new Error(`unsatisfiable type cycle, id:[${id}]`);
    }
    switch (t.kind) {
      case 'int': case 'float':
        this.orderState[id] = Order.ORDERED;
        return false;
      case 'ptr': {
        const strong = this.orderType(t.type, true);
        this.orderState[id] = Order.ORDERED;
        return strong;
      }
      case 'array':
        return this.orderType(t.type, false);
      case 'struct': case 'union': {
        // A named struct behind a pointer only needs a forward declaration.
        if (throughPtr && t.name !== '') return false;
        this.orderState[id] = Order.ORDERING;
        for (const m of t.members) this.orderType(m.type, false);
        if (t.name !== '') this.emitQueue.push(id);
        this.orderState[id] = Order.ORDERED;
        return true;
      }
      case 'enum': case 'enum64': case 'fwd':
        if (t.name !== '' || !this.referenced[id]) this.emitQueue.push(id);
        this.orderState[id] = Order.ORDERED;
        return true;
      case 'typedef': {
        const strong = this.orderType(t.type, throughPtr);
        if (throughPtr && !strong) return false;
        this.emitQueue.push(id);
        this.orderState[id] = Order.ORDERED;
        return true;
      }
      case 'volatile': case 'const': case 'restrict': case 'type_tag':
        return this.orderType(t.type, throughPtr);
      case 'func_proto': {
        let strong = this.orderType(t.returnType, throughPtr);
        for (const p of t.params) if (this.orderType(p.type, throughPtr)) strong = true;
        // A `(void)` or `...` parameter is void, which always counts as ordered (strong).
        return strong || t.variadic || t.explicitVoid;
      }
      case 'func': case 'var': case 'datasec': case 'decl_tag':
        this.orderState[id] = Order.ORDERED;
        return false;
      case 'void':
        return true;
    }
  }

  /** Writes `id` and what it needs (btf_dump_emit_type); `containerId` 0 means top level. */
  private emitType(id: TypeId, containerId: TypeId): void {
    if (this.emitState[id] === Emit.EMITTED) return;
    const t = this.type(id);
    const topLevel = containerId === 0;
    if (this.emitState[id] === Emit.EMITTING) {
      if (this.fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        // Referring to the struct we are inside of needs no forward declaration.
        if (id === containerId) return;
        if (t.name === '') return; // anonymous struct/union loop: nothing sensible to this.write
        this.emitStructFwd(t);
        this.write(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        // The typedef itself serves as the forward declaration for uses through a pointer.
        if (!isBlacklisted(t)) {
          this.emitTypedefDef(t, 0);
          this.write(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case 'int': {
        const alias = MISSING_BASE_TYPES.get(this.typeName(t));
        if (alias) this.write(`typedef ${alias} ${this.typeName(t)};\n\n`);
        this.emitState[id] = Emit.EMITTED;
        break;
      }
      case 'enum': case 'enum64':
        if (topLevel) {
          this.emitEnumDef(t, 0);
          this.write(';\n\n');
        }
        this.emitState[id] = Emit.EMITTED;
        break;
      case 'ptr': case 'volatile': case 'const': case 'restrict': case 'type_tag':
        this.emitType(t.type, containerId);
        break;
      case 'array':
        this.emitType(t.type, containerId);
        break;
      case 'fwd':
        this.emitFwdDef(t);
        this.write(';\n\n');
        this.emitState[id] = Emit.EMITTED;
        break;
      case 'typedef':
        this.emitState[id] = Emit.EMITTING;
        this.emitType(t.type, id);
        if (!this.fwdEmitted[id] && !isBlacklisted(t)) {
          this.emitTypedefDef(t, 0);
          this.write(';\n\n');
        }
        this.emitState[id] = Emit.EMITTED;
        break;
      case 'struct': case 'union':
        this.emitState[id] = Emit.EMITTING;
        if (topLevel || t.name === '') {
          // The members will be written out, so their types need declarations first.
          const newContainer = t.name === '' ? containerId : id;
          for (const m of t.members) this.emitType(m.type, newContainer);
        } else if (!this.fwdEmitted[id] && id !== containerId) {
          this.emitStructFwd(t);
          this.write(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.emitStructDef(t, 0);
          this.write(';\n\n');
          this.emitState[id] = Emit.EMITTED;
        } else {
          this.emitState[id] = Emit.NOT_EMITTED;
        }
        break;
      case 'func_proto':
        this.emitType(t.returnType, containerId);
        for (const p of t.params) this.emitType(p.type, containerId);
        break;
      default:
        break;
    }
  }

  private emitBitPadding(curOffset: number, nextOffset: number, nextAlign: number, inBitfield: boolean, level: number): void {
    const pads: [string, number][] = [['long', this.ptrSizeBytes * 8], ['int', 32], ['short', 16], ['char', 8]];
    if (curOffset >= nextOffset) return;
    let newOffset = 0;
    let padBits = 0;
    let padType = '';
    // The largest padding type that reaches an aligned boundary without passing the next field.
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOffset = roundUp(curOffset, bits);
      if (newOffset <= nextOffset) break;
    }
    if (newOffset > curOffset && newOffset <= nextOffset) {
      // `type: 0` forces the boundary when the compiler would not align there by itself.
      if (inBitfield
        || (newOffset === nextOffset && roundUp(curOffset, nextAlign * 8) !== newOffset)
        || (newOffset !== nextOffset && nextOffset - newOffset <= newOffset - curOffset)) {
        this.write(`\n${pfx(level)}${padType}: ${inBitfield ? newOffset - curOffset : 0};`);
      }
      curOffset = newOffset;
    }
    while (curOffset !== nextOffset) {
      const bits = Math.min(nextOffset - curOffset, padBits);
      if (bits === padBits) {
        this.write(`\n${pfx(level)}${padType}: ${padBits};`);
        curOffset += bits;
        continue;
      }
      // The remainder gets the smallest type that holds it.
      for (let i = pads.length - 1; i >= 0; i--) {
        const [name, size] = pads[i]!;
        if (size < bits) continue;
        padType = name;
        padBits = size;
        this.write(`\n${pfx(level)}${name}: ${bits};`);
        curOffset += bits;
        break;
      }
    }
  }

  private emitStructFwd(t: CompositeType): void {
    const name = this.typeName(t);
    this.write(`${t.kind}${name ? ' ' : ''}${name}`);
  }

  private emitStructDef(t: CompositeType, level: number): void {
    const isStruct = t.kind === 'struct';
    const align = this.btf.alignOf(t.id);
    const packed = isStruct && this.btf.isPacked(t.id);
    const name = this.typeName(t);
    this.write(`${t.kind}${name ? ' ' : ''}${name} {`);
    let offset = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const memberAlign = packed ? 1 : this.btf.alignOf(m.type);
      const inBitfield = prevBitfield && m.bitfieldSize !== 0;
      this.emitBitPadding(offset, m.bitOffset, memberAlign, inBitfield, level + 1);
      this.write(`\n${pfx(level + 1)}`);
      this.emitTypeDecl(m.type, m.name, level + 1);
      if (m.bitfieldSize) {
        this.write(`: ${m.bitfieldSize}`);
        offset = m.bitOffset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        offset = m.bitOffset + Math.max(0, this.btf.sizeOf(m.type) ?? 0) * 8;
        prevBitfield = false;
      }
      this.write(';');
    }
    if (isStruct) this.emitBitPadding(offset, t.sizeBytes * 8, align, false, level + 1);
    // `struct empty {}` stays on one line.
    if (t.members.length || t.sizeBytes) this.write(`\n${pfx(level)}}`);
    else this.write('}');
    if (packed) this.write(' __attribute__((packed))');
  }

  private emitEnumDef(t: EnumType, level: number): void {
    const name = this.typeName(t);
    this.write(`enum${name ? ' ' : ''}${name}`);
    if (t.values.length === 0) return;
    this.write(' {');
    const suffix = t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : '';
    for (const v of t.values) {
      // Enumerators share a namespace with typedef names.
      const dups = nameDups(this.identNames, v.name);
      const shown = dups > 1 ? `${v.name}___${dups}` : v.name;
      this.write(`\n${pfx(level + 1)}${shown} = ${v.value}${suffix},`);
    }
    this.write(`\n${pfx(level)}}`);
    if (!this.enumModeAttributes) return;
    if (t.sizeBytes === 1) {
      this.write(' __attribute__((mode(byte)))');
    } else if (t.sizeBytes === 8 && this.ptrSizeBytes === 8) {
      // An enum grows to 8 bytes by itself only when some value needs the upper 32 bits.
      const needsWordMode = t.kind === 'enum'
        || t.values.every((v) => (BigInt.asUintN(64, v.value) >> 32n) === 0n);
      if (needsWordMode) this.write(' __attribute__((mode(word)))');
    }
  }

  private emitFwdDef(t: Extract<BtfType, { kind: 'fwd' }>): void {
    this.write(`${t.fwdKind} ${this.typeName(t)}`);
  }

  private emitTypedefDef(t: RefType, level: number): void {
    const name = this.identName(t);
    // Old GCC emits __gnuc_va_list as a typedef of void; the real thing is the builtin.
    if (t.type === 0 && name === '__gnuc_va_list') {
      this.write('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.write('typedef ');
    this.emitTypeDecl(t.type, name, level);
  }

  /** Pushes the chain from `id` down to its base type, then writes it around `fieldName`. */
  emitTypeDecl(id: TypeId, fieldName: string, level: number): void {
    const stackStart = this.declStackIds.length;
    for (;;) {
      this.declStackIds.push(id);
      if (id === 0) break;
      const t = this.type(id);
      if (t.kind === 'ptr' || t.kind === 'volatile' || t.kind === 'const' || t.kind === 'restrict'
        || t.kind === 'type_tag') {
        id = t.type;
      } else if (t.kind === 'func_proto') {
        id = t.returnType;
      } else if (t.kind === 'array') {
        id = t.type;
      } else {
        break;
      }
    }
    const stack: DeclStack = { ids: this.declStackIds.slice(stackStart), count: this.declStackIds.length - stackStart };
    this.declStackIds.length = stackStart;
    this.emitTypeChain(stack, fieldName, level);
  }

  /** Writes leading qualifiers (`const volatile `) from the top of the stack. */
  private emitMods(stack: DeclStack): void {
    while (stack.count) {
      const t = this.type(stack.ids[stack.count - 1]!);
      if (t.kind === 'volatile' || t.kind === 'const' || t.kind === 'restrict') this.write(`${t.kind} `);
      else return;
      stack.count--;
    }
  }

  /** Drops qualifiers GCC puts on arrays and noreturn function pointers (C has no use for them). */
  private dropMods(stack: DeclStack): void {
    while (stack.count) {
      const t = this.type(stack.ids[stack.count - 1]!);
      if (t.kind !== 'volatile' && t.kind !== 'const' && t.kind !== 'restrict' && t.kind !== 'type_tag') return;
      stack.count--;
    }
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.write(`${name && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(stack: DeclStack, fieldName: string, level: number): void {
    // True at the start so that a lone pointer in a nested chain prints `(*name)`, not `( *name)`.
    let lastWasPtr = true;
    while (stack.count) {
      const id = stack.ids[--stack.count]!;
      if (id === 0) {
        this.emitMods(stack);
        this.write('void');
        lastWasPtr = false;
        continue;
      }
      const t = this.type(id);
      switch (t.kind) {
        case 'int': case 'float':
          this.emitMods(stack);
          this.write(t.name);
          break;
        case 'struct': case 'union':
          this.emitMods(stack);
          if (t.name === '') this.emitStructDef(t, level);
          else this.emitStructFwd(t);
          break;
        case 'enum': case 'enum64':
          this.emitMods(stack);
          if (t.name === '') this.emitEnumDef(t, level);
          else this.write(`enum ${this.typeName(t)}`);
          break;
        case 'fwd':
          this.emitMods(stack);
          this.emitFwdDef(t);
          break;
        case 'typedef':
          this.emitMods(stack);
          this.write(this.identName(t));
          break;
        case 'ptr':
          this.write(lastWasPtr ? '*' : ' *');
          break;
        case 'volatile': case 'const': case 'restrict':
          this.write(` ${t.kind}`);
          break;
        case 'type_tag':
          this.emitMods(stack);
          this.write(t.isAttribute ? ` __attribute__((${t.name}))` : ` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case 'array': {
          this.dropMods(stack);
          if (stack.count === 0) {
            this.emitName(fieldName, lastWasPtr);
            this.write(`[${t.nelems}]`);
            return;
          }
          const multiDim = this.type(stack.ids[stack.count - 1]!).kind === 'array';
          if (fieldName && !lastWasPtr) this.write(' ');
          if (!multiDim) this.write('(');
          this.emitTypeChain(stack, fieldName, level);
          if (!multiDim) this.write(')');
          this.write(`[${t.nelems}]`);
          return;
        }
        case 'func_proto': {
          this.dropMods(stack);
          if (stack.count) {
            this.write(' (');
            this.emitTypeChain(stack, fieldName, level);
            this.write(')');
          } else {
            this.emitName(fieldName, lastWasPtr);
          }
          this.write('(');
          if (t.params.length === 0 && !t.variadic) {
            this.write('void)');
            return;
          }
          t.params.forEach((p, i) => {
            if (i > 0) this.write(', ');
            this.emitTypeDecl(p.type, p.name, level);
          });
          if (t.variadic) this.write(t.params.length ? ', ...' : '...');
          this.write(')');
          return;
        }
        default:
          return;
      }
      lastWasPtr = t.kind === 'ptr';
    }
    this.emitName(fieldName, lastWasPtr);
  }

  private resolveName(t: BtfType, names: Map<string, number>): string {
    if (t.name === '') return '';
    if (this.nameResolved[t.id]) return this.cachedNames.get(t.id) ?? t.name;
    this.nameResolved[t.id] = 1;
    // Forward declarations and empty enums may repeat without conflict.
    if (t.kind === 'fwd' || (t.kind === 'enum' && t.values.length === 0)) return t.name;
    const dups = nameDups(names, t.name);
    if (dups > 1) {
      const renamed = `${t.name}___${dups}`;
      this.cachedNames.set(t.id, renamed);
      return renamed;
    }
    return t.name;
  }
}

function pfx(level: number): string {
  return '\t'.repeat(Math.min(level, 13));
}

/** `__builtin_va_list` is built into the compiler; redefining it breaks the header. */
function isBlacklisted(t: BtfType): boolean {
  return t.name === '__builtin_va_list';
}

/** Occurrences of `name` so far in `names`, counting this one (btf_dump_name_dups). */
function nameDups(names: Map<string, number>, name: string): number {
  const dups = (names.get(name) ?? 0) + 1;
  names.set(name, dups);
  return dups;
}

function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}
