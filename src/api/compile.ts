/**
 * @fileoverview The library's compiler front end: D text → a compiled program, with
 * diagnostics as data. It runs the same stages as the dtrace command (parse, `#pragma D
 * option`, check, probe matching, code generation) under the same option rules (-x names,
 * DTrace's defaults), without touching the kernel beyond what probe matching reads.
 */
import { makeSource } from '../diag/source.js';
import { DiagnosticSink, type Diagnostic } from '../diag/diagnostic.js';
import { renderDiagnostic } from '../diag/render.js';
import { parse } from '../lang/parser.js';
import type * as A from '../lang/ast.js';
import { matchProgram, compileProgram } from '../codegen/compile.js';
import { kernelCaps } from '../bpf/features.js';
import { Helper } from '../bpf/uapi.js';
import { disassemble } from '../bpf/asm/disasm.js';
import { link } from '../bpf/asm/encode.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { defaultOptions, setOption, pragmaOptionMessage, type OptionValues } from '../cli/options.js';
import { checkProgram } from '../cli/check-bridge.js';
import { runningKernel } from '../cli/kernel-lookups.js';
import type { CompiledProgram } from '../program/spec.js';

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

function isSet(o: OptionValues, name: string): boolean {
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

function failure(sink: DiagnosticSink, errtags: boolean, fallback: string): CompileFailure {
  const first = sink.errors[0];
  return { ok: false, diagnostics: sink.items, message: first ? renderDiagnostic(first, { errtags, caret: true }) : `dtrace: ${fallback}` };
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
  const src = makeSource(name, source, 'script');
  const sink = new DiagnosticSink();
  const args = [...(options.args ?? [])];
  const ast = parse(src, sink, {
    macroArgs: [name, ...args],
    macroVars: { target: options.target, pid: process.pid, ppid: process.ppid, uid: process.getuid?.(), gid: process.getgid?.() },
    defaultArgs: isSet(store, 'defaultargs'), argRef: isSet(store, 'argref'), allowEmpty: isSet(store, 'empty'), pspec: isSet(store, 'pspec'),
    isTypeName: (n) => kernelTypeSource()?.typedefType(n) !== undefined,
  });
  if (sink.hasErrors) return failure(sink, isSet(store, 'errtags'), 'parse failed');
  applyPragmas(ast, store, sink);
  const errtags = isSet(store, 'errtags');
  if (sink.hasErrors) return failure(sink, errtags, 'bad pragma');
  const destructive = isSet(store, 'destructive');
  const strsize = optionNumberOr(store, 'strsize', 256);
  const scratchsize = optionNumberOr(store, 'scratchsize', 256 + 8);
  const checked = checkProgram(ast, sink, { strsize, destructive, scratchsizeBytes: scratchsize - 8, texts: [source] });
  if (sink.hasErrors) return failure(sink, errtags, 'check failed');
  if (checked?.usesDestructive && !destructive) return failWith('could not enable tracing: Destructive actions not allowed');
  const zdefs = isSet(store, 'zdefs');
  const match = matchProgram(ast, sink, { zdefs });
  if (sink.hasErrors) return failure(sink, errtags, 'no probes matched');
  if (match.matchedPairs === 0 && !zdefs) return failWith('no probes matched');
  const program = compileProgram(ast, match, sink, {
    strsize, destructive, target: options.target, macroArgs: args, walltimeOffsetNs: wallOffsetNs(),
    bufsizeBytes: optionNumberOr(store, 'bufsize', 4 << 20), aggsizeBytes: optionNumberOr(store, 'aggsize', 4 << 20),
    dynvarsizeBytes: optionNumberOr(store, 'dynvarsize', 1 << 20), zdefs, checked, quiet: isSet(store, 'quiet'),
    scratchsizeBytes: scratchsize, nspec: optionNumberOr(store, 'nspec', 1), specsizeBytes: optionNumberOr(store, 'specsize', 4 << 20),
    stackframes: optionNumberOr(store, 'stackframes', 20), ustackframes: optionNumberOr(store, 'ustackframes', 100),
    kernel: kernelCaps(), kernelLookups: runningKernel,
  });
  if (!program || sink.hasErrors) return failure(sink, errtags, 'code generation failed');
  return {
    ok: true, program, optionValues: store, matchedProbes: match.clauses.reduce((n, c) => n + c.probes.length, 0),
    diagnostics: sink.items, source, compileOptions: options,
    listing: () => listing(program),
  };
}

/** `#pragma D option` lines set options before the program is checked and compiled. */
function applyPragmas(ast: A.Program, store: OptionValues, sink: DiagnosticSink): void {
  for (const item of ast.items) {
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

function listing(program: CompiledProgram): string {
  const helperName = (id: number) => { for (const [k, v] of Object.entries(Helper)) if (v === id) return `bpf_${k}`; return undefined; };
  return program.programs.map((p) => `\n${p.name} (${p.bpfType}):\n${disassemble(link(p.insns), { withSource: true, helperName })}`).join('\n');
}

/** Offset from CLOCK_MONOTONIC (bpf_ktime_get_ns) to the wall clock, in ns. */
function wallOffsetNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}
