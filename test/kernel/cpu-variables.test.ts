/**
 * @fileoverview The CPU variables and the stack layout option against the running system:
 * `chip` (the CPU's physical package), `lgrp` (its NUMA node) and `pset` (0: Linux has no
 * processor sets) on every online CPU — each one traced alone with -x cpu=N — compared with
 * /sys/devices/system/cpu; `stackindent` (the blanks before each stack frame: 14 by default,
 * the option's value, and setopt()'s at run time). Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const SYS_CPU = '/sys/devices/system/cpu';

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, '-q', ...args], { encoding: 'latin1', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Online CPU ids, from /sys (a list like 0-3,6). */
function onlineCpus(): number[] {
  const out: number[] = [];
  for (const range of readFileSync(join(SYS_CPU, 'online'), 'utf8').trim().split(',')) {
    const [lo, hi] = range.split('-').map(Number);
    for (let c = lo!; c <= (hi ?? lo!); c++) out.push(c);
  }
  return out;
}

test('chip, lgrp and pset on each CPU are its package, its NUMA node and 0, as /sys says', { skip }, () => {
  for (const c of onlineCpus()) {
    const pkg = Math.max(0, Number(readFileSync(join(SYS_CPU, `cpu${c}`, 'topology', 'physical_package_id'), 'utf8').trim()));
    const nodeLink = readdirSync(join(SYS_CPU, `cpu${c}`)).find((f) => /^node\d+$/.test(f));
    const node = nodeLink ? Number(nodeLink.slice(4)) : 0;
    const r = run(['-x', `cpu=${c}`, '-n', 'profile-997 { printf("%d %d %d %d\\n", cpu, chip, lgrp, pset); exit(0); }']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${c} ${pkg} ${node} 0`, `cpu ${c}`);
  }
});

/** The blanks before each frame line of the stacks in `out` (not an aggregation's count line). */
function frameIndents(out: string): number[] {
  return out.split('\n').filter((l) => /\S/.test(l) && !/^\s+\d+$/.test(l)).map((l) => l.length - l.trimStart().length);
}

test('stackindent sets the blanks before each stack frame, from the command line and from setopt()', { skip }, () => {
  const dflt = run(['-n', 'syscall:::entry /pid == $pid/ { stack(3); exit(0); }']);
  assert.equal(dflt.status, 0, dflt.stderr);
  const d = frameIndents(dflt.stdout);
  assert.ok(d.length > 0, dflt.stdout);
  assert.ok(d.every((n) => n === 14), dflt.stdout);
  const three = run(['-x', 'stackindent=3', '-n', 'syscall:::entry /pid == $pid/ { stack(3); @[stack(3)] = count(); exit(0); }']);
  assert.equal(three.status, 0, three.stderr);
  const t = frameIndents(three.stdout);
  assert.ok(t.length >= 2, three.stdout);
  assert.ok(t.every((n) => n === 3), three.stdout);
  const later = run(['-n', 'syscall:::entry /pid == $pid && n == 0/ { printf("first"); stack(3); setopt("stackindent", "6"); n++; } syscall:::entry /pid == $pid && n == 1/ { printf("then"); stack(3); exit(0); }']);
  assert.equal(later.status, 0, later.stderr);
  const [before, after] = later.stdout.split('then');
  assert.ok(frameIndents(before!.replace('first', '')).every((n) => n === 14) && frameIndents(after!).every((n) => n === 6), later.stdout);
  assert.ok(frameIndents(after!).length > 0, later.stdout);
});
