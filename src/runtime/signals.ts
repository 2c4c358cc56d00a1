/** @fileoverview SIGINT/SIGTERM as a clean stop of a run (END runs, output is printed, probes go). */

/** SIGINT/SIGTERM received so far, and who to tell of the next one. */
export interface StopSignals {
  count: number;
  notify?: () => void;
  /** Restores the signals' previous handling. */
  release(): void;
}

/**
 * From here on SIGINT/SIGTERM stop the run cleanly, whenever they come (while loading, in
 * BEGIN, while attaching): END runs, aggregations are printed, everything is detached. The
 * first one prints a newline (dtrace.c intr()); later ones change nothing.
 */
export function catchStopSignals(): StopSignals {
  const signals: StopSignals = {
    count: 0,
    release() { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); },
  };
  const onSignal = () => { signals.count++; signals.notify?.(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return signals;
}

/** Stop signals that no process signal feeds: a library session stops by stop() or its AbortSignal. */
export function manualStopSignals(): StopSignals {
  return { count: 0, release() { /* nothing to restore */ } };
}
