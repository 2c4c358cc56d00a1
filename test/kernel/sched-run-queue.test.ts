/**
 * @fileoverview sched:::enqueue and sched:::dequeue give args[2], the CPU of the run queue
 * (lib/sched.d translates the struct rq): the DTrace book's rq.d, qtime.d and lat.d index by
 * args[2]->cpu_id. Needs root and fbt (kprobes or fentry: the Linux 6.1 guest has them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { matchProbes } from '../../src/providers/registry.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' :
  matchProbes({ provider: 'sched', module: '', function: '', name: 'enqueue' }).length === 0 ? 'sched:::enqueue needs kprobes or fentry' : false;

test('enqueue and dequeue of the target name real CPUs in args[2]->cpu_id, without faults', { skip }, () => {
  const r = spawnSync(process.execPath, [cli, '-q', '-n', `
    sched:::enqueue /args[1]->pr_pid == $target/ { @e[args[2]->cpu_id] = count(); }
    sched:::dequeue /args[1]->pr_pid == $target/ { @d[args[2]->cpu_id, args[2]->cpu_pset] = count(); }
    END { printa("enqueue %d %@d\\n", @e); printa("dequeue %d %d %@d\\n", @d); }`,
  '-c', '/bin/sh -c "for i in 1 2 3 4 5; do sleep 0.05; done"'], { encoding: 'latin1', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /invalid address/);
  const ncpu = cpus().length;
  const enq = r.stdout.split('\n').filter((l) => l.startsWith('enqueue ')).map((l) => l.split(' ').map(Number));
  const deq = r.stdout.split('\n').filter((l) => l.startsWith('dequeue ')).map((l) => l.split(' ').map(Number));
  // Each sleep dequeues the shell, each wakeup enqueues it.
  assert.ok(enq.reduce((n, w) => n + w[2]!, 0) >= 5, r.stdout);
  assert.ok(deq.reduce((n, w) => n + w[3]!, 0) >= 5, r.stdout);
  for (const w of [...enq, ...deq]) assert.ok(w[1]! >= 0 && w[1]! < ncpu, `cpu_id ${w[1]} of ${ncpu} CPUs`);
  for (const w of deq) assert.equal(w[2], 0, 'cpu_pset');
});
