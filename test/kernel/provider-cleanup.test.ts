/**
 * @fileoverview Nothing dtrace attaches outlives it, however it ends: normal exit (`exit()`),
 * SIGINT, SIGTERM and SIGKILL. The target is a C program built with our `-h` header that keeps
 * firing a USDT probe with an is-enabled semaphore; dtrace grabs it with `-p`. The checks read
 * the kernel's own state: while attached, the probe's `nop` in the target's memory is an int3
 * breakpoint (0xcc) and the semaphore word counts 1; after dtrace is gone the instruction is a
 * `nop` (0x90) again, the semaphore is back to 0, and tracefs uprobe_events names nothing of
 * ours (we never create tracefs uprobes, which would survive a SIGKILL). Needs root, gcc and
 * the uprobe PMU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../helpers/workloads.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !hasGcc ? 'gcc not installed' :
  !existsSync('/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset') ? 'uprobe PMU without ref_ctr_offset (USDT semaphores)' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' : false;

const PROGRAM = `#include <stdio.h>
#include <unistd.h>
#include "tick.h"
int main(void) {
	long n = 0;
	printf("started\\n");
	fflush(stdout);
	for (;;) {
		if (TICKER_TICK_ENABLED()) n++;
		TICKER_TICK(n);
		usleep(5000);
	}
}
`;

/** Reads `size` bytes of process `pid`'s memory at `address`. */
function peek(pid: number, address: number, size: number): Buffer {
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    const b = Buffer.alloc(size);
    readSync(fd, b, 0, size, address);
    return b;
  } finally {
    closeSync(fd);
  }
}

let built: { dir: string; exe: string; pc: number; semaphore: number } | undefined;

function build() {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-cleanup-'));
  writeFileSync(join(dir, 'tick.d'), 'provider ticker { probe tick(long); };\n');
  const h = spawnSync(process.execPath, [cli, '-h', '-s', 'tick.d'], { cwd: dir, encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  writeFileSync(join(dir, 'main.c'), PROGRAM);
  // Not PIE: link-time addresses are the run-time ones, so the probe and semaphore are peeked at directly.
  const cc = spawnSync('gcc', ['-O2', '-no-pie', '-o', 'ticker', 'main.c'], { cwd: dir, encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const exe = join(dir, 'ticker');
  const probe = readUsdtProbes(exe).find((p) => p.name === 'tick')!;
  assert.ok(probe.semaphore, 'the probe has a semaphore');
  built = { dir, exe, pc: Number(probe.pc), semaphore: Number(probe.semaphore) };
  return built;
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function uprobeEventsMention(path: string): boolean {
  for (const f of ['/sys/kernel/tracing/uprobe_events', '/sys/kernel/debug/tracing/uprobe_events']) {
    try {
      if (readFileSync(f, 'utf8').includes(path)) return true;
    } catch {
      // not mounted / not readable
    }
  }
  return false;
}

async function attachAndEnd(how: 'exit' | 'SIGINT' | 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const { exe, pc, semaphore } = build();
  const target: ChildProcess = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => target.stdout!.once('data', () => resolve()));
    const pid = target.pid!;
    assert.equal(peek(pid, pc, 1)[0], 0x90, 'a nop before attaching');
    assert.equal(peek(pid, semaphore, 2).readUInt16LE(0), 0, 'semaphore 0 before attaching');

    const program = `ticker${pid}:::tick { @ = count(); } profile:::tick-20ms /!ready/ { ready = 1; printf("ready\\n"); }` +
      (how === 'exit' ? ' profile:::tick-20ms /ready && ++n > 10/ { exit(0); }' : '');
    const tracer = spawn(process.execPath, [cli, '-q', '-n', program], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    tracer.stdout!.setEncoding('latin1').on('data', (d: string) => { out += d; });
    tracer.stderr!.setEncoding('latin1').on('data', (d: string) => { err += d; });
    const ended = new Promise<void>((resolve) => tracer.on('close', () => resolve()));
    await waitFor(`dtrace to attach (${err})`, () => out.includes('ready\n') || tracer.exitCode !== null);
    assert.ok(out.includes('ready\n'), err);

    assert.equal(peek(pid, pc, 1)[0], 0xcc, 'an int3 at the probe while attached');
    assert.equal(peek(pid, semaphore, 2).readUInt16LE(0), 1, 'semaphore counted up while attached');

    if (how !== 'exit') tracer.kill(how);
    await ended;
    await waitFor('the breakpoint to go', () => peek(pid, pc, 1)[0] === 0x90);
    await waitFor('the semaphore to drop', () => peek(pid, semaphore, 2).readUInt16LE(0) === 0);
    assert.ok(!uprobeEventsMention(exe), 'no tracefs uprobe names the target');
    if (how !== 'SIGKILL') assert.match(out, /^\s+\d+\s*$/m, `the count was printed: ${out}`);
  } finally {
    target.kill('SIGKILL');
  }
}

for (const how of ['exit', 'SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
  test(`uprobes and semaphores are undone when dtrace ends by ${how}`, { skip }, async () => {
    await attachAndEnd(how);
  });
}

test.after(() => {
  if (built) rmSync(built.dir, { recursive: true, force: true });
});
