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

/** The field -P, -m and -f name (dtrace.c's probe specifier context); -n and -i name the name. */
const DESC_FIELD = { P: 'provider', m: 'module', f: 'function', n: undefined, i: undefined } as const;

/**
 * The programs in command-line order, or DTrace's message (without `dtrace: `) for a file it
 * cannot read. Probe ids (`-i ID`, an ID in a description) are resolved by the parser.
 */
export function readPrograms(cli: CliOptions): ProgramText[] | string {
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
      const label = descriptionLabel(p.text);
      out.push({ source: makeSource(p.text, p.text, 'description', DESC_FIELD[p.flag]), label, kind: 'description' });
    }
  }
  return out;
}
