/**
 * @fileoverview Builds the C test workloads (test/workloads/<name>.c) on demand.
 *
 * Tests and benchmarks need real processes to trace (a getpid loop, a malloc loop, ...). The
 * sources live in test/workloads/; binaries go to test/workloads/bin/ (gitignored) and are
 * rebuilt only when the source is newer than the binary, so a test run compiles each one at
 * most once. The compile writes to a temporary name and renames it into place, so parallel
 * test processes never run a half-written binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths already checked in this process: name -> binary path. */
const builtThisProcess = new Map<string, string>();

/**
 * The repository root: the first directory above this file holding package.json and
 * test/workloads/. Found by walking up because this module runs both as test/helpers/*.ts
 * (type checking) and as build/test/helpers/*.js (tests).
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'workloads'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('workloads: cannot find the repository root (no test/workloads above this file)');
    dir = parent;
  }
}

/** Directory of the workload sources. */
export function workloadsDir(): string {
  return join(repoRoot(), 'test', 'workloads');
}

/**
 * Compiles test/workloads/<name>.c with `gcc -O2` into test/workloads/bin/<name> unless that
 * binary is newer than the source, and returns the binary's absolute path.
 * Throws with gcc's messages when the source is missing or does not compile.
 */
export function buildWorkload(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`workloads: bad workload name '${name}'`);
  const cached = builtThisProcess.get(name);
  if (cached !== undefined) return cached;
  const sourcePath = join(workloadsDir(), `${name}.c`);
  if (!existsSync(sourcePath)) throw new Error(`workloads: no such workload source ${sourcePath}`);
  const binDir = join(workloadsDir(), 'bin');
  const binaryPath = resolve(binDir, name);
  if (!isUpToDate(binaryPath, sourcePath)) {
    mkdirSync(binDir, { recursive: true });
    const tempPath = `${binaryPath}.tmp-${process.pid}`;
    try {
      // -g keeps symbols and line info for the pid provider and stack tests; -O2 as the
      // benchmarks expect. -fno-omit-frame-pointer gives usable user stacks.
      execFileSync('gcc', ['-O2', '-g', '-fno-omit-frame-pointer', '-Wall', '-o', tempPath, sourcePath], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      renameSync(tempPath, binaryPath);
    } catch (error) {
      rmSync(tempPath, { force: true });
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`workloads: gcc failed for ${sourcePath}: ${stderr || (error as Error).message}`);
    }
  }
  builtThisProcess.set(name, binaryPath);
  return binaryPath;
}

function isUpToDate(binaryPath: string, sourcePath: string): boolean {
  if (!existsSync(binaryPath)) return false;
  return statSync(binaryPath).mtimeMs >= statSync(sourcePath).mtimeMs;
}

/** Why a test that runs dist/cli.js on a compiled workload with uprobes cannot run here, or false. */
export function uprobeWorkloadSkip(cli: string): string | false {
  return process.getuid?.() !== 0 ? 'needs root to load BPF programs'
    : spawnSync('gcc', ['--version']).status !== 0 ? 'gcc not installed'
    : !existsSync('/sys/bus/event_source/devices/uprobe/type') ? 'no uprobe PMU'
    : !existsSync(cli) ? 'dist/cli.js not built (node scripts/build.mjs)' : false;
}
