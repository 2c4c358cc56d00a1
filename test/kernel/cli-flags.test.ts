/**
 * @fileoverview dtrace(1) flags as Oracle's and illumos's man pages describe them, run through
 * the built command. Needs root (the probes are enabled for real).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function dtrace(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
}

test('-P, -m and -f take a predicate and an action after the description', { skip }, () => {
  const bin = buildWorkload('getpid_loop');
  const f = dtrace(['-q', '-f', 'syscall::getpid /pid == $target/ { @ = count(); }', '-c', `${bin} 1234`]);
  assert.equal(f.status, 0, f.stderr);
  // The name field is left empty: entry and return both match.
  assert.equal(f.stdout.trim(), '2468');
  const fBare = dtrace(['-q', '-f', 'getpid{ @ = count(); }', '-c', `${bin} 10`]);
  assert.equal(fBare.status, 0, fBare.stderr);
  const P = dtrace(['-q', '-P', 'dtrace /1/ { printf("%s ", probename); exit(0); }']);
  assert.equal(P.status, 0, P.stderr);
  assert.equal(P.stdout.trim(), 'BEGIN END');
  const m = dtrace(['-e', '-m', 'syscall:vmlinux{ trace(1); }']);
  assert.equal(m.status, 0, m.stderr);
});

test('an unprivileged user gets one line and a hint before anything is compiled or listed', { skip }, () => {
  for (const args of [['-n', 'BEGIN { exit(0); }'], ['-l']]) {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cli, ...args], { encoding: 'latin1', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'dtrace: failed to initialize dtrace: DTrace requires additional privileges\n'
      + 'hint: tracing needs root: run it with sudo, or give node the capabilities CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH\n');
  }
});

test('-o onto a directory or a missing directory: DTrace\'s line, status 1, no stack trace', { skip }, () => {
  const dir = dtrace(['-o', '/tmp', '-n', 'BEGIN { exit(0); }']);
  assert.equal(dir.status, 1);
  assert.equal(dir.stderr, "dtrace: failed to open output file '/tmp': Is a directory\n");
  const missing = dtrace(['-o', '/nonexistent/out.txt', '-n', 'BEGIN { exit(0); }']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, "dtrace: failed to open output file '/nonexistent/out.txt': No such file or directory\n");
});

test('-C with -Xs (or -x stdc=s) preprocesses as K&R C: __STDC__ is not defined; otherwise it is', { skip }, () => {
  const program = 'BEGIN {\n#ifdef __STDC__\nexit(1);\n#else\nexit(0);\n#endif\n}';
  for (const flags of [['-Xs'], ['-x', 'stdc=s']]) {
    const r = dtrace(['-q', '-C', ...flags, '-n', program]);
    assert.equal(r.status, 0, r.stderr);
  }
  const ansi = dtrace(['-q', '-C', '-n', program]);
  assert.equal(ansi.status, 1, ansi.stderr);
});

test('$pgid and $sid are the process group and session of dtrace (inherited from whoever ran it)', { skip }, () => {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const [, , pgid, sid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const r = dtrace(['-q', '-n', 'BEGIN { printf("%d %d %s\\n", $pgid, $sid, $$sid); exit(0); }']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${pgid} ${sid} ${sid}\n\n`);
});
