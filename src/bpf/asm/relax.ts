/**
 * @fileoverview Far jumps. A BPF jump reaches ±32767 instructions (its offset is 16 bits), and
 * `gotol` (a 32-bit JA) exists only on kernels with ISA v4; a program longer than that — a
 * clause of many statements, each with fault checks jumping to the clause's common exits —
 * would not link. Far jumps are routed through islands: every STRIDE slots, where the program
 * crosses a far jump's path, an island of unconditional hops is inserted, skipped by a JA of
 * its own on the fall-through path. A far jump goes to the hop for its target in the first
 * island on its way; each hop goes to the next island's hop for the same target, the last one
 * to the target. Hops are shared per (island, target) and only those some jump uses exist
 * (the verifier rejects unreachable instructions).
 */
import { type Insn, slots, Class, JmpOp } from './insn.js';

/** Jumps longer than this take hops: islands inserted between the ends add little (< REACH). */
const FAR = 24_000;
/** Slots between two islands: a hop reaches the next island with room to spare. */
const STRIDE = 16_000;

/** Returns the instructions with far jumps routed through islands (the same array if none). */
export function relaxFarJumps(insns: Insn[]): Insn[] {
  const slotOf: number[] = [];
  let total = 0;
  for (const i of insns) { slotOf.push(total); total += slots(i); }
  if (total <= FAR) return insns;
  const indexOfLabel = new Map<string, number>();
  insns.forEach((i, j) => { for (const l of i.labels ?? []) indexOfLabel.set(l, j); });
  const far: { j: number; t: number }[] = [];
  insns.forEach((i, j) => {
    if (i.target === undefined) return;
    const t = indexOfLabel.get(i.target);
    if (t !== undefined && Math.abs(slotOf[t]! - (slotOf[j]! + 1)) > FAR) far.push({ j, t });
  });
  if (far.length === 0) return insns;

  // Island k sits just before instruction islandAt[k].
  const islandAt: number[] = [];
  for (let j = 0, k = 1; j < insns.length; j++) if (slotOf[j]! >= k * STRIDE) { islandAt.push(j); k++; }
  /** Hop label per island, by target label. */
  const hops = islandAt.map(() => new Map<string, string>());
  const hopTargets = islandAt.map(() => new Map<string, string>());
  const ensureHop = (k: number, target: string, t: number): string => {
    let label = hops[k]!.get(target);
    if (label !== undefined) return label;
    label = `.island${k}.${target}`;
    hops[k]!.set(target, label);
    // Toward the target: the next island on the way, or the target itself.
    const next = t >= islandAt[k]! ? k + 1 : k - 1;
    const onTheWay = next >= 0 && next < islandAt.length && (t >= islandAt[k]! ? islandAt[next]! <= t : islandAt[next]! > t);
    hopTargets[k]!.set(label, onTheWay ? ensureHop(next, target, t) : target);
    return label;
  };
  const retarget = new Map<number, string>();
  for (const { j, t } of far) {
    const target = insns[j]!.target!;
    // The first island between the jump and its target, in the jump's direction.
    const k = t > j ? islandAt.findIndex((at) => at > j && at <= t) : findLastIndex(islandAt, (at) => at <= j && at > t);
    if (k >= 0) retarget.set(j, ensureHop(k, target, t));
  }

  const out: Insn[] = [];
  let k = 0;
  insns.forEach((insn, j) => {
    let i = retarget.has(j) ? { ...insn, target: retarget.get(j)! } : insn;
    if (k < islandAt.length && islandAt[k] === j) {
      if (hopTargets[k]!.size > 0) {
        const resume = `.island${k}.resume`;
        out.push({ code: Class.JMP | JmpOp.ja, dst: 0, src: 0, off: 0, imm: 0, target: resume, comment: 'over the island of far-jump hops' });
        for (const [label, to] of hopTargets[k]!) out.push({ code: Class.JMP | JmpOp.ja, dst: 0, src: 0, off: 0, imm: 0, target: to, labels: [label] });
        i = { ...i, labels: [...(i.labels ?? []), resume] };
      }
      k++;
    }
    out.push(i);
  });
  return out;
}

function findLastIndex<T>(xs: T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
}
