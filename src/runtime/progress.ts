/**
 * @fileoverview The progress line shown while attaching takes long (thousands of uprobes or
 * kprobes): nothing for the first second, then `dtrace: attaching probes: i/n` rewritten
 * in place (at most every 100 ms), erased once attaching is done. The caller shows it only on a
 * terminal and not under -q.
 */
const SHOW_AFTER_MS = 1000;
const REDRAW_MS = 100;

export class AttachProgress {
  private readonly start: number;
  private lastDraw = -Infinity;
  private shown = false;

  constructor(private readonly write: (text: string) => void, private readonly now: () => number = () => performance.now()) {
    this.start = now();
  }

  /** `done` of `total` probes attached. */
  update(done: number, total: number): void {
    const t = this.now();
    if (t - this.start < SHOW_AFTER_MS || (t - this.lastDraw < REDRAW_MS && done < total)) return;
    this.lastDraw = t;
    this.shown = true;
    this.write(`\rdtrace: attaching probes: ${done}/${total} (${((t - this.start) / 1000).toFixed(1)} s)\x1b[K`);
  }

  /** Erases the line, if it was shown. */
  finish(): void {
    if (this.shown) this.write('\r\x1b[K');
    this.shown = false;
  }
}

/**
 * What the progress line counts as each program is attached: probes, not programs (one program
 * may attach one probe or every function of a library, so a count of programs would stall, then
 * jump). `after[i]`: the probes attached once program i is.
 */
export function probeCounts(probesPerProgram: readonly number[]): { total: number; after: number[] } {
  let done = 0;
  const after = probesPerProgram.map((n) => (done += n));
  return { total: done, after };
}
