/**
 * @fileoverview pid return probes over a whole executable (dapptrace/dappprof's
 * `pid$target:a.out::return`) leave the traced program intact: the entry point (`_start`) gets
 * no uretprobe, whose hijacked return address would be the process's argc. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const perl = '/usr/bin/perl';
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs' : !existsSync(perl) ? `${perl} (an executable with exported functions) is missing` : false;

test('a.out return probes over a glob taking in _start: the -c command still sees its arguments', { skip }, () => {
  // `*start*` takes in _start (and a few Perl_*start* functions): few enough sites to attach
  // one by one where the kernel has no uprobe_multi.
  const r = spawnSync(process.execPath, [cli, '-q', '-n', 'pid$target:a.out:*start*:return { } pid$target:a.out:perl_run:return { printf("[perl_run returned %d]", arg1); }',
    '-c', `${perl} -e print(6*7)`], { encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  // The command shares our stdout: its 42 and the probe's line come in either order.
  assert.equal(r.stdout.replace('[perl_run returned 0]', '').trim(), '42', r.stdout);
  assert.ok(r.stdout.includes('[perl_run returned 0]'), r.stdout);
});
