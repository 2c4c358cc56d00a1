/**
 * @fileoverview Runs the D checker over a whole program: the D library when the program needs
 * it, and args[] typed from the providers' argument descriptions. Code generation reads the
 * result's types, constants and symbols. A checker crash is an internal error: it propagates to
 * the CLI's internal-error report rather than letting code generation run unchecked.
 */
import type * as A from '../lang/ast.js';
import type { DiagnosticSink } from '../diag/diagnostic.js';
import { check, type Checked } from '../check/checker.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { libraryFor, loadLibraryPrograms } from '../check/library.js';
import { matchProbes } from '../providers/registry.js';
import type { ProbeArgDesc } from '../providers/provider.js';

/**
 * args[] of a clause: the argument descriptions of the first probe its descriptions match that
 * has any (DTrace types args[] from the probe; a clause's probes normally agree).
 */
function clauseArgDescs(clause: A.Clause): ProbeArgDesc[] | undefined {
  for (const desc of clause.probes) {
    for (const { provider, site } of matchProbes(desc)) {
      const d = provider.argDescs?.(site);
      if (d && d.length > 0) return d;
    }
  }
  return undefined;
}

export function checkProgram(program: A.Program, sink: DiagnosticSink, opts: { strsize: number; destructive: boolean; scratchsizeBytes?: number; texts: string[]; version?: string; nolibs?: boolean }): Checked {
  // The D library is loaded only for programs that name something in it — or that use
  // args[] of probes whose arguments are translated by it (psinfo_t, bufinfo_t, …).
  const translatedArgs = opts.texts.some((t) => /\bargs\s*\[/.test(t)) && program.items.some((c) => c.kind === 'Clause' && clauseArgDescs(c)?.some((d) => d.xlate));
  return check(program, sink, {
    strsize: opts.strsize, destructive: opts.destructive, scratchsizeBytes: opts.scratchsizeBytes, version: opts.version, kernelTypes: kernelTypeSource,
    // -x nolibs: the D library is not loaded at all.
    library: opts.nolibs ? undefined : libraryFor(opts.texts) ?? (translatedArgs ? loadLibraryPrograms : undefined),
    probeArgDescs: clauseArgDescs,
  });
}
