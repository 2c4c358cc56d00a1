/**
 * @fileoverview Loading a compiled program into the kernel: create its maps, link and encode
 * every BPF program and load it through the verifier. A failure closes what was created and is
 * said as a LoadError naming the D line where it can.
 */
import { createMap, type BpfMap } from '../bpf/map.js';
import { loadProgram, type BpfProgram } from '../bpf/program.js';
import { openRingBuffer, type RingBuffer } from '../bpf/ringbuf.js';
import { VerifierError, SysError } from '../bpf/errors.js';
import { raiseOpenFileLimit } from '../bpf/sys.js';
import { loadWithFunctions } from './func-info.js';
import { hasFeature } from '../bpf/features.js';
import { link as linkInsns, encode } from '../bpf/asm/encode.js';
import { Helper } from '../bpf/uapi.js';
import { formatInsn } from '../bpf/asm/disasm.js';
import { slots } from '../bpf/asm/insn.js';
import { kernelKfuncId } from '../codegen/subr/kfuncs.js';
import type { CompiledProgram, ProgramSpecData } from '../program/spec.js';

/** A load or verifier failure, reported with the D line where possible. */
export class LoadError extends Error {
  constructor(message: string) { super(message); this.name = 'LoadError'; }
}

/** A program in the kernel: its maps, its loaded programs (not yet attached) and its ring buffer. */
export interface Loaded {
  maps: Map<string, BpfMap>;
  programs: { spec: ProgramSpecData; prog: BpfProgram }[];
  ring: RingBuffer;
}

const HELPER_NAMES = new Map<number, string>(Object.entries(Helper).map(([k, v]) => [v as number, `bpf_${k}`]));

/**
 * bufresize: what to do when the principal buffer cannot be had at the size asked for —
 * `auto` halves it until it can (and says so through onLowered), `manual` fails.
 */
export interface BufferPolicy {
  bufresize?: 'auto' | 'manual';
  onLowered?: (bytes: number) => void;
}

/**
 * What dtrace(8) says when a buffer was resized (cmd/dtrace.c): the size in the largest unit
 * (k, m, g, …) that divides it, else in bytes.
 */
export function bufferLoweredMessage(what: string, bytes: number): string {
  let j = 0, mul = 10;
  while (2 ** mul <= bytes) { j++; mul += 10; }
  const unit = 2 ** (mul - 10);
  return bytes % unit === 0 ? `${what} lowered to ${bytes / unit}${' kmgtpe'[j]}` : `${what} lowered to ${bytes} bytes`;
}

/**
 * The largest ring buffer tried: 1 GiB. Its data pages are mapped twice into the tracer, and a
 * larger one would be more than the kernel's ring buffers (u32 sizes) and JavaScript views allow.
 */
const MAX_RING_BYTES = 1 << 30;
/** The smallest ring buffer auto resizing goes down to: one page beyond which nothing is gained. */
const MIN_RING_BYTES = 4096;

/**
 * The ring buffer map and its mapping, at the size asked for or — bufresize=auto — halved
 * until the kernel can give it (ENOMEM, E2BIG, or larger than we map), as DTrace resizes its
 * principal buffers.
 */
function createRing(spec: { name: string; maxEntries: number }, policy: BufferPolicy): { map: BpfMap; ring: RingBuffer } {
  let size = spec.maxEntries;
  for (;;) {
    let map: BpfMap | undefined;
    try {
      if (size > MAX_RING_BYTES) throw new SysError('BPF_MAP_CREATE', 12, 'ENOMEM', `create ring buffer of ${size} bytes`);
      map = createMap({ name: spec.name, type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: size });
      const ring = openRingBuffer(map);
      if (size < spec.maxEntries) policy.onLowered?.(size);
      return { map, ring };
    } catch (e) {
      map?.close();
      const tooLarge = e instanceof SysError ? e.code === 'ENOMEM' || e.code === 'E2BIG' : e instanceof RangeError;
      if (!tooLarge) throw e;
      if (policy.bufresize === 'manual' || size / 2 < MIN_RING_BYTES) throw new LoadError('could not enable tracing: Cannot allocate memory');
      size /= 2;
    }
  }
}

/** Creates maps and loads every program. Throws LoadError with a readable message. */
export function load(compiled: CompiledProgram, policy: BufferPolicy = {}): Loaded {
  // Probes attached one perf event each (kernels without multi-attach links) hold a descriptor
  // apiece: as DTrace and bpftrace do, use the hard limit on open files, not the soft one.
  raiseOpenFileLimit();
  const maps = new Map<string, BpfMap>();
  const loaded: Loaded['programs'] = [];
  let ring: RingBuffer | undefined;
  try {
    for (const m of compiled.maps) {
      if (m.type === 'ringbuf') {
        const made = createRing(m, policy);
        maps.set(m.name, made.map);
        ring = made.ring;
        continue;
      }
      const map = createMap({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
      maps.set(m.name, map);
      for (const init of m.init ?? []) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, init.key, true);
        map.update(key, init.value);
      }
    }
    if (!ring) throw new LoadError('the program has no ring buffer');
    // Functions the verifier may check once each, where the kernel takes global functions.
    const globals = compiled.globalFunctions?.size && hasFeature('global_func_args') ? compiled.globalFunctions : undefined;
    for (const p of compiled.programs) {
      let linked: ReturnType<typeof linkInsns>;
      try {
        linked = linkInsns(p.insns, { get: (n) => compiled.subprograms.get(n) });
      } catch (e) {
        // A program too large for BPF's jump offsets: say so, do not crash.
        throw new LoadError(`program ${p.name}: ${e instanceof Error ? e.message : String(e)} (the program is too large: fewer or smaller clauses per probe)`);
      }
      let bytes: Uint8Array;
      try {
        bytes = encode(linked, { mapFd: (n) => { const m = maps.get(n); if (!m) throw new LoadError(`program ${p.name}: unknown map ${n}`); return m.fd; }, kfuncId: kernelKfuncId });
      } catch (e) {
        // A kernel without a kfunc the program needs, or scratch offsets out of range.
        if (e instanceof LoadError) throw e;
        throw new LoadError(`program ${p.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      // The program's functions described in BTF where it needs that: a callback handed to a
      // helper (bpf_loop), functions the verifier may check once as global functions.
      let prog: BpfProgram;
      try {
        prog = loadWithFunctions(linked, globals,
          (info) => loadProgram({ name: p.name.slice(0, 15), type: p.bpfType, insns: bytes, ...p.load, ...(info ? { btfFd: info.btfFd, funcInfo: info.funcInfo } : {}) }),
          (message) => { throw new LoadError(`program ${p.name}: ${message}`); });
      } catch (e) {
        if (e instanceof VerifierError) throw new LoadError(verifierMessage(p, linked, e));
        throw e;
      }
      loaded.push({ spec: p, prog });
    }
    return { maps, programs: loaded, ring };
  } catch (e) {
    ring?.close();
    for (const l of loaded) l.prog.close();
    for (const m of maps.values()) m.close();
    throw e;
  }
}

/** A verifier rejection is our bug: name the D line, the instruction and the kernel's reason. */
function verifierMessage(p: ProgramSpecData, linked: ReturnType<typeof linkInsns>, e: VerifierError): string {
  let where = '';
  let insnText = '';
  if (e.insnIndex !== undefined) {
    let slot = 0;
    for (const i of linked) {
      if (slot === e.insnIndex) {
        insnText = formatInsn(i, { helperName: (id) => HELPER_NAMES.get(id) });
        if (i.source) where = ` at ${i.source.where}: ${i.source.text.trim()}`;
        break;
      }
      slot += slots(i);
    }
  }
  const lines = e.log.trim().split('\n');
  const reason = lines.filter((l) => !/^(processed|verification time|stack depth|mark_precise|\s*$)/.test(l)).slice(-1)[0] ?? e.message;
  return `failed to enable probes: BPF verifier rejected program ${p.name}${where}\n  instruction ${e.insnIndex ?? '?'}: ${insnText}\n  verifier: ${reason}\n  (this is a dtrace-ts bug: please report it with the script)`;
}
