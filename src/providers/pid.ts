/**
 * @fileoverview The pid provider (`pid<PID>:<module>:<function>:entry|return|<hex offset>`) and
 * the bookkeeping of which processes have per-process providers (pid and USDT).
 *
 * Probe sites are uprobes at file offsets (src/bpf/elf/procmaps.ts resolves them). The modules
 * of a process come from /proc/PID/maps — except for a `-c` target, which the CLI holds
 * before exec (`/bin/sh -c 'read _ <&3; …; exec "$0" "$@"' CMD…`): its maps still show the
 * shell, so its modules are the command's executable and the shared libraries it will load
 * (DT_NEEDED, recursively, plus the ELF interpreter). Uprobes go by inode, so attaching them
 * before the exec works: the kernel plants the breakpoints when the command maps the files.
 *
 * Provider names carry the pid, so they exist only once a process is known: the CLI calls
 * setTargetCommand() / setTargetPid(), and withProcessProviders() adds those processes'
 * providers to the registry's list.
 */
import { readFileSync, statSync, existsSync, readdirSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, dirname, join, isAbsolute } from 'node:path';
import { attachUprobe, attachUprobeMulti, type Link } from '../bpf/link.js';
import { SysError } from '../bpf/errors.js';
import { hasFeature } from '../bpf/features.js';
import { AttachType } from '../bpf/uapi.js';
import type { BpfProgram } from '../bpf/program.js';
import { R1, R2, R9, R10 } from '../bpf/asm/insn.js';
import { type ElfFile, readElfFile, findSection, sectionData, cString } from '../bpf/elf/elf.js';
import { processModules, resolvePidProbesIn, readProcMaps, openablePath, type ProcessModule, type PidSite } from '../bpf/elf/procmaps.js';
import { readUsdtProbes } from '../bpf/elf/stapsdt.js';
import { matchProbeField, isGlob } from '../bpf/elf/glob.js';
import { uprobeRefusal } from '../bpf/elf/x86-length.js';
import { emitTgidFilter, usdtProvidersFor, usdtProvider, FOLLOWED_MAP } from './usdt.js';
import { emitCookieDispatch } from './dispatch.js';
import { pidDescriptionError } from './pid-errors.js';
import { probeName, type Provider, type ProbeSite, type ProbeDescFields, type EnabledProbe, type ProgramPlan, type TrampolineContext, type AttachRequest } from './provider.js';

// x86-64 struct pt_regs offsets: function arguments di, si, dx, cx, r8, r9; return value ax.
const ARG_REG_OFFSETS = [112, 104, 96, 88, 72, 64];
const AX = 80;
const MAX_ARGS = 10;

// ---------------------------------------------------------------------------------------------
// Which executable a held process will run

/** pid → absolute path of the executable it will exec (set for `-c` targets). */
const targetCommands = new Map<number, string>();
/**
 * `-c` targets stopped right after their execve: only the executable and the dynamic linker are
 * mapped yet, so their modules are the command's (its DT_NEEDED libraries), not /proc's.
 */
const heldAfterExecPids = new Set<number>();
/** Processes with per-process providers, in the order they became known. */
const targetPids: number[] = [];

/**
 * Tells the providers that process `pid` (held before exec) will run `argv0Path`: a path, or a
 * bare command name looked up in PATH. Call before compiling.
 */
export function setTargetCommand(pid: number, argv0Path: string, heldAfterExec = false): void {
  targetCommands.set(pid, resolveCommand(argv0Path) ?? argv0Path);
  if (heldAfterExec) heldAfterExecPids.add(pid); else heldAfterExecPids.delete(pid);
  setTargetPid(pid);
  providerCache.delete(pid);
}

/** Tells the providers about a running process (`-p PID`): its modules come from /proc. */
export function setTargetPid(pid: number): void {
  if (!targetPids.includes(pid)) targetPids.push(pid);
}

/** The caller (the CLI) has said there is no -c/-p target: no need to look for held children. */
let targetsDeclared = false;

/** Tells the providers that the caller knows every target (none, or those it set). */
export function declareTargetsKnown(): void {
  targetsDeclared = true;
}

/** Forgets every target (tests). */
export function clearTargets(): void {
  targetCommands.clear();
  heldAfterExecPids.clear();
  targetPids.length = 0;
  targetsDeclared = false;
  providerCache.clear();
  everyProcessProviders.length = 0;
}

/** A command name resolved like execvp: as is if it has a `/`, else the first PATH hit. */
export function resolveCommand(name: string, pathVar = process.env['PATH'] ?? '/usr/bin:/bin'): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of pathVar.split(':')) {
    const candidate = join(dir === '' ? '.' : dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The command a process held by the CLI's `-c` wrapper will exec, read from its command line
 * (`/bin/sh -c 'read _ <&3…exec "$0" "$@"' CMD ARGS…`); undefined for any other process.
 */
export function heldCommandOf(pid: number): string | undefined {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
  } catch {
    return undefined;
  }
  if (argv.length >= 4 && basename(argv[0]!).endsWith('sh') && argv[1] === '-c' && argv[2]!.startsWith('read _ <&3') && argv[3] !== '') return argv[3];
  return undefined;
}

const STANDARD_LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];
const DT_NEEDED = 1;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const PT_INTERP = 3;

/** DT_NEEDED names and the RPATH/RUNPATH directories (with $ORIGIN expanded) of an object. */
export function dynamicDependencies(elf: ElfFile): { needed: string[]; searchDirs: string[]; interpreter?: string } {
  const needed: string[] = [];
  const searchDirs: string[] = [];
  const dynamic = findSection(elf, '.dynamic');
  const dynstr = findSection(elf, '.dynstr');
  if (dynamic && dynstr) {
    const d = sectionData(elf, dynamic);
    const strings = sectionData(elf, dynstr);
    for (let off = 0; off + 16 <= d.length; off += 16) {
      const tag = Number(d.readBigInt64LE(off));
      if (tag === 0) break;
      const value = Number(d.readBigUInt64LE(off + 8));
      if (tag === DT_NEEDED) needed.push(cString(strings, value));
      else if (tag === DT_RPATH || tag === DT_RUNPATH) {
        for (const dir of cString(strings, value).split(':')) if (dir !== '') searchDirs.push(dir.replace(/\$(ORIGIN|\{ORIGIN\})/g, dirname(elf.path)));
      }
    }
  }
  const interp = elf.segments.find((s) => s.type === PT_INTERP);
  const interpreter = interp ? cString(elf.buf, interp.fileOffset, interp.fileOffset + interp.fileSizeBytes) : undefined;
  return interpreter ? { needed, searchDirs, interpreter } : { needed, searchDirs };
}

function moduleOfFile(path: string, isExecutable: boolean): ProcessModule | undefined {
  try {
    const st = statSync(path);
    const dev = `${((st.dev >> 8) & 0xfff).toString(16).padStart(2, '0')}:${(st.dev & 0xff).toString(16).padStart(2, '0')}`;
    return { name: basename(path), path, dev, inode: st.ino, isExecutable, mappings: [] };
  } catch {
    return undefined;
  }
}

/** execve(2) follows at most this many `#!` lines (the kernel's BINPRM_MAX_RECURSION). */
const MAX_INTERPRETER_DEPTH = 4;

/**
 * The program a command runs: the command itself, or for a script (`#!/bin/bash`) its
 * interpreter, as execve(2) finds it — the process's a.out is the interpreter's image.
 */
export function programOf(commandPath: string): string {
  let path = commandPath;
  for (let depth = 0; depth < MAX_INTERPRETER_DEPTH; depth++) {
    let head: string;
    try {
      const fd = openSync(path, 'r');
      try {
        const buf = Buffer.alloc(256);
        head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
      } finally {
        closeSync(fd);
      }
    } catch {
      return path;
    }
    if (!head.startsWith('#!')) return path;
    const interpreter = head.slice(2).split('\n')[0]!.trim().split(/[ \t]/)[0];
    if (!interpreter) return path;
    path = interpreter;
  }
  return path;
}

/**
 * The modules a command (a script: its interpreter) will have once loaded: itself, its ELF interpreter and its
 * shared libraries (breadth-first over DT_NEEDED, searched in RPATH/RUNPATH,
 * LD_LIBRARY_PATH and the standard directories). Unresolvable libraries are left out.
 */
export function modulesOfExecutable(commandPath: string): ProcessModule[] {
  const out: ProcessModule[] = [];
  const exePath = programOf(commandPath);
  const exe = moduleOfFile(exePath, true);
  if (!exe) return out;
  out.push(exe);
  const seen = new Set<string>([exePath]);
  const envDirs = (process.env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d !== '');
  const queue: string[] = [exePath];
  while (queue.length > 0) {
    const path = queue.shift()!;
    let elf: ElfFile;
    try {
      elf = readElfFile(path);
    } catch {
      continue;
    }
    const deps = dynamicDependencies(elf);
    const found: string[] = [];
    if (deps.interpreter) found.push(deps.interpreter);
    for (const lib of deps.needed) {
      const dirs = [...deps.searchDirs, ...envDirs, ...STANDARD_LIBRARY_DIRS];
      const hit = isAbsolute(lib) ? (existsSync(lib) ? lib : undefined) : dirs.map((d) => join(d, lib)).find((p) => existsSync(p));
      if (hit) found.push(hit);
    }
    for (const p of found) {
      if (seen.has(p)) continue;
      seen.add(p);
      const mod = moduleOfFile(p, false);
      if (!mod) continue;
      // The same file under two names (/lib64/ld-linux… and /lib/x86_64-linux-gnu/ld-linux…).
      if (out.some((m) => m.inode === mod.inode && m.dev === mod.dev)) continue;
      out.push(mod);
      queue.push(p);
    }
  }
  return out;
}

/**
 * The modules that can hold code: regular files still on disk. A process's maps also name
 * `/dev/zero (deleted)` (PostgreSQL's shared memory) and other device or deleted files, which
 * are no ELF objects — and reading /dev/zero as one never ends.
 */
function codeModules(mods: ProcessModule[], pid: number): ProcessModule[] {
  return mods.filter((m) => {
    if (m.mappings.length > 0 && m.mappings.every((x) => x.deleted)) return false;
    try {
      return statSync(openablePath(m.path, pid, m.inode)).isFile();
    } catch {
      return false;
    }
  });
}

/**
 * The modules of process `pid` as its probes see them: for a process held before exec, the
 * command's; else its current mappings.
 */
export function targetModules(pid: number): ProcessModule[] {
  return codeModules(targetModulesUnfiltered(pid), pid);
}

function targetModulesUnfiltered(pid: number): ProcessModule[] {
  let command = targetCommands.get(pid);
  if (command === undefined) {
    const held = heldCommandOf(pid);
    if (held !== undefined) command = resolveCommand(held);
  }
  // Once the command runs, its maps are the truth (libraries loaded with dlopen appear too).
  if (command !== undefined && (heldAfterExecPids.has(pid) || heldCommandOf(pid) !== undefined)) return modulesOfExecutable(command);
  try {
    return processModules(pid);
  } catch {
    return command !== undefined ? modulesOfExecutable(command) : [];
  }
}

// ---------------------------------------------------------------------------------------------
// The pid provider

/**
 * How a pid program attaches. `one`: a single probe site (one uprobe). `many`: the sites of one
 * file and kind (entry/return/offset) served by one program that learns which probe fired from
 * its BPF cookie, the probe id — attached by one uprobe_multi link where the kernel has them
 * (6.6), else by one uprobe PMU event per site (5.15+ carry cookies on perf links). Loading one
 * program instead of one per function and registering every site in one system call is what
 * makes `pid$target:libc.so.6::entry` (2,600 functions) attach in a second, not minutes.
 */
type PidAttachment =
  | { mech: 'one'; path: string; fileOffset: number; retprobe: boolean }
  /** `offsets[i]` is the site of the program's i-th probe, whose id is its cookie. */
  | { mech: 'many'; path: string; retprobe: boolean; offsets: number[]; multiLink: boolean };

/** Below this many sites in one file, one program per site: no cookie dispatch needed. */
const MANY_THRESHOLD = 4;

/** argv of a uprobe (fp-8: pt_regs): the argument registers, or DTrace's (offset, value) at return. */
function emitUprobeArgs(t: TrampolineContext, kind: PidSite['kind']): void {
  const a = t.asm;
  a.ldx(8, R1, R10, -8);
  if (kind === 'return') {
    // DTrace: arg0 = offset of the returning instruction (a uretprobe cannot know it: 0),
    // arg1 = the return value.
    a.st(8, R9, t.argOffset(0), 0).ldx(8, R2, R1, AX).stx(8, R9, t.argOffset(1), R2);
    for (let i = 2; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
  } else {
    ARG_REG_OFFSETS.forEach((off, i) => a.ldx(8, R2, R1, off).stx(8, R9, t.argOffset(i), R2));
    for (let i = ARG_REG_OFFSETS.length; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
  }
}

function siteOf(p: EnabledProbe<PidSite>): PidSite {
  return p.site.key!;
}

function onePlan(pid: number, p: EnabledProbe<PidSite>): ProgramPlan<PidAttachment, PidSite> {
  const site = siteOf(p);
  return {
    name: `pid_${p.id}`,
    bpfType: 'kprobe',
    attach: { mech: 'one', path: site.path, fileOffset: site.fileOffset, retprobe: site.kind === 'return' },
    probes: [p],
    runMode: 'attach',
    maps: [FOLLOWED_MAP],
    emitTrampoline(t) {
      emitTgidFilter(t, pid);
      emitUprobeArgs(t, site.kind);
      t.emitClauses(p.id);
    },
  };
}

function manyPlan(pid: number, path: string, kind: PidSite['kind'], probes: EnabledProbe<PidSite>[]): ProgramPlan<PidAttachment, PidSite> {
  const multiLink = hasFeature('uprobe_multi');
  const retprobe = kind === 'return';
  return {
    name: `pid_multi_${probes[0]!.id}`,
    bpfType: 'kprobe',
    load: multiLink ? { expectedAttachType: AttachType.TRACE_UPROBE_MULTI } : undefined,
    attach: { mech: 'many', path, retprobe, offsets: probes.map((p) => siteOf(p).fileOffset), multiLink },
    probes,
    runMode: 'attach',
    maps: [FOLLOWED_MAP],
    emitTrampoline(t) {
      emitTgidFilter(t, pid);
      emitUprobeArgs(t, kind);
      // The cookie of the site that fired is its probe id.
      emitCookieDispatch(t, probes, { label: 'pid' });
    },
  };
}

/** The kernel refused to plant a uprobe on this instruction (x86: LOCK or segment prefixes, …). */
function refusedSite(e: unknown): boolean {
  return e instanceof SysError && (e.errno === ENOTSUPP || e.errno === 95 /* EOPNOTSUPP */ || e.errno === 22 /* EINVAL */);
}

const ENOTSUPP = 524;

/**
 * The USDT semaphores of `path` by probe site (file offset → the semaphore's file offset). The
 * kernel keeps one uprobe per file offset and refuses (EINVAL) a second registration there with
 * another ref_ctr_offset: a pid probe on a USDT probe's instruction therefore registers with that
 * probe's semaphore, as the USDT probe does (while it is attached the semaphore counts it too,
 * which only makes the program evaluate that probe's arguments).
 */
const semaphoreCache = new Map<string, ReadonlyMap<number, number>>();
function semaphoresOf(path: string): ReadonlyMap<number, number> {
  let m = semaphoreCache.get(path);
  if (!m) {
    const found = new Map<number, number>();
    try {
      for (const p of readUsdtProbes(path)) if (p.semaphoreFileOffset !== undefined) found.set(p.pcFileOffset, p.semaphoreFileOffset);
    } catch { /* not an ELF file we can read: no semaphores */ }
    m = found;
    semaphoreCache.set(path, m);
  }
  return m;
}
const refCtrAt = (path: string, fileOffset: number): { refCtrOffset?: number } => {
  const sem = semaphoresOf(path).get(fileOffset);
  return sem !== undefined ? { refCtrOffset: sem } : {};
};

/** Per offset of `path`, why the kernel will refuse a uprobe there (x86-64 only; else none known). */
function predictedRefusals(path: string, fileOffsets: readonly number[]): (string | undefined)[] {
  if (process.arch !== 'x64') return fileOffsets.map(() => undefined);
  let buf: Uint8Array;
  // The raw bytes are enough (no ELF parse): a uprobe offset is a file offset.
  try { buf = readFileSync(path); } catch { return fileOffsets.map(() => undefined); }
  return fileOffsets.map((off) => (off < buf.length ? uprobeRefusal(buf.subarray(off, off + 16), 0) : undefined));
}

/**
 * One uprobe_multi link for `idx` (indices into the plan's sites); when the kernel refuses one
 * site the whole link fails, so the set is halved until the refused sites are alone, and those
 * are skipped with a warning each. A refusal costs about 2·log2(n) extra link attempts.
 */
function* attachMultiSkipping(prog: BpfProgram, req: AttachRequest<ManyAttachment>, pid: number, idx: number[], warn: (i: number, e: unknown) => void): Generator<Link> {
  const how = req.attach;
  let link: Link;
  try {
    const sems = semaphoresOf(how.path);
    const refCtrOffsets = sems.size > 0 ? idx.map((i) => sems.get(how.offsets[i]!) ?? 0) : undefined;
    link = attachUprobeMulti(prog, {
      path: how.path, offsets: idx.map((i) => how.offsets[i]!), cookies: idx.map((i) => BigInt(req.probes[i]!.id)), retprobe: how.retprobe, pid,
      ...(refCtrOffsets?.some((r) => r !== 0) ? { refCtrOffsets } : {}),
    }, `attach ${idx.length === 1 ? probeName(req.probes[idx[0]!]!) : `${idx.length} pid probes in ${how.path}`} (uprobe_multi)`);
  } catch (e) {
    if (!refusedSite(e)) throw e;
    if (idx.length === 1) { warn(idx[0]!, e); return; }
    const half = idx.length >> 1;
    yield* attachMultiSkipping(prog, req, pid, idx.slice(0, half), warn);
    yield* attachMultiSkipping(prog, req, pid, idx.slice(half), warn);
    return;
  }
  yield link;
}

type ManyAttachment = Extract<PidAttachment, { mech: 'many' }>;

/** One perf uprobe per site (kernels without uprobe_multi), yielded one by one: thousands take seconds. */
function* attachEachSite(prog: BpfProgram, req: AttachRequest<ManyAttachment>, pid: number, warn: (i: number, e: unknown) => void): Generator<Link> {
  const how = req.attach;
  for (const [i, fileOffset] of how.offsets.entries()) {
    let link: Link;
    try {
      link = attachUprobe(prog, { path: how.path, fileOffset, retprobe: how.retprobe, pid, cookie: BigInt(req.probes[i]!.id), ...refCtrAt(how.path, fileOffset) }, `attach ${probeName(req.probes[i]!)}`);
    } catch (e) {
      if (!refusedSite(e)) throw e;
      warn(i, e);
      continue;
    }
    yield link;
  }
}

/** The pid provider of one process: `pid<PID>`. */
export function pidProviderFor(pid: number, modules: () => ProcessModule[] = () => targetModules(pid)): Provider<PidSite, PidAttachment> {
  const name = `pid${pid}`;
  const target = pid;
  return {
    name,
    process: pid,
    match(desc: ProbeDescFields): ProbeSite<PidSite>[] {
      return resolvePidProbesIn(pid, modules(), desc).map((s) => ({ provider: name, module: s.module, function: s.function, name: s.probeName, key: s }));
    },
    descriptionError: (desc) => pidDescriptionError(pid, modules(), desc),
    // Every instruction of every function of every library: too many to list.
    list: () => [],
    plan(enabled: EnabledProbe<PidSite>[]): ProgramPlan<PidAttachment, PidSite>[] {
      // Group by file and probe kind: one program per group once it is large.
      const groups = new Map<string, EnabledProbe<PidSite>[]>();
      // The kernel runs the uprobes of one address newest first: the higher ids are attached
      // first, so `entry` fires before offset 0 of the same function, in probe id order as
      // DTrace runs the probes of one address.
      const attachOrder = [...enabled].sort((a, b) => siteOf(a).fileOffset - siteOf(b).fileOffset || b.id - a.id);
      for (const p of attachOrder) {
        const site = siteOf(p);
        const key = `${site.kind === 'return' ? 'return' : 'entry'}\0${site.path}`;
        const list = groups.get(key);
        if (list) list.push(p); else groups.set(key, [p]);
      }
      const plans: ProgramPlan<PidAttachment, PidSite>[] = [];
      for (const probes of groups.values()) {
        const site = siteOf(probes[0]!);
        if (probes.length >= MANY_THRESHOLD) plans.push(manyPlan(pid, site.path, site.kind, probes));
        else for (const p of probes) plans.push(onePlan(pid, p));
      }
      return plans;
    },
    attach(req, prog, warn) {
      const how = req.attach;
      // The target, or a process it forked (then its uprobes filter on that process).
      const pid = req.process ?? target;
      if (how.mech === 'one') {
        return [attachUprobe(prog, { path: how.path, fileOffset: how.fileOffset, retprobe: how.retprobe, pid, ...refCtrAt(how.path, how.fileOffset) }, `attach ${probeName(req.probes[0]!)}`)];
      }
      const many = { ...req, attach: how };
      const skipped = (i: number, e: unknown) => {
        const why = e instanceof SysError ? e.code : String(e);
        if (warn) warn(`probe ${probeName(req.probes[i]!)} skipped: the kernel cannot place a uprobe on its instruction (${why})`);
      };
      if (!how.multiLink) return attachEachSite(prog, many, pid, skipped);
      // One refused site fails a whole uprobe_multi link: the sites the kernel is sure to refuse
      // are left out first, so the link is made once instead of bisected.
      const refusals = predictedRefusals(how.path, how.offsets);
      const wanted: number[] = [];
      how.offsets.forEach((_, i) => {
        const why = refusals[i];
        if (why === undefined) wanted.push(i);
        else if (warn) warn(`probe ${probeName(req.probes[i]!)} skipped: the kernel cannot place a uprobe on its instruction (ENOTSUPP: ${why})`);
      });
      return wanted.length ? attachMultiSkipping(prog, many, pid, wanted, skipped) : [];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Per-process providers in the registry

const providerCache = new Map<number, Provider[]>();

/** The pid and USDT providers of one process (cached: the compiler and runtime need the same objects). */
export function processProviders(pid: number): Provider[] {
  let list = providerCache.get(pid);
  if (!list) {
    let modules: ProcessModule[] | undefined;
    const mods = (): ProcessModule[] => (modules ??= targetModules(pid));
    list = [pidProviderFor(pid, mods), ...usdtProvidersFor(pid, mods)];
    providerCache.set(pid, list);
  }
  return list;
}

/**
 * Children of this process that the CLI holds before exec — the `-c` targets — found without
 * the CLI's help (when setTargetCommand was not called).
 */
function heldChildren(): number[] {
  const out: number[] = [];
  for (const pid of runningPids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && heldCommandOf(pid) !== undefined) out.push(pid);
    } catch {
      // gone
    }
  }
  return out;
}

/** The processes in /proc now (none when it cannot be read). */
function runningPids(): number[] {
  try {
    return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
  } catch {
    return [];
  }
}

/** Held children found by the last /proc scan, and when it ran (scans are rate-limited). */
let discovered: number[] = [];
let discoveredAtMs = -Infinity;

/**
 * `base` followed by the providers of the processes traced now: the -p/-c targets (or, when
 * nobody declared targets, the children held at exec), then every process named by a probe
 * description so far. A fresh list on each call.
 */
export function withProcessProviders(base: readonly Provider[]): readonly Provider[] {
  // Scanning /proc costs milliseconds: only when nobody has told us the targets.
  if (targetPids.length === 0 && !targetsDeclared && Date.now() - discoveredAtMs > 200) {
    discovered = heldChildren();
    discoveredAtMs = Date.now();
  }
  const pids = targetPids.length > 0 ? targetPids : discovered;
  return [...base, ...pids.flatMap((p) => processProviders(p)), ...everyProcessProviders];
}

// ---------------------------------------------------------------------------------------------
// Processes named by a probe description (`postgresql*:::`, `pid1234:::`)

/** USDT provider names in an object, by "device inode" (objects are shared by many processes). */
const objectProviders = new Map<string, readonly string[]>();

function usdtProviderNamesOf(path: string, pid: number, dev: string, inode: number): readonly string[] {
  const key = `${dev} ${inode}`;
  let names = objectProviders.get(key);
  if (!names) {
    try {
      if (!statSync(openablePath(path, pid, inode)).isFile()) throw new Error('not a regular file');
      names = [...new Set(readUsdtProbes(openablePath(path, pid, inode)).map((p) => p.provider))];
    } catch {
      names = [];
    }
    objectProviders.set(key, names);
  }
  return names;
}

/** USDT providers that fire in every process mapping their objects (`postgresql`). */
const everyProcessProviders: Provider[] = [];

/**
 * Running processes with a USDT provider whose per-process name (`<provider><PID>`) matches
 * `pattern`, e.g. every postgres process for `postgresql*`, with the matching note provider
 * names. Reads each process's maps and the stapsdt notes of each distinct object once.
 */
export function processesWithUsdtProvider(pattern: string): { pid: number; providers: string[] }[] {
  const found: { pid: number; providers: string[] }[] = [];
  for (const pid of runningPids()) {
    if (pid === process.pid) continue;
    let maps;
    try {
      maps = readProcMaps(pid);
    } catch {
      continue;
    }
    const seen = new Set<string>();
    const providers = new Set<string>();
    for (const m of maps) {
      // Code of a file still on disk: not /dev/zero shared memory, not data files.
      if (!m.path.startsWith('/') || m.inode === 0 || m.deleted || m.perms[2] !== 'x') continue;
      const key = `${m.dev} ${m.inode}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const name of usdtProviderNamesOf(m.path, pid, m.dev, m.inode)) if (matchProbeField(pattern, `${name}${pid}`)) providers.add(name);
    }
    if (providers.size > 0) found.push({ pid, providers: [...providers] });
  }
  return found;
}

/**
 * Makes the processes a description's provider field names known, so their pid and USDT
 * providers take part in matching. `pid1234`/`python1234` name a process by its pid. A glob
 * with a literal start (`postgresql*`) names a USDT provider wherever it runs: each matching
 * note provider found in a running process becomes a provider named after it alone
 * (`postgresql`) that fires in every process mapping its objects, so processes started later
 * (PostgreSQL's per-connection backends) are traced too — unless the glob already names a
 * known target's provider (`python*` with `-c python3 …`), which keeps it to that process.
 * Bare globs (`*`, ``) are left alone: they would read every process's objects for every
 * `BEGIN`.
 */
export function discoverProcessesFor(providerField: string, known: readonly Provider[]): void {
  if (providerField === '') return;
  if (!isGlob(providerField)) {
    const m = /^[A-Za-z_][\w-]*?(\d+)$/.exec(providerField);
    if (m && existsSync(`/proc/${m[1]}`)) setTargetPid(Number(m[1]));
    return;
  }
  if (!/^[A-Za-z_]/.test(providerField)) return;
  const targetProviderNames = targetPids.flatMap((p) => processProviders(p).map((x) => x.name));
  if (targetProviderNames.some((n) => matchProbeField(providerField, n))) return;
  for (const { pid, providers } of processesWithUsdtProvider(providerField)) {
    for (const name of providers) {
      if (known.some((p) => p.name === name) || everyProcessProviders.some((p) => p.name === name)) continue;
      let modules: ProcessModule[] | undefined;
      everyProcessProviders.push(usdtProvider(name, pid, () => (modules ??= targetModules(pid)), /*everyProcess*/ true));
    }
  }
}
