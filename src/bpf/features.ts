/**
 * @fileoverview What this kernel can do, probed once per process and cached. Providers call
 * `requireFeature` before attaching so that a missing feature is one clear sentence
 * ("fbt: this kernel has no kprobes (CONFIG_KPROBES is not set) and no fentry support") rather
 * than an errno from deep inside an attach.
 *
 * Probes are real attempts (create the map, load the program) where that is cheap, because
 * config files and `bpftool feature probe` are known to be wrong here (tp_btf loads although
 * bpftool says "tracing" is unavailable; design/MACHINE.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { UnsupportedError, SysError, VerifierError } from './errors.js';
import { createMap } from './map.js';
import { loadProgram, testRun, type ProgramSpec } from './program.js';
import { dynamicPmu } from './perf.js';
import { allocNative, bpfTry, closeFd, freeNative, nativeCString, setU64 } from './sys.js';
import { AttachType, BpfCmd, Errno, Helper, LinkCreateAttr, errnoName } from './uapi.js';

export type FeatureName =
  | 'bpf' | 'ringbuf' | 'raw_tp' | 'tp_btf' | 'uprobe_pmu' | 'uprobe_multi' | 'kprobe_pmu' | 'fentry'
  | 'test_run_raw_tp' | 'probe_write_user' | 'btf_vmlinux';

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
    try {
      status = PROBES[name]();
    } catch (e) {
      status = { available: false, reason: `probing ${name} failed: ${(e as Error).message}` };
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
}

// ---------------------------------------------------------------------------------------------
// Probes

/** Encodes one instruction (struct bpf_insn); a local copy so probing needs no assembler. */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, (src << 4) | dst, off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, (imm >>> 24) & 0xff];
}
const MOV64_IMM = 0xb7;
const MOV64_REG = 0xbf;
const ADD64_IMM = 0x07;
const ST_MEM_DW = 0x7a;
const CALL = 0x85;
const EXIT = 0x95;
/** `r0 = 0; exit`. */
const RETURN_ZERO = new Uint8Array([...insn(MOV64_IMM, 0, 0, 0, 0), ...insn(EXIT, 0, 0, 0, 0)]);

function tryLoad(spec: ProgramSpec): { ok: true; close(): void; fd: number } | { ok: false; reason: string; errno: number } {
  try {
    const prog = loadProgram(spec);
    return { ok: true, fd: prog.fd, close: () => prog.close() };
  } catch (e) {
    if (e instanceof VerifierError) return { ok: false, reason: e.reason, errno: e.errno };
    if (e instanceof SysError) return { ok: false, reason: e.code, errno: e.errno };
    throw e;
  }
}

const PROBES: Record<FeatureName, () => FeatureStatus> = {
  bpf() {
    try {
      createMap({ name: 'probe_bpf', type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 }).close();
      return { available: true };
    } catch (e) {
      const code = e instanceof SysError ? e.code : String(e);
      return { available: false, reason: `this process cannot use bpf(2) (${code}; run as root or with CAP_BPF and CAP_PERFMON)` };
    }
  },
  ringbuf() {
    try {
      createMap({ name: 'probe_ringbuf', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 * 4 }).close();
      return { available: true };
    } catch (e) {
      return { available: false, reason: `this kernel has no BPF ring buffer (${e instanceof SysError ? e.code : e}; needs Linux 5.8)` };
    }
  },
  raw_tp() {
    const r = tryLoad({ name: 'probe_raw_tp', type: 'raw_tracepoint', insns: RETURN_ZERO });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel cannot load raw tracepoint programs (${r.reason})` };
  },
  tp_btf() {
    const id = vmlinuxBtfTypeId('btf_trace_sys_enter', BTF_KIND_TYPEDEF);
    if (id === undefined) return { available: false, reason: 'this kernel has no BTF for tracepoints (/sys/kernel/btf/vmlinux)' };
    const r = tryLoad({ name: 'probe_tp_btf', type: 'tracing', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId: id });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel cannot load tp_btf programs (${r.reason})` };
  },
  uprobe_pmu() {
    return dynamicPmu('uprobe') ? { available: true } : { available: false, reason: 'this kernel has no uprobes (CONFIG_UPROBE_EVENTS is not set)' };
  },
  kprobe_pmu() {
    return dynamicPmu('kprobe') ? { available: true } : { available: false, reason: 'this kernel has no kprobes (CONFIG_KPROBES is not set)' };
  },
  uprobe_multi() {
    // As libbpf does: a uprobe_multi link on "/" fails with EBADF where the link type exists.
    const r = tryLoad({ name: 'probe_upm', type: 'kprobe', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_UPROBE_MULTI });
    if (!r.ok) return { available: false, reason: `this kernel has no uprobe_multi links (${r.reason}; needs Linux 6.6)` };
    const path = nativeCString('/');
    const offsets = allocNative(8);
    const attr = allocNative(LinkCreateAttr.sizeBytes);
    try {
      const v = attr.view;
      v.setUint32(LinkCreateAttr.prog_fd, r.fd, true);
      v.setUint32(LinkCreateAttr.attach_type, AttachType.TRACE_UPROBE_MULTI, true);
      setU64(v, LinkCreateAttr.uprobe_multi_path, path.address);
      setU64(v, LinkCreateAttr.uprobe_multi_offsets, offsets.address);
      v.setUint32(LinkCreateAttr.uprobe_multi_cnt, 1, true);
      const fd = bpfTry(BpfCmd.LINK_CREATE, attr.address, LinkCreateAttr.sizeBytes);
      if (fd >= 0) { closeFd(fd); return { available: true }; }
      if (fd === -Errno.EBADF) return { available: true };
      return { available: false, reason: `this kernel has no uprobe_multi links (${errnoName(-fd)}; needs Linux 6.6)` };
    } finally {
      freeNative(attr);
      freeNative(offsets);
      freeNative(path);
      r.close();
    }
  },
  fentry() {
    const id = vmlinuxBtfTypeId('bpf_fentry_test1', BTF_KIND_FUNC) ?? vmlinuxBtfTypeId('do_nanosleep', BTF_KIND_FUNC);
    if (id === undefined) return { available: false, reason: 'this kernel has no fentry support (no function BTF in /sys/kernel/btf/vmlinux)' };
    const r = tryLoad({ name: 'probe_fentry', type: 'tracing', insns: RETURN_ZERO, expectedAttachType: AttachType.TRACE_FENTRY, attachBtfId: id });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel has no fentry support (loading an fentry program gives ${r.reason})` };
  },
  test_run_raw_tp() {
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
  },
  probe_write_user() {
    const lockdown = readLockdown();
    if (lockdown && lockdown !== 'none') {
      return { available: false, reason: `this kernel forbids bpf_probe_write_user (kernel lockdown is in ${lockdown} mode)` };
    }
    // bpf_probe_write_user(dst = 0, src = fp-8, len = 8): the verifier refuses the helper when locked down.
    const insns = new Uint8Array([
      ...insn(ST_MEM_DW, 10, 0, -8, 0),
      ...insn(MOV64_IMM, 1, 0, 0, 0),
      ...insn(MOV64_REG, 2, 10, 0, 0),
      ...insn(ADD64_IMM, 2, 0, 0, -8),
      ...insn(MOV64_IMM, 3, 0, 0, 8),
      ...insn(CALL, 0, 0, 0, Helper.probe_write_user),
      ...RETURN_ZERO,
    ]);
    const r = tryLoad({ name: 'probe_pwu', type: 'raw_tracepoint', insns });
    if (r.ok) { r.close(); return { available: true }; }
    return { available: false, reason: `this kernel forbids bpf_probe_write_user (${r.reason}; kernel lockdown is probably in integrity mode)` };
  },
  btf_vmlinux() {
    return existsSync(VMLINUX_BTF) ? { available: true } : { available: false, reason: 'this kernel has no BTF (/sys/kernel/btf/vmlinux; CONFIG_DEBUG_INFO_BTF is not set)' };
  },
};

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

let vmlinuxBtf: Uint8Array | undefined;
/**
 * The id of `name` of `kind` (8 typedef, 12 func) in the kernel's BTF, e.g. the attachBtfId of a
 * tp_btf program is the typedef `btf_trace_<tracepoint>`. Reads vmlinux BTF once (≈ 20 ms walk).
 */
export function vmlinuxBtfTypeId(name: string, kind: number): number | undefined {
  try {
    vmlinuxBtf ??= readFileSync(VMLINUX_BTF);
  } catch {
    return undefined;
  }
  return findBtfTypeId(vmlinuxBtf, name, kind);
}
