/**
 * @fileoverview The tcp provider, `tcp:vmlinux::<name>`, with the illumos tcp provider's args[]
 * and dtrace-utils' tcp.d translators:
 *
 *   args[0] pktinfo_t *  (struct sk_buff *)   args[3] tcpsinfo_t * (struct tcp_sock *)
 *   args[1] csinfo_t *   (struct sock *)      args[4] tcpinfo_t *  (struct tcphdr *)
 *   args[2] ipinfo_t *   (the IP header)      args[5] tcplsinfo_t * (the previous state; state-change)
 *   arg6 the state (DTrace's TCP_STATE_* are Linux's TCP_* values), arg7 NET_PROBE_OUTBOUND/INBOUND
 *
 *   send, receive       every TCP segment at the device tracepoints (net-packets.ts); a received
 *                       segment's socket is that of its established connection (tcp-conns.ts),
 *                       else none (args[3] reads the ports and addresses from the headers,
 *                       tcps_state is 0)
 *   connect-request     an outbound SYN without ACK
 *   connect-refused     an inbound RST|ACK with sequence number 0: the answer to a SYN
 *   accept-refused      the same, outbound
 *   state-change        sock:inet_sock_set_state of a TCP socket
 *   connect-established that state change from SYN_SENT to ESTABLISHED (no packet: args[0],
 *                       args[2] and args[4] are 0; args[2] and args[4] then read the socket's
 *                       addresses and ports as those of the inbound segment that completed it)
 *   accept-established  from SYN_RECEIVED to ESTABLISHED
 *
 * Linux moves a connection into TIME_WAIT by handing it to a separate timewait socket
 * (tcp_time_wait) and reports only the full socket's FIN_WAIT_2 (or CLOSING) → CLOSED through
 * inet_sock_set_state. dtrace-utils fires state-change to TIME_WAIT on tcp_time_wait's entry; here,
 * without a kernel function, that tracepoint fires it first: a FIN_WAIT_2 or CLOSING socket
 * closing without an error (a reset sets sk_err before it closes the socket) is entering
 * TIME_WAIT. Then CLOSED fires as the kernel reports it.
 */
import { R0, R6, R7, R8, imm, type Reg } from '../bpf/asm/insn.js';
import { dependentProvider, type DependentProbe, type Underlying, type ArgEmitter } from './dependent.js';
import { PACKET_IN, PACKET_OUT, ARG_SOCK, ARG_L4, IPPROTO_TCP, emitPacket, packetLayoutKnown, packetArgDescs } from './net-packets.js';
import { memberOffset } from './kernel-events.js';
import type { ProbeArgDesc } from './provider.js';
import { CONN_MAP, CONN_TRACK, emitFindConnection, emitTrackConnection } from './tcp-conns.js';

const STATE_CHANGE: Underlying = { kind: 'rawtp', tp: 'inet_sock_set_state' };
/** The same tracepoint, a second time: the TIME_WAIT a closing socket hands its connection to. */
const TIME_WAIT_ENTRY: Underlying = { kind: 'rawtp', tp: 'inet_sock_set_state' };

const TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_SYN_RECV = 3, TCP_FIN_WAIT2 = 5, TCP_TIME_WAIT = 6, TCP_CLOSE = 7,
  TCP_CLOSING = 11, TCP_NEW_SYN_RECV = 12;
const NET_PROBE_OUTBOUND = 0, NET_PROBE_INBOUND = 1;
const SOCK_STREAM = 1;
const TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10;

const TCP_ARGS = packetArgDescs('__dtrace_tcp_void_ip_t *', [
  { native: 'struct tcp_sock *', xlate: 'tcpsinfo_t *' },
  { native: 'struct tcphdr *', xlate: 'tcpinfo_t *' },
]);
const STATE_ARGS: ProbeArgDesc[] = [...TCP_ARGS, { mapping: 5, native: 'int', xlate: 'tcplsinfo_t *' }];

function sockLayout(): { state: number; protocol: number; type: number; err: number } | undefined {
  const state = memberOffset('sock', '__sk_common', 'skc_state');
  const protocol = memberOffset('sock', 'sk_protocol');
  const type = memberOffset('sock', 'sk_type');
  const err = memberOffset('sock', 'sk_err');
  if (state === undefined || protocol === undefined || type === undefined || err === undefined) return undefined;
  return { state, protocol, type, err };
}
const packetsKnown = (): boolean => packetLayoutKnown() && sockLayout() !== undefined;

/** Linux's request-socket state counts as DTrace's SYN_RECEIVED. */
function emitDtraceState(e: ArgEmitter, reg: Reg): void {
  const ok = e.asm.newLabel('state');
  e.asm.jmp('jne', reg, imm(TCP_NEW_SYN_RECV), ok).mov(reg, imm(TCP_SYN_RECV)).label(ok);
}

/**
 * A TCP segment at a device tracepoint: the common packet arguments, then args[3] (the owning
 * socket when it is a full TCP socket: not a request or timewait socket, not the kernel's raw
 * control socket that sends resets) and arg6 (its state). `findSocket`: an inbound segment's
 * socket is looked up in the connection table (tcp-conns.ts).
 */
function emitSegment(e: ArgEmitter, source: Underlying, findSocket = false): void {
  const L = sockLayout();
  if (!L) { e.asm.ja(e.skip); return; }
  emitPacket(e, source, IPPROTO_TCP);
  if (findSocket) emitFindConnection(e);
  const a = e.asm, noSock = a.newLabel('nosock');
  e.getArg(ARG_SOCK, R6);
  a.jmp('jeq', R6, imm(0), noSock);
  e.readKernel(R7, R6, L.state, 1);
  a.jmp('jeq', R7, imm(TCP_TIME_WAIT), noSock).jmp('jeq', R7, imm(TCP_NEW_SYN_RECV), noSock);
  e.readKernel(R8, R6, L.type, 2);
  a.jmp('jne', R8, imm(SOCK_STREAM), noSock);
  e.readKernel(R8, R6, L.protocol, 2);
  a.jmp('jne', R8, imm(IPPROTO_TCP), noSock);
  e.setArg(3, R6);
  e.setArg(6, R7);
  a.label(noSock);
}

/** Skips unless the segment's flags, masked by `mask`, equal `want` (and its sequence number is 0 if asked). */
function emitFlags(e: ArgEmitter, mask: number, want: number, seqZero = false): void {
  e.getArg(ARG_L4, R6);
  e.readKernel(R7, R6, 13, 1);
  e.asm.alu64('and', R7, imm(mask)).jmp('jne', R7, imm(want), e.skip);
  if (seqZero) {
    e.readKernel(R7, R6, 4, 4);
    e.asm.jmp('jne', R7, imm(0), e.skip);
  }
}

/**
 * A TCP socket's state change (sk, oldstate, newstate), optionally only from `from` to `to`;
 * arg7 (the direction args[2] and args[4] read the socket's addresses and ports as) is
 * `direction`.
 */
function stateChange(from?: number, to?: number, direction = NET_PROBE_OUTBOUND): (e: ArgEmitter) => void {
  return (e) => {
    const L = sockLayout();
    if (!L) { e.asm.ja(e.skip); return; }
    e.raw(0, R6);
    e.asm.jmp('jeq', R6, imm(0), e.skip);
    e.readKernel(R7, R6, L.protocol, 2);
    e.asm.jmp('jne', R7, imm(IPPROTO_TCP), e.skip);
    e.raw(1, R7);
    e.asm.mov32(R7, R7);
    emitDtraceState(e, R7);
    if (from !== undefined) e.asm.jmp('jne', R7, imm(from), e.skip);
    e.raw(2, R8);
    e.asm.mov32(R8, R8);
    emitDtraceState(e, R8);
    if (to !== undefined) e.asm.jmp('jne', R8, imm(to), e.skip);
    e.setArg(1, R6);
    e.setArg(3, R6);
    e.setArg(5, R7);
    e.setArg(6, R8);
    e.asm.mov(R0, imm(direction));
    e.setArg(7, R0);
  };
}

/** A FIN_WAIT_2 or CLOSING TCP socket closing without an error: its connection enters TIME_WAIT. */
function enterTimeWait(e: ArgEmitter): void {
  const L = sockLayout();
  if (!L) { e.asm.ja(e.skip); return; }
  const a = e.asm, closing = a.newLabel('closing');
  e.raw(0, R6);
  a.jmp('jeq', R6, imm(0), e.skip);
  e.raw(2, R8);
  a.mov32(R8, R8).jmp('jne', R8, imm(TCP_CLOSE), e.skip);
  e.raw(1, R7);
  a.mov32(R7, R7).jmp('jeq', R7, imm(TCP_FIN_WAIT2), closing).jmp('jne', R7, imm(TCP_CLOSING), e.skip).label(closing);
  e.readKernel(R8, R6, L.protocol, 2);
  a.jmp('jne', R8, imm(IPPROTO_TCP), e.skip);
  e.readKernel(R8, R6, L.err, 4);
  a.jmp('jne', R8, imm(0), e.skip);
  e.setArg(1, R6);
  e.setArg(3, R6);
  e.setArg(5, R7);
  a.mov(R0, imm(TCP_TIME_WAIT));
  e.setArg(6, R0);
  a.mov(R0, imm(NET_PROBE_OUTBOUND));
  e.setArg(7, R0);
}

const segment = (name: string, source: Underlying, filter?: (e: ArgEmitter) => void): DependentProbe => ({
  name,
  args: TCP_ARGS,
  sources: [source],
  available: packetsKnown,
  emit(e, s) { emitSegment(e, s); filter?.(e); },
});
const transition = (name: string, args: ProbeArgDesc[], from?: number, to?: number, direction?: number): DependentProbe => ({
  name,
  args,
  sources: [STATE_CHANGE],
  available: () => sockLayout() !== undefined,
  emit: stateChange(from, to, direction),
});

const TCP_PROBES: DependentProbe[] = [
  segment('accept-refused', PACKET_OUT, (e) => emitFlags(e, TH_RST | TH_ACK, TH_RST | TH_ACK, true)),
  // Each completed by an inbound segment: the client's SYN|ACK, the server's final ACK.
  transition('accept-established', TCP_ARGS, TCP_SYN_RECV, TCP_ESTABLISHED, NET_PROBE_INBOUND),
  transition('connect-established', TCP_ARGS, TCP_SYN_SENT, TCP_ESTABLISHED, NET_PROBE_INBOUND),
  segment('connect-refused', PACKET_IN, (e) => emitFlags(e, TH_RST | TH_ACK, TH_RST | TH_ACK, true)),
  segment('connect-request', PACKET_OUT, (e) => emitFlags(e, TH_SYN | TH_ACK, TH_SYN)),
  {
    ...segment('receive', PACKET_IN),
    sources: [PACKET_IN, CONN_TRACK],
    maps: [CONN_MAP],
    emit: (e, source) => (source === CONN_TRACK ? emitTrackConnection(e) : emitSegment(e, source, true)),
  },
  segment('send', PACKET_OUT),
  {
    ...transition('state-change', STATE_ARGS),
    sources: [TIME_WAIT_ENTRY, STATE_CHANGE],
    emit: (e, source) => (source === TIME_WAIT_ENTRY ? enterTimeWait(e) : stateChange()(e)),
  },
];

export const tcpProvider = dependentProvider('tcp', TCP_PROBES, { showMechanism: true });
