/**
 * @fileoverview What this kernel can do: ONE table (FEATURES) names each feature, how it is
 * detected and the mainline version that brought it; results are probed on first use and cached,
 * so a run pays only for what it asks (`BEGIN { exit(0); }` asks for one program load).
 * `kernelCaps()` turns them into the plain-data KernelCaps code generation reads. With
 * `DTRACE_TS_KERNEL=5.15` (any mainline version) in the environment, every feature newer than that
 * version reads as missing — emulating an older kernel here so its fallbacks run; the level only
 * ever takes capabilities away (a feature this kernel lacks stays missing). Providers call
 * `requireFeature` before attaching so that a missing feature is one clear sentence
 * ("fbt: this kernel has no kprobes (CONFIG_KPROBES is not set) and no fentry support") rather
 * than an errno from deep inside an attach.
 *
 * Probes are real attempts (create the map, load the program) where that is cheap, because
 * config files and `bpftool feature probe` are known to be wrong here (tp_btf loads although
 * bpftool says "tracing" is unavailable; design/MACHINE.md).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import { UnsupportedError, SysError, VerifierError } from './errors.js';
import { createMap } from './map.js';
import { loadProgram, testRun, type ProgramSpec } from './program.js';
import { dynamicPmu } from './perf.js';
import { allocNative, bpfTry, closeFd, freeNative, nativeCString, setU64 } from './sys.js';
import { AttachType, BpfCmd, Errno, Helper, LinkCreateAttr, errnoName } from './uapi.js';
import { KERNEL_BTF_PATH, loadKernelBtf } from './btf/index.js';
import { NEWEST_KERNEL, type KernelCaps } from './kernel-caps.js';
import { Asm, R0, R1, R2, R3, R10, imm } from './asm/insn.js';
import { encode, link } from './asm/encode.js';
import { programFunctionsBtf } from './btf/func-info.js';
import { loadBtfIntoKernel } from './elf/object-btf.js';

export type FeatureName =
  | 'bpf' | 'ringbuf' | 'raw_tp' | 'tp_btf' | 'uprobe_pmu' | 'uprobe_multi' | 'kprobe_pmu' | 'kprobe_multi' | 'fentry'
  | 'test_run_raw_tp' | 'probe_write_user' | 'btf_vmlinux' | 'isa_v4' | 'bounded_loops' | 'bpf_loop' | 'get_func_ip'
  | 'global_func_args' | 'map_elem_iter';

export interface FeatureStatus {
  available: boolean;
  /** When unavailable: why, as a clause that follows "this kernel …" naturally. */
  reason?: string;
}

const cache = new Map<FeatureName, FeatureStatus>();

/** Whether the kernel has `name` (probed on first use, then cached). */
export function hasFeature(name: FeatureName): boolean {
  return featureStatus(name).available;
}

export function featureStatus(name: FeatureName): FeatureStatus {
  let status = cache.get(name);
  if (!status) {
    const spec = FEATURES[name];
    const level = emulatedLevel();
    if (level && versionBelow(level, spec.since)) {
      status = { available: false, reason: `this kernel has no ${spec.what} (Linux ${spec.since}; emulating ${level} with DTRACE_TS_KERNEL)` };
    } else {
      try {
        status = spec.probe();
      } catch (e) {
        status = { available: false, reason: `probing ${name} failed: ${(e as Error).message}` };
      }
    }
    cache.set(name, status);
  }
  return status;
}

/** Throws UnsupportedError when `name` is unavailable; `forWhat` is the D construct needing it. */
export function requireFeature(name: FeatureName, forWhat: string): void {
  const status = featureStatus(name);
  if (!status.available) throw new UnsupportedError(name, forWhat, status.reason ?? `this kernel lacks ${name}`);
}

/** Throws unless at least one of `names` is available; the message lists why each is missing. */
export function requireAnyFeature(names: readonly FeatureName[], forWhat: string): FeatureName {
  for (const name of names) if (hasFeature(name)) return name;
  const reasons = names.map((n) => featureStatus(n).reason ?? `no ${n}`);
  const joined = reasons.map((r, i) => (i === 0 ? r : r.replace(/^this kernel has /, ''))).join(' and ');
  throw new UnsupportedError(names.join('|'), forWhat, joined);
}

/** Forgets cached results (tests). */
export function resetFeatureCache(): void {
  cache.clear();
  kfuncCache.clear();
  helperCache.clear();
  levelRead = false;
}

// ---------------------------------------------------------------------------------------------
// Probes

/** A probe program written with the assembler, in the kernel's instruction format. */
function probeProgram(body: (a: Asm) => void): Uint8Array {
  const a = new Asm('probe');
  body(a);
  return encode(link(a.insns));
}
/** `r0 = 0; exit`. */
const returnZero = (a: Asm): Asm => a.mov(R0, imm(0)).exit();
const RETURN_ZERO = probeProgram(returnZero);

/**
 * The verifier log buffer of a probe that is refused: its programs are a few instructions, so the
 * log is a few lines; loadProgram's default (4 MiB, zeroed page by page) cost ~13 ms of start-up
 * for the bpf_loop probe every compile asks. A longer log still grows to what the kernel needs.
 */
const PROBE_LOG_SIZE_BYTES = 64 << 10;

function tryLoad(spec: ProgramSpec): { ok: true; close(): void; fd: number } | { ok: false; reason: string; errno: number } {
  try {
    const prog = loadProgram({ logSizeBytes: PROBE_LOG_SIZE_BYTES, ...spec });
    return { ok: true, fd: prog.fd, close: () => prog.close() };
  } catch (e) {
    if (e instanceof VerifierError) return { ok: false, reason: e.reason, errno: e.errno };
    if (e instanceof SysError) return { ok: false, reason: e.code, errno: e.errno };
    throw e;
  }
}

/**
 * Whether a multi-attach link type exists: a kprobe program for it, linked with an attr that
 * cannot succeed (`fill` writes the type's own fields); the errnos in `exists` (or success)
 * mean the kernel knows the type.
 */
function probeMultiLink(link: { name: string; what: string; attachType: number; since: string; linkNeeds?: string; exists: number[] }, fill: (attr: DataView) => void): FeatureStatus {
  const r = tryLoad({ name: link.name, type: 'kprobe', insns: RETURN_ZERO, expectedAttachType: link.attachType });
  if (!r.ok) return { available: false, reason: `this kernel has no ${link.what} (${r.reason}; needs ${link.since})` };
  const attr = allocNative(LinkCreateAttr.sizeBytes);
  try {
    const v = attr.view;
    v.setUint32(LinkCreateAttr.prog_fd, r.fd, true);
    v.setUint32(LinkCreateAttr.attach_type, link.attachType, true);
    fill(v);
    const fd = bpfTry(BpfCmd.LINK_CREATE, attr.address, LinkCreateAttr.sizeBytes);
    if (fd >= 0) { closeFd(fd); return { available: true }; }
    if (link.exists.includes(-fd)) return { available: true };
    return { available: false, reason: `this kernel has no ${link.what} (${errnoName(-fd)}; needs ${link.since}${link.linkNeeds ? ` with ${link.linkNeeds}` : ''})` };
  } finally {
    freeNative(attr);
    r.close();
  }
}

/**
 * Whether the verifier takes a BTF global function with a pointer argument: `main` passes 16
 * bytes of its stack and a scalar to `g`, which tests the pointer for NULL and reads it.
 */
function probeGlobalFunction(): FeatureStatus {
  const main = new Asm('probe');
  main.st(8, R10, -16, 0).st(8, R10, -8, 0).mov(R1, R10).alu64('add', R1, imm(-16)).mov(R2, imm(7)).callSub('g').exit();
  const g = new Asm('g');
  g.jmp('jne', R1, imm(0), 'ok').mov(R0, imm(0)).exit().label('ok').ldx(8, R0, R1, 8).alu64('add', R0, R2).exit();
  const insns = encode(link(main.insns, { get: (name) => (name === 'g' ? g.insns : undefined) }));
  const { btf, funcInfo } = programFunctionsBtf([
    { start: 0, name: 'probe' },
    { start: main.insns.length, name: 'g', global: { mem: { struct: 'probe_mem', name: 'p', bytes: 16 }, scalars: ['x'] } },
  ]);
  const loaded = loadBtfIntoKernel(btf);
  if ('error' in loaded) return { available: false, reason: `this kernel refuses the BTF of a global function (${loaded.error})` };
  try {
    const r = tryLoad({ name: 'probe_global', type: 'raw_tracepoint', insns, btfFd: loaded.fd, funcInfo });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel's verifier refuses global functions with pointer arguments (${r.reason}; needs Linux 5.12)` };
  } finally {
    closeFd(loaded.fd);
  }
}

/** One row of the feature table. */
export interface FeatureSpec {
  /** The first mainline kernel with it (what an emulated level compares with). */
  since: string;
  /** What it is, as "this kernel has no …" completes. */
  what: string;
  /** How it is detected. */
  detect: string;
  probe(): FeatureStatus;
}

export const FEATURES: Record<FeatureName, FeatureSpec> = {
  bpf: { since: '3.18', what: 'bpf(2)', detect: 'create an array map', probe() {
    try {
      createMap({ name: 'probe_bpf', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }).close();
      return { available: true };
    } catch (e) {
      const code = e instanceof SysError ? e.code : String(e);
      return { available: false, reason: `this process cannot use bpf(2) (${code}; run as root or with CAP_BPF and CAP_PERFMON)` };
    }
  } },
  ringbuf: { since: '5.8', what: 'BPF ring buffer', detect: 'create a ringbuf map', probe() {
    try {
      createMap({ name: 'probe_ringbuf', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 * 4 }).close();
      return { available: true };
    } catch (e) {
      return { available: false, reason: `this kernel has no BPF ring buffer (${e instanceof SysError ? e.code : e}; needs Linux 5.8)` };
    }
  } },
  raw_tp: { since: '4.17', what: 'raw tracepoint programs', detect: 'load `r0 = 0; exit` as raw_tracepoint', probe() {
    const r = tryLoad({ name: 'probe_raw_tp', type: 'raw_tracepoint', insns: RETURN_ZERO });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel cannot load raw tracepoint programs (${r.reason})` };
  } },
  tp_btf: { since: '5.5', what: 'tp_btf programs', detect: 'load a tracing program attached to btf_trace_sys_enter', probe() {
    const id = vmlinuxBtfTypeId('btf_trace_sys_enter', BTF_KIND_TYPEDEF);
    if (id === undefined) return { available: false, reason: 'this kernel has no BTF for tracepoints (/sys/kernel/btf/vmlinux)' };
    const r = tryLoad({ name: 'probe_tp_btf', type: 'tracing', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: id });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel cannot load tp_btf programs (${r.reason})` };
  } },
  uprobe_pmu: { since: '4.17', what: 'uprobe PMU', detect: '/sys/bus/event_source/devices/uprobe/type exists', probe() {
    return dynamicPmu('uprobe') ? { available: true } : { available: false, reason: 'this kernel has no uprobes (CONFIG_UPROBE_EVENTS is not set)' };
  } },
  kprobe_pmu: { since: '4.17', what: 'kprobe PMU', detect: '/sys/bus/event_source/devices/kprobe/type exists', probe() {
    return dynamicPmu('kprobe') ? { available: true } : { available: false, reason: 'this kernel has no kprobes (CONFIG_KPROBES is not set)' };
  } },
  uprobe_multi: { since: '6.6', what: 'uprobe_multi links', detect: 'load a kprobe program for TRACE_UPROBE_MULTI, link it to "/": EBADF means the link type exists (as libbpf)', probe() {
    // As libbpf does: a uprobe_multi link on "/" fails with EBADF where the link type exists.
    const path = nativeCString('/');
    const offsets = allocNative(8);
    try {
      return probeMultiLink({ name: 'probe_upm', what: 'uprobe_multi links', attachType: AttachType.TRACE_UPROBE_MULTI, since: 'Linux 6.6', exists: [Errno.EBADF] }, (v) => {
        setU64(v, LinkCreateAttr.uprobe_multi_path, path.address);
        setU64(v, LinkCreateAttr.uprobe_multi_offsets, offsets.address);
        v.setUint32(LinkCreateAttr.uprobe_multi_cnt, 1, true);
      });
    } finally {
      freeNative(offsets);
      freeNative(path);
    }
  } },
  fentry: { since: '5.5', what: 'fentry/fexit trampolines', detect: 'load an fentry program attached to bpf_fentry_test1 (or do_nanosleep)', probe() {
    const id = vmlinuxBtfTypeId('bpf_fentry_test1', BTF_KIND_FUNC) ?? vmlinuxBtfTypeId('do_nanosleep', BTF_KIND_FUNC);
    if (id === undefined) return { available: false, reason: 'this kernel has no fentry support (no function BTF in /sys/kernel/btf/vmlinux)' };
    const r = tryLoad({ name: 'probe_fentry', type: 'tracing', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_FENTRY, attachBtfId: id });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel has no fentry support (loading an fentry program gives ${r.reason})` };
  } },
  test_run_raw_tp: { since: '5.10', what: 'BPF_PROG_TEST_RUN for raw tracepoints', detect: 'test-run a loaded raw_tracepoint program', probe() {
    const r = tryLoad({ name: 'probe_test_run', type: 'raw_tracepoint', insns: RETURN_ZERO });
    if (!r.ok) return { available: false, reason: `this kernel cannot load raw tracepoint programs (${r.reason})` };
    try {
      testRun({ fd: r.fd, name: 'probe_test_run', type: 'raw_tracepoint', insnCount: 2, close: r.close });
      return { available: true };
    } catch (e) {
      return { available: false, reason: `this kernel cannot run raw tracepoint programs on demand (BPF_PROG_TEST_RUN: ${e instanceof SysError ? e.code : e}; needs Linux 5.10)` };
    } finally {
      r.close();
    }
  } },
  probe_write_user: { since: '4.8', what: 'bpf_probe_write_user', detect: 'kernel lockdown mode, then load a program calling it', probe() {
    const lockdown = readLockdown();
    if (lockdown && lockdown !== 'none') {
      return { available: false, reason: `this kernel forbids bpf_probe_write_user (kernel lockdown is in ${lockdown} mode)` };
    }
    // bpf_probe_write_user(dst = 0, src = fp-8, len = 8): the verifier refuses the helper when locked down.
    const insns = probeProgram((a) => returnZero(a.st(8, R10, -8, 0).mov(R1, imm(0)).mov(R2, R10).alu64('add', R2, imm(-8)).mov(R3, imm(8)).call(Helper.probe_write_user)));
    const r = tryLoad({ name: 'probe_pwu', type: 'raw_tracepoint', insns });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel forbids bpf_probe_write_user (${r.reason}; kernel lockdown is probably in integrity mode)` };
  } },
  btf_vmlinux: { since: '5.4', what: 'kernel BTF', detect: '/sys/kernel/btf/vmlinux exists', probe() {
    return existsSync(VMLINUX_BTF) ? { available: true } : { available: false, reason: 'this kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF is not set)' };
  } },
  isa_v4: { since: '6.6', what: 'BPF ISA v4 (sign-extending moves and loads, signed division, gotol, bswap)', detect: 'load `r0 = 0; r0 = (s32) r0; exit`', probe() {
    const r = tryLoad({ name: 'probe_isa_v4', type: 'raw_tracepoint', insns: probeProgram((a) => a.mov(R0, imm(0)).movsx(R0, R0, 32).exit()) });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel has no BPF ISA v4 (${r.reason}; needs Linux 6.6)` };
  } },
  bounded_loops: { since: '5.3', what: 'bounded loops', detect: 'load a program with a back-edge (`r0 = 0; r0 += 1; if r0 < 4 goto -2; exit`)', probe() {
    const insns = probeProgram((a) => { const again = a.newLabel(); a.mov(R0, imm(0)).label(again).alu64('add', R0, imm(1)).jmp('jlt', R0, imm(4), again).exit(); });
    const r = tryLoad({ name: 'probe_loops', type: 'raw_tracepoint', insns });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel's verifier refuses loops (${r.reason}; needs Linux 5.3)` };
  } },
  global_func_args: { since: '5.12', what: 'BTF global functions with pointer arguments',
    detect: 'load a program calling a BTF global function `long g(struct { char b[16]; } *p, long x)` that reads p', probe() {
      return probeGlobalFunction();
    } },
  bpf_loop: { since: '5.17', what: 'bpf_loop helper', detect: 'helper by id (bpf_loop)', probe() {
    return helperStatus(Helper.loop, 'raw_tracepoint');
  } },
  get_func_ip: { since: '5.15', what: 'bpf_get_func_ip helper', detect: 'helper by id (bpf_get_func_ip) in a kprobe program', probe() {
    return helperStatus(Helper.get_func_ip, 'kprobe');
  } },
  map_elem_iter: { since: '5.9', what: 'BPF map element iterators', detect: 'load an iterator program for bpf_iter_bpf_map_elem (tracing, TRACE_ITER)', probe() {
    const id = vmlinuxBtfTypeId(MAP_ELEM_ITER_FUNC, BTF_KIND_FUNC);
    if (id === undefined) return { available: false, reason: `this kernel has no BPF map element iterators (no ${MAP_ELEM_ITER_FUNC} in /sys/kernel/btf/vmlinux; needs Linux 5.9)` };
    const r = tryLoad({ name: 'probe_map_iter', type: 'tracing', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_ITER, attachBtfId: id });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel cannot load map element iterators (${r.reason || errnoName(r.errno)}; needs Linux 5.9)` };
  } },
  kprobe_multi: { since: '5.18', what: 'kprobe_multi links', detect: 'load a kprobe program for TRACE_KPROBE_MULTI, link it to one unknown symbol: ESRCH/ENOENT means the link type exists', probe() {
    const sym = nativeCString('dtrace_ts_no_such_function');
    const syms = allocNative(8);
    try {
      setU64(syms.view, 0, sym.address);
      return probeMultiLink({ name: 'probe_kpm', what: 'kprobe_multi links', attachType: AttachType.TRACE_KPROBE_MULTI, since: 'Linux 5.18', linkNeeds: 'CONFIG_FPROBE', exists: [Errno.ESRCH, Errno.ENOENT] }, (v) => {
        setU64(v, LinkCreateAttr.kprobe_multi_syms, syms.address);
        v.setUint32(LinkCreateAttr.kprobe_multi_cnt, 1, true);
      });
    } finally {
      freeNative(syms);
      freeNative(sym);
    }
  } },
};

// ---------------------------------------------------------------------------------------------
// Helpers by id and kfuncs by name: detected one by one, when code generation asks.

/**
 * The mainline version that brought each helper code generation may call (include/uapi/linux/
 * bpf.h history); a helper not listed is older than any kernel we run on (≤ 4.18).
 */
export const HELPER_SINCE: Partial<Record<number, string>> = {
  [Helper.probe_read_kernel]: '5.5', [Helper.probe_read_kernel_str]: '5.5', [Helper.probe_read_user]: '5.5', [Helper.probe_read_user_str]: '5.5',
  [Helper.ringbuf_output]: '5.8', [Helper.ringbuf_query]: '5.8', [Helper.get_func_ip]: '5.15', [Helper.loop]: '5.17',
  [Helper.user_ringbuf_drain]: '6.1', [Helper.cgrp_storage_delete]: '6.2',
};

/** The mainline version that brought each kfunc code generation may call. */
export const KFUNC_SINCE: Record<string, string> = Object.fromEntries([
  ...['bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy'].map((n) => [n, '6.4']),
  ...['bpf_strcmp', 'bpf_strcasecmp', 'bpf_strchr', 'bpf_strchrnul', 'bpf_strnchr', 'bpf_strrchr', 'bpf_strlen', 'bpf_strnlen',
    'bpf_strspn', 'bpf_strcspn', 'bpf_strstr', 'bpf_strnstr'].map((n) => [n, '6.17']),
]);

const helperCache = new Map<string, FeatureStatus>();
const kfuncCache = new Map<string, boolean>();

/**
 * Whether programs of `type` may call helper `id`: a program calling it loads, or is refused for
 * anything but the helper being unknown ("unknown func"/"invalid func", as bpftool probes).
 */
export function helperStatus(id: number, type: 'raw_tracepoint' | 'kprobe' = 'raw_tracepoint'): FeatureStatus {
  const key = `${type}:${id}`;
  let status = helperCache.get(key);
  if (!status) {
    const since = HELPER_SINCE[id];
    const level = emulatedLevel();
    if (level && since && versionBelow(level, since)) {
      status = { available: false, reason: `this kernel has no BPF helper #${id} (Linux ${since}; emulating ${level} with DTRACE_TS_KERNEL)` };
    } else {
      const r = tryLoad({ name: 'probe_helper', type, insns: probeProgram((a) => returnZero(a.call(id))) });
      if (r.ok) { r.close(); status = { available: true }; }
      else if (/unknown func|invalid func/.test(r.reason)) status = { available: false, reason: `this kernel has no BPF helper #${id} for ${type} programs (${r.reason})` };
      else status = { available: true };
    }
    helperCache.set(key, status);
  }
  return status;
}

/** Whether the kernel's BTF exports kfunc `name` (and the emulated level, if any, has it). */
export function hasKfunc(name: string): boolean {
  let has = kfuncCache.get(name);
  if (has === undefined) {
    const since = KFUNC_SINCE[name];
    const level = emulatedLevel();
    if (level && (!since || versionBelow(level, since))) has = false;
    else has = existsSync(KERNEL_BTF_PATH) && loadKernelBtf().findFunc(name) !== undefined;
    kfuncCache.set(name, has);
  }
  return has;
}

/** A set whose members are decided one at a time, when first asked about, among `candidates`. */
class LazySet<T> implements ReadonlySet<T> {
  constructor(private readonly candidates: readonly T[], private readonly test: (x: T) => boolean) {}
  has(x: T): boolean { return this.candidates.includes(x) && this.test(x); }
  private members(): T[] { return this.candidates.filter((x) => this.test(x)); }
  get size(): number { return this.members().length; }
  forEach(fn: (value: T, key: T, set: ReadonlySet<T>) => void): void { for (const x of this.members()) fn(x, x, this); }
  *entries(): SetIterator<[T, T]> { for (const x of this.members()) yield [x, x]; }
  *keys(): SetIterator<T> { yield* this.members(); }
  *values(): SetIterator<T> { yield* this.members(); }
  [Symbol.iterator](): SetIterator<T> { return this.values(); }
}

// ---------------------------------------------------------------------------------------------
// The emulated kernel level and the KernelCaps of this run.

let levelRead = false;
let level: string | undefined;

/** `DTRACE_TS_KERNEL` as "major.minor", or undefined when unset; throws when malformed. */
export function emulatedLevel(): string | undefined {
  if (!levelRead) {
    levelRead = true;
    level = parseKernelLevel(process.env.DTRACE_TS_KERNEL);
  }
  return level;
}

/** "5.15" from "5.15" or "5.15.0-91-generic"; undefined for unset/empty; throws otherwise. */
export function parseKernelLevel(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  if (!m) throw new Error(`DTRACE_TS_KERNEL=${text}: expected a mainline kernel version such as 5.15 or 6.1`);
  return `${Number(m[1])}.${Number(m[2])}`;
}

/** Whether version `a` ("major.minor") is older than `b`. */
export function versionBelow(a: string, b: string): boolean {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am < bm || (am === bm && an < bn);
}

/**
 * What code generation may use on this kernel (or on the emulated level): plain data whose
 * fields are probed on first read, so a program that needs none of them costs nothing.
 */
export function kernelCaps(): KernelCaps {
  const emulated = emulatedLevel();
  const helpers = [...new Set(Object.values(Helper))];
  let isaV4: boolean | undefined;
  const caps: KernelCaps = {
    version: emulated ?? (/^(\d+\.\d+)/.exec(osRelease())?.[1] ?? osRelease()),
    get isaV4() { return (isaV4 ??= hasFeature('isa_v4')); },
    kfuncs: new LazySet([...NEWEST_KERNEL.kfuncs], hasKfunc),
    helpers: new LazySet(helpers, (id) => helperStatus(id).available),
    get boundedLoops() { return hasFeature('bounded_loops'); },
    get bpfLoop() { return hasFeature('bpf_loop'); },
  };
  return caps;
}

/**
 * The capabilities of mainline kernel `version` as far as the table knows them, without probing
 * (for compiling in tests as for an older kernel).
 */
export function mainlineCaps(version: string): KernelCaps {
  const helpers = [...new Set(Object.values(Helper))];
  return {
    version,
    isaV4: !versionBelow(version, FEATURES.isa_v4.since),
    kfuncs: new Set([...NEWEST_KERNEL.kfuncs].filter((k) => !versionBelow(version, KFUNC_SINCE[k] ?? '99.0'))),
    helpers: new Set(helpers.filter((id) => !versionBelow(version, HELPER_SINCE[id] ?? '0.0'))),
    boundedLoops: !versionBelow(version, FEATURES.bounded_loops.since),
    bpfLoop: !versionBelow(version, FEATURES.bpf_loop.since),
  };
}

/** The bracketed mode of /sys/kernel/security/lockdown ("none", "integrity", …), if readable. */
function readLockdown(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/security/lockdown', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// A minimal BTF walk (include/uapi/linux/btf.h) to find one type id by name. The full decoder
// lives in src/bpf/btf/; this one keeps feature probing independent of it.

const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
export const BTF_KIND_TYPEDEF = 8;
export const BTF_KIND_FUNC = 12;

/** Bytes that follow the 12-byte btf_type header for each kind (vlen = number of members). */
function btfTrailerBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return 12 * vlen; // STRUCT, UNION
    case 6: return 8 * vlen; // ENUM
    case 13: return 8 * vlen; // FUNC_PROTO
    case 14: return 4; // VAR
    case 15: return 12 * vlen; // DATASEC
    case 17: return 4; // DECL_TAG
    case 19: return 12 * vlen; // ENUM64
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

/** Finds the id of the type `name` of `kind` in a BTF blob; undefined when absent. */
export function findBtfTypeId(btf: Uint8Array, name: string, kind: number): number | undefined {
  const v = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (v.getUint16(0, true) !== 0xeb9f) return undefined;
  const hdrLen = v.getUint32(4, true);
  const typeOff = hdrLen + v.getUint32(8, true);
  const typeLen = v.getUint32(12, true);
  const strOff = hdrLen + v.getUint32(16, true);
  const strLen = v.getUint32(20, true);
  const wanted = Buffer.from(`\0${name}\0`, 'latin1');
  const strings = Buffer.from(btf.buffer, btf.byteOffset + strOff, strLen);
  // Every occurrence of the name in the string section (a name may be shared by several types).
  const nameOffsets = new Set<number>();
  for (let at = strings.indexOf(wanted); at >= 0; at = strings.indexOf(wanted, at + 1)) nameOffsets.add(at + 1);
  if (nameOffsets.size === 0) return undefined;
  let id = 1;
  for (let at = typeOff; at < typeOff + typeLen; id++) {
    const nameOff = v.getUint32(at, true);
    const info = v.getUint32(at + 4, true);
    const k = (info >>> 24) & 0x1f;
    if (k === kind && nameOffsets.has(nameOff)) return id;
    at += 12 + btfTrailerBytes(k, info & 0xffff);
  }
  return undefined;
}

/** Ids already found, by kind and name. */
const vmlinuxIds = new Map<string, number | undefined>();
/** The kernel function a map element iterator program attaches to (its BTF FUNC). */
export const MAP_ELEM_ITER_FUNC = 'bpf_iter_bpf_map_elem';

/**
 * The id of `name` of `kind` (8 typedef, 12 func) in the kernel's BTF, e.g. the attachBtfId of a
 * tp_btf program is the typedef `btf_trace_<tracepoint>`. Streamed through one small buffer
 * (findBtfTypeIdInFile): reading the 5.5 MB file whole cost 90–115 ms here, most of it fresh pages.
 */
export function vmlinuxBtfTypeId(name: string, kind: number): number | undefined {
  const key = `${kind}:${name}`;
  if (!vmlinuxIds.has(key)) {
    let id: number | undefined;
    try { id = findBtfTypeIdInFile(VMLINUX_BTF, name, kind); } catch { id = undefined; }
    vmlinuxIds.set(key, id);
  }
  return vmlinuxIds.get(key);
}

/** Bytes read from a BTF file at a time; a type record larger than this is skipped over unread. */
const BTF_READ_CHUNK_BYTES = 256 << 10;

/**
 * findBtfTypeId on a file, read in chunks into one buffer: the string section first (every
 * offset where the name starts), then the type records, whose ids are their positions.
 */
export function findBtfTypeIdInFile(path: string, name: string, kind: number, chunkBytes = BTF_READ_CHUNK_BYTES): number | undefined {
  const fd = openSync(path, 'r');
  try {
    const wanted = Buffer.from(`\0${name}\0`, 'latin1');
    const buf = Buffer.allocUnsafe(Math.max(chunkBytes, 24, 2 * wanted.length));
    if (readSync(fd, buf, 0, 24, 0) < 24 || buf.readUInt16LE(0) !== 0xeb9f) return undefined;
    const hdrLen = buf.readUInt32LE(4);
    const typeStart = hdrLen + buf.readUInt32LE(8);
    const typeLen = buf.readUInt32LE(12);
    const strStart = hdrLen + buf.readUInt32LE(16);
    const strLen = buf.readUInt32LE(20);
    const nameOffsets = new Set<number>();
    for (let pos = 0; pos < strLen;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, strLen - pos), strStart + pos);
      if (n <= 0) break;
      const chunk = buf.subarray(0, n);
      for (let at = chunk.indexOf(wanted); at >= 0; at = chunk.indexOf(wanted, at + 1)) nameOffsets.add(pos + at + 1);
      if (pos + n >= strLen || n < wanted.length) break;
      // The chunks overlap by all but one byte of the pattern, so a name across two is found.
      pos += n - (wanted.length - 1);
    }
    if (nameOffsets.size === 0) return undefined;
    let id = 1;
    for (let pos = 0; pos < typeLen;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, typeLen - pos), typeStart + pos);
      if (n < 12) break;
      let at = 0;
      for (; at + 12 <= n; id++) {
        const info = buf.readUInt32LE(at + 4);
        const k = (info >>> 24) & 0x1f;
        if (k === kind && nameOffsets.has(buf.readUInt32LE(at))) return id;
        at += 12 + btfTrailerBytes(k, info & 0xffff);
      }
      // The next read starts at the next record (past its end when a record outgrew the chunk).
      pos += at;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
