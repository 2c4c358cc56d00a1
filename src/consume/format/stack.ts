/**
 * @fileoverview stack()/ustack() blocks. The runtime symbolises the frames (kernel:
 * ``vmlinux`ksys_write+0x71``, ``mod`0xpc``, `0xpc`; user: ``libc.so.6`read+0x12``, or
 * `obj:0xoff` with noresolve); this file lays them out as dt_print_stack does:
 * a newline, then per frame `stackindent` spaces (default 14), the frame text, a newline.
 */
import { type CSpec, formatCString } from './cformat.js';

/** Oracle's default `stackindent`. */
export const DEFAULT_STACK_INDENT = 14;

/**
 * The stack block. `frameSpec`, when given, is the `%s` spec each frame is printed with (printa's
 * `%20k` prints each frame with `%20s`); by default frames are printed as they are.
 */
export function formatStack(frames: readonly string[], indent: number = DEFAULT_STACK_INDENT, frameSpec?: CSpec): string {
  let out = '\n';
  const pad = ' '.repeat(Math.max(0, indent));
  for (const frame of frames) out += pad + (frameSpec ? formatCString(frame, frameSpec) : frame) + '\n';
  return out;
}

/** Kernel frame text from a resolved symbol, as dt_print_stack builds it. */
export function kernelFrameText(pc: bigint, sym?: { module: string; name?: string; start?: bigint }): string {
  if (sym === undefined) return `0x${pc.toString(16)}`;
  if (sym.name === undefined || sym.start === undefined) return `${sym.module}\`0x${pc.toString(16)}`;
  if (pc > sym.start) return `${sym.module}\`${sym.name}+0x${(pc - sym.start).toString(16)}`;
  return `${sym.module}\`${sym.name}`;
}
