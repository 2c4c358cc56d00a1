/**
 * @fileoverview The `dtrace` command line and the option table.
 *
 * `parseCommandLine` reproduces cmd/dtrace.c of Oracle DTrace 2.0: POSIX getopt in
 * REQUIRE_ORDER mode (`+3:6:aAb:Bc:CD:ef:FGhHi:I:lL:m:n:o:p:P:qs:SU:vVwx:X:Z`) restarted
 * after every operand, so options and operands may be interleaved and `--` turns only the
 * word after it into an operand. The passes follow options-and-cli.md §1.1: modes first,
 * then defaults, `DTRACE_OPT_*` environment options and the option flags in command-line
 * order, then `-c`/`-p`.
 *
 * `OPTIONS` is libdtrace's option table (dt_options.c): every `-x` / `#pragma D option` /
 * `setopt()` name with its kind and value parser. `setOption` validates a value and stores
 * the normalised result in an `OptionValues` map; an option that is "unset" is absent from
 * the map. Stored values by option type:
 *  - boolean options (quiet, flowindent, destructive, zdefs, cpp, errtags, ...): `true`.
 *    Runtime booleans accept `yes|no|on|off|...`, an empty string (unset) or any
 *    non-negative integer; note that `quiet=0` *sets* quiet, as in DTrace.
 *  - integer options (cpu, nspec, stackframes, ...): bigint; a bare `-x name` stores 0n.
 *  - sizes: bigint bytes; times/rates: bigint nanoseconds (`hz` → period).
 *  - string and keyword options (stdc, linkmode, cpppath, define, ...): string.
 */
import { didYouMean } from '../diag/suggest.js';
import { readFileSync } from 'node:fs';
import { illegalDataModelMessage, invalidOptionMessage, missingArgumentMessage, usageText } from './usage.js';

// ───────────────────────────── public types ─────────────────────────────

export type ProgramArg =
  | { kind: 'file'; path: string } // -s FILE
  | { kind: 'description'; flag: 'n' | 'P' | 'm' | 'f' | 'i'; text: string }; // -n/-P/-m/-f/-i

export type CliMode = 'exec' | 'list' | 'compile' | 'header' | 'elf' | 'version';

export interface CliOptions {
  /** Program name used in messages (basename of argv[0]). */
  programName: string;
  /** -s and probe specifiers, in command-line order. */
  programs: ProgramArg[];
  /**
   * Options given by -x and by option-setting flags, keyed by option name, in command-line
   * order (first occurrence): -q → quiet, -w → destructive, -F → flowindent, -Z → zdefs,
   * -C → cpp, -H → cpphdrs, -S → verbose, -b → bufsize, -D → define, -U → undef, -I → incdir,
   * -L → libdir, -X → stdc. Every entry has already been validated by `setOption`; the full
   * result (defaults + environment + these) is `optionValues`.
   */
  options: Map<string, string | true>;
  /** The validated option store: `defaultOptions()`, then `DTRACE_OPT_*`, then the flags. */
  optionValues: OptionValues;
  /** Operands ($1 ... $N); empty with -G, where the operands are `objectFiles`. */
  macroArgs: string[];
  /** -G operands: the object files to process. */
  objectFiles: string[];
  /** -c commands (raw text; DTrace splits them on whitespace, no shell). */
  commands: string[];
  /** -p process IDs. */
  grabPids: number[];
  /** -o */
  outputFile?: string;
  /** -D name[=value], -U name, -I dir (and -x define/undef/incdir), in order. */
  cppDefines: string[];
  cppUndefs: string[];
  cppIncludes: string[];
  /** -L dir (and -x libdir), in order. */
  libDirs: string[];
  /** -x cppargs values, in order (each split on blanks into cpp arguments). */
  cppArgs: string[];
  /** The mode: -V version, -l list, -h header, -G elf, -e (otherwise exec) compile. */
  mode: CliMode;
  /** -e was given (also true in list/header mode when -e was combined with them). */
  exitAfterCompile: boolean;
  /** -l together with -v. */
  listVerbose: boolean;
  /** -S or -x verbose: print the compiled BPF. */
  showBpf: boolean;
  /** -v (stability report; -lv probe details; -Vv long version). */
  verbose: boolean;
  /** How many times -v was given: -lvv adds the kernel mechanism each probe is built on. */
  verboseLevel: number;
  /** -32 / -64 (default lp64; -32 is accepted but programs stay LP64). */
  dataModel: 'ilp32' | 'lp64';
  /** -B: buffered-handler debugging, normal output disabled. */
  bufferedDebug: boolean;
  /** Descriptions that match no probe are allowed (-Z, -x zdefs, or implied by -l/-h/-G). */
  zdefs: boolean;
  /** _DTRACE_TESTING is set: testing output, quietresize on. */
  testing: boolean;
  /** Exec and list modes need root (options-and-cli.md §1.1 step 3); -h, -G, -V don't. */
  requiresRoot: boolean;
}

export type ParseResult =
  | { ok: true; cli: CliOptions }
  /**
   * `message` is the full stderr text, each line already prefixed with "dtrace: " (or the
   * usage text) and ending in a newline. Status 2 for usage errors; 1 for the fatal errors
   * DTrace reports during option processing (`failed to set -x ...`, `invalid pid: ...`).
   */
  | { ok: false; status: 1 | 2; message: string; hint?: string };

export type OptionKind = 'runtime' | 'dynamic' | 'compile';

/** libdtrace's error texts (dt_error.c) that option setting can produce. */
export type OptionError =
  | 'Invalid option name'
  | 'Invalid value for specified option'
  | 'Option cannot be used from within a D program'
  | 'Operation illegal when tracing is active'
  | 'Version is not properly formatted or is too large'
  | 'Requested version is not supported by compiler'
  | 'Requested version conflicts with earlier setting'
  | 'Insufficient registers to generate code'
  | 'Value too large for defined data type';

export type OptionValue = bigint | string | true;
export type OptionValues = Map<string, OptionValue>;

/** What a value parser produces: the value to store, `undefined` to unset, or an error. */
export type OptionParseResult =
  | { ok: true; value: OptionValue | undefined; /** keep the previous value (DTrace quirk) */ unchanged?: true }
  | { ok: false; error: OptionError };

/** How an option's value is written; says which parser the option uses. */
export type OptionValueType =
  | 'size' | 'time' | 'integer' | 'boolean' | 'flag' | 'anyflag' | 'string' | 'keyword' | 'special';

export interface OptionDef {
  name: string;
  kind: OptionKind;
  valueType: OptionValueType;
  /** Parses `-x name=value` (`value` is `true` for a bare `-x name`). */
  parse(value: string | true): OptionParseResult;
  /** The value `defaultOptions()` stores, if any. */
  default?: OptionValue;
  /** Refused inside a D program (#pragma D option): preprocessor/paths set before compiling. */
  notInProgram?: true;
  /** Setting this option removes that one (kdefs ↔ knodefs, udefs ↔ unodefs). */
  clears?: string;
  /** Repeated settings accumulate (the store keeps the last; CliOptions keeps the list). */
  accumulates?: true;
}

export interface SetOptionContext {
  /** Set from #pragma D option or a compiled program (DTrace: a compiler context exists). */
  inProgram?: boolean;
  /** Tracing has started: only dynamic options may change. */
  tracingActive?: boolean;
}

export type SetOptionResult =
  | { ok: true }
  | {
      ok: false;
      /** `failed to set -x NAME: REASON`, without the "dtrace: " prefix. */
      message: string;
      /** The library error text alone, for callers that word their own message. */
      reason: OptionError;
      /** For a misspelt name: the nearest option (not part of DTrace's message). */
      hint?: string;
    };

// ─────────────────────── C number parsing (strtoull & co) ───────────────────────

const C_SPACE = ' \t\n\v\f\r';
const UINT64_MODULUS = 1n << 64n;
const INT64_MAX = (1n << 63n) - 1n;

interface CNumber {
  /** Value as strtoull returns it (negated modulo 2^64 for a leading '-'). */
  value: bigint;
  /** Index of the first unparsed character (0 when nothing was parsed). */
  end: number;
  /** strtoull would set ERANGE. */
  overflow: boolean;
  /** strtoll would return a negative number. */
  negative: boolean;
}

/** Emulates strtoull(text, &end, 0) plus the `strtoll(text) < 0` test DTrace pairs it with. */
function parseCUnsigned(text: string, base: 0 | 10 = 0): CNumber {
  let i = 0;
  while (i < text.length && C_SPACE.includes(text[i]!)) i++;
  let sign = 1n;
  if (text[i] === '+' || text[i] === '-') {
    if (text[i] === '-') sign = -1n;
    i++;
  }
  let radix: number = base === 0 ? 10 : base;
  if (base === 0 && text[i] === '0') {
    if ((text[i + 1] === 'x' || text[i + 1] === 'X') && /[0-9a-fA-F]/.test(text[i + 2] ?? '')) {
      radix = 16;
      i += 2;
    } else {
      radix = 8;
    }
  }
  const digitsStart = i;
  let magnitude = 0n;
  while (i < text.length) {
    const d = parseInt(text[i]!, radix);
    if (Number.isNaN(d)) break;
    magnitude = magnitude * BigInt(radix) + BigInt(d);
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: 0, overflow: false, negative: false };
  const overflow = magnitude >= UINT64_MODULUS;
  const value = overflow ? UINT64_MODULUS - 1n : sign < 0n ? (UINT64_MODULUS - magnitude) % UINT64_MODULUS : magnitude;
  return { value, end: i, overflow, negative: sign < 0n && magnitude !== 0n };
}

/** C atoi(): leading blanks, optional sign, decimal digits; anything else gives 0. */
function cAtoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

/** A value as libdtrace's int64 dtrace_optval_t sees it. */
function asOptval(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

// ─────────────────────────── value parsers ───────────────────────────

const BAD_VALUE = { ok: false, error: 'Invalid value for specified option' } as const;
const ok = (value: OptionValue | undefined): OptionParseResult => ({ ok: true, value });

/** dt_optval_parse: integer with an optional k/m/g/t suffix (×1024 each step). */
function parseSizeText(text: string): bigint | undefined {
  if (text === '') return 0n; // strtoull("") parses nothing and leaves an empty tail
  const suffixes = 'kmgt';
  const last = text[text.length - 1]!.toLowerCase();
  const power = suffixes.indexOf(last) + 1;
  const multiplier = 1n << BigInt(10 * power);
  const n = parseCUnsigned(text);
  const expectedEnd = power > 0 ? text.length - 1 : text.length;
  // libdtrace lets the multiplication wrap (16777216t → 0); a size that does not fit in
  // int64 is refused here instead.
  const product = n.value * multiplier;
  if (n.end !== expectedEnd || product > INT64_MAX || n.negative || n.overflow) return undefined;
  return product;
}

function parseSize(value: string | true): OptionParseResult {
  if (value === true) return ok(0n);
  const bytes = parseSizeText(value);
  return bytes === undefined ? BAD_VALUE : ok(bytes);
}

const TIME_UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n], ['nsec', 1n],
  ['us', 1_000n], ['usec', 1_000n],
  ['ms', 1_000_000n], ['msec', 1_000_000n],
  ['s', 1_000_000_000n], ['sec', 1_000_000_000n],
  ['m', 60_000_000_000n], ['min', 60_000_000_000n],
  ['h', 3_600_000_000_000n], ['hour', 3_600_000_000_000n],
  ['d', 86_400_000_000_000n], ['day', 86_400_000_000_000n],
  ['hz', 0n], // frequency: the period is 1e9 / N
]);

/** dt_opt_rate: integer + optional case-insensitive unit; no unit means nanoseconds. */
function parseTime(value: string | true): OptionParseResult {
  if (value === true) return ok(0n);
  const n = parseCUnsigned(value);
  const unitText = value.slice(n.end).toLowerCase();
  const unit = unitText === '' ? 1n : TIME_UNITS.get(unitText);
  const count = asOptval(n.value);
  if (unit === undefined || count < 0n || n.negative) return BAD_VALUE;
  if (unit === 0n) return ok(count === 0n ? 0n : 1_000_000_000n / count);
  // libdtrace lets the product wrap; a duration that does not fit in int64 is refused here.
  const ns = count * unit;
  return ns > INT64_MAX ? BAD_VALUE : ok(ns);
}

const SET_WORDS = ['yes', 'enable', 'enabled', 'true', 'on', 'set'];
const UNSET_WORDS = ['no', 'disable', 'disabled', 'false', 'off', 'unset'];

/** dt_opt_runtime: bare → 0, set/unset words, '' → unset, else a non-negative integer. */
function parseRuntimeInteger(value: string | true): OptionParseResult {
  if (value === true) return ok(0n);
  if (value === '') return ok(undefined);
  const lower = value.toLowerCase();
  if (SET_WORDS.includes(lower)) return ok(1n);
  if (UNSET_WORDS.includes(lower)) return ok(undefined);
  const n = parseCUnsigned(value);
  if (n.end !== value.length || n.overflow || asOptval(n.value) < 0n || n.negative) return BAD_VALUE;
  return ok(n.value);
}

/** The same syntax for options used as booleans: anything "not unset" is stored as true. */
function parseRuntimeBoolean(value: string | true): OptionParseResult {
  const r = parseRuntimeInteger(value);
  return r.ok && r.value !== undefined ? ok(true) : r;
}

/** dt_opt_cflags & co: a compiler flag that takes no value. */
function parseFlag(value: string | true): OptionParseResult {
  return value === true ? ok(true) : BAD_VALUE;
}

/** droptags, lazyload, linknommap: any value (even none) turns them on. */
function parseAnyFlag(): OptionParseResult {
  return ok(true);
}

/** An option whose value is a required string (paths, cpp arguments). */
function parseString(value: string | true): OptionParseResult {
  return value === true ? BAD_VALUE : ok(value);
}

function keywordParser(choices: readonly string[], caseInsensitive = false): (value: string | true) => OptionParseResult {
  return (value) => {
    if (value === true) return BAD_VALUE;
    const key = caseInsensitive ? value.toLowerCase() : value;
    return choices.includes(key) ? ok(key) : BAD_VALUE;
  };
}

/** An atoi()-parsed integer that must satisfy `valid`. */
function atoiParser(valid: (n: number) => boolean): (value: string | true) => OptionParseResult {
  return (value) => {
    if (value === true) return BAD_VALUE;
    const n = cAtoi(value);
    return valid(n) ? ok(BigInt(n)) : BAD_VALUE;
  };
}

function roundUp8(n: bigint): bigint {
  return (n + 7n) & ~7n;
}

/** strsize: a size of at least 2 (room for one character and the NUL). */
function parseStrsize(value: string | true): OptionParseResult {
  const r = parseSize(value);
  if (!r.ok || typeof r.value !== 'bigint') return r;
  if (r.value < 2n) return BAD_VALUE;
  if (r.value > 0xffff_ffffn) return { ok: false, error: 'Value too large for defined data type' };
  return r;
}

/** scratchsize: stored with DTrace's 8-byte header included, rounded up to 8. */
function parseScratchsize(value: string | true): OptionParseResult {
  const r = parseSize(value);
  if (!r.ok || typeof r.value !== 'bigint') return r;
  return ok(r.value > 0n ? roundUp8(r.value + 8n) : r.value);
}

/** pcapsize / printsize: out-of-range values fall back to the default; rounded up to 8. */
function clampedSizeParser(defaultBytes: bigint, maxBytes: bigint): (value: string | true) => OptionParseResult {
  return (value) => {
    if (value === true) return ok(roundUp8(defaultBytes));
    const r = parseSize(value);
    if (!r.ok || typeof r.value !== 'bigint') return r;
    const bytes = r.value <= 0n || r.value > maxBytes ? defaultBytes : r.value;
    return ok(roundUp8(bytes));
  };
}

/** lockmem: `unlimited` or a size; libdtrace ignores a malformed size (keeps the old value). */
function parseLockmem(value: string | true): OptionParseResult {
  if (value === true) return BAD_VALUE;
  if (value === 'unlimited') return ok('unlimited');
  const bytes = parseSizeText(value);
  return bytes === undefined ? { ok: true, value: undefined, unchanged: true } : ok(bytes);
}

/** preallocate: a size that must be given. */
function parsePreallocate(value: string | true): OptionParseResult {
  return value === true ? BAD_VALUE : parseSize(value);
}

const STABILITY_NAMES = ['internal', 'private', 'obsolete', 'external', 'unstable', 'evolving', 'stable', 'standard'];
const CLASS_NAMES = ['unknown', 'cpu', 'platform', 'group', 'isa', 'common'];

/** amin: `name[/data[/class]]` stability attributes (dtrace_str2attr). */
function parseAttributes(value: string | true): OptionParseResult {
  if (value === true) return BAD_VALUE;
  const parts = value.split('/').filter((p) => p !== '');
  const tables = [STABILITY_NAMES, STABILITY_NAMES, CLASS_NAMES];
  for (let i = 0; i < parts.length && i < 3; i++) {
    if (!tables[i]!.includes(parts[i]!.toLowerCase())) return BAD_VALUE;
  }
  return ok(value);
}

/** D versions the compiler knows (Oracle's _dtrace_versions), as [major, minor, micro]. */
const DEFINED_VERSIONS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0], [1, 1, 0], [1, 2, 0], [1, 2, 1], [1, 2, 2], [1, 3, 0], [1, 4, 0], [1, 4, 1], [1, 5, 0],
  [1, 6, 0], [1, 6, 1], [1, 6, 2], [1, 6, 3], [1, 6, 4], [2, 0, 0],
];

/** dt_version_str2num: `major.minor[.micro]`, bounded by 255/4095/4095; as a sortable number. */
function versionNumber(text: string): number | undefined {
  const fields = [0, 0, 0];
  let index = 0;
  for (const c of text) {
    if (c >= '0' && c <= '9') fields[index] = fields[index]! * 10 + (c.charCodeAt(0) - 48);
    else if (c !== '.' || index++ >= 2) return undefined;
  }
  if (fields[0]! > 0xff || fields[1]! > 0xfff || fields[2]! > 0xfff) return undefined;
  return (fields[0]! << 24) | (fields[1]! << 12) | fields[2]!;
}

function versionText(versionNum: number): string {
  const major = versionNum >>> 24;
  const minor = (versionNum >>> 12) & 0xfff;
  const micro = versionNum & 0xfff;
  return micro === 0 ? `${major}.${minor}` : `${major}.${minor}.${micro}`;
}

function parseVersion(value: string | true): OptionParseResult {
  if (value === true) return BAD_VALUE;
  const v = versionNumber(value);
  if (v === undefined) return { ok: false, error: 'Version is not properly formatted or is too large' };
  const defined = DEFINED_VERSIONS.some(([a, b, c]) => ((a << 24) | (b << 12) | c) === v);
  if (!defined) return { ok: false, error: 'Requested version is not supported by compiler' };
  return ok(versionText(v));
}

/** iregs: DTrace only accepts the full register count (8). */
function parseIregs(value: string | true): OptionParseResult {
  if (value === true) return BAD_VALUE;
  const n = cAtoi(value);
  if (n <= 0 || n > 8) return BAD_VALUE;
  if (n < 8) return { ok: false, error: 'Insufficient registers to generate code' };
  return ok(BigInt(n));
}

// ─────────────────────────────── the table ───────────────────────────────

type DefSpec = Omit<OptionDef, 'name' | 'kind'>;

const size: DefSpec = { valueType: 'size', parse: parseSize };
const time: DefSpec = { valueType: 'time', parse: parseTime };
const integer: DefSpec = { valueType: 'integer', parse: parseRuntimeInteger };
const boolean: DefSpec = { valueType: 'boolean', parse: parseRuntimeBoolean };
const flag: DefSpec = { valueType: 'flag', parse: parseFlag };
const anyflag: DefSpec = { valueType: 'anyflag', parse: parseAnyFlag };
const string: DefSpec = { valueType: 'string', parse: parseString };
const beforeCompile = { notInProgram: true } as const;

/** Reads the kernel's stack-depth limit, the default and ceiling for stack depths. */
function kernelMaxStackFrames(): bigint {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/kernel/perf_event_max_stack', 'latin1').trim(), 10);
    return Number.isFinite(n) && n > 0 ? BigInt(n) : 127n;
  } catch {
    return 127n;
  }
}

// Order matters: DTrace searches compile-time, then dynamic, then runtime options, and the
// environment is applied in that order too.
const COMPILE_OPTIONS: Record<string, DefSpec> = {
  aggpercpu: flag,
  amin: { valueType: 'special', parse: parseAttributes },
  argref: flag,
  core: flag,
  cpp: flag,
  cppargs: { ...string, ...beforeCompile, accumulates: true },
  cpphdrs: { ...flag, ...beforeCompile },
  cpppath: { ...string, ...beforeCompile },
  ctypes: string,
  ctfpath: { ...string, ...beforeCompile },
  defaultargs: flag,
  debug: flag,
  debugassert: { valueType: 'keyword', parse: keywordParser(['mutexes']) },
  define: { ...string, ...beforeCompile, accumulates: true },
  disasm: { valueType: 'integer', parse: atoiParser((n) => n >= 0) },
  droptags: anyflag,
  dtypes: string,
  empty: flag,
  errtags: flag,
  evaltime: { valueType: 'keyword', parse: keywordParser(['exec', 'preinit', 'postinit', 'main']) },
  incdir: { ...string, ...beforeCompile, accumulates: true },
  iregs: { valueType: 'integer', parse: parseIregs },
  kdefs: { ...flag, clears: 'knodefs' },
  knodefs: { ...flag, clears: 'kdefs' },
  late: { valueType: 'keyword', parse: keywordParser(['dynamic', 'static']) },
  lazyload: anyflag,
  ldpath: { ...string, ...beforeCompile },
  libdir: { ...string, accumulates: true },
  linkmode: { valueType: 'keyword', parse: keywordParser(['kernel', 'dynamic', 'static']) },
  linktype: { valueType: 'keyword', parse: keywordParser(['elf', 'dof'], /*caseInsensitive*/ true) },
  linknommap: anyflag,
  modpath: { ...string, ...beforeCompile },
  nolibs: flag,
  pgmax: { valueType: 'integer', parse: atoiParser((n) => n >= 0) },
  preallocate: { valueType: 'size', parse: parsePreallocate },
  procfspath: { ...string, ...beforeCompile },
  pspec: flag,
  stdc: { valueType: 'keyword', parse: keywordParser(['a', 'c', 's', 't']), ...beforeCompile },
  strip: flag,
  syslibdir: string,
  sysslice: { valueType: 'string', parse: (v) => (v === true ? BAD_VALUE : ok(`:/${v}/`)) },
  tree: { valueType: 'integer', parse: atoiParser((n) => n > 0) },
  tregs: { valueType: 'integer', parse: atoiParser((n) => n > 0) },
  udefs: { ...flag, clears: 'unodefs' },
  undef: { ...string, ...beforeCompile, accumulates: true },
  unodefs: { ...flag, clears: 'udefs' },
  useruid: { valueType: 'integer', parse: atoiParser((n) => n >= 0) },
  verbose: flag,
  version: { valueType: 'special', parse: parseVersion },
  zdefs: flag,
};

const DYNAMIC_OPTIONS: Record<string, DefSpec> = {
  aggrate: { ...time, default: 0n },
  aggsortkey: boolean,
  aggsortkeypos: integer,
  aggsortpos: integer,
  aggsortrev: boolean,
  flowindent: boolean,
  quiet: boolean,
  quietresize: boolean,
  rawbytes: boolean,
  stackindent: { ...integer, default: 14n },
  switchrate: { ...time, default: 1_000_000_000n },
  printsize: { valueType: 'size', parse: clampedSizeParser(8192n, 65536n), default: 8192n },
};

const RUNTIME_OPTIONS: Record<string, DefSpec> = {
  aggsize: { ...size, default: 4n << 20n },
  bpflog: boolean,
  bpflogsize: size,
  bufsize: { ...size, default: 4n << 20n },
  bufpolicy: { valueType: 'keyword', parse: keywordParser(['ring', 'fill', 'switch']) },
  bufresize: { valueType: 'keyword', parse: keywordParser(['auto', 'manual']) },
  cleanrate: time,
  cpu: integer,
  destructive: boolean,
  dynvarsize: { ...size, default: 1n << 20n },
  grabanon: boolean,
  jstackframes: integer,
  jstackstrsize: size,
  lockmem: { valueType: 'size', parse: parseLockmem, default: 'unlimited' },
  maxframes: integer,
  nspec: { ...integer, default: 1n },
  pcapsize: { valueType: 'size', parse: clampedSizeParser(1514n, 65535n), default: 1514n },
  scratchsize: { valueType: 'size', parse: parseScratchsize, default: 256n + 8n },
  specsize: { ...size, default: 4n << 20n },
  stackframes: { ...integer, default: 20n },
  statusrate: { ...time, default: 1_000_000_000n },
  strsize: { valueType: 'size', parse: parseStrsize, default: 256n },
  ustackframes: { ...integer, default: 100n },
  noresolve: boolean,
  // dtrace-ts's structured output and exporters (README: "Structured output"): FreeBSD's
  // oformat, a flame graph written at exit, an OpenMetrics endpoint while tracing.
  oformat: { valueType: 'keyword', parse: keywordParser(['text', 'json', 'folded']) },
  flamegraph: string,
  metrics: string,
  metricsseries: { ...integer, default: 1000n },
};

function buildTable(): Map<string, OptionDef> {
  const table = new Map<string, OptionDef>();
  const add = (kind: OptionKind, specs: Record<string, DefSpec>) => {
    for (const [name, spec] of Object.entries(specs)) table.set(name, { name, kind, ...spec });
  };
  add('compile', COMPILE_OPTIONS);
  add('dynamic', DYNAMIC_OPTIONS);
  add('runtime', RUNTIME_OPTIONS);
  return table;
}

/** The option table: every option of the spec with its kind and value parser. */
export const OPTIONS: ReadonlyMap<string, OptionDef> = buildTable();

/**
 * The options every dtrace run starts with: the library defaults plus the bufsize/aggsize
 * that dtrace(8) sets. `maxframes` comes from /proc/sys/kernel/perf_event_max_stack and caps
 * `stackframes`/`ustackframes`. `scratchsize` includes DTrace's 8-byte header (256 + 8).
 */
export function defaultOptions(): OptionValues {
  const store: OptionValues = new Map();
  for (const def of OPTIONS.values()) if (def.default !== undefined) store.set(def.name, def.default);
  const maxFrames = kernelMaxStackFrames();
  store.set('maxframes', maxFrames);
  for (const name of ['stackframes', 'ustackframes']) {
    const v = store.get(name);
    if (typeof v === 'bigint' && v > maxFrames) store.set(name, maxFrames);
  }
  return store;
}

/**
 * Validates and stores an option — the one entry point for -x, #pragma D option, setopt()
 * and DTRACE_OPT_*. `value` is `true` for a bare name. Unknown names (case-sensitive) fail
 * with `Invalid option name`.
 */
export function setOption(
  store: OptionValues,
  name: string,
  value: string | true,
  context: SetOptionContext = {},
): SetOptionResult {
  const fail = (reason: OptionError): Extract<SetOptionResult, { ok: false }> => ({ ok: false, reason, message: `failed to set -x ${name}: ${reason}` });
  const def = OPTIONS.get(name);
  if (def === undefined) {
    const hint = didYouMean(name, OPTIONS.keys());
    return hint === undefined ? fail('Invalid option name') : { ...fail('Invalid option name'), hint };
  }
  if (def.kind === 'runtime' && context.tracingActive) return fail('Operation illegal when tracing is active');
  const parsed = def.parse(value);
  // FreeBSD's dtrace(1) also writes XML and HTML (libxo); here only its JSON shape exists.
  if (!parsed.ok && name === 'oformat' && (value === 'xml' || value === 'html')) return { ...fail(parsed.error), hint: `-x oformat=${value} is not implemented: use json (FreeBSD's JSON shape), folded or text` };
  if (!parsed.ok) return fail(parsed.error);
  if (def.notInProgram && context.inProgram) return fail('Option cannot be used from within a D program');
  if (parsed.unchanged) return { ok: true };
  if (name === 'version' && typeof parsed.value === 'string') {
    // dt_reduce: the version can only be lowered, never raised again.
    const current = versionNumber(String(store.get('version') ?? '2.0'))!;
    if (versionNumber(parsed.value)! > current) return fail('Requested version conflicts with earlier setting');
  }
  if (parsed.value === undefined) store.delete(name);
  else store.set(name, parsed.value);
  if (def.clears !== undefined) store.delete(def.clears);
  return { ok: true };
}

/** True when a boolean-like option is set (present and not unset). */
export function isOptionSet(store: OptionValues, name: string): boolean {
  return store.has(name);
}

/** A numeric option's value, or undefined when unset or not numeric. */
export function optionNumber(store: OptionValues, name: string): bigint | undefined {
  const v = store.get(name);
  return typeof v === 'bigint' ? v : undefined;
}

/** The D compiler's message for a failed `#pragma D option` (tag D_PRAGMA_OPTSET). */
export function pragmaOptionMessage(name: string, value: string | true, reason: OptionError): string {
  return value === true ? `failed to set option '${name}': ${reason}` : `failed to set option '${name}' to '${value}': ${reason}`;
}

/**
 * setopt() while tracing (dt_setopt in the consumer): a missing value means "1". Returns the
 * text DTrace prints after the fault prefix when the option cannot be set, else undefined.
 */
export function applySetopt(store: OptionValues, name: string, value: string | undefined): string | undefined {
  const v = value ?? '1';
  const r = setOption(store, name, v, { inProgram: true, tracingActive: true });
  return r.ok ? undefined : `couldn't set option "${name}" to "${v}": ${r.reason}`;
}

/** Applies DTRACE_OPT_<NAME> variables (upper-case name) in table order; errors are ignored. */
export function applyEnvironmentOptions(store: OptionValues, env: NodeJS.ProcessEnv): void {
  for (const name of OPTIONS.keys()) {
    const value = env[`DTRACE_OPT_${name.toUpperCase()}`];
    if (value !== undefined) setOption(store, name, value);
  }
}

// ───────────────────────────── command line ─────────────────────────────

/** The getopt option string (without the leading '+': we always stop at operands). */
const OPTSTRING = '3:6:aAb:Bc:CD:ef:FGhHi:I:lL:m:n:o:p:P:qs:SU:vVwx:X:Z';

type CommandWord =
  | { kind: 'option'; letter: string; arg?: string }
  | { kind: 'operand'; text: string };

function takesArgument(letter: string): boolean | undefined {
  const at = OPTSTRING.indexOf(letter);
  if (at < 0 || letter === ':') return undefined;
  return OPTSTRING[at + 1] === ':';
}

/**
 * Splits argv the way dtrace's loops around getopt(3) see it: options in clusters, option
 * arguments attached or in the next word, operands anywhere, `--` making the next word an
 * operand. The first pass's own checks (-32/-64) are made here, in order.
 */
function scanWords(argv: readonly string[], programName: string): CommandWord[] | string {
  const words: CommandWord[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      if (i + 1 < argv.length) words.push({ kind: 'operand', text: argv[++i]! });
      continue;
    }
    if (!word.startsWith('-') || word === '-') {
      words.push({ kind: 'operand', text: word });
      continue;
    }
    for (let j = 1; j < word.length; j++) {
      const letter = word[j]!;
      const needsArg = takesArgument(letter);
      if (needsArg === undefined) return invalidOptionMessage(programName, letter) + usageText(programName);
      if (!needsArg) {
        words.push({ kind: 'option', letter });
        continue;
      }
      let arg: string;
      if (j + 1 < word.length) arg = word.slice(j + 1);
      else if (i + 1 < argv.length) arg = argv[++i]!;
      else return missingArgumentMessage(programName, letter) + usageText(programName);
      if ((letter === '3' && arg !== '2') || (letter === '6' && arg !== '4')) {
        return illegalDataModelMessage(programName, letter + arg) + usageText(programName);
      }
      words.push({ kind: 'option', letter, arg });
      break;
    }
  }
  return words;
}

/** strtol(text, &end, 10) as `-p` uses it: the whole word must be a decimal number. */
function parsePid(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(text);
  if (!m) return undefined;
  const n = BigInt(m[1]!);
  if (n > 0x7fff_ffff_ffff_ffffn || n < -0x8000_0000_0000_0000n) return undefined;
  return Number(n);
}

const SPECIFIER_FLAGS = new Set(['n', 'P', 'm', 'f', 'i']);

/**
 * Parses the dtrace command line. `argv` holds the arguments after the program name
 * (`process.argv.slice(2)`); `env` supplies DTRACE_OPT_* and _DTRACE_TESTING.
 */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv, programName = 'dtrace'): ParseResult {
  const usageError = (message: string): ParseResult => ({ ok: false, status: 2, message });
  const fatal = (message: string): Extract<ParseResult, { ok: false }> => ({ ok: false, status: 1, message: `${programName}: ${message}\n` });

  if (argv.length === 0) return usageError(usageText(programName));
  const scanned = scanWords(argv, programName);
  if (typeof scanned === 'string') return usageError(scanned);
  const words = scanned;
  const options = words.filter((w): w is Extract<CommandWord, { kind: 'option' }> => w.kind === 'option');
  const operands = words.filter((w): w is Extract<CommandWord, { kind: 'operand' }> => w.kind === 'operand').map((w) => w.text);

  // First pass: modes and flags that shape everything else.
  let mode: CliMode = 'exec';
  let modeCount = 0;
  let exitAfterCompile = false;
  let verbose = false;
  let verboseLevel = 0;
  let dataModel: 'ilp32' | 'lp64' = 'lp64';
  let zdefs = false;
  for (const o of options) {
    switch (o.letter) {
      case '3': dataModel = 'ilp32'; break;
      case '6': dataModel = 'lp64'; break;
      case 'e': exitAfterCompile = true; break;
      case 'h': mode = 'header'; zdefs = true; modeCount++; break;
      case 'G': mode = 'elf'; zdefs = true; modeCount++; break;
      case 'l': mode = 'list'; zdefs = true; modeCount++; break;
      case 'V': mode = 'version'; modeCount++; break;
      case 'v': verbose = true; verboseLevel++; break;
    }
  }
  if (modeCount > 1) {
    return usageError(`${programName}: only one of the [-GhlV] options can be specified at a time\n`);
  }
  if (mode === 'exec' && exitAfterCompile) mode = 'compile';

  const cli: CliOptions = {
    programName,
    programs: [],
    options: new Map(),
    optionValues: defaultOptions(),
    macroArgs: mode === 'elf' ? [] : operands,
    objectFiles: mode === 'elf' ? operands : [],
    commands: [],
    grabPids: [],
    cppDefines: [],
    cppUndefs: [],
    cppIncludes: [],
    libDirs: [],
    cppArgs: [],
    mode,
    exitAfterCompile,
    listVerbose: mode === 'list' && verbose,
    showBpf: false,
    verbose,
    verboseLevel,
    dataModel,
    bufferedDebug: false,
    zdefs,
    testing: env._DTRACE_TESTING !== undefined,
    requiresRoot: mode === 'exec' || mode === 'compile' || mode === 'list',
  };
  // -V prints the version before any option is looked at.
  if (mode === 'version') return { ok: true, cli };

  const store = cli.optionValues;
  applyEnvironmentOptions(store, env);
  if (mode === 'elf') {
    setOption(store, 'linkmode', 'dynamic');
    setOption(store, 'unodefs', true);
  }

  // Second pass, in command-line order: options and program specifiers.
  const record = (name: string, value: string | true) => {
    if (!cli.options.has(name)) cli.options.set(name, value);
    const list = listFor(cli, name);
    if (list !== undefined && value !== true) list.push(value);
  };
  /** Sets an option from a flag; on failure returns DTrace's `failed to set -F`-style text. */
  const setFromFlag = (name: string, value: string | true, shown: string): ParseResult | undefined => {
    const r = setOption(store, name, value);
    if (!r.ok) return r.hint === undefined ? fatal(`failed to set ${shown}: ${r.reason}`) : { ...fatal(`failed to set ${shown}: ${r.reason}`), hint: r.hint };
    record(name, value);
    return undefined;
  };
  for (const o of options) {
    let failure: ParseResult | undefined;
    const arg = o.arg ?? '';
    switch (o.letter) {
      case 'b': failure = setFromFlag('bufsize', arg, `-b ${arg}`); break;
      case 'B': cli.bufferedDebug = true; break;
      case 'C': failure = setFromFlag('cpp', true, '-C'); break;
      case 'D': failure = setFromFlag('define', arg, `-D ${arg}`); break;
      case 'F': failure = setFromFlag('flowindent', true, '-F'); break;
      case 'H': failure = setFromFlag('cpphdrs', true, '-H'); break;
      case 'I': failure = setFromFlag('incdir', arg, `-I ${arg}`); break;
      case 'L': failure = setFromFlag('libdir', arg, `-L ${arg}`); break;
      case 'q': failure = setFromFlag('quiet', true, '-q'); break;
      case 'o': cli.outputFile = arg; break;
      case 's': cli.programs.push({ kind: 'file', path: arg }); break;
      case 'S': failure = setFromFlag('verbose', true, '-S'); break;
      case 'U': failure = setFromFlag('undef', arg, `-U ${arg}`); break;
      case 'w': failure = setFromFlag('destructive', true, '-w'); break;
      case 'x': {
        const eq = arg.indexOf('=');
        const name = eq < 0 ? arg : arg.slice(0, eq);
        const value = eq < 0 ? true : arg.slice(eq + 1);
        failure = setFromFlag(name, value, `-x ${name}`);
        break;
      }
      case 'X': failure = setFromFlag('stdc', arg, `-X ${arg}`); break;
      case 'Z': failure = setFromFlag('zdefs', true, '-Z'); break;
      default:
        if (SPECIFIER_FLAGS.has(o.letter)) {
          cli.programs.push({ kind: 'description', flag: o.letter as 'n' | 'P' | 'm' | 'f' | 'i', text: arg });
        }
    }
    if (failure !== undefined) return failure;
  }

  if (cli.bufferedDebug && mode !== 'exec' && mode !== 'compile') {
    return usageError(`${programName}: -B not valid in combination with [-Gl] options\n`);
  }
  if (cli.bufferedDebug && cli.outputFile !== undefined) {
    return usageError(`${programName}: -B not valid in combination with -o option\n`);
  }
  if (cli.testing) setOption(store, 'quietresize', true);

  // Third pass: processes to create or grab.
  for (const o of options) {
    if (o.letter === 'c') cli.commands.push(o.arg!);
    if (o.letter === 'p') {
      const pid = parsePid(o.arg!);
      if (pid === undefined) return fatal(`invalid pid: ${o.arg}`);
      cli.grabPids.push(pid);
    }
  }

  cli.showBpf = store.has('verbose');
  cli.zdefs = cli.zdefs || store.has('zdefs');
  return { ok: true, cli };
}

/** The CliOptions list an accumulating option's values also go to, if any. */
function listFor(cli: CliOptions, name: string): string[] | undefined {
  switch (name) {
    case 'define': return cli.cppDefines;
    case 'undef': return cli.cppUndefs;
    case 'incdir': return cli.cppIncludes;
    case 'libdir': return cli.libDirs;
    case 'cppargs': return cli.cppArgs;
    default: return undefined;
  }
}

/**
 * Where `-h` writes the header (options-and-cli.md §5): `-o`, else the single script's
 * basename with `.d` replaced by `.h`. Usage errors (status 2) otherwise.
 */
export function headerOutputPath(cli: CliOptions): { ok: true; path: string } | { ok: false; status: 2; message: string } {
  const p = cli.programName;
  if (cli.programs.length === 0) return { ok: false, status: 2, message: `${p}: -h requires one or more scripts or enabling options\n` };
  if (cli.outputFile !== undefined) return { ok: true, path: cli.outputFile };
  if (cli.programs.length > 1) {
    return { ok: false, status: 2, message: `${p}: -h requires an output file if multiple scripts are specified\n` };
  }
  const first = cli.programs[0]!;
  const text = first.kind === 'file' ? first.path : first.text;
  const dot = text.lastIndexOf('.');
  if (dot < 0 || text.slice(dot) !== '.d') {
    return { ok: false, status: 2, message: `${p}: -h requires an output file if no scripts are specified\n` };
  }
  const stem = text.slice(0, dot);
  return { ok: true, path: `${stem.slice(stem.lastIndexOf('/') + 1)}.h` };
}
