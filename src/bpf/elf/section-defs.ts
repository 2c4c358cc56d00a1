/**
 * @fileoverview What a program's SEC() name means: its program type, expected attach type,
 * the BTF object it attaches to and how to attach it — libbpf's section_defs table, for the
 * tracing sections (tracepoint/, tp/, raw_tp/, tp_btf/, fentry/, fexit/, fmod_ret/, lsm/,
 * kprobe/, kretprobe/, ksyscall/, kretsyscall/, uprobe/, uretprobe/, usdt/, perf_event, and the
 * multi-link ones kprobe.multi/, kretprobe.multi/, uprobe.multi/, uretprobe.multi/ whose target
 * is a glob) and a few load-only ones (socket, xdp, tc, syscall).
 */
import { AttachType, type ProgTypeName } from '../uapi.js';

export type AttachKind =
  | 'tracepoint' | 'raw_tracepoint' | 'tracing' | 'kprobe' | 'kretprobe' | 'ksyscall' | 'kretsyscall'
  | 'uprobe' | 'uretprobe' | 'usdt' | 'perf_event' | 'none'
  | 'kprobe_multi' | 'kretprobe_multi' | 'uprobe_multi' | 'uretprobe_multi';

export interface SectionDef {
  progType: ProgTypeName;
  expectedAttachType: number | undefined;
  attach: AttachKind;
  /** What follows the prefix: `syscalls/sys_enter_getpid`, `do_unlinkat`, `/bin/bash:readline`. */
  target: string;
  /** BTF name the program is verified against (tp_btf: `btf_trace_<tp>`, fentry: the function). */
  btfTarget: { kind: 'typedef' | 'func'; name: string } | undefined;
  /** BPF_F_SLEEPABLE for `.s` sections. */
  flags: number;
}

const BPF_F_SLEEPABLE = 1 << 4;

interface Rule { prefix: string; progType: ProgTypeName; attach: AttachKind; expected?: number; btf?: (t: string) => { kind: 'typedef' | 'func'; name: string }; flags?: number }

const RULES: Rule[] = [
  { prefix: 'tracepoint/', progType: 'tracepoint', attach: 'tracepoint' },
  { prefix: 'tp/', progType: 'tracepoint', attach: 'tracepoint' },
  { prefix: 'raw_tracepoint/', progType: 'raw_tracepoint', attach: 'raw_tracepoint' },
  { prefix: 'raw_tp/', progType: 'raw_tracepoint', attach: 'raw_tracepoint' },
  { prefix: 'tp_btf/', progType: 'tracing', attach: 'tracing', expected: AttachType.TRACE_RAW_TP, btf: (t) => ({ kind: 'typedef', name: `btf_trace_${t}` }) },
  { prefix: 'fentry.s/', progType: 'tracing', attach: 'tracing', expected: AttachType.TRACE_FENTRY, btf: (t) => ({ kind: 'func', name: t }), flags: BPF_F_SLEEPABLE },
  { prefix: 'fexit.s/', progType: 'tracing', attach: 'tracing', expected: AttachType.TRACE_FEXIT, btf: (t) => ({ kind: 'func', name: t }), flags: BPF_F_SLEEPABLE },
  { prefix: 'fentry/', progType: 'tracing', attach: 'tracing', expected: AttachType.TRACE_FENTRY, btf: (t) => ({ kind: 'func', name: t }) },
  { prefix: 'fexit/', progType: 'tracing', attach: 'tracing', expected: AttachType.TRACE_FEXIT, btf: (t) => ({ kind: 'func', name: t }) },
  { prefix: 'fmod_ret/', progType: 'tracing', attach: 'tracing', expected: AttachType.MODIFY_RETURN, btf: (t) => ({ kind: 'func', name: t }) },
  { prefix: 'lsm/', progType: 'lsm', attach: 'tracing', expected: AttachType.LSM_MAC, btf: (t) => ({ kind: 'func', name: `bpf_lsm_${t}` }) },
  // One link for every kernel function (or every function of one binary) the glob matches.
  { prefix: 'kprobe.multi/', progType: 'kprobe', attach: 'kprobe_multi', expected: AttachType.TRACE_KPROBE_MULTI },
  { prefix: 'kretprobe.multi/', progType: 'kprobe', attach: 'kretprobe_multi', expected: AttachType.TRACE_KPROBE_MULTI },
  { prefix: 'uprobe.multi.s/', progType: 'kprobe', attach: 'uprobe_multi', expected: AttachType.TRACE_UPROBE_MULTI, flags: BPF_F_SLEEPABLE },
  { prefix: 'uretprobe.multi.s/', progType: 'kprobe', attach: 'uretprobe_multi', expected: AttachType.TRACE_UPROBE_MULTI, flags: BPF_F_SLEEPABLE },
  { prefix: 'uprobe.multi/', progType: 'kprobe', attach: 'uprobe_multi', expected: AttachType.TRACE_UPROBE_MULTI },
  { prefix: 'uretprobe.multi/', progType: 'kprobe', attach: 'uretprobe_multi', expected: AttachType.TRACE_UPROBE_MULTI },
  { prefix: 'kprobe/', progType: 'kprobe', attach: 'kprobe' },
  { prefix: 'kretprobe/', progType: 'kprobe', attach: 'kretprobe' },
  { prefix: 'ksyscall/', progType: 'kprobe', attach: 'ksyscall' },
  { prefix: 'kretsyscall/', progType: 'kprobe', attach: 'kretsyscall' },
  { prefix: 'uprobe.s/', progType: 'kprobe', attach: 'uprobe', flags: BPF_F_SLEEPABLE },
  { prefix: 'uretprobe.s/', progType: 'kprobe', attach: 'uretprobe', flags: BPF_F_SLEEPABLE },
  { prefix: 'uprobe/', progType: 'kprobe', attach: 'uprobe' },
  { prefix: 'uretprobe/', progType: 'kprobe', attach: 'uretprobe' },
  { prefix: 'usdt/', progType: 'kprobe', attach: 'usdt' },
  { prefix: 'perf_event', progType: 'perf_event', attach: 'perf_event' },
  { prefix: 'socket', progType: 'socket_filter', attach: 'none' },
  { prefix: 'xdp', progType: 'xdp', attach: 'none', expected: AttachType.XDP },
  { prefix: 'tc', progType: 'sched_cls', attach: 'none' },
  { prefix: 'classifier', progType: 'sched_cls', attach: 'none' },
  { prefix: 'syscall', progType: 'syscall', attach: 'none' },
  // Bare sections (tail-call targets, or an attach point the caller gives).
  { prefix: 'tracepoint', progType: 'tracepoint', attach: 'none' },
  { prefix: 'tp', progType: 'tracepoint', attach: 'none' },
  { prefix: 'raw_tracepoint', progType: 'raw_tracepoint', attach: 'none' },
  { prefix: 'raw_tp', progType: 'raw_tracepoint', attach: 'none' },
  { prefix: 'kprobe', progType: 'kprobe', attach: 'none' },
  { prefix: 'uprobe', progType: 'kprobe', attach: 'none' },
];

/** The definition of a SEC() name, or undefined when no rule knows it. */
export function parseSectionName(name: string): SectionDef | undefined {
  for (const r of RULES) {
    if (!name.startsWith(r.prefix)) continue;
    const target = name.slice(r.prefix.length);
    if (!r.prefix.endsWith('/') && target !== '') continue;
    return {
      progType: r.progType, expectedAttachType: r.expected, attach: r.attach, target,
      btfTarget: r.btf ? r.btf(target) : undefined, flags: r.flags ?? 0,
    };
  }
  return undefined;
}
