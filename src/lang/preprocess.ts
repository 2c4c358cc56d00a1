/**
 * @fileoverview `-C`: runs the system C preprocessor over a D program (spec §1.1), the way
 * DTrace does: GCC's `cpp` reading the script as `/dev/stdin` (so its messages read
 * `/dev/stdin:N: error: …`, as the corpus expects), with DTrace's predefined symbols,
 * the user's `-D`/`-U`/`-I`/`-H`, and the words of `DTRACE_OPT_CPPARGS`. cpp's
 * `# N "file" flags` markers stay in the output; the lexer maps them back onto the
 * original lines (Source.lineMarkers), so diagnostics report lines of the script itself.
 */
import type { SpawnSyncReturns } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, type as osType } from 'node:os';
import { join } from 'node:path';
import { makeSource, type Source } from '../diag/source.js';

export interface PreprocessOptions {
  /** `-D name[=value]` arguments, without the `-D`. */
  defines: string[];
  /** `-U name` arguments. */
  undefs: string[];
  /** `-I dir` arguments. */
  includes: string[];
  /** Further cpp arguments (`-H`, option `cppargs`); DTRACE_OPT_CPPARGS is added from the environment. */
  extraArgs: string[];
  /** Option `cpppath` (default `cpp`). */
  cppPath?: string;
  /** `-Xs`: `-traditional-cpp` instead of `-std=c99`. */
  traditional?: boolean;
  /** Environment to read DTRACE_OPT_CPPARGS from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** D version 2.0.1 as DTrace encodes it: major<<24 | minor<<12 | micro. */
export const D_VERSION_CODE = (2 << 24) | (0 << 12) | 1;

/** The cpp command line DTrace would run (without the program name). */
export function cppArguments(opts: PreprocessOptions): string[] {
  const env = opts.env ?? process.env;
  const sysname = osType();
  const args = [
    '-D__linux', '-D__unix', '-D__SVR4', '-D__SUNW_D=1', '-U__GNUC__', '-D__SUNW_D_64', `-D__${sysname}`,
  ];
  for (const d of opts.defines) args.push(`-D${d}`);
  for (const u of opts.undefs) args.push(`-U${u}`);
  for (const i of opts.includes) args.push(`-I${i}`);
  args.push(...opts.extraArgs);
  const fromEnv = env.DTRACE_OPT_CPPARGS;
  if (fromEnv) args.push(...fromEnv.split(/\s+/).filter((w) => w !== ''));
  args.push(`-D__SUNW_D_VERSION=0x${D_VERSION_CODE.toString(16).padStart(8, '0')}`);
  args.push(opts.traditional ? '-traditional-cpp' : '-std=c99');
  args.push('/dev/stdin');
  return args;
}

/**
 * Runs cpp synchronously. On failure, `error` is everything dtrace(8) writes to stderr for it:
 * cpp's own messages unchanged (`/dev/stdin:17: error: …`), then DTrace's one line
 * (`dtrace: failed to compile script FILE: Preprocessor failed to process input program`).
 * `cppStderr` is cpp's part alone, for callers that print it separately.
 */
export function preprocess(source: Source, opts: PreprocessOptions): { source: Source; cppStderr: string } | { error: string; cppStderr: string } {
  // cpp opens /dev/stdin by name, which fails on the socket Node gives a child for piped
  // input; a temporary file as standard input works.
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-cpp-'));
  const file = join(dir, 'input.d');
  writeFileSync(file, source.text);
  const fd = openSync(file, 'r');
  let r: SpawnSyncReturns<string>;
  try {
    r = childProcess().spawnSync(opts.cppPath ?? 'cpp', cppArguments(opts), { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 << 20 });
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.error) return { error: failureText(source, `failed to run ${opts.cppPath ?? 'cpp'}: ${r.error.message}`, ''), cppStderr: '' };
  if (r.status !== 0) {
    const cppStderr = r.stderr ?? '';
    return { error: failureText(source, 'Preprocessor failed to process input program', cppStderr), cppStderr };
  }
  // The markers naming the script itself carry no file, so messages keep DTrace's `line N:` form.
  const out = (r.stdout ?? '').replace(/^(#\s*(?:line\s+)?[0-9]+\s+)"(\/dev\/stdin|<stdin>)"/gm, '$1');
  return { source: makeSource(source.name, out, source.kind, source.descField), cppStderr: r.stderr ?? '' };
}

/** DTrace's compile-failure line for `source`, after cpp's own messages. */
function failureText(source: Source, message: string, cppStderr: string): string {
  const prefix = source.kind === 'description'
    ? `dtrace: invalid probe specifier ${source.name}: `
    : `dtrace: failed to compile script ${source.name}: `;
  const cppPart = cppStderr === '' || cppStderr.endsWith('\n') ? cppStderr : cppStderr + '\n';
  return `${cppPart}${prefix}${message}`;
}

/**
 * node:child_process, loaded on first use: it pulls in net, stream and dgram (≈7 ms of
 * startup) and only -c, -C and system() need it.
 */
function childProcess(): typeof import('node:child_process') {
  return process.getBuiltinModule('node:child_process');
}
