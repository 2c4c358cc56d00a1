/**
 * @fileoverview The library's compiler front end: D text → a compiled program, with
 * diagnostics as data. It runs the dtrace command's own pipeline (pipeline.ts: parse, `#pragma
 * D option`, check, probe matching, code generation) under the same option rules (-x names,
 * DTrace's defaults), without touching the kernel beyond what probe matching reads.
 */
import { makeSource, type Source } from '../diag/source.js';
import { preprocess } from '../lang/preprocess.js';
import { DiagnosticSink, type Diagnostic } from '../diag/diagnostic.js';
import { renderDiagnostic } from '../diag/render.js';
import { defaultOptions, setOption, type OptionValues } from '../cli/options.js';
import type { CompiledProgram } from '../program/spec.js';
import { runPipeline, enablingRefusal, bpfListing, optionIsSet } from './pipeline.js';

export { optionNumberOr } from './pipeline.js';

/** A -x option's value: `true` for a bare name (`-x quiet`), else its text or number. */
export type OptionSetting = string | number | bigint | boolean;

export interface CompileOptions {
  /** -x options by name (`{ quiet: true, bufsize: '8m' }`); `false` leaves an option unset. */
  options?: Record<string, OptionSetting>;
  /** Macro arguments: $1, $2, … (and $$1 as strings). */
  args?: readonly string[];
  /** The value of $target (the -c/-p process), when there is one. */
  target?: number;
  /** A name for the program in diagnostics (default "program"). */
  name?: string;
  /**
   * Run the C preprocessor over the source first, as -C does (also with the option `cpp`):
   * `true`, or the -D, -U and -I arguments (without the flag: `['DEBUG=1']`).
   */
  cpp?: boolean | { defines?: readonly string[]; undefs?: readonly string[]; includes?: readonly string[] };
}

/** A compiled D program: loadable by run(), with its -S listing. */
export interface CompiledScript {
  readonly ok: true;
  readonly program: CompiledProgram;
  /** Every option in effect (defaults, -x options, pragmas), as the consumer reads them. */
  readonly optionValues: OptionValues;
  /** Probes each description matched, in total. */
  readonly matchedProbes: number;
  /** Warnings the compiler reported. */
  readonly diagnostics: readonly Diagnostic[];
  /** The BPF code, as `dtrace -S` shows it. */
  listing(): string;
  /** What compile() was given, to compile again for a -c/-p target. */
  readonly source: string;
  readonly compileOptions: CompileOptions;
}

/** A program that did not compile: its diagnostics, and their text as dtrace prints them. */
export interface CompileFailure {
  readonly ok: false;
  readonly diagnostics: readonly Diagnostic[];
  /** The first error as the dtrace command prints it. */
  readonly message: string;
}

export type CompileResult = CompiledScript | CompileFailure;

function failure(sink: DiagnosticSink, errtags: boolean, fallback: string): CompileFailure {
  const first = sink.errors[0];
  return { ok: false, diagnostics: sink.items, message: first ? renderDiagnostic(first, { errtags, caret: true }) : `dtrace: ${fallback}` };
}

/** The preprocessing of `cpp` (or of the option cpp), as the dtrace command's -C runs it. */
function cppStage(cpp: CompileOptions['cpp'], store: OptionValues): ((source: Source) => Source | { error: string }) | undefined {
  if (!cpp && !optionIsSet(store, 'cpp')) return undefined;
  const args = typeof cpp === 'object' ? cpp : {};
  const cppPath = store.get('cpppath');
  return (source) => {
    const r = preprocess(source, {
      defines: [...args.defines ?? []], undefs: [...args.undefs ?? []], includes: [...args.includes ?? []], extraArgs: [],
      cppPath: typeof cppPath === 'string' && cppPath !== '' ? cppPath : undefined, traditional: store.get('stdc') === 's',
    });
    return 'error' in r ? { error: r.error } : r.source;
  };
}

function failWith(message: string): CompileFailure {
  return { ok: false, diagnostics: [], message: `dtrace: ${message}` };
}

/** Applies -x options given by name; returns a failure message for the first bad one. */
export function applyOptions(store: OptionValues, options: Record<string, OptionSetting>): string | undefined {
  for (const [name, setting] of Object.entries(options)) {
    if (setting === false) { store.delete(name); continue; }
    const r = setOption(store, name, setting === true ? true : String(setting));
    if (!r.ok) return r.message;
  }
  return undefined;
}

/** Compiles D source text; no kernel programs are loaded. */
export function compileSource(source: string, options: CompileOptions = {}): CompileResult {
  const store = defaultOptions();
  const bad = applyOptions(store, options.options ?? {});
  if (bad !== undefined) return failWith(bad);
  const name = options.name ?? 'program';
  const version = store.get('version');
  const outcome = runPipeline({
    programs: [{ source: makeSource(name, source, 'script'), macroArg0: name }],
    options: store, macroArgs: options.args ?? [], target: options.target,
    version: typeof version === 'string' ? version : undefined, preprocess: cppStage(options.cpp, store),
  });
  if (!outcome.ok) {
    if (outcome.kind === 'diagnostic') return failure(outcome.sink, optionIsSet(store, 'errtags'), `${outcome.stage} failed`);
    if (outcome.kind === 'preprocess') return { ok: false, diagnostics: [], message: outcome.text.replace(/\n$/, '') };
    return failWith(outcome.message);
  }
  if (outcome.stage !== 'compiled') throw new Error('the pipeline stopped before code generation');
  const refusal = enablingRefusal(outcome, store);
  if (refusal !== undefined) return failWith(refusal);
  const program = outcome.program;
  return {
    ok: true, program, optionValues: store, matchedProbes: outcome.match.clauses.reduce((n, c) => n + c.probes.length, 0),
    diagnostics: outcome.sink.items, source, compileOptions: options,
    listing: () => bpfListing(program),
  };
}
