/**
 * @fileoverview Diagnostics as data. Stages append to a sink and never throw for a user error;
 * the driver stops after the first stage that reported an error (STYLE.md, "Diagnostics").
 */
import type { Span } from './source.js';

import type { ErrTag } from './tags.js';

export type { ErrTag };

export interface Note { message: string; span?: Span }

export interface Diagnostic {
  tag: ErrTag;
  severity: 'error' | 'warning';
  /** DTrace's message text (the part after `line N: `). */
  message: string;
  span?: Span;
  /** The program an error without a location belongs to (named in the first line). */
  source?: Span['source'];
  notes: Note[];
  hint?: string;
}

/** Collects diagnostics; `hasErrors` tells the driver to stop after the current stage. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private seen = new Set<string>();

  error(tag: ErrTag, message: string, span?: Span, hint?: string): Diagnostic {
    return this.add({ tag, severity: 'error', message, span, notes: [], hint });
  }

  warning(tag: ErrTag, message: string, span?: Span, hint?: string): Diagnostic {
    return this.add({ tag, severity: 'warning', message, span, notes: [], hint });
  }

  add(d: Diagnostic): Diagnostic {
    // One mistake, one message: a second diagnostic at the same place with the same tag is dropped.
    const key = d.span ? `${d.tag}@${d.span.source.name}:${d.span.start}` : '';
    if (key && this.seen.has(key)) return d;
    if (key) this.seen.add(key);
    this.items.push(d);
    return d;
  }

  get hasErrors(): boolean { return this.items.some((d) => d.severity === 'error'); }
  get errors(): Diagnostic[] { return this.items.filter((d) => d.severity === 'error'); }
}

/**
 * Thrown only across the driver boundary to carry diagnostics out of a stage that cannot go
 * on (e.g. the first error of a stage that stops at the first error, as DTrace's compiler does).
 */
export class CompileError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics[0]?.message ?? 'compile error');
    this.name = 'CompileError';
  }
}
