/**
 * @fileoverview print() and pcap() against the real kernel: print() of kernel objects read
 * through BTF (the tracer's own task: its tgid, its fs_struct's umask — the umask this test
 * runs with), printsize cutting the walk, a NULL pointer faulting; pcap() of a UDP packet this
 * test sends over loopback: the hex dump equals tracemem() of skb->data, and with output
 * freopen()ed the packet lands in a libpcap file with the payload sent. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const INDENT = ' '.repeat(44);

function run(args: string[]): { status: number | null; stdout: string; stderr: string; pid: number } {
  const r = spawnSync(process.execPath, [cli, '-q', ...args], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid ?? 0 };
}

test('print() of kernel memory: a scalar and a struct read through BTF, as the kernel holds them', { skip }, () => {
  const r = run(['-n', 'BEGIN { print(&curthread->tgid); print(curthread->fs); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^0x[0-9a-f]+ = \*$/);
  // BEGIN runs in the tracer: its tgid is the pid of the process spawned here.
  assert.equal(lines[1], `${INDENT}(pid_t)${r.pid},`);
  assert.match(lines[2]!, /^0xffff[0-9a-f]+ = \*$/);
  assert.equal(lines[3], `${INDENT}(struct fs_struct) {`);
  // The tracer inherits this process's umask (zero is left out, as DTrace does).
  const umask = process.umask();
  if (umask !== 0) assert.ok(lines.includes(`${INDENT} .umask = (int)${umask},`), r.stdout);
  // struct path root and pwd: nested structs of kernel pointers, closed at the end.
  assert.ok(lines.includes(`${INDENT} .pwd = (struct path) {`), r.stdout);
  assert.ok(lines.some((l) => /^ {46}\.dentry = \(struct dentry \*\)0xffff[0-9a-f]+,$/.test(l)), r.stdout);
  assert.equal(lines.at(-3), `${INDENT}}`);
});

test('printsize cuts a kernel struct short; print() of NULL is an invalid address', { skip }, () => {
  const r = run(['-x', 'printsize=8', '-n', 'BEGIN { print(curthread); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[1], `${INDENT}(struct task_struct) {`);
  assert.ok(lines.some((l) => /^ {45,}\.\.\.$/.test(l)), r.stdout);
  assert.ok(lines.length < 20, r.stdout);
  const bad = run(['-n', 'BEGIN { print((struct task_struct *)0); exit(0); } ERROR { exit(1); }']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /invalid address \(0x0\)/);
});

/**
 * The loopback workload (it brings lo up in a bare guest): its UDP datagrams carry 100 'u'
 * bytes; ip:::send sees each leave through lo, in the sender's context.
 */
function loopback(): string | undefined {
  try { return buildWorkload('net_loopback'); } catch { return undefined; }
}
/** The first UDP datagram only (the later ones may fire before exit() takes effect). */
const UDP_SEND = 'ip:::send /pid == $target && args[2]->ip_ver == 4 && args[4]->ipv4_protocol == IPPROTO_UDP && !seen++/';
const pcapSkip = skip || (loopback() ? false : 'needs gcc to build the loopback workload');

test('pcap() of a sent packet prints what tracemem() of skb->data prints; a NULL skb prints nothing', { skip: pcapSkip }, () => {
  const r = run(['-x', 'pcapsize=64', '-n', `${UDP_SEND} { printf("<pcap>"); pcap((struct sk_buff *)arg0, PCAP_IP); printf("<tracemem>"); ` +
    'tracemem(((struct sk_buff *)arg0)->data, 64); pcap(0, PCAP_IP); exit(0); }', '-c', `${loopback()!} 1000 3`]);
  assert.equal(r.status, 0, r.stderr);
  // The workload's own lines (tcp …, udp …, refused …) share stdout: leave them out.
  const traced = r.stdout.split('\n').filter((l) => !/^(tcp|udp|refused) /.test(l)).join('\n');
  const [pcapDump, tracememDump, rest] = traced.split(/<pcap>|<tracemem>/).slice(1);
  assert.ok(pcapDump && tracememDump, r.stdout);
  // The NULL skb's pcap() adds nothing: the two dumps are the same (blank lines aside).
  assert.equal(pcapDump.trim(), tracememDump.trim());
  // The 64 bytes reach into the payload: Ethernet (14), IPv4 (20), UDP (8) headers, then 'u'.
  assert.match(pcapDump, /75 75 75 75 75 75/);
  assert.equal(rest, undefined);
});

test('pcap() with output freopen()ed writes a libpcap file holding the packet', { skip: pcapSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-pcap-'));
  try {
    const file = join(dir, 'out.pcap');
    const r = run(['-w', '-n', `${UDP_SEND} { freopen("${file}"); pcap((struct sk_buff *)arg0, PCAP_IP); freopen(""); exit(0); }`, '-c', `${loopback()!} 1000 3`]);
    assert.equal(r.status, 0, r.stderr);
    const b = readFileSync(file);
    assert.equal(b.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(b.readUInt32LE(16), 1514); // snaplen: pcapsize's default
    assert.equal(b.readUInt32LE(20), 12); // PCAP_IP
    const seconds = b.readUInt32LE(24);
    assert.ok(Math.abs(seconds - Date.now() / 1000) < 300, `capture time ${seconds}`);
    const caplen = b.readUInt32LE(32);
    assert.equal(b.length, 40 + caplen);
    // The whole datagram: its 100-byte payload ends the capture.
    assert.ok(caplen >= 128, `caplen ${caplen}`);
    assert.ok(b.subarray(b.length - 100).every((x) => x === 0x75));
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('-x oformat=json carries print()\'s lines in the probe\'s output', { skip }, () => {
  const r = run(['-x', 'oformat=json', '-n', 'BEGIN { print(&curthread->tgid); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  const probe = JSON.parse(r.stdout.split('\n').find((l) => l.includes('"BEGIN"'))!) as { output: { print?: string }[] };
  assert.equal(probe.output[0]!.print!.split('\n')[1], `${INDENT}(pid_t)${r.pid},`);
});

test('print() of a process\'s struct at a pid probe, its pointer cast from the argument', { skip }, () => {
  const r = run(['-n', 'struct point { int x; int y; char *name; }; pid$target::show:entry { print((struct point *)arg0); }', '-c', buildWorkload('print_struct')]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^0x7ff[0-9a-f]+ = \*$/);
  assert.deepEqual(lines.slice(1, 4), [`${INDENT}(struct point) {`, `${INDENT} .x = (int)3,`, `${INDENT} .y = (int)4,`]);
  assert.match(lines[4]!, /^ {45}\.name = \(char \*\)0x[0-9a-f]+,$/);
  assert.equal(lines[5], `${INDENT}}`);
});
