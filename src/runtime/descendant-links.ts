/**
 * @fileoverview The probes of the processes a target forks. `pid$target` and `<prov>$target`
 * probes are uprobes filtered on the target (the kernel's pid filter and the trampoline's tgid
 * test), so a child the target forks fires nothing: it inherits the breakpoints with its copy
 * of the memory, the filter rejects it and the kernel removes them at its first hit. The
 * tracer follows the target's forks with ptrace (runtime/traced-family.ts): while a new child
 * is stopped before its first instruction, the same sites are attached again for it (its own
 * links, filtered on it) and it is entered in the programs' `followed_pids` map (child → the
 * target), which the trampolines' tgid test accepts (a vfork child, in its parent's memory,
 * needs only that). When the child exits or execs, its links are closed and its entry deleted:
 * after an exec it runs another image, and nothing is resolved again. Its probes keep the
 * target's names (`pid<target>`); `pid` is the child's.
 */
import { closeLinksAsync, type Link } from '../bpf/link.js';
import { SysError } from '../bpf/errors.js';
import type { BpfMap } from '../bpf/map.js';
import type { BpfProgram } from '../bpf/program.js';
import type { ProbeInfo, ProgramSpecData } from '../program/spec.js';
import type { Provider } from '../providers/provider.js';
import { FOLLOWED_MAP } from '../providers/usdt.js';
import { detachLinks } from './detach.js';

/** What the process tracer tells about the family of a target (runtime/traced-family.ts). */
export interface ForkHooks {
  /** Whether `pid`'s forks are followed: a target with per-process probes, or a followed child. */
  follows(pid: number): boolean;
  /**
   * Process `parent` forked `child`, which is stopped before its first instruction.
   * `sharesMemory`: a vfork child, running in its parent's memory until it execs or exits.
   */
  forked(parent: number, child: number, sharesMemory: boolean): void;
  /** `pid`, a followed child, exited or exec'd: its probes go. */
  gone(pid: number): void;
  /** Target `pid` cannot be traced (errno name `why`): what it forks is not followed. */
  cannotFollow(pid: number, why: string): void;
}

const ESRCH = 3;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** The links of the followed children of the targets of one run. */
export class DescendantLinks implements ForkHooks {
  /** Followed child → the target it descends from. */
  private readonly targetOf = new Map<number, number>();
  private readonly linksOf = new Map<number, Link[]>();
  private closed = false;
  /** Links of gone children being closed (a per-site perf uprobe takes tens of ms to release). */
  private readonly closing: Promise<void>[] = [];

  constructor(
    private readonly programs: readonly { spec: ProgramSpecData; prog: BpfProgram }[],
    private readonly probes: readonly ProbeInfo[],
    private readonly providers: readonly Provider[],
    private readonly followed: Pick<BpfMap, 'update' | 'delete'> | undefined,
    private readonly warn: (line: string) => void,
  ) {}

  /** The attached programs of `target`'s per-process providers, each with its provider. */
  private programsOf(target: number): { spec: ProgramSpecData; prog: BpfProgram; provider: Provider }[] {
    const out: { spec: ProgramSpecData; prog: BpfProgram; provider: Provider }[] = [];
    for (const p of this.programs) {
      if (p.spec.runMode !== 'attach') continue;
      const provider = this.providers.find((x) => x.name === p.spec.provider);
      if (provider?.process === target) out.push({ ...p, provider });
    }
    return out;
  }

  follows(pid: number): boolean {
    if (this.closed || !this.followed) return false;
    return this.targetOf.has(pid) || this.programsOf(pid).length > 0;
  }

  forked(parent: number, child: number, sharesMemory: boolean): void {
    if (this.closed || !this.followed) return;
    const target = this.targetOf.get(parent) ?? parent;
    const programs = this.programsOf(target);
    if (programs.length === 0) return;
    const byId = new Map(this.probes.map((p) => [p.id, p]));
    const links: Link[] = [];
    this.linksOf.set(child, links);
    this.targetOf.set(child, target);
    try {
      this.followed.update(u32(child), u32(target));
      // A vfork child hits the breakpoints of its parent's memory, and the kernel's filters
      // (by memory: the uprobe filter, uprobe_multi's task) pass it for the parent's links:
      // links of its own would run the program twice per firing.
      if (sharesMemory) return;
      for (const { spec, prog, provider } of programs) {
        const probes = spec.probes.flatMap((id) => {
          const p = byId.get(id);
          return p ? [{ id, provider: p.provider, module: p.module, function: p.function, name: p.name }] : [];
        });
        // Sites the kernel refused for the target were reported then: not again per child.
        for (const link of provider.attach({ name: spec.name, attach: spec.attach, probes, process: child }, prog, () => undefined)) links.push(link);
      }
    } catch (e) {
      // ESRCH: it was killed while it waited for its probes (nothing to say).
      if (!(e instanceof SysError && e.errno === ESRCH)) this.warn(`pid ${child}, forked by ${parent}, is not traced: ${e instanceof Error ? e.message : String(e)}`);
      this.gone(child);
    }
  }

  cannotFollow(pid: number, why: string): void {
    this.warn(`pid ${pid} cannot be ptraced (${why}): the processes it forks are not traced`);
  }

  gone(pid: number): void {
    const links = this.linksOf.get(pid);
    if (!links) return;
    this.linksOf.delete(pid);
    this.targetOf.delete(pid);
    try { this.followed?.delete(u32(pid)); } catch { /* the map is closed */ }
    if (!this.closed) this.closing.push(closeLinksAsync(links));
    else for (const l of links) l.close();
  }

  /** Stops following (the run is over) and detaches every child's links. */
  async detachAll(opts: { inBackground: boolean }): Promise<void> {
    this.closed = true;
    const links = [...this.linksOf.values()].flat();
    this.linksOf.clear();
    this.targetOf.clear();
    await Promise.all([detachLinks(links, opts), ...this.closing.splice(0)]);
  }

  /** Closes what is left at once (the run failed). */
  close(): void {
    this.closed = true;
    for (const links of this.linksOf.values()) for (const l of links) l.close();
    this.linksOf.clear();
  }
}

/** The map the trampolines' tgid test reads, when the program has per-process probes. */
export function followedMapOf(maps: ReadonlyMap<string, BpfMap>): BpfMap | undefined {
  return maps.get(FOLLOWED_MAP.name);
}
