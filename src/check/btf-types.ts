/**
 * @fileoverview The bridge from the kernel's BTF (src/bpf/btf) to the checker's CType model.
 * It is lazy on two levels, because vmlinux has ~127k types and a script names a handful: a
 * type is converted only when a script names it (`struct task_struct`, `curthread`), and a
 * converted struct's member list is built only when first read (a getter that replaces itself
 * with the plain array), so converting `struct task_struct *` does not drag in the whole graph.
 */
import { loadKernelBtf, KERNEL_BTF_PATH, type Btf, type TypeId } from '../bpf/btf/index.js';
import { existsSync } from 'node:fs';
import {
  Types, typedef, pointerTo,
  type CType, type StructType, type EnumType, type StructMemberType, type IntType,
} from './ctypes.js';
import type { KernelTypeSource } from './decl.js';

export function createBtfTypeSource(btf: Btf): KernelTypeSource {
  const cache = new Map<TypeId, CType>();

  function intType(sizeBytes: number, signed: boolean, name: string, isChar: boolean, isBool: boolean): IntType {
    const size = (sizeBytes === 1 || sizeBytes === 2 || sizeBytes === 4 || sizeBytes === 8 ? sizeBytes : 8) as IntType['sizeBytes'];
    const t: IntType = { kind: 'int', name, sizeBytes: size, signed };
    if (isChar || (size === 1 && name.includes('char'))) t.isChar = true;
    if (isBool) t.isBool = true;
    return t;
  }

  function convert(id: TypeId): CType {
    const hit = cache.get(id);
    if (hit) return hit;
    const bt = btf.typeById(id);
    let out: CType;
    switch (bt.kind) {
      case 'void': out = Types.void; break;
      case 'int': out = intType(bt.sizeBytes, bt.signed, bt.name, bt.isChar, bt.isBool); break;
      case 'float': out = { kind: 'float', name: bt.name, sizeBytes: (bt.sizeBytes === 4 || bt.sizeBytes === 8 ? bt.sizeBytes : 16) }; break;
      case 'ptr': {
        const p = pointerTo(Types.void);
        cache.set(id, p); // break cycles through pointers
        p.target = convert(bt.type);
        return p;
      }
      case 'array': out = { kind: 'array', element: convert(bt.type), length: bt.nelems }; break;
      case 'struct': case 'union': out = structOf(id, bt.kind, bt.name, bt.sizeBytes); break;
      case 'fwd': {
        const named = bt.name ? btf.findByName(bt.fwdKind, bt.name) : undefined;
        out = named !== undefined ? convert(named) : { kind: 'struct', tag: bt.fwdKind, name: bt.name || undefined, sizeBytes: 0, alignBytes: 1 };
        break;
      }
      case 'enum': case 'enum64': {
        const e: EnumType = { kind: 'enum', name: bt.name || undefined, values: bt.values, sizeBytes: bt.sizeBytes === 8 ? 8 : 4, signed: bt.signed };
        out = e;
        break;
      }
      case 'typedef': {
        const t = typedef(bt.name, Types.void);
        cache.set(id, t);
        t.target = convert(bt.type);
        return t;
      }
      case 'volatile': case 'const': case 'restrict': case 'type_tag': out = convert(bt.type); break;
      case 'func_proto': out = {
        kind: 'function', returnType: convert(bt.returnType), params: bt.params.map((p) => convert(p.type)), variadic: bt.variadic,
      }; break;
      case 'func': out = convert(bt.type); break;
      case 'var': out = convert(bt.type); break;
      default: out = Types.void;
    }
    cache.set(id, out);
    return out;
  }

  function structOf(id: TypeId, tag: 'struct' | 'union', name: string, sizeBytes: number): StructType {
    const st: StructType = {
      kind: 'struct', tag, name: name || undefined, sizeBytes, alignBytes: Math.max(1, btf.alignOf(id)),
      origin: { from: 'btf', id },
    };
    cache.set(id, st);
    Object.defineProperty(st, 'members', {
      configurable: true, enumerable: true,
      get(): StructMemberType[] {
        const members: StructMemberType[] = btf.members(id).map((m) => {
          const t = convert(m.type);
          const mt: StructMemberType = { name: m.name, type: t, bitOffset: m.bitOffset };
          if (m.bitfieldSize) {
            mt.bitSize = m.bitfieldSize;
            // Give the member a bit-field view of its integer type, as declared structs do.
            let r: CType = t;
            while (r.kind === 'typedef') r = r.target;
            if (r.kind === 'int') mt.type = { ...r, bits: m.bitfieldSize };
          }
          return mt;
        });
        Object.defineProperty(st, 'members', { value: members, writable: true, enumerable: true, configurable: true });
        return members;
      },
    });
    return st;
  }

  return {
    structType(tag, name) {
      const id = btf.findByName(tag, name);
      if (id === undefined) return undefined;
      return convert(id) as StructType;
    },
    enumType(name) {
      const id = btf.findByName('enum', name) ?? btf.findByName('enum64', name);
      return id === undefined ? undefined : (convert(id) as EnumType);
    },
    typedefType(name) {
      const id = btf.findByName('typedef', name);
      return id === undefined ? undefined : convert(id);
    },
    variableType(name) {
      const id = btf.findByName('var', name);
      return id === undefined ? undefined : convert(id);
    },
  };
}

let kernelSource: KernelTypeSource | undefined | null = null;

/** The running kernel's types, or undefined when /sys/kernel/btf/vmlinux is missing. */
export function kernelTypeSource(): KernelTypeSource | undefined {
  if (kernelSource === null) {
    kernelSource = existsSync(KERNEL_BTF_PATH) ? createBtfTypeSource(loadKernelBtf()) : undefined;
  }
  return kernelSource;
}
