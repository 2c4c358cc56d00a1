/**
 * @fileoverview The checker stops at the first semantic error, as DTrace's compiler does
 * (its `xyerror` longjmps out of the cook pass), so the first tag reported is the one Oracle
 * reports. Inside the checker an error is thrown as a `CheckFailure` value; `check()` catches it
 * and appends it to the DiagnosticSink, so nothing escapes the stage as an exception.
 */
import type { ErrTag } from '../diag/tags.js';
import type { Span } from '../diag/source.js';

export interface CheckFailure {
  readonly checkFailure: true;
  readonly tag: ErrTag;
  readonly message: string;
  readonly span?: Span;
}

export function fail(tag: ErrTag, message: string, span?: Span): never {
  const f: CheckFailure = { checkFailure: true, tag, message, span };
  throw f;
}

export function isCheckFailure(e: unknown): e is CheckFailure {
  return typeof e === 'object' && e !== null && (e as { checkFailure?: unknown }).checkFailure === true;
}
