/**
 * @fileoverview More aggregations in one program than a BPF program may use maps (64): they
 * share maps by key and value size (codegen/agg-maps.ts), and every consumer path reads each
 * one as if it had its map alone — exit-time printing (text and JSON), printa(), clear(),
 * trunc(), normalize() and the library API's aggregations(). Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { run } from '../../src/index.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const N = 90;

function dtrace(args: string[], program: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args, '-n', program], { encoding: 'latin1', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The expected value of each aggregation of `mixedProgram`, by name, as the JSON output gives it. */
interface Expected { name: string; data: unknown[] }

/**
 * One BEGIN clause updating N aggregations of five kinds (keyed count and sum, keyless
 * quantize and count, keyed lquantize), each with values of its own so that an entry read
 * from another aggregation's part of a shared map shows.
 */
function mixedProgram(): { text: string; expected: Expected[] } {
  const lines: string[] = [];
  const expected: Expected[] = [];
  for (let i = 0; i < N; i++) {
    switch (i % 5) {
      case 0: {
        const hits = (i % 7) + 1;
        for (let h = 0; h < hits; h++) lines.push(`@c${i}[${i}, "k${i}"] = count();`);
        expected.push({ name: `c${i}`, data: [{ keys: [i, `k${i}`], count: hits }] });
        break;
      }
      case 1:
        lines.push(`@s${i}[${i}] = sum(${i * 1000});`, `@s${i}[${i + 1}] = sum(-${i});`, `@s${i}[${i}] = sum(1);`);
        expected.push({ name: `s${i}`, data: [{ keys: [i], sum: i * 1000 + 1 }, { keys: [i + 1], sum: -i }] });
        break;
      case 2: {
        const v = 1 << (i % 20);
        lines.push(`@q${i} = quantize(${v});`, `@q${i} = quantize(${v});`);
        expected.push({ name: `q${i}`, data: [{ keys: [], buckets: [{ value: v, count: 2 }] }] });
        break;
      }
      case 3:
        lines.push(`@k${i} = count();`);
        expected.push({ name: `k${i}`, data: [{ keys: [], count: 1 }] });
        break;
      default:
        lines.push(`@l${i}[${i}] = lquantize(${i % 10}, 0, 10, 1);`);
        expected.push({ name: `l${i}`, data: [{ keys: [i], buckets: [{ value: i % 10, count: 1 }] }] });
    }
  }
  return { text: `BEGIN { ${lines.join(' ')} exit(0); }`, expected };
}

/** The entries in key order, with only the buckets that hold something (the JSON output lists the zero ones around them too). */
function nonZeroBuckets(data: { keys: unknown[]; buckets?: { value: number; count: number }[] }[]): unknown[] {
  return [...data].sort((x, y) => JSON.stringify(x.keys).localeCompare(JSON.stringify(y.keys)))
    .map((d) => (d.buckets ? { ...d, buckets: d.buckets.filter((b) => b.count !== 0) } : d));
}

test(`${N} aggregations in one program: each read back with every value (JSON at exit)`, { skip }, () => {
  const { text, expected } = mixedProgram();
  const r = dtrace(['-q', '-x', 'oformat=json'], text);
  assert.equal(r.status, 0, r.stderr);
  const aggs = r.stdout.split('\n').filter((l) => l.startsWith('{"aggregation-name"')).map((l) => JSON.parse(l) as { 'aggregation-name': string; 'aggregation-data': { keys: unknown[]; buckets?: { value: number; count: number }[] }[] });
  assert.equal(aggs.length, N);
  assert.deepEqual(aggs.map((a) => ({ name: a['aggregation-name'], data: nonZeroBuckets(a['aggregation-data']) })), expected);
});

test(`${N} aggregations in one program: the text printed at exit has every entry`, { skip }, () => {
  const { text, expected } = mixedProgram();
  const r = dtrace(['-q'], text);
  assert.equal(r.status, 0, r.stderr);
  // A keyed count prints "key key value", a keyed sum one line per key.
  for (const e of expected.filter((x) => x.name.startsWith('c'))) {
    const d = e.data[0] as { keys: [number, string]; count: number };
    assert.match(r.stdout, new RegExp(`\\n +${d.keys[0]}  ${d.keys[1]} +${d.count}\\n`), e.name);
  }
  for (const e of expected.filter((x) => x.name.startsWith('s'))) {
    for (const d of e.data as { keys: [number]; sum: number }[]) assert.match(r.stdout, new RegExp(`\\n +${d.keys[0]} +${d.sum}\\n`), `${e.name}[${d.keys[0]}]`);
  }
});

test('clear(), trunc() and normalize() of aggregations in shared maps change only those aggregations', { skip }, () => {
  // 70 keyed sums share one map: @a0 cleared, @a1 truncated to its top entry, @a2 normalized;
  // @a3 and the rest keep their values.
  const updates = Array.from({ length: 70 }, (_, i) => `@a${i}[1] = sum(${10 * i + 1}); @a${i}[2] = sum(${10 * i + 2});`).join(' ');
  const r = dtrace(['-q'], `BEGIN { ${updates} clear(@a0); trunc(@a1, 1); normalize(@a2, 2); ` +
    'printa("a0 %d %@d\\n", @a0); printa("a1 %d %@d\\n", @a1); printa("a2 %d %@d\\n", @a2); printa("a3 %d %@d\\n", @a3); ' +
    'trunc(@a4); printa("a4 %d %@d\\n", @a4); printa("a69 %d %@d\\n", @a69); exit(0); }');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^a\d+ /.test(l));
  assert.deepEqual(lines, ['a0 1 0', 'a0 2 0', 'a1 2 12', 'a2 1 10', 'a2 2 11', 'a3 1 31', 'a3 2 32', 'a69 1 691', 'a69 2 692']);
});

test('the library API reads aggregations in shared maps', { skip }, async () => {
  const updates = Array.from({ length: 70 }, (_, i) => `@a${i}[${i}] = count(); @h${i} = sum(${i});`).join(' ');
  const session = run(`BEGIN { ${updates} exit(0); }`);
  for await (const e of session) void e;
  await session.done;
  const entries = session.aggregations();
  assert.equal(entries.length, 140);
  for (let i = 0; i < 70; i++) {
    assert.deepEqual(entries.find((e) => e.name === `a${i}`), { name: `a${i}`, keys: [i], value: 1n }, `a${i}`);
    assert.deepEqual(entries.find((e) => e.name === `h${i}`), { name: `h${i}`, keys: [], value: BigInt(i) }, `h${i}`);
  }
});
