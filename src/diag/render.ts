/**
 * @fileoverview Renders a diagnostic the way Oracle's dtrace(8) prints it (dt_error.c's
 * dt_set_errmsg and the front end's error path): one line
 *   `dtrace: failed to compile script FILE: [D_TAG] line N: message`   (-s scripts)
 *   `dtrace: invalid probe specifier SPEC: [D_TAG] message`   (-n/-P/-m/-f/-i: no line number)
 * with `[D_TAG] ` only under `-x errtags`, and `"file", line N: ` when a `#line`/cpp marker
 * named a file. Optionally followed by the source line, a `^~~~` caret under the span and a
 * hint (our addition; the CLI turns it off under `_DTRACE_TESTING`).
 */
import type { Diagnostic } from './diagnostic.js';
import { lineText, physicalPosition, reportedSpanLine } from './source.js';

export interface RenderOptions {
  /** `-x errtags`: prefix the message with `[D_TAG] `. */
  errtags: boolean;
  /** Show the source line, a caret under the span and the hint. */
  caret: boolean;
  /** With the caret: a ` --> FILE:LINE:COLUMN` line before the source line. */
  position?: boolean;
}

/** The `[D_TAG] line N: message` part (what DTrace keeps as the library error message). */
export function renderLocatedMessage(d: Diagnostic, errtags: boolean): string {
  const tag = errtags ? `[${d.tag}] ` : '';
  if (!d.span) return `${tag}${d.message}`;
  const where = reportedSpanLine(d.span);
  // DTrace numbers lines only of programs read from a file (dt_set_errmsg is given line 0
  // for a -n/-P/-m/-f/-i string), unless a `#line` marker named a file.
  if (where.file === undefined && d.span.source.kind === 'description') return `${tag}${d.message}`;
  const loc = where.file !== undefined ? `"${where.file}", line ${where.line}: ` : `line ${where.line}: `;
  return `${tag}${loc}${d.message}`;
}

export function renderDiagnostic(d: Diagnostic, opts: RenderOptions): string {
  const src = d.span?.source ?? d.source;
  const prefix = src?.kind === 'description'
    ? `dtrace: invalid probe specifier ${src.name}: `
    : `dtrace: failed to compile script ${src?.name ?? ''}: `;
  let out = prefix + renderLocatedMessage(d, opts.errtags);
  if (opts.caret && d.span) out += (opts.position ? `\n --> ${renderPosition(d)}` : '') + '\n' + renderCaret(d);
  if (opts.caret && d.hint) out += `\nhint: ${d.hint}`;
  return out;
}

/**
 * `FILE:LINE:COLUMN` of the span's start (rustc's `-->` line): the line as the first line
 * reports it, the column counted in characters from 1. A description is named `<-n>`.
 */
export function renderPosition(d: Diagnostic): string {
  const s = d.span!;
  const where = reportedSpanLine(s);
  const { column } = physicalPosition(s.source, s.start);
  const file = where.file ?? (s.source.kind === 'description' ? '<probe description>' : s.source.name);
  return `${file}:${where.line}:${column}`;
}

/** The source line of the span's start with `^~~~` under the span (clipped to that line). */
export function renderCaret(d: Diagnostic): string {
  const s = d.span!;
  const line = lineText(s.source, s.start);
  const { column } = physicalPosition(s.source, s.start);
  const width = Math.max(1, Math.min(s.end, s.start + line.length - column + 1) - s.start);
  // Tabs are kept in the padding so the caret lines up under the same characters.
  const pad = line.slice(0, column - 1).replace(/[^\t]/g, ' ');
  return `${line}\n${pad}^${'~'.repeat(width - 1)}`;
}
