/**
 * @fileoverview Where CO-RE relocations look for their target types: the running kernel's
 * vmlinux BTF first and, only when vmlinux has no candidate of that name, the modules' BTF
 * (as libbpf's bpf_core_find_cands does). A candidate has the local type's kind (enum and
 * enum64 count as one) and the same name once `___flavor` suffixes are dropped on both sides.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { KERNEL_BTF_PATH, loadBtf, loadKernelBtf, type Btf, type BtfKind, type TypeId } from '../btf/index.js';
import { essentialName } from './spec.js';

export interface CoreCandidate { btf: Btf; id: TypeId; source: string }

export interface CoreCandidateSource {
  candidates(kind: BtfKind, essential: string): CoreCandidate[];
}

function kindKey(kind: BtfKind): string { return kind === 'enum64' ? 'enum' : kind; }

interface IndexedBtf { btf: Btf; source: string; index: Map<string, TypeId[]> | undefined }

function indexOf(entry: IndexedBtf): Map<string, TypeId[]> {
  if (entry.index) return entry.index;
  const index = new Map<string, TypeId[]>();
  const { btf } = entry;
  for (let id = btf.firstId; id < btf.typeCount; id++) {
    const name = btf.nameOf(id);
    if (!name) continue;
    const key = `${kindKey(btf.kindOf(id))}\0${essentialName(name)}`;
    const list = index.get(key);
    if (list) list.push(id); else index.set(key, [id]);
  }
  entry.index = index;
  return index;
}

/** Candidates from explicit BTFs: the first is the main one, the rest are searched only when it has none. */
export function candidatesFromBtfs(main: Btf, extra: () => { btf: Btf; source: string }[] = () => []): CoreCandidateSource {
  const mainEntry: IndexedBtf = { btf: main, source: 'vmlinux', index: undefined };
  let extras: IndexedBtf[] | undefined;
  return {
    candidates(kind, essential) {
      const key = `${kindKey(kind)}\0${essential}`;
      const found = (indexOf(mainEntry).get(key) ?? []).map((id) => ({ btf: main, id, source: 'vmlinux' }));
      if (found.length > 0) return found;
      extras ??= extra().map((e) => ({ ...e, index: undefined }));
      return extras.flatMap((e) => (indexOf(e).get(key) ?? []).map((id) => ({ btf: e.btf, id, source: e.source })));
    },
  };
}

/** The running kernel: /sys/kernel/btf/vmlinux, then /sys/kernel/btf/<module>. */
export function kernelCandidates(): CoreCandidateSource {
  const vmlinux = loadKernelBtf();
  return candidatesFromBtfs(vmlinux, () => {
    const dir = KERNEL_BTF_PATH.replace(/\/vmlinux$/, '');
    if (!existsSync(dir)) return [];
    const out: { btf: Btf; source: string }[] = [];
    for (const name of readdirSync(dir)) {
      if (name === 'vmlinux') continue;
      try {
        out.push({ btf: loadBtf(readFileSync(`${dir}/${name}`), vmlinux), source: name });
      } catch {
        // A module BTF that does not parse is no candidate; the relocation may still resolve elsewhere.
      }
    }
    return out;
  });
}
