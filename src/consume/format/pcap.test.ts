/**
 * @fileoverview The savefile layout pcap() writes: checked field by field against the
 * libpcap format (file header: magic, version 2.4, zone, sigfigs, snaplen, link type;
 * packet header: seconds, microseconds, captured and original length).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pcapFileHeader, pcapPacket, PCAP_MAGIC } from './pcap.js';

test('the file header is libpcap 2.4 with the snaplen and link type', () => {
  const h = new DataView(pcapFileHeader(12, 1514).buffer);
  assert.equal(h.byteLength, 24);
  assert.deepEqual([h.getUint32(0, true), h.getUint16(4, true), h.getUint16(6, true), h.getInt32(8, true), h.getUint32(12, true), h.getUint32(16, true), h.getUint32(20, true)],
    [PCAP_MAGIC, 2, 4, 0, 0, 1514, 12]);
});

test('a packet header splits the time into seconds and microseconds and cuts the data at snaplen', () => {
  const data = Uint8Array.from({ length: 40 }, (_, i) => i);
  const p = pcapPacket(1_700_000_000_123_456_789n, 100, data, 16);
  const v = new DataView(p.buffer);
  assert.deepEqual([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)], [1_700_000_000, 123_456, 16, 100]);
  assert.deepEqual([...p.subarray(16)], [...data.subarray(0, 16)]);
  // A packet shorter than snaplen is captured whole.
  assert.equal(pcapPacket(0n, 20, data, 1514).length, 16 + 20);
});
