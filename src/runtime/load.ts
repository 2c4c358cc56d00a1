/**
 * @fileoverview Loading a compiled program into the kernel: create its maps, link and encode
 * every BPF program and load it through the verifier. A failure closes what was created and is
 * said as a LoadError naming the D line where it can.
 */
import { createMap, type BpfMap } from '../bpf/map.js';
import { loadProgram, type BpfProgram } from '../bpf/program.js';
import { openRingBuffer, type RingBuffer } from '../bpf/ringbuf.js';
import { VerifierError } from '../bpf/errors.js';
import { raiseOpenFileLimit } from '../bpf/sys.js';
import { link as linkInsns, encode } from '../bpf/asm/encode.js';
import { Helper } from '../bpf/uapi.js';
import { formatInsn } from '../bpf/asm/disasm.js';
import { slots } from '../bpf/asm/insn.js';
import { kernelKfuncId } from '../codegen/subr/kfuncs.js';
import type { CompiledProgram, ProgramSpecData } from '../program/spec.js';
import type { ProgramPlan } from '../providers/provider.js';

/** A load or verifier failure, reported with the D line where possible. */
export class LoadError extends Error {
  constructor(message: string) { super(message); this.name = 'LoadError'; }
}

/** A program in the kernel: its maps, its loaded programs (not yet attached) and its ring buffer. */
export interface Loaded {
  maps: Map<string, BpfMap>;
  programs: { spec: ProgramSpecData; prog: BpfProgram; plan: ProgramPlan }[];
  ring: RingBuffer;
}

const HELPER_NAMES = new Map<number, string>(Object.entries(Helper).map(([k, v]) => [v as number, `bpf_${k}`]));

/** Creates maps and loads every program. Throws LoadError with a readable message. */
export function load(compiled: CompiledProgram): Loaded {
  // Probes attached one perf event each (kernels without multi-attach links) hold a descriptor
  // apiece: as DTrace and bpftrace do, use the hard limit on open files, not the soft one.
  raiseOpenFileLimit();
  const maps = new Map<string, BpfMap>();
  const loaded: Loaded['programs'] = [];
  try {
    for (const m of compiled.maps) {
      const map = createMap({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
      maps.set(m.name, map);
      for (const init of m.init ?? []) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, init.key, true);
        map.update(key, init.value);
      }
    }
    const ring = openRingBuffer(maps.get('ringbuf')!);
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
      let prog: BpfProgram;
      try {
        prog = loadProgram({ name: p.name.slice(0, 15), type: p.bpfType, insns: bytes, ...p.load });
      } catch (e) {
        if (e instanceof VerifierError) throw new LoadError(verifierMessage(p, linked, e));
        throw e;
      }
      loaded.push({ spec: p, prog, plan: (p.attach as { plan: ProgramPlan }).plan });
    }
    return { maps, programs: loaded, ring };
  } catch (e) {
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
