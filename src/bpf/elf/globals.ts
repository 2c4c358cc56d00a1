/**
 * @fileoverview Setting an object's global variables before load (`const volatile` in `.rodata`,
 * or `.data`/`.bss`): the value is encoded by the variable's BTF type — integers of its size,
 * bools, enums by name or number, strings into char arrays — and written into the section image.
 */
import type { Btf } from '../btf/index.js';
import type { BpfObjectSpec, DataSection, DataVariable } from './bpf-object.js';

export type GlobalValue = string | number | bigint | boolean | Uint8Array;

export class GlobalVariableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobalVariableError';
  }
}

export function findGlobal(obj: BpfObjectSpec, name: string): { section: DataSection; variable: DataVariable } | undefined {
  for (const section of obj.dataSections) {
    const variable = section.variables.find((v) => v.name === name);
    if (variable) return { section, variable };
  }
  return undefined;
}

function encode(btf: Btf | undefined, variable: DataVariable, value: GlobalValue): Uint8Array {
  const size = variable.sizeBytes;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const fail = (why: string): never => { throw new GlobalVariableError(`global '${variable.name}': ${why}`); };
  if (value instanceof Uint8Array) {
    if (value.length > size) fail(`${value.length} bytes do not fit its ${size}`);
    out.set(value);
    return out;
  }
  const t = btf && variable.typeId !== undefined ? btf.typeById(btf.resolve(variable.typeId)) : undefined;
  if (t?.kind === 'array' && typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length >= size) fail(`"${value}" does not fit ${size} bytes with its NUL`);
    out.set(bytes);
    return out;
  }
  let n: bigint;
  if (typeof value === 'boolean') n = value ? 1n : 0n;
  else if (typeof value === 'number') { if (!Number.isInteger(value)) fail(`${value} is not an integer`); n = BigInt(value); }
  else if (typeof value === 'bigint') n = value;
  else if (value === 'true' || value === 'false') n = value === 'true' ? 1n : 0n;
  else if (/^-?(0x[0-9a-f]+|\d+)$/i.test(value)) n = value.startsWith('-') ? -BigInt(value.slice(1)) : BigInt(value);
  else if ((t?.kind === 'enum' || t?.kind === 'enum64') && t.values.some((e) => e.name === value)) n = t.values.find((e) => e.name === value)!.value;
  else if (value.length === 1 && size === 1) n = BigInt(value.charCodeAt(0));
  else return fail(`"${value}" is not a value of ${btf && variable.typeId !== undefined ? btf.typeToString(variable.typeId) : `${size}-byte data`}`);
  const bits = BigInt(size * 8);
  if (size > 8 || size === 0) fail(`a ${size}-byte variable takes bytes or a string, not a number`);
  if (n >= (1n << bits) || n < -(1n << (bits - 1n))) fail(`${n} does not fit ${size} bytes`);
  const u = BigInt.asUintN(Number(bits), n);
  for (let i = 0; i < size; i++) view.setUint8(i, Number((u >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Sets global `name` in the object's section image (before loadObject creates the maps). */
export function setGlobal(obj: BpfObjectSpec, name: string, value: GlobalValue): void {
  const found = findGlobal(obj, name);
  if (!found) {
    const known = obj.dataSections.flatMap((s) => s.variables.map((v) => v.name)).filter((n) => n !== '');
    throw new GlobalVariableError(`no global variable '${name}' in ${obj.path}${known.length ? ` (globals: ${known.join(', ')})` : ''}`);
  }
  found.section.bytes.set(encode(obj.btf, found.variable, value), found.variable.offsetBytes);
}
