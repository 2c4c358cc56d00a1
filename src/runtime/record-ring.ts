/**
 * @fileoverview bufpolicy=ring: the principal buffer keeps the newest records and drops the
 * oldest when full, and the consumer prints what it holds when tracing stops. Records are
 * consumed as they come (so aggregations, exit() and speculations act at once); their output is
 * what the ring keeps, up to `bufsize` bytes of records as the probes wrote them.
 *
 * bufpolicy=fill: the buffer keeps the oldest records; the first that does not fit fills it —
 * that record and every later one is dropped unseen (its actions never run, as a record DTrace
 * could not write) and tracing stops, as illumos stops at DTRACE_STATUS_FILLED. END's records
 * always fit (DTrace reserves their room), and everything kept is printed at the end.
 */
export class RecordRing {
  /** fill: the buffer has filled (tracing must stop). */
  full = false;
  /** fill: records are kept whatever their size (END's, after tracing has stopped). */
  private reserved = false;

  private readonly texts: string[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  /** `output`: the consumer's pending output text, which a record's rendering appends to. */
  constructor(readonly capacityBytes: number, private readonly output?: { get(): string; set(text: string): void }, readonly policy: 'ring' | 'fill' = 'ring') {}

  /** fill: from now on every record is kept (END's records have their room reserved). */
  acceptAll(): void { this.reserved = true; }

  /** Wraps a record consumer: each record is consumed at once and its output kept here instead of printed. */
  consumer(onRecord: (view: DataView, offset: number, length: number) => void): (view: DataView, offset: number, length: number) => void {
    const out = this.output;
    if (!out) return onRecord;
    return (view, offset, length) => {
      if (this.policy === 'fill' && !this.reserved && (this.full || this.bytes + length > this.capacityBytes)) { this.full = true; return; }
      const before = out.get();
      out.set('');
      onRecord(view, offset, length);
      this.push(out.get(), length);
      out.set(before);
    };
  }

  /** Keeps one record's output; the oldest records go when their bytes no longer fit. */
  push(text: string, recordBytes: number): void {
    if (this.policy === 'fill') { this.texts.push(text); this.sizes.push(recordBytes); this.bytes += recordBytes; return; }
    if (recordBytes > this.capacityBytes) return;
    this.texts.push(text);
    this.sizes.push(recordBytes);
    this.bytes += recordBytes;
    while (this.bytes > this.capacityBytes) this.bytes -= this.sizes[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.texts.length) {
      this.texts.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The kept output, oldest first; the ring is empty afterwards. */
  take(): string {
    const out = this.texts.slice(this.head).join('');
    this.texts.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytes = 0;
    return out;
  }
}
