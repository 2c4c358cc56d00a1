/**
 * @fileoverview Attaching loaded programs to events. Every attachment is a `Link` that owns its
 * file descriptors: closing it detaches, and so does the tracer's death (all links here are
 * fd-based; nothing is registered in tracefs that could outlive the process).
 *
 * Costs that shaped the choices (design/MACHINE.md): a perf-event tracepoint takes 60–80 ms to
 * detach, a raw tracepoint 0.1 ms, so providers with many probes on one tracepoint (syscall)
 * should use one raw tracepoint and dispatch in BPF; a perf uprobe takes ~100 ms to detach, so
 * many probes in one binary should use one uprobe_multi link.
 */
import { allocNative, bpf, bpfTry, closeFd, closeFdAsync, freeNative, ioctl, nativeCString, setU64, sysError } from './sys.js';
import { openPerfEvent, dynamicPmu, type PerfEventOptions } from './perf.js';
import { tracepointId } from './tracefs.js';
import { onlineCpus } from './map.js';
import { UnsupportedError } from './errors.js';
import type { BpfProgram } from './program.js';
import {
  AttachType, BpfCmd, Errno, InfoByFdAttr, LinkCreateAttr, LinkFlag, LinkInfo, PerfIoctl, PerfSwId, PerfType, RawTracepointAttr,
} from './uapi.js';

export interface Link {
  /** What is attached where, e.g. 'tracepoint:syscalls/sys_enter_getpid'. */
  readonly describe: string;
  /** The BPF link fd, or the perf event fd when attached with ioctl(SET_BPF). */
  readonly fd: number;
  /** All fds this link owns (link and perf event). */
  readonly fds: readonly number[];
  close(): void;
  /** Like close(), with the fds closed in parallel on worker threads (see closeLinksAsync). */
  closeAsync(): Promise<void>;
}

function makeLink(describe: string, fds: number[]): Link {
  let closed = false;
  return {
    describe,
    fd: fds[0],
    fds,
    close() {
      if (closed) return;
      closed = true;
      for (const fd of fds) closeFd(fd);
    },
    async closeAsync() {
      if (closed) return;
      closed = true;
      // The link before its perf event, as close() does.
      for (const fd of fds) await closeFdAsync(fd);
    },
  };
}

/** Attaches a raw_tracepoint program to a kernel tracepoint by name (e.g. 'sys_enter'). */
export function attachRawTracepoint(prog: BpfProgram, tpName: string, attempt = `attach raw tracepoint ${tpName}`): Link {
  const name = nativeCString(tpName);
  const attr = allocNative(RawTracepointAttr.sizeBytes);
  try {
    setU64(attr.view, RawTracepointAttr.name, name.address);
    attr.view.setUint32(RawTracepointAttr.prog_fd, prog.fd, true);
    const fd = bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr, 16, attempt);
    return makeLink(`raw_tracepoint:${tpName}`, [fd]);
  } finally {
    freeNative(attr);
    freeNative(name);
  }
}

/**
 * Attaches a BTF-typed program (tracing: tp_btf, fentry/fexit; lsm) whose target was fixed at load
 * time by attachBtfId.
 */
export function attachTracing(prog: BpfProgram, describe: string, attempt = `attach ${describe}`): Link {
  const attr = allocNative(RawTracepointAttr.sizeBytes);
  try {
    attr.view.setUint32(RawTracepointAttr.prog_fd, prog.fd, true);
    const fd = bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr, 16, attempt);
    return makeLink(describe, [fd]);
  } finally {
    freeNative(attr);
  }
}

/**
 * Attaches `prog` to an open perf event fd: BPF_LINK_CREATE (attach type BPF_PERF_EVENT), or on
 * kernels without perf links, ioctl(SET_BPF) + ioctl(ENABLE). Takes ownership of `perfFd`.
 */
export function attachToPerfEvent(prog: BpfProgram, perfFd: number, describe: string, attempt: string, cookie?: bigint): Link {
  const attr = allocNative(LinkCreateAttr.sizeBytes);
  try {
    const v = attr.view;
    v.setUint32(LinkCreateAttr.prog_fd, prog.fd, true);
    v.setUint32(LinkCreateAttr.target_fd, perfFd, true);
    v.setUint32(LinkCreateAttr.attach_type, AttachType.PERF_EVENT, true);
    if (cookie !== undefined) setU64(v, LinkCreateAttr.perf_event_bpf_cookie, cookie);
    const r = bpfTry(BpfCmd.LINK_CREATE, attr.address, LinkCreateAttr.sizeBytes);
    if (r >= 0) return makeLink(describe, [r, perfFd]);
    const noPerfLinks = r === -Errno.EINVAL || r === -Errno.ENOTSUPP || r === -Errno.EOPNOTSUPP;
    // ioctl(SET_BPF) cannot carry a cookie, so only a cookie-less attach may fall back.
    if (!noPerfLinks || cookie !== undefined) {
      closeFd(perfFd);
      throw sysError('BPF_LINK_CREATE', -r, attempt);
    }
    try {
      ioctl(perfFd, PerfIoctl.SET_BPF, prog.fd, 'PERF_EVENT_IOC_SET_BPF', attempt);
      ioctl(perfFd, PerfIoctl.ENABLE, 0, 'PERF_EVENT_IOC_ENABLE', attempt);
    } catch (e) {
      closeFd(perfFd);
      throw e;
    }
    return makeLink(describe, [perfFd]);
  } finally {
    freeNative(attr);
  }
}

/** Attaches a tracepoint program to tracefs event `category:name` (fires on every CPU). */
export function attachTracepoint(prog: BpfProgram, category: string, name: string, attempt = `attach tracepoint ${category}:${name}`): Link {
  const id = tracepointId(category, name);
  // pid -1 with cpu 0 is the system-wide form; a tracepoint's program runs on every CPU.
  const perfFd = openPerfEvent({ type: PerfType.TRACEPOINT, config: id, samplePeriod: 1 }, { pid: -1, cpu: 0 }, attempt);
  return attachToPerfEvent(prog, perfFd, `tracepoint:${category}/${name}`, attempt);
}

export interface PerfEventAttachOptions {
  cpu: number;
  type: number;
  config: number | bigint;
  sampleFreq?: number;
  samplePeriod?: number | bigint;
  /** Restrict to one process (default: every process on `cpu`). */
  pid?: number;
  cookie?: bigint;
  /** perf_event_attr flag bits to set, e.g. exclude_kernel for user-mode counting. */
  flagBits?: PerfEventOptions['flagBits'];
}

/** Attaches a perf_event program to a sampling event on one CPU. */
export function attachPerfEvent(prog: BpfProgram, opts: PerfEventAttachOptions, attempt?: string): Link {
  const describe = `perf_event:${opts.type}/${opts.config} cpu ${opts.cpu}`;
  const why = attempt ?? `attach ${describe}`;
  const event: PerfEventOptions = { type: opts.type, config: opts.config };
  if (opts.flagBits) event.flagBits = opts.flagBits;
  if (opts.sampleFreq !== undefined) event.sampleFreq = opts.sampleFreq;
  else event.samplePeriod = opts.samplePeriod ?? 1;
  const perfFd = openPerfEvent(event, { pid: opts.pid ?? -1, cpu: opts.cpu }, why);
  return attachToPerfEvent(prog, perfFd, describe, why, opts.cookie);
}

/**
 * profile-N / tick-N: a CPU_CLOCK software event per CPU, at `hz` samples per second or every
 * `periodNs` nanoseconds. Returns one link per CPU (default: the online CPUs). If one CPU fails,
 * the links already made are closed before the error is thrown.
 */
export function attachProfile(prog: BpfProgram, opts: { hz?: number; periodNs?: number | bigint; cpus?: readonly number[] }, attempt?: string): Link[] {
  if ((opts.hz === undefined) === (opts.periodNs === undefined)) throw new RangeError('attachProfile: give exactly one of hz and periodNs');
  const links: Link[] = [];
  try {
    for (const cpu of opts.cpus ?? onlineCpus()) {
      const base = { cpu, type: PerfType.SOFTWARE, config: PerfSwId.CPU_CLOCK };
      links.push(attachPerfEvent(prog, opts.hz !== undefined ? { ...base, sampleFreq: opts.hz } : { ...base, samplePeriod: opts.periodNs }, attempt));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  return links;
}

export interface UprobeOptions {
  /** The binary or library (its path is resolved by the kernel when attaching). */
  path: string;
  /** File offset of the instruction (symbol address − PT_LOAD vaddr + segment offset). */
  fileOffset: number | bigint;
  retprobe: boolean;
  /** Only this process (default: every process). */
  pid?: number;
  /** File offset of a USDT semaphore the kernel increments while attached. */
  refCtrOffset?: number;
  cookie?: bigint;
}

/** Attaches a kprobe-type program to a uprobe through the uprobe PMU (perf_event_open). */
export function attachUprobe(prog: BpfProgram, opts: UprobeOptions, attempt?: string): Link {
  const describe = `${opts.retprobe ? 'uretprobe' : 'uprobe'}:${opts.path}+0x${BigInt(opts.fileOffset).toString(16)}${opts.pid !== undefined ? ` pid ${opts.pid}` : ''}`;
  const why = attempt ?? `attach ${describe}`;
  const pmu = dynamicPmu('uprobe');
  if (!pmu) throw new UnsupportedError('uprobe_pmu', why, 'this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe)');
  let config = opts.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n;
  if (opts.refCtrOffset) {
    if (pmu.refCtrOffsetShift === undefined) throw new UnsupportedError('uprobe_ref_ctr', why, 'this kernel cannot attach uprobes with a USDT semaphore (no format/ref_ctr_offset)');
    config |= BigInt(opts.refCtrOffset) << BigInt(pmu.refCtrOffsetShift);
  }
  // The path only needs to live during perf_event_open.
  const path = nativeCString(opts.path);
  let perfFd: number;
  try {
    perfFd = openPerfEvent({ type: pmu.type, config, config1: path.address, config2: opts.fileOffset, samplePeriod: 1 },
      opts.pid !== undefined ? { pid: opts.pid, cpu: -1 } : { pid: -1, cpu: 0 }, why);
  } finally {
    freeNative(path);
  }
  return attachToPerfEvent(prog, perfFd, describe, why, opts.cookie);
}

export interface UprobeMultiOptions {
  path: string;
  offsets: readonly (number | bigint)[];
  refCtrOffsets?: readonly (number | bigint)[];
  cookies?: readonly bigint[];
  retprobe: boolean;
  pid?: number;
}

/**
 * Attaches one program to many offsets of one binary with a single uprobe_multi link (Linux 6.6).
 * The program must be loaded as type 'kprobe' with expectedAttachType BPF_TRACE_UPROBE_MULTI.
 */
export function attachUprobeMulti(prog: BpfProgram, opts: UprobeMultiOptions, attempt?: string): Link {
  const n = opts.offsets.length;
  const describe = `${opts.retprobe ? 'uretprobe' : 'uprobe'}_multi:${opts.path} (${n} offset${n === 1 ? '' : 's'})${opts.pid !== undefined ? ` pid ${opts.pid}` : ''}`;
  const why = attempt ?? `attach ${describe}`;
  if (n === 0) throw new RangeError(`${why}: no offsets`);
  for (const [what, arr] of [['refCtrOffsets', opts.refCtrOffsets], ['cookies', opts.cookies]] as const) {
    if (arr && arr.length !== n) throw new RangeError(`${why}: ${what} has ${arr.length} entries, offsets has ${n}`);
  }
  const path = nativeCString(opts.path);
  const arrays = allocNative(8 * n * 3);
  const attr = allocNative(LinkCreateAttr.sizeBytes);
  try {
    const offsetsAt = 0;
    const refAt = 8 * n;
    const cookiesAt = 16 * n;
    for (let i = 0; i < n; i++) {
      setU64(arrays.view, offsetsAt + 8 * i, opts.offsets[i]);
      if (opts.refCtrOffsets) setU64(arrays.view, refAt + 8 * i, opts.refCtrOffsets[i]);
      if (opts.cookies) setU64(arrays.view, cookiesAt + 8 * i, opts.cookies[i]);
    }
    const v = attr.view;
    v.setUint32(LinkCreateAttr.prog_fd, prog.fd, true);
    v.setUint32(LinkCreateAttr.attach_type, AttachType.TRACE_UPROBE_MULTI, true);
    setU64(v, LinkCreateAttr.uprobe_multi_path, path.address);
    setU64(v, LinkCreateAttr.uprobe_multi_offsets, arrays.address + offsetsAt);
    if (opts.refCtrOffsets) setU64(v, LinkCreateAttr.uprobe_multi_ref_ctr_offsets, arrays.address + refAt);
    if (opts.cookies) setU64(v, LinkCreateAttr.uprobe_multi_cookies, arrays.address + cookiesAt);
    v.setUint32(LinkCreateAttr.uprobe_multi_cnt, n, true);
    v.setUint32(LinkCreateAttr.uprobe_multi_flags, opts.retprobe ? LinkFlag.UPROBE_MULTI_RETURN : 0, true);
    v.setUint32(LinkCreateAttr.uprobe_multi_pid, opts.pid ?? 0, true);
    const fd = bpf(BpfCmd.LINK_CREATE, attr, LinkCreateAttr.sizeBytes, why);
    return makeLink(describe, [fd]);
  } finally {
    freeNative(attr);
    freeNative(arrays);
    freeNative(path);
  }
}

export interface KprobeOptions {
  /** Kernel function (symbol) name. */
  func: string;
  /** Byte offset into the function (entry probes only). */
  offset?: number;
  retprobe: boolean;
  cookie?: bigint;
}

/**
 * Attaches a kprobe-type program to a kernel function through the kprobe PMU (perf_event_open with
 * the PMU type from sysfs and the symbol name in config1): the probe lives as long as the fd, so
 * it dies with the tracer — nothing is written to tracefs `kprobe_events`.
 */
export function attachKprobe(prog: BpfProgram, opts: KprobeOptions, attempt?: string): Link {
  const describe = `${opts.retprobe ? 'kretprobe' : 'kprobe'}:${opts.func}${opts.offset ? `+${opts.offset}` : ''}`;
  const why = attempt ?? `attach ${describe}`;
  const pmu = dynamicPmu('kprobe');
  if (!pmu) throw new UnsupportedError('kprobe_pmu', why, 'this kernel has no kprobes (CONFIG_KPROBES is not set)');
  const name = nativeCString(opts.func);
  let perfFd: number;
  try {
    perfFd = openPerfEvent({ type: pmu.type, config: opts.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n, config1: name.address, config2: opts.offset ?? 0, samplePeriod: 1 },
      { pid: -1, cpu: 0 }, why);
  } finally {
    freeNative(name);
  }
  return attachToPerfEvent(prog, perfFd, describe, why, opts.cookie);
}

export interface KprobeMultiOptions {
  /** Kernel function names (the kernel resolves them through kallsyms). */
  funcs: readonly string[];
  /** One per function: what bpf_get_attach_cookie() returns when that function fires. */
  cookies?: readonly bigint[];
  retprobe: boolean;
}

/**
 * Attaches one program to many kernel functions with a single kprobe_multi link (Linux 5.18, on
 * fprobe/ftrace): hundreds of functions attach in milliseconds where one kprobe each would take
 * seconds. The program must be loaded as type 'kprobe' with expectedAttachType
 * BPF_TRACE_KPROBE_MULTI.
 */
export function attachKprobeMulti(prog: BpfProgram, opts: KprobeMultiOptions, attempt?: string): Link {
  const n = opts.funcs.length;
  const describe = `${opts.retprobe ? 'kretprobe' : 'kprobe'}_multi (${n} function${n === 1 ? '' : 's'})`;
  const why = attempt ?? `attach ${describe}`;
  if (n === 0) throw new RangeError(`${why}: no functions`);
  if (opts.cookies && opts.cookies.length !== n) throw new RangeError(`${why}: cookies has ${opts.cookies.length} entries, funcs has ${n}`);
  const names = opts.funcs.map((f) => nativeCString(f));
  const arrays = allocNative(16 * n);
  const attr = allocNative(LinkCreateAttr.sizeBytes);
  try {
    for (let i = 0; i < n; i++) {
      setU64(arrays.view, 8 * i, names[i]!.address);
      if (opts.cookies) setU64(arrays.view, 8 * n + 8 * i, opts.cookies[i]!);
    }
    const v = attr.view;
    v.setUint32(LinkCreateAttr.prog_fd, prog.fd, true);
    v.setUint32(LinkCreateAttr.attach_type, AttachType.TRACE_KPROBE_MULTI, true);
    v.setUint32(LinkCreateAttr.kprobe_multi_flags, opts.retprobe ? LinkFlag.KPROBE_MULTI_RETURN : 0, true);
    v.setUint32(LinkCreateAttr.kprobe_multi_cnt, n, true);
    setU64(v, LinkCreateAttr.kprobe_multi_syms, arrays.address);
    if (opts.cookies) setU64(v, LinkCreateAttr.kprobe_multi_cookies, arrays.address + 8 * n);
    const fd = bpf(BpfCmd.LINK_CREATE, attr, LinkCreateAttr.sizeBytes, why);
    return makeLink(describe, [fd]);
  } finally {
    freeNative(attr);
    freeNative(arrays);
    for (const name of names) freeNative(name);
  }
}

/** Closes links in reverse order of creation (the order DTrace detaches in); never throws. */
export function closeLinks(links: readonly Link[]): void {
  for (let i = links.length - 1; i >= 0; i--) {
    try { links[i].close(); } catch { /* keep detaching the rest */ }
  }
}

/**
 * Closes many links at once: each detach of a perf-event kprobe costs an RCU grace period
 * (≈ 60–80 ms, design/MACHINE.md), so `fbt::vfs_*:entry` on a kernel without kprobe_multi — one
 * kprobe per function — would take seconds to detach one after another. Closing on libuv's
 * worker threads lets the grace periods overlap. Never rejects.
 */
export async function closeLinksAsync(links: readonly Link[]): Promise<void> {
  await Promise.all(links.map((l) => l.closeAsync().catch(() => undefined)));
}

/** BPF_OBJ_GET_INFO_BY_FD on a link fd: its id (for `bpftool link show id N`), type and program. */
export function linkInfo(fd: number): { id: number; type: number; progId: number } {
  const block = allocNative(InfoByFdAttr.sizeBytes + LinkInfo.sizeBytes);
  try {
    const v = block.view;
    const at = InfoByFdAttr.sizeBytes;
    v.setUint32(InfoByFdAttr.bpf_fd, fd, true);
    v.setUint32(InfoByFdAttr.info_len, LinkInfo.sizeBytes, true);
    setU64(v, InfoByFdAttr.info, block.address + at);
    bpf(BpfCmd.OBJ_GET_INFO_BY_FD, block, InfoByFdAttr.sizeBytes, `get information on link fd ${fd}`);
    return { type: v.getUint32(at + LinkInfo.type, true), id: v.getUint32(at + LinkInfo.id, true), progId: v.getUint32(at + LinkInfo.prog_id, true) };
  } finally {
    freeNative(block);
  }
}
