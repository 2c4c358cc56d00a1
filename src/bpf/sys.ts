/**
 * @fileoverview The only module that reaches the kernel or libc (through koffi). Everything else
 * in src/bpf builds attrs in native memory from here and calls these wrappers.
 *
 * Decisions (see design/MACHINE.md):
 * - All system calls go through libc `syscall` declared with a fixed 7-integer prototype: ABI
 *   correct on x86_64 and arm64, and cheaper than koffi's variadic path. One FFI function covers
 *   bpf, perf_event_open, ioctl, mmap, close, epoll and mount.
 * - Memory the kernel dereferences lives in `koffi.alloc` memory seen through `koffi.view`: a
 *   pointer into a JS buffer is not stable.
 * - koffi is loaded lazily, on the first call, so a script that never touches the kernel (`-e`
 *   errors, `-h`) pays nothing for it.
 * - Failures throw `SysError` naming the operation and what the caller was attempting; the hot
 *   paths (map lookups, where ENOENT is normal) use the `*Try` variants that return -errno.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SysError } from './errors.js';
import { bpfCmdName, errnoName } from './uapi.js';
import { injectedFault } from './test-faults.js';

/** The subset of koffi we use (typed here so the rest of the file needs no `any`). */
interface Koffi {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
  alloc(type: string, count: number): unknown;
  free(ptr: unknown): void;
  address(ptr: unknown): bigint;
  view(ptr: unknown, sizeBytes: number): ArrayBuffer;
  errno(): number;
  node: {
    poll(fd: number, opts: { readable?: boolean; writable?: boolean; disconnect?: boolean },
      // koffi 3.3 calls back with (status, events); its index.d.ts wrongly says (events).
      callback: (status: number, ev: { readable: boolean; writable: boolean; disconnect: boolean }) => void): KoffiPollHandle;
  };
}
interface KoffiPollHandle { stop(): void; close(): void; ref(): void; unref(): void }

interface Native {
  koffi: Koffi;
  syscall: (nr: number, a: number, b: number, c: number, d: number, e: number, f: number) => number | bigint;
  sysconf: (name: number) => number | bigint;
  /** libc's posix_spawn and helpers, every pointer passed as an address (see processSpawn). */
  spawn: {
    posixSpawn: (pid: number, path: number, fileActions: number, attr: number, argv: number, envp: number) => number;
    fileActionsInit: (fa: number) => number;
    fileActionsDestroy: (fa: number) => number;
    addDup2: (fa: number, fd: number, newFd: number) => number;
    attrInit: (attr: number) => number;
    attrDestroy: (attr: number) => number;
    attrSetFlags: (attr: number, flags: number) => number;
    attrSetSigMask: (attr: number, set: number) => number;
    attrSetSigDefault: (attr: number, set: number) => number;
  };
}

/** System call numbers (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h). */
interface SyscallTable {
  read: number; close: number; mmap: number; munmap: number; ioctl: number; getpid: number; mount: number;
  gettid: number; epoll_ctl: number; epoll_pwait: number; epoll_create1: number; perf_event_open: number; bpf: number;
  wait4: number; kill: number; ptrace: number; pidfd_open: number; pipe2: number; rt_sigaction: number; prlimit64: number;
}
const SYSCALL_NUMBERS: Record<string, SyscallTable | undefined> = {
  x64: { read: 0, close: 3, mmap: 9, munmap: 11, ioctl: 16, getpid: 39, mount: 165, gettid: 186,
    epoll_ctl: 233, epoll_pwait: 281, epoll_create1: 291, perf_event_open: 298, bpf: 321,
    wait4: 61, kill: 62, ptrace: 101, pidfd_open: 434, pipe2: 293, rt_sigaction: 13, prlimit64: 302 },
  arm64: { read: 63, close: 57, mmap: 222, munmap: 215, ioctl: 29, getpid: 172, mount: 40, gettid: 178,
    epoll_ctl: 21, epoll_pwait: 22, epoll_create1: 20, perf_event_open: 241, bpf: 280,
    wait4: 260, kill: 129, ptrace: 117, pidfd_open: 434, pipe2: 59, rt_sigaction: 134, prlimit64: 261 },
};

let native: Native | undefined;
let nr: SyscallTable | undefined;

function load(): Native {
  if (native) return native;
  const table = SYSCALL_NUMBERS[process.arch];
  if (!table) throw new SysError('load', 0, 'ENOSYS', 'initialise the BPF interface', `unsupported architecture ${process.arch}`);
  const koffi = koffiNativeModule() ?? createRequire(import.meta.url)('koffi') as Koffi;
  const libc = koffi.load('libc.so.6');
  native = {
    koffi,
    syscall: libc.func('long syscall(long, long, long, long, long, long, long)') as Native['syscall'],
    sysconf: libc.func('long sysconf(int)') as Native['sysconf'],
    // Pointers are declared `long` (same registers on x86_64 and arm64), as for syscall.
    spawn: {
      posixSpawn: libc.func('int posix_spawn(long, long, long, long, long, long)') as Native['spawn']['posixSpawn'],
      fileActionsInit: libc.func('int posix_spawn_file_actions_init(long)') as Native['spawn']['fileActionsInit'],
      fileActionsDestroy: libc.func('int posix_spawn_file_actions_destroy(long)') as Native['spawn']['fileActionsDestroy'],
      addDup2: libc.func('int posix_spawn_file_actions_adddup2(long, int, int)') as Native['spawn']['addDup2'],
      attrInit: libc.func('int posix_spawnattr_init(long)') as Native['spawn']['attrInit'],
      attrDestroy: libc.func('int posix_spawnattr_destroy(long)') as Native['spawn']['attrDestroy'],
      attrSetFlags: libc.func('int posix_spawnattr_setflags(long, short)') as Native['spawn']['attrSetFlags'],
      attrSetSigMask: libc.func('int posix_spawnattr_setsigmask(long, long)') as Native['spawn']['attrSetSigMask'],
      attrSetSigDefault: libc.func('int posix_spawnattr_setsigdefault(long, long)') as Native['spawn']['attrSetSigDefault'],
    },
  };
  nr = table;
  return native;
}

/**
 * koffi's native module, loaded without koffi's entry file where it is found as that entry would
 * find it: `require('koffi')` costs ~17 ms of start-up against ~3 ms for the native module alone
 * (package-exports resolution, node:util, reading node's ELF header to tell glibc from musl,
 * and deprecation shims over functions we never call). Looked for as Node resolves `koffi` from
 * here (the nearest node_modules up the tree) and `@koromix/koffi-<platform>-<arch>` from koffi
 * (koffi's own node_modules, then the same one); used only for glibc Linux (no musl loader on
 * the machine) when its version is the koffi package's. Otherwise, or on any failure,
 * undefined: the caller loads koffi the usual way.
 */
function koffiNativeModule(): Koffi | undefined {
  if (process.platform !== 'linux') return undefined;
  const muslArch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  if (existsSync(`/lib/ld-musl-${muslArch}.so.1`)) return undefined;
  try {
    for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
      const koffiDir = join(dir, 'node_modules', 'koffi');
      if (existsSync(join(koffiDir, 'package.json'))) {
        const { version } = JSON.parse(readFileSync(join(koffiDir, 'package.json'), 'utf8')) as { version?: unknown };
        const binary = join('@koromix', `koffi-linux-${process.arch}`, `linux_${process.arch}`, 'koffi.node');
        const path = [join(koffiDir, 'node_modules', binary), join(dir, 'node_modules', binary)].find((p) => existsSync(p));
        if (path === undefined || typeof version !== 'string') return undefined;
        // As require() loads a .node file, without its resolution (realpath of every component).
        const module = { exports: {} as Koffi & { version?: unknown } };
        process.dlopen(module, path);
        return module.exports.version === version ? module.exports : undefined;
      }
      if (dirname(dir) === dir) return undefined;
    }
  } catch {
    return undefined;
  }
}

function syscallNumbers(): SyscallTable {
  load();
  return nr as SyscallTable;
}

/** Calls a raw system call; returns the result, or -errno on failure. Never throws. */
export function syscallTry(number: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): number {
  const n = native ?? load();
  const r = Number(n.syscall(number, a, b, c, d, e, f));
  if (r === -1) return -n.koffi.errno();
  return r;
}

/** Builds the typed error for a failed call (`op` e.g. 'BPF_MAP_CREATE', 'perf_event_open'). */
export function sysError(op: string, errno: number, attempt: string, detail?: string): SysError {
  return new SysError(op, errno, errnoName(errno), attempt, detail);
}

function check(result: number, op: string, attempt: string): number {
  if (result < 0) throw sysError(op, -result, attempt);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Native memory

/** A block of native (malloc) memory the kernel can read or write; free it with `freeNative`. */
export interface NativeMemory {
  /** The address, as a Number (user addresses fit in 47 bits). */
  readonly address: number;
  readonly sizeBytes: number;
  /** Views over the same bytes (no copy). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** The koffi pointer, needed to free it. */
  readonly handle: unknown;
  freed: boolean;
}

/** Allocates `sizeBytes` of zeroed native memory. */
export function allocNative(sizeBytes: number): NativeMemory {
  const { koffi } = native ?? load();
  const size = Math.max(8, Math.ceil(sizeBytes));
  const handle = koffi.alloc('uint8_t', size);
  const buffer = koffi.view(handle, size);
  const bytes = new Uint8Array(buffer, 0, sizeBytes);
  bytes.fill(0);
  return {
    address: Number(koffi.address(handle)),
    sizeBytes,
    bytes,
    view: new DataView(buffer, 0, sizeBytes),
    handle,
    freed: false,
  };
}

/** Releases memory from `allocNative`. Views over it must not be used afterwards. */
export function freeNative(memory: NativeMemory): void {
  if (memory.freed) return;
  memory.freed = true;
  (native ?? load()).koffi.free(memory.handle);
}

/** A NUL-terminated UTF-8 copy of `text` in native memory (paths, names for the kernel). */
export function nativeCString(text: string): NativeMemory {
  const encoded = Buffer.from(text, 'utf8');
  const memory = allocNative(encoded.length + 1);
  memory.bytes.set(encoded);
  return memory;
}

/** An ArrayBuffer over native memory at `address` (an mmap()ed region); no copy. */
export function viewNative(address: number, sizeBytes: number): ArrayBuffer {
  return (native ?? load()).koffi.view(address, sizeBytes);
}

/** Writes u32 fields of a kernel struct (a bpf_attr) by name; `layout` gives their byte offsets (uapi.ts). */
export function setU32Fields<Field extends string>(view: DataView, layout: { readonly [F in Field]: number }, values: { readonly [F in Field]?: number }): void {
  for (const field of Object.keys(values) as Field[]) view.setUint32(layout[field], values[field] ?? 0, true);
}

/** Writes a u64 given as a Number or bigint (pointers, cookies) at `offset`, little endian. */
export function setU64(view: DataView, offset: number, value: number | bigint): void {
  if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    // Hot path (addresses in map calls): two 32-bit stores, no BigInt allocation.
    view.setUint32(offset, value % 0x1_0000_0000, true);
    view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
    return;
  }
  view.setBigUint64(offset, BigInt.asUintN(64, BigInt(value)), true);
}

let pageSizeCache: number | undefined;
/** The system page size (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  if (pageSizeCache === undefined) pageSizeCache = Number((native ?? load()).sysconf(30 /* _SC_PAGESIZE */));
  return pageSizeCache;
}

// ---------------------------------------------------------------------------------------------
// bpf(2)

/** bpf(cmd, attr, size): returns the result (an fd or 0) or throws SysError. */
export function bpf(cmd: number, attr: NativeMemory, sizeBytes: number, attempt: string): number {
  const fault = injectedFault(bpfCmdName(cmd));
  if (fault !== undefined) throw sysError(bpfCmdName(cmd), fault, attempt);
  return check(syscallTry(syscallNumbers().bpf, cmd, attr.address, sizeBytes), bpfCmdName(cmd), attempt);
}

/** bpf(cmd, attr, size) for hot paths: the result, or -errno. Never throws. */
export function bpfTry(cmd: number, attrAddress: number, sizeBytes: number): number {
  const fault = injectedFault(bpfCmdName(cmd));
  if (fault !== undefined) return -fault;
  if (!nr) load();
  return syscallTry((nr as SyscallTable).bpf, cmd, attrAddress, sizeBytes);
}

// ---------------------------------------------------------------------------------------------
// perf events, ioctl, mmap, close, read

/** perf_event_open(attr, pid, cpu, group_fd, flags); returns the fd or throws SysError. */
export function perfEventOpen(attr: NativeMemory, pid: number, cpu: number, groupFd: number, flags: number, attempt: string): number {
  return check(syscallTry(syscallNumbers().perf_event_open, attr.address, pid, cpu, groupFd, flags), 'perf_event_open', attempt);
}

/** ioctl(fd, request, arg); `op` names the request in errors (e.g. 'PERF_EVENT_IOC_SET_BPF'). */
export function ioctl(fd: number, request: number, arg: number, op: string, attempt: string): number {
  return check(syscallTry(syscallNumbers().ioctl, fd, request, arg), op, attempt);
}

/** mmap(NULL, length, prot, flags, fd, offset); returns the address or throws SysError. */
export function mmap(lengthBytes: number, prot: number, flags: number, fd: number, offsetBytes: number, attempt: string): number {
  return check(syscallTry(syscallNumbers().mmap, 0, lengthBytes, prot, flags, fd, offsetBytes), 'mmap', attempt);
}

export function munmap(address: number, lengthBytes: number): void {
  check(syscallTry(syscallNumbers().munmap, address, lengthBytes), 'munmap', 'unmap memory');
}

/** close(fd). Returns false (instead of throwing) when the fd was not open: close is cleanup. */
export function closeFd(fd: number): boolean {
  if (fd < 0) return false;
  return syscallTry(syscallNumbers().close, fd) === 0;
}

/**
 * close(fd) on one of libuv's worker threads (fs.close): closing the fd of a perf-event kprobe or
 * tracepoint waits for an RCU grace period (tens of ms), and grace periods overlap, so many such
 * closes run in parallel finish in the time of a few. Resolves whatever the outcome.
 */
export function closeFdAsync(fd: number): Promise<void> {
  if (fd < 0) return Promise.resolve();
  return new Promise((resolve) => { nodeFs().close(fd, () => resolve()); });
}

let fsModule: typeof import('node:fs') | undefined;
function nodeFs(): typeof import('node:fs') {
  return (fsModule ??= process.getBuiltinModule('node:fs'));
}

/** read(fd, buf, count) into native memory; returns bytes read or throws SysError. */
export function readFd(fd: number, into: NativeMemory, sizeBytes: number, attempt: string): number {
  return check(syscallTry(syscallNumbers().read, fd, into.address, Math.min(sizeBytes, into.sizeBytes)), 'read', attempt);
}

/** read(fd, address, count) into native memory at `address`, for loops that handle errors themselves: bytes read or -errno. */
export function readTry(fd: number, address: number, sizeBytes: number): number {
  return syscallTry(syscallNumbers().read, fd, address, sizeBytes);
}

export function getpid(): number {
  return syscallTry(syscallNumbers().getpid);
}

export function gettid(): number {
  return syscallTry(syscallNumbers().gettid);
}

/** mount(source, target, fstype, flags, data) for tracefs. */
export function mount(source: string, target: string, fsType: string, flags: number, attempt: string): void {
  const strings = [nativeCString(source), nativeCString(target), nativeCString(fsType)];
  try {
    check(syscallTry(syscallNumbers().mount, strings[0].address, strings[1].address, strings[2].address, flags, 0), 'mount', attempt);
  } finally {
    for (const s of strings) freeNative(s);
  }
}

// ---------------------------------------------------------------------------------------------
// epoll (an alternative wake-up path to koffi.node.poll, e.g. to wait on many fds at once)

/** struct epoll_event is packed (12 bytes) on x86_64, 16 bytes elsewhere. */
const EPOLL_EVENT_SIZE_BYTES = process.arch === 'x64' ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

export function epollCreate(attempt: string): number {
  return check(syscallTry(syscallNumbers().epoll_create1, 0o2000000 /* EPOLL_CLOEXEC */), 'epoll_create1', attempt);
}

/** epoll_ctl(epfd, op, fd, {events, data}); `data` is returned by epollWait (usually the fd). */
export function epollCtl(epfd: number, op: number, fd: number, events: number, data: number, attempt: string): void {
  const event = allocNative(EPOLL_EVENT_SIZE_BYTES);
  try {
    event.view.setUint32(0, events, true);
    setU64(event.view, EPOLL_DATA_OFFSET, data);
    check(syscallTry(syscallNumbers().epoll_ctl, epfd, op, fd, event.address), 'epoll_ctl', attempt);
  } finally {
    freeNative(event);
  }
}

/** epoll_wait(epfd, maxEvents, timeoutMs) (blocking!). Returns the ready events; EINTR → []. */
export function epollWait(epfd: number, maxEvents: number, timeoutMs: number, attempt: string): { events: number; data: number }[] {
  const buffer = allocNative(EPOLL_EVENT_SIZE_BYTES * maxEvents);
  try {
    const r = syscallTry(syscallNumbers().epoll_pwait, epfd, buffer.address, maxEvents, timeoutMs, 0, 8);
    if (r === -4 /* EINTR */) return [];
    check(r, 'epoll_wait', attempt);
    const out: { events: number; data: number }[] = [];
    for (let i = 0; i < r; i++) {
      const at = i * EPOLL_EVENT_SIZE_BYTES;
      out.push({ events: buffer.view.getUint32(at, true), data: Number(buffer.view.getBigUint64(at + EPOLL_DATA_OFFSET, true)) });
    }
    return out;
  } finally {
    freeNative(buffer);
  }
}

// ---------------------------------------------------------------------------------------------
// Node event loop integration

/** A readiness watch on an fd inside libuv's loop (no thread, no spinning). */
export interface FdWatch {
  close(): void;
  /** Keep / stop keeping the process alive while watching. */
  ref(): void;
  unref(): void;
}

/**
 * Calls `onReadable` whenever `fd` becomes readable. The returned object holds koffi's poll
 * handle: the caller must keep it referenced (a collected handle silently stops wake-ups).
 */
export function watchReadable(fd: number, onReadable: () => void): FdWatch {
  const { koffi } = native ?? load();
  // A negative status is a libuv error on the fd: wake the consumer anyway, it finds what is there.
  const handle = koffi.node.poll(fd, { readable: true }, (status, ev) => { if (status < 0 || ev.readable || ev.disconnect) onReadable(); });
  let closed = false;
  return {
    close() { if (!closed) { closed = true; handle.stop(); handle.close(); } },
    ref() { if (!closed) handle.ref(); },
    unref() { if (!closed) handle.unref(); },
  };
}

// ---------------------------------------------------------------------------------------------
// Processes: -c targets, -p grabs and system() (runtime/process.ts builds on these)

/** posix_spawn_file_actions_t and posix_spawnattr_t are opaque; glibc's are 80 and 336 bytes. */
const SPAWN_OBJECT_BYTES = 512;
const SIGSET_BYTES = 128;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;

export interface SpawnRequest {
  /** Absolute path of the program (no PATH search). */
  path: string;
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** dup2(from, to) in the child, in order (stdio redirections). */
  dup2?: readonly (readonly [number, number])[];
  /** Signals reset to SIG_DFL in the child (Node ignores SIGPIPE; a command must not inherit it). */
  defaultSignals?: readonly number[];
}

/**
 * posix_spawn(3): glibc clones with CLONE_VM|CLONE_VFORK and the child only resets its signal
 * state before execve — no write, no pipe, unlike libuv's fork path, so a script tracing
 * `ppid == $pid` sees the command's own system calls. The signal mask is emptied. Returns the
 * pid or throws SysError (an exec failure is reported by glibc as the call's error).
 */
export function spawnProcess(req: SpawnRequest, attempt: string): number {
  const n = native ?? load();
  const held: NativeMemory[] = [];
  const cstr = (t: string) => { const m = nativeCString(t); held.push(m); return m.address; };
  const pointerArray = (items: readonly string[]) => {
    const m = allocNative(8 * (items.length + 1));
    held.push(m);
    items.forEach((t, i) => setU64(m.view, 8 * i, cstr(t)));
    return m.address;
  };
  const fa = allocNative(SPAWN_OBJECT_BYTES);
  const attr = allocNative(SPAWN_OBJECT_BYTES);
  const mask = allocNative(SIGSET_BYTES);
  const dflt = allocNative(SIGSET_BYTES);
  const pid = allocNative(8);
  held.push(fa, attr, mask, dflt, pid);
  try {
    n.spawn.fileActionsInit(fa.address);
    n.spawn.attrInit(attr.address);
    try {
      // Node opens stdio close-on-exec; dup2(fd, fd) clears the flag in the child (glibc ≥ 2.29).
      for (const fd of [0, 1, 2]) n.spawn.addDup2(fa.address, fd, fd);
      for (const [from, to] of req.dup2 ?? []) n.spawn.addDup2(fa.address, from, to);
      for (const sig of req.defaultSignals ?? []) dflt.bytes[(sig - 1) >> 3]! |= 1 << ((sig - 1) & 7);
      n.spawn.attrSetSigMask(attr.address, mask.address);
      n.spawn.attrSetSigDefault(attr.address, dflt.address);
      n.spawn.attrSetFlags(attr.address, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
      const envp = Object.entries(req.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
      const r = Number(n.spawn.posixSpawn(pid.address, cstr(req.path), fa.address, attr.address, pointerArray(req.argv), pointerArray(envp)));
      if (r !== 0) throw sysError('posix_spawn', r, attempt);
      return pid.view.getInt32(0, true);
    } finally {
      n.spawn.fileActionsDestroy(fa.address);
      n.spawn.attrDestroy(attr.address);
    }
  } finally {
    for (const m of held) freeNative(m);
  }
}

export const WNOHANG = 1;
export const WUNTRACED = 2;
export const WALL = 0x40000000;

/** What wait4 reported: exited (status), killed (signal), or stopped (signal, ptrace event). */
export type WaitResult =
  | { kind: 'none' }
  | { kind: 'exited'; status: number }
  | { kind: 'signaled'; signal: number }
  | { kind: 'stopped'; signal: number; event: number };

/** wait4(pid, &status, options, NULL); EINTR is retried; other errors throw SysError. */
export function waitProcess(pid: number, options: number, attempt: string): WaitResult {
  const status = allocNative(8);
  try {
    let r: number;
    do r = syscallTry(syscallNumbers().wait4, pid, status.address, options, 0); while (r === -4 /* EINTR */);
    check(r, 'wait4', attempt);
    if (r === 0) return { kind: 'none' };
    const s = status.view.getInt32(0, true);
    if ((s & 0x7f) === 0) return { kind: 'exited', status: (s >> 8) & 0xff };
    if ((s & 0xff) === 0x7f) return { kind: 'stopped', signal: (s >> 8) & 0xff, event: (s >> 16) & 0xff };
    return { kind: 'signaled', signal: s & 0x7f };
  } finally {
    freeNative(status);
  }
}

/** kill(pid, sig); returns 0 or -errno. */
export function killProcess(pid: number, signal: number): number {
  return syscallTry(syscallNumbers().kill, pid, signal);
}

export const PTRACE_CONT = 7;
export const PTRACE_DETACH = 17;
export const PTRACE_SEIZE = 0x4206;
export const PTRACE_O_TRACEEXEC = 0x10;
export const PTRACE_O_EXITKILL = 0x100000;
export const PTRACE_EVENT_EXEC = 4;
export const PTRACE_SETOPTIONS = 0x4200;
export const PTRACE_LISTEN = 0x4208;
export const PTRACE_O_TRACEEXIT = 0x40;
export const PTRACE_EVENT_EXIT = 6;
export const PTRACE_O_TRACEFORK = 0x2;
export const PTRACE_O_TRACEVFORK = 0x4;
export const PTRACE_O_TRACECLONE = 0x8;
export const PTRACE_EVENT_FORK = 1;
export const PTRACE_EVENT_VFORK = 2;
export const PTRACE_EVENT_CLONE = 3;
export const PTRACE_EVENT_STOP = 128;
export const PTRACE_INTERRUPT = 0x4207;
const PTRACE_GETEVENTMSG = 0x4201;

/** PTRACE_GETEVENTMSG: the new task's id at a fork/vfork/clone stop; undefined when it failed. */
export function ptraceEventMessage(pid: number): number | undefined {
  const out = allocNative(8);
  try {
    return ptraceTry(PTRACE_GETEVENTMSG, pid, 0, out.address) === 0 ? Number(out.view.getBigUint64(0, true)) : undefined;
  } finally {
    freeNative(out);
  }
}

/** ptrace(request, pid, addr, data); returns the result or -errno (callers decide what is fatal). */
export function ptraceTry(request: number, pid: number, addr: number, data: number): number {
  return syscallTry(syscallNumbers().ptrace, request, pid, addr, data);
}

/**
 * Raises this process's soft limit on open files to its hard limit (prlimit64, RLIMIT_NOFILE):
 * every uprobe or kprobe attached through perf_event_open holds a descriptor, and a kernel without
 * uprobe_multi/kprobe_multi links (Debian 12's 6.1) needs one per function — 2,600 for all of
 * libc, past the usual soft limit of 1,024. Returns the limit now in force (or -errno).
 */
export function raiseOpenFileLimit(): number {
  const RLIMIT_NOFILE = 7;
  const lim = allocNative(16);
  try {
    const r = syscallTry(syscallNumbers().prlimit64, 0, RLIMIT_NOFILE, 0, lim.address);
    if (r < 0) return r;
    const soft = lim.view.getBigUint64(0, true), hard = lim.view.getBigUint64(8, true);
    // As root the hard limit can rise to fs.nr_open (each perf event and its BPF link are two
    // descriptors: 5,200 for all of libc, past a default hard limit of 4,096); else the soft one
    // rises to the hard one.
    let ceiling = hard;
    try { ceiling = BigInt(readFileSync('/proc/sys/fs/nr_open', 'latin1').trim()); } catch { /* keep the hard limit */ }
    if (ceiling > hard) {
      lim.view.setBigUint64(0, ceiling, true);
      lim.view.setBigUint64(8, ceiling, true);
      if (syscallTry(syscallNumbers().prlimit64, 0, RLIMIT_NOFILE, lim.address, 0) >= 0) return Number(ceiling);
    }
    if (soft >= hard) return Number(soft);
    lim.view.setBigUint64(0, hard, true);
    lim.view.setBigUint64(8, hard, true);
    const w = syscallTry(syscallNumbers().prlimit64, 0, RLIMIT_NOFILE, lim.address, 0);
    return w < 0 ? w : Number(hard);
  } finally {
    freeNative(lim);
  }
}

/** pidfd_open(pid, 0): an fd that becomes readable when the process exits; -errno on failure. */
export function pidfdOpenTry(pid: number): number {
  return syscallTry(syscallNumbers().pidfd_open, pid, 0);
}

/** pipe2(O_CLOEXEC): [read end, write end]. */
export function pipeCloexec(attempt: string): [number, number] {
  const fds = allocNative(8);
  try {
    check(syscallTry(syscallNumbers().pipe2, fds.address, 0o2000000 /* O_CLOEXEC */), 'pipe2', attempt);
    return [fds.view.getInt32(0, true), fds.view.getInt32(4, true)];
  } finally {
    freeNative(fds);
  }
}

/**
 * Ends this process by `signal` with its default action, as a C program would die of it (Node
 * ignores SIGPIPE, so `process.kill` alone would not): the status the caller's shell sees is
 * 128 + signal. Open descriptors (BPF programs, links) are closed by the kernel.
 */
export function dieOfSignal(signal: number): never {
  const act = allocNative(32); // struct sigaction (kernel): handler SIG_DFL, no flags, empty mask
  syscallTry(syscallNumbers().rt_sigaction, signal, act.address, 0, 8);
  syscallTry(syscallNumbers().kill, getpid(), signal);
  // Not reached unless the signal is blocked in every thread.
  process.exit(128 + signal);
}
