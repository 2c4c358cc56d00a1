/**
 * @fileoverview pid descriptions DTrace refuses with a D_PROC_* error (not "matches nothing"),
 * for a -c command that is a script (whose a.out is its interpreter), and the symbol functions
 * used as statements (`ufunc(ucaller);`), which record what trace() of them records. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

function dtrace(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 240_000 });
}

test('pid descriptions of a script target: D_PROC_NAME / D_PROC_FUNC / D_PROC_OFF / D_PROC_LIB against its interpreter', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-piddesc-'));
  try {
    // A script run by the malloc_777 workload (which ignores its arguments): that binary's
    // symbols, with main, are the target's a.out.
    const script = join(dir, 'script');
    writeFileSync(script, `#!${buildWorkload('malloc_777')}\n`);
    chmodSync(script, 0o755);
    const cases: [string, string, RegExp][] = [
      ['pid$target:a.out:main:beginning', 'D_PROC_NAME', /'beginning' is an invalid probe name/],
      ['pid$target:a.out:no_such_function_xyz:entry', 'D_PROC_FUNC', /failed to lookup 'no_such_function_xyz' in module 'a.out'/],
      ['pid$target::_exit:100000', 'D_PROC_OFF', /offset 0x100000 outside of function '_exit'/],
      ['pid$target:libc:-:800', 'D_PROC_LIB', /only the a\.out module is valid with the '-' function/],
      ['pid$target::-:', 'D_PROC_NAME', /only individual addresses may be specified/],
    ];
    for (const [desc, tag, message] of cases) {
      const r = dtrace(['-xerrtags', '-n', `${desc} {}`, '-c', script]);
      assert.equal(r.status, 1, `${desc}: ${r.stderr}`);
      // A -n description's errors carry no line number, as DTrace prints them.
      assert.match(r.stderr, new RegExp(`\\[${tag}\\] ${message.source}`), desc);
    }
    const zero = dtrace(['-xerrtags', '-n', 'pid0:::entry {}']);
    assert.equal(zero.status, 1);
    assert.match(zero.stderr, /\[D_PROC_BADPID\] pid0 does not contain a valid pid/);
    // Well-formed descriptions still work: the interpreter's main is a probe of the script.
    const ok = dtrace(['-q', '-n', 'pid$target:a.out:main:entry { trace(probemod); exit(0); }', '-c', script]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'malloc_777');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ufunc()/usym()/umod()/uaddr() and func()/mod() as statements record as trace() of them does', { skip }, () => {
  const bin = buildWorkload('malloc_777');
  const forms = ['ufunc', 'usym', 'umod', 'uaddr'];
  const body = forms.map((f) => `${f}(ucaller); printf("|"); trace(${f}(ucaller)); printf("\\n");`).join(' ');
  const r = dtrace(['-q', '-n', `pid$target::malloc:entry { ${body} exit(0); }`, '-c', bin]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.includes('|'));
  assert.equal(lines.length, forms.length, r.stdout);
  for (const line of lines) {
    const [statement, traced] = line.split('|');
    assert.equal(statement, traced, line);
    assert.match(statement!, /malloc_777/, line);
  }
  // A kernel function's address from kallsyms, a few bytes in.
  const m = /^([0-9a-f]+) [Tt] schedule$/m.exec(readFileSync('/proc/kallsyms', 'latin1'));
  assert.ok(m && !/^0+$/.test(m[1]!), 'schedule in /proc/kallsyms');
  const addr = `0x${(BigInt(`0x${m[1]}`) + 4n).toString(16)}`;
  const k = dtrace(['-q', '-n', `BEGIN { func(${addr}); printf("|"); trace(func(${addr})); printf("|"); mod(${addr}); exit(0); }`]);
  assert.equal(k.status, 0, k.stderr);
  const [stmt, traced, mod] = k.stdout.split('|');
  assert.equal(stmt, traced);
  assert.match(stmt!, /^\s*vmlinux`schedule\s*$/);
  assert.match(mod!, /^\s*vmlinux\s*$/);
});
