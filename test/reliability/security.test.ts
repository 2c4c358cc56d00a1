/**
 * @fileoverview What another local user could use to steer the root tracer (docs/SECURITY.md):
 * the V8 code cache beside the bundle is used only when no one else can write it or its
 * directory, and rewritten through a fresh file; `-o` onto a symlink appends to its target as
 * DTrace's fopen(3) does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, cpSync, symlinkSync, statSync, chmodSync, existsSync, rmSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot } from '../helpers/workloads.js';

const root = repoRoot();
const skip = process.getuid?.() === 0 ? false : 'needs root (dtrace refuses to run otherwise)';

/** A private copy of dist/ (with node_modules beside it), so its cache can be tampered with. */
function privateInstall(): { dir: string; cli: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-sec-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  for (const name of readdirSync(join(dir, 'dist'))) if (name.includes('.cache')) rmSync(join(dir, 'dist', name), { force: true });
  return { dir, cli: join(dir, 'dist', 'cli.js'), cache: join(dir, 'dist', 'cli-main.cjs.cache') };
}
function run(cli: string, args = ['-q', '-n', 'BEGIN { exit(0); }']): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
}

test('a code cache others could write is not used: it is replaced by a fresh private file', { skip }, () => {
  const { dir, cli, cache } = privateInstall();
  try {
    run(cli);
    assert.ok(existsSync(cache), 'the first run writes the cache');
    assert.equal(statSync(cache).mode & 0o022, 0);
    const trustedIno = statSync(cache).ino;
    run(cli);
    assert.equal(statSync(cache).ino, trustedIno, 'a private, valid cache is used as it is');
    chmodSync(cache, 0o666);
    run(cli);
    const after = statSync(cache);
    assert.notEqual(after.ino, trustedIno, 'a world-writable cache was read');
    assert.equal(after.mode & 0o022, 0);
    // The same for the cache of a chunk loaded on first use (-l's).
    run(cli, ['-l', '-n', 'BEGIN']);
    const chunkCaches = readdirSync(join(dir, 'dist')).filter((n) => /^cli-[A-Z0-9]+\.cjs\.cache$/.test(n));
    assert.ok(chunkCaches.length > 0, 'the -l run wrote no chunk cache');
    const chunkCache = join(dir, 'dist', chunkCaches[0]!);
    const chunkIno = statSync(chunkCache).ino;
    chmodSync(chunkCache, 0o666);
    run(cli, ['-l', '-n', 'BEGIN']);
    assert.notEqual(statSync(chunkCache).ino, chunkIno, 'a world-writable chunk cache was read');
    assert.equal(statSync(chunkCache).mode & 0o022, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('in a directory others can write, no code cache is read or written', { skip }, () => {
  const { dir, cli, cache } = privateInstall();
  try {
    chmodSync(join(dir, 'dist'), 0o777);
    run(cli);
    assert.equal(existsSync(cache), false);
    // Nor that of a chunk loaded on first use (-l's).
    run(cli, ['-l', '-n', 'BEGIN']);
    assert.deepEqual(readdirSync(join(dir, 'dist')).filter((n) => n.includes('.cache')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-o onto a symlink appends to its target, as DTrace\'s fopen(path, "a") does', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-sec-'));
  try {
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'kept\n');
    symlinkSync(target, join(dir, 'link.txt'));
    const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), '-q', '-o', join(dir, 'link.txt'), '-n', 'BEGIN { printf("added"); exit(0); }'], { encoding: 'latin1', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(target, 'latin1'), 'kept\nadded\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
