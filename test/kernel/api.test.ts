/**
 * @fileoverview The library API as a user of the package sees it: a TypeScript file importing
 * 'dtrace-ts' type-checks against the shipped declarations (dist/types), and, as root, the
 * ESM and CommonJS entries run a program for a -c workload: one event per traced call, with
 * D's int 7 as the number 7 and the CLI's text, then @[execname] = count() read from
 * aggregations() once the run is over. Also: compile() reports diagnostics as data, needs no
 * kernel, and stop() ends a run that would not end by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';

const root = repoRoot();
const built = existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'index.mjs')) && existsSync(join(root, 'dist', 'types', 'index.d.ts'));
const skipBuild = built ? false : 'dist/index.{js,mjs} and dist/types not built';
const skipRoot = skipBuild || (process.getuid?.() !== 0 ? 'needs root to load BPF programs' : false);
const CALLS = 25;

/** A directory where `dtrace-ts` resolves to this checkout, as an installed dependency would. */
function consumerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-api-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'dtrace-ts'), 'dir');
  return dir;
}

/** The consumer program, as a user would write it (TypeScript; also run as JS once types are stripped). */
function consumerSource(workload: string, flavor: 'ts' | 'esm' | 'cjs'): string {
  const imp = flavor === 'cjs' ? `const { run, compile } = require('dtrace-ts');` : `import { run, compile${flavor === 'ts' ? ', type TraceEvent, type AggregationEntry' : ''} } from 'dtrace-ts';`;
  const t = (s: string) => (flavor === 'ts' ? s : '');
  return `${imp}
async function main()${t(': Promise<void>')} {
  const bad = compile('BEGIN { trace(nosuchvar + ); }');
  if (bad.ok) throw new Error('a syntax error compiled');
  const session = run('syscall::getpid:entry /pid == $target/ { printf("%d", 7); } syscall::getpid:entry /pid == $target/ { @[execname] = count(); }', { command: ${JSON.stringify(`${workload} ${CALLS}`)} });
  const events${t(': TraceEvent[]')} = [];
  for await (const e of session) events.push(e);
  const aggs${t(': AggregationEntry[]')} = session.aggregations();
  const status${t(': number')} = await session.done;
  process.stdout.write(JSON.stringify({
    diagnostic: bad.message,
    count: events.length,
    sevens: events.filter((e) => e.data[0] === 7).length,
    dataType: typeof events[0]?.data[0],
    probe: events[0]?.probe,
    text: events[0]?.text,
    aggs: aggs.map((a) => ({ name: a.name, keys: a.keys, value: String(a.value), valueType: typeof a.value })),
    status, exitStatus: session.exitStatus,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;
}

/** The TypeScript example of README's "Library API" section. */
function readmeExample(): string {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /## Library API[\s\S]*?```ts\n([\s\S]*?)```/.exec(text);
  assert.ok(m, 'README has no Library API example');
  return m[1]!;
}

test('a TypeScript consumer type-checks against the shipped declarations', { skip: skipBuild }, () => {
  const dir = consumerDir();
  try {
    writeFileSync(join(dir, 'consumer.ts'), consumerSource('/bin/true', 'ts'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] }, files: ['consumer.ts'] }));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
    // A wrong use is caught: the declarations are real, not `any`.
    writeFileSync(join(dir, 'consumer.ts'), `import { run } from 'dtrace-ts';\nconst n: string = run('BEGIN { exit(0); }').exitStatus;\n`);
    const wrong = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(wrong.status, 0, 'assigning exitStatus (number | undefined) to a string type-checked');
    assert.match(wrong.stdout, /consumer\.ts/);
    // README's example type-checks as it is written there.
    writeFileSync(join(dir, 'consumer.ts'), readmeExample());
    const readme = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(readme.status, 0, `README example: ${readme.stdout}${readme.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const flavor of ['esm', 'cjs'] as const) {
  test(`the ${flavor === 'esm' ? 'ESM' : 'CommonJS'} entry traces a -c workload: events, data, text, aggregations`, { skip: skipRoot }, () => {
    const workload = buildWorkload('getpid_loop');
    const dir = consumerDir();
    try {
      const file = join(dir, flavor === 'esm' ? 'consumer.mjs' : 'consumer.cjs');
      writeFileSync(file, consumerSource(workload, flavor));
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `consumer failed: ${r.stderr}`);
      const got = JSON.parse(r.stdout) as {
        diagnostic: string; count: number; sevens: number; dataType: string; probe: { provider: string; function: string; name: string };
        text: string; aggs: { name: string; keys: string[]; value: string; valueType: string }[]; status: number; exitStatus: number;
      };
      assert.match(got.diagnostic, /^dtrace: failed to compile script program: line 1: syntax error/);
      assert.equal(got.count, CALLS, 'one event per getpid call of the target');
      assert.equal(got.sevens, CALLS, "every event's data[0] is the number 7");
      assert.equal(got.dataType, 'number');
      assert.equal(got.probe.provider, 'syscall');
      assert.equal(got.probe.function, 'getpid');
      assert.equal(got.probe.name, 'entry');
      assert.match(got.text, /^\s+\d+\s+\d+\s+getpid:entry 7\n$/, 'the text the CLI prints for the record');
      assert.deepEqual(got.aggs, [{ name: '', keys: ['getpid_loop'], value: String(CALLS), valueType: 'bigint' }]);
      assert.equal(got.status, 0);
      assert.equal(got.exitStatus, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('README\'s example runs as written (ESM, as root)', { skip: skipRoot }, () => {
  const dir = consumerDir();
  try {
    writeFileSync(join(dir, 'example.mjs'), readmeExample());
    const r = spawnSync(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^exit status 0 \[\]$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stop() ends a run that would not end by itself, and aggregations() keeps the final values', { skip: skipRoot }, async () => {
  const { run } = await import(join(root, 'dist', 'index.mjs')) as typeof import('../../src/index.js');
  const session = run('profile:::tick-10ms { @ticks = count(); }');
  setTimeout(() => session.stop(), 300);
  let events = 0;
  for await (const e of session) { void e; events++; }
  assert.equal(events, 0, 'a clause that only aggregates prints no record');
  assert.equal(await session.done, 0);
  const aggs = session.aggregations();
  assert.equal(aggs.length, 1);
  assert.equal(aggs[0]!.name, 'ticks');
  assert.ok(typeof aggs[0]!.value === 'bigint' && aggs[0]!.value > 0n, `ticks counted: ${String(aggs[0]!.value)}`);
});

test('each event\'s cpu is the CPU its probe fired on (a workload pinned with taskset)', { skip: skipRoot || (cpus().length < 2 ? 'needs two CPUs' : false) }, async () => {
  const { run } = await import(join(root, 'dist', 'index.mjs')) as typeof import('../../src/index.js');
  const loop = buildWorkload('getpid_loop');
  for (const pinned of [1, 0]) {
    const session = run('syscall::getpid:entry /pid == $target/ { trace(1); }', { command: `taskset -c ${pinned} ${loop} 10` });
    const seen: number[] = [];
    for await (const e of session) seen.push(e.cpu);
    assert.equal(await session.done, 0);
    assert.equal(seen.length, 10);
    assert.deepEqual(new Set(seen), new Set([pinned]));
  }
});

test('compile() runs the C preprocessor as -C does (cpp: true, -D/-U/-I arguments, or the option cpp)', { skip: skipRoot || (spawnSync('cpp', ['--version']).status !== 0 ? 'no cpp' : false) }, async () => {
  const { compile } = await import(join(root, 'dist', 'index.mjs')) as typeof import('../../src/index.js');
  const text = '#define N 3\n#ifdef EXTRA\nBEGIN { exit(N + EXTRA); }\n#else\nBEGIN { exit(N); }\n#endif\n';
  assert.ok(!compile(text).ok, 'without the preprocessor #define is not D');
  assert.ok(compile(text, { cpp: true }).ok);
  assert.ok(compile(text, { options: { cpp: true } }).ok);
  const withDefine = compile(text, { cpp: { defines: ['EXTRA=4'] } });
  assert.ok(withDefine.ok && withDefine.listing().includes('exit(3 + 4)'), 'the listing shows the preprocessed clause, -D applied');
  const failing = compile('#if\nBEGIN { }\n', { cpp: true });
  assert.ok(!failing.ok);
  assert.match(failing.message, /Preprocessor failed to process input program/);
});
