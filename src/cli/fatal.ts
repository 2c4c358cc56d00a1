/**
 * @fileoverview What the dtrace command prints for an error that ends the run from deep inside
 * (loading, attaching, output, the kernel's type information): DTrace's one line, and a hint
 * outside the test harness — never a JavaScript stack trace, except for our own bugs.
 */
import { LoadError } from '../runtime/session.js';
import { SysError, UnsupportedError } from '../bpf/errors.js';
import { BtfFormatError, KERNEL_BTF_PATH } from '../bpf/btf/index.js';
import { sysErrorHint } from './hints.js';
import { OutputError } from './output.js';

/** The lines (without newlines) written to stderr for `e`; `testing` leaves hints out. */
export function fatalErrorLines(e: unknown, testing: boolean): string[] {
  if (e instanceof LoadError) return [`dtrace: ${e.message}`];
  if (e instanceof UnsupportedError || e instanceof SysError) {
    const hint = e instanceof SysError ? sysErrorHint(e) : undefined;
    return [`dtrace: could not enable tracing: ${e.message}`, ...(hint !== undefined && !testing ? [`hint: ${hint}`] : [])];
  }
  // A write to stdout or -o failed (EIO, ENOSPC on /dev/full): the consumer stops, as
  // dtrace(8)'s dtrace_work() error ends in dfatal("processing aborted").
  if (e instanceof OutputError) return [`dtrace: processing aborted: ${e.message}`];
  // The kernel's BTF is corrupt (bad header, sections past the end, unknown kinds, type ids
  // out of range, type cycles): the types the compiler reads cannot be trusted.
  if (e instanceof BtfFormatError || (e instanceof RangeError && /^BTF type id /.test(e.message))) {
    return [`dtrace: failed to load kernel type information: ${e.message}`, ...(testing ? [] : [`hint: ${KERNEL_BTF_PATH} (or a module's BTF beside it) is corrupt or not BTF`])];
  }
  // Recursion over a program nested thousands deep (parentheses, ifs) runs out of stack in
  // the parser, checker or code generator: a limit of the compiler, said as such.
  if (e instanceof RangeError && /call stack/.test(e.message)) return ['dtrace: failed to compile: the program nests too deeply for the compiler (thousands of levels of parentheses, blocks or if statements)'];
  return [`dtrace: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`];
}
