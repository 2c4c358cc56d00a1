/**
 * @fileoverview The kernel side of USDT semaphores: a program built with our `-h` header
 * polls PROV_PROBE_ENABLED(); opening a uprobe perf event at the probe's file offset with
 * the semaphore's file offset as ref_ctr_offset (both from the stapsdt reader) must make the
 * kernel count the semaphore up, so the program sees the probe enabled. Needs root, gcc and
 * the uprobe PMU; skips with the reason otherwise. The perf_event_open call is a minimal local
 * adapter (src/bpf owns the real one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import koffi from 'koffi';
import { makeSource, type Span } from '../../src/diag/source.js';
import type { ProviderDecl } from '../../src/lang/ast.js';
import { generateHeader } from '../../src/cli/header.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';

const UPROBE_TYPE = '/sys/bus/event_source/devices/uprobe/type';
const REF_CTR_FORMAT = '/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset';
const skip =
  process.getuid?.() !== 0 ? 'needs root' :
  spawnSync('gcc', ['--version']).status !== 0 ? 'gcc not installed' :
  !existsSync(UPROBE_TYPE) ? 'no uprobe PMU' :
  !existsSync(REF_CTR_FORMAT) ? 'uprobe PMU without ref_ctr_offset (kernel < 4.20)' : false;

const sp: Span = { source: makeSource('loop.d', 'provider loop { probe tick(int); };'), start: 0, end: 1 };
const LOOP: ProviderDecl = {
  kind: 'ProviderDecl', span: sp, name: 'loop', probes: [{
    kind: 'ProviderProbe', span: sp, name: 'tick',
    params: [{ kind: 'ParamDecl', span: sp, type: { kind: 'TypeName', span: sp, specifiers: { kind: 'BuiltinTypeSpec', span: sp, words: ['int'] }, qualifiers: [] } }],
  }],
};

const PROGRAM = `#include <stdio.h>
#include <time.h>
#include "loop.h"
int main(void) {
	for (int i = 0; i < 500; i++) {
		if (LOOP_TICK_ENABLED()) {
			/* Stay alive a little: perf_event_open fails with ESRCH if we exit under it. */
			printf("enabled\\n");
			fflush(stdout);
			struct timespec linger = { 0, 300 * 1000 * 1000 };
			nanosleep(&linger, 0);
			return 0;
		}
		LOOP_TICK(i);
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, 0);
	}
	printf("timeout\\n");
	return 1;
}
`;

/** perf_event_open(uprobe PMU, config = ref_ctr_offset << 32, config1 = path, config2 = offset). */
function openUprobe(path: string, fileOffset: number, refCtrOffset: number, pid: number): { fd: number; close(): void } {
  const libc = koffi.load('libc.so.6');
  const syscall = libc.func('long syscall(long, long, long, long, long, long, long)');
  const close = libc.func('int close(int)');
  const errno = libc.func('int *__errno_location(void)');
  const ATTR_SIZE = 128;
  const attrMem = koffi.alloc('uint8', ATTR_SIZE);
  const attr = new DataView(koffi.view(attrMem, ATTR_SIZE));
  new Uint8Array(attr.buffer).fill(0); // koffi.alloc memory is not zeroed
  const pathBytes = Buffer.from(`${path}\0`);
  const pathMem = koffi.alloc('uint8', pathBytes.length);
  new Uint8Array(koffi.view(pathMem, pathBytes.length)).set(pathBytes);
  // struct perf_event_attr (include/uapi/linux/perf_event.h): type, size, config, …, config1 @56, config2 @64.
  attr.setUint32(0, Number(readFileSync(UPROBE_TYPE, 'utf8').trim()), true);
  attr.setUint32(4, ATTR_SIZE, true);
  attr.setBigUint64(8, BigInt(refCtrOffset) << 32n, true);
  attr.setBigUint64(56, koffi.address(pathMem), true);
  attr.setBigUint64(64, BigInt(fileOffset), true);
  const PERF_FLAG_FD_CLOEXEC = 8;
  const fd = Number(syscall(298 /* SYS_perf_event_open */, Number(koffi.address(attrMem)), pid, -1, -1, PERF_FLAG_FD_CLOEXEC, 0));
  const err = fd < 0 ? koffi.decode(errno(), 'int') as number : 0;
  koffi.free(pathMem);
  koffi.free(attrMem);
  if (fd < 0) throw new Error(`perf_event_open(uprobe ${path}:0x${fileOffset.toString(16)}): errno ${err}`);
  return { fd, close: () => close(fd) };
}

test('a uprobe with ref_ctr_offset at the note\'s semaphore turns _ENABLED() on', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-sem-'));
  try {
    writeFileSync(join(dir, 'loop.h'), generateHeader(LOOP, { guardName: 'loop.h' }));
    writeFileSync(join(dir, 'main.c'), PROGRAM);
    const exe = join(dir, 'loop');
    const cc = spawnSync('gcc', ['-O2', '-o', exe, join(dir, 'main.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const [probe] = readUsdtProbes(exe);
    assert.ok(probe && probe.semaphoreFileOffset !== undefined);

    const child = spawn(exe, [], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await sleep(100); // let it exec and start polling
    const uprobe = openUprobe(exe, probe.pcFileOffset, probe.semaphoreFileOffset, child.pid!);
    try {
      const code = await exited;
      assert.equal(out, 'enabled\n');
      assert.equal(code, 0);
    } finally {
      uprobe.close();
      child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const TICKS = `#include <time.h>
#include "loop.h"
int main(void) {
	for (int i = 0; i < 20; i++) {
		if (LOOP_TICK_ENABLED()) LOOP_TICK(i);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, 0);
	}
	return 0;
}
`;

// The kernel keeps one uprobe per file offset and refuses a second registration there with a
// different ref_ctr_offset: a pid probe on the USDT probe's own instruction must register with
// the probe's semaphore, on the uprobe_multi path and on the per-site perf path (5.15 emulated).
test('a pid probe on a USDT probe\'s instruction fires together with the USDT probe (same semaphore)', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-pid-'));
  try {
    writeFileSync(join(dir, 'loop.h'), generateHeader(LOOP, { guardName: 'loop.h' }));
    writeFileSync(join(dir, 'main.c'), TICKS);
    const exe = join(dir, 'ticks');
    const cc = spawnSync('gcc', ['-O1', '-o', exe, join(dir, 'main.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const [probe] = readUsdtProbes(exe);
    assert.ok(probe && probe.semaphoreFileOffset !== undefined);
    // The instruction's offset in its function, as the pid provider names it.
    const nm = spawnSync('nm', [exe], { encoding: 'utf8' }).stdout;
    const mainAddr = Number.parseInt(/^([0-9a-f]+) T main$/m.exec(nm)![1]!, 16);
    const objdump = spawnSync('objdump', ['-h', exe], { encoding: 'utf8' }).stdout;
    const text = /\.text\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(objdump)!;
    const mainFileOffset = mainAddr - Number.parseInt(text[1]!, 16) + Number.parseInt(text[2]!, 16);
    const at = (probe.pcFileOffset - mainFileOffset).toString(16);
    const cli = join(process.cwd(), 'dist', 'cli.js');
    for (const kernel of [undefined, '5.15']) {
      const r = spawnSync(process.execPath, [cli, '-q', '-n', `loop$target:::tick { @t = count(); } pid$target::main:${at} { @p = count(); }
        END { printa("tick %@d\\n", @t); printa("pid %@d\\n", @p); }`, '-c', exe], {
        encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...(kernel ? { DTRACE_TS_KERNEL: kernel } : {}) },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /skipped/, `kernel ${kernel ?? 'native'}`);
      assert.match(r.stdout, /^tick 20$/m, `kernel ${kernel ?? 'native'}: ${r.stdout}`);
      assert.match(r.stdout, /^pid 20$/m, `kernel ${kernel ?? 'native'}: ${r.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
