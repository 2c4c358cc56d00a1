/**
 * @fileoverview pcap() records written as capture files (dt_pcap_dump): when output has been
 * freopen()ed to a file, each packet goes to that path as a libpcap savefile instead of a hex
 * dump. One capture per path, created (truncated) at its first packet with that packet's
 * link type and the pcapsize of the time as snaplen; a packet of another link type is left
 * out, as libdtrace does.
 */
import { openSync, writeSync } from 'node:fs';
import { uptime } from 'node:os';
import { pcapFileHeader, pcapPacket } from '../consume/format/pcap.js';

interface Capture { fd: number; linktype: number; snaplen: number }

export class PcapFiles {
  private readonly captures = new Map<string, Capture>();
  /** Boot time in ns since the epoch: records carry the time since boot (bpf_ktime_get_ns). */
  private readonly bootNs = BigInt(Math.round(Date.now() / 1000 - uptime())) * 1_000_000_000n;

  /** Writes one packet to the capture at `path`; returns an error message when it cannot. */
  write(path: string, linktype: number, sinceBootNs: bigint, length: number, data: Uint8Array, pcapsize: number): string | undefined {
    let c = this.captures.get(path);
    if (!c) {
      try { c = { fd: openSync(path, 'w'), linktype, snaplen: pcapsize }; } catch (e) { return `failed to open pcap file ${path}: ${(e as Error).message}`; }
      this.captures.set(path, c);
      writeSync(c.fd, pcapFileHeader(linktype, pcapsize));
    }
    if (c.linktype !== linktype) return undefined;
    writeSync(c.fd, pcapPacket(this.bootNs + sinceBootNs, length, data, c.snaplen));
    return undefined;
  }
}
