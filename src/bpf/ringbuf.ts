/**
 * @fileoverview Consumer side of a BPF_MAP_TYPE_RINGBUF map (kernel/bpf/ringbuf.c).
 *
 * Layout: page 0 (mapped read-write) holds the consumer position; page 1 (read-only) the
 * producer position; the data area follows, mapped twice back to back so a record that wraps
 * past the end is still contiguous in our view. Each record starts with an 8-byte header
 * (struct bpf_ringbuf_hdr: u32 len with BUSY/DISCARD bits, u32 pg_off) and is padded to 8 bytes.
 *
 * `drain` decodes records in place: the callback gets the shared DataView and an offset, so no
 * allocation happens per record. Positions are read with Atomics (acquire semantics on the
 * producer position and on each header, as the kernel's smp_load_acquire pairs expect).
 *
 * Wake-ups. Unless a program passes BPF_RB_NO_WAKEUP/FORCE_WAKEUP, the kernel's commit
 * (bpf_ringbuf_commit) wakes the reader only when the record just written starts exactly at
 * the consumer position, i.e. when the reader had caught up. Each such wake-up is an irq_work
 * on the producing CPU and an epoll wake-up here, which caps a fast producer below 1 M
 * events/s (design/MACHINE.md). `drain(…, holdLast)` therefore lets a busy reader keep the
 * consumer position at the start of the last record it has already processed: the producer
 * then never sees "caught up", never wakes us, and the reader polls on a timer until the
 * producer goes quiet, when `release()` hands the record back and epoll takes over again.
 */
import { closeFd, mmap, munmap, pageSize, viewNative, watchReadable, type FdWatch } from './sys.js';
import { Mmap, Ringbuf } from './uapi.js';

/** Called with the data view, the record's byte offset in it, and its length in bytes. */
export type RecordCallback = (view: DataView, offset: number, length: number) => void;

export interface RingBuffer {
  readonly fd: number;
  /** Size of the data area (the map's max_entries). */
  readonly sizeBytes: number;
  /**
   * Consumes up to `max` records (default: all ready ones); returns how many were passed to
   * `onRecord`. With `holdLast`, the last record delivered is not yet given back to the kernel
   * (see below); the next drain or `release()` gives it back.
   */
  drain(onRecord: RecordCallback, max?: number, holdLast?: boolean): number;
  /** Gives back to the kernel every record delivered so far (undoes a `holdLast`). */
  release(): void;
  /** Bytes written by producers and not yet consumed (includes busy records). */
  available(): number;
  /**
   * Calls `onReadable` from Node's event loop whenever the kernel signals new data (epoll on the
   * map fd, through libuv). Never spins. Replaces any previous callback.
   */
  wait(onReadable: () => void): void;
  /** Stops `wait` callbacks. */
  stopWaiting(): void;
  /** Whether the watch keeps the process alive (default true). */
  setKeepAlive(keepAlive: boolean): void;
  close(): void;
}

/**
 * Live watches. koffi's poll handle must stay strongly referenced or wake-ups silently stop
 * (design/MACHINE.md), so they are held here, not only by the RingBuffer the caller may drop.
 */
const liveWatches = new Set<FdWatch>();

const LENGTH_MASK = ~(Ringbuf.BUSY_BIT | Ringbuf.DISCARD_BIT) >>> 0;
/** Store the consumer position at least this often so producers get space back mid-drain. */
const COMMIT_EVERY_RECORDS = 256;

/**
 * Opens the consumer side of a ring buffer map. `sizeBytes` is the map's max_entries (a power
 * of two, a multiple of the page size). Does not take ownership of the map fd unless `ownsFd`.
 */
export function openRingBuffer(map: { fd: number; spec: { maxEntries: number; name?: string } }, ownsFd = false): RingBuffer {
  const fd = map.fd;
  const sizeBytes = map.spec.maxEntries;
  if (sizeBytes <= 0 || (sizeBytes & (sizeBytes - 1)) !== 0) throw new RangeError(`ring buffer ${map.spec.name ?? fd}: size ${sizeBytes} is not a power of two`);
  const page = pageSize();
  const what = `map ring buffer ${map.spec.name ?? `fd ${fd}`}`;
  const consumerAddress = mmap(page, Mmap.PROT_READ | Mmap.PROT_WRITE, Mmap.MAP_SHARED, fd, 0, what);
  let producerAddress: number;
  try {
    producerAddress = mmap(page + 2 * sizeBytes, Mmap.PROT_READ, Mmap.MAP_SHARED, fd, page, what);
  } catch (e) {
    munmap(consumerAddress, page);
    throw e;
  }
  const consumerPos = new BigUint64Array(viewNative(consumerAddress, page), 0, 1);
  const producerBuffer = viewNative(producerAddress, page + 2 * sizeBytes);
  const producerPos = new BigUint64Array(producerBuffer, 0, 1);
  const data = new DataView(producerBuffer, page, 2 * sizeBytes);
  const dataWords = new Int32Array(producerBuffer, page, (2 * sizeBytes) / 4); // not >> 2: 2 GiB of data overflows int32
  const mask = sizeBytes - 1;
  // Records up to readPos have been delivered; the kernel's consumer position may lag behind
  // it by one record while a busy reader holds the last one (see drain's holdLast).
  let readPos = Number(Atomics.load(consumerPos, 0));
  let committed = readPos;
  const commit = (pos: number): void => {
    if (pos === committed) return;
    committed = pos;
    Atomics.store(consumerPos, 0, BigInt(pos));
  };
  let watch: FdWatch | undefined;
  let keepAlive = true;
  let closed = false;

  return {
    fd,
    sizeBytes,
    drain(onRecord, max = Infinity, holdLast = false) {
      if (closed) return 0;
      let consumer = readPos;
      let producer = Number(Atomics.load(producerPos, 0));
      let lastStart = -1;
      let delivered = 0;
      let sinceCommit = 0;
      while (consumer < producer && delivered < max) {
        // Positions only grow; the offset is their low bits (the size is a power of two, and `&`
        // keeps the low 32 bits of any position below 2^53).
        const offset = consumer & mask;
        const header = Atomics.load(dataWords, offset >> 2) >>> 0;
        if (header & Ringbuf.BUSY_BIT) break; // reserved, not yet committed: stop here
        const length = header & LENGTH_MASK;
        const start = consumer;
        consumer += (length + Ringbuf.HDR_SIZE_BYTES + 7) & ~7;
        if (!(header & Ringbuf.DISCARD_BIT)) {
          delivered++;
          lastStart = start;
          readPos = consumer;
          onRecord(data, offset + Ringbuf.HDR_SIZE_BYTES, length);
        } else {
          readPos = consumer;
        }
        if (++sinceCommit >= COMMIT_EVERY_RECORDS) {
          commit(holdLast && lastStart >= 0 ? lastStart : consumer);
          sinceCommit = 0;
        }
        if (consumer >= producer) producer = Number(Atomics.load(producerPos, 0));
      }
      if (!holdLast) commit(readPos);
      else if (lastStart >= 0) commit(lastStart);
      return delivered;
    },
    release() {
      if (!closed) commit(readPos);
    },
    available() {
      if (closed) return 0;
      return Number(Atomics.load(producerPos, 0) - Atomics.load(consumerPos, 0));
    },
    wait(onReadable) {
      this.stopWaiting();
      if (closed) return;
      watch = watchReadable(fd, onReadable);
      if (!keepAlive) watch.unref();
      liveWatches.add(watch);
    },
    stopWaiting() {
      if (!watch) return;
      watch.close();
      liveWatches.delete(watch);
      watch = undefined;
    },
    setKeepAlive(value) {
      keepAlive = value;
      if (watch) { if (value) watch.ref(); else watch.unref(); }
    },
    close() {
      if (closed) return;
      this.stopWaiting();
      closed = true;
      munmap(producerAddress, page + 2 * sizeBytes);
      munmap(consumerAddress, page);
      if (ownsFd) closeFd(fd);
    },
  };
}
