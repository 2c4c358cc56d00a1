/**
 * @fileoverview tcp:::receive finds the socket of an established connection (src/providers/
 * tcp-conns.ts): a data segment received on either end of a loopback transfer has the csinfo_t
 * and tcpsinfo_t of the socket connect-established / accept-established reported for that end
 * (the DTrace book's tcp1stbyte.d keys its start time on cs_cid). Needs root and the tcp probes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorkload, repoRoot } from '../helpers/workloads.js';
import { matchProbes } from '../../src/providers/registry.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' :
  matchProbes({ provider: 'tcp', module: '', function: '', name: 'receive' }).length === 0 ? 'tcp:::receive is not available on this kernel' : false;

test('a received data segment carries the socket its connection was established on', { skip }, () => {
  const target = buildWorkload('net_loopback');
  const r = spawnSync(process.execPath, [cli, '-q', '-n', `
    tcp:::connect-established, tcp:::accept-established { printf("est %d %x\\n", args[3]->tcps_lport, args[1]->cs_cid); }
    tcp:::receive /args[2]->ip_plength - args[4]->tcp_offset > 0/ {
      printf("rcv %d %x %x %d\\n", args[4]->tcp_dport, args[1]->cs_cid, args[1]->cs_addr, args[3]->tcps_state); }`,
  '-c', `${target} 200000 1`], { encoding: 'latin1', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const tcp = lines.find((l) => l.startsWith('tcp '))?.split(/\s+/);
  assert.ok(tcp, `the workload did not report its ports:\n${r.stdout}`);
  // The client sends, the server receives: data arrives at the server's port.
  for (const port of [Number(tcp[2])]) {
    const est = lines.filter((l) => l.startsWith(`est ${port} `)).map((l) => l.split(' ')[2]);
    assert.equal(est.length, 1, `one established socket on port ${port}:\n${r.stdout}`);
    const rcv = lines.filter((l) => l.startsWith(`rcv ${port} `)).map((l) => l.split(' '));
    assert.ok(rcv.length > 0, `data received on port ${port}:\n${r.stdout}`);
    for (const w of rcv) {
      assert.equal(w[2], est[0], `cs_cid of a segment to port ${port}`);
      assert.equal(w[3], est[0], `cs_addr of a segment to port ${port}`);
      assert.notEqual(Number(w[4]), 0, 'tcps_state is the socket\'s');
    }
  }
});
