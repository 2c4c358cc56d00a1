import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachProgress, probeCounts } from './progress.js';

test('AttachProgress: silent for the first second, then redrawn in place at most every 100 ms, erased at the end', () => {
  let now = 0;
  const out: string[] = [];
  const p = new AttachProgress((t) => out.push(t), () => now);
  now = 500; p.update(1, 10);
  assert.deepEqual(out, [], 'nothing before one second');
  now = 1200; p.update(2, 10);
  now = 1250; p.update(3, 10);
  now = 1400; p.update(4, 10);
  now = 1410; p.update(10, 10);
  p.finish();
  assert.deepEqual(out, [
    '\rdtrace: attaching probes: 2/10 (1.2 s)\x1b[K',
    '\rdtrace: attaching probes: 4/10 (1.4 s)\x1b[K',
    '\rdtrace: attaching probes: 10/10 (1.4 s)\x1b[K',
    '\r\x1b[K',
  ]);
});

test('AttachProgress: a quick attach prints nothing at all', () => {
  let now = 0;
  const out: string[] = [];
  const p = new AttachProgress((t) => out.push(t), () => now);
  now = 300; p.update(5, 5);
  p.finish();
  assert.deepEqual(out, []);
});

test('probeCounts: the line counts probes, not programs (one program may hold thousands)', () => {
  let now = 0;
  const out: string[] = [];
  const programs = [{ probes: 1, ms: 1100 }, { probes: 5000, ms: 2000 }, { probes: 3, ms: 10 }];
  const counts = probeCounts(programs.map((p) => p.probes));
  const progress = new AttachProgress((t) => out.push(t), () => now);
  programs.forEach((p, i) => { now += p.ms; progress.update(counts.after[i]!, counts.total); });
  progress.finish();
  assert.deepEqual(out, [
    '\rdtrace: attaching probes: 1/5004 (1.1 s)\x1b[K',
    '\rdtrace: attaching probes: 5001/5004 (3.1 s)\x1b[K',
    '\rdtrace: attaching probes: 5004/5004 (3.1 s)\x1b[K',
    '\r\x1b[K',
  ]);
});
