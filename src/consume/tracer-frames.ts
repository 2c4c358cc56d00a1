/**
 * @fileoverview The tracer's own kernel frames: the BPF program and the tracepoint glue that ran
 * it (bpf_trace_runN, __bpf_trace_<class>, __traceiter_<event>, perf's BPF entry points). They
 * sit on top of a stack taken with bpf_get_stack() in a raw tracepoint or fentry program and are
 * no part of the traced code. The consumer drops them by name; code generation gets their
 * address ranges (`tracerFrameTable`) so that stack(N), stackdepth and caller skip them in BPF.
 */
import type { KernelSymbolTable } from './ksyms.js';

/** Names of kernel functions that only ever run because a BPF program is attached. */
export const TRACER_FUNCTION = /^(bpf_trace_run\d+|__bpf_trace_\w+|__traceiter_\w+|__probestub_\w+|bpf_prog_\w+|trace_call_bpf|perf_trace_run_bpf_submit|bpf_overflow_handler|__perf_event_overflow|kprobe_perf_func|uprobe_perf_func|__uprobe_perf_func)$/;

/** A formatted frame (``vmlinux`bpf_trace_run2+0x103``) of the tracer. */
export const TRACER_FRAME = /^(bpf`|vmlinux`(bpf_trace_run\d+|__bpf_trace_\w+|__traceiter_\w+|bpf_prog_\w+|trace_call_bpf|perf_trace_run_bpf_submit|bpf_overflow_handler|__perf_event_overflow|kprobe_perf_func|uprobe_perf_func|__uprobe_perf_func)\+)/;

/**
 * The kernel's text and, inside it, the tracer functions as ranges of offsets from the text's
 * start, sorted and merged (symbols that only pad or tag functions, `__pfx_`/`__cfi_`, do not
 * break a run). Offsets fit in 32 bits, so the BPF code compares them with immediates.
 */
export interface TracerFrameTable {
  textStart: bigint;
  textBytes: number;
  ranges: Array<[number, number]>;
}

const KERNEL_HIGH16 = 0xffffn << 48n;

export function tracerFrameTable(table: KernelSymbolTable): TracerFrameTable | undefined {
  if (!table.addressesVisible) return undefined;
  let first = -1;
  let last = -1;
  const name = (k: number) => table.buf.toString('latin1', table.nameStart[k]!, table.nameEnd[k]!);
  for (let k = 0; k < table.count; k++) {
    if (table.moduleIndex[k] !== -1) continue;
    const n = name(k);
    if (n === '_stext' && first < 0) first = k;
    if (n === '_etext') last = k;
  }
  if (first < 0 || last < 0) return undefined;
  const base = table.addrLow48[first]!;
  const textBytes = table.addrLow48[last]! - base;
  if (textBytes <= 0 || textBytes >= 2 ** 31) return undefined;
  const ranges: Array<[number, number]> = [];
  let open = -1;
  for (let k = first; k < last; k++) {
    if (table.moduleIndex[k] !== -1) continue;
    const n = name(k);
    if (n.startsWith('__pfx_') || n.startsWith('__cfi_')) continue;
    const off = table.addrLow48[k]! - base;
    if (TRACER_FUNCTION.test(n)) {
      if (open < 0) open = off;
    } else if (open >= 0) {
      if (off > open) ranges.push([open, off]);
      open = -1;
    }
  }
  if (open >= 0) ranges.push([open, textBytes]);
  return { textStart: KERNEL_HIGH16 | BigInt(base), textBytes, ranges };
}
