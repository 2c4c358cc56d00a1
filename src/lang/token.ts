/**
 * @fileoverview Tokens of the D lexer (lexer.ts) and the keyword tables of its two scopes.
 * A token is plain data: kind, source offsets and, for literals, the decoded value. Lexical
 * errors ride on the token (`problem`) so the lexer stays a pure function of (offset, mode):
 * the parser may re-lex the same offset in another mode and reports a problem only once,
 * when it consumes the token.
 */

/**
 * - `ident`: identifier (may contain the backquote scoping operator: `` `max_pfn ``, `` vmlinux`x ``)
 * - `keyword`: a reserved word of the current scope (`text` is the word)
 * - `int`: integer or character constant (`value`); `char` marks the latter
 * - `string`: string constant, escapes resolved (`value`)
 * - `agg`: `@name` or `@` (`name` is '' for the anonymous aggregation)
 * - `macro`: an unsubstituted `$1`, `$$1`, `$target`, … (`name`, `stringForm`)
 * - `pspec`: a probe description word of the outer scope (`syscall::read*:entry`)
 * - `punct`: operator or punctuator (`text`); a `/` that closes a predicate has `closesPredicate`
 * - `eof`, and `error` for input the lexer could not make a token of (see `problem`).
 */
import type { ErrTag } from '../diag/tags.js';

export type TokenKind =
  | 'ident' | 'keyword' | 'int' | 'char' | 'string' | 'agg' | 'macro' | 'pspec' | 'punct' | 'eof' | 'error';

export interface LexProblem {
  tag: ErrTag;
  message: string;
  /** Where the problem is, when narrower than the token. */
  start?: number;
  end?: number;
  /** Where DTrace's lexer stood when it noticed, when that is not `start` (see Span.lineAt). */
  lineAt?: number;
}

export interface Token {
  kind: TokenKind;
  /** The source text of the token (what `syntax error near "…"` quotes). */
  text: string;
  start: number;
  end: number;
  /** `int`/`char`: the value reduced to 64 bits. */
  intValue?: bigint;
  /** `int`: suffix letters lower-cased; base 8, 10 or 16. */
  suffix?: string;
  base?: 8 | 10 | 16;
  /** `string`: the decoded text. */
  stringValue?: string;
  /** `agg`: name without `@`; `macro`: name without `$`/`$$`. */
  name?: string;
  /** `macro`: written `$$…`. */
  stringForm?: boolean;
  /** `punct` `/`: the next non-blank character is EOF, `;`, `{` or `/` (DTrace's DT_TOK_EPRED rule). */
  closesPredicate?: boolean;
  /** `punct` `/`: offset of the next non-blank character (where DTrace's lookahead stopped). */
  lookaheadEnd?: number;
  /** Set when a macro argument was substituted: the token stands for `$N` as written. */
  fromMacro?: boolean;
  /** Expression-scope identifier immediately followed by end of input (DTrace's `end-of-input` quirk). */
  atEndOfInput?: boolean;
  problem?: LexProblem;
}

/** Keywords recognised inside clauses and expressions (spec §2.3). */
export const EXPR_KEYWORDS: ReadonlySet<string> = new Set([
  'auto', 'break', 'case', 'char', 'const', 'continue', 'counter', 'default', 'do', 'double', 'else',
  'enum', 'extern', 'float', 'for', 'goto', 'if', 'import', 'inline', 'int', 'long', 'offsetof',
  'probe', 'provider', 'register', 'restrict', 'return', 'self', 'short', 'signed', 'sizeof',
  'static', 'string', 'stringof', 'struct', 'switch', 'this', 'translator', 'typedef', 'union',
  'unsigned', 'void', 'volatile', 'while', 'xlate',
]);

/** Keywords that start a declaration in the outer scope (spec §2.3); every other word there is a probe description. */
export const OUTER_KEYWORDS: ReadonlySet<string> = new Set([
  'auto', 'char', 'const', 'counter', 'double', 'enum', 'extern', 'float', 'import', 'inline', 'int',
  'long', 'provider', 'register', 'restrict', 'self', 'short', 'signed', 'static', 'string',
  'struct', 'this', 'translator', 'typedef', 'union', 'unsigned', 'void', 'volatile',
]);

/** Words that name a built-in type specifier. */
export const TYPE_KEYWORDS: ReadonlySet<string> = new Set([
  'char', 'short', 'int', 'long', 'float', 'double', 'signed', 'unsigned', 'void', 'string',
]);

export const QUALIFIER_KEYWORDS: ReadonlySet<string> = new Set(['const', 'volatile', 'restrict']);

export const STORAGE_KEYWORDS: ReadonlySet<string> = new Set(['auto', 'register', 'static', 'extern', 'typedef', 'self', 'this']);

/** Operators and punctuators, longest first so the lexer can match greedily. */
export const PUNCTUATORS: readonly string[] = [
  '<<=', '>>=', '...',
  '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '^^',
  '*=', '/=', '%=', '+=', '-=', '&=', '^=', '|=',
  '[', ']', '(', ')', '{', '}', ';', ',', '.', '&', '*', '+', '-', '~', '!', '/', '%', '<', '>',
  '^', '|', '?', ':', '=',
];

/**
 * D's built-in type names (typedefs of the D type container, spec §5.1). The parser treats
 * them as type names in casts and declarations; the checker may add kernel typedefs through
 * the `isTypeName` hook.
 */
export const BUILTIN_TYPEDEFS: ReadonlySet<string> = new Set([
  'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t',
  'intptr_t', 'uintptr_t', 'intmax_t', 'uintmax_t', 'size_t', 'ssize_t', 'ptrdiff_t', 'off_t', 'off64_t',
  'uchar_t', 'ushort_t', 'uint_t', 'ulong_t', 'u_longlong_t', 'longlong_t', 'u_char', 'u_short', 'u_int', 'u_long',
  'id_t', 'pid_t', 'uid_t', 'gid_t', 'processorid_t', 'psetid_t', 'zoneid_t', 'taskid_t', 'projid_t',
  'hrtime_t', 'time_t', 'clock_t', 'caddr_t', 'daddr_t', 'dev_t', 'ino_t', 'mode_t', 'nlink_t',
  'key_t', 'major_t', 'minor_t', 'timer_t', 'useconds_t', 'suseconds_t', 'blkcnt_t', 'fsblkcnt_t',
  'bool', '_Bool', 'wchar_t', 'boolean_t', 'int_t', 'lwpid_t', 'ctid_t', 'dtrace_id_t', 'dtrace_epid_t',
  'psinfo_t', 'lwpsinfo_t', 'cpuinfo_t', 'fileinfo_t', 'bufinfo_t', 'devinfo_t', 'conninfo_t',
  'ipinfo_t', 'ifinfo_t', 'tcpinfo_t', 'tcpsinfo_t', 'tcplsinfo_t', 'pktinfo_t', 'csinfo_t',
  'ipv4info_t', 'ipv6info_t', 'udpinfo_t', 'udpsinfo_t', 'sigset_t', 'siginfo_t', 'ucontext_t',
  'dtrace_timespec_t', 'sched_param_t', 'ipaddr_t', 'in_addr_t', 'in_port_t', 'sa_family_t', 'socklen_t',
]);
