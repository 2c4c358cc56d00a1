// @fileoverview The tracers compared by the benchmarks and the program text of every case in
// each one's dialect. A tracer is a command prefix (argv) to which the program is appended,
// so swapping in another build of ours is just DTRACE_CMD='...'.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Splits a command line on blanks (no quoting: the commands here are simple). */
function words(command) {
  return command.trim().split(/\s+/).filter((w) => w !== '');
}

/**
 * The tracers, ours first. Each has the argv prefix used for every case: ours runs with -q so
 * printf lines are the bare text (no CPU/ID/probe columns) and counting them is exact.
 */
export function defineTracers(repoRoot, env = process.env) {
  const dtraceCommand = env.DTRACE_CMD ?? 'node dist/cli.js';
  const bpftraceCommand = env.BPFTRACE_CMD ?? 'bpftrace';
  const all = [
    {
      name: 'dtrace',
      dialect: 'd',
      command: dtraceCommand,
      argv: [...words(dtraceCommand), '-q', '-n'],
      env: undefined,
    },
    {
      // Ours on an emulated Linux 5.15 (ISA v3 sequences, the string library as BPF loops, no
      // kfuncs): the fallback code the kernels users run get, against the native path above.
      name: 'dtrace515',
      dialect: 'd',
      command: dtraceCommand,
      argv: [...words(dtraceCommand), '-q', '-n'],
      env: { ...env, DTRACE_TS_KERNEL: '5.15' },
      onlyCases: ['count', 'count_execname', 'strpred', 'strjoin'],
    },
    {
      name: 'bpftrace',
      dialect: 'bpftrace',
      command: bpftraceCommand,
      argv: [...words(bpftraceCommand), '-e'],
      // Room for the 1,000,000-key aggregation (bpftrace's default map size is 4096 keys).
      env: { ...env, BPFTRACE_MAP_KEYS_MAX: String(Number(env.BIGAGG_KEYS ?? 1_000_000) + 100_000) },
    },
  ];
  // DTRACE_BASE_CMD: another build of ours (e.g. main's) run as 'dtrace-base' in the same run,
  // so a change is measured before and after under the same load.
  if (env.DTRACE_BASE_CMD) {
    all.push({ name: 'dtrace-base', dialect: 'd', command: env.DTRACE_BASE_CMD, argv: [...words(env.DTRACE_BASE_CMD), '-q', '-n'], env: undefined });
  }
  const wanted = [...words(env.TRACERS ?? 'dtrace dtrace515 bpftrace'), ...(env.DTRACE_BASE_CMD ? ['dtrace-base'] : [])];
  return all.filter((t) => wanted.includes(t.name)).map((t) => ({ ...t, unavailable: unavailableReason(t, repoRoot) }));
}

function unavailableReason(tracer, repoRoot) {
  if (tracer.name === 'dtrace' && tracer.command === 'node dist/cli.js' && !existsSync(join(repoRoot, 'dist', 'cli.js'))) {
    return 'dist/cli.js not built (src/cli/main.ts missing or failed to build)';
  }
  return undefined;
}

/**
 * Program text of a case. `pid` fills the cases that filter on the workload's pid.
 * Env PROG_<dialect>_<case> overrides one (e.g. PROG_d_hist='...').
 *
 * The hist case: ours quantizes arg0 of getpid's entry (whatever is in the first argument
 * register: syscall(SYS_getpid) passes none); bpftrace's tracepoint has no argument fields
 * for getpid, so it histograms args->__syscall_nr (constant 39), as the reference did. Both
 * pay the log2 bucketing on every event.
 */
/** Whether `tracer` runs `caseName` (bpftrace has no strjoin; the 5.15 tracer runs only the fallback cases). */
export function runsCase(tracer, caseName) {
  if (tracer.onlyCases && !tracer.onlyCases.includes(caseName)) return false;
  return !(tracer.dialect === 'bpftrace' && caseName === 'strjoin');
}

export function programText(tracer, caseName, { pid = 0, libc = '/lib/x86_64-linux-gnu/libc.so.6' } = {}) {
  const override = process.env[`PROG_${tracer.dialect}_${caseName}`];
  if (override !== undefined) return override.replaceAll('@PID@', String(pid));
  const d = {
    begin_exit: 'BEGIN { exit(0); }',
    tp_map_exit: 'syscall::getpid:entry { @ = count(); } BEGIN { exit(0); }',
    empty: 'syscall::getpid:entry { }',
    count: 'syscall::getpid:entry { @ = count(); }',
    count_execname: 'syscall::getpid:entry { @[execname] = count(); }',
    // A string predicate that compares the whole name (the workload's comm) on every event.
    strpred: 'syscall::getpid:entry /execname == "getpid_bench"/ { @ = count(); }',
    strjoin: 'syscall::getpid:entry { this->s = strjoin(execname, "-x"); @ = count(); }',
    hist: 'syscall::getpid:entry { @ = quantize(arg0); }',
    printf: 'syscall::getpid:entry { printf("%d\\n", pid); }',
    printf_pid: `syscall::getpid:entry /pid == ${pid}/ { printf("%d\\n", pid); }`,
    attach_all: 'syscall:::entry { } tick-1ms { exit(0); }',
    pid_libc: 'pid$target:libc.so.6::entry { @[probefunc] = count(); } tick-1ms { printf("attached\\n"); exit(0); }',
    bigagg: `syscall::getpid:entry /pid == ${pid}/ { @[arg0] = count(); }`,
  };
  const bpftrace = {
    begin_exit: 'BEGIN { exit(); }',
    tp_map_exit: 'tracepoint:syscalls:sys_enter_getpid { @ = count(); } BEGIN { exit(); }',
    empty: 'tracepoint:syscalls:sys_enter_getpid { }',
    count: 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }',
    count_execname: 'tracepoint:syscalls:sys_enter_getpid { @[comm] = count(); }',
    strpred: 'tracepoint:syscalls:sys_enter_getpid /comm == "getpid_bench"/ { @ = count(); }',
    hist: 'tracepoint:syscalls:sys_enter_getpid { @ = hist(args->__syscall_nr); }',
    printf: 'tracepoint:syscalls:sys_enter_getpid { printf("%d\\n", pid); }',
    printf_pid: `tracepoint:syscalls:sys_enter_getpid /pid == ${pid}/ { printf("%d\\n", pid); }`,
    attach_all: 'tracepoint:syscalls:sys_enter_* { } interval:ms:1 { exit(); }',
    pid_libc: `uprobe:${libc}:* /pid == ${pid}/ { @[func] = count(); } interval:ms:1 { printf("attached\\n"); exit(); }`,
    // getpid's tracepoint has no argument fields; raw_syscalls:sys_enter carries args[0].
    bigagg: `tracepoint:raw_syscalls:sys_enter /pid == ${pid} && args->id == 39/ { @[args->args[0]] = count(); }`,
  };
  const text = (tracer.dialect === 'd' ? d : bpftrace)[caseName];
  if (text === undefined) throw new Error(`no program for case ${caseName}`);
  return text;
}

/** Extra argv for a case (inserted before the program flag's argument list). */
export function caseOptions(tracer, caseName, env = process.env) {
  if (tracer.dialect === 'd' && caseName === 'bigagg') {
    // 1M keys need more than the default 4m aggregation buffer (which holds 262,144 keys);
    // 64m is enough. A larger aggsize costs start-up time (512m: ~25 s before attaching).
    return words(env.BIGAGG_DTRACE_OPTS ?? '-x aggsize=64m');
  }
  return [];
}

/** argv for running `program` under `tracer` in `caseName`. */
export function tracerArgv(tracer, caseName, program) {
  const flag = tracer.argv[tracer.argv.length - 1];
  return [...tracer.argv.slice(0, -1), ...caseOptions(tracer, caseName), flag, program];
}
