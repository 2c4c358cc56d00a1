/**
 * @fileoverview `dtrace bpf prog|map|link list` and `prog dump ID` / `map dump ID`: what is loaded
 * on the system, in `bpftool … show` style lines; a program's translated instructions through our
 * disassembler; a map's entries typed by the BTF its creator gave it (as `bpftool map dump` does),
 * as hex when it has none.
 */
import { decode } from '../bpf/asm/encode.js';
import { disassemble } from '../bpf/asm/disasm.js';
import { openMap } from '../bpf/map.js';
import type { MapTypeName } from '../bpf/uapi.js';
import { loadBtf, type Btf } from '../bpf/btf/index.js';
import { btfBytesById, fdById, linkInfoById, listIds, mapInfoById, progInfoById } from '../bpf/elf/system-objects.js';
import { formatTypedEntries, hexBytes } from './bpf-format.js';

function progLine(id: number): string | undefined {
  const p = progInfoById(id);
  if (!p) return undefined;
  return `${p.id}: ${p.type}  name ${p.name || '-'}  tag ${p.tag}\n\txlated ${p.xlatedBytes}B  jited ${p.jitedBytes}B${p.mapIds.length ? `  map_ids ${p.mapIds.join(',')}` : ''}\n`;
}

function mapLine(id: number): string | undefined {
  const m = mapInfoById(id);
  if (!m) return undefined;
  return `${m.id}: ${m.type}  name ${m.name || '-'}  flags 0x${m.flags.toString(16)}\n\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}\n`;
}

function linkLine(id: number): string | undefined {
  const l = linkInfoById(id);
  return l ? `${l.id}: ${l.type}  prog ${l.progId}\n` : undefined;
}

/** The map's own BTF (its creator loaded it), or undefined when it is gone or unreadable: the dump is hex then. */
function mapBtf(btfId: number): Btf | undefined {
  try {
    const bytes = btfBytesById(btfId);
    return bytes ? loadBtf(bytes) : undefined;
  } catch {
    return undefined;
  }
}

function dumpMap(id: number): string {
  const m = mapInfoById(id);
  const fd = fdById('map', id);
  if (!m || fd === undefined) throw new Error(`no map with id ${id}`);
  const map = openMap(fd, { name: m.name, type: m.type as MapTypeName, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries });
  try {
    if (m.type === 'ringbuf' || m.type === 'perf_event_array' || m.type === 'user_ringbuf') return `map ${id} (${m.type}) cannot be dumped\n`;
    const { keys, values } = map.lookupBatch();
    const btf = m.btfId && m.btfKeyTypeId && m.btfValueTypeId ? mapBtf(m.btfId) : undefined;
    if (btf) return formatTypedEntries(btf, m.btfKeyTypeId, m.btfValueTypeId, keys, values, map.perCpu ? map.valueStrideBytes : undefined);
    let out = '';
    for (let i = 0; i < keys.length; i++) out += `key: ${hexBytes(keys[i]!)}  value: ${hexBytes(values[i]!)}\n`;
    return out + `Found ${keys.length} element${keys.length === 1 ? '' : 's'}\n`;
  } finally {
    map.close();
  }
}

export function runInspectCommand(cls: 'prog' | 'map' | 'link', argv: string[], usage: string): number {
  const [verb, idText] = argv;
  try {
    if (verb === 'list' || verb === 'show' || verb === undefined) {
      const line = cls === 'prog' ? progLine : cls === 'map' ? mapLine : linkLine;
      for (const id of listIds(cls)) process.stdout.write(line(id) ?? '');
      return 0;
    }
    if (verb === 'dump' && cls !== 'link') {
      const id = Number(idText);
      if (!Number.isInteger(id) || id <= 0) { process.stderr.write(`dtrace: bpf ${cls} dump: expected an id\n${usage}`); return 2; }
      if (cls === 'map') { process.stdout.write(dumpMap(id)); return 0; }
      const p = progInfoById(id, true);
      if (!p?.insns) throw new Error(`no program with id ${id}`);
      process.stdout.write(`${p.id}: ${p.type}  name ${p.name || '-'}  tag ${p.tag}\n${disassemble(decode(p.insns))}`);
      return 0;
    }
  } catch (e) {
    process.stderr.write(`dtrace: bpf ${cls} ${verb}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`dtrace: bpf ${cls}: unknown command "${verb}"\n${usage}`);
  return 2;
}
