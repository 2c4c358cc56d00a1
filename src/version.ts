/** The dtrace-ts release (package.json's `version`; a unit test keeps the two equal). */
export const DTRACE_TS_VERSION = '0.1.0';
/** The D language version this compiler implements (what `dtrace -V` reports, as Oracle's). */
export const D_VERSION = '2.0';
