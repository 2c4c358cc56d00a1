/**
 * @fileoverview The ip provider, `ip:vmlinux::send|receive`, with DTrace's args[] (illumos
 * ip provider; dtrace-utils dt_prov_ip.c and ip.d):
 *
 *   args[0] pktinfo_t *   (struct sk_buff *)      args[3] ifinfo_t *    (struct net_device *)
 *   args[1] csinfo_t *    (struct sock *)         args[4] ipv4info_t *  (struct iphdr *, IPv4 only)
 *   args[2] ipinfo_t *    (the IP header)         args[5] ipv6info_t *  (struct ipv6hdr *, IPv6 only)
 *
 *   send     net:net_dev_start_xmit, every IPv4/IPv6 packet handed to a device
 *   receive  net:netif_receive_skb, every IPv4/IPv6 packet the stack receives (no socket yet:
 *            args[1] is 0)
 *
 * dtrace-utils hangs these on fbt (ip_finish_output, ip_local_deliver, ip6_*); tracepoints exist on
 * every kernel, fbt not (this project's 6.18 has no kprobes or fentry), so both kernels see the
 * same packets. Packets that never reach a device (dropped by netfilter, locally looped
 * multicast copies) are not seen.
 */
import { R7, R8, imm } from '../bpf/asm/insn.js';
import { dependentProvider, type DependentProbe, type Underlying, type ArgEmitter } from './dependent.js';
import { PACKET_IN, PACKET_OUT, emitPacket, emitDevice, packetLayoutKnown, packetArgDescs } from './net-packets.js';

const IP_ARGS = packetArgDescs('void_ip_t *', [
  { native: 'struct net_device *', xlate: 'ifinfo_t *' },
  { native: 'struct iphdr *', xlate: 'ipv4info_t *' },
  { native: 'struct ipv6hdr *', xlate: 'ipv6info_t *' },
]);

function emitIpArgs(e: ArgEmitter, source: Underlying): void {
  emitPacket(e, source);
  // R6 = skb, R7 = IP header, R8 = version: args[4] is the header for IPv4, args[5] for IPv6.
  const v6 = e.asm.newLabel('ipv6'), done = e.asm.newLabel('ipdone');
  e.asm.jmp('jeq', R8, imm(6), v6);
  e.setArg(4, R7);
  e.asm.ja(done);
  e.asm.label(v6);
  e.setArg(5, R7);
  e.asm.label(done);
  emitDevice(e, R7);
  e.setArg(3, R7);
}

const IP_PROBES: DependentProbe[] = [
  { name: 'receive', args: IP_ARGS, sources: [PACKET_IN], available: packetLayoutKnown, emit: emitIpArgs },
  { name: 'send', args: IP_ARGS, sources: [PACKET_OUT], available: packetLayoutKnown, emit: emitIpArgs },
];

export const ipProvider = dependentProvider('ip', IP_PROBES, { showMechanism: true });
