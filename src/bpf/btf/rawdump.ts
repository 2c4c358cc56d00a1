/**
 * @fileoverview BTF → the text `bpftool btf dump file F format raw` prints: one `[id] KIND 'name'
 * …` line per type, with members, enumerators, parameters and section variables indented below
 * it. Useful to inspect a BTF set and to diff our decoder against bpftool's.
 */
import type { Btf, BtfType, TypeId } from './types.js';

function quoted(name: string): string {
  return `'${name || '(anon)'}'`;
}

/** One type as bpftool prints it (several lines for struct, enum, func_proto, datasec). */
export function formatRawType(btf: Btf, t: BtfType): string {
  const head = `[${t.id}] ${t.kind.toUpperCase()} ${quoted(t.name)}`;
  switch (t.kind) {
    case 'void': return `[0] VOID 'void'`;
    case 'int': {
      const encoding = t.signed ? 'SIGNED' : t.isChar ? 'CHAR' : t.isBool ? 'BOOL' : '(none)';
      return `${head} size=${t.sizeBytes} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${encoding}`;
    }
    case 'ptr': case 'typedef': case 'volatile': case 'const': case 'restrict': case 'type_tag':
      return `${head} type_id=${t.type}`;
    case 'array':
      return `${head} type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case 'struct': case 'union': {
      const lines = [`${head} size=${t.sizeBytes} vlen=${t.members.length}`];
      for (const m of t.members) {
        const bitfield = t.kindFlag && m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : '';
        lines.push(`\t${quoted(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${bitfield}`);
      }
      return lines.join('\n');
    }
    case 'enum': case 'enum64': {
      const lines = [`${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.sizeBytes} vlen=${t.values.length}`];
      const suffix = t.kind === 'enum64' ? (t.signed ? 'LL' : 'ULL') : '';
      for (const v of t.values) lines.push(`\t${quoted(v.name)} val=${v.value}${suffix}`);
      return lines.join('\n');
    }
    case 'fwd': return `${head} fwd_kind=${t.fwdKind}`;
    case 'func': return `${head} type_id=${t.type} linkage=${t.linkage}`;
    case 'func_proto': {
      const voidParams = t.variadic || t.explicitVoid ? 1 : 0;
      const lines = [`${head} ret_type_id=${t.returnType} vlen=${t.params.length + voidParams}`];
      for (const p of t.params) lines.push(`\t${quoted(p.name)} type_id=${p.type}`);
      if (voidParams) lines.push(`\t'(anon)' type_id=0`);
      return lines.join('\n');
    }
    case 'var': return `${head} type_id=${t.type}, linkage=${t.linkage}`;
    case 'datasec': {
      const lines = [`${head} size=${t.sizeBytes} vlen=${t.vars.length}`];
      for (const v of t.vars) {
        lines.push(`\ttype_id=${v.type} offset=${v.offsetBytes} size=${v.sizeBytes} (${btf.kindOf(v.type).toUpperCase()} ${quoted(btf.nameOf(v.type))})`);
      }
      return lines.join('\n');
    }
    case 'float': return `${head} size=${t.sizeBytes}`;
    case 'decl_tag': return `${head} type_id=${t.type} component_idx=${t.componentIndex}`;
  }
}

/** Every type of `btf` (for split BTF, only its own), one block per type, newline-terminated. */
export function dumpRaw(btf: Btf, ids?: Iterable<TypeId>): string {
  const out: string[] = [];
  if (ids) for (const id of ids) out.push(formatRawType(btf, btf.typeById(id)));
  else for (const t of btf.types()) out.push(formatRawType(btf, t));
  return out.length ? `${out.join('\n')}\n` : '';
}
