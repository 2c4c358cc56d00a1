/**
 * @fileoverview The ip, tcp, udp and lockstat providers against the real kernel through the CLI.
 * The workloads say what they did (test/workloads/net_loopback.c: a TCP transfer of a known size,
 * a known number of UDP datagrams and a refused connection on 127.0.0.1, with the ports they
 * used; lock_contention.c: a known number of threads asleep on one pipe mutex), and the traces
 * must account for exactly that, filtered on those ports or on the target. Needs root and the
 * kernel events each provider is built on here; each test skips with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';
import { hasRawTracepoint } from '../../src/providers/kernel-events.js';
import { matchProbes } from '../../src/providers/registry.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const rootSkip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' :
  !hasRawTracepoint('sched_process_exec') ? 'kernel BTF has no raw tracepoint prototypes' : false;

/** Why `provider:::name` cannot be tested here, or false. */
function probeSkip(provider: string, name: string): string | false {
  if (rootSkip) return rootSkip;
  const found = matchProbes({ provider, module: '', function: '', name });
  return found.length > 0 ? false : `${provider}:::${name} is not available on this kernel`;
}

function dtrace(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Lines starting with `tag`, split into words after it. */
function tagged(stdout: string, tag: string): string[][] {
  return stdout.split('\n').filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1).trim().split(/\s+/));
}

const BYTES = 1_000_000;
const DATAGRAMS = 50;

interface LoopbackRun { stdout: string; server: number; client: number; udpServer: number; refused: number }

let loopback: LoopbackRun | undefined;

/** One run of the loopback workload under every net probe the tests look at. */
function loopbackRun(): LoopbackRun {
  if (loopback) return loopback;
  const target = buildWorkload('net_loopback');
  const r = dtrace(['-q', '-n', `
    tcp:::send { @tsend[args[2]->ip_daddr, args[4]->tcp_dport] = sum(args[2]->ip_plength); @tsendhdr[args[2]->ip_daddr, args[4]->tcp_dport] = sum(args[4]->tcp_offset); }
    tcp:::receive { @trecv[args[2]->ip_saddr, args[3]->tcps_lport] = sum(args[2]->ip_plength - args[4]->tcp_offset); }
    tcp:::state-change { printf("state %x %d %d %s %s\\n", args[1]->cs_addr, args[3]->tcps_lport, args[3]->tcps_rport, tcp_state_string[args[5]->tcps_state], tcp_state_string[args[3]->tcps_state]); }
    tcp:::connect-request, tcp:::connect-refused, tcp:::accept-refused { printf("%s %d %d\\n", probename, args[4]->tcp_sport, args[4]->tcp_dport); }
    tcp:::connect-established, tcp:::accept-established { printf("%s %d %d %s\\n", probename, args[3]->tcps_lport, args[3]->tcps_rport, args[2]->ip_daddr); }
    tcp:::connect-established, tcp:::accept-established { printf("%s-segment %d %d\\n", probename, args[4]->tcp_sport, args[4]->tcp_dport); }
    udp:::send, udp:::receive { @udp[probename, args[4]->udp_dport, args[3]->udps_lport] = count(); }
    ip:::send /pid == $target && args[2]->ip_ver == 4 && args[4]->ipv4_protocol == IPPROTO_UDP/ { @ipudp[args[3]->if_name, args[4]->ipv4_protostr] = count(); }
    END {
      printa("tcp-send %s %d %@d\\n", @tsend); printa("tcp-send-headers %s %d %@d\\n", @tsendhdr);
      printa("tcp-receive %s %d %@d\\n", @trecv); printa("udp-count %s %d %d %@d\\n", @udp); printa("ip-send %s %s %@d\\n", @ipudp);
    }`, '-c', `${target} ${BYTES} ${DATAGRAMS}`]);
  assert.equal(r.status, 0, r.stderr);
  const tcp = tagged(r.stdout, 'tcp')[0], udp = tagged(r.stdout, 'udp').find((w) => w[0] === 'server-port'), refused = tagged(r.stdout, 'refused')[0];
  assert.ok(tcp && udp && refused, `the workload did not report its ports:\n${r.stdout}\n${r.stderr}`);
  assert.equal(Number(tcp[5]), BYTES, 'the workload moved every byte');
  loopback = { stdout: r.stdout, server: Number(tcp[1]), client: Number(tcp[3]), udpServer: Number(udp[1]), refused: Number(refused[1]) };
  return loopback;
}

test('tcp:::send summed ip_plength per ip_daddr accounts for every payload byte of a loopback transfer', { skip: probeSkip('tcp', 'send') }, () => {
  const run = loopbackRun();
  const sum = (tag: string) => tagged(run.stdout, tag).filter((w) => w[0] === '127.0.0.1' && Number(w[1]) === run.server).reduce((n, w) => n + Number(w[2]), 0);
  const plength = sum('tcp-send'), headers = sum('tcp-send-headers');
  // ip_plength is the IP payload: the TCP header and the data. SYN and FIN carry no data.
  assert.equal(plength - headers, BYTES, run.stdout);
  assert.ok(headers >= 20 * 3, `at least SYN, data and FIN segments: ${headers} header bytes`);
});

test('tcp:::receive sees the same payload arrive at the server port', { skip: probeSkip('tcp', 'receive') }, () => {
  const run = loopbackRun();
  const rows = tagged(run.stdout, 'tcp-receive').filter((w) => Number(w[1]) === run.server);
  assert.deepEqual(rows.map((w) => [w[0], Number(w[2])]), [['127.0.0.1', BYTES]], run.stdout);
});

test('tcp:::state-change shows each end of the connection go through its states in order', { skip: probeSkip('tcp', 'state-change') }, () => {
  const run = loopbackRun();
  // A socket has no local port before connect() binds it: a socket's transitions are those of
  // its address (args[1]->cs_addr) from one CLOSED to the next (the address is then reused).
  const lives: string[][][] = [];
  const open = new Map<string, string[][]>();
  for (const w of tagged(run.stdout, 'state')) {
    let life = open.get(w[0]!);
    if (!life) { life = []; lives.push(life); open.set(w[0]!, life); }
    life.push(w);
    if (w[4] === 'state-closed') open.delete(w[0]!);
  }
  const states = (lport: number, rport: number) =>
    (lives.find((l) => l.some((w) => Number(w[1]) === lport && Number(w[2]) === rport)) ?? []).map((w) => `${w[3]} -> ${w[4]}`);
  // The client closes first: FIN_WAIT_1, FIN_WAIT_2, then TIME_WAIT (Linux hands the connection
  // to a timewait socket and reports only FIN_WAIT_2 -> CLOSED: both fire, as in dtrace-utils).
  assert.deepEqual(states(run.client, run.server), [
    'state-closed -> state-syn-sent', 'state-syn-sent -> state-established', 'state-established -> state-fin-wait-1',
    'state-fin-wait-1 -> state-fin-wait-2', 'state-fin-wait-2 -> state-time-wait', 'state-fin-wait-2 -> state-closed',
  ], run.stdout);
  assert.deepEqual(states(run.server, run.client), [
    'state-listen -> state-syn-received', 'state-syn-received -> state-established', 'state-established -> state-close-wait',
    'state-close-wait -> state-last-ack', 'state-last-ack -> state-closed',
  ], run.stdout);
  assert.deepEqual(states(run.server, 0), ['state-closed -> state-listen', 'state-listen -> state-closed'], run.stdout);
});

test('tcp connect-request, connect-established, accept-established, connect-refused and accept-refused fire once each', { skip: probeSkip('tcp', 'connect-request') }, () => {
  const run = loopbackRun();
  const lines = (tag: string) => tagged(run.stdout, tag).map((w) => w.join(' '));
  assert.deepEqual(lines('connect-request').filter((l) => l.endsWith(` ${run.server}`)), [`${run.client} ${run.server}`]);
  assert.deepEqual(lines('connect-established').filter((l) => l.startsWith(`${run.client} `)), [`${run.client} ${run.server} 127.0.0.1`]);
  assert.deepEqual(lines('accept-established').filter((l) => l.startsWith(`${run.server} `)), [`${run.server} ${run.client} 127.0.0.1`]);
  // args[4] is the inbound segment that completed the handshake: the server's SYN|ACK reaches the
  // client, the client's ACK reaches the server (ports from the socket: Linux reports no packet).
  assert.ok(lines('connect-established-segment').includes(`${run.server} ${run.client}`), run.stdout);
  assert.ok(lines('accept-established-segment').includes(`${run.client} ${run.server}`), run.stdout);
  // The reset answering a SYN to a port nobody listens on leaves that port: refused by this end,
  // and arrives back at the connecting end.
  assert.equal(lines('accept-refused').filter((l) => l.startsWith(`${run.refused} `)).length, 1, run.stdout);
  assert.equal(lines('connect-refused').filter((l) => l.startsWith(`${run.refused} `)).length, 1, run.stdout);
});

test('udp:::send and udp:::receive count every datagram; ip:::send sees them leave through lo', { skip: probeSkip('udp', 'send') }, () => {
  const run = loopbackRun();
  const udp = tagged(run.stdout, 'udp-count').filter((w) => Number(w[1]) === run.udpServer).map((w) => w.join(' '));
  // The local port of a sent datagram is its source port; of a received one its destination.
  assert.equal(udp.length, 2, run.stdout);
  assert.ok(udp.includes(`receive ${run.udpServer} ${run.udpServer} ${DATAGRAMS}`), run.stdout);
  assert.ok(udp.some((l) => l.startsWith('send ') && l.endsWith(` ${DATAGRAMS}`) && !l.startsWith(`send ${run.udpServer} ${run.udpServer} `)), run.stdout);
  assert.deepEqual(tagged(run.stdout, 'ip-send'), [['lo', 'UDP', String(DATAGRAMS)]], run.stdout);
});

test('lockstat:::adaptive-block fires, with its stack, for each thread asleep on a contended kernel mutex', { skip: probeSkip('lockstat', 'adaptive-block') }, () => {
  const WAITERS = 4;
  const target = buildWorkload('lock_contention');
  const r = dtrace(['-q', '-n', `
    lockstat:::adaptive-block /pid == $target/ { @blocks[stack()] = count(); @asleep = sum(arg1); }
    END { printa("asleep %@d\\n", @asleep); printa(@blocks); }`, '-c', `${target} ${WAITERS}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`waiters ${WAITERS} blocked ${WAITERS}`), 'every waiter was asleep before the mutex was released');
  // Each stack block ends with its count; those through the pipe's write path are the waiters.
  const blocks = r.stdout.split(/\n\s*\n/).map((b) => b.trim()).filter((b) => /\n\s*\d+$/.test(b));
  const throughPipe = blocks.filter((b) => /pipe_write/.test(b)).reduce((n, b) => n + Number(/(\d+)$/.exec(b)![1]), 0);
  assert.equal(throughPipe, WAITERS, r.stdout);
  assert.ok(blocks.some((b) => /mutex_lock|__mutex_lock/.test(b) || /pipe_write/.test(b)), r.stdout);
  // The workload keeps them asleep for at least 20 ms after the last one fell asleep.
  const asleep = Number(tagged(r.stdout, 'asleep')[0]?.[0]);
  assert.ok(asleep >= WAITERS * 20e6, `time asleep ${asleep} ns\n${r.stdout}`);
});

test('lockstat adaptive-acquire/-release and spin-acquire/-release see the contended mutex and the spinlocks around it', { skip: probeSkip('lockstat', 'adaptive-acquire') || probeSkip('lockstat', 'spin-acquire') }, () => {
  const WAITERS = 3;
  const target = buildWorkload('lock_contention');
  const r = dtrace(['-q', '-n', `
    lockstat:::adaptive-block /pid == $target/ { @blocked[args[0]] = count(); }
    lockstat:::adaptive-acquire /pid == $target/ { @acquired[args[0]] = count(); }
    lockstat:::adaptive-release /pid == $target/ { @released[args[0]] = count(); }
    lockstat:::spin-acquire /pid == $target/ { @spin["acquire"] = count(); }
    lockstat:::spin-release /pid == $target/ { @spin["release"] = count(); }
    END { printa("blocked %p %@d\\n", @blocked); printa("acquired %p %@d\\n", @acquired); printa("released %p %@d\\n", @released); printa("spin %s %@d\\n", @spin); }`,
  '-c', `${target} ${WAITERS}`]);
  assert.equal(r.status, 0, r.stderr);
  const blocked = tagged(r.stdout, 'blocked').filter((w) => Number(w[1]) === WAITERS);
  assert.equal(blocked.length, 1, `one mutex with ${WAITERS} waiters:\n${r.stdout}`);
  const lock = blocked[0]![0];
  // The holder and every waiter took the pipe's mutex, and gave it back.
  const count = (tag: string) => Number(tagged(r.stdout, tag).find((w) => w[0] === lock)?.[1] ?? 0);
  assert.ok(count('acquired') >= WAITERS + 1, r.stdout);
  assert.ok(count('released') >= WAITERS + 1, r.stdout);
  const spin = new Map(tagged(r.stdout, 'spin').map((w) => [w[0], Number(w[1])]));
  assert.ok((spin.get('acquire') ?? 0) > 0 && (spin.get('release') ?? 0) > 0, r.stdout);
});

test('-lvv names the kernel events each net and lockstat probe is built on here; -lv is DTrace\'s block alone', { skip: probeSkip('tcp', 'send') }, () => {
  const lv = dtrace(['-lv', '-n', 'tcp:::send']);
  assert.equal(lv.status, 0, lv.stderr);
  assert.match(lv.stdout, /\tArgument Types\n(\t\targs\[\d\]: .*\n)+\n$/);
  assert.doesNotMatch(lv.stdout, /Implemented On/);
  const r = dtrace(['-lvv', '-n', 'tcp:::send', '-n', 'tcp:::state-change', '-n', 'lockstat:::adaptive-block']);
  assert.equal(r.status, 0, r.stderr);
  const sections = r.stdout.split(/\n(?= +\d+ +\w+ +vmlinux )/);
  const of = (name: string) => sections.find((s) => new RegExp(`\\s${name}\\n`).test(s)) ?? '';
  assert.match(of('send'), /Implemented On\n\t\ttracepoint net_dev_start_xmit\n/);
  assert.match(of('state-change'), /Implemented On\n\t\ttracepoint inet_sock_set_state\n/);
  const block = of('adaptive-block');
  // lock:contention_* where the kernel has them (5.19 on), else mutex_lock and the sleep inside it.
  if (hasRawTracepoint('contention_begin')) assert.match(block, /Implemented On\n\t\ttracepoint contention_begin, tracepoint contention_end\n/);
  else if (block) assert.match(block, /Implemented On\n\t\tfbt::mutex_lock:entry, fbt::schedule_preempt_disabled:entry, fbt::schedule_preempt_disabled:return, fbt::mutex_lock:return\n/);
});
