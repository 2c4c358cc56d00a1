/**
 * @fileoverview Attaching the loaded programs: each program's provider (found by name in the
 * explicit provider list) gets the plain attach data the compiler kept and the probes the
 * program serves, and yields links one by one. Attaching thousands of sites one perf event
 * each (pid$target:libc.so.6::entry without uprobe_multi, fbt functions without kprobe_multi)
 * takes seconds to minutes, so the loop gives the event loop a turn every slice of work: a
 * SIGINT/SIGTERM is seen at once, and attaching stops there (the caller detaches what was
 * attached, as DTrace does on a signal during dtrace_go()).
 */
import type { Link } from '../bpf/link.js';
import type { BpfProgram } from '../bpf/program.js';
import type { ProbeInfo, ProgramSpecData } from '../program/spec.js';
import type { AttachedProbe, Provider } from '../providers/provider.js';
import { probeCounts, type AttachProgress } from './progress.js';

/**
 * Work done between two turns of the event loop (a perf uprobe takes ≈30 µs, 6.1 guest ≈1 ms).
 * A signal is seen only at a turn: on a fast machine 50 ms was ~350 more sites after Ctrl-C,
 * and 10 ms still ~220 (CI); a turn costs a few microseconds, so turns come every 2 ms
 * (≈60 sites here, under 1 % of the attach time spent turning).
 */
const SLICE_MS = 2;

export interface AttachOptions {
  providers: readonly Provider[];
  /** Every link, pushed as soon as it exists: the caller closes them, whatever happens here. */
  links: Link[];
  /** A probe the kernel refused and the provider skipped (one line, no `dtrace: ` prefix). */
  warn(line: string): void;
  /** True once attaching must stop (a signal, exit() in BEGIN, our reader gone). */
  shouldStop(): boolean;
  progress?: AttachProgress;
  /** Milliseconds of work between two turns of the event loop. */
  sliceMs?: number;
}

/** The probes of one program as its provider is told them. */
function probesOf(spec: ProgramSpecData, byId: ReadonlyMap<number, ProbeInfo>): AttachedProbe[] {
  return spec.probes.flatMap((id) => {
    const p = byId.get(id);
    return p ? [{ id, provider: p.provider, module: p.module, function: p.function, name: p.name }] : [];
  });
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Attaches every program whose runMode is 'attach', in order. Returns false when it stopped
 * before the end because `shouldStop()` said so (what was attached is in `links`). A failure
 * throws; the links made before it are in `links` too.
 */
export async function attachPrograms(programs: readonly { spec: ProgramSpecData; prog: BpfProgram }[], probes: readonly ProbeInfo[], o: AttachOptions): Promise<boolean> {
  const byId = new Map(probes.map((p) => [p.id, p]));
  const toAttach = programs.filter((p) => p.spec.runMode === 'attach');
  const sliceMs = o.sliceMs ?? SLICE_MS;
  // Progress counts probes: a program's are done when it is attached; while it attaches one
  // link per site (the per-site paths), each link is about one probe.
  const { total } = probeCounts(toAttach.map((p) => p.spec.probes.length));
  let doneBefore = 0;
  let sliceStart = performance.now();
  // Gives the event loop a turn once a slice of work is done; says whether to go on.
  const goOn = async (done: number): Promise<boolean> => {
    o.progress?.update(done, total);
    if (performance.now() - sliceStart < sliceMs) return true;
    await nextTurn();
    sliceStart = performance.now();
    return !o.shouldStop();
  };
  for (const { spec, prog } of toAttach) {
    if (o.shouldStop()) return false;
    const provider = o.providers.find((x) => x.name === spec.provider);
    if (provider) {
      const links = provider.attach({ name: spec.name, attach: spec.attach, probes: probesOf(spec, byId) }, prog, o.warn);
      let made = 0;
      for (const link of links) {
        o.links.push(link);
        made++;
        // Leaving the loop early ends the provider's generator (its finally blocks run).
        if (!(await goOn(doneBefore + Math.min(made, spec.probes.length - 1)))) return false;
      }
    }
    doneBefore += spec.probes.length;
    if (!(await goOn(doneBefore))) return false;
  }
  return true;
}
