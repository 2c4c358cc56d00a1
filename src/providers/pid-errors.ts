/**
 * @fileoverview Why a pid probe description is an error rather than a description that matches
 * nothing, as DTrace reports it (dt_pid.c's checks, made while it creates the probes): a
 * function that a named module does not have (D_PROC_FUNC), a probe name that is neither
 * entry, return nor a hex offset (D_PROC_NAME), an offset past the function's end (D_PROC_OFF),
 * the `-` (absolute address) function outside the executable (D_PROC_LIB) or with a glob name
 * (D_PROC_NAME), and `pid0` (D_PROC_BADPID). These are errors even where other probes match
 * and whatever -Z says: the user asked for something that cannot exist.
 */
import { type ProcessModule, matchModule, moduleElf } from '../bpf/elf/procmaps.js';
import { functionSymbols } from '../bpf/elf/symbols.js';
import { isGlob, matchProbeField } from '../bpf/elf/glob.js';
import type { ProbeDescFields, DescriptionError } from './provider.js';

/** Whether a pid probe name names probes: entry, return, a glob (entry, return and offsets) or a hex offset. */
function validProbeName(name: string): boolean {
  return name === '' || isGlob(name) || name === 'entry' || name === 'return' || /^[0-9a-fA-F]+$/.test(name);
}

/** `pid0`, which the provider field can never name: DTrace refuses it outright. */
export function pidProviderFieldError(providerField: string): DescriptionError | undefined {
  return providerField === 'pid0' ? { tag: 'D_PROC_BADPID', message: 'pid0 does not contain a valid pid' } : undefined;
}

/**
 * The error a pid description is in process `pid` with these modules, or undefined when it is
 * well formed (it may still match nothing, e.g. a glob no function fits).
 */
export function pidDescriptionError(pid: number, modules: readonly ProcessModule[], desc: ProbeDescFields): DescriptionError | undefined {
  const { module, function: func, name } = desc;
  if (func === '-') {
    // `-`: the name is an absolute address in the executable.
    if (module !== '' && (isGlob(module) || !modules.some((m) => m.isExecutable && matchModule(module, m)))) {
      return { tag: 'D_PROC_LIB', message: "only the a.out module is valid with the '-' function" };
    }
    if (name === '' || isGlob(name)) {
      return { tag: 'D_PROC_NAME', message: "only individual addresses may be specified with the '-' function" };
    }
    return undefined;
  }
  const exactFunction = func !== '' && !isGlob(func);
  const exactModule = module !== '' && !isGlob(module);
  let found = false;
  for (const mod of modules) {
    if (!matchModule(module, mod)) continue;
    const elf = moduleElf(mod, pid);
    if (!elf) continue;
    for (const sym of functionSymbols(elf)) {
      if (exactFunction ? sym.name !== func : !matchProbeField(func, sym.name)) continue;
      found = true;
      if (!validProbeName(name)) return { tag: 'D_PROC_NAME', message: `'${name}' is an invalid probe name` };
      if (/^[0-9a-fA-F]+$/.test(name) && sym.sizeBytes > 0) {
        const offset = BigInt(`0x${name}`);
        if (offset >= BigInt(sym.sizeBytes)) return { tag: 'D_PROC_OFF', message: `offset 0x${offset.toString(16)} outside of function '${sym.name}'` };
      }
    }
  }
  if (!found && exactFunction && exactModule && modules.some((m) => matchModule(module, m))) {
    return { tag: 'D_PROC_FUNC', message: `failed to lookup '${func}' in module '${module}'` };
  }
  return undefined;
}
