/** @fileoverview perf_event_attr encoding and PMU format parsing (no kernel needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodePerfEventAttr, parsePmuFormatBit } from './perf.js';
import { PerfAttrFlagBit, PerfEventAttr, PerfSwId, PerfType } from './uapi.js';

test('a frequency-based CPU clock event sets freq and sample_freq', () => {
  const attr = encodePerfEventAttr({ type: PerfType.SOFTWARE, config: PerfSwId.CPU_CLOCK, sampleFreq: 997 });
  const v = new DataView(attr.buffer);
  assert.equal(attr.length, 128);
  assert.equal(v.getUint32(PerfEventAttr.type, true), PerfType.SOFTWARE);
  assert.equal(v.getUint32(PerfEventAttr.size, true), 128);
  assert.equal(v.getBigUint64(PerfEventAttr.config, true), 0n);
  assert.equal(v.getBigUint64(PerfEventAttr.sample_freq, true), 997n);
  assert.equal(v.getBigUint64(PerfEventAttr.flags, true), 1n << BigInt(PerfAttrFlagBit.freq));
  assert.equal(v.getUint32(PerfEventAttr.wakeup_events, true), 1);
});

test('a uprobe attr carries path pointer and offset in config1/config2', () => {
  const attr = encodePerfEventAttr({ type: 9, config: 1n | (0x1234n << 32n), config1: 0x7fff_0000_1000, config2: 0x1139n, flagBits: ['disabled', 'exclude_idle'] });
  const v = new DataView(attr.buffer);
  assert.equal(v.getBigUint64(PerfEventAttr.config, true), 0x1234_0000_0001n);
  assert.equal(v.getBigUint64(PerfEventAttr.config1, true), 0x7fff_0000_1000n);
  assert.equal(v.getBigUint64(PerfEventAttr.config2, true), 0x1139n);
  assert.equal(v.getBigUint64(PerfEventAttr.sample_period, true), 1n);
  assert.equal(v.getBigUint64(PerfEventAttr.flags, true), (1n << 0n) | (1n << 7n));
});

test('sampleFreq and samplePeriod are exclusive', () => {
  assert.throws(() => encodePerfEventAttr({ type: 1, config: 0, sampleFreq: 1, samplePeriod: 1 }), RangeError);
});

test('PMU format files', () => {
  assert.equal(parsePmuFormatBit('config:0\n'), 0);
  assert.equal(parsePmuFormatBit('config:32-63\n'), 32);
  assert.equal(parsePmuFormatBit('config1:0-63'), undefined);
});
