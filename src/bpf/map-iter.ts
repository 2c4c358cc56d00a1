/**
 * @fileoverview Reading a whole map through a BPF map element iterator (bpf_iter `bpf_map_elem`,
 * Linux 5.9), with BPF_MAP_LOOKUP_BATCH (BpfMap.scan) as the fallback.
 *
 * Why: BPF_MAP_LOOKUP_BATCH takes every hash bucket's lock, empty or not, and a map sized for
 * `aggsize=64m` has 4 M buckets: most of the time an exit-time print of a million keys spent
 * in the kernel went there. The iterator walks the buckets under RCU without their locks. A
 * small tracing program (BPF_TRACE_ITER, attached to the BTF function `bpf_iter_bpf_map_elem`)
 * runs for each element and writes its key then its value with bpf_seq_write — for a per-CPU
 * map the value as the batch read lays it out, one 8-byte-rounded slot per possible CPU
 * (kernel/bpf/hashtab.c copies them into one buffer before calling the program) — and read(2)
 * of the iterator's fd returns those records. The kernel fills at most its seq_file buffer
 * (8 pages) per read, always whole records; reads are gathered into one chunk buffer and each
 * chunk goes to the caller as interleaved entries (MapSnapshot.entryStrideBytes), no copy.
 *
 * The program checks at load time how many key and value bytes it reads, and the link checks
 * them against the map's, so one is loaded per read, for that map's sizes; it, its link and the
 * iterator fd are closed before the read returns.
 */
import { hasFeature, MAP_ELEM_ITER_FUNC, BTF_KIND_FUNC, vmlinuxBtfTypeId } from './features.js';
import { loadProgram, type BpfProgram } from './program.js';
import type { BpfMap, MapSnapshot } from './map.js';
import { allocNative, bpfTry, closeFd, freeNative, readTry, setU64, sysError, type NativeMemory } from './sys.js';
import { AttachType, BpfCmd, Errno, Helper, IterCreateAttr, LinkCreateAttr, type MapTypeName } from './uapi.js';
import { Asm, R0, R1, R2, R3, R6, R7, R8, imm } from './asm/insn.js';
import { encode, link } from './asm/encode.js';
import { SysError, VerifierError } from './errors.js';

/** How a map was read. */
export type MapReadPath = 'iterator' | 'batch';

/**
 * For tests only, to run both paths on one kernel: `batch` never uses the iterator; `iterator`
 * throws where the iterator cannot be used instead of falling back. Not a user option.
 */
export const MAP_READ_TEST_ENV = 'DTRACE_TS_TEST_MAP_READ';

/** Map types the bpf_map_elem iterator walks (kernel/bpf/hashtab.c, arraymap.c). */
const ITERABLE_TYPES: ReadonlySet<MapTypeName> = new Set(['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash', 'array', 'percpu_array']);

/**
 * Bytes gathered from the iterator before a chunk is handed on: a few hundred pages, reused
 * for the whole read (fresh memory is what costs most in some virtual machines).
 */
const CHUNK_BYTES = 1 << 20;
/** A read is not started with less room than this left: the kernel returns up to 8 pages per read. */
const MIN_READ_ROOM_BYTES = 64 << 10;

/** struct bpf_iter__bpf_map_elem: meta, map, key, value (pointers); struct bpf_iter_meta starts with seq. */
const CTX_META = 0;
const CTX_KEY = 16;
const CTX_VALUE = 24;
const META_SEQ = 0;

/**
 * The whole map chunk by chunk, as BpfMap.scan, read through a map element iterator where the
 * kernel and the map type allow it and the map is larger than one batch read; else by
 * BpfMap.scan. A map one BPF_MAP_LOOKUP_BATCH call reads whole costs less than setting an
 * iterator up (and the first use of one asks vmlinux BTF for its attach point, tens of ms),
 * so the read starts with a batch call and changes to the iterator, from the start, only when
 * that call did not reach the end. Returns the path that read it.
 */
export function scanMap(map: BpfMap, visit: (chunk: MapSnapshot) => void): MapReadPath {
  const forced = process.env[MAP_READ_TEST_ENV];
  const iterable = ITERABLE_TYPES.has(map.spec.type);
  if (forced === 'iterator') {
    if (iterable && hasFeature('map_elem_iter') && scanByIterator(map, visit)) return 'iterator';
    throw new Error(`${MAP_READ_TEST_ENV}=iterator: map ${map.spec.name} (${map.spec.type}) cannot be read through a map element iterator here`);
  }
  let path: MapReadPath = 'batch';
  let first = forced !== 'batch' && iterable;
  map.scan((chunk, last) => {
    if (first) {
      first = false;
      if (!last && hasFeature('map_elem_iter') && scanByIterator(map, visit)) { path = 'iterator'; return false; }
    }
    visit(chunk);
    return true;
  });
  return path;
}

/** The iterator program for a map's key and value sizes (`valueBytes`: all CPUs' slots for a per-CPU map). */
export function mapIterProgramInsns(keyBytes: number, valueBytes: number): Uint8Array {
  const a = new Asm('map_iter');
  const done = a.newLabel('done');
  a.ldx(8, R6, R1, CTX_META)
    .ldx(8, R7, R1, CTX_KEY)
    .ldx(8, R8, R1, CTX_VALUE)
    // The program runs once more after the last element, with no key or value.
    .jmp('jeq', R7, imm(0), done)
    .jmp('jeq', R8, imm(0), done)
    .ldx(8, R6, R6, META_SEQ)
    .mov(R1, R6).mov(R2, R7).mov(R3, imm(keyBytes)).call(Helper.seq_write)
    .mov(R1, R6).mov(R2, R8).mov(R3, imm(valueBytes)).call(Helper.seq_write)
    .label(done).mov(R0, imm(0)).exit();
  return encode(link(a.insns));
}

/** The iterator's program, link and fd; closed in reverse order. */
interface IteratorHandles { prog?: BpfProgram; linkFd: number; iterFd: number }

function closeHandles(h: IteratorHandles): void {
  closeFd(h.iterFd);
  closeFd(h.linkFd);
  h.prog?.close();
}

/**
 * Opens an iterator over `map`: undefined when this kernel refuses it for this map (the caller
 * falls back to batch reads).
 */
function openIterator(map: BpfMap): IteratorHandles | undefined {
  const attachBtfId = vmlinuxBtfTypeId(MAP_ELEM_ITER_FUNC, BTF_KIND_FUNC);
  if (attachBtfId === undefined) return undefined;
  const h: IteratorHandles = { linkFd: -1, iterFd: -1 };
  const attr = allocNative(LinkCreateAttr.sizeBytes);
  const info = allocNative(8);
  try {
    h.prog = loadProgram({
      name: 'map_iter', type: 'tracing', expectedAttachType: AttachType.TRACE_ITER, attachBtfId,
      insns: mapIterProgramInsns(map.spec.keySize, map.valueBufferSizeBytes), logSizeBytes: 64 << 10,
    });
    info.view.setUint32(0, map.fd, true);
    const v = attr.view;
    v.setUint32(LinkCreateAttr.prog_fd, h.prog.fd, true);
    v.setUint32(LinkCreateAttr.attach_type, AttachType.TRACE_ITER, true);
    setU64(v, LinkCreateAttr.iter_info, info.address);
    v.setUint32(LinkCreateAttr.iter_info_len, 4, true);
    h.linkFd = bpfTry(BpfCmd.LINK_CREATE, attr.address, LinkCreateAttr.sizeBytes);
    if (h.linkFd < 0) { closeHandles(h); return undefined; }
    attr.bytes.fill(0);
    attr.view.setUint32(IterCreateAttr.link_fd, h.linkFd, true);
    h.iterFd = bpfTry(BpfCmd.ITER_CREATE, attr.address, IterCreateAttr.sizeBytes);
    if (h.iterFd < 0) { closeHandles(h); return undefined; }
    return h;
  } catch (e) {
    closeHandles(h);
    if (e instanceof VerifierError || e instanceof SysError) return undefined;
    throw e;
  } finally {
    freeNative(info);
    freeNative(attr);
  }
}

/**
 * Reads the map through an iterator, handing on chunks of whole records. False, nothing
 * visited, when the iterator cannot be used here; throws on a failure after the first chunk.
 */
function scanByIterator(map: BpfMap, visit: (chunk: MapSnapshot) => void): boolean {
  const h = openIterator(map);
  if (!h) return false;
  const keySize = map.spec.keySize;
  const valueSize = map.valueBufferSizeBytes;
  const record = keySize + valueSize;
  let buffer: NativeMemory | undefined;
  try {
    buffer = allocNative(Math.max(CHUNK_BYTES, 4 * record + MIN_READ_ROOM_BYTES));
    const b = buffer;
    let filled = 0;
    let visited = false;
    const handOn = (): void => {
      const count = Math.floor(filled / record);
      if (count === 0) return;
      const bytes = b.bytes;
      visit({ count, keySizeBytes: keySize, valueSizeBytes: valueSize, entryStrideBytes: record,
        keyBytes: bytes.subarray(0, count * record), valueBytes: bytes.subarray(keySize, count * record) });
      visited = true;
      // A record cut by the end of a read (the kernel does not cut them; kept for safety).
      const rest = filled - count * record;
      if (rest > 0) bytes.copyWithin(0, count * record, filled);
      filled = rest;
    };
    for (;;) {
      if (b.sizeBytes - filled < MIN_READ_ROOM_BYTES) handOn();
      const r = readTry(h.iterFd, b.address + filled, b.sizeBytes - filled);
      if (r === -Errno.EINTR || r === -Errno.EAGAIN) continue;
      if (r < 0) {
        // E2BIG: one record is larger than the kernel's seq_file buffer (values of many CPUs).
        if (!visited && filled === 0) return false;
        throw sysError('read', -r, `read map ${map.spec.name} through a BPF iterator`);
      }
      if (r === 0) break;
      filled += r;
    }
    handOn();
    if (filled !== 0) throw new Error(`read map ${map.spec.name} through a BPF iterator: ${filled} bytes left over, not a whole ${record}-byte record`);
    return true;
  } finally {
    if (buffer) freeNative(buffer);
    closeHandles(h);
  }
}
