/**
 * @fileoverview The fbt provider (providers-on-linux.md §4): kernel function entry and return.
 * DTrace reaches kernel functions through fentry/fexit (BPF trampolines) or kprobes; a
 * kernel with neither (this project's target: no CONFIG_KPROBES, fentry loads give EPERM)
 * has no fbt probes at all. As the spec asks, the provider then lists nothing and matches
 * nothing — so `fbt:::` fails with DTrace's usual "does not match any probes" — and
 * `unavailableReason()` names the missing kernel features for the CLI to add as a hint.
 *
 * Attaching through the kprobe PMU where kprobes exist is not written yet; on such a kernel
 * the reason says so instead of pretending the kernel is at fault.
 */
import { featureStatus } from '../bpf/features.js';
import type { Provider, ProviderAttributes } from './provider.js';

const FBT_ATTRIBUTES: ProviderAttributes = {
  provider: { name: 'Evolving', data: 'Evolving', class: 'Common' },
  module: { name: 'Private', data: 'Private', class: 'Unknown' },
  function: { name: 'Private', data: 'Private', class: 'ISA' },
  name: { name: 'Evolving', data: 'Evolving', class: 'Common' },
  args: { name: 'Private', data: 'Private', class: 'ISA' },
};

let reason: string | undefined | null;

export const fbtProvider: Provider = {
  name: 'fbt',
  attributes: FBT_ATTRIBUTES,
  match: () => [],
  list: () => [],
  plan: () => [],
  attach: () => [],
  unavailableReason(): string | undefined {
    if (reason === undefined) {
      const kprobes = featureStatus('kprobe_pmu');
      const fentry = featureStatus('fentry');
      if (kprobes.available || fentry.available) {
        reason = `fbt probes are not implemented for this kernel's ${kprobes.available ? 'kprobes' : 'fentry'} yet`;
      } else {
        const why = [kprobes.reason, fentry.reason].filter(Boolean).map((r, i) => (i === 0 ? r : r!.replace(/^this kernel has /, '')));
        reason = `fbt needs kprobes (CONFIG_KPROBES) or BPF trampolines (fentry): ${why.join(' and ')}`;
      }
    }
    return reason ?? undefined;
  },
};
