/**
 * @fileoverview Every builtin D variable with its type (spec/d-language.md §6.2). Types are D
 * type names that the checker resolves in its type namespace (so `curthread` becomes the BTF
 * `struct task_struct *` when kernel types are available, and an opaque pointer otherwise).
 * Variables that Oracle defines in its D library as inlines (`curpsinfo`, `cpu`, `cwd`, …) are
 * in lib/*.d instead and are listed here with `library: true` so `-l`-style listings know them.
 */

export interface BuiltinVariable {
  name: string;
  /** A D type name; for `args`/`uregs` the element type (`args` is typed per probe). */
  type: string;
  /** `args[]` and `uregs[]` are indexed with an integer constant. */
  indexed?: boolean;
  /** Defined by the D library (lib/*.d) as an inline, not by the compiler. */
  library?: boolean;
  description: string;
}

const V = (name: string, type: string, description: string, extra: Partial<BuiltinVariable> = {}): BuiltinVariable =>
  ({ name, type, description, ...extra });

export const BUILTIN_VARIABLES: ReadonlyMap<string, BuiltinVariable> = new Map([
  ...Array.from({ length: 10 }, (_, i) => V(`arg${i}`, 'int64_t', `raw probe argument ${i}`)),
  V('args', 'int64_t', 'typed probe arguments (types from the probe)', { indexed: true }),
  V('caller', 'uintptr_t', 'kernel PC of the caller at firing'),
  V('ucaller', 'uint64_t', 'user-space PC of the caller'),
  V('curcpu', 'cpuinfo_t *', 'current CPU information'),
  V('curthread', 'vmlinux`struct task_struct *', 'the current task'),
  V('epid', 'uint_t', 'enabled probe id'),
  V('errno', 'int', 'errno of the syscall returning now'),
  V('execname', 'string', 'name of the current process'),
  V('pid', 'pid_t', 'process id (tgid)'),
  V('ppid', 'pid_t', 'parent process id'),
  V('tid', 'id_t', 'thread id'),
  V('uid', 'uid_t', 'real user id'),
  V('gid', 'gid_t', 'real group id'),
  V('id', 'uint_t', 'probe id'),
  V('ipl', 'uint_t', 'non-zero in interrupt context'),
  V('probeprov', 'string', 'provider of the firing probe'),
  V('probemod', 'string', 'module of the firing probe'),
  V('probefunc', 'string', 'function of the firing probe'),
  V('probename', 'string', 'name of the firing probe'),
  V('stackdepth', 'uint32_t', 'kernel stack depth'),
  V('ustackdepth', 'uint32_t', 'user stack depth'),
  V('timestamp', 'uint64_t', 'monotonic nanoseconds, cached per firing'),
  V('vtimestamp', 'uint64_t', 'per-thread on-CPU nanoseconds'),
  V('walltimestamp', 'int64_t', 'nanoseconds since the Unix epoch'),
  V('uregs', 'uint64_t', 'saved user registers', { indexed: true }),
  // D library inlines (lib/*.d)
  V('curpsinfo', 'psinfo_t *', 'current process information', { library: true }),
  V('curlwpsinfo', 'lwpsinfo_t *', 'current thread information', { library: true }),
  V('cpu', 'processorid_t', 'current CPU id', { library: true }),
  V('cwd', 'string', 'current working directory', { library: true }),
  V('root', 'string', 'root directory of the process', { library: true }),
  V('zonename', 'string', 'zone of the process (Linux: always "global")', { library: true }),
  V('fds', 'fileinfo_t', 'open files of the current process', { library: true, indexed: true }),
].map((v) => [v.name, v]));

export function lookupBuiltinVariable(name: string): BuiltinVariable | undefined {
  return BUILTIN_VARIABLES.get(name);
}
