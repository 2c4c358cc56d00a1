/**
 * @fileoverview The D programs a command line names (-s files, -n/-P/-m/-f/-i descriptions),
 * read into sources the parser takes.
 */
import { readFileSync } from 'node:fs';
import { makeSource, type Source } from '../diag/source.js';
import type { CliOptions } from './options.js';
import { errnoText } from './output.js';

export interface ProgramText {
  source: Source;
  /** What the "matched N probes" message calls it. */
  label: string;
  kind: 'script' | 'description';
}

/** The text DTrace shows for a -n description: cut at the first `{`, `/` or `;`. */
function descriptionLabel(text: string): string {
  const m = /[{/;]/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/**
 * -P, -m and -f name the provider, module or function field (dtrace.c's probe specifier
 * context): the description's missing fields are added after it — before a predicate or
 * action that follows it, not at the end of the text.
 */
export function withFieldSuffix(text: string, suffix: string): string {
  const m = /^(\s*)([^\s{/]*)/.exec(text)!;
  const end = m[0].length;
  return `${m[1]}${m[2]}${suffix}${text.slice(end)}`;
}

/**
 * The programs in command-line order, or DTrace's message (without `dtrace: `) for a file it
 * cannot read. `resolveProbeId` (listing.ts, loaded only when a -i description needs it) turns
 * `-i ID ...` into the probe's description.
 */
export function readPrograms(cli: CliOptions, resolveProbeId: (text: string) => string = (text) => text): ProgramText[] | string {
  const out: ProgramText[] = [];
  for (const p of cli.programs) {
    if (p.kind === 'file') {
      let text: string;
      try { text = readFileSync(p.path === '-' ? '/dev/stdin' : p.path, 'latin1'); } catch (e) { return `failed to open ${p.path}: ${errnoText(e)}`; }
      // The interpreter line (`#!/usr/sbin/dtrace -s`) is blanked, keeping offsets and line
      // numbers, so that neither cpp (-C) nor the lexer sees it.
      if (text.startsWith('#!')) { const nl = text.indexOf('\n'); text = ' '.repeat(nl < 0 ? text.length : nl) + (nl < 0 ? '' : text.slice(nl)); }
      out.push({ source: makeSource(p.path, text, 'script'), label: p.path, kind: 'script' });
    } else {
      const text = p.flag === 'n' ? p.text : p.flag === 'i' ? resolveProbeId(p.text) : withFieldSuffix(p.text, p.flag === 'P' ? ':::' : p.flag === 'm' ? '::' : ':');
      const label = descriptionLabel(p.text);
      out.push({ source: makeSource(p.text, text, 'description'), label, kind: 'description' });
    }
  }
  return out;
}
