/**
 * @fileoverview The libpcap savefile format pcap() writes to a freopen()ed file, as
 * pcap_dump_open()/pcap_dump() lay it out: a 24-byte file header (magic 0xa1b2c3d4,
 * version 2.4, snaplen, link type), then per packet a 16-byte header (seconds,
 * microseconds, captured length, original length) and the captured bytes. Little-endian,
 * the host order libpcap writes in.
 */

export const PCAP_MAGIC = 0xa1b2c3d4;

/** The file header of a capture of `linktype` packets cut at `snaplen` bytes. */
export function pcapFileHeader(linktype: number, snaplen: number): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, snaplen, true);
  v.setUint32(20, linktype, true);
  return b;
}

/**
 * One packet: captured at `timeNs` since the epoch, `length` bytes long, of which `data`
 * holds the first min(length, snaplen).
 */
export function pcapPacket(timeNs: bigint, length: number, data: Uint8Array, snaplen: number): Uint8Array {
  const caplen = Math.min(length, snaplen, data.length);
  const b = new Uint8Array(16 + caplen);
  const v = new DataView(b.buffer);
  v.setUint32(0, Number(timeNs / 1_000_000_000n), true);
  v.setUint32(4, Number((timeNs % 1_000_000_000n) / 1000n), true);
  v.setUint32(8, caplen, true);
  v.setUint32(12, length, true);
  b.set(data.subarray(0, caplen), 16);
  return b;
}
