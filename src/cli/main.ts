/**
 * @fileoverview The `dtrace` command: a thin layer over the library (compile → load → run).
 * It parses the command line, reads and preprocesses the programs, reports diagnostics the way
 * dtrace(8) does (plus a caret and hint outside the test harness), and runs the result. Each
 * phase is a function returning what the next needs, or the exit status when the run ends there.
 */
import { openSync } from 'node:fs';
import { parseCommandLine, type OptionValues, type CliOptions } from './options.js';
import { helpText } from './usage.js';
import { missingPrivileges } from './privileges.js';
import { DTRACE_TS_VERSION, D_VERSION } from '../version.js';
import type { DiagnosticSink, Diagnostic } from '../diag/diagnostic.js';
import { renderDiagnostic } from '../diag/render.js';
import { preprocess, type PreprocessOptions } from '../lang/preprocess.js';
import type { CompiledProgram } from '../program/spec.js';
import { run, catchStopSignals } from '../runtime/session.js';
import { bufferLoweredMessage } from '../runtime/load.js';
import { exportOptions } from '../api/export-options.js';
import { runPipeline, enablingRefusal, bpfListing, storeRunOptions, optionIsSet as optBool, type PipelineFailure, type CompiledPrograms } from '../api/pipeline.js';
import { ProcessError } from '../runtime/process.js';
import { startTargets, type Targets } from '../api/targets.js';
import { dieOfSignal } from '../bpf/sys.js';
import { setUsdtNotices } from '../providers/usdt.js';
import { addLibraryDirectories } from '../check/library.js';
import { withHint, relocatedFromLibrary } from './hints.js';
import { fatalErrorLines } from './fatal.js';
import type { Source } from '../diag/source.js';
import * as lazy from './lazy.js';
import { probeDescriptionById } from './probe-ids.js';
import { readPrograms, type ProgramText } from './programs.js';
import { writeOut, outputWriter, stderr, errnoText, outputWasClosed, OutputError, type OutputWriter } from './output.js';

process.title = 'dtrace';

const testing = process.env._DTRACE_TESTING !== undefined;

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
    if (cli.mode === 'list') return (await lazy.listing()).listAll(out, cli.verboseLevel);
    // -e with nothing to compile: nothing to do (the options were checked).
    if (cli.mode === 'compile') return 0;
    stderr('dtrace: no probes specified');
    return 1;
  }
  const programs = readPrograms(cli);
  if (typeof programs === 'string') { stderr(`dtrace: ${programs}`); return 1; }
  programTexts = programs.map((p) => p.source.text);
  firstProgramSource = programs[0]?.source;
  // -L: D library directories searched after the package's lib/.
  addLibraryDirectories(cli.libDirs);
  let targets: Targets;
  try {
    // -l with -c lists the command's probes (pid$target, its USDT providers): it is created and
    // held as for tracing, and killed once the list is printed, as DTrace does.
    targets = startTargets(cli.commands, cli.grabPids, cli.mode === 'exec' || cli.mode === 'list');
  } catch (e) {
    if (e instanceof ProcessError) { stderr(`dtrace: ${e.message}`); return 1; }
    throw e;
  }
  try {
    return await compileAndRun(cli, programs, targets, out);
  } finally {
    targets.kill();
  }
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

/** The outcome of a failed pipeline, written as DTrace does; the exit status that follows it. */
async function reportFailure(f: PipelineFailure, options: OptionValues): Promise<number> {
  if (f.kind === 'preprocess') { stderr(f.text); return f.status; }
  if (f.kind === 'message') { stderr(`dtrace: ${f.message}`); return f.status; }
  reportFirstError(f.sink, options);
  if (f.stage === 'match' && f.whole) {
    const { unavailableHint } = await lazy.listing();
    const unmatched = f.whole.items.flatMap((i) => (i.kind === 'Clause' ? i.probes : [])).find((d) => unavailableHint(d));
    if (unmatched) stderr(`dtrace: ${unavailableHint(unmatched)!}`);
  }
  return 1;
}

/** -C: each program through cpp before it is parsed (-H: the included files cpp listed). */
function cppStage(cli: CliOptions): ((source: Source) => Source | { error: string }) | undefined {
  const options = cli.optionValues;
  if (!cli.options.has('cpp') && !optBool(options, 'cpp')) return undefined;
  return (source) => {
    const r = preprocess(source, preprocessOptions(cli, options));
    if ('error' in r) return { error: r.error };
    // -H: the included files cpp listed (its other warnings stay quiet, as before).
    if (optBool(options, 'cpphdrs') && r.cppStderr) writeOut(2, r.cppStderr);
    return r.source;
  };
}

async function compileAndRun(cli: CliOptions, programs: ProgramText[], targets: Targets, out: OutputWriter): Promise<number> {
  const options = cli.optionValues;
  const stopAfter = cli.mode === 'header' || cli.mode === 'elf' ? 'pragmas' : cli.mode === 'list' ? 'check' : undefined;
  const outcome = runPipeline({
    programs: programs.map((p) => ({ source: p.source, macroArg0: p.kind === 'script' ? p.label : 'dtrace' })),
    options, macroArgs: cli.macroArgs, target: targets.pid, destructive: cli.options.has('w'),
    version: cli.options.get('version') as string | undefined, preprocess: cppStage(cli), stopAfter, refuseDestructive: cli.mode === 'exec',
    probeById: probeDescriptionById,
  });
  if (!outcome.ok) return await reportFailure(outcome, options);
  if (cli.mode === 'header') return (await lazy.objectModes()).writeHeader(cli, outcome.asts, stderr);
  if (cli.mode === 'elf') return (await lazy.objectModes()).explainElfMode(cli, programs, stderr);
  if (outcome.stage !== 'compiled') return (await lazy.listing()).listMatching(outcome.asts, out, stderr, cli.verboseLevel);
  const stability = cli.verbose ? await lazy.stability() : undefined;
  if (cli.showBpf) stderr(bpfListing(outcome.program));
  if (cli.mode === 'compile') {
    // -e -v: each program's report and what its statements' descriptions match (exec_prog, info_stmt).
    if (stability) programs.forEach((prog, i) => out(stability.stabilityReport(prog.kind, prog.label, outcome.asts[i]!, outcome.asts) + stability.statementsInfo(outcome.asts[i]!)));
    return 0;
  }

  if (cli.verbose) setUsdtNotices(stderr);
  // A signal from now on (even before tracing starts, as "matched" is printed) ends the run
  // cleanly (session.ts).
  const signals = catchStopSignals();
  try {
    const refused = announceEnabling(programs, outcome, options, stability, out);
    if (refused !== undefined) return refused;
    return await runCompiled(outcome.program, options, targets, out, signals);
  } finally {
    signals.release();
  }
}

/**
 * The "matched N probes" lines, then DTrace's refusals of an enabling that matched nothing or
 * does not fit its buffers: the exit status when it is refused.
 */
function announceEnabling(programs: ProgramText[], compiled: CompiledPrograms, options: OptionValues,
  stability: Awaited<ReturnType<typeof lazy.stability>> | undefined, out: (t: string) => void): number | undefined {
  const quiet = optBool(options, 'quiet');
  // Under -x oformat=json (or folded) stdout carries only that format: the report goes to stderr.
  const oformat = options.get('oformat');
  const report = oformat === undefined || oformat === 'text' ? out : (t: string) => writeOut(2, t);
  programs.forEach((prog, i) => {
    const ast = compiled.asts[i]!;
    if (!quiet) {
      let n = 0;
      for (const item of ast.items) if (item.kind === 'Clause') n += compiled.match.clauses.find((c) => c.clause === item)?.probes.length ?? 0;
      stderr(`dtrace: ${prog.kind} '${prog.label}' matched ${n} probe${n === 1 ? '' : 's'}`);
    }
    // -v: each program's stability report follows its "matched" line (cmd/dtrace.c exec_prog).
    if (stability) report(stability.stabilityReport(prog.kind, prog.label, ast, compiled.asts) + '\n');
  });
  if (compiled.match.matchedPairs === 0 && !compiled.zdefs) { stderr('dtrace: no probes matched'); return 1; }
  if (compiled.destructive && !quiet) stderr('dtrace: allowing destructive actions');
  const refusal = enablingRefusal(compiled, options);
  if (refusal !== undefined) { stderr(`dtrace: ${refusal}`); return 1; }
  return undefined;
}

/** Loads, attaches and consumes until the program, a signal, or the -c/-p processes end it. */
async function runCompiled(compiled: CompiledProgram, options: OptionValues, targets: Targets, out: OutputWriter,
  signals: ReturnType<typeof catchStopSignals>): Promise<number> {
  const quiet = optBool(options, 'quiet');
  return run(compiled, {
    ...storeRunOptions(options), testing, out, outBytes: out.bytes, err: stderr,
    onBufferLowered: optBool(options, 'quietresize') ? undefined : (n) => stderr(`dtrace: ${bufferLoweredMessage('buffer size', n)}`),
    ...exportOptions(options, quiet ? undefined : stderr, quiet || !process.stderr.isTTY ? undefined : (t) => writeOut(2, t)),
    targetPid: targets.pid,
    stopRequested: outputWasClosed,
    signals,
    // The run ends when every -c and -p process has exited.
    onAttached: (forks) => targets.release(compiled, forks),
  });
}

main(process.argv.slice(2)).then(
  (status) => {
    if (outputWasClosed()) dieOfSignal(13 /* SIGPIPE */);
    process.exitCode = status;
  },
  (e: unknown) => {
    for (const line of fatalErrorLines(e, testing)) stderr(line);
    process.exitCode = 1;
  },
);
