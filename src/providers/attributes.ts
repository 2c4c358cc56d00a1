/**
 * @fileoverview The stability attributes providers declare (dtrace-utils' dtrace_pattr_t
 * tables), built from the few levels they use: each provider's table is one line naming the
 * attribute of its provider, module, function, name and args fields.
 */
import type { Attribute, DependencyClass, ProviderAttributes, Stability } from './provider.js';

const attr = (level: Stability, cls: DependencyClass): Attribute => ({ name: level, data: level, class: cls });

export const STABLE_COMMON = attr('Stable', 'Common');
export const EVOLVING_COMMON = attr('Evolving', 'Common');
export const EVOLVING_ISA = attr('Evolving', 'ISA');
export const UNSTABLE_UNKNOWN = attr('Unstable', 'Unknown');
export const PRIVATE_UNKNOWN = attr('Private', 'Unknown');
export const PRIVATE_ISA = attr('Private', 'ISA');

/** A provider's attributes, field by field as `-lv` prints them. */
export function providerAttributes(provider: Attribute, module: Attribute, fn: Attribute, name: Attribute, args: Attribute): ProviderAttributes {
  return { provider, module, function: fn, name, args };
}

/** syscall and fbt (dt_prov_syscall.c, dt_prov_fbt.c): functions of the kernel, ISA-dependent arguments. */
export const KERNEL_FUNCTION_ATTRIBUTES = providerAttributes(EVOLVING_COMMON, PRIVATE_UNKNOWN, PRIVATE_ISA, EVOLVING_COMMON, PRIVATE_ISA);
