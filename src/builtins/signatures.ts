/**
 * @fileoverview One table entry per D action, subroutine and aggregating function
 * (spec/actions-and-subroutines.md). The checker reads the prototype to check argument counts
 * and types (D_PROTO_LEN / D_PROTO_ARG, with DTrace's wording); code generation and the
 * consumer read the flags. Prototypes use DTrace's own notation: `@` is "any type", `...`
 * variadic, `[T]` an optional parameter, and an empty list means no arguments.
 */

export type BuiltinKind = 'action' | 'subroutine' | 'aggregation';

export interface BuiltinParam {
  /** A D type name (`const char *`, `vmlinux`struct mutex *`), or `@` for any type. */
  type: string;
  optional: boolean;
}

export interface BuiltinFunction {
  name: string;
  kind: BuiltinKind;
  /** The prototype as DTrace writes it, e.g. `string(const char *, int, [int])`. */
  prototype: string;
  /** Return type name (`void`, `string`, `stack`, `_symaddr`, …). */
  returns: string;
  params: BuiltinParam[];
  /** Index of the `...` parameter (the minimum argument count), or undefined. */
  variadicFrom?: number;
  /** Needs -w / `#pragma D option destructive`. */
  destructive: boolean;
  /** Records data into the principal (or speculative) buffer: makes the clause print a line. */
  recordsData: boolean;
  /** False for names the grammar accepts but Oracle 2.0 does not implement. */
  implemented: boolean;
  /** Why the function is limited on Linux, when it is. */
  note?: string;
}

function parseProto(prototype: string): Pick<BuiltinFunction, 'returns' | 'params' | 'variadicFrom'> {
  const open = prototype.indexOf('(');
  const returns = prototype.slice(0, open).trim();
  const inner = prototype.slice(open + 1, prototype.lastIndexOf(')')).trim();
  const params: BuiltinParam[] = [];
  let variadicFrom: number | undefined;
  if (inner !== '') {
    for (const raw of inner.split(',')) {
      const p = raw.trim();
      if (p === '...') { variadicFrom = params.length; continue; }
      if (p.startsWith('[') && p.endsWith(']')) params.push({ type: p.slice(1, -1).trim(), optional: true });
      else params.push({ type: p, optional: false });
    }
  }
  return { returns, params, variadicFrom };
}

type Flags = { destructive?: boolean; records?: boolean; implemented?: boolean; note?: string };

function entry(name: string, kind: BuiltinKind, prototype: string, flags: Flags = {}): BuiltinFunction {
  return {
    name, kind, prototype, ...parseProto(prototype),
    destructive: !!flags.destructive,
    recordsData: flags.records ?? kind === 'action',
    implemented: flags.implemented ?? true,
    ...(flags.note ? { note: flags.note } : {}),
  };
}

const A = (n: string, p: string, f?: Flags) => entry(n, 'action', p, f);
const S = (n: string, p: string, f?: Flags) => entry(n, 'subroutine', p, f);
const G = (n: string, p: string, f?: Flags) => entry(n, 'aggregation', p, f);
/** Entries made by `make` for several names that share one prototype (and flags), in order. */
const each = (make: typeof A, names: string[], p: string, f?: Flags) => names.map((n) => make(n, p, f));

/** The subroutines that write user memory. */
const WRITES_USER: Flags = { destructive: true, note: 'needs bpf_probe_write_user, which this kernel lacks (and lockdown forbids)' };

/** Every builtin function of D, keyed by name. */
export const BUILTIN_FUNCTIONS: ReadonlyMap<string, BuiltinFunction> = new Map([
  // Recording actions
  A('trace', 'void(@)'),
  A('tracemem', 'void(@, size_t, [size_t])'),
  A('printf', 'void(string, ...)'),
  A('printa', 'void(@, ...)'),
  A('print', 'void(void *)'),
  A('stack', 'stack([uint32_t])'),
  ...each(A, ['ustack', 'jstack'], 'stack([uint32_t], [uint32_t])'),
  ...each(A, ['sym', 'func', 'mod'], '_symaddr(uintptr_t)'),
  ...each(A, ['usym', 'ufunc', 'umod', 'uaddr'], '_usymaddr(uintptr_t)'),
  A('exit', 'void(int)'),
  A('setopt', 'void(const char *, [const char *])'),
  ...each(A, ['system', 'freopen'], 'void(@, ...)', { destructive: true }),
  A('ftruncate', 'void()'),
  A('raise', 'void(int)', { destructive: true }),
  A('stop', 'void()', { destructive: true }),
  A('chill', 'void(int)', { destructive: true }),
  ...each(A, ['breakpoint', 'panic'], 'void()', { destructive: true, implemented: false }),
  A('pcap', 'void(void *, int)'),
  // Speculation: speculate/commit/discard are actions that record nothing themselves.
  ...each(A, ['speculate', 'commit', 'discard'], 'void(int)', { records: false }),
  // Aggregation maintenance (act when the record is consumed)
  A('clear', 'void(@)'),
  A('trunc', 'void(@, [int64_t])'),
  A('normalize', 'void(@, uint64_t)'),
  A('denormalize', 'void(@)'),
  // Destructive subroutines
  S('copyout', 'void(void *, uintptr_t, size_t)', WRITES_USER),
  S('copyoutstr', 'void(char *, uintptr_t, size_t)', WRITES_USER),
  // Subroutines
  S('speculation', 'int()'),
  S('alloca', 'void *(size_t)'),
  S('bcopy', 'void(void *, void *, size_t)'),
  S('copyin', 'void *(uintptr_t, size_t)'),
  S('copyinstr', 'string(uintptr_t, [size_t])'),
  // The D library's psinfo_t translator: a process's argument area (NUL-separated) as one line.
  S('__psargs', 'string(uintptr_t, size_t)'),
  S('copyinto', 'void(uintptr_t, size_t, void *)'),
  S('strlen', 'size_t(const char *)'),
  S('strjoin', 'string(const char *, const char *)'),
  S('substr', 'string(const char *, int, [int])'),
  ...each(S, ['index', 'rindex'], 'int(const char *, const char *, [int])'),
  ...each(S, ['strchr', 'strrchr'], 'string(const char *, char)'),
  ...each(S, ['strstr', 'strtok'], 'string(const char *, const char *)'),
  S('lltostr', 'string(int64_t)'),
  ...each(S, ['toupper', 'tolower'], 'string(const char *)', { implemented: false, note: 'illumos only' }),
  ...each(S, ['basename', 'dirname', 'cleanpath'], 'string(const char *)'),
  S('d_path', 'string(struct path *)'),
  S('htons', 'uint16_t(uint16_t)'),
  S('htonl', 'uint32_t(uint32_t)'),
  S('htonll', 'uint64_t(uint64_t)'),
  S('ntohs', 'uint16_t(uint16_t)'),
  S('ntohl', 'uint32_t(uint32_t)'),
  S('ntohll', 'uint64_t(uint64_t)'),
  S('inet_ntoa', 'string(ipaddr_t *)'),
  S('inet_ntoa6', 'string(struct in6_addr *, [int])'),
  S('inet_ntop', 'string(int, void *)'),
  S('link_ntop', 'string(int, void *)'),
  S('rand', 'int()'),
  S('progenyof', 'int(pid_t)'),
  ...each(S, ['getmajor', 'getminor'], 'vmlinux`dev_t(vmlinux`dev_t)'),
  S('mutex_owned', 'int(vmlinux`struct mutex *)'),
  S('mutex_owner', 'vmlinux`struct task_struct *(vmlinux`struct mutex *)'),
  ...each(S, ['mutex_type_adaptive', 'mutex_type_spin'], 'int(vmlinux`struct mutex *)'),
  ...each(S, ['rw_read_held', 'rw_write_held', 'rw_iswriter'], 'int(vmlinux`rwlock_t *)'),
  S('ddi_pathname', 'string(void *, int64_t)', { implemented: false, note: 'Solaris only' }),
  ...each(S, ['msgsize', 'msgdsize'], 'size_t(mblk_t *)', { implemented: false, note: 'Solaris only' }),
  // Aggregating functions
  G('count', 'void()'),
  ...each(G, ['sum', 'avg', 'min', 'max', 'stddev'], 'void(@)'),
  G('quantize', 'void(@, ...)'),
  G('lquantize', 'void(@, int32_t, int32_t, ...)'),
  G('llquantize', 'void(@, int32_t, int32_t, int32_t, int32_t, ...)'),
].map((f) => [f.name, f]));

export function lookupBuiltinFunction(name: string): BuiltinFunction | undefined {
  return BUILTIN_FUNCTIONS.get(name);
}
