/**
 * @fileoverview dtrace-ts as a library: `import { compile, run } from 'dtrace-ts'`.
 *
 *   const session = run('syscall::getpid:entry /pid == $target/ { printf("%d", 7); }', { command: './workload' });
 *   for await (const e of session) console.log(e.probe.function, e.data[0]);
 *   console.log(session.aggregations(), session.exitStatus);
 *
 * compile() needs no kernel; run() needs the privileges the dtrace command needs (root or
 * CAP_BPF + CAP_PERFMON). The dtrace command runs the same Session (runtime/session.ts).
 */
import { compileSource, type CompileOptions, type CompileResult, type CompiledScript } from './api/compile.js';
import { TraceSession, type RunOptions } from './api/trace-session.js';

export type { CompileOptions, CompileResult, CompiledScript, CompileFailure, OptionSetting } from './api/compile.js';
export { TraceSession, DTraceError, type RunOptions, type TraceEvent, type ProbeDescription } from './api/trace-session.js';
export type { DropCounts } from './runtime/session.js';
export type { JsValue, AggregationEntry, AggregationValue, Bucket } from './consume/format/json-values.js';
export type { Diagnostic } from './diag/diagnostic.js';

/** Compiles a D program (diagnostics as data, `listing()` as -S shows it); loads nothing. */
export function compile(source: string, options?: CompileOptions): CompileResult {
  return compileSource(source, options);
}

/**
 * Runs a D program (source text or compile()'s result): an AsyncIterable of its records as
 * events, with aggregations(), stop(), exitStatus, drops and `done` (the exit status).
 */
export function run(script: string | CompiledScript, options?: RunOptions): TraceSession {
  return new TraceSession(script, options);
}
