/**
 * @fileoverview What the ip, tcp and udp providers share: finding a packet's IP and transport
 * headers in a `struct sk_buff` seen at a device-level tracepoint, in BPF.
 *
 *   outbound  net:net_dev_start_xmit(skb, dev): every packet a device is handed (loopback
 *             included), after routing and netfilter, IP header at skb->head + network_header
 *   inbound   net:netif_receive_skb(skb): every packet the stack receives, before protocol
 *             dispatch; the link header has been pulled, so the IP header is at skb->data
 *
 * These tracepoints exist on every kernel the project supports and fire for TCP and UDP alike,
 * so the three providers see the same packets with the same headers whether or not the kernel
 * has kprobes or fentry. A kernel that coalesces segments (TSO/GSO on the way out, GRO on the
 * way in) shows one firing per coalesced packet, whose IP length covers all of its payload.
 *
 * Every raw argument a packet probe fills (DTrace's layout; dtrace-utils ip.d/tcp.d/udp.d):
 *   arg0 skb, arg1 the owning socket (outbound; 0 inbound: not looked up yet), arg2 the IP
 *   header, arg3 provider-specific, arg4 the transport header (tcp, udp), arg7 direction
 *   (NET_PROBE_OUTBOUND 0 / NET_PROBE_INBOUND 1).
 */
import { R0, R6, R7, R8, imm, type Reg } from '../bpf/asm/insn.js';
import type { ArgEmitter, Underlying } from './dependent.js';
import { memberOffset } from './kernel-events.js';
import type { ProbeArgDesc } from './provider.js';

export const PACKET_OUT: Underlying = { kind: 'rawtp', tp: 'net_dev_start_xmit' };
export const PACKET_IN: Underlying = { kind: 'rawtp', tp: 'netif_receive_skb' };

/** skb->protocol values as a little-endian load of the big-endian field sees them. */
const ETH_P_IP_LE = 0x0008;
const ETH_P_IPV6_LE = 0xdd86;
const IPV6_HEADER_LEN = 40;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** The sk_buff and sock members the packet code reads; undefined when BTF lacks one. */
function skbLayout(): { protocol: number; head: number; data: number; networkHeader: number; sk: number; dev: number } | undefined {
  const protocol = memberOffset('sk_buff', 'protocol');
  const head = memberOffset('sk_buff', 'head');
  const data = memberOffset('sk_buff', 'data');
  const networkHeader = memberOffset('sk_buff', 'network_header');
  const sk = memberOffset('sk_buff', 'sk');
  const dev = memberOffset('sk_buff', 'dev');
  if (protocol === undefined || head === undefined || data === undefined || networkHeader === undefined || sk === undefined || dev === undefined) return undefined;
  return { protocol, head, data, networkHeader, sk, dev };
}

/** Whether this kernel's BTF describes what the packet probes read. */
export function packetLayoutKnown(): boolean {
  return skbLayout() !== undefined;
}

/** The argv indices every packet probe fills. */
export const ARG_SKB = 0, ARG_SOCK = 1, ARG_IP = 2, ARG_L4 = 4, ARG_DIRECTION = 7;

/**
 * args[] of an ip, tcp or udp probe: the packet (pktinfo_t), the connection (csinfo_t) and the
 * IP header (ipinfo_t, of native type `ipNative`) first, then the protocol's own, args[3] on.
 */
export function packetArgDescs(ipNative: string, rest: readonly { native: string; xlate: string }[]): ProbeArgDesc[] {
  return [
    { mapping: ARG_SKB, native: 'struct sk_buff *', xlate: 'pktinfo_t *' },
    { mapping: ARG_SOCK, native: 'struct sock *', xlate: 'csinfo_t *' },
    { mapping: ARG_IP, native: ipNative, xlate: 'ipinfo_t *' },
    ...rest.map((a, i) => ({ mapping: 3 + i, ...a })),
  ];
}

/**
 * Fills argv for a packet at `source` (PACKET_OUT or PACKET_IN): arg0 skb, arg1 socket, arg2 IP
 * header, arg4 the transport header, arg7 direction. Skips packets that are not IPv4/IPv6 or,
 * when `protocol` is given, whose transport protocol differs (an IPv6 packet counts only when its
 * first next-header is that protocol). Leaves R6 = skb, R7 = IP header, R8 = IP version.
 */
export function emitPacket(e: ArgEmitter, source: Underlying, protocol?: number): void {
  const a = e.asm;
  const L = skbLayout();
  if (!L) { a.ja(e.skip); return; }
  const outbound = source.kind === 'rawtp' && source.tp === 'net_dev_start_xmit';
  e.raw(0, R6);
  a.jmp('jeq', R6, imm(0), e.skip);
  e.setArg(ARG_SKB, R6);
  e.readKernel(R7, R6, L.protocol, 2);
  const v4 = a.newLabel('ipv4'), v6 = a.newLabel('ipv6'), haveL4 = a.newLabel('l4');
  a.jmp('jeq', R7, imm(ETH_P_IP_LE), v4);
  a.jmp('jne', R7, imm(ETH_P_IPV6_LE), e.skip);
  a.label(v6).mov(R8, imm(6)).ja(v4 + '.hdr');
  a.label(v4).mov(R8, imm(4));
  a.label(v4 + '.hdr');
  // R7 = the IP header.
  if (outbound) {
    e.readKernel(R7, R6, L.networkHeader, 2);
    e.setArg(ARG_IP, R7);
    e.readKernel(R7, R6, L.head, 8);
    e.getArg(ARG_IP, R0);
    a.alu64('add', R7, R0);
  } else {
    e.readKernel(R7, R6, L.data, 8);
  }
  a.jmp('jeq', R7, imm(0), e.skip);
  e.setArg(ARG_IP, R7);
  // The transport header follows the IPv4 header (IHL words) or the fixed IPv6 header.
  const l4v6 = a.newLabel('l4v6');
  a.jmp('jeq', R8, imm(6), l4v6);
  if (protocol !== undefined) {
    e.readKernel(R0, R7, 9, 1);
    a.jmp('jne', R0, imm(protocol), e.skip);
  }
  e.readKernel(R0, R7, 0, 1);
  a.alu64('and', R0, imm(0xf)).alu64('lsh', R0, imm(2)).alu64('add', R0, R7);
  a.ja(haveL4);
  a.label(l4v6);
  if (protocol !== undefined) {
    e.readKernel(R0, R7, 6, 1);
    a.jmp('jne', R0, imm(protocol), e.skip);
  }
  a.mov(R0, R7).alu64('add', R0, imm(IPV6_HEADER_LEN));
  a.label(haveL4);
  e.setArg(ARG_L4, R0);
  if (outbound) {
    e.readKernel(R0, R6, L.sk, 8);
    e.setArg(ARG_SOCK, R0);
  }
  a.mov(R0, imm(outbound ? 0 : 1));
  e.setArg(ARG_DIRECTION, R0);
}

/** dst = skb->dev for the skb in R6 (after emitPacket). */
export function emitDevice(e: ArgEmitter, dst: Reg): void {
  const dev = memberOffset('sk_buff', 'dev');
  if (dev === undefined) { e.asm.mov(dst, imm(0)); return; }
  e.readKernel(dst, R6, dev, 8);
}
