/**
 * @fileoverview `dtrace -h` and `-G` through the CLI, end to end: a provider definition becomes
 * a header, gcc compiles a C program with it, the program runs under `dtrace -c` and its own
 * probes fire with their arguments (an int and a string) and its is-enabled check sees the
 * probe enabled; built with -DDTRACE_PROBES_DISABLED the program carries no stapsdt notes and
 * dtrace finds no probes in it. Needs root, gcc and the uprobe PMU; skips otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { readElfFile, findSection } from '../../src/bpf/elf/elf.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const skip =
  process.getuid?.() !== 0 ? 'needs root to load BPF programs' :
  !hasGcc ? 'gcc not installed' :
  !existsSync('/sys/bus/event_source/devices/uprobe/type') ? 'no uprobe PMU' :
  !existsSync(cli) ? 'dist/cli.js not built (npm run build)' : false;

function dtrace(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000, cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PROVIDER = `provider shop {
	probe order__placed(int, char *);
	probe closed();
};
`;

const PROGRAM = `#include <stdio.h>
#include "shop.h"
int main(void) {
	int enabled = 0;
	for (int i = 0; i < 3; i++) {
		/* On the stack: a page the probe can read (copyinstr cannot fault pages in). */
		char item[16];
		snprintf(item, sizeof item, "item-%d", i);
		if (SHOP_ORDER_PLACED_ENABLED()) enabled++;
		SHOP_ORDER_PLACED(i + 10, item);
	}
	SHOP_CLOSED();
	printf("enabled %d\\n", enabled);
	return 0;
}
`;

test('dtrace -h: a C program traced through its own probes, arguments included', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-h-'));
  try {
    writeFileSync(join(dir, 'shop.d'), PROVIDER);
    writeFileSync(join(dir, 'main.c'), PROGRAM);
    const h = dtrace(['-h', '-s', 'shop.d'], dir);
    assert.equal(h.status, 0, h.stderr);
    assert.match(readFileSync(join(dir, 'shop.h'), 'latin1'), /#define\tSHOP_ORDER_PLACED_ENABLED\(\)/);
    // -o names the output.
    assert.equal(dtrace(['-h', '-s', 'shop.d', '-o', 'other.h'], dir).status, 0);
    assert.ok(existsSync(join(dir, 'other.h')));

    const cc = spawnSync('gcc', ['-O2', '-Wall', '-Werror', '-o', 'shop', 'main.c'], { cwd: dir, encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const prog = join(dir, 'shop');
    const r = dtrace(['-q', '-n', 'shop$target:::order-placed { printf("%s %s %d %s\\n", probemod, probefunc, arg0, copyinstr(arg1)); } shop$target:::closed { printf("closed\\n"); }',
      '-c', prog]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.deepEqual(lines.filter((l) => !l.startsWith('enabled')), ['shop main 10 item-0', 'shop main 11 item-1', 'shop main 12 item-2', 'closed']);
    // The is-enabled semaphore was raised while dtrace was attached.
    assert.ok(lines.includes('enabled 3'), r.stdout);

    const cc2 = spawnSync('gcc', ['-O2', '-DDTRACE_PROBES_DISABLED', '-o', 'shop-off', 'main.c'], { cwd: dir, encoding: 'utf8' });
    assert.equal(cc2.status, 0, cc2.stderr);
    const off = join(dir, 'shop-off');
    assert.equal(findSection(readElfFile(off), '.note.stapsdt'), undefined, 'no stapsdt notes');
    assert.deepEqual(readUsdtProbes(off), []);
    const none = dtrace(['-n', 'shop$target:::order-placed', '-c', off]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /does not match any probes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dtrace -G: accepted, explains itself, and leaves a linkable empty object', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-G-'));
  try {
    writeFileSync(join(dir, 'shop.d'), PROVIDER);
    writeFileSync(join(dir, 'main.c'), 'int main(void) { return 0; }\n');
    const g = dtrace(['-G', '-s', 'shop.d'], dir);
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.stderr, /-G is not needed on Linux/);
    const cc = spawnSync('gcc', ['-o', 'prog', 'main.c', 'shop.o'], { cwd: dir, encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
