/**
 * @fileoverview SEC("usdt/PATH:PROVIDER:NAME") programs, as libbpf's usdt.c attaches them for
 * <bpf/usdt.bpf.h>: every stapsdt note of PATH with that provider and name gets an argument spec
 * (constant, register, or register-relative memory, with the shift that narrows and extends a
 * 1/2/4-byte value) written into the object's `__bpf_usdt_specs` map, and a uprobe at the probe's
 * file offset (with its semaphore as ref_ctr_offset) whose BPF cookie is the spec's index, which
 * is how bpf_usdt_arg() finds it.
 */
import type { BpfProgram } from '../program.js';
import type { BpfMap } from '../map.js';
import { attachUprobe, type Link } from '../link.js';
import { readUsdtProbes, registerSlot, type UsdtOperand } from './stapsdt.js';

/** BPF_USDT_MAX_ARG_CNT and the layout of struct __bpf_usdt_spec (usdt.bpf.h). */
const MAX_ARGS = 12;
const ARG_SPEC_BYTES = 16;
const SPEC_COOKIE_OFFSET = MAX_ARGS * ARG_SPEC_BYTES;
const SPEC_ARG_CNT_OFFSET = SPEC_COOKIE_OFFSET + 8;
const ARG_CONST = 0, ARG_REG = 1, ARG_REG_DEREF = 2;

export interface UsdtAttachContext {
  /** The object's `__bpf_usdt_specs` array map. */
  specs: BpfMap | undefined;
  /** Hands out spec ids (indexes into `specs`). */
  nextSpecId: () => number;
  pid?: number;
}

function encodeArg(view: DataView, at: number, op: UsdtOperand): void {
  const loc = op.location;
  view.setInt8(at + 15, 64 - op.sizeBytes * 8); // arg_bitshift
  view.setUint8(at + 14, op.signed ? 1 : 0);
  if (loc.kind === 'constant') {
    view.setUint32(at + 8, ARG_CONST, true);
    view.setBigUint64(at, BigInt.asUintN(64, loc.value), true);
    return;
  }
  const reg = loc.kind === 'register' ? loc.register : loc.base;
  const slot = reg !== undefined ? registerSlot(reg) : undefined;
  if (!slot || slot.bitShift !== 0) throw new Error(`USDT argument "${op.text}": register ${reg ?? '(none)'} is not supported`);
  if (loc.kind === 'memory' && (loc.index !== undefined || loc.symbol !== undefined)) {
    throw new Error(`USDT argument "${op.text}": indexed or symbol-relative operands are not supported`);
  }
  view.setInt16(at + 12, slot.ptRegsOffset, true);
  view.setUint32(at + 8, loc.kind === 'register' ? ARG_REG : ARG_REG_DEREF, true);
  view.setBigUint64(at, loc.kind === 'memory' ? BigInt.asUintN(64, BigInt(loc.displacement)) : 0n, true);
}

/** Attaches `prog` to every `provider:name` USDT probe of the file `target` names (`PATH:PROVIDER:NAME`). */
export function attachUsdt(prog: BpfProgram, target: string, ctx: UsdtAttachContext): Link[] {
  const parts = target.split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new Error(`usdt target "${target}" is not PATH:PROVIDER:NAME`);
  const [path, provider, name] = parts as [string, string, string];
  if (!ctx.specs) throw new Error('the object has no __bpf_usdt_specs map (include <bpf/usdt.bpf.h> and use BPF_USDT)');
  const probes = readUsdtProbes(path).filter((p) => p.provider === provider && p.noteName === name);
  if (probes.length === 0) throw new Error(`${path} has no USDT probe ${provider}:${name}`);
  const links: Link[] = [];
  try {
    for (const probe of probes) {
      if (probe.args.length > MAX_ARGS) throw new Error(`${provider}:${name} has ${probe.args.length} arguments (at most ${MAX_ARGS})`);
      const id = ctx.nextSpecId();
      const value = new Uint8Array(ctx.specs.spec.valueSize);
      const view = new DataView(value.buffer);
      probe.args.forEach((op, i) => encodeArg(view, i * ARG_SPEC_BYTES, op));
      view.setInt16(SPEC_ARG_CNT_OFFSET, probe.args.length, true);
      const key = new Uint8Array(4);
      new DataView(key.buffer).setInt32(0, id, true);
      ctx.specs.update(key, value);
      links.push(attachUprobe(prog, {
        path, fileOffset: probe.pcFileOffset, retprobe: false, cookie: BigInt(id),
        ...(probe.semaphoreFileOffset !== undefined ? { refCtrOffset: probe.semaphoreFileOffset } : {}),
        ...(ctx.pid !== undefined ? { pid: ctx.pid } : {}),
      }));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  return links;
}
