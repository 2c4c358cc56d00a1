/**
 * @fileoverview The one compile pipeline of dtrace-ts, shared by the dtrace command and the
 * library's compile(): parse (each program, after the caller's preprocessing), `#pragma D
 * option`, check, the option bounds, probe matching, code generation and the per-CPU size
 * check, under the same option rules. The command stops early for -h/-G (after the pragmas) and
 * -l (after the check); what it prints at each failure is its own (runs of the pipeline end in
 * an outcome, never in output).
 */
import { readFileSync } from 'node:fs';
import { DiagnosticSink } from '../diag/diagnostic.js';
import type { Source } from '../diag/source.js';
import { parse } from '../lang/parser.js';
import type * as A from '../lang/ast.js';
import { matchProgram, compileProgram, type ProbeMatch } from '../codegen/compile.js';
import { kernelCaps } from '../bpf/features.js';
import type { KernelCaps } from '../bpf/kernel-caps.js';
import { Helper } from '../bpf/uapi.js';
import { disassemble } from '../bpf/asm/disasm.js';
import { link } from '../bpf/asm/encode.js';
import { prototypeText } from '../bpf/btf/func-info.js';
import { programFunctions } from '../runtime/func-info.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { libraryDependencyProblem } from '../check/library.js';
import type { Checked } from '../check/checker.js';
import { RECORD_HEADER_BYTES, type CompiledProgram } from '../program/spec.js';
import { setOption, pragmaOptionMessage, applySetopt, type OptionValues } from '../cli/options.js';
import { checkProgram } from '../cli/check-bridge.js';
import { runningKernel } from '../cli/kernel-lookups.js';
import { optionBoundsError, oversizedMapError } from '../cli/limits.js';
import type { RunOptions } from '../runtime/session.js';

/** Whether a boolean-ish option is on (set, and not `false`/0). */
export function optionIsSet(o: OptionValues, name: string): boolean {
  const v = o.get(name);
  return v !== undefined && v !== 'false' && v !== 0n;
}

/** A numeric option's value (or dflt). */
export function optionNumberOr(o: OptionValues, name: string, dflt: number): number {
  const v = o.get(name);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return dflt;
}

/**
 * The macro variables of this process: `$pid`, `$ppid`, `$pgid`, `$sid`, `$uid`, `$gid`,
 * `$euid`, `$egid` (the process group and session are the fields after `(comm)` in
 * /proc/self/stat: Node has no getpgid/getsid), and `$target`: the -c/-p process, or 0 when
 * there is none (DTrace defines it always: `pid == $target` is then simply false in processes).
 */
export function processMacroVars(target: number | undefined): Record<string, number | undefined> {
  let pgid: number | undefined;
  let sid: number | undefined;
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    pgid = Number(fields[2]);
    sid = Number(fields[3]);
  } catch {
    // No /proc: $pgid and $sid stay undefined (D_MACRO_UNDEF), as where DTrace cannot tell.
  }
  return {
    target: target ?? 0, pid: process.pid, ppid: process.ppid, pgid, sid,
    uid: process.getuid?.(), gid: process.getgid?.(), euid: process.geteuid?.(), egid: process.getegid?.(),
  };
}

/** One program of a compilation (a -s file, a -n description, the library's source text). */
export interface PipelineProgram {
  source: Source;
  /** `$0`: the script's name, or `dtrace` for a description. */
  macroArg0: string;
}

export interface PipelineInput {
  programs: readonly PipelineProgram[];
  /** The option store (defaults and -x options); pragmas are added to it. */
  options: OptionValues;
  /** $1, $2, … */
  macroArgs: readonly string[];
  /** $target, when a -c/-p process is named. */
  target?: number;
  /** -w on the command line (else the destructive option). */
  destructive?: boolean;
  /** -x version: the D version the program asks for. */
  version?: string;
  /** The caller's preprocessing of one program (cpp for -C): its source, or the text of its failure. */
  preprocess?: (source: Source) => Source | { error: string };
  /** Where to stop: after the pragmas (-h, -G), after the check (-l), or compiled. */
  stopAfter?: 'pragmas' | 'check';
  /** The full description of the probe with an ID (IDs in descriptions match nothing without it). */
  probeById?: (id: number) => string | undefined;
  /** Refuse destructive actions without -w here (the dtrace command does not when only compiling: -e). */
  refuseDestructive?: boolean;
}

/** How a compilation failed: a diagnostic (in the sink) or a one-line message (without `dtrace: `). */
export type PipelineFailure =
  | { ok: false; kind: 'diagnostic'; stage: 'parse' | 'pragma' | 'check' | 'match' | 'codegen'; sink: DiagnosticSink; whole?: A.Program }
  | { ok: false; kind: 'message'; message: string; status: number }
  /** The preprocessor failed: its text, complete. */
  | { ok: false; kind: 'preprocess'; text: string; status: number };

export interface ParsedPrograms {
  ok: true;
  stage: 'pragmas';
  asts: A.Program[];
  sink: DiagnosticSink;
}

export interface CheckedPrograms extends Omit<ParsedPrograms, 'stage'> {
  stage: 'check';
  /** Every program's items as one program. */
  whole: A.Program;
  checked: Checked;
  destructive: boolean;
  /** Destructive actions without -w / the destructive option: enabling them is refused. */
  destructiveRefused: boolean;
}

export interface CompiledPrograms extends Omit<CheckedPrograms, 'stage'> {
  stage: 'compiled';
  match: ProbeMatch;
  program: CompiledProgram;
  zdefs: boolean;
}

export type PipelineOutcome = PipelineFailure | ParsedPrograms | CheckedPrograms | CompiledPrograms;

/** Runs the pipeline up to input.stopAfter (else to a compiled program). */
export function runPipeline(input: PipelineInput): PipelineOutcome {
  const o = input.options;
  const sink = new DiagnosticSink();
  const asts: A.Program[] = [];
  // DTrace loads its library directories at the first compilation: a broken dependency graph
  // fails that compilation, whether or not the program uses the library.
  const libProblem = optionIsSet(o, 'nolibs') || input.programs.length === 0 ? undefined : libraryDependencyProblem();
  if (libProblem !== undefined) {
    const first = input.programs[0]!.source;
    const what = first.kind === 'description' ? `invalid probe specifier ${first.name}` : `failed to compile script ${first.name}`;
    return { ok: false, kind: 'message', message: `${what}: ${libProblem}`, status: 1 };
  }
  for (const prog of input.programs) {
    let source = prog.source;
    if (input.preprocess) {
      const r = input.preprocess(source);
      if ('error' in r) return { ok: false, kind: 'preprocess', text: r.error, status: 1 };
      source = r;
    }
    asts.push(parse(source, sink, {
      macroArgs: [prog.macroArg0, ...input.macroArgs],
      macroVars: processMacroVars(input.target),
      defaultArgs: optionIsSet(o, 'defaultargs'), argRef: optionIsSet(o, 'argref'), allowEmpty: optionIsSet(o, 'empty'), pspec: optionIsSet(o, 'pspec'),
      probeById: input.probeById,
      // `(uint)x`: kernel typedefs (BTF) are type names too; asked only for unknown names.
      isTypeName: (n) => kernelTypeSource()?.typedefType(n) !== undefined,
    }));
    if (sink.hasErrors) return { ok: false, kind: 'diagnostic', stage: 'parse', sink };
  }
  const items = asts.flatMap((a) => a.items);
  applyPragmas(items, o, sink);
  if (sink.hasErrors) return { ok: false, kind: 'diagnostic', stage: 'pragma', sink };
  if (input.stopAfter === 'pragmas') return { ok: true, stage: 'pragmas', asts, sink };

  const whole: A.Program = { kind: 'Program', span: asts[0]?.span ?? { source: input.programs[0]!.source, start: 0, end: 0 }, items };
  const destructive = optionIsSet(o, 'destructive') || input.destructive === true;
  const strsize = optionNumberOr(o, 'strsize', 256);
  // scratchsize from -x or a pragma (the store holds DTrace's 8-byte header too).
  const scratchsize = optionNumberOr(o, 'scratchsize', 256 + 8);
  const checked = checkProgram(whole, sink, {
    strsize, destructive, scratchsizeBytes: scratchsize - 8, texts: input.programs.map((p) => p.source.text),
    version: input.version, nolibs: optionIsSet(o, 'nolibs'),
  });
  if (sink.hasErrors) return unmatchedBeforeError(whole, sink, optionIsSet(o, 'zdefs')) ?? { ok: false, kind: 'diagnostic', stage: 'check', sink };
  // Refused when tracing is enabled (dtrace_go), after the "matched N probes" lines.
  const destructiveRefused = checked?.usesDestructive === true && !destructive && input.refuseDestructive !== false;
  if (input.stopAfter === 'check') return { ok: true, stage: 'check', asts, sink, whole, checked, destructive, destructiveRefused };

  const bounds = optionBoundsError(o);
  if (bounds !== undefined) return { ok: false, kind: 'message', message: bounds, status: 1 };
  // What code generation may use here (probed lazily); DTRACE_TS_KERNEL may emulate an older kernel.
  let kernel: KernelCaps;
  try { kernel = kernelCaps(); } catch (e) { return { ok: false, kind: 'message', message: (e as Error).message, status: 2 }; }
  const zdefs = optionIsSet(o, 'zdefs');
  const match = matchProgram(whole, sink, { zdefs });
  if (sink.hasErrors) return { ok: false, kind: 'diagnostic', stage: 'match', sink, whole };
  const program = compileProgram(whole, match, sink, {
    strsize, destructive, target: input.target, macroArgs: [...input.macroArgs], walltimeOffsetNs: wallOffsetNs(),
    bufsizeBytes: optionNumberOr(o, 'bufsize', 4 << 20), aggsizeBytes: optionNumberOr(o, 'aggsize', 4 << 20),
    dynvarsizeBytes: optionNumberOr(o, 'dynvarsize', 1 << 20), zdefs, checked, quiet: optionIsSet(o, 'quiet'),
    scratchsizeBytes: scratchsize, nspec: optionNumberOr(o, 'nspec', 1), specsizeBytes: optionNumberOr(o, 'specsize', 4 << 20),
    stackframes: optionNumberOr(o, 'stackframes', 20), ustackframes: optionNumberOr(o, 'ustackframes', 100), jstackframes: optionNumberOr(o, 'jstackframes', 50), jstackstrsize: optionNumberOr(o, 'jstackstrsize', 512),
    ...(o.has('cpu') ? { cpu: optionNumberOr(o, 'cpu', 0) } : {}), maxframes: optionNumberOr(o, 'maxframes', 127),
    pcapsizeBytes: optionNumberOr(o, 'pcapsize', 1514),
    kernel, kernelLookups: runningKernel,
  });
  if (!program || sink.hasErrors) return { ok: false, kind: 'diagnostic', stage: 'codegen', sink };
  const oversized = oversizedMapError(program.maps, o);
  if (oversized !== undefined) return { ok: false, kind: 'message', message: oversized, status: 1 };
  return { ok: true, stage: 'compiled', asts, sink, whole, checked, destructive, match, program, zdefs, destructiveRefused };
}

/**
 * DTrace compiles clause by clause, each description's probes matched before the clause is
 * type-checked (dt_compile_one_clause: dt_setcontext, then dt_node_cook): a description that
 * matches nothing in an earlier clause, or as the first of the failing clause, is reported
 * instead of the type error. The failure to report then, if any.
 */
function unmatchedBeforeError(whole: A.Program, sink: DiagnosticSink, zdefs: boolean): PipelineFailure | undefined {
  const span = sink.errors[0]?.span;
  if (zdefs || !span) return undefined;
  const clauses = whole.items.filter((i): i is A.Clause => i.kind === 'Clause');
  const at = clauses.findIndex((c) => c.span.source === span.source && span.start >= c.span.start && span.start < c.span.end);
  if (at < 0) return undefined;
  const before: A.Clause[] = [...clauses.slice(0, at), { ...clauses[at]!, probes: clauses[at]!.probes.slice(0, 1) }];
  const matchSink = new DiagnosticSink();
  matchProgram({ ...whole, items: before }, matchSink, { zdefs });
  return matchSink.hasErrors ? { ok: false, kind: 'diagnostic', stage: 'match', sink: matchSink, whole } : undefined;
}

/** `#pragma D option` lines set options before the program is checked and compiled. */
function applyPragmas(items: readonly A.TopLevel[], store: OptionValues, sink: DiagnosticSink): void {
  for (const item of items) {
    if (item.kind !== 'Pragma' || item.directive !== 'option') continue;
    for (const arg of item.args) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? true : arg.slice(eq + 1);
      const r = setOption(store, name, value, { inProgram: true });
      if (!r.ok) sink.error('D_PRAGMA_OPTSET', pragmaOptionMessage(name, value, r.reason), item.span);
    }
    if (sink.hasErrors) return;
  }
}

/**
 * DTrace's refusal (without `dtrace: `) of an enabling that matched nothing (without -Z) or does
 * not fit its buffers, checked once the program is compiled.
 */
export function enablingRefusal(compiled: CompiledPrograms, o: OptionValues): string | undefined {
  if (compiled.match.matchedPairs === 0 && !compiled.zdefs) return 'no probes matched';
  if (compiled.destructiveRefused) return 'could not enable tracing: Destructive actions not allowed';
  const sizes = compiled.program.sizes;
  // DTrace refuses an enabling whose largest record does not fit the principal buffer, or
  // whose dynamic variables or aggregations cannot hold a single element (dtrace-utils'
  // EDT_BUFTOOSMALL; illumos would round dynvarsize up — the corpus holds dtrace-utils' rule).
  if (minimumBufsize(sizes.maxRecordBytes) > optionNumberOr(o, 'bufsize', 4 << 20)
    || sizes.maxDynvarElementBytes > optionNumberOr(o, 'dynvarsize', 1 << 20)
    || sizes.maxAggregationElementBytes > optionNumberOr(o, 'aggsize', 4 << 20)) {
    return 'could not enable tracing: Enabling exceeds size of buffer';
  }
  return undefined;
}

/**
 * The smallest principal buffer DTrace accepts (dt_work.c): a perf event header (8 bytes) and
 * the largest record as dtrace-utils lays it out — a 16-byte header where ours has 8 — and at
 * least the error record every enabling can emit (header and five 8-byte values).
 */
function minimumBufsize(maxRecordBytes: number): number {
  const PERF_EVENT_HEADER = 8, ORACLE_RECORD_HEADER = 16, ERROR_RECORD = 16 + 5 * 8;
  return PERF_EVENT_HEADER + Math.max(maxRecordBytes - RECORD_HEADER_BYTES + ORACLE_RECORD_HEADER, ERROR_RECORD);
}

/**
 * The BPF code, as `dtrace -S` shows it: each program linked with the subprograms it calls, each
 * of those under its name (and its prototype when it may be loaded as a global function).
 */
export function bpfListing(program: CompiledProgram): string {
  const helperName = (id: number) => { for (const [k, v] of Object.entries(Helper)) if (v === id) return `bpf_${k}`; return undefined; };
  return program.programs.map((p) => {
    const linked = link(p.insns, { get: (n) => program.subprograms.get(n) });
    const headings = new Map(programFunctions(linked).flatMap((f) => {
      if (f.name === undefined) return [];
      const global = program.globalFunctions?.get(f.name);
      return [[f.start, global ? `${f.name}: ${prototypeText(f.name, global)}, global where the kernel takes it` : `${f.name}:`] as const];
    }));
    return `\n${p.name} (${p.bpfType}):\n${disassemble(linked, { withSource: true, helperName, headings })}`;
  }).join('\n');
}

/** The aggregation sort options as the consumer reads them. */
function aggsortOptions(o: OptionValues): RunOptions['aggsort'] {
  return {
    stackIndent: optionNumberOr(o, 'stackindent', 14),
    aggsortkey: optionIsSet(o, 'aggsortkey'), aggsortrev: optionIsSet(o, 'aggsortrev'),
    aggsortpos: o.has('aggsortpos') ? optionNumberOr(o, 'aggsortpos', 0) : undefined,
    aggsortkeypos: o.has('aggsortkeypos') ? optionNumberOr(o, 'aggsortkeypos', 0) : undefined,
  };
}

/** The options of a run that come from the option store, as the command and the library both run it. */
export type StoreRunOptions = Pick<RunOptions, 'quiet' | 'flowindent' | 'droptags' | 'rawbytes' | 'aggsort' | 'specsizeBytes' | 'aggrateMs' | 'switchrateMs'
  | 'statusrateMs' | 'ringBufferBytes' | 'bufpolicy' | 'bufresize' | 'printsize' | 'pcapsize' | 'setopt'>;

export function storeRunOptions(o: OptionValues): StoreRunOptions {
  const aggsort = aggsortOptions(o);
  const policy = o.get('bufpolicy');
  return {
    quiet: optionIsSet(o, 'quiet'), flowindent: optionIsSet(o, 'flowindent'), droptags: optionIsSet(o, 'droptags'), rawbytes: optionIsSet(o, 'rawbytes'),
    aggsort, specsizeBytes: optionNumberOr(o, 'specsize', 4 << 20), aggrateMs: optionNumberOr(o, 'aggrate', 0) / 1e6,
    switchrateMs: Math.max(1, Math.round(optionNumberOr(o, 'switchrate', 10_000_000) / 1e6)) || 10,
    statusrateMs: Math.max(1, Math.round(optionNumberOr(o, 'statusrate', 1_000_000_000) / 1e6)),
    // bufpolicy=ring (fill): the principal buffer's size bounds the newest (oldest) records kept.
    ...(policy === 'ring' || policy === 'fill' ? { ringBufferBytes: optionNumberOr(o, 'bufsize', 4 << 20), bufpolicy: policy } : {}),
    bufresize: o.get('bufresize') === 'manual' ? 'manual' : 'auto',
    printsize: () => optionNumberOr(o, 'printsize', 8192), pcapsize: () => optionNumberOr(o, 'pcapsize', 1514),
    // setopt() of an aggsort option changes the printa()s that follow it.
    setopt: (name, value) => { const msg = applySetopt(o, name, value); Object.assign(aggsort, aggsortOptions(o)); return msg; },
  };
}

/** Offset from CLOCK_MONOTONIC (bpf_ktime_get_ns) to the wall clock, in ns. */
function wallOffsetNs(): bigint {
  const mono = process.hrtime.bigint();
  const wall = BigInt(Date.now()) * 1_000_000n;
  return wall - mono;
}
