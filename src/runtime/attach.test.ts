/**
 * @fileoverview The provider contract as the runtime sees it, without the kernel: a compiled
 * program is plain data (its programs' provider, run mode, attach data and probe ids survive
 * JSON and structuredClone), and attachPrograms hands each provider that data, takes its links
 * as they come and stops between two links once told to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from '../lang/parser.js';
import { makeSource } from '../diag/source.js';
import { DiagnosticSink } from '../diag/diagnostic.js';
import { check } from '../check/checker.js';
import { matchProgram, compileProgram } from '../codegen/compile.js';
import { dtraceProvider } from '../providers/dtrace.js';
import { syscallProvider } from '../providers/syscall.js';
import { profileProvider } from '../providers/profile.js';
import { fbtProvider } from '../providers/fbt.js';
import { pidProviderFor } from '../providers/pid.js';
import { usdtProvider } from '../providers/usdt.js';
import { readUsdtProbes } from '../bpf/elf/stapsdt.js';
import type { ProcessModule } from '../bpf/elf/procmaps.js';
import type { Link } from '../bpf/link.js';
import type { BpfProgram } from '../bpf/program.js';
import type { Provider, AttachRequest } from '../providers/provider.js';
import type { CompiledProgram, ProbeInfo, ProgramSpecData } from '../program/spec.js';
import { attachPrograms } from './attach.js';

/** An ELF with USDT probes (provider `fixture`: tick with a semaphore, big-step) and symbols. */
const SAMPLE = fileURLToPath(new URL('../../../test/fixtures/elf/sample', import.meta.url));

function sampleModules(): ProcessModule[] {
  const st = statSync(SAMPLE);
  return [{ name: 'sample', path: SAMPLE, dev: '00:00', inode: st.ino, isExecutable: true, mappings: [] }];
}

function compile(text: string, providers: readonly Provider[]): CompiledProgram {
  const sink = new DiagnosticSink();
  const program = parse(makeSource('t.d', text, 'script'), sink, {});
  const checked = check(program, sink, { strsize: 256, destructive: true });
  assert.equal(sink.hasErrors, false, sink.errors.map((d) => d.message).join('\n'));
  const match = matchProgram(program, sink, { zdefs: false, providers });
  const compiled = compileProgram(program, match, sink, {
    strsize: 256, destructive: true, macroArgs: [], walltimeOffsetNs: 0n, bufsizeBytes: 4 << 20,
    aggsizeBytes: 4 << 20, dynvarsizeBytes: 1 << 20, zdefs: false, providers, checked,
  });
  assert.ok(compiled, sink.errors.map((d) => d.message).join('\n'));
  return compiled;
}

/** What the runtime reads of a program to attach it. */
const record = (p: ProgramSpecData) => ({ name: p.name, provider: p.provider, runMode: p.runMode, attach: p.attach, probes: p.probes });

test('a compiled program is plain data: provider, run mode and attach data survive JSON and structuredClone', () => {
  const pid = process.pid;
  // A process's USDT provider is named after the note's provider and the pid (`fixture1234`).
  const usdtName = `${readUsdtProbes(SAMPLE)[0]!.provider}${pid}`;
  const providers: Provider[] = [
    dtraceProvider, syscallProvider, profileProvider,
    pidProviderFor(pid, sampleModules), usdtProvider(usdtName, pid, sampleModules),
  ];
  // fbt offers probes only where the kernel has kprobes or fentry.
  const withFbt = fbtProvider.match({ provider: 'fbt', module: '', function: 'vfs_read', name: 'entry' }).length > 0;
  if (withFbt) providers.push(fbtProvider);
  const text = [
    'BEGIN { @b = count(); }',
    'END { @e = count(); }',
    'syscall::read:entry, syscall::write:return { @s[probefunc] = count(); }',
    'syscall::openat:entry { trace(copyinstr(arg1)); }',
    'profile-97, tick-1s { @p = count(); }',
    `pid${pid}:sample:add:entry, pid${pid}:sample:tick:return { @u = count(); }`,
    `pid${pid}:sample::entry { @m[probefunc] = count(); }`,
    `${usdtName}:::tick, ${usdtName}:::big-step { @d = count(); }`,
    withFbt ? 'fbt::vfs_read:entry, fbt::vfs_write*:entry { @f = count(); }' : '',
  ].join('\n');
  const compiled = compile(text, providers);
  const byProvider = new Map<string, ProgramSpecData[]>();
  for (const p of compiled.programs) byProvider.set(p.provider, [...(byProvider.get(p.provider) ?? []), p]);
  const expected = ['dtrace', 'syscall', 'profile', `pid${pid}`, usdtName, ...(withFbt ? ['fbt'] : [])];
  assert.deepEqual([...byProvider.keys()].sort(), expected.sort());
  for (const p of compiled.programs) {
    assert.deepEqual(JSON.parse(JSON.stringify(record(p))), record(p), `${p.name} round-trips through JSON`);
    assert.ok(p.probes.length > 0, p.name);
  }
  // The whole program (maps' initial bytes, instructions, subprograms) clones without loss: no
  // closure is left in it (structuredClone throws on a function).
  assert.deepEqual(structuredClone(compiled), compiled);
  // The attach data is the provider's own, with what attaching needs.
  assert.deepEqual(byProvider.get('dtrace')!.map((p) => [p.runMode, p.attach]).sort(), [['begin', null], ['end', null]]);
  // Entry, return, and the replay at sys_exit of the entry whose string argument is read.
  assert.deepEqual(byProvider.get('syscall')!.map((p) => p.attach).sort(), ['sys_enter', 'sys_exit', 'sys_exit']);
  assert.deepEqual(byProvider.get('profile')!.map((p) => p.attach), [{ kind: 'profile', periodNs: String(1_000_000_000n / 97n) }, { kind: 'tick', periodNs: '1000000000' }]);
  const pidAttach = byProvider.get(`pid${pid}`)!.map((p) => p.attach);
  assert.ok(pidAttach.some((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && 'offsets' in a), JSON.stringify(pidAttach));
  const usdt = byProvider.get(usdtName)!.map((p) => p.attach);
  assert.ok(usdt.some((a) => JSON.stringify(a).includes('"refCtrOffset":') && /"refCtrOffset":\d/.test(JSON.stringify(a))), `a probe with a semaphore keeps its offset: ${JSON.stringify(usdt)}`);
  for (const p of compiled.programs) if (p.provider !== 'dtrace') assert.equal(p.runMode, 'attach');
});

/** A loaded program stand-in: attachPrograms only hands it to the provider. */
const fakeProg: BpfProgram = { fd: -1, name: 'fake', type: 'kprobe', insnCount: 0, close() { /* nothing loaded */ } };

function fakeLink(name: string, closed: string[]): Link {
  return { describe: name, fd: -1, fds: [], close: () => { closed.push(name); }, closeAsync: async () => { closed.push(name); } };
}

const probeInfo = (id: number, name: string): ProbeInfo => ({ id, provider: 'many', module: 'm', function: `f${id}`, name });

test('attachPrograms: each provider gets its attach data and probes; links are kept as they come', async () => {
  const seen: AttachRequest<string>[] = [];
  const closed: string[] = [];
  const provider: Provider<undefined, string> = {
    name: 'many', match: () => [], list: () => [], plan: () => [],
    attach(req) { seen.push(req); return [fakeLink(req.attach, closed)]; },
  };
  const programs = [
    { spec: { name: 'a', provider: 'many', runMode: 'attach', bpfType: 'kprobe', insns: [], attach: 'first', probes: [2, 3] }, prog: fakeProg },
    { spec: { name: 'b', provider: 'many', runMode: 'begin', bpfType: 'raw_tracepoint', insns: [], attach: 'not attached', probes: [1] }, prog: fakeProg },
  ] satisfies { spec: ProgramSpecData; prog: BpfProgram }[];
  const links: Link[] = [];
  const done = await attachPrograms(programs, [probeInfo(1, 'BEGIN'), probeInfo(2, 'x'), probeInfo(3, 'y')], {
    providers: [provider], links, warn: () => {}, shouldStop: () => false,
  });
  assert.equal(done, true);
  assert.deepEqual(seen, [{ name: 'a', attach: 'first', probes: [
    { id: 2, provider: 'many', module: 'm', function: 'f2', name: 'x' }, { id: 3, provider: 'many', module: 'm', function: 'f3', name: 'y' },
  ] }]);
  assert.deepEqual(links.map((l) => l.describe), ['first']);
});

test('attachPrograms: a stop between two links ends the provider\'s attach there, keeping what was attached', async () => {
  const closed: string[] = [];
  let made = 0;
  let finished = false;
  const provider: Provider<undefined, number> = {
    name: 'many', match: () => [], list: () => [], plan: () => [],
    *attach(req) {
      try {
        for (let i = 0; i < req.attach; i++) { made++; yield fakeLink(`site${i}`, closed); }
      } finally {
        finished = true;
      }
    },
  };
  const programs = [{ spec: { name: 'a', provider: 'many', runMode: 'attach', bpfType: 'kprobe', insns: [], attach: 1000, probes: [1] }, prog: fakeProg }] satisfies { spec: ProgramSpecData; prog: BpfProgram }[];
  const links: Link[] = [];
  let turns = 0;
  // Told to stop after the event loop has had three turns (a signal arrives between slices).
  setImmediate(function tick() { if (++turns < 3) setImmediate(tick); });
  const done = await attachPrograms(programs, [probeInfo(1, 'x')], {
    providers: [provider], links, warn: () => {}, shouldStop: () => turns >= 3, sliceMs: 0,
  });
  assert.equal(done, false);
  assert.ok(made < 1000, `stopped early (${made} links made)`);
  assert.equal(links.length, made, 'every link made is kept for the caller to close');
  assert.equal(finished, true, 'the provider\'s attach was ended (its finally ran)');
  assert.deepEqual(closed, [], 'closing is the caller\'s');
});
