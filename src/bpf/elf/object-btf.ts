/**
 * @fileoverview The object's BTF made acceptable to the kernel, and loaded (BPF_BTF_LOAD).
 *
 * clang leaves work to the loader (libbpf's btf_fixup_datasec and extern handling): DATASEC
 * sizes are 0 and variable offsets may be too; `extern` VARs (.kconfig, .ksyms) and FUNCs
 * (kfunc declarations) carry the extern linkage the kernel rejects. We patch a copy of the
 * raw bytes in place: sizes from the ELF sections, offsets from the symbols, extern VARs
 * become global allocated ones inside their DATASEC, extern FUNCs become static, and so do
 * global functions of hidden visibility (`__hidden`, as usdt.bpf.h's bpf_usdt_arg): libbpf has
 * the verifier check those in their caller's context, not against their BTF signature alone.
 */
import { parseBtf, stringAt } from '../btf/decode.js';
import { allocNative, bpfTry, freeNative, setU64 } from '../sys.js';
import { BpfCmd } from '../uapi.js';
import { kconfigSizeBytes, type BpfObjectSpec } from './bpf-object.js';

const KIND_INT = 1, KIND_ARRAY = 3, KIND_STRUCT = 4, KIND_UNION = 5, KIND_ENUM = 6, KIND_FUNC = 12, KIND_FUNC_PROTO = 13,
  KIND_VAR = 14, KIND_DATASEC = 15, KIND_DECL_TAG = 17, KIND_ENUM64 = 19;

function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case KIND_INT: case KIND_VAR: case KIND_DECL_TAG: return 4;
    case KIND_ARRAY: return 12;
    case KIND_STRUCT: case KIND_UNION: case KIND_DATASEC: case KIND_ENUM64: return vlen * 12;
    case KIND_ENUM: case KIND_FUNC_PROTO: return vlen * 8;
    default: return 0;
  }
}

/** A copy of the object's BTF with DATASECs and externs fixed for BPF_BTF_LOAD. */
export function kernelReadyBtf(obj: BpfObjectSpec): Uint8Array | undefined {
  if (!obj.btfBytes) return undefined;
  const bytes = new Uint8Array(obj.btfBytes);
  const raw = parseBtf(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdrLen = v.getUint32(4, true);
  const typeStart = hdrLen + v.getUint32(8, true);
  const typeEnd = typeStart + v.getUint32(12, true);
  const varName = new Map<number, string>(); // type id → VAR name
  const externVarOffsets: number[] = []; // byte offsets of VAR linkage fields
  const datasecs: { off: number; name: string; vlen: number }[] = [];
  let id = 1;
  for (let o = typeStart; o < typeEnd; id++) {
    const info = v.getUint32(o + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const name = stringAt(raw, v.getUint32(o, true));
    if (kind === KIND_VAR) {
      varName.set(id, name);
      if (v.getUint32(o + 12, true) === 2) externVarOffsets.push(o + 12);
    } else if (kind === KIND_FUNC && (vlen === 2 || (vlen === 1 && obj.hiddenFunctions.has(name)))) {
      // extern (a kfunc declaration) and global-but-hidden (__hidden) functions become static.
      v.setUint32(o + 4, (info & ~0xffff) >>> 0, true);
    } else if (kind === KIND_DATASEC) {
      datasecs.push({ off: o, name, vlen });
    }
    o += 12 + extraBytes(kind, vlen);
  }
  for (const off of externVarOffsets) v.setUint32(off, 1, true); // BTF_VAR_GLOBAL_ALLOCATED
  for (const sec of datasecs) {
    const elfSec = obj.elf.sections.find((s) => s.name === sec.name);
    let size = elfSec?.sizeBytes ?? 0;
    if (sec.name === '.kconfig') size = kconfigSizeBytes(obj);
    for (let i = 0; i < sec.vlen; i++) {
      const e = sec.off + 12 + i * 12;
      const name = varName.get(v.getUint32(e, true)) ?? '';
      if (sec.name === '.kconfig' || sec.name === '.ksyms') {
        const ext = obj.externs.find((x) => x.name === name);
        if (ext?.section === 'kconfig') v.setUint32(e + 4, ext.dataOffset, true);
      } else if (elfSec) {
        const sym = obj.symbols.find((s) => s.sectionIndex === elfSec.index && s.name === name);
        if (sym) v.setUint32(e + 4, sym.value, true);
      }
      if (sec.name === '.ksyms') {
        v.setUint32(e + 4, i * 4, true);
        v.setUint32(e + 8, 4, true);
      }
      size = Math.max(size, v.getUint32(e + 4, true) + v.getUint32(e + 8, true));
    }
    sortSecinfo(v, sec.off + 12, sec.vlen);
    v.setUint32(sec.off + 8, size, true);
  }
  return bytes;
}

/** The kernel wants a DATASEC's variables in offset order ("Invalid offset" otherwise). */
function sortSecinfo(v: DataView, start: number, count: number): void {
  const entries = Array.from({ length: count }, (_, i) => [0, 4, 8].map((f) => v.getUint32(start + i * 12 + f, true)) as [number, number, number]);
  entries.sort((a, b) => a[1] - b[1]);
  entries.forEach((e, i) => e.forEach((x, f) => v.setUint32(start + i * 12 + f * 4, x, true)));
}

const BTF_LOAD_ATTR_SIZE = 28;

/** BPF_BTF_LOAD; returns the fd, or the kernel's log text on rejection. */
export function loadBtfIntoKernel(bytes: Uint8Array): { fd: number } | { error: string } {
  const data = allocNative(bytes.length);
  data.bytes.set(bytes);
  const attr = allocNative(BTF_LOAD_ATTR_SIZE);
  const log = allocNative(1 << 16);
  try {
    const fill = (withLog: boolean): number => {
      attr.bytes.fill(0);
      setU64(attr.view, 0, data.address);
      attr.view.setUint32(16, bytes.length, true);
      if (withLog) {
        setU64(attr.view, 8, log.address);
        attr.view.setUint32(20, log.sizeBytes, true);
        attr.view.setUint32(24, 1, true);
      }
      return bpfTry(BpfCmd.BTF_LOAD, attr.address, BTF_LOAD_ATTR_SIZE);
    };
    const fd = fill(false);
    if (fd >= 0) return { fd };
    const again = fill(true);
    if (again >= 0) return { fd: again };
    let end = log.bytes.indexOf(0);
    if (end < 0) end = log.sizeBytes;
    const text = Buffer.from(log.bytes.subarray(0, end)).toString('utf8').trim().split('\n').slice(-3).join(' / ');
    return { error: `BPF_BTF_LOAD: errno ${-again}${text ? `: ${text}` : ''}` };
  } finally {
    freeNative(log);
    freeNative(attr);
    freeNative(data);
  }
}
