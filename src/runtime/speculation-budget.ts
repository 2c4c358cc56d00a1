/**
 * @fileoverview specsize: the bytes each active speculation holds, counted as dtrace-utils sizes a
 * record (its 16-byte header — ours is RECORD_HEADER_BYTES — and the data); a record that does not
 * fit is a speculation drop. Shared by the text and the JSON record consumers.
 */
import { RECORD_HEADER_BYTES } from '../program/spec.js';

export class SpeculationBudget {
  /** Speculative records dropped for want of specsize. */
  drops = 0;
  private readonly held = new Map<number, number>();

  constructor(private readonly limitBytes: number | undefined) {}

  /**
   * Whether a record of `recordSize` bytes for speculation `spec` (0: not speculative) is kept:
   * counted against the speculation when it fits, counted as a drop when it does not.
   */
  admit(spec: number, recordSize: number): boolean {
    if (spec === 0 || this.limitBytes === undefined) return true;
    const size = recordSize + 16 - RECORD_HEADER_BYTES;
    const used = this.held.get(spec) ?? 0;
    if (used + size > this.limitBytes) { this.drops++; return false; }
    this.held.set(spec, used + size);
    return true;
  }

  /** commit() or discard() empties speculation `spec`. */
  release(spec: number): void { this.held.delete(spec); }
}
