/**
 * @fileoverview The string subroutines (src/codegen/subr/strings.ts) as the kernel runs them.
 * Each subroutine is linked behind a raw_tracepoint wrapper that sets up the calling
 * convention over an array map laid out like `mem` (dst and arguments in the temporary-string
 * slots, integer arguments and the result in the record area), loaded with loadProgram and run
 * with BPF_PROG_TEST_RUN. Expected values come from Oracle's test corpus (.d/.r pairs under
 * test/unittest/funcs and dif) and from the spec's tables. Needs root and the 6.17+ string
 * kfuncs; skips with the reason otherwise.
 */
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { Asm, R0, R1, R2, R3, R4, R5, R9, imm, type Reg, type Insn } from '../../src/bpf/asm/insn.js';
import { toIsaV3 } from '../../src/bpf/asm/isa-v3.js';
import { encode, link } from '../../src/bpf/asm/encode.js';
import { loadProgram, programInfo, testRun, type BpfProgram } from '../../src/bpf/program.js';
import { createMap, type BpfMap } from '../../src/bpf/map.js';
import { hasFeature } from '../../src/bpf/features.js';
import { memLayout, type MemLayout } from '../../src/codegen/layout.js';
import { STRING_SUBRS, SubrFault, stringSubprograms } from '../../src/codegen/subr/strings.js';
import { kernelKfuncId, kfuncsCalled, missingKfuncs } from '../../src/codegen/subr/kfuncs.js';
import { NEWEST_KERNEL, type KernelCaps } from '../../src/bpf/kernel-caps.js';
import { mainlineCaps as emulatedKernel } from '../../src/bpf/features.js';
import { needsStringFallback } from '../../src/codegen/subr/strings.js';
import { fallbackMaps, fallbackPrototypes } from '../../src/codegen/subr/fallback.js';
import { programFuncInfo } from '../../src/runtime/func-info.js';
import { closeFd } from '../../src/bpf/sys.js';

const NEEDED_KFUNCS = ['bpf_strnlen', 'bpf_strchr', 'bpf_strrchr', 'bpf_strstr', 'bpf_strspn', 'bpf_strcspn', 'bpf_strcmp',
  'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy'];

function skipReason(kernel: KernelCaps, globalFunctions = false): string | false {
  if (process.getuid?.() !== 0) return 'needs root to load BPF programs';
  if (globalFunctions && !hasFeature('global_func_args')) return 'kernel refuses BTF global functions with pointer arguments (Linux 5.12)';
  if (!hasFeature('test_run_raw_tp')) return 'kernel lacks BPF_PROG_TEST_RUN for raw tracepoints';
  const missing = missingKfuncs(NEEDED_KFUNCS.filter((k) => kernel.kfuncs.has(k)));
  if (missing.length) return `kernel lacks the kfuncs ${missing.join(', ')} (string kfuncs need Linux 6.17)`;
  return false;
}

/**
 * Every test runs three times: with the string kfuncs (6.17+), and as on Linux 5.15, where the
 * library is plain-BPF loops (codegen/subr/fallback.ts) and bounded loops instead of
 * bpf_iter_num — with the kfuncs' stand-ins loaded as static subprograms, and as BTF global
 * functions (runtime/func-info.ts), as a program is loaded where the kernel takes them.
 */
const PATHS: { label: string; kernel: KernelCaps; globalFunctions?: boolean }[] = [
  { label: 'kfuncs', kernel: NEWEST_KERNEL },
  { label: 'fallback as on 5.15', kernel: emulatedKernel('5.15') },
  { label: 'fallback as on 5.15, global stand-ins', kernel: emulatedKernel('5.15'), globalFunctions: true },
];
let kernel: KernelCaps = NEWEST_KERNEL;
let globalFunctions = false;
const skip = undefined; // decided per path below
function test(name: string, opts: { skip: undefined; todo?: string }, fn: () => void): void {
  for (const path of PATHS) {
    nodeTest(`${name} [${path.label}]`, { skip: skipReason(path.kernel, path.globalFunctions), todo: opts.todo }, () => {
      kernel = path.kernel;
      globalFunctions = path.globalFunctions ?? false;
      fn();
    });
  }
}

/** How the wrapper passes each argument: a string or bytes in a slot (pointer), or a u64. */
type ArgKind = 'str' | 'strOrNull' | 'int' | 'addr';
type Arg = string | bigint | number | Uint8Array | null;

interface Outcome { status: number; text: string | undefined }

/** One subroutine loaded behind a wrapper, at one strsize. */
class Harness {
  readonly mem: MemLayout;
  readonly map: BpfMap;
  readonly extraMaps: BpfMap[];
  readonly prog: BpfProgram;
  readonly kinds: ArgKind[];
  readonly returnsString: boolean;
  private readonly key = new Uint8Array(4);

  constructor(readonly subrKey: string, strsize: number, kinds?: ArgKind[]) {
    const subr = STRING_SUBRS[subrKey];
    assert.ok(subr, `no subroutine ${subrKey}`);
    this.mem = memLayout(strsize, undefined, needsStringFallback(kernel));
    this.returnsString = subr.returns === 'str';
    this.kinds = kinds ?? subr.params.map((p) => (p === 'str' ? 'str' : 'int'));
    this.map = createMap({ name: 'mem', type: 'array', keySize: 4, valueSize: this.mem.size(64), maxEntries: 1 });
    const a = new Asm('wrapper');
    a.ldMapValue(R9, 'mem');
    a.mov(R1, R9).alu64('add', R1, imm(this.slotOffset(0)));
    this.kinds.forEach((kind, k) => {
      const reg: Reg = R2 + k;
      if (kind === 'str' || kind === 'addr') a.mov(reg, R9).alu64('add', reg, imm(this.slotOffset(k + 1)));
      // Load offsets are 16 bits; at strsize 1024 the record area lies beyond them.
      else if (kind === 'int') a.mov(reg, R9).alu64('add', reg, imm(this.paramOffset(k))).ldx(8, reg, reg, 0);
      else {
        const isNull = a.newLabel('null');
        a.mov(reg, R9).alu64('add', reg, imm(this.paramOffset(k))).ldx(8, reg, reg, 0).jmp('jeq', reg, imm(0), isNull);
        a.mov(reg, R9).alu64('add', reg, imm(this.slotOffset(k + 1))).label(isNull);
      }
    });
    a.mov(R5, R9).callSub(subr.name);
    a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec)).stx(8, R1, 0, R0).mov(R0, imm(0)).exit();
    // As compile's kernel fit does: v4 instructions become v3 sequences where the level lacks v4.
    const subs = stringSubprograms(this.mem, kernel);
    const fit = (insns: Insn[]): Insn[] => (kernel.isaV4 ? insns : toIsaV3(insns));
    const linked = link(fit(a.insns), { get: (name) => { const body = subs.get(name); return body && fit(body); } });
    const callees = new Set(linked.flatMap((i) => (i.callee === undefined ? [] : [i.callee])));
    const extra = fallbackMaps(callees, strsize);
    this.extraMaps = extra.map((m) => createMap({ name: m.name, type: 'percpu_array', keySize: 4, valueSize: m.valueSize, maxEntries: 1 }));
    const mapFd = (name: string): number => (name === 'mem' ? this.map.fd : this.extraMaps[extra.findIndex((m) => m.name === name)]!.fd);
    const bytes = encode(linked, { mapFd, kfuncId: kernelKfuncId });
    const info = globalFunctions ? programFuncInfo(linked, fallbackPrototypes(callees, this.mem)) : undefined;
    if (info && 'error' in info) throw new Error(info.error);
    // Every subroutine that calls a stand-in has it global on this path.
    if (globalFunctions) assert.equal(info?.global ?? false, fallbackPrototypes(callees, this.mem).size > 0);
    try {
      this.prog = loadProgram({ name: `t_${subr.name}`, type: 'raw_tracepoint', insns: bytes, ...(info ? { btfFd: info.btfFd, funcInfo: info.funcInfo } : {}) });
    } finally {
      if (info) closeFd(info.btfFd);
    }
  }

  slotOffset(k: number): number { return this.mem.tmp + k * this.mem.strSlot; }
  paramOffset(k: number): number { return this.mem.rec + 8 + 8 * k; }

  run(...args: Arg[]): Outcome {
    const value = this.map.lookup(this.key)!;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    value.fill(0xaa, this.slotOffset(0), this.slotOffset(0) + this.mem.strSlot); // no NUL to find by chance
    args.forEach((arg, k) => {
      const kind = this.kinds[k]!;
      if (kind === 'int') { view.setBigUint64(this.paramOffset(k), BigInt.asUintN(64, BigInt(arg as number | bigint)), true); return; }
      if (kind === 'strOrNull') view.setBigUint64(this.paramOffset(k), arg === null ? 0n : 1n, true);
      if (arg === null) return;
      const at = this.slotOffset(k + 1);
      if (arg instanceof Uint8Array) { value.set(arg, at); return; }
      // Strings reach subroutines at most strsize long (the caller truncates), NUL-terminated.
      const text = Buffer.from(String(arg).slice(0, this.mem.strsize), 'latin1');
      value.set(text, at);
      value[at + text.length] = 0;
    });
    this.map.update(this.key, value);
    testRun(this.prog);
    const out = this.map.lookup(this.key)!;
    const status = Number(new DataView(out.buffer, out.byteOffset).getBigInt64(this.mem.rec, true));
    const dst = out.subarray(this.slotOffset(0), this.slotOffset(0) + this.mem.strSlot);
    const nul = dst.indexOf(0);
    const text = status === 1 && nul >= 0 && nul <= this.mem.strsize ? Buffer.from(dst.subarray(0, nul)).toString('latin1') : undefined;
    if (this.returnsString && status === 1) assert.ok(nul >= 0 && nul <= this.mem.strsize, `${this.subrKey}: result not NUL-terminated within strsize`);
    return { status, text };
  }

  /** The string result (asserting status 1), or null for a NULL result. */
  str(...args: Arg[]): string | null {
    const r = this.run(...args);
    if (r.status === 0) return null;
    assert.equal(r.status, 1, `${this.subrKey}(${args.join(', ')}) status`);
    return r.text!;
  }

  int(...args: Arg[]): number { return this.run(...args).status; }

  close(): void { this.prog.close(); this.map.close(); for (const m of this.extraMaps) m.close(); }
}

function withHarness(key: string, strsize: number, fn: (h: Harness) => void, kinds?: ArgKind[]): void {
  const h = new Harness(key, strsize, kinds);
  try { fn(h); } finally { h.close(); }
}

const verifiedCounts: string[] = [];

test('strjoin concatenates and truncates at strsize (tst.strjoin-bordercases.d, strsize=5)', { skip }, () => {
  withHarness('strjoin', 5, (h) => {
    const cases: [string, string, string][] = [
      ['', '123', '123'], ['', '12345', '12345'], ['', '1234567890', '12345'], ['123', 'abcdefgh', '123ab'],
      ['12345', 'abcdefgh', '12345'], ['1234567890', 'abcdefgh', '12345'], ['123', '', '123'], ['12345', '', '12345'],
    ];
    for (const [x, y, want] of cases) assert.equal(h.str(x, y), want, `strjoin("${x}", "${y}")`);
  });
  withHarness('strjoin', 6, (h) => assert.equal(h.str('dtrace', 'dtrace'), 'dtrace')); // capped-size-3
  withHarness('strjoin', 256, (h) => {
    assert.equal(h.str('foo', 'bar'), 'foobar');
    assert.equal(h.str('', ''), '');
  });
});

test('substr follows the spec table and the corpus (strsize 256 and 13)', { skip }, () => {
  const s = 'foobarbazbop';
  withHarness('substr/2', 256, (h) => {
    for (const [i, want] of [[3, 'barbazbop'], [300, ''], [-10, 'obarbazbop'], [0, s], [12, ''], [12345678, '']] as const) {
      assert.equal(h.str(s, i), want, `substr(s, ${i})`);
    }
    assert.equal(h.str('abcde', -9), 'abcde');
    assert.equal(h.str('abcdefgh', 12345678), ''); // tst.substr-large-idx.d
  });
  withHarness('substr/3', 256, (h) => {
    const table: [number, number, string][] = [
      [8, 20, 'zbop'], [4, 4, 'arba'], [3, 0, ''], [3, -1, 'barbazbo'], [3, -4, 'barba'], [3, -20, ''], [-1, -1, ''],
      [-1, 400, 'p'], [-10, -5, 'obarb'], [-24, 13, 'f'], [-24, 12, ''], [400, 20, ''],
    ];
    for (const [i, c, want] of table) assert.equal(h.str(s, i, c), want, `substr(s, ${i}, ${c})`);
    // tst.substr-multi-var-idx-neg-too-far.d
    const tooFar = ['', '', '', 'a', 'ab', 'abc', 'bcd', 'cde', 'de', 'e'];
    for (let idx = -10; idx <= -1; idx++) assert.equal(h.str('abcde', idx, 3), tooFar[idx + 10], `substr("abcde", ${idx}, 3)`);
    assert.equal(h.str('Bryan is smart', 0, 8), 'Bryan is'); // tst.substrminate.d
    assert.equal(h.str("he's not a dummy", 0, 18), "he's not a dummy");
    assert.equal(h.str('BEGIN', 0, 2), 'BE'); // substr3arg.d
  });
  withHarness('substr/3', 13, (h) => { // tst.substr-strsize.d
    const x = '1234567890123';
    assert.equal(h.str(x, 0, 12), '123456789012');
    assert.equal(h.str(x, 0, 13), x);
    assert.equal(h.str(x, 0, 14), x);
  });
  withHarness('substr/2', 13, (h) => assert.equal(h.str('1234567890123', 0), '1234567890123'));
});

const ALNUM2 = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@#'.repeat(2);
const ALPHA5 = 'abcdefghijklmnopqrstuvwxyz'.repeat(5);

test('index finds the lowest match at or after start (tst.index2.d, dif/index*.d)', { skip }, () => {
  withHarness('index/2', 184, (h) => {
    assert.equal(h.int(ALNUM2, 'abcdefghijklmnopqrstuvwxyz'), 0);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65)), 0);
    assert.equal(h.int('', 'klmnopqrstuvw'), -1);
    assert.equal(h.int('klmnopqrstuvw', ''), 0);
    assert.equal(h.int(ALPHA5, 'klmnopqrstuvw'), 10);
    assert.equal(h.int('BEGINNING', 'G'), 2);
  });
  withHarness('index/3', 184, (h) => {
    const y = 'abcdefghijklmnopqrstuvwxyz';
    for (const [start, want] of [[-1, 0], [0, 0], [1, 64], [100, -1], [200, -1]] as const) assert.equal(h.int(ALNUM2, y, start), want);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65), -1), 0);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65), 1), -1);
    const k = 'klmnopqrstuvw';
    for (const [start, want] of [[-1, 10], [10, 10], [20, 36], [30, 36], [40, 62], [50, 62], [60, 62], [70, 88], [80, 88], [90, 114]] as const) {
      assert.equal(h.int(ALPHA5, k, start), want, `index(x, y, ${start})`);
    }
    assert.equal(h.int('BEGINNING', 'G', 3), 8);
  });
});

test('rindex finds the highest match at or before start (tst.rindex.d)', { skip }, () => {
  withHarness('rindex/2', 144, (h) => {
    assert.equal(h.int(ALNUM2, 'abcdefghijklmnopqrstuvwxyz'), 64);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65)), 0);
    assert.equal(h.int('', 'klmnopqrstuvw'), -1);
    assert.equal(h.int('klmnopqrstuvw', ''), 13);
    assert.equal(h.int(ALPHA5, 'klmnopqrstuvw'), 114);
    assert.equal(h.int('a'.repeat(32), 'aaaa'), 28);
    assert.equal(h.int('aaaa', 'a'.repeat(32)), -1);
  });
  withHarness('rindex/3', 144, (h) => {
    const y = 'abcdefghijklmnopqrstuvwxyz';
    for (const [start, want] of [[-1, -1], [0, 0], [1, 0], [70, 64], [200, 64]] as const) assert.equal(h.int(ALNUM2, y, start), want);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65), -1), -1);
    assert.equal(h.int(ALNUM2, ALNUM2.slice(0, 65), 1), 0);
    const k = 'klmnopqrstuvw';
    const table = [[-1, -1], [0, -1], [5, -1], [10, 10], [30, 10], [40, 36], [60, 36], [70, 62], [80, 62], [90, 88], [120, 114], [200, 114]] as const;
    for (const [start, want] of table) assert.equal(h.int(ALPHA5, k, start), want, `rindex(x, y, ${start})`);
  });
});

test('strchr, strrchr and strstr return the suffix or NULL (tst.strstr.d, dif/strchr.d)', { skip }, () => {
  withHarness('strchr', 256, (h) => {
    assert.equal(h.str('BEGIN', 'B'.charCodeAt(0)), 'BEGIN');
    assert.equal(h.str('foobarbaz', 'b'.charCodeAt(0)), 'barbaz');
    assert.equal(h.str('foobarbaz', 'z'.charCodeAt(0)), 'z');
    assert.equal(h.str('foobarbaz', 'q'.charCodeAt(0)), null);
    assert.equal(h.str('caf\xe9!', -23), '\xe9!'); // a negative D char is the same byte
  });
  withHarness('strrchr', 256, (h) => {
    assert.equal(h.str('foobarbaz', 'b'.charCodeAt(0)), 'baz');
    assert.equal(h.str('foobarbaz', 'f'.charCodeAt(0)), 'foobarbaz');
    assert.equal(h.str('foobarbaz', 'q'.charCodeAt(0)), null);
    assert.equal(h.str('', 'q'.charCodeAt(0)), null);
  });
  withHarness('strstr', 184, (h) => {
    const str = 'foobarbarbazbarbop';
    const table: [string, string, string | null][] = [
      [str, str, str], [str, 'baz', 'bazbarbop'], [str, 'bar', 'barbarbazbarbop'], [str, 'bazbarbop', 'bazbarbop'],
      [str, 'barba', 'barbarbazbarbop'], ['bazbarbop', 'zbarbop', 'zbarbop'], [str, '', str], ['', '', ''], ['f', 'f', 'f'],
      [str, 'barbarf', null], [str, 'foobarbarbazbarbopp', null], ['BEGIN', 'GIN', 'GIN'],
    ];
    for (const [s, t, want] of table) assert.equal(h.str(s, t), want, `strstr("${s}", "${t}")`);
  });
});

test('strcmp orders strings bytewise, unsigned', { skip }, () => {
  withHarness('strcmp', 256, (h) => {
    assert.equal(h.int('abc', 'abc'), 0);
    assert.ok(h.int('abc', 'abd') < 0);
    assert.ok(h.int('abd', 'abc') > 0);
    assert.ok(h.int('ab', 'abc') < 0);
    assert.ok(h.int('', 'a') < 0);
    assert.ok(h.int('\xe9', 'z') > 0);
  });
});

test('strtok tokenises across calls and keeps its state (tst.strtok2.d, tst.strtok_long.d)', { skip }, () => {
  withHarness('strtok', 256, (h) => {
    const x = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.repeat(3);
    assert.equal(h.str(x, 'abcABC'), 'defghijklmnopqrstuvwxyz');
    assert.equal(h.str(null, 'MNO'), 'ABCDEFGHIJKL');
    assert.equal(h.str(null, 'MNO'), 'PQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGHIJKL');
    assert.equal(h.str(null, '0123456789'), 'MNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
    assert.equal(h.str(null, '0123456789'), null);
    assert.equal(h.str(null, '0123456789'), null); // stays exhausted
    assert.equal(h.str('', ''), null);
    assert.equal(h.str('foo', ''), 'foo');
    assert.equal(h.str('', 'foo'), null);
    const long = '_'.repeat(253) + 'XYZ';
    assert.equal(h.str(long, 'a'), long);
    assert.equal(h.str('zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA', long), 'zyxwvutsrqponmlkjihgfedcba');
    assert.equal(h.str(long, 'Z'), long.slice(0, -1));
    assert.equal(h.str(null, 'a'), 'Z');
    assert.equal(h.str('  a b,,c ', ' ,'), 'a');
    assert.equal(h.str(null, ' ,'), 'b');
    assert.equal(h.str(null, ' ,'), 'c');
    assert.equal(h.str(null, ' ,'), null);
    assert.equal(h.str('abc', 'def'), 'abc'); // tst.strtok_nullstr2.d: then NULL
    assert.equal(h.str(null, 'def'), null);
  }, ['strOrNull', 'str']);
  withHarness('strtok', 256, (h) => {
    assert.equal(h.run(null, '!').status, SubrFault.BADADDR); // tst.strtok_null.d: no string yet
  }, ['strOrNull', 'str']);
});

test('toupper and tolower map ASCII letters only', { skip }, () => {
  const text = 'Hello, World! az AZ @[`{ \xe1\xc1 0123456789 the quick brown fox';
  withHarness('toupper', 256, (h) => {
    assert.equal(h.str(text), 'HELLO, WORLD! AZ AZ @[`{ \xe1\xc1 0123456789 THE QUICK BROWN FOX');
    assert.equal(h.str(''), '');
  });
  withHarness('tolower', 256, (h) => assert.equal(h.str(text), 'hello, world! az az @[`{ \xe1\xc1 0123456789 the quick brown fox'));
  withHarness('toupper', 32, (h) => assert.equal(h.str('a'.repeat(40)), 'A'.repeat(32)));
});

test('basename and dirname follow tst.basename0.d and the spec', { skip }, () => {
  const cases: [string, string, string][] = [
    ['/foo/bar/baz', 'baz', '/foo/bar'], ['/foo/bar///baz/', 'baz', '/foo/bar'], ['/foo/bar/baz/', 'baz', '/foo/bar'],
    ['/foo/bar/baz//', 'baz', '/foo/bar'], ['/foo/bar/baz/.', '.', '/foo/bar/baz'], ['/foo/bar/baz/./', '.', '/foo/bar/baz'],
    ['/foo/bar/baz/.//', '.', '/foo/bar/baz'], ['foo/bar/baz/', 'baz', 'foo/bar'], ['/', '/', '/'], ['./', '.', '.'],
    ['//', '/', '/'], ['/.', '.', '/'], ['/./', '.', '/'], ['/./.', '.', '/.'], ['/.//', '.', '/'], ['.', '.', '.'],
    ['f', 'f', '.'], ['f/', 'f', '.'], ['/////', '/', '/'], ['', '.', '.'], ['/foo/bar', 'bar', '/foo'], ['/foo', 'foo', '/'],
  ];
  withHarness('basename', 256, (h) => { for (const [p, base] of cases) assert.equal(h.str(p), base, `basename("${p}")`); });
  withHarness('dirname', 256, (h) => { for (const [p, , dir] of cases) assert.equal(h.str(p), dir, `dirname("${p}")`); });
});

test('cleanpath resolves paths lexically (tst.cleanpath.d)', { skip }, () => {
  const cases: [string, string][] = [
    ['/foo/bar/baz', '/foo/bar/baz'], ['/foo/bar///baz/', '/foo/bar/baz'], ['/foo/bar/baz/', '/foo/bar/baz'],
    ['/foo/bar/baz//', '/foo/bar/baz'], ['/foo/bar/baz/.', '/foo/bar/baz'], ['/foo/bar/baz/./', '/foo/bar/baz'],
    ['/foo/bar/../../baz/.//', '/baz'], ['foo/bar/./././././baz/', 'foo/bar/baz'], ['/foo/bar/baz/../../../../../../', '/'],
    ['/../../../../../../', '/'], ['/./', '/'], ['/foo/bar/baz/../../bop/bang/../../bar/baz/', '/foo/bar/baz'], ['./', '.'],
    ['//', '/'], ['/.', '/'], ['/./.', '/'], ['/.//', '/'], ['.', '.'], ['/////', '/'], ['', ''], ['a/.', 'a'], ['a/./.', 'a'],
    ['./a', 'a'], ['././a', 'a'], ['..', '..'], ['../..', '../..'], ['../../..', '../../..'], ['../../../..', '../../../..'],
    ['a/..', '.'], ['abc', 'abc'], ['a/', 'a'], ['ab/', 'ab'], ['/abc', '/abc'], ['z/a/../b', 'z/b'], ['/z/a/../b', '/z/b'],
    ['z/a/b/../../././c///d/e', 'z/c/d/e'], ['/z/a/b/../../././c///d/e', '/z/c/d/e'], ['/a/../b', '/b'], ['/a/..', '/'],
    ['/a/../..', '/'], ['/a/b/../../././c///d/e', '/c/d/e'], ['a/../b', 'b'], ['a/../..', '..'], ['a/b/../../././c///d/e', 'c/d/e'],
    ['/foo/bar/.././../sys/foo', '/sys/foo'], ['//a/../b/./c', '/b/c'], ['.a/..b/...', '.a/..b/...'],
  ];
  withHarness('cleanpath', 256, (h) => { for (const [p, want] of cases) assert.equal(h.str(p), want, `cleanpath("${p}")`); });
});

const ipv4 = (...b: number[]): Uint8Array => new Uint8Array(b);
function ipv6(text: string): Uint8Array {
  // Test input only: expand "a:b::c" into 16 bytes.
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { const v = parseInt(g, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 0xff; });
  return out;
}

test('inet_ntoa prints a dotted quad and faults on a bad address (tst.inet_ntoa.d)', { skip }, () => {
  withHarness('inet_ntoa', 256, (h) => {
    assert.equal(h.str(ipv4(192, 168, 1, 23)), '192.168.1.23');
    assert.equal(h.str(ipv4(127, 0, 0, 1)), '127.0.0.1');
    assert.equal(h.str(ipv4(255, 255, 255, 255)), '255.255.255.255');
    assert.equal(h.str(ipv4(0, 0, 0, 0)), '0.0.0.0');
    assert.equal(h.str(ipv4(10, 99, 100, 9)), '10.99.100.9');
  }, ['addr']);
  withHarness('inet_ntoa', 256, (h) => assert.equal(h.run(0).status, SubrFault.BADADDR), ['int']);
  withHarness('inet_ntoa', 8, (h) => assert.equal(h.str(ipv4(192, 168, 1, 23)), '192.168.'), ['addr']);
});

test('inet_ntoa6 and inet_ntop follow RFC 5952 and the IPv4 rules of the spec', { skip }, () => {
  const plain: [string, string][] = [
    ['fe80::214:4fff:fe0b:76c8', 'fe80::214:4fff:fe0b:76c8'], ['1080::808:c:417a', '1080::808:c:417a'], ['::1', '::1'],
    ['::', '::'], ['::fffe:7f00:1', '::fffe:7f00:1'], ['fe12:3456:789a:bcde:214::', 'fe12:3456:789a:bcde:214::'],
    ['fe12:3456:789a:bcde:214:4fff:fe0b:0', 'fe12:3456:789a:bcde:214:4fff:fe0b:0'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], ['1:0:0:2:3:0:0:4', '1::2:3:0:0:4'], ['0:1:0:1:0:1:0:1', '0:1:0:1:0:1:0:1'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['abcd::', 'abcd::'],
  ];
  withHarness('inet_ntoa6', 256, (h) => {
    for (const [addr, want] of plain) assert.equal(h.str(ipv6(addr), 0), want, `inet_ntoa6(${addr})`);
    assert.equal(h.str(ipv6('::ffff:7f00:1'), 0), '127.0.0.1');
    assert.equal(h.str(ipv6('::7f00:1'), 0), '127.0.0.1');
    assert.equal(h.str(ipv6('::ffff:7f00:1'), 1), '::ffff:127.0.0.1');
    assert.equal(h.str(ipv6('::7f00:1'), 1), '::127.0.0.1');
    assert.equal(h.str(ipv6('::1'), 1), '::1');
  }, ['addr', 'int']);
  withHarness('inet_ntoa6', 256, (h) => assert.equal(h.run(0, 0).status, SubrFault.BADADDR), ['int', 'int']);
  withHarness('inet_ntop', 256, (h) => {
    assert.equal(h.str(10, ipv6('::7f00:1')), '::127.0.0.1');
    assert.equal(h.str(10, ipv6('::ffff:7f00:1')), '::ffff:127.0.0.1');
    assert.equal(h.str(10, ipv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    assert.equal(h.str(2, ipv4(192, 168, 1, 23)), '192.168.1.23');
    assert.equal(h.run(99, ipv4(1, 2, 3, 4)).status, SubrFault.ILLOP);
  }, ['int', 'addr']);
});

test('link_ntop prints Ethernet and InfiniBand addresses (tst.link_ntop.d, err.link_ntopbadarg.d)', { skip }, () => {
  withHarness('link_ntop', 256, (h) => {
    assert.equal(h.str(1, ipv4(0, 1, 2, 3, 4, 5)), '00:01:02:03:04:05');
    assert.equal(h.str(1, ipv4(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), 'ff:ff:ff:ff:ff:ff');
    assert.equal(h.str(1, ipv4(2, 8, 0x20, 0xac, 4, 0xe)), '02:08:20:ac:04:0e');
    const ib = ipv4(0x10, 0x80, 0x08, 0x08, 0x20, 0x0c, 0x41, 0x7a, 0x01, 0x7f, 0x01, 0xff, 0xff, 0x7f, 0x01, 0xff, 0xfe, 0x7f, 0x01, 0xff);
    assert.equal(h.str(32, ib), '10:80:08:08:20:0c:41:7a:01:7f:01:ff:ff:7f:01:ff:fe:7f:01:ff');
    assert.equal(h.run(-1, ipv4(0, 1, 2, 3, 4, 5)).status, SubrFault.ILLOP);
  }, ['int', 'addr']);
});

test('state kept in working memory works where it lies beyond 16-bit offsets (strsize 1024)', { skip }, () => {
  const long = 'x/'.repeat(500) + '../y';
  withHarness('cleanpath', 1024, (h) => assert.equal(h.str(long), 'x/'.repeat(499) + 'y'));
  withHarness('basename', 1024, (h) => assert.equal(h.str(long), 'y'));
  withHarness('rindex/2', 1024, (h) => assert.equal(h.int('ab'.repeat(500), 'ab'), 998));
  withHarness('strtok', 1024, (h) => {
    assert.equal(h.str('a'.repeat(1000) + ',b', ','), 'a'.repeat(1000));
    assert.equal(h.str(null, ','), 'b');
  }, ['strOrNull', 'str']);
});

test('every subroutine verifies at strsize 32, 256 and 1024', { skip }, () => {
  for (const strsize of [32, 256, 1024]) {
    for (const key of Object.keys(STRING_SUBRS)) {
      const h = new Harness(key, strsize);
      try {
        verifiedCounts.push(`${key}@${strsize}${kernel === NEWEST_KERNEL ? '' : globalFunctions ? ' (global fallback)' : ' (fallback)'}: ${programInfo(h.prog.fd).verifiedInsns}`);
      } finally {
        h.close();
      }
    }
  }
  const used = new Set(Object.values(STRING_SUBRS).flatMap((s) => kfuncsCalled(s.build(memLayout(256, undefined, true), kernel))));
  assert.deepEqual([...used].filter((k) => !NEEDED_KFUNCS.includes(k) || !kernel.kfuncs.has(k)), []);
  console.log(`verified instructions (wrapper + subroutine): ${verifiedCounts.join(', ')}`);
});
