/**
 * @fileoverview The `.BTF.ext` section clang writes next to `.BTF` in a BPF object: per ELF
 * section, the function info (which BTF FUNC starts at which instruction), the line info (which
 * C file, line and column each instruction came from) and the CO-RE relocation records.
 *
 * Layout (include/uapi/linux/btf.h, struct btf_ext_header): magic 0xeB9F, version 1, flags, the
 * header length, then (offset, length) pairs relative to the end of the header. Each info block
 * starts with a u32 record size, followed by groups of {u32 section name offset, u32 count,
 * count records}. Instruction offsets here are in bytes from the start of the ELF section.
 */

export interface FuncInfoRecord { insnOffBytes: number; typeId: number }
export interface LineInfoRecord { insnOffBytes: number; fileNameOff: number; lineOff: number; line: number; column: number }
/** struct bpf_core_relo. */
export interface CoreReloRecord { insnOffBytes: number; typeId: number; accessStrOff: number; kind: number }

export interface BtfExtSection<T> { sectionNameOff: number; records: T[] }

export interface BtfExt {
  funcInfo: BtfExtSection<FuncInfoRecord>[];
  lineInfo: BtfExtSection<LineInfoRecord>[];
  coreRelos: BtfExtSection<CoreReloRecord>[];
}

export class BtfExtFormatError extends Error {
  constructor(reason: string) {
    super(`.BTF.ext: ${reason}`);
    this.name = 'BtfExtFormatError';
  }
}

const BTF_MAGIC = 0xeb9f;

/** Parses `.BTF.ext`; string offsets refer to the object's `.BTF` string section. */
export function parseBtfExt(buf: Uint8Array): BtfExt {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 24 || v.getUint16(0, true) !== BTF_MAGIC) throw new BtfExtFormatError('bad magic');
  const hdrLen = v.getUint32(4, true);
  const block = (offField: number): [number, number] | undefined => {
    if (offField + 8 > hdrLen) return undefined;
    const off = v.getUint32(offField, true);
    const len = v.getUint32(offField + 4, true);
    if (len === 0) return undefined;
    if (hdrLen + off + len > buf.byteLength) throw new BtfExtFormatError('info block beyond end of section');
    return [hdrLen + off, len];
  };
  return {
    funcInfo: readBlock(v, block(8), 8, (o) => ({ insnOffBytes: v.getUint32(o, true), typeId: v.getUint32(o + 4, true) })),
    lineInfo: readBlock(v, block(16), 16, (o) => {
      const lineCol = v.getUint32(o + 12, true);
      return {
        insnOffBytes: v.getUint32(o, true), fileNameOff: v.getUint32(o + 4, true), lineOff: v.getUint32(o + 8, true),
        line: lineCol >>> 10, column: lineCol & 0x3ff,
      };
    }),
    coreRelos: readBlock(v, block(24), 16, (o) => ({
      insnOffBytes: v.getUint32(o, true), typeId: v.getUint32(o + 4, true),
      accessStrOff: v.getUint32(o + 8, true), kind: v.getUint32(o + 12, true),
    })),
  };
}

function readBlock<T>(v: DataView, range: [number, number] | undefined, minRecordSize: number,
  read: (offset: number) => T): BtfExtSection<T>[] {
  if (!range) return [];
  const [start, len] = range;
  const end = start + len;
  const recordSize = v.getUint32(start, true);
  if (recordSize < minRecordSize) throw new BtfExtFormatError(`record size ${recordSize} below ${minRecordSize}`);
  const out: BtfExtSection<T>[] = [];
  let o = start + 4;
  while (o + 8 <= end) {
    const sectionNameOff = v.getUint32(o, true);
    const count = v.getUint32(o + 4, true);
    o += 8;
    if (o + count * recordSize > end) throw new BtfExtFormatError('records beyond end of block');
    const records: T[] = [];
    for (let i = 0; i < count; i++, o += recordSize) records.push(read(o));
    out.push({ sectionNameOff, records });
  }
  return out;
}
