/**
 * @fileoverview Option values that are valid numbers but that this machine or BPF cannot honour,
 * refused with a line saying which option and what fits — rather than a map-creation EINVAL, an
 * encoder overflow or a silent acceptance. Checked before compiling (options alone) and after
 * (the sizes the compiled program needs).
 */
import { readFileSync } from 'node:fs';
import type { OptionValues } from './options.js';
import type { MapSpecData } from '../program/spec.js';

/**
 * The largest value a per-CPU BPF map may hold (the kernel's PCPU_MIN_UNIT_SIZE, 32 KiB on
 * every architecture Linux builds BPF for): strings, scratch space and temporaries live there.
 */
export const PERCPU_VALUE_LIMIT = 32 << 10;
/** Speculation ids travel in the upper 16 bits of a record's clause id. */
const MAX_NSPEC = 0xffff;

function bigintOption(options: OptionValues, name: string): bigint | undefined {
  const v = options.get(name);
  return typeof v === 'bigint' ? v : undefined;
}

/** The CPUs that can exist here (/sys/devices/system/cpu/possible: `0-3,8-11`). */
function possibleCpus(): { has(cpu: number): boolean; text: string } | undefined {
  let text: string;
  try { text = readFileSync('/sys/devices/system/cpu/possible', 'latin1').trim(); } catch { return undefined; }
  const ranges = text.split(',').map((r) => r.split('-').map(Number)).map(([a, b]) => [a!, b ?? a!] as const);
  return { has: (cpu) => ranges.some(([a, b]) => cpu >= a && cpu <= b), text };
}

/** DTrace-style refusal (without `dtrace: `) of an option value out of bounds here, before compiling. */
export function optionBoundsError(options: OptionValues): string | undefined {
  const cpu = bigintOption(options, 'cpu');
  if (cpu !== undefined) {
    const cpus = possibleCpus();
    if (cpus && (cpu > 0x7fff_ffffn || !cpus.has(Number(cpu)))) return `could not enable tracing: -x cpu=${cpu}: no such CPU (this machine's CPUs are ${cpus.text})`;
  }
  const nspec = bigintOption(options, 'nspec');
  if (nspec !== undefined && nspec > BigInt(MAX_NSPEC)) return `could not enable tracing: -x nspec=${nspec}: at most ${MAX_NSPEC} speculations can be active`;
  const strsize = bigintOption(options, 'strsize');
  // Two strings of strsize must fit in per-CPU memory for any string operation.
  if (strsize !== undefined && strsize * 2n > BigInt(PERCPU_VALUE_LIMIT)) {
    return `could not enable tracing: -x strsize=${strsize} is too large: strings are built in per-CPU memory the kernel limits to ${PERCPU_VALUE_LIMIT} bytes (strsize of at most ${PERCPU_VALUE_LIMIT / 2 - 512} fits)`;
  }
  const scratch = bigintOption(options, 'scratchsize');
  if (scratch !== undefined && scratch > BigInt(PERCPU_VALUE_LIMIT / 2)) {
    return `could not enable tracing: -x scratchsize is too large: scratch space lives in per-CPU memory the kernel limits to ${PERCPU_VALUE_LIMIT} bytes (scratchsize of at most ${PERCPU_VALUE_LIMIT / 2 - 8} fits)`;
  }
  return undefined;
}

/** The refusal for a compiled program whose per-CPU working memory exceeds what the kernel allows. */
export function oversizedMapError(maps: readonly MapSpecData[], options: OptionValues): string | undefined {
  const big = maps.find((m) => (m.type === 'percpu_array' || m.type === 'percpu_hash') && m.valueSize > PERCPU_VALUE_LIMIT);
  if (!big) return undefined;
  const strsize = bigintOption(options, 'strsize') ?? 256n;
  return `could not enable tracing: the program needs ${big.valueSize} bytes of per-CPU memory (map ${big.name}), more than the kernel's ${PERCPU_VALUE_LIMIT}: lower -x strsize (now ${strsize}) or -x scratchsize, or use fewer string temporaries in one clause`;
}
