/**
 * @fileoverview Encoder round trips, and what clang 14 cannot put in the fixture: enum64,
 * signed enums, split BTF, `(void)` prototypes, name collisions and forward-declaration cycles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadBtf } from './index.js';
import { encodeBtf, type BtfTypeSpec } from './encode.js';
import { dumpC } from './cdump.js';
import { dumpRaw } from './rawdump.js';
import type { BtfType } from './types.js';

const fixtureDir = fileURLToPath(new URL('../../../../test/fixtures/btf/', import.meta.url));
const fixture = loadBtf(readFileSync(`${fixtureDir}fixture.btf`));

function withoutId(t: BtfType): BtfTypeSpec {
  const { id: _id, ...rest } = t;
  return rest as BtfTypeSpec;
}

const int: BtfTypeSpec = { kind: 'int', name: 'int', sizeBytes: 4, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 32 };
const long: BtfTypeSpec = { kind: 'int', name: 'long int', sizeBytes: 8, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 64 };

test('decode(encode(fixture)) gives back every type', () => {
  const types = [...fixture.types()];
  const again = loadBtf(encodeBtf(types.map(withoutId)));
  assert.equal(again.typeCount, fixture.typeCount);
  for (const t of types) assert.deepEqual(again.typeById(t.id), t);
  assert.equal(dumpC(again), dumpC(fixture));
});

test('enum64: unsigned and signed values, C and raw spelling', () => {
  const btf = loadBtf(encodeBtf([
    { kind: 'enum64', name: 'flags64', sizeBytes: 8, signed: false, values: [
      { name: 'F_LOW', value: 1n }, { name: 'F_HIGH', value: 1n << 40n }, { name: 'F_ALL', value: (1n << 64n) - 1n }] },
    { kind: 'enum64', name: 'deltas', sizeBytes: 8, signed: true, values: [
      { name: 'D_NEG', value: -5n }, { name: 'D_MIN', value: -(1n << 63n) }] },
    { kind: 'enum64', name: 'small64', sizeBytes: 8, signed: false, values: [{ name: 'S_ONE', value: 1n }] },
    { kind: 'enum', name: 'tiny', sizeBytes: 1, signed: true, values: [{ name: 'T_NEG', value: -1n }] },
  ]));
  const flags = btf.typeById(1);
  assert.ok(flags.kind === 'enum64');
  assert.deepEqual(flags.values.map((v) => v.value), [1n, 1n << 40n, 18446744073709551615n]);
  assert.equal(btf.sizeOf(1), 8);
  assert.equal(btf.alignOf(1), 8);
  const deltas = btf.typeById(2);
  assert.ok(deltas.kind === 'enum64');
  assert.deepEqual(deltas.values.map((v) => v.value), [-5n, -9223372036854775808n]);
  assert.equal(btf.typeToString(2), 'enum deltas');
  const c = dumpC(btf, { bare: true });
  assert.equal(c, [
    'enum flags64 {', '\tF_LOW = 1ULL,', '\tF_HIGH = 1099511627776ULL,', '\tF_ALL = 18446744073709551615ULL,', '};', '',
    // All values of deltas are negative, so the upper bits are set and no mode() is needed.
    'enum deltas {', '\tD_NEG = -5LL,', '\tD_MIN = -9223372036854775808LL,', '};', '',
    // An 8-byte enum with small values would shrink to 4 bytes in C without mode(word).
    'enum small64 {', '\tS_ONE = 1ULL,', '} __attribute__((mode(word)));', '',
    'enum tiny {', '\tT_NEG = -1,', '} __attribute__((mode(byte)));', '', ''].join('\n'));
  assert.equal(dumpRaw(btf, [1, 2]), [
    "[1] ENUM64 'flags64' encoding=UNSIGNED size=8 vlen=3", "\t'F_LOW' val=1ULL", "\t'F_HIGH' val=1099511627776ULL",
    "\t'F_ALL' val=18446744073709551615ULL", "[2] ENUM64 'deltas' encoding=SIGNED size=8 vlen=2", "\t'D_NEG' val=-5LL",
    "\t'D_MIN' val=-9223372036854775808LL", ''].join('\n'));
});

test('split BTF continues the base ids and strings', () => {
  const base = loadBtf(encodeBtf([int, long, { kind: 'struct', name: 'shared', sizeBytes: 8, kindFlag: false, members: [{ name: 'x', type: 2, bitOffset: 0, bitfieldSize: 0 }] }]));
  assert.equal(base.typeCount, 4);
  const split = loadBtf(encodeBtf([
    { kind: 'ptr', name: '', type: 3 },
    { kind: 'struct', name: 'module_thing', sizeBytes: 16, kindFlag: false, members: [
      { name: 'owner', type: 4, bitOffset: 0, bitfieldSize: 0 }, { name: 'count', type: 1, bitOffset: 64, bitfieldSize: 0 }] },
    { kind: 'struct', name: 'shared', sizeBytes: 4, kindFlag: false, members: [{ name: 'y', type: 1, bitOffset: 0, bitfieldSize: 0 }] },
  ], { base }), base);
  assert.equal(split.firstId, 4);
  assert.equal(split.typeCount, 7);
  assert.equal(split.base, base);
  assert.equal(split.typeById(2).name, 'long int', 'base ids are reachable through the split set');
  assert.equal(split.findByName('struct', 'module_thing'), 5);
  assert.equal(split.findByName('struct', 'shared'), 3, 'the base comes first');
  assert.deepEqual(split.findAllByName('struct', 'shared'), [3, 6]);
  assert.equal(split.typeToString(split.members(5)[0]!.type), 'struct shared *');
  assert.equal(split.members(5)[1]!.name, 'count');
  assert.equal(split.sizeOf(5), 16);
  assert.equal(split.alignOf(5), 8);
  assert.deepEqual([...split.types()].map((t) => t.id), [4, 5, 6]);
  assert.throws(() => split.typeById(7), RangeError);
  // Two different `struct shared` in one header: the second is renamed.
  const c = dumpC(split, { bare: true });
  assert.match(c, /^struct shared \{\n\tlong int x;\n\};$/m);
  assert.match(c, /^struct shared___2 \{\n\tint y;\n\};$/m);
  assert.match(c, /^struct module_thing \{\n\tstruct shared \*owner;\n\tint count;\n\};$/m);
});

test('cdump: forward declarations break pointer cycles; embedded types come first', () => {
  // struct a { struct b *b; }; struct b { struct a a; int n; }
  const btf = loadBtf(encodeBtf([
    int,
    { kind: 'struct', name: 'a', sizeBytes: 8, kindFlag: false, members: [{ name: 'b', type: 3, bitOffset: 0, bitfieldSize: 0 }] },
    { kind: 'ptr', name: '', type: 4 },
    { kind: 'struct', name: 'b', sizeBytes: 16, kindFlag: false, members: [
      { name: 'a', type: 2, bitOffset: 0, bitfieldSize: 0 }, { name: 'n', type: 1, bitOffset: 64, bitfieldSize: 0 }] },
    { kind: 'func_proto', name: '', returnType: 1, params: [], variadic: false, explicitVoid: true },
    { kind: 'typedef', name: 'getter_t', type: 7 },
    { kind: 'ptr', name: '', type: 5 },
    { kind: 'typedef', name: 'n', type: 1 }, // an identifier clashing with nothing
    { kind: 'enum', name: '', sizeBytes: 4, signed: false, values: [{ name: 'getter_t', value: 3n }] },
  ]));
  const c = dumpC(btf, { bare: true });
  assert.equal(c, [
    'struct b;', '',
    'struct a {', '\tstruct b *b;', '};', '',
    'struct b {', '\tstruct a a;', '\tint n;', '};', '',
    'typedef int (*getter_t)(void);', '',
    'typedef int n;', '',
    // Enumerators share the typedef namespace, so the clash is renamed.
    'enum {', '\tgetter_t___2 = 3,', '};', '', ''].join('\n'));
  assert.equal(btf.typeToString(6), 'getter_t');
  assert.equal(btf.typeToString(7), 'int (*)(void)');
});

test('round trip holds for arbitrary structs and enum64 values (property)', () => {
  const member = fc.record({
    name: fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
    type: fc.integer({ min: 0, max: 2 }),
    bitOffset: fc.integer({ min: 0, max: 0xffffff }),
    bitfieldSize: fc.integer({ min: 0, max: 255 }),
  });
  fc.assert(fc.property(
    fc.array(member, { maxLength: 6 }),
    fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 4 }),
    fc.boolean(),
    (members, values, signed) => {
      // fast-check records have no prototype; the decoder makes plain objects.
      const struct: BtfTypeSpec = { kind: 'struct', name: 's', sizeBytes: 64, kindFlag: true, members: members.map((m) => ({ ...m })) };
      const enum64: BtfTypeSpec = {
        kind: 'enum64', name: 'e', sizeBytes: 8, signed,
        values: values.map((v, i) => ({ name: `V${i}`, value: signed ? BigInt.asIntN(64, v) : v })),
      };
      const btf = loadBtf(encodeBtf([int, struct, enum64]));
      assert.deepEqual(btf.typeById(2), { id: 2, ...struct });
      assert.deepEqual(btf.typeById(3), { id: 3, ...enum64 });
    }));
});
