/**
 * @fileoverview The consumer side of a BPF_MAP_TYPE_PERF_EVENT_ARRAY (what libbpf's perf_buffer
 * does): one PERF_COUNT_SW_BPF_OUTPUT event per online CPU, its fd stored in the array at the
 * CPU's index, its ring mmapped (a metadata page, then 2^n data pages). bpf_perf_event_output()
 * writes PERF_RECORD_SAMPLE records whose raw part is the program's bytes; PERF_RECORD_LOST
 * counts what did not fit. Wake-ups come through the same libuv poll as the BPF ring buffer.
 */
import { closeFd, mmap, munmap, pageSize, viewNative, watchReadable, type FdWatch } from '../sys.js';
import { openPerfEvent } from '../perf.js';
import { onlineCpus, type BpfMap } from '../map.js';
import { Mmap, PerfSampleType, PerfSwId, PerfType } from '../uapi.js';

const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** struct perf_event_mmap_page: data_head and data_tail. */
const DATA_HEAD_OFFSET = 1024;
const DATA_TAIL_OFFSET = 1032;

export interface PerfBuffer {
  /** Passes every pending record's raw bytes (a copy) to `onRecord`; returns how many. */
  drain(onRecord: (cpu: number, bytes: Uint8Array) => void): number;
  /** Records the kernel dropped because a CPU's ring was full. */
  readonly lost: number;
  wait(onReadable: () => void): void;
  close(): void;
}

interface CpuRing { cpu: number; fd: number; address: number; meta: DataView; data: Uint8Array; watch: FdWatch | undefined }

/** Opens one ring of `pagesPerCpu` data pages (a power of two) per online CPU and installs them in `map`. */
export function openPerfBuffer(map: BpfMap, pagesPerCpu = 8): PerfBuffer {
  if (pagesPerCpu <= 0 || (pagesPerCpu & (pagesPerCpu - 1)) !== 0) throw new RangeError(`perf buffer: ${pagesPerCpu} pages is not a power of two`);
  const page = pageSize();
  const rings: CpuRing[] = [];
  let lost = 0;
  const close = (): void => {
    for (const r of rings.splice(0)) {
      r.watch?.close();
      munmap(r.address, page * (1 + pagesPerCpu));
      closeFd(r.fd);
    }
  };
  try {
    for (const cpu of onlineCpus()) {
      if (cpu >= map.spec.maxEntries) continue;
      const what = `perf buffer ${map.spec.name} on CPU ${cpu}`;
      const fd = openPerfEvent({ type: PerfType.SOFTWARE, config: PerfSwId.BPF_OUTPUT, sampleType: PerfSampleType.RAW, samplePeriod: 1, wakeupEvents: 1 },
        { pid: -1, cpu }, what);
      let address: number;
      try {
        address = mmap(page * (1 + pagesPerCpu), Mmap.PROT_READ | Mmap.PROT_WRITE, Mmap.MAP_SHARED, fd, 0, what);
      } catch (e) {
        closeFd(fd);
        throw e;
      }
      const buffer = viewNative(address, page * (1 + pagesPerCpu));
      rings.push({ cpu, fd, address, meta: new DataView(buffer, 0, page), data: new Uint8Array(buffer, page, page * pagesPerCpu), watch: undefined });
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, cpu, true);
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, fd, true);
      map.update(key, value);
    }
  } catch (e) {
    close();
    throw e;
  }

  function drainRing(r: CpuRing, onRecord: (cpu: number, bytes: Uint8Array) => void): number {
    const size = r.data.length;
    const head = Number(r.meta.getBigUint64(DATA_HEAD_OFFSET, true));
    let tail = Number(r.meta.getBigUint64(DATA_TAIL_OFFSET, true));
    // x86-64 and arm64 user space see the kernel's record writes before its data_head store
    // (the kernel orders them with smp_wmb; a JS read of data_head is a plain load, then the records).
    let n = 0;
    const read = (at: number, len: number): Uint8Array => {
      const out = new Uint8Array(len);
      const off = at % size;
      const first = Math.min(len, size - off);
      out.set(r.data.subarray(off, off + first));
      if (first < len) out.set(r.data.subarray(0, len - first), first);
      return out;
    };
    while (tail < head) {
      const hdr = new DataView(read(tail, 8).buffer);
      const type = hdr.getUint32(0, true);
      const recSize = hdr.getUint16(6, true);
      if (recSize < 8) break;
      if (type === PERF_RECORD_SAMPLE) {
        const rawSize = new DataView(read(tail + 8, 4).buffer).getUint32(0, true);
        onRecord(r.cpu, read(tail + 12, rawSize));
        n++;
      } else if (type === PERF_RECORD_LOST) {
        lost += Number(new DataView(read(tail + 16, 8).buffer).getBigUint64(0, true));
      }
      tail += recSize;
    }
    r.meta.setBigUint64(DATA_TAIL_OFFSET, BigInt(tail), true);
    return n;
  }

  return {
    drain(onRecord) { return rings.reduce((sum, r) => sum + drainRing(r, onRecord), 0); },
    get lost() { return lost; },
    wait(onReadable) {
      for (const r of rings) { r.watch?.close(); r.watch = watchReadable(r.fd, onReadable); }
    },
    close,
  };
}
