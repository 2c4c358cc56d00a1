/**
 * @fileoverview `chip` (curcpu->cpu_chip): the physical package of the CPU a probe fires on.
 * BPF can read neither /sys nor, on kernels without data symbols in kallsyms, the per-CPU
 * `cpu_info`, so the compiler puts the running kernel's topology
 * (/sys/devices/system/cpu/cpuN/topology/physical_package_id, through KernelLookups) in a
 * read-only table, one u32 per CPU, and the program indexes it with the CPU id.
 */
import { R0, R1, R9, imm, type Asm } from '../../bpf/asm/insn.js';
import type { MapSpecData } from '../../program/spec.js';

/** The table's map. */
export const CPU_TOPOLOGY_MAP = 'cputopo';

/**
 * Stores the package id of the CPU whose id is the u32 at `cpuOffset` (in the per-CPU scratch
 * value R9 points at) into the u32 at `chipOffset`; 0 for a CPU the table does not know.
 */
export function emitChipStore(a: Asm, cpuOffset: number, chipOffset: number, cpuCount: number): void {
  const unknown = a.newLabel('chipunk'), store = a.newLabel('chipst');
  a.ldx(4, R0, R9, cpuOffset).jmp('jge', R0, imm(cpuCount), unknown);
  a.alu64('lsh', R0, imm(2)).ldMapValue(R1, CPU_TOPOLOGY_MAP, 0).alu64('add', R1, R0).ldx(4, R0, R1, 0).ja(store);
  a.label(unknown).mov(R0, imm(0));
  a.label(store).stx(4, R9, chipOffset, R0);
}

/** The table: package id by CPU id. */
export function cpuTopologyMap(packages: readonly number[]): MapSpecData {
  const value = new Uint8Array(Math.max(4, packages.length * 4));
  const dv = new DataView(value.buffer);
  packages.forEach((p, i) => dv.setUint32(i * 4, p, true));
  return { name: CPU_TOPOLOGY_MAP, type: 'array', keySize: 4, valueSize: value.length, maxEntries: 1, init: [{ key: 0, value }] };
}
