/**
 * @fileoverview Decoder, layout and spelling tests on the committed fixture
 * (test/fixtures/btf/fixture.c compiled by clang 14 for BPF; fixture.btf is its .BTF section).
 * fixture.bpftool.{h,raw} are what bpftool v7.1 printed for fixture.btf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBtf, type Btf, type BtfType } from './index.js';
import { dumpC } from './cdump.js';
import { dumpRaw } from './rawdump.js';

const fixtureDir = fileURLToPath(new URL('../../../../test/fixtures/btf/', import.meta.url));
const fixtureBytes = readFileSync(`${fixtureDir}fixture.btf`);
const btf = loadBtf(fixtureBytes);

function typeNamed<K extends BtfType['kind']>(kind: K, name: string): BtfType & { kind: K } {
  const id = btf.findByName(kind as never, name);
  assert.notEqual(id, undefined, `${kind} ${name} not found`);
  const t = btf.typeById(id!);
  assert.equal(t.kind, kind);
  return t as BtfType & { kind: K };
}

function memberType(b: Btf, structName: string, member: string): number {
  const m = b.members(b.findByName('struct', structName)!).find((x) => x.name === member);
  assert.ok(m, `${structName}.${member}`);
  return m.type;
}

test('header and type table', () => {
  assert.equal(btf.firstId, 1);
  assert.equal(btf.typeCount, 80);
  assert.equal(btf.base, undefined);
  assert.equal(btf.pointerSizeBytes, 8);
  assert.deepEqual(btf.typeById(0), { kind: 'void', id: 0, name: 'void' });
  assert.throws(() => btf.typeById(80), RangeError);
  assert.throws(() => btf.typeById(-1), RangeError);
  assert.equal([...btf.types()].length, 79);
  assert.equal(btf.kindOf(2), 'struct');
  assert.equal(btf.nameOf(2), 'node');
});

test('rejects data that is not BTF', () => {
  assert.throws(() => loadBtf(new Uint8Array(10)), /too short/);
  assert.throws(() => loadBtf(new Uint8Array(64)), /magic/);
  const truncated = fixtureBytes.subarray(0, 200);
  assert.throws(() => loadBtf(truncated), /past the end/);
});

test('ints: size, encoding, bits', () => {
  const int = typeNamed('int', 'int');
  assert.deepEqual({ ...int, id: 0 }, { kind: 'int', id: 0, name: 'int', sizeBytes: 4, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 32 });
  const bool = typeNamed('int', '_Bool');
  assert.equal(bool.isBool, true);
  assert.equal(bool.signed, false);
  assert.equal(typeNamed('int', 'unsigned __int128').sizeBytes, 16);
  assert.equal(btf.alignOf(typeNamed('int', 'unsigned __int128').id), 8, 'alignment is capped at the pointer size, as libbpf does');
  assert.equal(typeNamed('float', 'double').sizeBytes, 8);
});

test('struct layout: sizes, alignment, packed detection', () => {
  const node = typeNamed('struct', 'node');
  const layout = (name: string) => { const id = typeNamed('struct', name).id; return { size: btf.sizeOf(id), align: btf.alignOf(id), packed: btf.isPacked(id) }; };
  assert.deepEqual(['node', 'packed_s', 'aligned_s', 'empty'].map(layout), [
    { size: 240, align: 8, packed: false }, { size: 7, align: 1, packed: true }, { size: 32, align: 8, packed: false }, { size: 0, align: 1, packed: false },
  ]);
  // Arrays multiply, pointers are pointer-sized, typedefs and modifiers are transparent.
  assert.equal(btf.sizeOf(memberType(btf, 'node', 'matrix')), 48);
  assert.equal(btf.sizeOf(memberType(btf, 'node', 'arr_ptr')), 8);
  assert.equal(btf.sizeOf(memberType(btf, 'node', 'cv')), 4);
  assert.equal(btf.sizeOf(memberType(btf, 'node', 'flex')), 0);
  assert.equal(btf.sizeOf(typeNamed('fwd', 'only_by_pointer').id), undefined);
  assert.equal(btf.sizeOf(0), undefined);
  const offsets = Object.fromEntries(node.members.map((m) => [m.name, m.bitOffset / 8]));
  assert.equal(offsets.in, 128);
  assert.equal(offsets.wide, 192);
  assert.equal(offsets.flex, 240);
});

test('bitfields', () => {
  const bits = typeNamed('struct', 'bits');
  assert.equal(bits.kindFlag, true);
  assert.deepEqual(bits.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize]), [
    ['a', 0, 3], ['b', 3, 5], ['c', 8, 7], ['d', 16, 0], ['e', 24, 40], ['flag', 64, 1],
  ]);
  assert.equal(btf.sizeOf(bits.id), 16);
});

test('anonymous structs and unions', () => {
  const anon = btf.typeById(memberType(btf, 'node', 'anon'));
  assert.equal(anon.kind, 'struct');
  assert.equal(anon.name, '');
  const inner = btf.members(anon.id)[1]!;
  assert.equal(inner.name, '');
  assert.equal(btf.kindOf(inner.type), 'union');
  assert.equal(btf.sizeOf(inner.type), 8);
  assert.throws(() => btf.members(typeNamed('int', 'int').id), TypeError);
});

test('enums', () => {
  const color = typeNamed('enum', 'color');
  assert.deepEqual(color.values, [{ name: 'RED', value: 0n }, { name: 'GREEN', value: 5n }, { name: 'BLUE', value: 6n }]);
  assert.equal(color.signed, false);
  assert.equal(btf.alignOf(color.id), 4);
  // clang 14 emits no signedness flag: -3 is stored as its 32-bit pattern.
  assert.equal(typeNamed('enum', 'signed_enum').values[0]!.value, 4294967293n);
  assert.equal(btf.sizeOf(typeNamed('enum', 'big_enum').id), 8);
});

test('functions, prototypes, variables, sections, tags', () => {
  const funcId = btf.findFunc('sum_node')!;
  const func = btf.typeById(funcId);
  assert.equal(func.kind, 'func');
  assert.equal(func.kind === 'func' && func.linkage, 'global');
  const proto = btf.typeById(func.kind === 'func' ? func.type : 0);
  assert.equal(proto.kind, 'func_proto');
  assert.ok(proto.kind === 'func_proto');
  assert.deepEqual(proto.params.map((p) => p.name), ['n', 'x']);
  assert.equal(proto.variadic, false);
  assert.equal(btf.findFunc('no_such_function'), undefined);

  const handler = btf.typeById(btf.resolve(typeNamed('typedef', 'handler_t').id));
  assert.equal(handler.kind, 'ptr');
  const handlerProto = btf.typeById(handler.kind === 'ptr' ? handler.type : 0);
  assert.ok(handlerProto.kind === 'func_proto');
  assert.equal(handlerProto.variadic, true);
  assert.equal(handlerProto.params.length, 2);

  const tags = [...btf.types()].filter((t) => t.kind === 'decl_tag');
  assert.deepEqual(tags.map((t) => t.kind === 'decl_tag' && [t.name, btf.nameOf(t.type), t.componentIndex]),
    [['arg', 'sum_node', 1], ['func', 'sum_node', -1], ['counter', 'global_counter', -1]]);
  const typeTag = [...btf.types()].find((t) => t.kind === 'type_tag');
  assert.equal(typeTag?.name, 'user');

  const node = typeNamed('var', 'global_node');
  assert.equal(node.linkage, 'static');
  assert.equal(btf.typeToString(node.type), 'volatile struct node');
  const bss = typeNamed('datasec', '.bss');
  assert.equal(bss.vars.length, 9);
  assert.deepEqual(bss.vars[0], { type: node.id, offsetBytes: 0, sizeBytes: 240 });
});

test('resolve skips typedefs, modifiers and type tags', () => {
  const cv = memberType(btf, 'node', 'cv');
  assert.equal(btf.kindOf(cv), 'const');
  assert.equal(btf.resolve(cv), typeNamed('int', 'int').id);
  assert.equal(btf.resolve(typeNamed('typedef', 'u32').id), typeNamed('int', 'unsigned int').id);
  const tagged = btf.typeById(memberType(btf, 'node', 'tagged'));
  assert.ok(tagged.kind === 'ptr');
  assert.equal(btf.resolve(tagged.type), typeNamed('int', 'int').id);
  assert.equal(btf.resolve(0), 0);
});

test('typeToString spells C types', () => {
  // struct node's members, by name, as C spells their types.
  const expected = {
    next: 'struct node *', opaque: 'struct only_by_pointer *', cv: 'const volatile int', rp: 'char *restrict',
    matrix: 'int [3][4]', ptrs: 'int *[2]', arr_ptr: 'int (*)[5]', handler: 'handler_t',
    callbacks: 'void (*[2])(struct node *, u64)', anon: 'struct (anon)', col: 'enum color', tagged: 'int *',
  };
  const spelled = Object.fromEntries(Object.keys(expected).map((member) => [member, btf.typeToString(memberType(btf, 'node', member))]));
  assert.deepEqual(spelled, expected);
  assert.equal(btf.typeToString(memberType(btf, 'inner', 'name')), 'char [16]');
  assert.equal(btf.typeToString(btf.resolve(typeNamed('typedef', 'handler_t').id)), 'int (*)(void *, const char *, ...)');
  assert.equal(btf.typeToString(typeNamed('typedef', 'fn_t').type), 'void (int)');
  assert.equal(btf.typeToString(btf.findFunc('sum_node')!), 'int sum_node(struct node *, int)');
  assert.equal(btf.typeToString(0), 'void');
});

test('name indexes find every type of a kind', () => {
  assert.deepEqual(btf.findAllByName('struct', 'node'), [2]);
  assert.equal(btf.findByName('struct', 'color'), undefined, 'kinds have separate indexes');
  assert.equal(btf.findByName('union', 'node'), undefined);
  assert.equal(btf.findByName('typedef', 'u64'), typeNamed('typedef', 'u64').id);
});

test('raw dump matches bpftool byte for byte', () => {
  assert.equal(dumpRaw(btf), readFileSync(`${fixtureDir}fixture.bpftool.raw`, 'utf8'));
});

test('C dump matches bpftool byte for byte', () => {
  // bpftool v7.1 (libbpf 1.1) writes no mode() attribute on sized enums.
  assert.equal(dumpC(btf, { enumModeAttributes: false }), readFileSync(`${fixtureDir}fixture.bpftool.h`, 'utf8'));
  // Newer libbpf marks an 8-byte enum whose values fit in 32 bits with mode(word).
  const withMode = dumpC(btf);
  assert.match(withMode, /enum big_enum \{\n\tSMALL = 1,\n\tHUGE = 591751049,\n\} __attribute__\(\(mode\(word\)\)\);/);
});
