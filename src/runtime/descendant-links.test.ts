/**
 * @fileoverview DescendantLinks without the kernel: a child forked by a target gets the
 * target's per-process programs attached again for it (AttachRequest.process = the child) and
 * an entry child → target in the followed map; other providers' programs are left alone; a
 * vfork child gets the entry only; the child's own children descend from the same target;
 * gone() closes the child's links and deletes its entry; nothing is followed once detached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Link } from '../bpf/link.js';
import type { BpfProgram } from '../bpf/program.js';
import type { ProgramSpecData } from '../program/spec.js';
import type { AttachRequest, Provider } from '../providers/provider.js';
import { DescendantLinks } from './descendant-links.js';

const TARGET = 1000;

function fakeProgram(name: string): BpfProgram {
  return { fd: -1, name, type: 'kprobe', insnCount: 1, close() { /* nothing */ } };
}

function spec(name: string, provider: string, probe: number): ProgramSpecData {
  return { name, provider, runMode: 'attach', bpfType: 'kprobe', insns: [], attach: { site: name }, probes: [probe] };
}

/** A provider recording each attach request; its links record their closing in `closed`. */
function fakeProvider(name: string, process: number | undefined, requests: AttachRequest[], closed: string[]): Provider {
  return {
    name,
    ...(process !== undefined ? { process } : {}),
    match: () => [],
    list: () => [],
    plan: () => [],
    *attach(req) {
      requests.push(req);
      const describe = `${req.name} for ${req.process}`;
      const link: Link = { describe, fd: -1, fds: [], close() { closed.push(describe); }, async closeAsync() { closed.push(describe); } };
      yield link;
    },
  };
}

function setup() {
  const requests: AttachRequest[] = [];
  const closed: string[] = [];
  const entries = new Map<number, number>();
  const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  const map = {
    update(key: Uint8Array, value: Uint8Array) { entries.set(u32(key), u32(value)); },
    delete(key: Uint8Array) { return entries.delete(u32(key)); },
  };
  const providers = [fakeProvider(`pid${TARGET}`, TARGET, requests, closed), fakeProvider('syscall', undefined, requests, closed), fakeProvider('pid2000', 2000, requests, closed)];
  const programs = [
    { spec: spec('pid_1', `pid${TARGET}`, 1), prog: fakeProgram('pid_1') },
    { spec: spec('sys_2', 'syscall', 2), prog: fakeProgram('sys_2') },
    { spec: spec('pid_3', 'pid2000', 3), prog: fakeProgram('pid_3') },
  ];
  const probes = [1, 2, 3].map((id) => ({ id, provider: 'p', module: 'm', function: 'f', name: 'entry' }));
  const warnings: string[] = [];
  const links = new DescendantLinks(programs, probes, providers, map, (l) => warnings.push(l));
  return { links, requests, closed, entries, warnings };
}

test('a forked child gets its target\'s per-process programs, filtered on it, and a followed entry', () => {
  const { links, requests, entries } = setup();
  assert.equal(links.follows(TARGET), true);
  assert.equal(links.follows(3000), false);
  links.forked(TARGET, 1001, false);
  assert.deepEqual(requests.map((r) => [r.name, r.process]), [['pid_1', 1001]]);
  assert.deepEqual(requests[0]!.attach, { site: 'pid_1' });
  assert.deepEqual([...entries], [[1001, TARGET]]);
  // Its own child descends from the same target.
  assert.equal(links.follows(1001), true);
  links.forked(1001, 1002, false);
  assert.deepEqual(requests.map((r) => r.process), [1001, 1002]);
  assert.equal(entries.get(1002), TARGET);
});

test('a vfork child gets the followed entry only (it runs in its parent\'s memory)', () => {
  const { links, requests, entries } = setup();
  links.forked(TARGET, 1003, true);
  assert.deepEqual(requests, []);
  assert.equal(entries.get(1003), TARGET);
  links.gone(1003);
  assert.equal(entries.has(1003), false);
});

test('gone() closes the child\'s links and deletes its entry; nothing is followed once detached', async () => {
  const { links, closed, entries, requests } = setup();
  links.forked(TARGET, 1001, false);
  links.forked(TARGET, 1004, false);
  links.gone(1001);
  await links.detachAll({ inBackground: false });
  assert.deepEqual(closed.sort(), ['pid_1 for 1001', 'pid_1 for 1004']);
  assert.deepEqual([...entries], [[1004, TARGET]]); // the map goes with the run
  assert.equal(links.follows(TARGET), false);
  links.forked(TARGET, 1005, false);
  assert.equal(requests.length, 2);
});
