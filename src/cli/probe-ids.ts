/**
 * @fileoverview Probe ids as `dtrace -l` numbers them, and the description of the probe with a
 * given id (`-i ID`, an ID in a program). Apart from the listing (listing.ts, loaded on use),
 * because every compilation may resolve an id.
 */
import { allProviders } from '../providers/registry.js';
import type { Provider, ProbeSite } from '../providers/provider.js';

/**
 * Probe ids as DTrace gives them: BEGIN, END, ERROR are 1–3, then every provider's listed
 * probes in registry order; a probe a provider creates on demand (pid offsets, profile-N)
 * gets the next id when first seen.
 */
export interface ProbeIds {
  all(): { id: number; provider: Provider; site: ProbeSite }[];
  idOf(site: ProbeSite): number;
}

export function probeIds(): ProbeIds {
  let table: { id: number; provider: Provider; site: ProbeSite }[] | undefined;
  const byKey = new Map<string, number>();
  const key = (s: ProbeSite) => `${s.provider}:${s.module}:${s.function}:${s.name}`;
  const all = () => {
    if (!table) {
      table = [];
      for (const provider of allProviders()) {
        for (const site of provider.list()) {
          const id = table.length + 1;
          table.push({ id, provider, site });
          byKey.set(key(site), id);
        }
      }
    }
    return table;
  };
  return {
    all,
    idOf(site) {
      all();
      let id = byKey.get(key(site));
      if (id === undefined) {
        id = byKey.size + 1;
        byKey.set(key(site), id);
      }
      return id;
    },
  };
}

/** The full description of the probe with ID `id` (a -i argument, or an ID in a program). */
export function probeDescriptionById(id: number): string | undefined {
  const probe = probeIds().all().find((p) => p.id === id);
  if (!probe) return undefined;
  const s = probe.site;
  return `${s.provider}:${s.module}:${s.function}:${s.name}`;
}
