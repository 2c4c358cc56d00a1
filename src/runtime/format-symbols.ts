/**
 * @fileoverview Symbols for printf()/printa() address conversions of plain integers: `%A` is a
 * user address of the -c/-p target (``obj`sym+0xoff``), as dtrace_uaddr2str prints it — hotuser's
 * `printa("%A %@d\n", @pc)` over `@pc[arg1]`. `%a`, a kernel address, needs no context: the
 * formatter names it from kallsyms itself (dtrace_addr2str), for every consumer, JSON's too.
 */
import type { CompiledProgram } from '../program/spec.js';
import { compilePrintf, isPrintfError, type FormatContext } from '../consume/format/printf.js';
import { formatUserAddress } from '../consume/usyms.js';

/** The format context of a consumer whose -c/-p target (if any) is `targetPid`. */
export function addressFormatContext(targetPid: number | undefined): FormatContext {
  return {
    userSymbol: (pid, addr) => {
      const p = pid !== undefined && pid !== 0n ? Number(pid) : targetPid;
      return p === undefined ? undefined : formatUserAddress(p, addr);
    },
  };
}

/** True when some printf()/printa() format has a `%A`: the target's mappings must be kept. */
export function formatsUseUserAddresses(compiled: CompiledProgram): boolean {
  return compiled.clauses.some((c) => c.actions.some((x) => {
    if ((x.kind !== 'printf' && x.kind !== 'printa') || x.format === undefined) return false;
    const program = compilePrintf(x.format);
    return !isPrintfError(program) && program.directives.some((d) => d.conv.print === 'uaddr');
  }));
}
