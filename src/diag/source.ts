/**
 * @fileoverview A program text and the byte spans into it. Line and column are computed only
 * when a message is rendered (esbuild's LineColumnTracker idea), so spans stay two numbers.
 */

/** One piece of D text: a `-s` file, a `-n` description, a library file. */
export interface Source {
  /** What diagnostics call it: the script path for -s, the description text for -n. */
  readonly name: string;
  /** 'script' for -s files, 'description' for -n/-P/-m/-f/-i arguments, 'library' for lib/*.d. */
  readonly kind: 'script' | 'description' | 'library';
  readonly text: string;
  /**
   * Which field a description's last word names: the name for -n/-i (the default), the
   * provider, module or function for -P/-m/-f (DTrace's probe specifier context).
   */
  readonly descField?: ProbeDescField;
  /** Offsets of the first character of every line, built on first use. */
  lineStarts?: number[];
  /**
   * `#line N "file"` markers left by cpp: from `offset` on, the line numbered `line` is the
   * marker's. Sorted by offset.
   */
  lineMarkers?: { offset: number; line: number; file?: string }[];
}

export type ProbeDescField = 'provider' | 'module' | 'function' | 'name';

/** A half-open byte range [start, end) in one source. */
export interface Span {
  readonly source: Source;
  readonly start: number;
  readonly end: number;
  /**
   * The offset whose line DTrace reports for this node, when it is not `start`. DTrace stamps a
   * node with the lexer's line at the moment the parser builds it (dt_node_alloc's yylineno),
   * which for `a && b` is the line of the token after `b` (the lookahead that ended it).
   */
  readonly lineAt?: number;
}

export function makeSource(name: string, text: string, kind: Source['kind'] = 'script', descField?: ProbeDescField): Source {
  return descField === undefined ? { name, kind, text } : { name, kind, text, descField };
}

export function span(source: Source, start: number, end: number): Span {
  return { source, start, end };
}

function lineStarts(source: Source): number[] {
  if (source.lineStarts) return source.lineStarts;
  const starts = [0];
  const t = source.text;
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) === 10) starts.push(i + 1);
  source.lineStarts = starts;
  return starts;
}

/** 1-based physical line and column of an offset. */
export function physicalPosition(source: Source, offset: number): { line: number; column: number } {
  const starts = lineStarts(source);
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid; else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/** The line number DTrace reports: physical, corrected by any `#line` marker before it. */
export function reportedLine(source: Source, offset: number): { line: number; file?: string } {
  const { line } = physicalPosition(source, offset);
  const markers = source.lineMarkers;
  if (!markers || markers.length === 0) return { line };
  let m: (typeof markers)[number] | undefined;
  for (const k of markers) { if (k.offset <= offset) m = k; else break; }
  if (!m) return { line };
  const markerLine = physicalPosition(source, m.offset).line;
  return { line: m.line + (line - markerLine), file: m.file };
}

/** The line DTrace reports for a span (see Span.lineAt). */
export function reportedSpanLine(span: Span): { line: number; file?: string } {
  return reportedLine(span.source, span.lineAt ?? span.start);
}

/** The text of the physical line holding `offset`, without its newline. */
export function lineText(source: Source, offset: number): string {
  const starts = lineStarts(source);
  const { line } = physicalPosition(source, offset);
  const start = starts[line - 1]!;
  const end = line < starts.length ? starts[line]! - 1 : source.text.length;
  return source.text.slice(start, end);
}
