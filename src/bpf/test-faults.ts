/**
 * @fileoverview Fault injection for the reliability suite: makes a chosen bpf(2) command fail
 * with a chosen errno, so the error paths of map creation, program loading and attaching can be
 * exercised against the real kernel.
 *
 * Guard: the fault is read from DTRACE_TS_TEST_FAULT only in the per-module test build
 * (build/). The installed command (dist/, one bundle made by scripts/build.mjs) is built with
 * that expression defined as `undefined`, so no environment variable can steer it;
 * test/reliability/faults.test.ts checks that the bundle does not contain the name.
 *
 * Format: `COMMAND:ERRNO[:N]` (e.g. `BPF_MAP_CREATE:ENOMEM:3`): from the Nth (default 1st) call
 * of that bpf(2) command on, every call fails with that errno (as a kernel out of memory would).
 */
import { ERRNO_NAMES } from './uapi.js';

const spec = parseSpec(process.env.DTRACE_TS_TEST_FAULT);
let calls = 0;

function parseSpec(text: string | undefined): { command: string; errno: number; nth: number } | undefined {
  if (text === undefined) return undefined;
  const [command = '', errnoName = '', nth = '1'] = text.split(':');
  const errno = Number(Object.entries(ERRNO_NAMES).find(([, name]) => name === errnoName)?.[0]);
  if (!Number.isInteger(errno) || !/^\d+$/.test(nth)) return undefined;
  return { command, errno, nth: Number(nth) };
}

/** The errno to fail this bpf(2) command with, when a test build asked for it. */
export function injectedFault(commandName: string): number | undefined {
  if (spec === undefined || spec.command !== commandName) return undefined;
  return ++calls >= spec.nth ? spec.errno : undefined;
}
