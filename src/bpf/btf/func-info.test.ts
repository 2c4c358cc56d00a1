/**
 * @fileoverview The BTF and func_info that describe a program's functions: static functions get
 * the unchecked `long f(long, long)`, global ones their prototype with the memory argument as a
 * pointer to a struct of the exact size (what the verifier sizes the argument by).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBtf } from './index.js';
import { programFunctionsBtf, prototypeText, btfFunctionName, type GlobalPrototype } from './func-info.js';
import type { BtfType } from './types.js';

const area = (bytes: number): GlobalPrototype['mem'] => ({ struct: 'dt_f_area', name: 'area', bytes });
const strstr: GlobalPrototype = { mem: area(2112), scalars: ['s', 't'] };
const rstr: GlobalPrototype = { mem: area(2112), scalars: ['s', 't', 'limit'] };

function funcInfoRecords(bytes: Uint8Array): [number, number][] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 8 }, (_, n) => [v.getUint32(8 * n, true), v.getUint32(8 * n + 4, true)]);
}

/** `long name(type param, …)` spelled from the BTF, following pointers to their struct. */
function cPrototype(btf: ReturnType<typeof loadBtf>, func: BtfType): string {
  assert.equal(func.kind, 'func');
  if (func.kind !== 'func') return '';
  const proto = btf.typeById(func.type);
  assert.equal(proto.kind, 'func_proto');
  if (proto.kind !== 'func_proto') return '';
  const spell = (id: number): string => {
    const t = btf.typeById(id);
    if (t.kind === 'ptr') return `${spell(t.type)} *`;
    if (t.kind === 'struct') {
      const member = t.members[0]!, array = btf.typeById(member.type);
      assert.ok(array.kind === 'array');
      return `struct ${t.name} /* ${t.sizeBytes}: ${spell(array.type)} ${member.name}[${array.nelems}] */`;
    }
    return t.kind === 'int' ? t.name : t.kind;
  };
  return `${func.linkage} ${spell(proto.returnType)} ${func.name}(${proto.params.map((p) => { const t = spell(p.type); return `${t}${t.endsWith('*') ? '' : ' '}${p.name}`; }).join(', ')})`;
}

test('func_info names each function at its first instruction, static or global with its prototype', () => {
  const { btf: bytes, funcInfo } = programFunctionsBtf([
    { start: 0, name: 'dt_fn0' },
    { start: 40, name: 'dt_index2' },
    { start: 75, name: 'dt_f_strstr', global: strstr },
    { start: 300, name: 'dt_f_strrstr', global: rstr },
  ]);
  const btf = loadBtf(bytes);
  const records = funcInfoRecords(funcInfo);
  assert.deepEqual(records.map(([start]) => start), [0, 40, 75, 300]);
  assert.deepEqual(records.map(([, id]) => cPrototype(btf, btf.typeById(id))), [
    'static long dt_fn0(long a, long b)',
    'static long dt_index2(long a, long b)',
    'global long dt_f_strstr(struct dt_f_area /* 2112: unsigned char bytes[2112] */ *area, long s, long t)',
    'global long dt_f_strrstr(struct dt_f_area /* 2112: unsigned char bytes[2112] */ *area, long s, long t, long limit)',
  ]);
  // One struct and pointer for the area both prototypes share.
  const structs = [...btf.types()].filter((t) => t.kind === 'struct');
  assert.equal(structs.length, 1);
});

test('a program without global functions gets static ones only, as before', () => {
  const { btf: bytes, funcInfo } = programFunctionsBtf([{ start: 0, name: 'dt_fn0' }, { start: 9, name: 'dt_chill_loop' }]);
  const btf = loadBtf(bytes);
  const kinds = [...btf.types()].map((t) => t.kind);
  assert.deepEqual(kinds, ['int', 'func_proto', 'func', 'func']);
  assert.deepEqual(funcInfoRecords(funcInfo).map(([start, id]) => [start, btf.typeById(id).name]), [[0, 'dt_fn0'], [9, 'dt_chill_loop']]);
});

test('prototypes read as C; subprogram names become identifiers', () => {
  assert.equal(prototypeText('dt_f_strstr', strstr), 'long dt_f_strstr(struct dt_f_area *area, long s, long t)');
  assert.equal(btfFunctionName('dt_f_strstr'), 'dt_f_strstr');
  assert.equal(btfFunctionName('syscall::read:entry'), 'syscall__read_entry');
  assert.equal(btfFunctionName('1x'), '_1x');
});
