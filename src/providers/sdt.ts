/**
 * @fileoverview The sdt provider (providers-on-linux.md §5): `sdt:<group>::<event>` for every
 * kernel tracepoint, with argN = the event's format fields after the `common_*` header, in
 * order (tracefs `events/<group>/<event>/format`). A BPF_PROG_TYPE_TRACEPOINT program sees
 * the trace record itself: integer fields are loaded at their offset and size, sign-extended
 * when the format says `signed:1`; an array field (`char prev_comm[16]`) and a `__data_loc`
 * field (a variable-length tail) give the address of their bytes in the record.
 *
 * This is the "any tracepoint with its format fields" provider; rawtp gives the same events
 * with their C prototype arguments instead and detaches much faster (a perf-event tracepoint
 * takes 60–80 ms to detach, design/MACHINE.md).
 */
import { attachTracepoint } from '../bpf/link.js';
import { R1, R2, R9, R10, imm } from '../bpf/asm/insn.js';
import { tracepointFormat, type TracepointField } from '../bpf/tracefs.js';
import { tracepointSites, TRACEPOINT_ATTRIBUTES } from './rawtp.js';
import type { Provider, EnabledProbe, ProgramPlan, ProbeArgDesc, ProbeSite } from './provider.js';

const MAX_ARGS = 10;

const fieldCache = new Map<string, TracepointField[]>();

/** The argument fields of an event (its format's non-common fields); empty when unreadable. */
function argFields(site: ProbeSite): TracepointField[] {
  const key = `${site.module}:${site.name}`;
  let fields = fieldCache.get(key);
  if (!fields) {
    try {
      fields = tracepointFormat(site.module, site.name).fields.filter((f) => !f.common);
    } catch {
      fields = [];
    }
    fieldCache.set(key, fields);
  }
  return fields;
}

/** The D type of a field as an argument: arrays and `__data_loc` tails are pointers to their bytes. */
function argType(f: TracepointField): string {
  if (f.dataLoc) return `${f.type.replace(/^__data_loc\s+/, '').replace(/\s*\[\d*\]$/, '')} *`;
  if (f.arrayLength !== undefined || /\[\w*\]$/.test(f.type)) return `${f.type.replace(/\s*\[\w*\]$/, '')} *`;
  return f.type;
}

/** Attaches to the tracepoint category:name. */
export const sdtProvider: Provider<undefined, { category: string; name: string }> = {
  name: 'sdt',
  attributes: TRACEPOINT_ATTRIBUTES,
  match: (desc) => tracepointSites('sdt', desc),
  list: () => tracepointSites('sdt', undefined),
  argDescs(site): ProbeArgDesc[] {
    return argFields(site).slice(0, MAX_ARGS).map((f, i) => ({ mapping: i, native: argType(f) }));
  },
  plan(enabled: EnabledProbe<undefined>[]): ProgramPlan<{ category: string; name: string }, undefined>[] {
    return enabled.map((p) => {
      const fields = argFields(p.site).slice(0, MAX_ARGS);
      return {
        name: `sdt_${p.site.name}`,
        bpfType: 'tracepoint',
        attach: { category: p.site.module, name: p.site.name },
        probes: [p],
        runMode: 'attach',
        emitTrampoline(t) {
          const a = t.asm;
          fields.forEach((f, i) => {
            a.ldx(8, R1, R10, -8);
            if (f.dataLoc) {
              // u32 (length << 16 | offset from the record start).
              a.ldx(4, R2, R1, f.offsetBytes).alu64('and', R2, imm(0xffff)).alu64('add', R1, R2);
            } else if (f.arrayLength !== undefined || /\[\w*\]$/.test(f.type)) {
              a.alu64('add', R1, imm(f.offsetBytes));
            } else {
              const size = ([1, 2, 4, 8] as const).find((s) => s === f.sizeBytes) ?? 8;
              a.ldx(size, R1, R1, f.offsetBytes);
              if (f.signed && size < 8) a.movsx(R1, R1, (size * 8) as 8 | 16 | 32);
            }
            a.stx(8, R9, t.argOffset(i), R1);
          });
          for (let i = fields.length; i < MAX_ARGS; i++) a.st(8, R9, t.argOffset(i), 0);
          t.emitClauses(p.id);
        },
      };
    });
  },
  attach(req, prog) {
    const { category, name } = req.attach;
    return [attachTracepoint(prog, category, name, `attach sdt:${category}::${name}`)];
  },
};
