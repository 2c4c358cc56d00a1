/**
 * @fileoverview From a parsed program to a CompiledProgram: match probe descriptions against
 * the providers, give probes and clauses their ids, lower every clause into the program of
 * every probe it matches (script order), and size the maps after code generation.
 */
import { CHILL_LOOP_SUBPROGRAM, chillLoopSubprogram } from './lower/chill-loop.js';
import { cpuTopologyMap } from './lower/cpu-topology.js';
import { Asm, R0, R1, R2, R9, R10, imm, type Insn } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import type * as A from '../lang/ast.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import type { Provider, EnabledProbe, ProgramPlan, ProbeSite, ProviderMap } from '../providers/provider.js';
import { matchProbes, probeDescriptionError } from '../providers/registry.js';
import { DTRACE_PROBE_IDS } from '../providers/dtrace.js';
import { memLayout, fittedLayout, emptyUsage, MST, STATE, Activity, type MemLayout, type MemUsage } from './layout.js';
import { type VarInfo, type AggInfo, type VType, type Symbols } from './infer.js';
import { symbolsOf } from './symbols.js';
import { lowerClause, lowerErrorSubprogram } from './lower/clause.js';
import { LowerError, ERROR_SUBPROGRAM, type LowerEnv } from './lower/context.js';
import type { CompiledProgram, MapSpecData, ProbeInfo, ProgramSpecData, AggregationSpec } from '../program/spec.js';
import { AGGREGATING_FUNCTIONS, isAggFn } from '../builtins/aggregations.js';
import type { Checked } from '../check/checker.js';
import type { KernelTypeSource } from '../check/decl.js';
import { stringSubprograms, needsStringFallback } from './subr/strings.js';
import { fallbackMaps, fallbackPrototypes } from './subr/fallback.js';
import { someNode, callsAny } from '../lang/walk.js';
import { NEWEST_KERNEL, type KernelCaps } from '../bpf/kernel-caps.js';
import { fitToKernel, missingKfuncMessage } from './kernel-fit.js';
import { userStringArgs } from './user-strings.js';
import { TRACER_FRAME_SUBPROGRAM, tracerFrameSubprogram, type TracerFrameTable } from './tracer-skip.js';
import { AggMapPlan, MAX_AGGREGATION_MAPS } from './agg-maps.js';
import { AssocMapPlan } from './assoc-maps.js';

export interface CompileOptions {
  strsize: number;
  destructive: boolean;
  target?: number;
  macroArgs: string[];
  walltimeOffsetNs: bigint;
  bufsizeBytes: number;
  aggsizeBytes: number;
  dynvarsizeBytes: number;
  /** -Z: descriptions matching nothing are not an error. */
  zdefs: boolean;
  providers?: readonly Provider[];
  /** -q: a clause without data prints nothing, so it writes no record. */
  quiet?: boolean;
  /** The checker's view of the program (types, constants, symbols): code generation requires it. */
  checked: Checked;
  scratchsizeBytes?: number;
  nspec?: number;
  specsizeBytes?: number;
  /** -x pcapsize: the bytes pcap() captures of a packet at most (DTrace's default 1514). */
  pcapsizeBytes?: number;
  stackframes?: number;
  ustackframes?: number;
  jstackframes?: number;
  /** jstack()'s string space for JIT frame names when it does not give one (DTrace's default 512). */
  jstackstrsize?: number;
  /** -x cpu: trace only the events of this CPU. */
  cpu?: number;
  /** The kernel's stack-depth ceiling (perf_event_max_stack): explicit stack(n)/ustack(n) depths are capped to it. */
  maxframes?: number;
  /** What the kernel the code will load into offers (bpf/features.ts kernelCaps()); the newest by default. */
  kernel?: KernelCaps;
  /** What compiling may ask of the running kernel; absent: nothing (no symbols, no kernel types). */
  kernelLookups?: KernelLookups;
}

/** The kernel lookups code generation needs, supplied by the caller so that compiling touches no kernel file. */
export interface KernelLookups {
  /** Address of a kernel symbol (kallsyms), for `` `sym `` references; undefined when unknown or hidden. */
  symbol(name: string): bigint | undefined;
  /** Kernel types (BTF), for the layout of kernel structs the program reads. */
  types(): KernelTypeSource | undefined;
  /** The kernel's text and its tracer functions (kallsyms), to skip the tracer's stack frames. */
  tracerFrames?(): TracerFrameTable | undefined;
  /** Whether BPF may write user memory here (bpf_probe_write_user, for copyout), and why not. */
  writeUser?(): { available: boolean; reason?: string };
  /** The physical package id of each CPU, by CPU id (`chip`); undefined when unknown. */
  cpuPackages?(): readonly number[] | undefined;
}

export interface MatchedClause {
  clause: A.Clause;
  /**
   * The clause id of its first probe description. As in dtrace-utils each description is a
   * statement of its own (`dt_clause_<stid>`), so a clause with N descriptions takes N ids.
   */
  stid: number;
  /** Which description (index) first matched each probe id: its stid is `stid + index`. */
  descOf: Map<number, number>;
  probes: ProbeInfo[];
}

/** The result of matching: probes with ids, and which clauses each probe runs. */
export interface ProbeMatch {
  probes: ProbeInfo[];
  clauses: MatchedClause[];
  /** Per description text, how many (clause × probe) pairs it matched — for "matched N probes". */
  matchedPairs: number;
  byProvider: Map<Provider, { enabled: EnabledProbe; clauses: MatchedClause[] }[]>;
}

export function matchProgram(program: A.Program, sink: DiagnosticSink, opts: { zdefs: boolean; providers?: readonly Provider[] }): ProbeMatch {
  const probes: ProbeInfo[] = [];
  const byKey = new Map<string, { info: ProbeInfo; provider: Provider; site: ProbeSite; clauses: MatchedClause[] }>();
  let nextId = 4;
  let pairs = 0;
  const clauses: MatchedClause[] = [];
  let stid = 0;
  for (const item of program.items) {
    if (item.kind !== 'Clause') continue;
    const mc: MatchedClause = { clause: item, stid, probes: [], descOf: new Map() };
    stid += Math.max(1, item.probes.length);
    clauses.push(mc);
    for (const [descIndex, desc] of item.probes.entries()) {
      const refused = probeDescriptionError(desc, opts.providers);
      if (refused) {
        sink.error(refused.tag, refused.message, desc.span);
        continue;
      }
      const found = matchProbes(desc, opts.providers);
      if (found.length === 0 && !opts.zdefs) {
        sink.error('D_PDESC_ZERO', `probe description ${desc.provider}:${desc.module}:${desc.function}:${desc.name} does not match any probes`, desc.span);
        continue;
      }
      for (const { provider, site } of found) {
        const key = `${site.provider}:${site.module}:${site.function}:${site.name}`;
        let entry = byKey.get(key);
        if (!entry) {
          const id = site.provider === 'dtrace' ? DTRACE_PROBE_IDS[site.name]! : nextId++;
          const info: ProbeInfo = { id, provider: site.provider, module: site.module, function: site.function, name: site.name };
          entry = { info, provider, site, clauses: [] };
          byKey.set(key, entry);
          probes.push(info);
        }
        if (!entry.clauses.includes(mc)) { entry.clauses.push(mc); mc.probes.push(entry.info); mc.descOf.set(entry.info.id, descIndex); pairs++; }
      }
    }
  }
  const byProvider = new Map<Provider, { enabled: EnabledProbe; clauses: MatchedClause[] }[]>();
  for (const e of byKey.values()) {
    const list = byProvider.get(e.provider) ?? [];
    list.push({ enabled: { id: e.info.id, site: e.site }, clauses: e.clauses });
    byProvider.set(e.provider, list);
  }
  return { probes: probes.sort((a, b) => a.id - b.id), clauses, matchedPairs: pairs, byProvider };
}

/**
 * Compiles twice when it pays: a first pass with a generous scratch layout records what the
 * code uses (temporary strings, key areas, clause-locals); the second pass lays the scratch
 * value out to fit, so large records still fit the 32 KiB a per-CPU value may have.
 */
export function compileProgram(program: A.Program, match: ProbeMatch, sink: DiagnosticSink, opts: CompileOptions): CompiledProgram | undefined {
  // The string library's plain-BPF fallbacks need working memory, and whether this kernel needs
  // them is known only from its BTF's kfuncs (a 6 MB read): ask only when the code calls the
  // library (usage.strings), so a program without string routines starts without reading BTF.
  let usage = emptyUsage();
  let fallback = false;
  const trial = new DiagnosticSink();
  // Aggregations get maps of their own until a compilation finds that too many: from then on
  // they share (agg-maps.ts); associative arrays then pad their keys (assoc-maps.ts).
  const sharing: MapSharing = { aggs: false, padAssocKeys: false };
  const compileOnce = (s: DiagnosticSink, mem: MemLayout, u: MemUsage): CompiledProgram | undefined => {
    const r = compileWithLayout(program, match, s, opts, mem, u, sharing);
    if (r === SHARE_AGGREGATION_MAPS) sharing.aggs = true;
    else if (r === PAD_ASSOC_KEYS) sharing.padAssocKeys = true;
    else return r;
    return compileOnce(s, mem, u);
  };
  let first = compileOnce(trial, memLayout(opts.strsize, opts.scratchsizeBytes, false), usage);
  if (usage.strings && needsStringFallback(opts.kernel ?? NEWEST_KERNEL)) {
    fallback = true;
    usage = emptyUsage();
    first = compileOnce(sink, memLayout(opts.strsize, opts.scratchsizeBytes, true), usage);
  } else {
    for (const d of trial.items) sink.add(d);
  }
  if (!first) return undefined;
  const fitted = fittedLayout(opts.strsize, opts.scratchsizeBytes ?? 256 + 8, usage, fallback);
  return compileOnce(new DiagnosticSink(), fitted, emptyUsage()) ?? first;
}

/** What compileWithLayout returns when its aggregations must share maps to fit: compile again sharing. */
const SHARE_AGGREGATION_MAPS = Symbol('share aggregation maps');
/** What compileWithLayout returns when its associative arrays must pad their keys to fit: compile again padding. */
const PAD_ASSOC_KEYS = Symbol('pad associative array keys');

/** How far maps are shared: aggregations by key and value size, associative arrays by value size only. */
interface MapSharing { aggs: boolean; padAssocKeys: boolean }

/** The program's clause-local layout: each name's offset in the lvars region, in order of first use. */
function clauseLocalLayout(usage: MemUsage): (name: string, size: number) => number {
  const offsets = new Map<string, number>();
  let next = 0;
  return (name, size) => {
    let off = offsets.get(name);
    if (off === undefined) { off = next; offsets.set(name, off); next += size; usage.lvarBytes = Math.max(usage.lvarBytes, next); }
    return off;
  };
}

function compileWithLayout(program: A.Program, match: ProbeMatch, sink: DiagnosticSink, opts: CompileOptions, mem: MemLayout, usage: MemUsage,
  sharing: Readonly<MapSharing>): CompiledProgram | undefined | typeof SHARE_AGGREGATION_MAPS | typeof PAD_ASSOC_KEYS {
  const checked = opts.checked;
  const sym = symbolsOf(checked, opts);
  const shareAggMaps = sharing.aggs;
  if (!shareAggMaps && sym.aggs.size > MAX_AGGREGATION_MAPS) return SHARE_AGGREGATION_MAPS;
  const strtab: string[] = [];
  const strOffsets = new Map<string, number>();
  let strtabSize = 0;
  const literal = (text: string): number => {
    let off = strOffsets.get(text);
    if (off === undefined) {
      off = strtabSize;
      strOffsets.set(text, off);
      strtab.push(text);
      strtabSize += mem.strSlot;
    }
    return off;
  };
  const gOffsets = new Map<string, number>();
  let gSize = 0;
  const slotSize = (t: VType) => (t.t === 'str' ? (t.max !== undefined ? (t.max + 7) & ~7 : mem.strSlot) : t.t === 'obj' ? Math.max(8, (t.size + 7) & ~7) : 8);
  const aggValueSize = (a: AggInfo) => 8 * (isAggFn(a.fn) ? AGGREGATING_FUNCTIONS[a.fn].valueWords(a.params) : 1);
  const aggKeySize = (a: AggInfo) => a.keys.reduce((s, k) => s + slotSize(k), 0) || 8;
  const aggMaps = new AggMapPlan([...sym.aggs.values()], shareAggMaps, { aggKeySize, aggValueSize });
  const assocMaps = new AssocMapPlan([...sym.assocs.values(), ...sym.threadAssocs.values()], { slotSize }, sharing.padAssocKeys);
  const env: LowerEnv = {
    sym, mem, sink, literal,
    globalOffset(v: VarInfo) {
      let off = gOffsets.get(v.name);
      if (off === undefined) { off = gSize; gOffsets.set(v.name, off); gSize += slotSize(v.type); }
      return off;
    },
    clauseLocalOffset: clauseLocalLayout(usage),
    assocMap: (v) => assocMaps.map(v),
    assocTupleBytes: (v) => assocMaps.paddedTupleSize(v),
    aggMap: (a) => aggMaps.placement(a),
    slotSize, aggValueSize, aggKeySize,
    tvarValueSize: Math.max(8, ...[...sym.threads.values()].map((v) => slotSize(v.type))),
    options: { target: opts.target, destructive: opts.destructive, walltimeOffsetNs: opts.walltimeOffsetNs, macroArgs: opts.macroArgs, nspec: Math.max(1, opts.nspec ?? 1), quiet: !!opts.quiet, pcapsize: opts.pcapsizeBytes ?? 1514 },
    clauses: new Map(),
    recMax: 8,
    checked,
    ...kernelAccess(opts.kernelLookups),
    kfuncs: (opts.kernel ?? NEWEST_KERNEL).kfuncs,
    // Asked only when chill() needs it: the running kernel's answer loads a probe program.
    get bpfLoop() { return (opts.kernel ?? NEWEST_KERNEL).bpfLoop; },
    usesAlloca: callsAny(program.items, ['alloca', 'copyin', 'copyinto', 'bcopy']),
    hasErrorClauses: false,
    usage,
    probeNameOffsets: new Map(),
  };
  usage.alloca = env.usesAlloca;
  const subprograms = new Map<string, Insn[]>();
  const errorProbe = match.probes.find((p) => p.id === DTRACE_PROBE_IDS.ERROR);
  const errorClauses = errorProbe ? match.clauses.filter((c) => c.probes.includes(errorProbe)) : [];
  if (errorProbe && errorClauses.length > 0) {
    env.hasErrorClauses = true;
    try {
      const withIds = errorClauses.map((c) => ({ clause: c.clause, stid: stidOf(c, errorProbe.id) }));
      subprograms.set(ERROR_SUBPROGRAM, lowerErrorSubprogram(env, withIds, errorProbe).insns);
    } catch (e) {
      if (!(e instanceof LowerError)) throw e;
      sink.error('D_UNKNOWN', e.message, e.node?.span);
      return undefined;
    }
  }

  const programs: ProgramSpecData[] = [];
  const providerMaps: ProviderMap[] = [];
  const usesStrtok = callsAny(program.items, ['strtok']);
  const usesErrno = someNode(program.items, (o) => o.kind === 'Ident' && o.name === 'errno');
  // Inlines (and translators) of the program that read arguments make every clause need them.
  const inlinesReadArgs = program.items.some((i) => i.kind !== 'Clause' && argsRead(i) > 0);
  let failed = false;
  const { probeById, entryById } = probeIndex(match);
  for (const [provider, entries] of match.byProvider) {
    const plans: ProgramPlan[] = provider.plan(entries.map((e) => e.enabled), {
      userStringArgs(probeId) {
        const entry = entryById.get(probeId);
        return entry ? userStringArgs(entry.clauses.map((mc) => [mc.clause.predicate, mc.clause.body])) : [];
      },
    });
    for (const plan of plans) {
      env.bpfType = plan.bpfType;
      const asm = new Asm(plan.name);
      const exitLabel = 'exit';
      const gate = emitPrologue(asm, plan, mem, usesStrtok, usesErrno, opts.cpu);
      // Probes running the same clauses (same clause ids) share their code in this program.
      const sharedBlocks = new Map<string, string>();
      type Entry = (typeof entries)[number];
      const groupKey = (e: Entry) => e.clauses.map((mc) => stidOf(mc, e.enabled.id)).join(',');
      let groups: Map<string, ProbeInfo[]> | undefined;
      const probeGroups = (): Map<string, ProbeInfo[]> => {
        if (!groups) {
          groups = new Map();
          for (const e of entries) {
            const list = groups.get(groupKey(e)) ?? [];
            list.push(probeById.get(e.enabled.id)!);
            groups.set(groupKey(e), list);
          }
        }
        return groups;
      };
      // The clauses of one probe (or of a group sharing code), in script order. An attached
      // program checked the activity state in its prologue; a later clause re-checks it only
      // when an earlier one may have called exit().
      const lowerClauses = (entry: Entry, probeId: number, probe: ProbeInfo) => {
        let mayHaveExited = plan.runMode !== 'attach';
        for (const mc of entry.clauses) {
          lowerClause(asm, env, mc.clause, stidOf(mc, probeId), probe, mayHaveExited ? gate : -1);
          if (callsAny(mc.clause, ['exit'])) mayHaveExited = true;
        }
        asm.st(4, R9, MST.prid, 0);
      };
      try {
        plan.emitTrampoline({
          asm,
          argOffset: (i) => MST.argv + 8 * i,
          scratchOffset: MST.scratchU64,
          regsOffset: MST.regs,
          timestampOffset: MST.timestamp,
          errnoOffset: MST.errno,
          exitLabel,
          argsUsed: (probeId) => argsUsedBy(entryById.get(probeId), inlinesReadArgs),
          stringBuffer: { offset: mem.tmp, size: mem.strsize + 1 },
          emitSharedClauses(probeId, opts) {
            const entry = entryById.get(probeId);
            if (!entry) return false;
            const key = groupKey(entry);
            const members = probeGroups().get(key)!;
            if (members.length < 2) { this.emitClauses(probeId, opts); return false; }
            asm.mov(R1, imm(probeId)).stx(4, R9, MST.prid, R1);
            const known = sharedBlocks.get(key);
            if (known) { asm.ja(known); return true; }
            const label = asm.newLabel('shared');
            sharedBlocks.set(key, label);
            asm.label(label);
            // (Every caller in one program passes the same keepTimestamp.)
            if (!opts?.keepTimestamp) asm.st(8, R9, MST.timestamp, 0);
            lowerClauses(entry, probeId, { ...members[0]!, shared: members });
            return false;
          },
          emitClauses(probeId, opts) {
            const entry = entryById.get(probeId);
            if (!entry) return;
            asm.mov(R1, imm(probeId)).stx(4, R9, MST.prid, R1);
            if (!opts?.keepTimestamp) asm.st(8, R9, MST.timestamp, 0);
            lowerClauses(entry, probeId, probeById.get(probeId)!);
          },
        });
      } catch (e) {
        if (e instanceof LowerError) {
          // An error about the program as a whole (no expression to point at) names the
          // script but no line, as DTrace does.
          const d = sink.error('D_UNKNOWN', e.message, e.node?.span);
          if (!e.node) d.source = program.span.source;
          failed = true;
          continue;
        }
        throw e;
      }
      asm.setSource(undefined).label(exitLabel).st(4, R9, MST.prid, 0);
      // 'ret' is reached before R9 is set or while another firing owns the scratch value;
      // programs return 0 (returning 1 costs ≈350 ns per event).
      asm.label('ret').mov(R0, imm(0)).exit();
      for (const m of plan.maps ?? []) if (!providerMaps.some((x) => x.name === m.name)) providerMaps.push(m);
      programs.push({
        name: plan.name, provider: provider.name, runMode: plan.runMode, bpfType: plan.bpfType, ...(plan.load ? { load: plan.load } : {}), insns: asm.insns, attach: plan.attach, probes: plan.probes.map((p) => p.id),
      });
    }
  }
  if (failed) return undefined;
  const crowded = programOverMapLimit(programs, subprograms);
  if (crowded && !shareAggMaps && sym.aggs.size > 1) return SHARE_AGGREGATION_MAPS;
  if (crowded && !sharing.padAssocKeys && assocMaps.paddedMapCount < assocMaps.mapCount) return PAD_ASSOC_KEYS;
  if (crowded) {
    const d = sink.error('D_UNKNOWN', `the probes of program ${crowded.name} use ${crowded.maps} maps (associative arrays one per ${sharing.padAssocKeys ? 'value size' : 'key and value size'}, aggregations ${shareAggMaps ? 'one per key and value size' : 'one each'}); the kernel allows a BPF program ${MAX_MAPS_PER_PROGRAM}`);
    d.source = program.span.source;
    return undefined;
  }
  addLibrarySubprograms(programs, subprograms, mem, opts.kernel ?? NEWEST_KERNEL, env.tracerFrames);

  if (!fitsKernel(program, sink, opts, programs, subprograms)) return undefined;

  // Maps, sized now that code generation is done.
  const { maps, aggregations, maxDynvarElementBytes } = mapSpecs({ opts, mem, env, sym, match, programs, subprograms, gSize, strtab, strOffsets, strtabSize, slotSize, aggValueSize, aggKeySize, aggMaps, assocMaps, providerMaps });
  const pragmaOptions = pragmaOptionsOf(program);
  const clauses = [...env.clauses.values()].sort((a, b) => a.stid - b.stid);
  // Clauses matched by no enabled program still need a spec for the consumer (none print).
  // As dtrace-utils counts them: an aggregation its key (at least the 4-byte id) and value.
  const maxAggregationElementBytes = Math.max(0, ...aggregations.map((a) => Math.max(4, a.keyFields.length ? a.keySize : 4) + a.valueSize));
  return {
    maps, programs, probes: match.probes, clauses, aggregations, pragmaOptions, strsize: opts.strsize, subprograms,
    globalFunctions: fallbackPrototypes(subprograms.keys(), mem),
    sizes: { maxRecordBytes: Math.max(0, ...clauses.map((c) => c.recordSize)), maxDynvarElementBytes, maxAggregationElementBytes },
  };
}

/**
 * The prologue of a program: keeps the context at fp-8, finds this CPU's scratch value (R9),
 * gates on the activity state; returns the activity its clauses run in.
 */
function emitPrologue(asm: Asm, plan: ProgramPlan, mem: MemLayout, usesStrtok: boolean, usesErrno: boolean, onlyCpu?: number): number {
  if (plan.runMode === 'attach') plan.prefilter?.(asm, 'ret');
  asm.stx(8, R10, -8, R1).st(4, R10, -24, 0).mov(R2, R10).alu64('add', R2, imm(-24)).ldMapFd(R1, 'mem').call(Helper.map_lookup_elem);
  asm.jmp('jeq', R0, imm(0), 'ret').mov(R9, R0);
  const gate = plan.runMode === 'begin' ? Activity.INACTIVE : plan.runMode === 'end' ? Activity.DRAINING : Activity.ACTIVE;
  if (plan.runMode === 'attach') {
    asm.ldMapValue(R1, 'state', STATE.activity).ldx(8, R1, R1, 0).jmp('jne', R1, imm(gate), 'ret');
    // Nested firing on this CPU (e.g. a profile interrupt inside a syscall probe) would
    // clobber the scratch value in use: skip it, as dtrace-utils' prid guard does.
    asm.ldx(4, R1, R9, MST.prid).jmp('jne', R1, imm(0), 'ret');
    // -x cpu=N: only that CPU's events are traced (DTrace's single-CPU principal buffer).
    if (onlyCpu !== undefined) asm.call(Helper.get_smp_processor_id).jmp('jne', R0, imm(onlyCpu), 'ret');
  } else {
    for (let i = 0; i < 10; i++) asm.st(8, R9, MST.argv + 8 * i, 0);
  }
  // strtok()'s saved position lives for one probe firing, as in DTrace.
  if (usesStrtok) asm.st(8, R9, mem.strtok, 0);
  // errno is 0 unless a syscall return trampoline sets it for this firing.
  if (usesErrno) asm.st(4, R9, MST.errno, 0);
  return gate;
}

/**
 * The kernel allows a program 64 distinct maps (MAX_USED_MAPS): the first program over that
 * (refused here with the reason, not by the verifier), or undefined when none is.
 */
function programOverMapLimit(programs: ProgramSpecData[], subprograms: Map<string, Insn[]>): { name: string; maps: number } | undefined {
  for (const p of programs) {
    const used = new Set<string>();
    const scan = (insns: Insn[]) => { for (const i of insns) if (i.map) used.add(i.map.name); };
    scan(p.insns);
    for (const body of subprograms.values()) scan(body);
    if (used.size > MAX_MAPS_PER_PROGRAM) return { name: p.name, maps: used.size };
  }
  return undefined;
}

/** Fits the programs to the kernel they will load into; false (an error reported) when a kfunc they need is missing. */
function fitsKernel(program: A.Program, sink: DiagnosticSink, opts: CompileOptions, programs: ProgramSpecData[], subprograms: Map<string, Insn[]>): boolean {
  const kernel = opts.kernel ?? NEWEST_KERNEL;
  const missingKfuncs = fitToKernel({ programs, subprograms }, kernel);
  if (missingKfuncs.length === 0) return true;
  const d = sink.error('D_UNKNOWN', missingKfuncMessage(missingKfuncs[0]!, kernel));
  d.source = program.span.source;
  return false;
}

/** What lowering may ask of the kernel, through the caller's lookups (none: nothing is known). */
function kernelAccess(k: KernelLookups | undefined): Pick<LowerEnv, 'kernelSymbol' | 'kernelTypes' | 'tracerFrames' | 'writeUser' | 'cpuPackages'> {
  return {
    kernelSymbol: (name) => k?.symbol(name),
    kernelTypes: () => k?.types(),
    tracerFrames: () => k?.tracerFrames?.(),
    writeUser: () => k?.writeUser?.() ?? { available: false, reason: 'nothing says whether this kernel allows bpf_probe_write_user' },
    cpuPackages: () => k?.cpuPackages?.(),
  };
}

/** Adds the library subprograms (string routines) the programs call, and the ones those call. */
function addLibrarySubprograms(programs: ProgramSpecData[], subprograms: Map<string, Insn[]>, mem: MemLayout, kernel: KernelCaps,
  tracerFrames?: () => TracerFrameTable | undefined): void {
  const strings = stringSubprograms(mem, kernel);
  const library = { get(name: string): Insn[] | undefined {
    if (name === CHILL_LOOP_SUBPROGRAM) return chillLoopSubprogram();
    if (name !== TRACER_FRAME_SUBPROGRAM) return strings.get(name);
    const table = tracerFrames?.();
    return table && tracerFrameSubprogram(table);
  } };
  const pending = [...programs.map((p) => p.insns), ...subprograms.values()];
  while (pending.length) {
    for (const i of pending.pop()!) {
      if (i.callee === undefined || subprograms.has(i.callee)) continue;
      const body = library.get(i.callee);
      if (body) { subprograms.set(i.callee, body); pending.push(body); }
    }
  }
}

/** What sizing the maps needs from the compilation that just ran. */
interface MapSizing {
  opts: CompileOptions; mem: MemLayout; env: LowerEnv; sym: Symbols; match: ProbeMatch; programs: ProgramSpecData[];
  subprograms: Map<string, Insn[]>; gSize: number; strtab: string[]; strOffsets: Map<string, number>; strtabSize: number;
  slotSize(t: VType): number; aggValueSize(a: AggInfo): number; aggKeySize(a: AggInfo): number;
  aggMaps: AggMapPlan; assocMaps: AssocMapPlan; providerMaps: ProviderMap[];
}

/** The program's maps, sized once code generation is done, and the aggregations' layouts. */
function mapSpecs(z: MapSizing): { maps: MapSpecData[]; aggregations: AggregationSpec[]; maxDynvarElementBytes: number } {
  const { opts, mem, env, sym, match, programs, subprograms, gSize, strtab, strOffsets, strtabSize, slotSize, aggValueSize, aggKeySize, aggMaps, assocMaps, providerMaps } = z;
  const maps: MapSpecData[] = [];
  maps.push({ name: 'mem', type: 'percpu_array', keySize: 4, valueSize: mem.size(env.recMax), maxEntries: 1 });
  for (const m of fallbackMaps(subprograms.keys(), mem.strsize)) maps.push({ name: m.name, type: 'percpu_array', keySize: 4, valueSize: m.valueSize, maxEntries: 1 });
  maps.push({ name: 'state', type: 'array', keySize: 4, valueSize: STATE.size, maxEntries: 1 });
  const packages = env.usesCpuTopology ? env.cpuPackages?.() : undefined;
  if (packages) maps.push(cpuTopologyMap(packages));
  maps.push(...providerMaps);
  // Speculation buffers' busy flags, one u64 per id 1..nspec (index 0 unused).
  maps.push({ name: 'specs', type: 'array', keySize: 4, valueSize: 8 * (Math.min(env.options.nspec, 16) + 1), maxEntries: 1 });
  maps.push({ name: 'gvars', type: 'array', keySize: 4, valueSize: Math.max(8, gSize), maxEntries: 1 });
  const aggInfos = [...sym.aggs.values()];
  const zerosSize = Math.max(mem.keyMax, mem.strSlot * 2, ...aggInfos.map(aggValueSize), env.tvarValueSize);
  maps.push({ name: 'zeros', type: 'array', keySize: 4, valueSize: zerosSize, maxEntries: 1 });
  const strtabBytes = new Uint8Array(strtabSize + mem.strSlot);
  for (const s of strtab) {
    const bytes = Buffer.from(s, 'latin1').subarray(0, mem.strsize);
    strtabBytes.set(bytes, strOffsets.get(s)!);
  }
  maps.push({ name: 'strtab', type: 'array', keySize: 4, valueSize: strtabBytes.length, maxEntries: 1, init: [{ key: 0, value: strtabBytes }], readonly: false });
  if (env.probeNameOffsets.size > 0) {
    // Shared clause code finds probeprov/probemod/probefunc/probename by probe id: four u32
    // string-table offsets per id.
    const maxId = Math.max(...match.probes.map((p) => p.id));
    const table = new Uint8Array((maxId + 1) * 16);
    const dv = new DataView(table.buffer);
    for (const [id, offs] of env.probeNameOffsets) offs.forEach((o, f) => dv.setUint32(id * 16 + f * 4, o, true));
    maps.push({ name: 'probenames', type: 'array', keySize: 4, valueSize: table.length, maxEntries: 1, init: [{ key: 0, value: table }] });
  }
  // With no probe attached (only BEGIN/END/ERROR), each clause writes at most one record per
  // run (plus an error record): the ring need not be bufsize large — it is mapped into the
  // tracer, so its size is resident memory.
  const attaches = programs.some((p) => p.runMode === 'attach');
  const specialOutput = [...env.clauses.values()].reduce((n, c) => n + 2 * (c.recordSize + 16) + 64, 0);
  const ringBytes = attaches ? opts.bufsizeBytes : Math.min(opts.bufsizeBytes, specialOutput);
  maps.push({ name: 'ringbuf', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: ringSize(ringBytes) });
  // dynvarsize and aggsize count elements as DTrace does: the budget over the largest key plus
  // the largest value (dtrace-utils keeps one map of each kind). Here each variable or
  // aggregation has its own map (or its part of a shared one), and the associative arrays one
  // per key and value size (assoc-maps.ts), so the maps share that count (the memory stays
  // within the budget). No floor: a small size binds and its drops are reported; every map holds one.
  const assocs = [...sym.assocs.values(), ...sym.threadAssocs.values()];
  // (As DTrace counts an element's key: its tuple, and the thread for a self-> array.)
  const assocKeySize = (v: VarInfo): number => assocMaps.tupleSize(v) + (v.scope === 'thread' ? 8 : 0);
  const dynMapCount = (sym.threads.size > 0 ? 1 : 0) + assocMaps.mapCount || 1;
  const dynTuple = Math.max(0, ...assocs.map(assocKeySize));
  // A value counts its type's size (an int 4 bytes, a struct its size), not the 8-byte slot.
  const valueBytes = (t: VType): number => (t.t === 'int' || t.t === 'obj' ? t.size : slotSize(t));
  const dynValue = Math.max(...[...sym.threads.values()].map((v) => valueBytes(v.type)), ...assocs.map((v) => valueBytes(v.type)), 1);
  const dynEntries = Math.max(1, Math.floor(opts.dynvarsizeBytes / (dynTuple + dynValue) / dynMapCount));
  const keyedAggCount = aggInfos.filter((a) => a.keys.length > 0).length || 1;
  const aggTuple = Math.max(4, ...aggInfos.map((a) => (a.keys.length > 0 ? aggKeySize(a) : 4)));
  const aggValue = Math.max(1, ...aggInfos.map(aggValueSize));
  const aggEntries = Math.max(1, Math.floor(opts.aggsizeBytes / (aggTuple + aggValue) / keyedAggCount));
  // Hash maps are preallocated: a 1M-entry tvars map costs 0.2 s of map creation on the host
  // (seconds under the 6.1 guest's TCG) in every run. Code touches it only for self-> variables.
  maps.push({ name: 'tvars', type: 'hash', keySize: 8, valueSize: env.tvarValueSize, maxEntries: sym.threads.size > 0 ? dynEntries : 1 });
  maps.push(...assocMaps.maps(dynEntries));
  maps.push(...aggMaps.maps(aggInfos, aggEntries));
  const aggregations: AggregationSpec[] = aggMaps.specs(aggInfos, opts.strsize, slotSize);
  // As dtrace-utils counts them: a thread-local element is its value, an associative one its
  // key tuple and value.
  const maxDynvarElementBytes = Math.max(0, ...(sym.threads.size > 0 ? [env.tvarValueSize] : []), ...assocs.map((v) => assocKeySize(v) + slotSize(v.type)));
  return { maps, aggregations, maxDynvarElementBytes };
}

/** `#pragma D option` settings in program order. */
function pragmaOptionsOf(program: A.Program): { name: string; value?: string }[] {
  const pragmaOptions: { name: string; value?: string }[] = [];
  for (const item of program.items) {
    if (item.kind === 'Pragma' && item.directive === 'option') {
      for (const arg of item.args) {
        const eq = arg.indexOf('=');
        pragmaOptions.push(eq < 0 ? { name: arg } : { name: arg.slice(0, eq), value: arg.slice(eq + 1) });
      }
    }
  }
  return pragmaOptions;
}

/**
 * How many leading raw arguments a piece of the program can read: argN by name, or all ten when it uses
 * args[] (its mapping is the provider's) or anything that could read them indirectly.
 */
function argsRead(node: unknown): number {
  let n = 0;
  someNode(node, (o) => {
    if (o.kind === 'Ident') {
      const name = o.name as string;
      const m = /^arg([0-9])$/.exec(name);
      if (m) n = Math.max(n, Number(m[1]) + 1);
      // args[] and names that may expand to library inlines reading them.
      else if (name === 'args' || !/^[a-z_]+$/.test(name) || /^(cur|u?regs|caller|ucaller)/.test(name)) n = 10;
    }
    return n >= 10;
  });
  return n;
}

/** The code generator's representation of a C type: integers by size/sign, strings; others undefined. */
/** The clause id of `mc` for a probe: that of the description that matched it. */
type ProviderEntry = ProbeMatch['byProvider'] extends Map<Provider, (infer E)[]> ? E : never;

/** Probe id → its probe and its provider entry: a pid provider can enable thousands, so no linear searches per probe. */
function probeIndex(match: ProbeMatch): { probeById: Map<number, ProbeInfo>; entryById: Map<number, ProviderEntry> } {
  const entryById = new Map<number, ProviderEntry>();
  for (const entries of match.byProvider.values()) for (const e of entries) entryById.set(e.enabled.id, e);
  return { probeById: new Map(match.probes.map((p) => [p.id, p])), entryById };
}

/** How many leading arguments the clauses of a probe read (all 10 when an inline reads some). */
function argsUsedBy(entry: ProviderEntry | undefined, inlinesReadArgs: boolean): number {
  return entry && !inlinesReadArgs ? Math.max(0, ...entry.clauses.map((mc) => argsRead([mc.clause.predicate, mc.clause.body]))) : 10;
}

function stidOf(mc: MatchedClause, probeId: number): number {
  return mc.stid + (mc.descOf.get(probeId) ?? 0);
}

/** MAX_USED_MAPS of the kernel's verifier. */
const MAX_MAPS_PER_PROGRAM = 64;

/** Ring buffer size: a power of two ≥ 4 KiB, from bufsize. */
function ringSize(bytes: number): number {
  // Not capped here: a size the kernel cannot give is resized (or refused) at load, by bufresize.
  let n = 4096;
  while (n < bytes && n < 2 ** 42) n *= 2;
  return n;
}
