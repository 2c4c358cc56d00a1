/**
 * @fileoverview Compiles the CO-RE test programs (test/core/*.bpf.c) with Debian's clang
 * (`-target bpf -g -O2`) against our own vmlinux.h (`dtrace btf dump` of the running kernel's
 * BTF) into build/core-objects/. Objects and header are reused while newer than their source,
 * so `npm run test:vm` (which runs prepare.js on the host first) hands the guest the very
 * objects compiled here against the host kernel's header: the point of CO-RE.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { dumpC } from '../../src/bpf/btf/cdump.js';
import { loadKernelBtf } from '../../src/bpf/btf/index.js';
import { readUsdtProbes } from '../../src/bpf/elf/stapsdt.js';
import { repoRoot } from '../helpers/workloads.js';

export function coreObjectsDir(): string {
  return join(repoRoot(), 'build', 'core-objects');
}

/** Why the objects cannot be built here, or false. */
export function cannotCompile(): string | false {
  if (spawnSync('clang', ['--version']).status !== 0) return 'clang is not installed (scripts/ci-setup.sh installs it)';
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf headers are not installed (libbpf-dev; scripts/ci-setup.sh installs it)';
  return false;
}

/** build/core-objects/vmlinux.h (kept once made) and the kernel release it came from. */
export function vmlinuxHeader(): { dir: string; kernel: string } {
  const dir = coreObjectsDir();
  const header = join(dir, 'vmlinux.h');
  const stamp = join(dir, 'vmlinux.h.kernel');
  if (!existsSync(header) || !existsSync(stamp)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${header}.tmp-${process.pid}`, dumpC(loadKernelBtf()));
    renameSync(`${header}.tmp-${process.pid}`, header);
    writeFileSync(stamp, release());
  }
  return { dir, kernel: readFileSync(stamp, 'utf8').trim() };
}

/** Compiles test/core/<source>.bpf.c (with -D defines) unless up to date; returns the object's path. */
export function coreObject(source: string, defines: readonly string[] = []): string {
  const { dir } = vmlinuxHeader();
  const src = join(repoRoot(), 'test', 'core', `${source}.bpf.c`);
  const name = [source, ...defines.map((d) => d.toLowerCase().replace(/[^a-z0-9_.]+/g, '_'))].join('-');
  const out = join(dir, `${name}.o`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  const tmp = `${out}.tmp-${process.pid}`;
  // -idirafter: <bpf/usdt.bpf.h> includes <linux/errno.h>, whose <asm/errno.h> lives under the multiarch directory.
  const r = spawnSync('clang', ['-target', 'bpf', '-g', '-O2', '-D__TARGET_ARCH_x86', ...defines.map((d) => `-D${d}`), `-I${dir}`,
    '-idirafter', '/usr/include/x86_64-linux-gnu', '-c', src, '-o', tmp], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clang could not compile ${src}:\n${r.stderr}`);
  renameSync(tmp, out);
  return out;
}

/** A python3.11 carrying the `python` USDT provider's notes (Debian's is built --with-dtrace), or undefined. */
export function usdtPython(): string | undefined {
  for (const p of ['/usr/bin/python3.11', '/usr/local/bin/python3.11']) {
    try {
      if (existsSync(p) && readUsdtProbes(p).some((u) => u.provider === 'python' && u.noteName === 'function__entry')) return p;
    } catch {
      // not an ELF file (a shim): try the next
    }
  }
  return undefined;
}

/** Every object the kernel tests use. */
export const CORE_OBJECTS: readonly [string, readonly string[]][] = [
  ['getpid_parent', []], ['core_missing', []], ['core_missing', ['GUARDED']], ['core_features', []], ['tailcall_ringbuf', []],
  ['attach_kinds', []], ['perf_output', []],
  ...(usdtPython() ? [['usdt_python', [`PYTHON="${usdtPython()}"`]] as [string, string[]]] : []),
];
