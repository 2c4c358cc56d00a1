/**
 * @fileoverview The socket an inbound TCP segment belongs to. At netif_receive_skb the stack has
 * not looked the segment's socket up yet, so the tcp provider keeps a table of its own: each TCP
 * connection entering ESTABLISHED (sock:inet_sock_set_state) is recorded under its addresses and
 * ports, and forgotten when it closes; a received segment finds its socket under the same four
 * values, read from its headers the other way round. That gives tcp:::receive the connection's
 * csinfo_t and tcpsinfo_t (cs_cid, tcps_state, …), as a send has them. Segments before
 * ESTABLISHED (a SYN, the SYN|ACK a client receives), those of connections established before
 * tracing began and those of a TIME_WAIT connection (no full socket) still have none.
 */
import { R0, R1, R2, R3, R4, R6, R7, R8, R10, imm, type Asm, type Reg } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import type { ArgEmitter, Underlying } from './dependent.js';
import { memberOffset } from './kernel-events.js';
import { ARG_IP, ARG_L4, ARG_SOCK, IPPROTO_TCP } from './net-packets.js';
import type { ProviderMap } from './provider.js';

/** inet_sock_set_state once more, for the table (a distinct source: it never fires a probe). */
export const CONN_TRACK: Underlying = { kind: 'rawtp', tp: 'inet_sock_set_state' };
export const CONN_MAP: ProviderMap = { name: 'tcp_conns', type: 'lru_hash', keySize: 40, valueSize: 8, maxEntries: 65536 };

/**
 * The key, on the stack while the code runs: the local address (16 bytes; IPv4's in the first 4),
 * the remote address, the local and remote ports (network order), the IP version (4 or 6). The
 * value (the socket) goes below it.
 */
const KEY_FP = -56, LOCAL = 0, REMOTE = 16, LPORT = 32, RPORT = 34, VERSION = 36, KEY_WORDS = 5;
const VALUE_FP = -64;
const TCP_ESTABLISHED = 1, TCP_CLOSE = 7, AF_INET6 = 10;

/** The struct sock members the table reads; undefined when BTF lacks one (IPv6's are optional). */
function sockLayout(): { protocol: number; family: number; daddr: number; saddr: number; dport: number; num: number; v6?: { daddr: number; saddr: number } } | undefined {
  const common = (m: string) => memberOffset('sock', '__sk_common', m);
  const protocol = memberOffset('sock', 'sk_protocol');
  const family = common('skc_family'), daddr = common('skc_daddr'), saddr = common('skc_rcv_saddr');
  const dport = common('skc_dport'), num = common('skc_num');
  if (protocol === undefined || family === undefined || daddr === undefined || saddr === undefined || dport === undefined || num === undefined) return undefined;
  const v6daddr = common('skc_v6_daddr'), v6saddr = common('skc_v6_rcv_saddr');
  return { protocol, family, daddr, saddr, dport, num, v6: v6daddr !== undefined && v6saddr !== undefined ? { daddr: v6daddr, saddr: v6saddr } : undefined };
}

/** Copies `size` kernel bytes at base + offset into the key at `at`. `base` must not be R1–R3. */
function readInto(a: Asm, at: number, base: Reg, offset: number, size: number): void {
  a.mov(R3, base);
  if (offset) a.alu64('add', R3, imm(offset));
  a.mov(R1, R10).alu64('add', R1, imm(KEY_FP + at)).mov(R2, imm(size)).call(Helper.probe_read_kernel);
}

function zeroKey(a: Asm, version: 4 | 6): void {
  for (let i = 0; i < KEY_WORDS; i++) a.st(8, R10, KEY_FP + 8 * i, 0);
  a.st(4, R10, KEY_FP + VERSION, version);
}

/**
 * At a TCP socket's state change (sk, oldstate, newstate): records it on entering ESTABLISHED,
 * forgets it on CLOSE, under its IPv4 key and, for an IPv6 socket, its IPv6 key too (an IPv6
 * socket talking IPv4 has the IPv4 addresses as well). Never fires the probe.
 */
export function emitTrackConnection(e: ArgEmitter): void {
  const a = e.asm;
  e.neverFires();
  const L = sockLayout();
  if (!L) { a.ja(e.skip); return; }
  e.raw(0, R6);
  a.jmp('jeq', R6, imm(0), e.skip);
  e.readKernel(R7, R6, L.protocol, 2);
  a.jmp('jne', R7, imm(IPPROTO_TCP), e.skip);
  e.raw(2, R8);
  a.mov32(R8, R8);
  const keep = a.newLabel('established');
  a.jmp('jeq', R8, imm(TCP_ESTABLISHED), keep).jmp('jne', R8, imm(TCP_CLOSE), e.skip).label(keep);
  const keyOfSock = (version: 4 | 6, local: number, remote: number, size: number) => {
    zeroKey(a, version);
    readInto(a, LOCAL, R6, local, size);
    readInto(a, REMOTE, R6, remote, size);
    readInto(a, RPORT, R6, L.dport, 2);
    // skc_num is the local port in host order: the key has it as a header does.
    e.readKernel(R7, R6, L.num, 2);
    a.mov(R0, R7).alu64('rsh', R0, imm(8)).alu64('and', R7, imm(0xff)).alu64('lsh', R7, imm(8)).alu64('or', R7, R0);
    a.stx(2, R10, KEY_FP + LPORT, R7);
  };
  const apply = () => {
    const forget = a.newLabel('forget'), done = a.newLabel('applied');
    a.ldMapFd(R1, CONN_MAP.name).mov(R2, R10).alu64('add', R2, imm(KEY_FP));
    a.jmp('jne', R8, imm(TCP_ESTABLISHED), forget);
    a.stx(8, R10, VALUE_FP, R6).mov(R3, R10).alu64('add', R3, imm(VALUE_FP)).mov(R4, imm(0)).call(Helper.map_update_elem).ja(done);
    a.label(forget).call(Helper.map_delete_elem);
    a.label(done);
  };
  keyOfSock(4, L.saddr, L.daddr, 4);
  apply();
  if (L.v6) {
    e.readKernel(R7, R6, L.family, 2);
    a.jmp('jne', R7, imm(AF_INET6), e.skip);
    keyOfSock(6, L.v6.saddr, L.v6.daddr, 16);
    apply();
  }
  a.ja(e.skip);
}

/**
 * For an inbound segment (after emitPacket): arg1 = the socket the table has for its addresses
 * and ports, when it has one.
 */
export function emitFindConnection(e: ArgEmitter): void {
  const a = e.asm, v6 = a.newLabel('v6'), lookup = a.newLabel('lookup'), done = a.newLabel('found');
  e.getArg(ARG_IP, R7);
  e.getArg(ARG_L4, R6);
  e.readKernel(R8, R7, 0, 1);
  a.alu64('rsh', R8, imm(4)).jmp('jeq', R8, imm(6), v6);
  zeroKey(a, 4);
  readInto(a, LOCAL, R7, 16, 4);
  readInto(a, REMOTE, R7, 12, 4);
  a.ja(lookup);
  a.label(v6);
  zeroKey(a, 6);
  readInto(a, LOCAL, R7, 24, 16);
  readInto(a, REMOTE, R7, 8, 16);
  a.label(lookup);
  readInto(a, LPORT, R6, 2, 2);
  readInto(a, RPORT, R6, 0, 2);
  a.ldMapFd(R1, CONN_MAP.name).mov(R2, R10).alu64('add', R2, imm(KEY_FP)).call(Helper.map_lookup_elem);
  a.jmp('jeq', R0, imm(0), done).ldx(8, R0, R0, 0);
  e.setArg(ARG_SOCK, R0);
  a.label(done);
}
