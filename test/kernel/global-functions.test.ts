/**
 * @fileoverview The string kfuncs' plain-BPF stand-ins loaded as BTF global functions
 * (runtime/func-info.ts, codegen/subr/fallback.ts): a program calling index() at many sites,
 * compiled as for Linux 5.15, verifies each stand-in once instead of at every call site, gives
 * the same results as with static subprograms, and is loaded static where the kernel refuses
 * the global form. Needs root and BPF_PROG_TEST_RUN for raw tracepoints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R1, R2, R3, R5, R9, imm, type Insn } from '../../src/bpf/asm/insn.js';
import { toIsaV3 } from '../../src/bpf/asm/isa-v3.js';
import { encode, link } from '../../src/bpf/asm/encode.js';
import { loadProgram, programInfo, testRun, type BpfProgram } from '../../src/bpf/program.js';
import { createMap, type BpfMap } from '../../src/bpf/map.js';
import { hasFeature, mainlineCaps } from '../../src/bpf/features.js';
import { memLayout } from '../../src/codegen/layout.js';
import { STRING_SUBRS, stringSubprograms } from '../../src/codegen/subr/strings.js';
import { fallbackMaps, fallbackPrototypes } from '../../src/codegen/subr/fallback.js';
import { loadWithFunctions } from '../../src/runtime/func-info.js';
import type { GlobalPrototype } from '../../src/bpf/btf/func-info.js';

const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs'
  : !hasFeature('test_run_raw_tp') ? 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints'
  : !hasFeature('global_func_args') ? 'kernel refuses BTF global functions with pointer arguments (Linux 5.12)' : false;

const kernel = mainlineCaps('5.15');
// strsize 184, as tst.index2.d sets it: static copies there once blew the 1M-instruction limit.
const mem = memLayout(184, undefined, true);
const CALLS = 12;
const subs = stringSubprograms(mem, kernel);

/**
 * index(s, t) called at CALLS sites, s in temporary slot 1, t in slot 2, each result stored in the
 * record area; loaded through loadWithFunctions with `globals`.
 */
class ManyCalls {
  readonly map: BpfMap;
  readonly extra: BpfMap[];
  readonly prog: BpfProgram;
  readonly usedGlobal: boolean;
  constructor(globals: (linked: Insn[]) => ReadonlyMap<string, GlobalPrototype> | undefined) {
    this.map = createMap({ name: 'mem', type: 'array', keySize: 4, valueSize: mem.size(8 * CALLS), maxEntries: 1 });
    const a = new Asm('many');
    a.ldMapValue(R9, 'mem');
    for (let k = 0; k < CALLS; k++) {
      a.mov(R1, R9).alu64('add', R1, imm(mem.tmp));
      a.mov(R2, R9).alu64('add', R2, imm(mem.tmp + mem.strSlot));
      a.mov(R3, R9).alu64('add', R3, imm(mem.tmp + 2 * mem.strSlot));
      a.mov(R5, R9).callSub(STRING_SUBRS['index/2']!.name);
      a.mov(R1, R9).alu64('add', R1, imm(mem.rec + 8 * k)).stx(8, R1, 0, R0);
    }
    a.mov(R0, imm(0)).exit();
    const linked = link(toIsaV3(a.insns), { get: (name) => { const body = subs.get(name); return body && toIsaV3(body); } });
    const callees = new Set(linked.flatMap((i) => (i.callee === undefined ? [] : [i.callee])));
    const extra = fallbackMaps(callees, mem.strsize);
    this.extra = extra.map((m) => createMap({ name: m.name, type: 'percpu_array', keySize: 4, valueSize: m.valueSize, maxEntries: 1 }));
    const mapFd = (name: string): number => (name === 'mem' ? this.map.fd : this.extra[extra.findIndex((m) => m.name === name)]!.fd);
    const insns = encode(linked, { mapFd });
    let usedGlobal = false;
    this.prog = loadWithFunctions(linked, globals(linked), (btf) => {
      const prog = loadProgram({ name: 't_many', type: 'raw_tracepoint', insns, ...(btf ? { btfFd: btf.btfFd, funcInfo: btf.funcInfo } : {}) });
      usedGlobal = btf !== undefined;
      return prog;
    }, (message) => { throw new Error(message); });
    this.usedGlobal = usedGlobal;
  }
  /** Every site's index(s, t). */
  run(s: string, t: string): number[] {
    const key = new Uint8Array(4);
    const value = this.map.lookup(key)!;
    for (const [k, text] of [[1, s], [2, t]] as const) {
      const at = mem.tmp + k * mem.strSlot;
      value.set(Buffer.from(text, 'latin1'), at);
      value[at + text.length] = 0;
    }
    this.map.update(key, value);
    testRun(this.prog);
    const out = this.map.lookup(key)!;
    const v = new DataView(out.buffer, out.byteOffset);
    return Array.from({ length: CALLS }, (_, k) => Number(v.getBigInt64(mem.rec + 8 * k, true)));
  }
  close(): void { this.prog.close(); this.map.close(); for (const m of this.extra) m.close(); }
}

function withProgram<T>(globals: (linked: Insn[]) => ReadonlyMap<string, GlobalPrototype> | undefined, fn: (p: ManyCalls) => T): T {
  const p = new ManyCalls(globals);
  try { return fn(p); } finally { p.close(); }
}

const asGlobal = (linked: Insn[]) => fallbackPrototypes(new Set(linked.flatMap((i) => (i.callee === undefined ? [] : [i.callee]))), mem);

test('stand-ins loaded global are verified once, not at each of 12 call sites, with the same results', { skip }, () => {
  const cases: [string, string, number][] = [['hello world', 'wor', 6], ['hello world', 'xyz', -1], ['abcabd', 'abd', 3], ['', 'a', -1], ['aaa', '', 0]];
  const statics = withProgram(() => undefined, (p) => {
    assert.equal(p.usedGlobal, false);
    for (const [s, t, want] of cases) assert.deepEqual(p.run(s, t), Array(CALLS).fill(want), `static index("${s}", "${t}")`);
    return programInfo(p.prog.fd).verifiedInsns;
  });
  const globals = withProgram(asGlobal, (p) => {
    assert.equal(p.usedGlobal, true);
    for (const [s, t, want] of cases) assert.deepEqual(p.run(s, t), Array(CALLS).fill(want), `global index("${s}", "${t}")`);
    return programInfo(p.prog.fd).verifiedInsns;
  });
  // Static: the stand-ins' loops once per site; global: once in all, plus 12 small call sites.
  console.log(`verified instructions, index() at ${CALLS} sites (5.15 form, strsize ${mem.strsize}): static stand-ins ${statics}, global ${globals}`);
  assert.ok(globals * 4 < statics, `verified instructions: global ${globals}, static ${statics}`);
});

test('a global form the kernel refuses is loaded as static subprograms', { skip }, () => {
  // An area larger than the map value: the verifier refuses the call ("Caller passes invalid args").
  const tooLarge = (linked: Insn[]) => new Map([...asGlobal(linked)].map(([name, p]) => [name, { ...p, mem: { ...p.mem, bytes: mem.size(8 * CALLS) * 2 } }]));
  withProgram(tooLarge, (p) => {
    assert.equal(p.usedGlobal, false);
    assert.deepEqual(p.run('hello world', 'wor'), Array(CALLS).fill(6));
  });
});
