/**
 * @fileoverview Formats the DTraceToolkit's scripts rely on, against the running kernel:
 * `%a` of a plain integer in printf() and printa() is ``module`symbol+0xoffset`` (hotkernel's
 * `printa("%a %@d\n", @pc)` of `@pc[arg0] = count()`), the symbol taken from /proc/kallsyms.
 * `zonename` is the global zone's. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

/** A kernel text symbol with its address, and the address of the next one (from kallsyms). */
function kernelFunction(name: string): { start: bigint } | undefined {
  for (const line of readFileSync('/proc/kallsyms', 'latin1').split('\n')) {
    const [addr, type, sym, mod] = line.split(/\s+/);
    if (sym === name && mod === undefined && (type === 'T' || type === 't')) return { start: BigInt(`0x${addr}`) };
  }
  return undefined;
}

test('%a of an integer in printf and printa names the kernel symbol and offset', { skip }, (t) => {
  const fn = kernelFunction('vfs_read');
  if (!fn || fn.start === 0n) { t.skip('vfs_read not in /proc/kallsyms (or addresses hidden)'); return; }
  const at = `0x${fn.start.toString(16)}`, inside = `0x${(fn.start + 5n).toString(16)}`;
  const r = spawnSync(process.execPath, [cli, '-q', '-n',
    `BEGIN { printf("[%a] [%a] [%-30a]\\n", ${at}, ${inside}, ${at}); @pc[${inside}] = count(); printa("%a %@d\\n", @pc); exit(0); }`],
  { encoding: 'latin1', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `[vmlinux\`vfs_read] [vmlinux\`vfs_read+0x5] [${'vmlinux`vfs_read'.padEnd(30)}]`);
  assert.equal(r.stdout.split('\n')[1], 'vmlinux`vfs_read+0x5 1');
});

test('%A of an integer names the -c target\'s symbol, even once it has exited (END)', { skip }, () => {
  const r = spawnSync(process.execPath, [cli, '-q', '-n',
    'pid$target:libc.so.6:exit:entry { @pc[uregs[R_PC] + 2] = count(); printf("[%A]\\n", uregs[R_PC]); } END { printa("%A %@d\\n", @pc); }',
    '-c', '/bin/true'], { encoding: 'latin1', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter((l) => l !== ''), ['[libc.so.6`exit]', 'libc.so.6`exit+0x2 1']);
});

test('zonename is "global" (Linux has no zones), as execsnoop -a/-Z and opensnoop -Z print it', { skip }, () => {
  const r = spawnSync(process.execPath, [cli, '-q', '-n', 'BEGIN { printf("[%-10s] [%s] %d\\n", zonename, zonename == "global" ? "yes" : "no", curpsinfo->pr_zoneid); exit(0); }'],
    { encoding: 'latin1', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '[global    ] [yes] 0\n\n');
});
