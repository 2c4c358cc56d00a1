/**
 * @fileoverview The `dtrace` command: a thin layer over the library (compile → load → run).
 * It parses the command line, reads and preprocesses the programs, reports diagnostics the way
 * dtrace(8) does (plus a caret and hint outside the test harness), and runs the result. Each
 * phase is a function returning what the next needs, or the exit status when the run ends there.
 */
import { openSync, readFileSync } from 'node:fs';
import { parseCommandLine, setOption, pragmaOptionMessage, applySetopt, type OptionValues, type CliOptions } from './options.js';
import { helpText } from './usage.js';
import { missingPrivileges } from './privileges.js';
import { DTRACE_TS_VERSION, D_VERSION } from '../version.js';
import { DiagnosticSink, type Diagnostic } from '../diag/diagnostic.js';
import { renderDiagnostic } from '../diag/render.js';
import { parse } from '../lang/parser.js';
import { preprocess, type PreprocessOptions } from '../lang/preprocess.js';
import type * as A from '../lang/ast.js';
import { matchProgram, compileProgram } from '../codegen/compile.js';
import { RECORD_HEADER_BYTES } from '../program/spec.js';
import { run, LoadError, catchStopSignals, usesUserSymbols } from '../runtime/session.js';
import { bufferLoweredMessage } from '../runtime/load.js';
import { exportOptions } from '../api/export-options.js';
import { keepProcessImage } from '../consume/usyms.js';
import { createProcess, grabProcess, ProcessError, type CreatedProcess, type WatchedProcess } from '../runtime/process.js';
import { dieOfSignal } from '../bpf/sys.js';
import { setUsdtNotices } from '../providers/usdt.js';
import { disassemble } from '../bpf/asm/disasm.js';
import { link } from '../bpf/asm/encode.js';
import { kernelCaps } from '../bpf/features.js';
import type { KernelCaps } from '../bpf/kernel-caps.js';
import { Helper } from '../bpf/uapi.js';
import { SysError, UnsupportedError } from '../bpf/errors.js';
import { checkProgram } from './check-bridge.js';
import { addLibraryDirectories } from '../check/library.js';
import { optionBoundsError, oversizedMapError } from './limits.js';
import { withHint, sysErrorHint, relocatedFromLibrary } from './hints.js';
import type { Source } from '../diag/source.js';
import { runningKernel } from './kernel-lookups.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { setTargetCommand, setTargetPid, declareTargetsKnown } from '../providers/pid.js';
import { listAll, listMatching, unavailableHint } from './listing.js';
import { writeHeader, explainElfMode } from './object-modes.js';
import { readPrograms, type ProgramText } from './programs.js';
import { writeOut, outputWriter, stderr, errnoText, outputWasClosed, OutputError, type OutputWriter } from './output.js';

process.title = 'dtrace';

const testing = process.env._DTRACE_TESTING !== undefined;

function optBool(o: OptionValues, name: string): boolean {
  const v = o.get(name);
  return v !== undefined && v !== 'false' && v !== 0n;
}
/**
 * The macro variables of this dtrace process: `$pid`, `$ppid`, `$pgid`, `$sid`, `$uid`, `$gid`,
 * `$euid`, `$egid` (the process group and session are the fields after `(comm)` in
 * /proc/self/stat: Node has no getpgid/getsid), and `$target` when a -c/-p process is named.
 */
function processMacroVars(target: number | undefined): Record<string, number | undefined> {
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
    target, pid: process.pid, ppid: process.ppid, pgid, sid,
    uid: process.getuid?.(), gid: process.getgid?.(), euid: process.geteuid?.(), egid: process.getegid?.(),
  };
}

/** bufpolicy=ring: the principal buffer's size bounds the newest records kept. */
function ringPolicy(o: OptionValues): { ringBufferBytes?: number; bufpolicy?: 'ring' | 'fill' } {
  const policy = o.get('bufpolicy');
  return policy === 'ring' || policy === 'fill' ? { ringBufferBytes: optNum(o, 'bufsize', 4 << 20), bufpolicy: policy } : {};
}

/** The compile options of stack sizes and -x cpu. */
function stackAndCpuOptions(o: OptionValues): { stackframes: number; ustackframes: number; jstackframes: number; jstackstrsize: number; cpu?: number } {
  return {
    jstackstrsize: optNum(o, 'jstackstrsize', 512),
    stackframes: optNum(o, 'stackframes', 20), ustackframes: optNum(o, 'ustackframes', 100), jstackframes: optNum(o, 'jstackframes', 50),
    ...(o.has('cpu') ? { cpu: optNum(o, 'cpu', 0) } : {}),
  };
}

function optNum(o: OptionValues, name: string, dflt: number): number {
  const v = o.get(name);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return dflt;
}

function render(d: Diagnostic, errtags: boolean, texts: readonly string[] = []): string {
  const located = relocatedFromLibrary(d, firstProgramSource);
  // Hints (nearest names) are shown with the caret, outside the test harness only.
  return renderDiagnostic(testing ? located : withHint(located, texts), { errtags, caret: !testing, position: true });
}

/** The program texts, for hints that suggest the user's own names. */
let programTexts: readonly string[] = [];
/** The first program of the command line: library errors are reported against it. */
let firstProgramSource: Source | undefined;

/** The first error of `sink`, written as DTrace does; the exit status that follows it. */
function reportFirstError(sink: DiagnosticSink, options: OptionValues): number {
  stderr(render(sink.errors[0]!, optBool(options, 'errtags'), programTexts));
  return 1;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'btf') return (await import('./btf.js')).runBtfCommand(argv.slice(1));
  if (argv[0] === 'bpf') return (await import('./bpf.js')).runBpfCommand(argv.slice(1));
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '--version')) {
    writeOut(1, argv[0] === '--help' ? helpText() : `dtrace-ts ${DTRACE_TS_VERSION} (D ${D_VERSION}, as Oracle DTrace ${D_VERSION}), node ${process.version}\n`);
    return 0;
  }
  const parsed = parseCommandLine(argv, process.env);
  if (!parsed.ok) {
    writeOut(2, parsed.message.endsWith('\n') ? parsed.message : parsed.message + '\n');
    if (parsed.hint && !testing) writeOut(2, `hint: ${parsed.hint}\n`);
    return parsed.status;
  }
  const cli = parsed.cli;
  if (cli.mode === 'version') { writeOut(1, `dtrace: Oracle D ${D_VERSION}\n`); return 0; }
  if (cli.requiresRoot) {
    const hint = missingPrivileges();
    if (hint !== undefined) {
      stderr('dtrace: failed to initialize dtrace: DTrace requires additional privileges');
      if (!testing) stderr(`hint: ${hint}`);
      return 1;
    }
  }
  // -h and -G write their own file to -o; everything else appends its output there.
  let outFd = 1;
  if (cli.outputFile && cli.mode !== 'header' && cli.mode !== 'elf') {
    try {
      outFd = openSync(cli.outputFile, 'a');
    } catch (e) {
      stderr(`dtrace: failed to open output file '${cli.outputFile}': ${errnoText(e)}`);
      return 1;
    }
  }
  const out = outputWriter(outFd);

  if (cli.programs.length === 0) {
    if (cli.mode === 'list') return listAll(out, cli.verbose);
    stderr('dtrace: no probes specified');
    return 1;
  }
  const programs = readPrograms(cli);
  if (typeof programs === 'string') { stderr(`dtrace: ${programs}`); return 1; }
  programTexts = programs.map((p) => p.source.text);
  firstProgramSource = programs[0]?.source;
  // -L: D library directories searched after the package's lib/.
  addLibraryDirectories(cli.libDirs);
  const targets = startTargets(cli);
  if (typeof targets === 'number') return targets;
  try {
    return await compileAndRun(cli, programs, targets, out);
  } finally {
    targets.kill();
  }
}

/** The -c commands (created, held at exec) and -p processes (grabbed) of a run. */
interface Targets {
  created: CreatedProcess[];
  watched: WatchedProcess[];
  /** $target: the first -c or -p process. */
  pid: number | undefined;
  kill(): void;
}

/**
 * -c and -p: processes are created (stopped) and grabbed before compiling, as DTrace does, so
 * $target is known and a command that cannot run fails before any tracing.
 */
function startTargets(cli: CliOptions): Targets | number {
  const created: CreatedProcess[] = [];
  const watched: WatchedProcess[] = [];
  const kill = () => { for (const c of created) c.kill(); for (const w of watched) w.close(); };
  try {
    // -l with -c lists the command's probes (pid$target, its USDT providers): it is created and
    // held as for tracing, and killed once the list is printed, as DTrace does.
    if (cli.mode === 'exec' || cli.mode === 'list') {
      for (const cmd of cli.commands) {
        const c = createProcess(cmd);
        created.push(c);
        watched.push(c);
        // pid/USDT probes of $target resolve against the command it runs.
        setTargetCommand(c.pid, c.executable, c.heldAfterExec);
      }
      for (const pid of cli.grabPids) { watched.push(grabProcess(pid)); setTargetPid(pid); }
    } else if (cli.grabPids[0] !== undefined) setTargetPid(cli.grabPids[0]);
  } catch (e) {
    kill();
    if (e instanceof ProcessError) { stderr(`dtrace: ${e.message}`); return 1; }
    throw e;
  }
  declareTargetsKnown();
  return { created, watched, pid: watched[0]?.pid ?? cli.grabPids[0], kill };
}

/** cpp's command line from -D/-U/-I/-H/-X and options cpppath and cppargs. */
function preprocessOptions(cli: CliOptions, options: OptionValues): PreprocessOptions {
  const extraArgs = cli.cppArgs.flatMap((a) => a.split(/\s+/).filter((w) => w !== ''));
  // -H: cpp's -H lists every file it includes on stderr.
  if (optBool(options, 'cpphdrs')) extraArgs.push('-H');
  const cpppath = options.get('cpppath');
  return {
    defines: cli.cppDefines, undefs: cli.cppUndefs, includes: cli.cppIncludes, extraArgs,
    cppPath: typeof cpppath === 'string' && cpppath !== '' ? cpppath : undefined,
    // -X a|c|t keep cpp's ISO C mode; -Xs (K&R C) runs it as a traditional preprocessor.
    traditional: options.get('stdc') === 's',
  };
}

/** Every program preprocessed (with -C) and parsed, in command-line order. */
function parsePrograms(cli: CliOptions, programs: ProgramText[], target: number | undefined, sink: DiagnosticSink): { prog: ProgramText; ast: A.Program }[] | number {
  const options = cli.optionValues;
  const perProgram: { prog: ProgramText; ast: A.Program }[] = [];
  for (const prog of programs) {
    let source = prog.source;
    if (cli.options.has('cpp') || optBool(options, 'cpp')) {
      const r = preprocess(source, preprocessOptions(cli, options));
      if ('error' in r) { stderr(r.error); return 1; }
      // -H: the included files cpp listed (its other warnings stay quiet, as before).
      if (optBool(options, 'cpphdrs') && r.cppStderr) writeOut(2, r.cppStderr);
      source = r.source;
    }
    const ast = parse(source, sink, {
      macroArgs: [prog.kind === 'script' ? prog.label : 'dtrace', ...cli.macroArgs],
      macroVars: processMacroVars(target),
      defaultArgs: optBool(options, 'defaultargs'),
      argRef: optBool(options, 'argref'),
      allowEmpty: optBool(options, 'empty'),
      pspec: optBool(options, 'pspec'),
      // `(uint)x`: kernel typedefs (BTF) are type names too; asked only for unknown names.
      isTypeName: (n) => kernelTypeSource()?.typedefType(n) !== undefined,
    });
    if (sink.hasErrors) return reportFirstError(sink, options);
    perProgram.push({ prog, ast });
  }
  return perProgram;
}

/** `#pragma D option`s set options before the program is checked and compiled. */
function applyPragmas(items: A.TopLevel[], options: OptionValues, sink: DiagnosticSink): void {
  for (const item of items) {
    if (item.kind !== 'Pragma' || item.directive !== 'option') continue;
    for (const arg of item.args) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? true : arg.slice(eq + 1);
      const r = setOption(options, name, value, { inProgram: true });
      if (!r.ok) sink.error('D_PRAGMA_OPTSET', pragmaOptionMessage(name, value, r.reason), item.span);
    }
    if (sink.hasErrors) return;
  }
}

async function compileAndRun(cli: CliOptions, programs: ProgramText[], targets: Targets, out: OutputWriter): Promise<number> {
  const options = cli.optionValues;
  const sink = new DiagnosticSink();
  const perProgram = parsePrograms(cli, programs, targets.pid, sink);
  if (typeof perProgram === 'number') return perProgram;
  const items = perProgram.flatMap((p) => p.ast.items);
  applyPragmas(items, options, sink);
  if (sink.hasErrors) return reportFirstError(sink, options);
  if (cli.mode === 'header') return writeHeader(cli, perProgram.map((p) => p.ast), stderr);
  if (cli.mode === 'elf') return explainElfMode(cli, programs, stderr);
  const whole: A.Program = { kind: 'Program', span: perProgram[0]?.ast.span ?? { source: programs[0]!.source, start: 0, end: 0 }, items };
  const destructive = optBool(options, 'destructive') || cli.options.has('w');
  const strsize = optNum(options, 'strsize', 256);
  // scratchsize from -x or a pragma (the store holds DTrace's 8-byte header too).
  const scratchsizeBytes = optNum(options, 'scratchsize', 256 + 8) - 8;
  const checked = checkProgram(whole, sink, { strsize, destructive, scratchsizeBytes, texts: programs.map((p) => p.source.text), version: cli.options.get('version') as string | undefined, nolibs: optBool(options, 'nolibs') });
  if (sink.hasErrors) return reportFirstError(sink, options);
  if (checked?.usesDestructive && !destructive && cli.mode === 'exec') {
    stderr('dtrace: could not enable tracing: Destructive actions not allowed');
    return 1;
  }
  if (cli.mode === 'list') return listMatching(perProgram.map((p) => p.ast), out, stderr, cli.verbose);

  const bounds = optionBoundsError(options);
  if (bounds !== undefined) { stderr(`dtrace: ${bounds}`); return 1; }
  // What code generation may use here (probed lazily); DTRACE_TS_KERNEL may emulate an older kernel.
  let kernel: KernelCaps;
  try { kernel = kernelCaps(); } catch (e) { stderr(`dtrace: ${(e as Error).message}`); return 2; }
  const zdefs = optBool(options, 'zdefs');
  const match = matchProgram(whole, sink, { zdefs });
  if (sink.hasErrors) {
    reportFirstError(sink, options);
    const unmatched = whole.items.flatMap((i) => (i.kind === 'Clause' ? i.probes : [])).find((d) => unavailableHint(d));
    if (unmatched) stderr(`dtrace: ${unavailableHint(unmatched)!}`);
    return 1;
  }
  const compiled = compileProgram(whole, match, sink, {
    strsize, destructive, target: targets.pid, macroArgs: cli.macroArgs,
    walltimeOffsetNs: wallOffsetNs(),
    bufsizeBytes: optNum(options, 'bufsize', 4 << 20), aggsizeBytes: optNum(options, 'aggsize', 4 << 20),
    dynvarsizeBytes: optNum(options, 'dynvarsize', 1 << 20), zdefs,
    checked, quiet: optBool(options, 'quiet'), scratchsizeBytes: optNum(options, 'scratchsize', 256 + 8),
    nspec: optNum(options, 'nspec', 1), specsizeBytes: optNum(options, 'specsize', 4 << 20),
    pcapsizeBytes: optNum(options, 'pcapsize', 1514), ...stackAndCpuOptions(options), maxframes: optNum(options, 'maxframes', 127),
    kernel, kernelLookups: runningKernel,
  });
  if (!compiled || sink.hasErrors) return reportFirstError(sink, options);
  const oversized = oversizedMapError(compiled.maps, options);
  if (oversized !== undefined) { stderr(`dtrace: ${oversized}`); return 1; }
  if (cli.showBpf) {
    const helperName = (id: number) => { for (const [k, v] of Object.entries(Helper)) if (v === id) return `bpf_${k}`; return undefined; };
    for (const p of compiled.programs) stderr(`\n${p.name} (${p.bpfType}):\n${disassemble(link(p.insns), { withSource: true, helperName })}`);
  }
  if (cli.mode === 'compile') return 0;

  if (cli.verbose) setUsdtNotices(stderr);
  // A signal from now on (even before tracing starts, as "matched" is printed) ends the run
  // cleanly (session.ts).
  const signals = catchStopSignals();
  try {
    const refused = announceEnabling(perProgram, match, compiled.sizes, options, destructive, zdefs);
    if (refused !== undefined) return refused;
    return await runCompiled(compiled, options, targets, out, signals);
  } finally {
    signals.release();
  }
}

/**
 * The "matched N probes" lines, then DTrace's refusals of an enabling that matched nothing or
 * does not fit its buffers: the exit status when it is refused.
 */
function announceEnabling(perProgram: { prog: ProgramText; ast: A.Program }[], match: ReturnType<typeof matchProgram>,
  sizes: NonNullable<ReturnType<typeof compileProgram>>['sizes'], options: OptionValues, destructive: boolean, zdefs: boolean): number | undefined {
  const quiet = optBool(options, 'quiet');
  if (!quiet) {
    for (const { prog, ast } of perProgram) {
      let n = 0;
      for (const item of ast.items) if (item.kind === 'Clause') n += match.clauses.find((c) => c.clause === item)?.probes.length ?? 0;
      stderr(`dtrace: ${prog.kind} '${prog.label}' matched ${n} probe${n === 1 ? '' : 's'}`);
    }
  }
  if (match.matchedPairs === 0 && !zdefs) { stderr('dtrace: no probes matched'); return 1; }
  if (destructive && !quiet) stderr('dtrace: allowing destructive actions');
  // DTrace refuses an enabling whose largest record does not fit the principal buffer, or
  // whose dynamic variables or aggregations cannot hold a single element (dtrace-utils'
  // EDT_BUFTOOSMALL; illumos would round dynvarsize up — the corpus holds dtrace-utils' rule).
  if (minimumBufsize(sizes.maxRecordBytes) > optNum(options, 'bufsize', 4 << 20)
    || sizes.maxDynvarElementBytes > optNum(options, 'dynvarsize', 1 << 20)
    || sizes.maxAggregationElementBytes > optNum(options, 'aggsize', 4 << 20)) {
    stderr('dtrace: could not enable tracing: Enabling exceeds size of buffer');
    return 1;
  }
  return undefined;
}

/** Loads, attaches and consumes until the program, a signal, or the -c/-p processes end it. */
async function runCompiled(compiled: NonNullable<ReturnType<typeof compileProgram>>, options: OptionValues, targets: Targets, out: OutputWriter,
  signals: ReturnType<typeof catchStopSignals>): Promise<number> {
  const aggsort = aggsortOptions(options);
  return run(compiled, {
    quiet: optBool(options, 'quiet'), testing, flowindent: optBool(options, 'flowindent'), droptags: optBool(options, 'droptags'), rawbytes: optBool(options, 'rawbytes'),
    aggsort, specsizeBytes: optNum(options, 'specsize', 4 << 20), aggrateMs: optNum(options, 'aggrate', 0) / 1e6, ...ringPolicy(options),
    switchrateMs: Math.max(1, Math.round(optNum(options, 'switchrate', 10_000_000) / 1e6)) || 10,
    statusrateMs: Math.max(1, Math.round(optNum(options, 'statusrate', 1_000_000_000) / 1e6)),
    out, outBytes: out.bytes, err: stderr, ...exportOptions(options, optBool(options, 'quiet') ? undefined : stderr, optBool(options, 'quiet') || !process.stderr.isTTY ? undefined : (t) => writeOut(2, t)),
    targetPid: targets.pid,
    // setopt() of an aggsort option changes the printa()s that follow it.
    setopt: (name, value) => { const msg = applySetopt(options, name, value); Object.assign(aggsort, aggsortOptions(options)); return msg; },
    bufresize: options.get('bufresize') === 'manual' ? 'manual' : 'auto',
    onBufferLowered: optBool(options, 'quietresize') ? undefined : (n) => stderr(`dtrace: ${bufferLoweredMessage('buffer size', n)}`),
    printsize: () => optNum(options, 'printsize', 8192), pcapsize: () => optNum(options, 'pcapsize', 1514),
    stopRequested: outputWasClosed,
    signals,
    onAttached: () => {
      if (targets.watched.length === 0) return undefined;
      for (const c of targets.created) c.release(usesUserSymbols(compiled) ? keepProcessImage : undefined); // frames of a target gone resolve
      // The run ends when every -c and -p process has exited.
      return Promise.all(targets.watched.map((w) => w.exited)).then(() => undefined);
    },
  });
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

/** The aggregation sort options as the consumer reads them. */
function aggsortOptions(options: OptionValues): { aggsortkey: boolean; aggsortrev: boolean; aggsortpos?: number; aggsortkeypos?: number; stackIndent: number } {
  return {
    stackIndent: optNum(options, 'stackindent', 14),
    aggsortkey: optBool(options, 'aggsortkey'), aggsortrev: optBool(options, 'aggsortrev'),
    aggsortpos: options.has('aggsortpos') ? optNum(options, 'aggsortpos', 0) : undefined,
    aggsortkeypos: options.has('aggsortkeypos') ? optNum(options, 'aggsortkeypos', 0) : undefined,
  };
}

/** Offset from CLOCK_MONOTONIC (bpf_ktime_get_ns) to the wall clock, in ns. */
function wallOffsetNs(): bigint {
  const mono = process.hrtime.bigint();
  const wall = BigInt(Date.now()) * 1_000_000n;
  return wall - mono;
}

main(process.argv.slice(2)).then(
  (status) => {
    if (outputWasClosed()) dieOfSignal(13 /* SIGPIPE */);
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof LoadError) stderr(`dtrace: ${e.message}`);
    else if (e instanceof UnsupportedError || e instanceof SysError) {
      stderr(`dtrace: could not enable tracing: ${e.message}`);
      const hint = e instanceof SysError ? sysErrorHint(e) : undefined;
      if (hint !== undefined && !testing) stderr(`hint: ${hint}`);
    }
    // A write to stdout or -o failed (EIO, ENOSPC on /dev/full): the consumer stops, as
    // dtrace(8)'s dtrace_work() error ends in dfatal("processing aborted").
    else if (e instanceof OutputError) stderr(`dtrace: processing aborted: ${e.message}`);
    // Recursion over a program nested thousands deep (parentheses, ifs) runs out of stack in
    // the parser, checker or code generator: a limit of the compiler, said as such.
    else if (e instanceof RangeError && /call stack/.test(e.message)) stderr('dtrace: failed to compile: the program nests too deeply for the compiler (thousands of levels of parentheses, blocks or if statements)');
    else stderr(`dtrace: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
