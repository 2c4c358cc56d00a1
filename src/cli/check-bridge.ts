/**
 * @fileoverview Runs the D checker over a whole program for its diagnostics. Code generation
 * still uses its own light type inference (codegen/infer.ts); moving it onto the checker's side
 * tables is the next step, after which this bridge goes away.
 */
import type * as A from '../lang/ast.js';
import type { DiagnosticSink } from '../diag/diagnostic.js';
import { check, type Checked } from '../check/checker.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { libraryFor } from '../check/library.js';

export function checkProgram(program: A.Program, sink: DiagnosticSink, opts: { strsize: number; destructive: boolean; texts: string[] }): Checked | undefined {
  try {
    return check(program, sink, { strsize: opts.strsize, destructive: opts.destructive, kernelTypes: kernelTypeSource, library: libraryFor(opts.texts) });
  } catch (e) {
    // The checker is new: an internal failure must not stop a program the code generator can
    // still compile. Report it once on stderr when debugging.
    if (process.env.DTRACE_DEBUG) console.error('checker failed:', e);
    return undefined;
  }
}
