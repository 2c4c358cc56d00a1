/**
 * @fileoverview What the compiler produces: plain data describing maps, BPF programs (still
 * symbolic: instructions name maps and subprograms), the probes each program serves, and the
 * layouts the consumer needs to decode records and aggregations. Nothing here touches the
 * kernel; `-S` prints it, the runtime loads it (cilium/ebpf's Spec/Object split).
 */
import type { Insn } from '../bpf/asm/insn.js';
import type { GlobalPrototype } from '../bpf/btf/func-info.js';
import type { CType } from '../check/ctypes.js';
import type { Span } from '../diag/source.js';
import type { AggFn } from '../builtins/aggregations.js';
import type { PlainData } from '../providers/provider.js';

export interface MapSpecData {
  name: string;
  type: 'hash' | 'lru_hash' | 'percpu_hash' | 'array' | 'percpu_array' | 'ringbuf';
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** Initial contents for array maps (e.g. the string table), key index → bytes. */
  init?: { key: number; value: Uint8Array }[];
  /** Freeze after initialisation (read-only data). */
  readonly?: boolean;
}

/** A probe as the consumer and `-l` see it. Probe ids are dense and start at 1 (BEGIN is 1). */
export interface ProbeInfo {
  id: number;
  provider: string;
  module: string;
  function: string;
  name: string;
  /**
   * Code shared by several probes: the id is read from mstate at run time, and a name field
   * that differs between them from the `probenames` table.
   */
  shared?: ProbeInfo[];
}

/**
 * One BPF program and how it runs: the runtime finds `provider` by name in its provider list
 * and hands it `attach` (plain data) with the probes the program serves.
 */
export interface ProgramSpecData {
  name: string;
  provider: string;
  /** Attached to the kernel, or run by the tracer itself (BEGIN/END). */
  runMode: 'attach' | 'begin' | 'end' | 'error';
  bpfType: 'raw_tracepoint' | 'tracepoint' | 'perf_event' | 'kprobe' | 'tracing';
  /** Load-time attach target (fentry/fexit BTF id, kprobe_multi attach type), from the plan. */
  load?: { expectedAttachType?: number; attachBtfId?: number };
  insns: Insn[];
  /** Provider-specific attachment data (e.g. raw tracepoint name, profile period): plain data. */
  attach: PlainData;
  /** Probe ids this program serves. */
  probes: number[];
}

/** One value inside a record: where it is, what it is. */
export interface FieldLayout {
  offset: number;
  sizeBytes: number;
  type: CType;
  /** How the consumer turns the bytes into a value. */
  decode: 'int' | 'float' | 'string' | 'bytes' | 'stack' | 'ustack' | 'symbol' | 'usymbol';
  signed?: boolean;
  /** For 'symbol' (kernel address) and 'usymbol' (pid, user address): which text to print. */
  symbolForm?: 'sym' | 'func' | 'mod' | 'uaddr';
  /**
   * jstack(): the bytes of JIT frame names (from the perf map) it may show, each with its NUL,
   * as DTrace's ustack helper strings fill jstack()'s string space; later JIT frames print as
   * addresses.
   */
  jitStrsize?: number;
}

/** One recorded action of a clause, in clause order. */
export type RecordedAction =
  | { kind: 'trace'; field: FieldLayout }
  | { kind: 'printf'; format: string; args: FieldLayout[] }
  | { kind: 'printa'; format?: string; aggIds: number[] }
  | { kind: 'exit'; field: FieldLayout }
  | { kind: 'tracemem'; field: FieldLayout; dynSize?: FieldLayout }
  | { kind: 'stack'; field: FieldLayout; user: boolean }
  | { kind: 'clear' | 'trunc' | 'normalize' | 'denormalize'; aggId: number; arg?: FieldLayout }
  | { kind: 'setopt'; name: string | FieldLayout; value?: string | FieldLayout } // a field: recorded at run time
  | { kind: 'system' | 'freopen'; format: string; args: FieldLayout[] }
  | { kind: 'ftruncate' }
  /** print(ptr): the pointer (`addr`) and the bytes it points to, typed by the pointed-to type (`field.type`). */
  | { kind: 'print'; addr: FieldLayout; field: FieldLayout }
  /** pcap(skb, proto): capture time (ns since boot), captured length, link type, and the packet bytes. */
  | { kind: 'pcap'; time: FieldLayout; length: FieldLayout; proto: FieldLayout; field: FieldLayout }
  | { kind: 'commit' | 'discard' | 'speculate'; field: FieldLayout };

/** A compiled clause: its id (`dt_clause_<stid>`), source and record layout. */
export interface ClauseSpec {
  stid: number;
  span: Span;
  /** Size of the record it emits (0 when it records nothing and prints nothing). */
  recordSize: number;
  actions: RecordedAction[];
  /** A clause with no data-recording action prints nothing, not even the probe prefix. */
  printsPrefix: boolean;
}

export interface AggregationSpec {
  id: number;
  name: string;
  fn: AggFn;
  /** The per-CPU map holding it (its own, or one it shares: see `tag`). */
  map: string;
  /**
   * Present when the map is shared with other aggregations (codegen/agg-maps.ts): a keyed
   * aggregation's map key is this u32 tag, 4 zero bytes (SHARED_AGG_KEY_PREFIX_BYTES in all),
   * then its key; a keyless one is the array element at this index.
   */
  tag?: number;
  keyFields: FieldLayout[];
  keySize: number;
  valueSize: number;
  params?: { base?: bigint; limit?: bigint; step?: bigint; factor?: bigint; lmag?: bigint; hmag?: bigint; steps?: bigint };
}

/** Bytes before an aggregation's key in a shared aggregation map: u32 tag, u32 zero. */
export const SHARED_AGG_KEY_PREFIX_BYTES = 8;

/**
 * Record header: u32 probe id, u32 clause id (stid), u32 CPU the probe fired on, u32 zero;
 * data starts at offset 16. The records of all CPUs share one ring buffer, so the CPU (the
 * column DTrace prints, the library's event.cpu) travels in the record, as the 16-byte header
 * of Oracle's records carries it.
 */
export const RECORD_HEADER_BYTES = 16;
/** Byte offsets of the record header's fields. */
export const RecordHeader = { prid: 0, stid: 4, cpu: 8 } as const;
/** Special stid values for records that do not belong to a clause. */
export const StidSpecial = { ERROR: 0xffffffff, DROP: 0xfffffffe } as const;

/**
 * The record a fault writes (its header's stid is StidSpecial.ERROR): byte offsets of its
 * fields, u32 but for the u64 `value` (the faulting address or value) and `pc` (the
 * instruction index). Written by the fault path, read back by the ERROR subprogram (its
 * arguments) and by the consumer (the error message).
 */
export const ErrorRecord = { prid: 0, stid: 4, faultingStid: 8, fault: 12, value: 16, pc: 24, bytes: 32 } as const;

export interface CompiledProgram {
  maps: MapSpecData[];
  programs: ProgramSpecData[];
  probes: ProbeInfo[];
  clauses: ClauseSpec[];
  aggregations: AggregationSpec[];
  /** Options set by pragmas in the program, in order. */
  pragmaOptions: { name: string; value?: string }[];
  strsize: number;
  /** Subprograms shared by programs (string routines etc.), by name. */
  subprograms: Map<string, Insn[]>;
  /**
   * Subprograms written to be verifiable on their own, by name: loaded as BTF global functions
   * with this prototype where the kernel takes them (runtime/func-info.ts), else as static ones.
   */
  globalFunctions?: Map<string, GlobalPrototype>;
  /** The largest record a clause emits and the largest dynamic-variable element (key + value). */
  sizes: { maxRecordBytes: number; maxDynvarElementBytes: number; maxAggregationElementBytes: number };
}
