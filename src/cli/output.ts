/**
 * @fileoverview Where the command writes: stdout/stderr/-o file descriptors, with DTrace's
 * behaviour when the reader goes away (EPIPE) and strerror(3) texts for file errors.
 */
import { writeSync } from 'node:fs';

/**
 * Set once a reader of our output has gone (EPIPE, e.g. `| head -1`): the run stops, writes are
 * dropped, and the process then dies of SIGPIPE as DTrace does (no stack trace, no message).
 */
let outputClosed = false;

export function outputWasClosed(): boolean {
  return outputClosed;
}

/** An output write that failed for a reason other than a closed pipe (EIO, ENOSPC, EBADF). */
export class OutputError extends Error {}

export function writeOut(fd: number, text: string | Uint8Array): void {
  if (text.length === 0 || outputClosed) return;
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw new OutputError(errnoText(e));
    outputClosed = true;
  }
}

/** Trace output to a descriptor: text, or the same as bytes (one per latin1 character, no string made). */
export interface OutputWriter {
  (text: string): void;
  bytes(bytes: Uint8Array): void;
}

export function outputWriter(fd: number): OutputWriter {
  return Object.assign((text: string) => writeOut(fd, text), { bytes: (bytes: Uint8Array) => writeOut(fd, bytes) });
}

export const stderr = (text: string): void => writeOut(2, text.endsWith('\n') ? text : text + '\n');

/** strerror(3)'s text for a Node file-system error. */
export function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    EACCES: 'Permission denied', EISDIR: 'Is a directory', ENOENT: 'No such file or directory', EROFS: 'Read-only file system',
    ENOSPC: 'No space left on device', ENOTDIR: 'Not a directory', ELOOP: 'Too many levels of symbolic links', EPERM: 'Operation not permitted',
    EIO: 'Input/output error', EBADF: 'Bad file descriptor', EFBIG: 'File too large', EDQUOT: 'Disk quota exceeded', ENXIO: 'No such device or address',
  };
  return (code && texts[code]) ?? (e as Error).message;
}
