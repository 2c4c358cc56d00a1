/**
 * @fileoverview The udp provider, `udp:vmlinux::send|receive`, with the illumos udp provider's
 * args[] and dtrace-utils' udp.d translators:
 *
 *   args[0] pktinfo_t *  (struct sk_buff *)   args[3] udpsinfo_t * (struct udp_sock *)
 *   args[1] csinfo_t *   (struct sock *)      args[4] udpinfo_t *  (struct udphdr *)
 *   args[2] ipinfo_t *   (the IP header)
 *
 * Every UDP datagram at the device tracepoints (net-packets.ts): one firing per datagram (per
 * coalesced packet where the sender used UDP GSO). A received datagram has no socket yet:
 * args[1] and args[3] are 0 (udpsinfo_t reads ports and addresses from the headers).
 */
import { dependentProvider, type DependentProbe } from './dependent.js';
import { PACKET_IN, PACKET_OUT, ARG_SOCK, IPPROTO_UDP, emitPacket, packetLayoutKnown, packetArgDescs } from './net-packets.js';
import { R6 } from '../bpf/asm/insn.js';

const UDP_ARGS = packetArgDescs('void_ip_t *', [
  { native: 'struct udp_sock *', xlate: 'udpsinfo_t *' },
  { native: 'struct udphdr *', xlate: 'udpinfo_t *' },
]);

const UDP_PROBES: DependentProbe[] = ['receive', 'send'].map((name) => ({
  name,
  args: UDP_ARGS,
  sources: [name === 'send' ? PACKET_OUT : PACKET_IN],
  available: packetLayoutKnown,
  emit(e, source) {
    emitPacket(e, source, IPPROTO_UDP);
    e.getArg(ARG_SOCK, R6);
    e.setArg(3, R6);
  },
}));

export const udpProvider = dependentProvider('udp', UDP_PROBES, { showMechanism: true });
