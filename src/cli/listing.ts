/**
 * @fileoverview `dtrace -l` (cmd/dtrace.c list_probe, print_probe_info): probe ids, the
 * listing and its -v details; also `-i ID` resolution and the "why no probes" hint.
 */
import type * as A from '../lang/ast.js';
import { allProviders, matchProbes } from '../providers/registry.js';
import { matchProbeField } from '../bpf/elf/glob.js';
import type { Provider, ProbeSite } from '../providers/provider.js';
import { probeInfoBlock, descriptionAttr, PRIVATE_PROVIDER } from './stability.js';
import { probeIds } from './probe-ids.js';

function listLine(id: number | string, prov: string, mod: string, func: string, name: string): string {
  return `${String(id).padStart(5)} ${prov.padStart(10)} ${mod.padStart(17)} ${func.padStart(33)} ${name}\n`;
}

/**
 * The `-v` block under a listed probe (print_probe_info): the probe's attributes are the
 * minimum over the provider and each non-empty field (dt_probe_info), then the argument
 * attributes and args[] types (translated type when there is one).
 */
function probeInfoText(provider: Provider, site: ProbeSite, verbose: number): string {
  const pa = provider.attributes ?? PRIVATE_PROVIDER;
  return probeInfoBlock(provider, site, descriptionAttr(pa, site, (f) => f === ''), pa.args, verbose >= 2);
}

export function listAll(out: (t: string) => void, verbose: number): number {
  let text = listLine('ID', 'PROVIDER', 'MODULE', 'FUNCTION', 'NAME');
  for (const { id, provider, site } of probeIds().all()) {
    text += listLine(id, site.provider, site.module, site.function, site.name);
    if (verbose) text += probeInfoText(provider, site, verbose);
  }
  out(text);
  return 0;
}

/** Adds, as a second stderr line, why a provider a description names offers no probes here. */
export function unavailableHint(d: { provider: string; module: string; function: string; name: string }): string | undefined {
  for (const p of allProviders()) {
    if (!matchProbeField(d.provider, p.name) || d.provider === '') continue;
    const reason = p.unavailableReason?.(d);
    if (reason) return reason;
  }
  return undefined;
}

export function listMatching(asts: A.Program[], out: (t: string) => void, err: (t: string) => void, verbose: number): number {
  let text = listLine('ID', 'PROVIDER', 'MODULE', 'FUNCTION', 'NAME');
  const ids = probeIds();
  for (const ast of asts) {
    for (const item of ast.items) {
      if (item.kind !== 'Clause') continue;
      for (const d of item.probes) {
        const found = matchProbes(d);
        if (found.length === 0) {
          out(text);
          text = '';
          err(`dtrace: failed to match ${d.provider}:${d.module}:${d.function}:${d.name}: No probe matches description`);
          const hint = unavailableHint(d);
          if (hint) err(`dtrace: ${hint}`);
        }
        for (const { provider, site } of found) {
          text += listLine(ids.idOf(site), site.provider, site.module, site.function, site.name);
          if (verbose) text += probeInfoText(provider, site, verbose);
        }
      }
    }
  }
  out(text);
  return 0;
}

