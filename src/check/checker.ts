/**
 * @fileoverview The D type checker ("cook" in DTrace's dt_parser.c): gives every expression a
 * CType, resolves every identifier, creates variables by first assignment, checks aggregations,
 * actions and subroutines, printf formats, and reports DTrace's semantic errors with its tags
 * and wording. The AST is never mutated: results live in side tables behind `Checked`.
 *
 * Order follows DTrace so the *first* error is the one Oracle reports: declarations, inlines
 * and translators are handled in program order at "parse time", together with the parse-time
 * checks inside clauses (unknown function names, constant division by zero); then each clause is
 * cooked (actions first, then the predicate, retried the other way round if an identifier is
 * unknown) and its actions are checked in statement order (what DTrace does in code generation).
 * The checker stops at the first error.
 */
import type { Program, Clause, Expr, Index, Member, Call, Declaration, InlineDecl, TranslatorDecl, Pragma, Assign } from '../lang/ast.js';
import type { DiagnosticSink } from '../diag/diagnostic.js';
import { Types } from './ctypes.js';
import { fail, isCheckFailure, type CheckFailure } from './abort.js';
import { BUILTIN_FUNCTIONS } from '../builtins/signatures.js';
import { BUILTIN_VARIABLES } from '../builtins/variables.js';
import { type CheckOptions, type Checked } from './checked.js';
import { F_USER, isStructLike } from './checker/rules.js';
import { ClauseChecks } from './checker/clauses.js';
export type { KernelTypeSource } from './decl.js';
export * from './checked.js';

class Checker extends ClauseChecks {
  protected processItems(p: Program, phase: 'decl' | 'clauses'): void {
    for (const item of p.items) {
      if (phase === 'decl') {
        switch (item.kind) {
          case 'Declaration': this.declareVariable(item); break;
          case 'InlineDecl': this.declareInline(item); break;
          case 'TranslatorDecl': this.declareTranslator(item); break;
          case 'Pragma': if (!this.libraryMode) this.pragma(item); break;
          case 'Clause': this.currentClause = item; this.parseTimeChecks(item.predicate); this.parseTimeStmts(item.body); this.currentClause = undefined; break;
          case 'ProviderDecl': break;
        }
      } else if (item.kind === 'Clause') this.cookClause(item);
    }
  }

  run(): Checked {
    for (const [name, v] of BUILTIN_VARIABLES) if (!v.library) this.globals.set(name, { kind: 'builtin-var', v });
    for (const [name, fn] of BUILTIN_FUNCTIONS) this.globals.set(name, { kind: 'function', fn });
    const needsLibrary = this.opts.library !== undefined;
    if (needsLibrary) {
      this.libraryMode = true;
      for (const lib of this.opts.library!()) {
        // Library items that fail (e.g. translators from kernel types when BTF is absent) are skipped.
        for (const item of lib.items) {
          try { this.processItems({ ...lib, items: [item] }, 'decl'); } catch (err) {
            if (!isCheckFailure(err)) throw err;
            if (process.env.DTRACE_TS_DEBUG_LIBRARY) console.error(`library: ${err.tag} ${err.message}`);
          }
        }
      }
      this.libraryMode = false;
    }
    if (this.opts.version !== undefined) this.hideBuiltinsAfter(this.opts.version);
    try {
      this.processItems(this.program, 'decl');
      this.processItems(this.program, 'clauses');
    } catch (err) {
      if (!isCheckFailure(err)) throw err;
      const f = err as CheckFailure;
      this.sink.error(f.tag, f.message, f.span);
    }
    return {
      program: this.program,
      typeOf: (e) => this.infos.get(e)?.type ?? Types.void,
      constValue: (e) => this.infos.get(e)?.constVal,
      stringConst: (e) => this.infos.get(e)?.str,
      symbolOf: (e) => this.symbols.get(e),
      isUserland: (e) => ((this.infos.get(e)?.flags ?? 0) & F_USER) !== 0,
      variables: this.variables, aggregations: this.aggregations,
      typedefs: this.scope.typedefs, structs: this.scope.tags, enums: this.scope.enums, inlines: this.inlines, translators: this.translators, options: this.options,
      usesDestructive: this.usesDestructive,
    };
  }
}

export function check(program: Program, sink: DiagnosticSink, opts: CheckOptions): Checked {
  return new Checker(program, sink, opts).run();
}

export { walkExpr } from '../lang/walk.js';
export { isStructLike as isStructOrUnion };
