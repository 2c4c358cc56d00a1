/**
 * @fileoverview The USDT provider: the SystemTap `.note.stapsdt` probes of a process's
 * executable and shared libraries, named `<provider><PID>:<module>:<function>:<name>` with `__`
 * in the note's name shown as `-` (providers-on-linux.md, USDT). One Provider object per
 * (note provider, pid) — `python1234`, `libc1234` — built by usdtProvidersFor(). Each probe
 * location gets a uprobe on the probe's `nop`, attached with the semaphore's file offset as
 * ref_ctr_offset so is-enabled semaphores (PyDTrace_*_ENABLED()) count up while we are attached.
 * The trampoline decodes each argument operand (`-4@%eax`, `8@-16(%rbp)`, `$5`) from the
 * uprobe's struct pt_regs.
 */
import { readFileSync, readdirSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { basename } from 'node:path';
import { matchProbeField } from '../bpf/elf/glob.js';
import { attachUprobe, type Link } from '../bpf/link.js';
import { type Asm, R0, R1, R2, R3, R4, R9, R10, imm } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import { processModules, type ProcessModule } from '../bpf/elf/procmaps.js';
import { PT_REGS_OFFSET, resolveUsdtProbes, usdtArgLocation, type ProcessUsdtProbe, type UsdtArgLocation } from '../bpf/elf/stapsdt.js';
import { probeName, type Provider, type ProbeSite, type ProbeDescFields, type EnabledProbe, type ProgramPlan, type TrampolineContext, type ProviderMap } from './provider.js';

/**
 * Where a provider says something the user asked to hear (`-v`); silent by default.
 */
let notice: (text: string) => void = () => undefined;
export function setUsdtNotices(write: (text: string) => void): void { notice = write; }

/** DTrace passes at most 10 arguments (argv[0..9]). */
const MAX_ARGS = 10;

/** Where one USDT program attaches: every location shares the same argument decoding. */
/** How a USDT program attaches (plain data: the compiled program keeps it). */
export type UsdtAttachment = {
  /** The process whose threads fire the probe; null: every process mapping the object. */
  pid: number | null;
  /** One uprobe per location; `refCtrOffset`: the probe's semaphore (null: it has none). */
  uprobes: { path: string; fileOffset: number; refCtrOffset: number | null }[];
  /**
   * A CPython function-entry/-return probe of a traced process: CPython 3.11 fires them for
   * every call only while its line probe's semaphore is raised (CPython gh-98894).
   */
  cpythonCalls: boolean;
};

/**
 * The processes a target forked that the tracer follows (runtime/descendant-links.ts): tgid →
 * the target's pid. Their uprobes are attached before they run, and their entry is deleted
 * when they exit or exec.
 */
export const FOLLOWED_MAP: ProviderMap = { name: 'followed_pids', type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8192 };

/**
 * Uprobes fire for every process that maps the file; keep only the target's threads and those
 * of the processes it forked: `if (tgid != pid && followed_pids[tgid] != pid) goto exit` (the
 * lookup only off the target). Leaves R1 = the context.
 */
export function emitTgidFilter(t: TrampolineContext, pid: number): void {
  const a = t.asm;
  const target = a.newLabel('tgid_ok');
  a.call(Helper.get_current_pid_tgid).alu64('rsh', R0, imm(32)).jmp('jeq', R0, imm(pid), target);
  a.stx(4, R9, t.scratchOffset, R0);
  a.ldMapFd(R1, FOLLOWED_MAP.name).mov(R2, R9).alu64('add', R2, imm(t.scratchOffset)).call(Helper.map_lookup_elem);
  a.jmp('jeq', R0, imm(0), t.exitLabel).ldx(4, R0, R0, 0).jmp('jne', R0, imm(pid), t.exitLabel);
  a.label(target);
  a.ldx(8, R1, R10, -8);
}

/** Narrows R2 to `sizeBytes` and sign- or zero-extends it to 64 bits. */
function emitExtend(a: Asm, sizeBytes: number, signed: boolean): void {
  if (sizeBytes >= 8) return;
  if (signed) a.movsx(R2, R2, (sizeBytes * 8) as 8 | 16 | 32);
  else if (sizeBytes === 4) a.mov32(R2, R2);
  else a.alu64('and', R2, imm(sizeBytes === 2 ? 0xffff : 0xff));
}

/** A constant operand narrowed and extended as the probe declares it. */
export function usdtConstantValue(value: bigint, sizeBytes: number, signed: boolean): bigint {
  const bits = sizeBytes * 8;
  return signed ? BigInt.asIntN(bits, value) : BigInt.asUintN(bits, value);
}

/**
 * Emits code leaving argument `loc` in R2, given R1 = pt_regs (the context). Clobbers R1–R5;
 * reloads the context into R1 before returning. `pc` is the probe's link-time address, needed
 * for symbol-relative operands: the runtime address of a symbol is regs.ip − pc + symbolVaddr
 * (a uprobe's handler sees ip = the probed instruction).
 */
export function emitUsdtArg(a: Asm, loc: UsdtArgLocation, pc: number, scratch: number): void {
  switch (loc.kind) {
    case 'constant':
      a.movImm64(R2, usdtConstantValue(loc.value, loc.sizeBytes, loc.signed));
      return;
    case 'register':
      a.ldx(8, R2, R1, loc.slot.ptRegsOffset);
      if (loc.slot.bitShift) a.alu64('rsh', R2, imm(loc.slot.bitShift));
      emitExtend(a, loc.sizeBytes, loc.signed);
      return;
    case 'memory': {
      // R3 = address.
      a.mov(R3, imm(0));
      if (loc.base) a.ldx(8, R3, R1, loc.base.ptRegsOffset);
      if (loc.index) {
        a.ldx(8, R4, R1, loc.index.ptRegsOffset);
        if (loc.scale !== 1) a.alu64('mul', R4, imm(loc.scale));
        a.alu64('add', R3, R4);
      }
      if (loc.displacement !== 0) a.movImm64(R4, BigInt(loc.displacement)).alu64('add', R3, R4);
      if (loc.symbolVaddr !== undefined) {
        a.ldx(8, R4, R1, PT_REGS_OFFSET.rip!).alu64('add', R3, R4);
        a.movImm64(R4, BigInt(loc.symbolVaddr) - BigInt(pc)).alu64('add', R3, R4);
      }
      // A faulting read leaves 0, as DTrace's args of an unreadable operand would be.
      a.st(8, R9, scratch, 0);
      a.mov(R1, R9).alu64('add', R1, imm(scratch)).mov(R2, imm(loc.sizeBytes)).call(Helper.probe_read_user);
      a.ldx(loc.sizeBytes as 1 | 2 | 4 | 8, R2, R9, scratch);
      emitExtend(a, loc.sizeBytes, loc.signed);
      a.ldx(8, R1, R10, -8);
      return;
    }
  }
}

/** Fills argv[0..9] from a probe location's operands (missing or unreadable ones are 0). */
export function emitUsdtArgs(t: TrampolineContext, location: ProcessUsdtProbe): void {
  const a = t.asm;
  const operands = location.probe.args.slice(0, MAX_ARGS);
  operands.forEach((operand, i) => {
    emitUsdtArg(a, usdtArgLocation(operand), location.probe.pc, t.scratchOffset);
    a.stx(8, R9, t.argOffset(i), R2);
  });
  for (let i = operands.length; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
}

/** Locations that can share one program: same object, same operands (and same pc if it matters). */
function locationGroupKey(l: ProcessUsdtProbe): string {
  const pcMatters = l.probe.args.some((o) => o.location.kind === 'memory' && o.location.symbolVaddr !== undefined);
  return `${l.path}\0${l.probe.argsText}${pcMatters ? `\0${l.probe.pc}` : ''}`;
}

function siteKey(s: { module: string; function: string; name: string }): string {
  return `${s.module}:${s.function}:${s.name}`;
}

/**
 * The USDT providers of process `pid` whose objects are `modules` (thunk: read lazily, since
 * matching a pid provider must not pay for reading every library's notes).
 */
export function usdtProvidersFor(pid: number, modules: () => ProcessModule[]): Provider[] {
  const names = [...new Set(resolveUsdtProbes(pid, {}, modules()).map((p) => p.provider))];
  return names.map((name) => usdtProvider(name, pid, modules));
}

/** Groups probe locations into sites, one per module:function:name; `key` = its locations. */
function sitesOf(provider: string, locations: ProcessUsdtProbe[]): ProbeSite<ProcessUsdtProbe[]>[] {
  const byKey = new Map<string, ProbeSite<ProcessUsdtProbe[]> & { key: ProcessUsdtProbe[] }>();
  for (const l of locations) {
    const k = siteKey(l);
    let site = byKey.get(k);
    if (!site) {
      site = { provider, module: l.module, function: l.function, name: l.name, key: [] };
      byKey.set(k, site);
    }
    site.key.push(l);
  }
  return [...byKey.values()];
}

/**
 * The USDT provider `name` of the objects a process maps. Per process (`python1234`: only
 * that process's threads fire) or, with `everyProcess`, named after the note's provider alone
 * (`postgresql`) and firing in every process that maps those objects — including processes
 * started after attaching, such as PostgreSQL's per-connection backends. `pid` is then the
 * process whose mappings name the objects.
 */
export function usdtProvider(name: string, pid: number, modules: () => ProcessModule[], everyProcess = false): Provider<ProcessUsdtProbe[], UsdtAttachment> {
  const noteProvider = everyProcess ? `${name}${pid}` : name;
  const rename = (ps: ProcessUsdtProbe[]) => (everyProcess ? ps.map((p) => ({ ...p, provider: name })) : ps);
  const target = everyProcess ? undefined : pid;
  return {
    name,
    ...(target !== undefined ? { process: target } : {}),
    match: (desc: ProbeDescFields) => sitesOf(name, rename(resolveUsdtProbes(pid, { ...desc, provider: noteProvider }, modules()))),
    list: () => sitesOf(name, rename(resolveUsdtProbes(pid, { provider: noteProvider }, modules()))),
    plan(enabled: EnabledProbe<ProcessUsdtProbe[]>[]): ProgramPlan<UsdtAttachment, ProcessUsdtProbe[]>[] {
      const plans: ProgramPlan<UsdtAttachment, ProcessUsdtProbe[]>[] = [];
      for (const p of enabled) {
        const groups = new Map<string, ProcessUsdtProbe[]>();
        for (const l of p.site.key ?? []) {
          const k = locationGroupKey(l);
          groups.set(k, [...(groups.get(k) ?? []), l]);
        }
        for (const locations of groups.values()) {
          const attach: UsdtAttachment = {
            pid: target ?? null,
            uprobes: locations.map((l) => ({ path: l.path, fileOffset: l.probe.pcFileOffset, refCtrOffset: l.probe.semaphoreFileOffset ?? null })),
            cpythonCalls: locations.some((l) => l.probe.provider === 'python') && (p.site.name === 'function-entry' || p.site.name === 'function-return'),
          };
          plans.push({
            name: `usdt_${p.id}`,
            bpfType: 'kprobe',
            attach,
            probes: [p],
            runMode: 'attach',
            ...(target !== undefined ? { maps: [FOLLOWED_MAP] } : {}),
            emitTrampoline(t) {
              if (target !== undefined) emitTgidFilter(t, target);
              else t.asm.ldx(8, R1, R10, -8);
              emitUsdtArgs(t, locations[0]!);
              t.emitClauses(p.id);
            },
          });
        }
      }
      return plans;
    },
    *attach(req, prog) {
      const { uprobes, cpythonCalls } = req.attach;
      const target = req.attach.pid !== null ? req.process ?? req.attach.pid : null;
      for (const u of uprobes) {
        yield attachUprobe(prog, {
          path: u.path, fileOffset: u.fileOffset, retprobe: false, ...(target !== null ? { pid: target } : {}), ...(u.refCtrOffset !== null ? { refCtrOffset: u.refCtrOffset } : {}),
        }, `attach ${probeName(req.probes[0]!)}`);
      }
      // CPython 3.11 fires function-entry/-return for every call only on its tracing path,
      // which it takes while the line probe's semaphore is raised (CPython gh-98894).
      // A forked child has its own copy of the raised counter.
      if (cpythonCalls && target !== null && req.process === undefined) yield* raiseCpython311LineSemaphore(target, uprobes.map((u) => u.path), modules());
      // `python*`: every process running that CPython now (one started later keeps its
      // line tracing off, so only its calls through C show, as without us).
      if (cpythonCalls && target === null) {
        const paths = uprobes.map((u) => u.path);
        for (const pid of processesMapping(paths)) yield* raiseCpython311LineSemaphore(pid, paths, processModules(pid));
      }
    },
  };
}

/** Processes whose `line` semaphore is raised by us: pid → how many enablings asked. */
const lineSemaphoreHolders = new Map<number, number>();

/**
 * Raises python:::line's semaphore in process `pid` when `locations` are a CPython 3.11's, by
 * writing the counter in the process's memory: nothing is attached to the line probe, so its
 * `nop` costs nothing. Returned as a link whose close() lowers it again. Said once under -v.
 */
function raiseCpython311LineSemaphore(pid: number, paths: string[], modules: ProcessModule[]): Link[] {
  const out: Link[] = [];
  for (const path of new Set(paths.filter((p) => /python3\.11/.test(basename(p))))) {
    const line = resolveUsdtProbes(pid, { provider: `python${pid}`, name: 'line' }, modules).find((l) => l.path === path);
    const offset = line?.probe.semaphoreFileOffset;
    if (offset === undefined) continue;
    const address = runtimeAddressOfFileOffset(pid, path, offset);
    if (address === undefined || !addToSemaphore(pid, address, 1)) continue;
    const holders = (lineSemaphoreHolders.get(pid) ?? 0) + 1;
    lineSemaphoreHolders.set(pid, holders);
    if (holders === 1) notice(`dtrace: raised the python:::line semaphore of CPython 3.11 process ${pid} (${basename(path)}): it fires function-entry/function-return for every call only while line tracing is on (CPython gh-98894)`);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      addToSemaphore(pid, address, -1);
      lineSemaphoreHolders.set(pid, (lineSemaphoreHolders.get(pid) ?? 1) - 1);
    };
    out.push({
      describe: `semaphore python:::line in ${path} of ${pid}`, fd: -1, fds: [],
      close,
      closeAsync: async () => close(),
    });
  }
  return out;
}

/** The running processes (but this one) that map one of `paths`. */
function processesMapping(paths: readonly string[]): number[] {
  const wanted = new Set(paths);
  const out: number[] = [];
  let entries: string[];
  try { entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e)); } catch { return out; }
  for (const e of entries) {
    const pid = Number(e);
    if (pid === process.pid) continue;
    let maps: string;
    try { maps = readFileSync(`/proc/${pid}/maps`, 'latin1'); } catch { continue; }
    if (maps.split('\n').some((line) => wanted.has(line.replace(/^(\S+\s+){5}/, '')))) out.push(pid);
  }
  return out;
}

/** Where file offset `offset` of `path` is mapped in process `pid` (/proc/PID/maps). */
function runtimeAddressOfFileOffset(pid: number, path: string, offset: number): number | undefined {
  let maps: string;
  try { maps = readFileSync(`/proc/${pid}/maps`, 'latin1'); } catch { return undefined; }
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[4] !== path) continue;
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16);
    const fileOffset = parseInt(m[3]!, 16);
    if (offset >= fileOffset && offset + 2 <= fileOffset + (end - start)) return start + offset - fileOffset;
  }
  return undefined;
}

/** Adds `delta` to the 16-bit counter at `address` of process `pid`, never below 0. */
function addToSemaphore(pid: number, address: number, delta: number): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r+');
    const b = Buffer.alloc(2);
    if (readSync(fd, b, 0, 2, address) !== 2) return false;
    b.writeUInt16LE(Math.max(0, Math.min(0xffff, b.readUInt16LE(0) + delta)));
    return writeSync(fd, b, 0, 2, address) === 2;
  } catch {
    return false; // the process has gone
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
