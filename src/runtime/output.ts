/**
 * @fileoverview The consumer's trace output: collected and written in large chunks (one write(2)
 * per drain or per OUTPUT_CHUNK_CHARS, not per record), redirected by freopen(). Diagnostics
 * flush it first so the two streams keep their relative order on a terminal.
 */
import { writeSync, openSync, closeSync, ftruncateSync } from 'node:fs';

/** Output is written once it reaches this many characters (and at the end of every drain). */
const OUTPUT_CHUNK_CHARS = 1 << 16;

export class TraceOutput {
  private pending = '';
  /** freopen(): output goes to this file until freopen("") restores the original output. */
  private reopened: { fd: number; path: string } | undefined;

  constructor(private readonly out: (text: string) => void, private readonly errOut: (text: string) => void,
    private readonly outBytes?: (bytes: Uint8Array) => void) {}

  /** The fd output is redirected to by freopen(), if it is. */
  get reopenedFd(): number | undefined { return this.reopened?.fd; }
  /** The file output is redirected to by freopen(), if it is (pcap() writes its captures there). */
  get reopenedPath(): string | undefined { return this.reopened?.path; }

  /** The output not yet written (bufpolicy=ring takes each record's text from here). */
  get pendingText(): string { return this.pending; }
  set pendingText(text: string) { this.pending = text; }

  flush(): void {
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    if (this.reopened) writeSync(this.reopened.fd, text, null, 'latin1'); else this.out(text);
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= OUTPUT_CHUNK_CHARS) this.flush();
  }

  /** Output given as bytes (one per latin1 character), written now after what is pending. */
  writeBytes(bytes: Uint8Array): void {
    this.flush();
    if (this.reopened) writeSync(this.reopened.fd, bytes);
    else if (this.outBytes) this.outBytes(bytes);
    else this.out(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  }

  /** A diagnostic line (already prefixed), after the output written before it. */
  err(text: string): void { this.flush(); this.errOut(text); }

  /** freopen(file): later output goes to file (appended); "" restores the original output. */
  reopen(file: string): void {
    this.flush();
    if (this.reopened) { closeSync(this.reopened.fd); this.reopened = undefined; }
    if (file === '') return;
    try { this.reopened = { fd: openSync(file, 'a'), path: file }; } catch (e) { this.err(`dtrace: failed to freopen ${file}: ${(e as Error).message}\n`); }
  }

  /** ftruncate(): empties the file freopen() redirected output to. */
  truncate(): void {
    this.flush();
    if (this.reopened) ftruncateSync(this.reopened.fd, 0);
  }
}
