/**
 * @fileoverview sys.ts without root: koffi loads lazily (importing the BPF modules costs no FFI
 * start-up), native memory round-trips, and failures become SysErrors with errno names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { allocNative, closeFd, freeNative, nativeCString, pageSize, setU64, viewNative, mmap, munmap, sysError } from './sys.js';
import { SysError } from './errors.js';
import { Mmap } from './uapi.js';

test('importing the BPF modules does not load koffi', () => {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const script = `
    import { createRequire } from 'node:module';
    const mods = ['sys', 'map', 'program', 'link', 'perf', 'ringbuf', 'features', 'tracefs', 'uapi', 'errors'];
    for (const m of mods) await import(${JSON.stringify(dir)} + m + '.js');
    const require = createRequire(import.meta.url);
    const { readFileSync } = await import('node:fs');
    const entryLoaded = () => Object.keys(require.cache).some((k) => k.includes('/koffi/'));
    const nativeLoaded = () => readFileSync('/proc/self/maps', 'latin1').includes('koffi.node');
    const loaded = entryLoaded() || nativeLoaded();
    const sys = await import(${JSON.stringify(dir)} + 'sys.js');
    sys.allocNative(8);
    console.log(JSON.stringify({ loaded, after: nativeLoaded(), entry: entryLoaded() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  // Once needed, koffi's native module is loaded without koffi's JavaScript entry (~15 ms of
  // start-up): this checkout has the glibc prebuilt next to koffi, as npm installs it.
  assert.deepEqual(JSON.parse(r.stdout), { loaded: false, after: true, entry: false });
});

test('native memory is zeroed and addressable', () => {
  const m = allocNative(64);
  try {
    assert.ok(m.address > 0);
    assert.ok(m.bytes.every((b) => b === 0));
    setU64(m.view, 8, 0x1_2345_6789n);
    setU64(m.view, 16, 2 ** 40 + 5);
    setU64(m.view, 24, -1n);
    assert.equal(m.view.getBigUint64(8, true), 0x1_2345_6789n);
    assert.equal(m.view.getBigUint64(16, true), 2n ** 40n + 5n);
    assert.equal(m.view.getBigUint64(24, true), 0xffff_ffff_ffff_ffffn);
    // The same memory seen through its address.
    const again = new Uint8Array(viewNative(m.address, 64));
    assert.equal(again[8], 0x89);
  } finally {
    freeNative(m);
    freeNative(m); // idempotent
  }
  const s = nativeCString('héllo');
  assert.deepEqual([...s.bytes], [0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0]);
  freeNative(s);
});

test('mmap and munmap anonymous memory', () => {
  const size = pageSize() * 2;
  assert.ok(pageSize() >= 4096);
  const address = mmap(size, Mmap.PROT_READ | Mmap.PROT_WRITE, Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS, -1, 0, 'map scratch memory');
  const bytes = new Uint8Array(viewNative(address, size));
  bytes[size - 1] = 42;
  assert.equal(bytes[size - 1], 42);
  munmap(address, size);
});

test('failures are SysErrors naming the attempt', () => {
  assert.throws(() => mmap(4096, Mmap.PROT_READ, Mmap.MAP_SHARED, 12345, 0, 'map ring buffer x'),
    (e: unknown) => e instanceof SysError && e.op === 'mmap' && e.code === 'EBADF' && e.errno === 9 && e.message === 'map ring buffer x: mmap: EBADF');
  assert.equal(closeFd(987654), false);
  assert.equal(sysError('perf_event_open', 13, 'attach syscall::openat:entry').message, 'attach syscall::openat:entry: perf_event_open: EACCES');
});
