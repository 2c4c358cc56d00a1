/**
 * @fileoverview The D library: lib/*.d (types such as psinfo_t, translators from Linux kernel
 * structures, inline constants), loaded automatically as Oracle DTrace loads /usr/lib/dtrace.
 * Startup matters, so the files are read and parsed only when a script names something the
 * library defines (`libraryNeeded`); the parsed programs are cached for the process.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSource, type Source } from '../diag/source.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { parse } from '../lang/parser.js';
import type { Program } from '../lang/ast.js';
import { D_TYPEDEF_NAMES } from './decl.js';
import { typeNamesIn, inlineNamesIn, LIBRARY_INDEX_FILE, type LibraryFileNames } from './library-index.js';

/**
 * The package root: the directory holding package.json and lib/. dist/cli.js is at
 * <root>/dist and build files at <root>/build/src/check, so walk up from this module.
 */
export function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'lib'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

let sources: Source[] | undefined;
/** Directories added by -L / -x libdir, searched after the package's lib/ (dt_load_libs). */
let extraDirs: string[] = [];

/**
 * Adds library directories (-L): their *.d files are loaded after the package's own. A missing
 * or unreadable directory is skipped, as dtrace-utils skips it.
 */
export function addLibraryDirectories(dirs: string[]): void {
  if (dirs.length === 0) return;
  extraDirs = [...extraDirs, ...dirs];
  sources = undefined;
  indexRead = undefined;
  dependencyProblem = undefined;
  names = undefined;
  typeNames = undefined;
  programs = undefined;
}

/** The library files as sources (lib/*.d in name order, then each -L directory's); read once. */
export function loadLibrary(): Source[] {
  if (sources) return sources;
  const root = packageRoot();
  const dirs = [...(root ? [join(root, 'lib')] : []), ...extraDirs];
  sources = [];
  for (const libDir of dirs) {
    let entries: string[];
    try { entries = readdirSync(libDir).filter((n) => n.endsWith('.d')).sort(); } catch { continue; }
    for (const name of entries) {
      let text: string;
      try { text = readFileSync(join(libDir, name), 'utf8'); } catch { continue; }
      sources.push(makeSource(join(libDir, name), text, 'library'));
    }
  }
  return sources;
}

let names: Set<string> | undefined;
let typeNames: Set<string> | undefined;

/**
 * The build's index of the package's lib/ (library-index.ts) when it matches the files there
 * (same names, same sizes) and no -L directory was added; otherwise undefined (scan the files).
 */
let indexRead: { files: LibraryFileNames[] | undefined } | undefined;
function libraryIndex(): LibraryFileNames[] | undefined {
  indexRead ??= { files: readLibraryIndex() };
  return indexRead.files;
}
function readLibraryIndex(): LibraryFileNames[] | undefined {
  const root = packageRoot();
  if (!root || extraDirs.length > 0) return undefined;
  try {
    const index = JSON.parse(readFileSync(join(root, 'dist', LIBRARY_INDEX_FILE), 'utf8')) as { files: LibraryFileNames[] };
    const libDir = join(root, 'lib');
    const present = readdirSync(libDir).filter((n) => n.endsWith('.d')).sort();
    if (present.length !== index.files.length) return undefined;
    for (let i = 0; i < present.length; i++) {
      const f = index.files[i]!;
      if (f.name !== present[i] || statSync(join(libDir, f.name)).size !== f.size) return undefined;
    }
    return index.files;
  } catch {
    return undefined;
  }
}

/** Typedef names the library declares (`psinfo_t`, …): from the build's index, else a cheap scan, no parsing. */
export function libraryTypeNames(): Set<string> {
  if (typeNames) return typeNames;
  const index = sources ? undefined : libraryIndex();
  typeNames = new Set(index ? index.flatMap((f) => f.types) : loadLibrary().flatMap((s) => typeNamesIn(s.text)));
  return typeNames;
}

/** Every name the library defines (types, inlines), plus the builtin variables typed by it. */
export function libraryNames(): Set<string> {
  if (names) return names;
  names = new Set(libraryTypeNames());
  const index = sources ? undefined : libraryIndex();
  for (const n of index ? index.flatMap((f) => f.inlines) : loadLibrary().flatMap((s) => inlineNamesIn(s.text))) names.add(n);
  for (const v of ['curpsinfo', 'curlwpsinfo', 'cpu', 'cwd', 'root', 'fds', 'curcpu']) names.add(v);
  return names;
}

/** Whether a program text names anything the library defines. */
export function libraryNeeded(text: string): boolean {
  const lib = libraryNames();
  for (const m of text.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) if (lib.has(m[0])) return true;
  return false;
}

let programs: Program[] | undefined;

/** The library, parsed (once). Parse problems in a library file are not the user's: they are dropped. */
export function loadLibraryPrograms(): Program[] {
  if (programs) return programs;
  // Typedefs the library itself declares must be type names while it is parsed.
  const libTypes = libraryTypeNames();
  programs = loadLibrary().map((s) => parse(s, new DiagnosticSink(), { isTypeName: (n) => D_TYPEDEF_NAMES.has(n) || libTypes.has(n) }));
  return programs;
}

/**
 * What `CheckOptions.library` should be for a program with these source texts: the parsed
 * library when the program needs it, nothing otherwise (so most scripts never parse it).
 */
export function libraryFor(texts: string[]): (() => Program[]) | undefined {
  return texts.some(libraryNeeded) ? loadLibraryPrograms : undefined;
}

let dependencyProblem: string | null | undefined;

/**
 * What is wrong with the `#pragma D depends_on library` graph of the library directories
 * (dt_load_libs_dir: a dependency names a file of the same directory; a cycle is refused),
 * or undefined. Only the pragma lines are scanned: the files stay unparsed until needed.
 */
export function libraryDependencyProblem(): string | undefined {
  // The package's own lib/ is checked by its tests (library.test.ts): only -L directories can
  // bring a bad graph, and reading every library file at each run is what the build's index
  // (libraryIndex) spares a script that needs none of them.
  if (extraDirs.length === 0) return undefined;
  if (dependencyProblem === undefined) dependencyProblem = findDependencyProblem(loadLibrary()) ?? null;
  return dependencyProblem ?? undefined;
}

/** The dependency problem of these library files (their names are their paths), if any. */
export function findDependencyProblem(libs: Source[]): string | undefined {
  const known = new Set(libs.map((s) => s.name));
  const deps = new Map<string, string[]>();
  for (const s of libs) {
    const list: string[] = [];
    for (const m of s.text.matchAll(/^[ \t]*#[ \t]*pragma[ \t]+D[ \t]+depends_on[ \t]+library[ \t]+(\S+)[ \t]*$/gm)) {
      const dep = join(dirname(s.name), m[1]!);
      if (!known.has(dep)) return `Invalid library dependency in ${s.name}: ${dep}`;
      list.push(dep);
    }
    deps.set(s.name, list);
  }
  // Depth-first search: reaching a library still on the path is a cycle.
  const state = new Map<string, 'open' | 'done'>();
  const visit = (lib: string): string | undefined => {
    state.set(lib, 'open');
    for (const dep of deps.get(lib) ?? []) {
      if (state.get(dep) === 'open') return `Cyclic dependency detected: ${dep} => ${lib}`;
      if (state.get(dep) === undefined) { const p = visit(dep); if (p) return p; }
    }
    state.set(lib, 'done');
    return undefined;
  };
  for (const s of libs) if (state.get(s.name) === undefined) { const p = visit(s.name); if (p) return p; }
  return undefined;
}
