/**
 * @fileoverview Attaching against the real kernel: a raw tracepoint (sys_enter), a perf-event
 * tracepoint (syscalls:sys_enter_getpid), a profile event on every CPU, uprobes/uretprobes and a
 * uprobe_multi link on a tiny compiled binary. Each program counts hits in an array map; after
 * close() the count stops, the fds are gone and bpftool no longer lists the link. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createMap, onlineCpus, type BpfMap } from '../../src/bpf/map.js';
import { loadProgram, type BpfProgram } from '../../src/bpf/program.js';
import { attachProfile, attachRawTracepoint, attachTracepoint, attachTracing, attachUprobe, attachUprobeMulti, closeLinks, closeLinksAsync, linkInfo, type Link } from '../../src/bpf/link.js';
import { BTF_KIND_TYPEDEF, hasFeature, vmlinuxBtfTypeId } from '../../src/bpf/features.js';
import { getpid } from '../../src/bpf/sys.js';
import { SysError } from '../../src/bpf/errors.js';
import { AttachType, Helper } from '../../src/bpf/uapi.js';
import type { ProgTypeName } from '../../src/bpf/uapi.js';

const root = process.getuid?.() === 0;
const skipRoot = root ? false : 'needs root (bpf(2), perf_event_open)';

function tool(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
const bpftool = tool('bpftool');

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, (src << 4) | dst, off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >> 8) & 0xff, (imm >> 16) & 0xff, (imm >>> 24) & 0xff];
}

/** `counter[0] += 1; return 0` for any program type. */
function counterProgram(name: string, type: ProgTypeName, counter: BpfMap, expectedAttachType?: number): BpfProgram {
  return loadProgram({ name, type, insns: counterInsns(counter), expectedAttachType });
}

function counterInsns(counter: BpfMap): Uint8Array {
  return new Uint8Array([
    ...insn(0x62, 10, 0, -4, 0), //        *(u32 *)(fp - 4) = 0
    ...insn(0xbf, 2, 10, 0, 0), //         r2 = fp
    ...insn(0x07, 2, 0, 0, -4), //         r2 -= 4
    ...insn(0x18, 1, 1, 0, counter.fd), ...insn(0, 0, 0, 0, 0), // r1 = &counter
    ...insn(0x85, 0, 0, 0, Helper.map_lookup_elem),
    ...insn(0x15, 0, 0, 2, 0), //          if r0 == 0 goto +2
    ...insn(0xb7, 1, 0, 0, 1), //          r1 = 1
    ...insn(0xdb, 0, 1, 0, 0), //          lock *(u64 *)(r0 + 0) += r1
    ...insn(0xb7, 0, 0, 0, 0), //          r0 = 0
    ...insn(0x95, 0, 0, 0, 0),
  ]);
}

function newCounter(): BpfMap {
  return createMap({ name: 'test_counter', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 });
}
function count(counter: BpfMap): bigint {
  const v = counter.lookup(new Uint8Array(4))!;
  return new DataView(v.buffer).getBigUint64(0, true);
}

/** This process's fds that are BPF links or perf events. */
function attachFds(): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (/bpf[-_]link|perf_event/.test(target)) out.add(`${fd}:${target}`);
    } catch { /* closed meanwhile */ }
  }
  return out;
}

/** Checks that a link's kernel object is gone (bpftool), allowing for deferred release. */
async function assertLinkGone(id: number): Promise<void> {
  if (!bpftool) return;
  for (let i = 0; i < 50; i++) {
    if (spawnSync(bpftool, ['link', 'show', 'id', String(id)]).status !== 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`bpftool still lists link ${id}`);
}

test('raw tracepoint sys_enter: counts syscalls, detaches on close', { skip: skipRoot || (!hasFeature('raw_tp') && 'kernel lacks raw tracepoints') }, async () => {
  const counter = newCounter();
  const prog = counterProgram('test_rawtp', 'raw_tracepoint', counter);
  const before = attachFds();
  const link = attachRawTracepoint(prog, 'sys_enter');
  try {
    assert.equal(link.describe, 'raw_tracepoint:sys_enter');
    const info = linkInfo(link.fd);
    assert.equal(info.type, 1); // BPF_LINK_TYPE_RAW_TRACEPOINT
    for (let i = 0; i < 100; i++) getpid();
    assert.ok(count(counter) >= 100n, `count ${count(counter)}`);
    link.close();
    assert.deepEqual(attachFds(), before);
    await assertLinkGone(info.id);
    const frozen = count(counter);
    for (let i = 0; i < 100; i++) getpid();
    assert.equal(count(counter), frozen);
  } finally {
    link.close();
    prog.close();
    counter.close();
  }
});

test('tp_btf sys_enter: a BTF-typed tracepoint program attaches and detaches', { skip: skipRoot || (!hasFeature('tp_btf') && 'kernel lacks tp_btf') }, async () => {
  const counter = newCounter();
  const attachBtfId = vmlinuxBtfTypeId('btf_trace_sys_enter', BTF_KIND_TYPEDEF);
  assert.ok(attachBtfId);
  const prog = loadProgram({ name: 'test_tp_btf', type: 'tracing', expectedAttachType: AttachType.TRACE_RAW_TP, attachBtfId, insns: counterInsns(counter) });
  const link = attachTracing(prog, 'tp_btf:sys_enter');
  try {
    const id = linkInfo(link.fd).id;
    for (let i = 0; i < 20; i++) getpid();
    assert.ok(count(counter) >= 20n);
    link.close();
    await assertLinkGone(id);
    const frozen = count(counter);
    for (let i = 0; i < 20; i++) getpid();
    assert.equal(count(counter), frozen);
  } finally {
    link.close();
    prog.close();
    counter.close();
  }
});

test('tracepoint syscalls:sys_enter_getpid via perf event + link', { skip: skipRoot }, async () => {
  const counter = newCounter();
  const prog = counterProgram('test_tp', 'tracepoint', counter);
  const before = attachFds();
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_getpid');
  try {
    assert.equal(link.describe, 'tracepoint:syscalls/sys_enter_getpid');
    assert.equal(link.fds.length, 2); // link + perf event
    const id = linkInfo(link.fd).id;
    for (let i = 0; i < 50; i++) getpid();
    assert.ok(count(counter) >= 50n, `count ${count(counter)}`);
    link.close();
    assert.deepEqual(attachFds(), before);
    await assertLinkGone(id);
    const frozen = count(counter);
    for (let i = 0; i < 50; i++) getpid();
    assert.equal(count(counter), frozen);
  } finally {
    link.close();
    prog.close();
    counter.close();
  }
});

test('closeLinksAsync: several perf-event tracepoints detach in parallel, faster than one after another', { skip: skipRoot }, async () => {
  const counter = newCounter();
  const prog = counterProgram('test_tp_async', 'tracepoint', counter);
  const events = ['sys_enter_getpid', 'sys_enter_getppid', 'sys_enter_getuid', 'sys_enter_getgid', 'sys_enter_geteuid', 'sys_enter_getegid', 'sys_enter_gettid', 'sys_enter_getpgrp'];
  const before = attachFds();
  const time = async (close: (links: Link[]) => Promise<void> | void) => {
    const links = events.map((e) => attachTracepoint(prog, 'syscalls', e));
    const ids = links.map((l) => linkInfo(l.fd).id);
    const t0 = performance.now();
    await close(links);
    const ms = performance.now() - t0;
    assert.deepEqual(attachFds(), before);
    for (const id of ids) await assertLinkGone(id);
    for (const l of links) l.close(); // a no-op now: must not close a reused fd number
    return ms;
  };
  try {
    const serialMs = await time((links) => closeLinks(links));
    const parallelMs = await time((links) => closeLinksAsync(links));
    const frozen = count(counter);
    for (let i = 0; i < 20; i++) getpid();
    assert.equal(count(counter), frozen);
    // Each perf-event detach waits for an RCU grace period; on worker threads they overlap.
    assert.ok(parallelMs < serialMs, `parallel ${parallelMs.toFixed(0)} ms, serial ${serialMs.toFixed(0)} ms`);
  } finally {
    prog.close();
    counter.close();
  }
});

test('a missing tracepoint is a SysError saying so', { skip: skipRoot }, () => {
  const counter = newCounter();
  const prog = counterProgram('test_tp_missing', 'tracepoint', counter);
  try {
    assert.throws(() => attachTracepoint(prog, 'syscalls', 'sys_enter_no_such_call'),
      (e: unknown) => e instanceof SysError && e.code === 'ENOENT' && /no tracepoint syscalls:sys_enter_no_such_call/.test(e.message));
  } finally {
    prog.close();
    counter.close();
  }
});

test('profile: one CPU_CLOCK event per online CPU', { skip: skipRoot }, () => {
  const counter = newCounter();
  const prog = counterProgram('test_profile', 'perf_event', counter);
  const before = attachFds();
  let links: Link[] = [];
  try {
    links = attachProfile(prog, { hz: 997 });
    assert.equal(links.length, onlineCpus().length);
    assert.deepEqual(links.map((l) => l.describe), onlineCpus().map((c) => `perf_event:1/0 cpu ${c}`));
    const until = Date.now() + 150;
    while (Date.now() < until) { /* keep this CPU busy so it takes samples */ }
    assert.ok(count(counter) > 10n, `only ${count(counter)} samples in 150 ms at 997 Hz`);
    closeLinks(links);
    assert.deepEqual(attachFds(), before);
  } finally {
    closeLinks(links);
    prog.close();
    counter.close();
  }
});

/** Compiles a tiny program with two probe targets; returns its path and the functions' file offsets. */
function buildTarget(dir: string): { path: string; offsets: Record<string, number> } | undefined {
  if (!tool('gcc') || !tool('nm')) return undefined;
  const src = join(dir, 'target.c');
  const path = join(dir, 'target');
  writeFileSync(src, `#include <stdlib.h>
#include <stdio.h>
__attribute__((noinline)) int probe_target(int x) { __asm__ volatile(""); return x * 2; }
__attribute__((noinline)) int probe_other(int x) { __asm__ volatile(""); return x + 1; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5, s = 0;
  for (int i = 0; i < n; i++) s += probe_target(i) + probe_other(i);
  printf("%d\\n", s);
  return 0;
}
`);
  if (spawnSync('gcc', ['-O1', '-o', path, src]).status !== 0) return undefined;
  // Symbol address → file offset through the PT_LOAD segment that contains it.
  const syms = spawnSync('nm', [path], { encoding: 'utf8' }).stdout;
  const segments = loadSegments(path);
  const offsets: Record<string, number> = {};
  for (const name of ['probe_target', 'probe_other']) {
    const m = new RegExp(`^([0-9a-f]+) T ${name}$`, 'm').exec(syms);
    if (!m) return undefined;
    const vaddr = Number.parseInt(m[1], 16);
    const seg = segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.fileSize);
    if (!seg) return undefined;
    offsets[name] = vaddr - seg.vaddr + seg.offset;
  }
  return { path, offsets };
}

/** PT_LOAD program headers of a little-endian ELF64 file. */
function loadSegments(path: string): { vaddr: number; offset: number; fileSize: number }[] {
  const elf = readFileSync(path);
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  const out: { vaddr: number; offset: number; fileSize: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 1 /* PT_LOAD */) continue;
    out.push({ offset: Number(v.getBigUint64(at + 8, true)), vaddr: Number(v.getBigUint64(at + 16, true)), fileSize: Number(v.getBigUint64(at + 32, true)) });
  }
  return out;
}

function runTarget(path: string, n: number): void {
  const r = spawnSync(path, [String(n)], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(Number(r.stdout.trim()), (n * (n - 1)) + (n * (n - 1)) / 2 + n);
}

test('uprobe and uretprobe on a compiled binary count exactly its calls', { skip: skipRoot || (!hasFeature('uprobe_pmu') && 'kernel lacks the uprobe PMU') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-uprobe-'));
  try {
    const target = buildTarget(dir);
    if (!target) { t.skip('gcc or nm unavailable, or symbols not found'); return; }
    const entries = newCounter();
    const returns = newCounter();
    const entryProg = counterProgram('test_uprobe', 'kprobe', entries);
    const returnProg = counterProgram('test_uretprobe', 'kprobe', returns);
    const before = attachFds();
    const links: Link[] = [];
    try {
      links.push(attachUprobe(entryProg, { path: target.path, fileOffset: target.offsets.probe_target, retprobe: false }));
      links.push(attachUprobe(returnProg, { path: target.path, fileOffset: target.offsets.probe_other, retprobe: true }));
      assert.match(links[0].describe, /^uprobe:.*target\+0x[0-9a-f]+$/);
      assert.match(links[1].describe, /^uretprobe:/);
      runTarget(target.path, 7);
      assert.equal(count(entries), 7n);
      assert.equal(count(returns), 7n);
      closeLinks(links);
      assert.deepEqual(attachFds(), before);
      runTarget(target.path, 3);
      assert.equal(count(entries), 7n);
    } finally {
      closeLinks(links);
      entryProg.close();
      returnProg.close();
      entries.close();
      returns.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('uprobe_multi: one link on two functions', { skip: skipRoot || (!hasFeature('uprobe_multi') && 'kernel lacks uprobe_multi links (Linux 6.6)') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-uprobe-multi-'));
  try {
    const target = buildTarget(dir);
    if (!target) { t.skip('gcc or nm unavailable, or symbols not found'); return; }
    const counter = newCounter();
    const prog = counterProgram('test_upmulti', 'kprobe', counter, AttachType.TRACE_UPROBE_MULTI);
    const before = attachFds();
    const link = attachUprobeMulti(prog, {
      path: target.path, offsets: [target.offsets.probe_target, target.offsets.probe_other], cookies: [1n, 2n], retprobe: false,
    });
    try {
      assert.match(link.describe, /^uprobe_multi:.*\(2 offsets\)$/);
      const id = linkInfo(link.fd).id;
      runTarget(target.path, 10);
      assert.equal(count(counter), 20n);
      link.close();
      assert.deepEqual(attachFds(), before);
      await assertLinkGone(id);
      runTarget(target.path, 10);
      assert.equal(count(counter), 20n);
    } finally {
      link.close();
      prog.close();
      counter.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
