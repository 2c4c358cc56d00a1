/**
 * @fileoverview What each D library file defines, without parsing it: the typedef names and
 * inline constants a script may name (library.ts decides from them whether to load the
 * library). The build writes the index of the package's lib/*.d (dist/lib-index.json) so that a
 * run reads no library file unless its script names one of these; each file's size is
 * recorded, and an index that does not match lib/ is ignored (the files are scanned instead).
 */

export interface LibraryFileNames {
  /** The file's name in lib/. */
  name: string;
  /** Its size in bytes when indexed. */
  size: number;
  /** Typedef names it declares (`psinfo_t`, …). */
  types: string[];
  /** Inline constants it defines. */
  inlines: string[];
}

/** Typedef names declared by library text: a cheap scan, no parsing. */
export function typeNamesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/}\s*(\w+)\s*;/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\btypedef\s+[^;{]*?\b(\w+)\s*;/g)) out.push(m[1]!);
  return out;
}

/** Inline constants defined by library text. */
export function inlineNamesIn(text: string): string[] {
  return [...text.matchAll(/\binline\s+[^=;]*?\b(\w+)\s*=/g)].map((m) => m[1]!);
}

export const LIBRARY_INDEX_FILE = 'lib-index.json';
