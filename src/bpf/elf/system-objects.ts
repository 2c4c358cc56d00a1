/**
 * @fileoverview What is loaded on the system (what `bpftool prog|map|link show` lists): ids by
 * BPF_*_GET_NEXT_ID, fds by BPF_*_GET_FD_BY_ID, details by BPF_OBJ_GET_INFO_BY_FD, and a
 * program's translated (post-verifier) instructions for `dump`.
 */
import { allocNative, bpf, bpfTry, closeFd, freeNative, nativeCString, setU64 } from '../sys.js';
import { BpfCmd, Errno, InfoByFdAttr, LinkType, MapType, ProgType } from '../uapi.js';

export type ObjectClass = 'prog' | 'map' | 'link';

const NEXT_ID: Record<ObjectClass, number> = { prog: BpfCmd.PROG_GET_NEXT_ID, map: BpfCmd.MAP_GET_NEXT_ID, link: BpfCmd.LINK_GET_NEXT_ID };
const FD_BY_ID: Record<ObjectClass, number> = { prog: BpfCmd.PROG_GET_FD_BY_ID, map: BpfCmd.MAP_GET_FD_BY_ID, link: BpfCmd.LINK_GET_FD_BY_ID };

/** Every id of that class, ascending. */
export function listIds(cls: ObjectClass): number[] {
  const attr = allocNative(16);
  const out: number[] = [];
  try {
    let start = 0;
    for (;;) {
      attr.bytes.fill(0);
      attr.view.setUint32(0, start, true);
      const r = bpfTry(NEXT_ID[cls], attr.address, 12);
      if (r === -Errno.ENOENT) return out;
      if (r < 0) bpf(NEXT_ID[cls], attr, 12, `list ${cls} ids`);
      start = attr.view.getUint32(4, true);
      out.push(start);
    }
  } finally {
    freeNative(attr);
  }
}

/** An fd for object `id` (caller closes), or undefined when it went away meanwhile. */
export function fdById(cls: ObjectClass, id: number): number | undefined {
  const attr = allocNative(16);
  try {
    attr.view.setUint32(0, id, true);
    const r = bpfTry(FD_BY_ID[cls], attr.address, 12);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) return bpf(FD_BY_ID[cls], attr, 12, `open ${cls} id ${id}`);
    return r;
  } finally {
    freeNative(attr);
  }
}

function info(fd: number, sizeBytes: number, fill?: (v: DataView, at: number, base: number) => void): DataView {
  const block = allocNative(InfoByFdAttr.sizeBytes + sizeBytes);
  try {
    const at = InfoByFdAttr.sizeBytes;
    const v = block.view;
    fill?.(v, at, block.address);
    v.setUint32(InfoByFdAttr.bpf_fd, fd, true);
    v.setUint32(InfoByFdAttr.info_len, sizeBytes, true);
    setU64(v, InfoByFdAttr.info, block.address + at);
    bpf(BpfCmd.OBJ_GET_INFO_BY_FD, block, InfoByFdAttr.sizeBytes, `get information on fd ${fd}`);
    return new DataView(block.bytes.slice(at).buffer);
  } finally {
    freeNative(block);
  }
}

function cName(v: DataView, off: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) { const c = v.getUint8(off + i); if (c === 0) break; s += String.fromCharCode(c); }
  return s;
}

const nameOf = (table: Record<string, number>, n: number): string => Object.entries(table).find(([, v]) => v === n)?.[0]?.toLowerCase() ?? String(n);

export interface SystemProg { id: number; type: string; name: string; tag: string; xlatedBytes: number; jitedBytes: number; mapIds: number[] }
export interface SystemMap {
  id: number; type: string; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number;
  /** The BTF object describing key and value (0: none), and their type ids in it. */
  btfId: number; btfKeyTypeId: number; btfValueTypeId: number;
}
export interface SystemLink { id: number; type: string; progId: number }

const PROG_INFO_SIZE = 232;

export function progInfoById(id: number, withInsns = false): (SystemProg & { insns?: Uint8Array }) | undefined {
  const fd = fdById('prog', id);
  if (fd === undefined) return undefined;
  try {
    const v = info(fd, PROG_INFO_SIZE);
    const nrMaps = v.getUint32(52, true);
    const xlatedBytes = v.getUint32(20, true);
    const out: SystemProg & { insns?: Uint8Array } = {
      id, type: nameOf(ProgType, v.getUint32(0, true)), name: cName(v, 64),
      tag: Array.from({ length: 8 }, (_, i) => v.getUint8(8 + i).toString(16).padStart(2, '0')).join(''),
      xlatedBytes, jitedBytes: v.getUint32(16, true), mapIds: [],
    };
    if (withInsns || nrMaps > 0) {
      const extra = allocNative(xlatedBytes + nrMaps * 4 + 8);
      try {
        const w = info(fd, PROG_INFO_SIZE, (iv, at) => {
          if (withInsns) { iv.setUint32(at + 20, xlatedBytes, true); setU64(iv, at + 32, extra.address); }
          iv.setUint32(at + 52, nrMaps, true);
          setU64(iv, at + 56, extra.address + xlatedBytes);
        });
        void w;
        out.mapIds = Array.from({ length: nrMaps }, (_, i) => extra.view.getUint32(xlatedBytes + i * 4, true));
        if (withInsns) out.insns = extra.bytes.slice(0, xlatedBytes);
      } finally {
        freeNative(extra);
      }
    }
    return out;
  } finally {
    closeFd(fd);
  }
}

/** What the kernel says of the map behind `fd`. */
export function mapInfoByFd(fd: number): SystemMap {
  const v = info(fd, 88);
  return {
    id: v.getUint32(4, true), type: nameOf(MapType, v.getUint32(0, true)), keySize: v.getUint32(8, true), valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true), flags: v.getUint32(20, true), name: cName(v, 24),
    btfId: v.getUint32(64, true), btfKeyTypeId: v.getUint32(68, true), btfValueTypeId: v.getUint32(72, true),
  };
}

/**
 * The raw bytes of BTF object `id` (what a map's btf_id names), or undefined when it went away
 * or is the kernel's own (split) BTF, which a map's key and value never are.
 */
export function btfBytesById(id: number): Uint8Array | undefined {
  const attr = allocNative(16);
  let fd: number;
  try {
    attr.view.setUint32(0, id, true);
    fd = bpfTry(BpfCmd.BTF_GET_FD_BY_ID, attr.address, 12);
    if (fd === -Errno.ENOENT) return undefined;
    if (fd < 0) fd = bpf(BpfCmd.BTF_GET_FD_BY_ID, attr, 12, `open BTF id ${id}`);
  } finally {
    freeNative(attr);
  }
  try {
    // struct bpf_btf_info: btf (u64), btf_size (u32), id, name (u64), name_len, kernel_btf.
    const head = info(fd, 32);
    if (head.getUint32(28, true) !== 0) return undefined;
    const size = head.getUint32(8, true);
    const buf = allocNative(size);
    try {
      info(fd, 32, (v, at) => { setU64(v, at, buf.address); v.setUint32(at + 8, size, true); });
      return buf.bytes.slice(0, size);
    } finally {
      freeNative(buf);
    }
  } finally {
    closeFd(fd);
  }
}

export function mapInfoById(id: number): SystemMap | undefined {
  const fd = fdById('map', id);
  if (fd === undefined) return undefined;
  try {
    return mapInfoByFd(fd);
  } finally {
    closeFd(fd);
  }
}

/** BPF_OBJ_PIN / BPF_OBJ_GET attr: pathname, bpf_fd, file_flags. */
const ObjPathAttr = { pathname: 0, bpf_fd: 8, file_flags: 12, sizeBytes: 16 } as const;

/** Pins the object behind `fd` at `path` in a bpffs (it then outlives this process). */
export function pinObject(fd: number, path: string): void {
  const attr = allocNative(ObjPathAttr.sizeBytes);
  const name = nativeCString(path);
  try {
    setU64(attr.view, ObjPathAttr.pathname, name.address);
    attr.view.setUint32(ObjPathAttr.bpf_fd, fd, true);
    bpf(BpfCmd.OBJ_PIN, attr, ObjPathAttr.sizeBytes, `pin at ${path}`);
  } finally {
    freeNative(name);
    freeNative(attr);
  }
}

/** An fd for the object pinned at `path` (caller closes), or undefined when nothing is pinned there. */
export function openPinned(path: string): number | undefined {
  const attr = allocNative(ObjPathAttr.sizeBytes);
  const name = nativeCString(path);
  try {
    setU64(attr.view, ObjPathAttr.pathname, name.address);
    const r = bpfTry(BpfCmd.OBJ_GET, attr.address, ObjPathAttr.sizeBytes);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) return bpf(BpfCmd.OBJ_GET, attr, ObjPathAttr.sizeBytes, `open the object pinned at ${path}`);
    return r;
  } finally {
    freeNative(name);
    freeNative(attr);
  }
}

export function linkInfoById(id: number): SystemLink | undefined {
  const fd = fdById('link', id);
  if (fd === undefined) return undefined;
  try {
    const v = info(fd, 48);
    return { id, type: nameOf(LinkType, v.getUint32(0, true)), progId: v.getUint32(8, true) };
  } finally {
    closeFd(fd);
  }
}
