/**
 * @fileoverview Loading BPF programs (BPF_PROG_LOAD) and running them (BPF_PROG_TEST_RUN).
 *
 * Load strategy (design/MACHINE.md): first with log level 0, which costs nothing when the
 * program is accepted; only on failure load again with log level 1 and a large buffer, so the
 * VerifierError carries the log and the failing instruction. Since Linux 6.4 the log rotates
 * (a too-small buffer keeps the tail, where the error is) and the kernel reports the size it
 * needed (log_true_size), so one retry with the right size suffices.
 */
import { allocNative, bpf, bpfTry, closeFd, freeNative, nativeCString, setU32Fields, setU64, sysError, type NativeMemory } from './sys.js';
import { VerifierError } from './errors.js';
import { setObjectName } from './map.js';
import {
  BPF_INSN_SIZE_BYTES, BpfCmd, Errno, InfoByFdAttr, LogLevel, ProgInfo, ProgLoadAttr, ProgType, TestRunAttr,
  TestRunFlag, errnoName, type ProgTypeName,
} from './uapi.js';

export interface ProgramSpec {
  name: string;
  type: ProgTypeName;
  /** Encoded instructions, 8 bytes each (struct bpf_insn, little endian). */
  insns: Uint8Array;
  /** Defaults to 'GPL' (tracing helpers such as bpf_probe_read_* are GPL-only). */
  license?: string;
  expectedAttachType?: number;
  /** BTF id of the attach target (tp_btf, fentry). */
  attachBtfId?: number;
  /** fd of the BTF object holding attachBtfId when not vmlinux. */
  attachBtfObjFd?: number;
  kernVersion?: number;
  /** BPF_F_* program flags (uapi ProgFlag). */
  flags?: number;
  /** fd of the program's BTF (for func_info/line_info). */
  btfFd?: number;
  /** struct bpf_func_info records (8 bytes each: insn index, BTF FUNC id); needs btfFd. */
  funcInfo?: Uint8Array;
  /** struct bpf_line_info records (16 bytes each); needs btfFd. */
  lineInfo?: Uint8Array;
  /** Log level for the diagnostic reload: 1 (default) or 2 (every state). */
  logLevel?: 1 | 2;
  /** First verifier log buffer size on failure (default 4 MiB; grown to what the kernel needs). */
  logSizeBytes?: number;
}

export interface BpfProgram {
  readonly fd: number;
  readonly name: string;
  readonly type: ProgTypeName;
  readonly insnCount: number;
  close(): void;
}

/** Initial verifier log buffer on failure; grown to log_true_size when the kernel says so. */
const INITIAL_LOG_SIZE_BYTES = 4 << 20;
const MAX_LOG_SIZE_BYTES = 256 << 20;
const EAGAIN_RETRIES = 5;

/** Loads a program; throws VerifierError (with the log) on rejection, SysError otherwise. */
export function loadProgram(spec: ProgramSpec): BpfProgram {
  if (spec.insns.length === 0 || spec.insns.length % BPF_INSN_SIZE_BYTES !== 0) {
    throw new RangeError(`program ${spec.name}: instructions are ${spec.insns.length} bytes, not a non-zero multiple of 8`);
  }
  const insnCount = spec.insns.length / BPF_INSN_SIZE_BYTES;
  const insns = allocNative(spec.insns.length);
  insns.bytes.set(spec.insns);
  const license = nativeCString(spec.license ?? 'GPL');
  const attr = allocNative(ProgLoadAttr.sizeBytes);
  const infos = nativeInfos(spec);
  try {
    const first = loadOnce(spec, attr, insns, license, insnCount, undefined, 0, infos);
    if (first >= 0) return wrapProgram(first, spec, insnCount);

    // Rejected: load again with a log to say why.
    let logSize = Math.max(64, spec.logSizeBytes ?? INITIAL_LOG_SIZE_BYTES);
    for (;;) {
      const log = allocNative(logSize);
      try {
        const r = loadOnce(spec, attr, insns, license, insnCount, log, spec.logLevel ?? LogLevel.LEVEL1, infos);
        if (r >= 0) return wrapProgram(r, spec, insnCount); // accepted this time (a transient failure)
        const trueSize = attr.view.getUint32(ProgLoadAttr.log_true_size, true);
        if (r === -Errno.ENOSPC && trueSize > logSize && logSize < MAX_LOG_SIZE_BYTES) {
          logSize = Math.min(MAX_LOG_SIZE_BYTES, trueSize + 1);
          continue;
        }
        const text = readLog(log);
        const errno = r === -Errno.ENOSPC ? -first : -r;
        if (!text.trim()) throw sysError('BPF_PROG_LOAD', errno, `load program ${spec.name} (${spec.type})`);
        const { insnIndex, reason } = parseVerifierLog(text);
        throw new VerifierError(spec.name, errno, errnoName(errno), text, insnIndex, reason);
      } finally {
        freeNative(log);
      }
    }
  } finally {
    freeNative(attr);
    freeNative(license);
    freeNative(insns);
    for (const m of infos) if (m) freeNative(m);
  }
}

/** func_info / line_info copied to native memory (undefined when absent). */
function nativeInfos(spec: ProgramSpec): [NativeMemory | undefined, NativeMemory | undefined] {
  const copy = (b: Uint8Array | undefined): NativeMemory | undefined => {
    if (!b || b.length === 0 || spec.btfFd === undefined) return undefined;
    const m = allocNative(b.length);
    m.bytes.set(b);
    return m;
  };
  return [copy(spec.funcInfo), copy(spec.lineInfo)];
}

function loadOnce(spec: ProgramSpec, attr: NativeMemory, insns: NativeMemory, license: NativeMemory,
  insnCount: number, log: NativeMemory | undefined, logLevel: number,
  infos: [NativeMemory | undefined, NativeMemory | undefined] = [undefined, undefined]): number {
  for (let attempt = 0; ; attempt++) {
    attr.bytes.fill(0);
    const v = attr.view;
    setU32Fields(v, ProgLoadAttr, { prog_type: ProgType[spec.type], insn_cnt: insnCount });
    setU64(v, ProgLoadAttr.insns, insns.address);
    setU64(v, ProgLoadAttr.license, license.address);
    if (log) {
      log.bytes[0] = 0;
      v.setUint32(ProgLoadAttr.log_level, logLevel, true);
      v.setUint32(ProgLoadAttr.log_size, log.sizeBytes, true);
      setU64(v, ProgLoadAttr.log_buf, log.address);
    }
    setU32Fields(v, ProgLoadAttr, {
      kern_version: spec.kernVersion, prog_flags: spec.flags, expected_attach_type: spec.expectedAttachType,
      prog_btf_fd: spec.btfFd, attach_btf_id: spec.attachBtfId, attach_btf_obj_fd: spec.attachBtfObjFd,
    });
    setObjectName(attr.bytes, ProgLoadAttr.prog_name, spec.name);
    const [funcInfo, lineInfo] = infos;
    if (funcInfo) {
      v.setUint32(ProgLoadAttr.func_info_rec_size, 8, true);
      setU64(v, ProgLoadAttr.func_info, funcInfo.address);
      v.setUint32(ProgLoadAttr.func_info_cnt, funcInfo.sizeBytes / 8, true);
    }
    if (lineInfo) {
      v.setUint32(ProgLoadAttr.line_info_rec_size, 16, true);
      setU64(v, ProgLoadAttr.line_info, lineInfo.address);
      v.setUint32(ProgLoadAttr.line_info_cnt, lineInfo.sizeBytes / 16, true);
    }
    const r = bpfTry(BpfCmd.PROG_LOAD, attr.address, ProgLoadAttr.sizeBytes);
    // The verifier gives up with EAGAIN when a signal is pending; try again.
    if (r === -Errno.EAGAIN && attempt < EAGAIN_RETRIES) continue;
    return r;
  }
}

function readLog(log: NativeMemory): string {
  let end = log.bytes.indexOf(0);
  if (end < 0) end = log.sizeBytes;
  return Buffer.from(log.bytes.buffer, log.bytes.byteOffset, end).toString('utf8');
}

/** Lines the verifier prints after the verdict; they say nothing about the failure. */
const TRAILER = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|mark_read|peak_states)/;

/**
 * Finds the failing instruction and the error message in a verifier log. The verifier prints
 * each instruction as `N: (op) text` before checking it, so the last such line is where it
 * stopped; early passes (CFG check) name the instruction in the message instead ("from insn 3").
 */
export function parseVerifierLog(log: string): { insnIndex: number | undefined; reason: string } {
  const lines = log.split('\n').map((l) => l.trimEnd()).filter((l) => l.length > 0);
  let reasonAt = lines.length - 1;
  while (reasonAt >= 0 && TRAILER.test(lines[reasonAt])) reasonAt--;
  const reason = reasonAt >= 0 ? lines[reasonAt] : '';
  let insnIndex: number | undefined;
  for (let i = reasonAt; i >= 0; i--) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(lines[i]);
    if (m) { insnIndex = Number(m[1]); break; }
  }
  if (insnIndex === undefined) {
    const m = /\binsn (\d+)/.exec(reason) ?? /\binsn #?(\d+)/.exec(lines.slice(Math.max(0, reasonAt - 3), reasonAt + 1).join('\n'));
    if (m) insnIndex = Number(m[1]);
  }
  return { insnIndex, reason };
}

function wrapProgram(fd: number, spec: ProgramSpec, insnCount: number): BpfProgram {
  let closed = false;
  return {
    fd,
    name: spec.name,
    type: spec.type,
    insnCount,
    close() {
      if (closed) return;
      closed = true;
      closeFd(fd);
    },
  };
}

export interface TestRunOptions {
  /** Context: for raw_tracepoint programs, the u64 arguments. */
  ctxIn?: Uint8Array;
  /** Packet data (skb/xdp programs). */
  dataIn?: Uint8Array;
  /** Repeat count (not allowed for raw_tracepoint programs). */
  repeat?: number;
  /** Run on this CPU (raw_tracepoint only; sets BPF_F_TEST_RUN_ON_CPU). */
  cpu?: number;
  flags?: number;
}

export interface TestRunResult { retval: number; durationNs: number }

const TEST_RUN_SCRATCH_BYTES = 4096;
let testRunScratch: NativeMemory | undefined;

/**
 * Runs a program once in the calling thread (BPF_PROG_TEST_RUN). BEGIN and END clauses use this:
 * no probe, no race, and `pid` is the tracer itself.
 */
export function testRun(prog: BpfProgram, opts: TestRunOptions = {}): TestRunResult {
  const ctxSize = opts.ctxIn?.length ?? 0;
  const dataSize = opts.dataIn?.length ?? 0;
  const needBytes = TestRunAttr.sizeBytes + ctxSize + dataSize;
  // A reused scratch block: allocating native memory costs more than the run itself.
  const reuse = needBytes <= TEST_RUN_SCRATCH_BYTES;
  const block = reuse ? (testRunScratch ??= allocNative(TEST_RUN_SCRATCH_BYTES)) : allocNative(needBytes);
  if (reuse) block.bytes.fill(0, 0, needBytes);
  try {
    const v = block.view;
    const ctxAt = TestRunAttr.sizeBytes;
    const dataAt = ctxAt + ctxSize;
    v.setUint32(TestRunAttr.prog_fd, prog.fd, true);
    if (opts.ctxIn && ctxSize) {
      block.bytes.set(opts.ctxIn, ctxAt);
      v.setUint32(TestRunAttr.ctx_size_in, ctxSize, true);
      setU64(v, TestRunAttr.ctx_in, block.address + ctxAt);
    }
    if (opts.dataIn && dataSize) {
      block.bytes.set(opts.dataIn, dataAt);
      v.setUint32(TestRunAttr.data_size_in, dataSize, true);
      setU64(v, TestRunAttr.data_in, block.address + dataAt);
    }
    v.setUint32(TestRunAttr.repeat, opts.repeat ?? 0, true);
    let flags = opts.flags ?? 0;
    if (opts.cpu !== undefined) {
      flags |= TestRunFlag.RUN_ON_CPU;
      v.setUint32(TestRunAttr.cpu, opts.cpu, true);
    }
    v.setUint32(TestRunAttr.flags, flags, true);
    bpf(BpfCmd.PROG_TEST_RUN, block, TestRunAttr.sizeBytes, `run program ${prog.name}`);
    return { retval: v.getUint32(TestRunAttr.retval, true), durationNs: v.getUint32(TestRunAttr.duration, true) };
  } finally {
    if (!reuse) freeNative(block);
  }
}

/** Encodes u64 raw-tracepoint arguments as the ctx_in of testRun. */
export function rawTracepointArgs(args: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(Math.max(1, args.length) * 8);
  const v = new DataView(out.buffer);
  args.forEach((a, i) => v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(a)), true));
  return out;
}

export interface ProgramInfo {
  id: number; type: number; tag: string; name: string; runCount: bigint; runTimeNs: bigint;
  /** Instructions the verifier processed (Linux 5.16+; 0 before). */
  verifiedInsns: number;
}

/** BPF_OBJ_GET_INFO_BY_FD on a program (the id is what `bpftool prog show id N` takes). */
export function programInfo(fd: number): ProgramInfo {
  const block = allocNative(InfoByFdAttr.sizeBytes + ProgInfo.sizeBytes);
  try {
    const v = block.view;
    v.setUint32(InfoByFdAttr.bpf_fd, fd, true);
    v.setUint32(InfoByFdAttr.info_len, ProgInfo.sizeBytes, true);
    setU64(v, InfoByFdAttr.info, block.address + InfoByFdAttr.sizeBytes);
    bpf(BpfCmd.OBJ_GET_INFO_BY_FD, block, InfoByFdAttr.sizeBytes, `get information on program fd ${fd}`);
    const at = InfoByFdAttr.sizeBytes;
    const nameBytes = block.bytes.subarray(at + ProgInfo.name, at + ProgInfo.name + 16);
    const nameEnd = nameBytes.indexOf(0);
    return {
      type: v.getUint32(at + ProgInfo.type, true),
      id: v.getUint32(at + ProgInfo.id, true),
      tag: Buffer.from(block.bytes.subarray(at + ProgInfo.tag, at + ProgInfo.tag + 8)).toString('hex'),
      name: Buffer.from(nameBytes.subarray(0, nameEnd < 0 ? 16 : nameEnd)).toString('latin1'),
      runCount: v.getBigUint64(at + ProgInfo.run_cnt, true),
      runTimeNs: v.getBigUint64(at + ProgInfo.run_time_ns, true),
      verifiedInsns: v.getUint32(at + ProgInfo.verified_insns, true),
    };
  } finally {
    freeNative(block);
  }
}
