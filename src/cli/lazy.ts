/**
 * @fileoverview The parts of the command that only some runs use, loaded on first use. Each
 * dynamic import here is a split point of the CLI bundle (scripts/cli-bundle.mjs): its code is
 * a chunk of its own in dist/, read only by the runs that need it, so that a plain tracing run
 * (`dtrace -n 'BEGIN { exit(0); }'`) does not read, decode and deserialise it at start-up.
 */

/** -l and -i: probe ids, listings, the "why no probes" hint. */
export const listing = (): Promise<typeof import('./listing.js')> => import('./listing.js');

/** -v: stability reports. */
export const stability = (): Promise<typeof import('./stability.js')> => import('./stability.js');

/** -h and -G: the header and ELF object modes. */
export const objectModes = (): Promise<typeof import('./object-modes.js')> => import('./object-modes.js');
