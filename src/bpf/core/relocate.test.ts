/**
 * @fileoverview CO-RE relocation on hand-built BTF (local = what the object was compiled against,
 * target = a "kernel" with another layout): offsets follow names, flavors are dropped, missing
 * fields poison or read as absent, bit-field shifts, ambiguity, anonymous members, load size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBtf, type Btf } from '../btf/index.js';
import { encodeBtf, type BtfTypeSpec } from '../btf/encode.js';
import { applyCoreRelocation, computeCoreRelocation, CORE_POISON_IMM, CoreRelocationError } from './relocate.js';
import { candidatesFromBtfs } from './candidates.js';
import { CoreReloKind, essentialName } from './spec.js';

const int: BtfTypeSpec = { kind: 'int', name: 'int', sizeBytes: 4, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 32 };
const long: BtfTypeSpec = { kind: 'int', name: 'long', sizeBytes: 8, signed: true, isChar: false, isBool: false, bitOffset: 0, bits: 64 };
const uint: BtfTypeSpec = { kind: 'int', name: 'unsigned int', sizeBytes: 4, signed: false, isChar: false, isBool: false, bitOffset: 0, bits: 32 };
const m = (name: string, type: number, bitOffset: number, bitfieldSize = 0) => ({ name, type, bitOffset, bitfieldSize });

/** Local: [1] int, [2] long, [3] unsigned int, [4] struct s { int a; int b; }, [5] struct s___v1 { int b; int gone; } */
const local = loadBtf(encodeBtf([int, long, uint,
  { kind: 'struct', name: 's', sizeBytes: 8, kindFlag: false, members: [m('a', 1, 0), m('b', 1, 32)] },
  { kind: 'struct', name: 's___v1', sizeBytes: 8, kindFlag: false, members: [m('b', 1, 0), m('gone', 1, 32)] },
  { kind: 'struct', name: 'bits', sizeBytes: 4, kindFlag: true, members: [m('x', 3, 0, 3), m('y', 3, 3, 5)] },
]));

/** Target: struct s { long pad; int b; long a; } with `a` inside an anonymous union; struct bits moved. */
const target = loadBtf(encodeBtf([int, long, uint,
  { kind: 'union', name: '', sizeBytes: 8, kindFlag: false, members: [m('a', 2, 0)] },
  { kind: 'struct', name: 's', sizeBytes: 24, kindFlag: false, members: [m('pad', 2, 0), m('b', 1, 64), m('', 4, 128)] },
  { kind: 'struct', name: 'bits', sizeBytes: 8, kindFlag: true, members: [m('pad', 3, 0, 20), m('y', 3, 20, 5), m('x', 3, 40, 3)] },
]));

const targets = candidatesFromBtfs(target);

function relo(btf: Btf, typeName: string, access: string, kind: number) {
  const typeId = btf.findByName('struct', typeName)!;
  return computeCoreRelocation(btf, { insnIndex: 0, typeId, access, kind }, targets).result;
}

test('essential names drop the last ___flavor', () => {
  assert.equal(essentialName('task_struct___v46'), 'task_struct');
  assert.equal(essentialName('a___b___c'), 'a___b');
  assert.equal(essentialName('plain'), 'plain');
  assert.equal(essentialName('x____y'), 'x____y');
});

test('field offsets follow the names into the target layout, through anonymous members', () => {
  assert.deepEqual([relo(local, 's', '0:1', CoreReloKind.FIELD_BYTE_OFFSET).origValue, relo(local, 's', '0:1', CoreReloKind.FIELD_BYTE_OFFSET).newValue], [4n, 8n]);
  assert.equal(relo(local, 's', '0:0', CoreReloKind.FIELD_BYTE_OFFSET).newValue, 16n);
  assert.equal(relo(local, 's', '0:0', CoreReloKind.FIELD_BYTE_SIZE).newValue, 8n);
  assert.equal(relo(local, 's', '0:0', CoreReloKind.FIELD_SIGNED).newValue, 1n);
  assert.equal(relo(local, 's', '1:1', CoreReloKind.FIELD_BYTE_OFFSET).newValue, 24n + 8n, 'index 1 of an array of struct s');
});

test('a ___flavor finds the plain-named target; a field missing there poisons or reads as absent', () => {
  assert.equal(relo(local, 's___v1', '0:0', CoreReloKind.FIELD_BYTE_OFFSET).newValue, 8n);
  const gone = relo(local, 's___v1', '0:1', CoreReloKind.FIELD_BYTE_OFFSET);
  assert.equal(gone.poisoned, true);
  assert.equal(gone.fieldName, 'gone');
  assert.equal(gone.rootName, 'struct s');
  assert.equal(relo(local, 's___v1', '0:1', CoreReloKind.FIELD_EXISTS).newValue, 0n);
  assert.equal(relo(local, 's___v1', '0:0', CoreReloKind.FIELD_EXISTS).newValue, 1n);
});

test('type relocations: exists, size, and absent types', () => {
  assert.equal(relo(local, 's', '0', CoreReloKind.TYPE_SIZE).newValue, 24n);
  assert.equal(relo(local, 's', '0', CoreReloKind.TYPE_EXISTS).newValue, 1n);
  const onlyLocal = loadBtf(encodeBtf([int, { kind: 'struct', name: 'nowhere', sizeBytes: 4, kindFlag: false, members: [m('q', 1, 0)] }]));
  assert.equal(relo(onlyLocal, 'nowhere', '0', CoreReloKind.TYPE_EXISTS).newValue, 0n);
});

test('bit-fields: byte offset, size and the shifts that extract them', () => {
  // target y: bits 20..24 of a 4-byte unit at offset 0 → lshift 64-(20+5-0)=39, rshift 59
  assert.equal(relo(local, 'bits', '0:1', CoreReloKind.FIELD_BYTE_OFFSET).newValue, 0n);
  assert.equal(relo(local, 'bits', '0:1', CoreReloKind.FIELD_LSHIFT_U64).newValue, 39n);
  assert.equal(relo(local, 'bits', '0:1', CoreReloKind.FIELD_RSHIFT_U64).newValue, 59n);
  // target x: bits 40..42 → unit of 4 at byte 4: lshift 64-(40+3-32)=53
  assert.equal(relo(local, 'bits', '0:0', CoreReloKind.FIELD_BYTE_OFFSET).newValue, 4n);
  assert.equal(relo(local, 'bits', '0:0', CoreReloKind.FIELD_LSHIFT_U64).newValue, 53n);
});

test('two candidates that disagree are an ambiguity error', () => {
  const twoTargets = candidatesFromBtfs(loadBtf(encodeBtf([int,
    { kind: 'struct', name: 's', sizeBytes: 8, kindFlag: false, members: [m('a', 1, 0), m('b', 1, 32)] },
    { kind: 'struct', name: 's___other', sizeBytes: 8, kindFlag: false, members: [m('b', 1, 0), m('a', 1, 32)] },
  ])));
  const typeId = local.findByName('struct', 's')!;
  assert.throws(() => computeCoreRelocation(local, { insnIndex: 0, typeId, access: '0:1', kind: CoreReloKind.FIELD_BYTE_OFFSET }, twoTargets), CoreRelocationError);
});

function insn(code: number, regs: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, code); v.setUint8(1, regs); v.setInt16(2, off, true); v.setInt32(4, imm, true);
  return b;
}

test('patching: ALU immediates, load offsets and sizes, poisoning', () => {
  const typeId = local.findByName('struct', 's')!;
  const alu = insn(0x07, 0x01, 0, 4); // r1 += 4
  applyCoreRelocation(alu, local, { insnIndex: 0, typeId, access: '0:1', kind: CoreReloKind.FIELD_BYTE_OFFSET }, targets);
  assert.equal(new DataView(alu.buffer).getInt32(4, true), 8);
  const ldx = insn(0x61, 0x21, 0, 0); // r1 = *(u32 *)(r2 + 0): field a, an int locally, a long in the target
  applyCoreRelocation(ldx, local, { insnIndex: 0, typeId, access: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET }, targets);
  assert.equal(new DataView(ldx.buffer).getInt16(2, true), 16);
  assert.equal(ldx[0], 0x79, 'the load widened to 8 bytes (BPF_DW)');
  const flavored = local.findByName('struct', 's___v1')!;
  const poisoned = insn(0x07, 0x01, 0, 4);
  applyCoreRelocation(poisoned, local, { insnIndex: 0, typeId: flavored, access: '0:1', kind: CoreReloKind.FIELD_BYTE_OFFSET }, targets);
  assert.equal(poisoned[0], 0x85);
  assert.equal(new DataView(poisoned.buffer).getInt32(4, true), CORE_POISON_IMM);
  const wrong = insn(0x07, 0x01, 0, 99);
  assert.throws(() => applyCoreRelocation(wrong, local, { insnIndex: 0, typeId, access: '0:1', kind: CoreReloKind.FIELD_BYTE_OFFSET }, targets),
    /unexpected immediate 99, expected 4/);
});

test('an anonymous enum in the target is compatible with a named local one', () => {
  const e = (name: string): BtfTypeSpec => ({ kind: 'enum', name, sizeBytes: 4, signed: false, values: [{ name: `${name}X`, value: 1n }] });
  const l = loadBtf(encodeBtf([e('color'), { kind: 'struct', name: 'p', sizeBytes: 4, kindFlag: false, members: [m('c', 1, 0)] }]));
  const t = loadBtf(encodeBtf([int, e(''), { kind: 'struct', name: 'p', sizeBytes: 8, kindFlag: false, members: [m('pad', 1, 0), m('c', 2, 32)] }]));
  const r = computeCoreRelocation(l, { insnIndex: 0, typeId: 2, access: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET }, candidatesFromBtfs(t)).result;
  assert.equal(r.newValue, 4n);
});

test('candidates narrow per object: flavors that each satisfy a different access do not both pass', () => {
  const l = loadBtf(encodeBtf([int, { kind: 'struct', name: 'q', sizeBytes: 8, kindFlag: false, members: [m('a', 1, 0), m('b', 1, 32)] }]));
  const t = candidatesFromBtfs(loadBtf(encodeBtf([int,
    { kind: 'struct', name: 'q___x', sizeBytes: 4, kindFlag: false, members: [m('a', 1, 0)] },
    { kind: 'struct', name: 'q___y', sizeBytes: 4, kindFlag: false, members: [m('b', 1, 0)] },
  ])));
  const a = { insnIndex: 0, typeId: 2, access: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET };
  const b = { ...a, access: '0:1' };
  assert.equal(computeCoreRelocation(l, b, t).result.poisoned, false, 'alone, b finds q___y');
  const cache = new Map();
  assert.equal(computeCoreRelocation(l, a, t, cache).result.poisoned, false);
  assert.equal(computeCoreRelocation(l, b, t, cache).result.poisoned, true, 'after a chose q___x, b has no candidate');
});

test('type_matches: behind a pointer a struct matches by kind; in place its members must match by name', () => {
  const build = (member: string) => loadBtf(encodeBtf([int,
    { kind: 'struct', name: '', sizeBytes: 4, kindFlag: false, members: [m(member, 1, 0)] },
    { kind: 'ptr', name: '', type: 2 },
    { kind: 'typedef', name: 'sp', type: 3 },
    { kind: 'typedef', name: 'sv', type: 2 },
  ]));
  const l = build('a');
  const t = candidatesFromBtfs(build('other'));
  const matches = (name: string) => computeCoreRelocation(l, { insnIndex: 0, typeId: l.findByName('typedef', name)!, access: '0', kind: CoreReloKind.TYPE_MATCHES }, t).result.newValue;
  assert.equal(matches('sp'), 1n);
  assert.equal(matches('sv'), 0n);
  assert.equal(computeCoreRelocation(l, { insnIndex: 0, typeId: l.findByName('typedef', 'sv')!, access: '0', kind: CoreReloKind.TYPE_EXISTS }, t).result.newValue, 1n);
});
