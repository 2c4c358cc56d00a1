/**
 * @fileoverview "Did you mean …?" hints for the diagnostics a misspelt name causes: an unknown
 * variable, function, member or option name, and a probe description that matches nothing
 * (nearest provider, then function, then probe name). The compiler stages report DTrace's
 * message; the command adds the hint here, where every table of names is in reach.
 */
import type { Diagnostic } from '../diag/diagnostic.js';
import { didYouMean } from '../diag/suggest.js';
import { BUILTIN_VARIABLES } from '../builtins/variables.js';
import { BUILTIN_FUNCTIONS } from '../builtins/signatures.js';
import { libraryNames } from '../check/library.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { kernelSymbols } from '../consume/ksyms.js';
import { allProviders } from '../providers/registry.js';
import { matchProbeField } from '../bpf/elf/glob.js';
import type { Provider, ProbeSite } from '../providers/provider.js';
import type { SysError } from '../bpf/errors.js';
import { physicalPosition, type Source } from '../diag/source.js';
import { basename } from 'node:path';

/** Identifiers written in the program texts: the user's own variables are candidates too. */
function programIdentifiers(texts: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) names.add(m[0]);
  return names;
}

const GLOB = /[*?[\\]/;

/** The probe fields a description names; a hint only for the first field that matches nothing. */
function probeHint(desc: string): string | undefined {
  const [provider = '', module = '', func = '', name = ''] = desc.split(':');
  if (provider === '' || GLOB.test(provider)) return undefined;
  const providers = allProviders().filter((p) => matchProbeField(provider, p.name));
  if (providers.length === 0) {
    const near = didYouMean(provider, allProviders().map((p) => p.name));
    return near ?? `no provider is called \`${provider}\` (dtrace -l lists the probes there are)`;
  }
  const sites = (p: Provider): ProbeSite[] => { try { return [...p.list()]; } catch { return []; } };
  const all = providers.flatMap(sites).filter((s) => module === '' || matchProbeField(module, s.module));
  if (func !== '' && !GLOB.test(func) && !all.some((s) => matchProbeField(func, s.function))) {
    return didYouMean(func, new Set(all.map((s) => s.function)));
  }
  const inFunc = all.filter((s) => func === '' || matchProbeField(func, s.function));
  if (name !== '' && !GLOB.test(name) && !inFunc.some((s) => matchProbeField(name, s.name))) {
    return didYouMean(name, new Set(inFunc.map((s) => s.name)));
  }
  return undefined;
}

/**
 * A diagnostic located in the D library (lib/*.d, -L files) is about the user's program that
 * brought the library in: it names that program, and the library file by its base name and
 * line instead of an install path.
 */
export function relocatedFromLibrary(d: Diagnostic, userSource: Source | undefined): Diagnostic {
  const span = d.span;
  if (!span || span.source.kind !== 'library' || userSource === undefined) return d;
  const { line } = physicalPosition(span.source, span.start);
  return { ...d, span: undefined, source: userSource, message: `${d.message} (in the D library: ${basename(span.source.name)}, line ${line})` };
}

/** What to do about a kernel refusal while enabling, in one line (the common causes). */
export function sysErrorHint(e: SysError): string | undefined {
  switch (e.code) {
    case 'ENOMEM': case 'E2BIG':
      return 'the kernel refused memory for BPF maps or programs: lower -b / -x bufsize, aggsize, dynvarsize or strsize, or raise the locked-memory limit (ulimit -l)';
    case 'EPERM': case 'EACCES':
      return 'tracing needs root or the capabilities CAP_BPF and CAP_PERFMON; a kernel in lockdown (confidentiality) or with kernel.unprivileged_bpf_disabled refuses too';
    case 'EBUSY':
      return 'another tool holds the probe point exclusively (a debugger, or a perf event of another tracer): stop it and retry';
    default: return undefined;
  }
}

/**
 * Why a kernel variable cannot be named: a kernel built without CONFIG_KALLSYMS_ALL lists only
 * its functions in /proc/kallsyms, and its BTF types only per-CPU variables.
 */
function kernelDataSymbolHint(): string | undefined {
  let table;
  try { table = kernelSymbols(); } catch { return undefined; }
  const data = table.buf.toString('latin1').match(/^[0-9a-f]+ [dDbB] /gm)?.length ?? 0;
  return data >= DATA_SYMBOLS_OF_KALLSYMS_ALL ? undefined
    : 'this kernel\'s /proc/kallsyms lists no data symbols (it was built without CONFIG_KALLSYMS_ALL): kernel variables cannot be named here';
}

/** Fewer data symbols than this in kallsyms: a kernel without CONFIG_KALLSYMS_ALL (which lists tens of thousands). */
const DATA_SYMBOLS_OF_KALLSYMS_ALL = 1000;

/** `d` with a hint added when its message names something misspelt and a near name exists. */
export function withHint(d: Diagnostic, programTexts: readonly string[]): Diagnostic {
  if (d.hint !== undefined) return d;
  let hint: string | undefined;
  let m: RegExpExecArray | null;
  if (d.tag === 'D_IDENT_UNDEF' && (m = /failed to resolve \S*`(\S+):/.exec(d.message))) {
    // A kernel symbol (`` `name ``): the program's own identifiers are no candidates.
    hint = kernelDataSymbolHint();
  } else if ((d.tag === 'D_IDENT_UNDEF' || d.tag === 'D_VAR_UNDEF') && (m = /failed to resolve (\S+):/.exec(d.message))) {
    const known = programIdentifiers(programTexts);
    known.delete(m[1]!);
    // The program's own names first: a tie goes to the user's variable.
    hint = didYouMean(m[1]!, [...known, ...BUILTIN_VARIABLES.keys(), ...libraryNames(), ...BUILTIN_FUNCTIONS.keys()]);
  } else if (d.tag === 'D_FUNC_UNDEF' && (m = /undefined function name: (\S+)/.exec(d.message))) {
    hint = didYouMean(m[1]!, BUILTIN_FUNCTIONS.keys());
  } else if (d.tag === 'D_TYPE_MEMBER' && (m = /^(\S+) is not a member of (struct|union) (\S+)/.exec(d.message))) {
    const type = kernelTypeSource()?.structType(m[2] as 'struct' | 'union', m[3]!);
    hint = type?.members ? didYouMean(m[1]!, type.members.flatMap((x) => (x.name ? [x.name] : []))) : undefined;
  } else if (d.tag === 'D_PDESC_ZERO' && (m = /probe description (\S+) does not match/.exec(d.message))) {
    hint = probeHint(m[1]!);
  }
  return hint === undefined ? d : { ...d, hint };
}
