/**
 * @fileoverview Register pressure: generated programs (test/helpers/register-pressure.ts) whose
 * expressions need more than the three expression registers — nested ternaries over
 * translator members, string functions, lookups, printf with many such arguments, multi-key
 * aggregations of histograms — compile, load (the verifier accepts them) and compute what the
 * model of each expression says, natively and as on Linux 5.15. Needs root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/workloads.js';
import { ExprGen, LEAF_SETUP, aggCase, aggStatements, leafLine, parseLeafLine, rng, type Expr, type LeafValues } from '../helpers/register-pressure.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';
const KERNELS: (string | undefined)[] = [undefined, '5.15'];
const MAX_DEPTH = 5;

const dir = mkdtempSync(join(tmpdir(), 'regpress-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Runs a script from a file (a short pr_psargs), stdin /dev/null (fds[0]). */
function run(body: string, kernel: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const file = join(dir, 'p.d');
  writeFileSync(file, `BEGIN { ${body} exit(0); }\n`);
  const env = { ...process.env };
  if (kernel) env.DTRACE_TS_KERNEL = kernel; else delete env.DTRACE_TS_KERNEL;
  const r = spawnSync(process.execPath, [cli, '-q', '-s', file], { encoding: 'latin1', timeout: 120_000, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sampleLeaves(kernel: string | undefined): LeafValues {
  const r = run(`${LEAF_SETUP} ${leafLine()}`, kernel);
  assert.equal(r.status, 0, r.stderr);
  return parseLeafLine(r.stdout.split('\n')[0]!);
}

/** printf of several generated arguments; returns the statement and the line it must print. */
function printfCase(args: (Expr<number> | Expr<string>)[], sample: LeafValues): { stmt: string; expect: (v: LeafValues) => string } {
  const fmt = args.map((a) => (typeof a.eval(sample) === 'number' ? '%d' : '[%s]')).join(' ');
  return {
    stmt: `printf("${fmt}\\n", ${args.map((a) => a.d).join(', ')});`,
    expect: (v) => args.map((a) => { const x = a.eval(v); return typeof x === 'number' ? String(x) : `[${x}]`; }).join(' '),
  };
}

/** The text between `==name` and the next marker line. */
function section(out: string, name: string): string {
  const lines = out.split('\n');
  const at = lines.indexOf(`==${name}`);
  if (at < 0) return `<no section ${name}>`;
  const end = lines.findIndex((l, i) => i > at && l.startsWith('=='));
  return lines.slice(at + 1, end < 0 ? undefined : end).join('\n');
}

for (const kernel of KERNELS) {
  const label = kernel ? `as on ${kernel}` : 'native';
  test(`generated expressions of growing depth compile, load and compute their model's values (${label})`, { skip, timeout: 600_000 }, () => {
    const sample = sampleLeaves(kernel);
    for (let depth = 1; depth <= MAX_DEPTH; depth++) {
      for (const seed of [depth * 101, depth * 101 + 1]) {
        const random = rng(seed);
        const g = new ExprGen(random, sample, 1);
        const printfs = [printfCase([g.int(depth), g.str(depth), g.int(depth), g.int(depth)], sample)];
        // Stores whose target needs registers too: an element keyed by generated keys, its old
        // value after ++, and an assignment's value.
        const [k1, k2, v1, v2] = [g.str(depth), g.int(depth), g.int(depth), g.int(depth)];
        const el = `b[${k1.d}, ${k2.d}]`;
        printfs.push({
          stmt: `${el} = ${v1.d}; printf("%d %d %d\\n", ${el}++, ${el}, this->w = ${v2.d});`,
          expect: (v) => `${v1.eval(v)} ${v1.eval(v) + 1} ${v2.eval(v)}`,
        });
        const aggs = [aggStatements(aggCase(g, random, depth), 0)];
        const body = `${LEAF_SETUP} ${leafLine(g.used)} ${printfs.map((p) => p.stmt).join(' ')} ${aggs.map((a) => a.stmts).join(' ')} ` +
          `${aggs.map((a) => a.printa).join(' ')} printf("==end\\n");`;
        const r = run(body, kernel);
        const where = `depth ${depth}, seed ${seed}, ${label}:\n${body}`;
        assert.equal(r.status, 0, `${where}\n${r.stderr}`);
        const lines = r.stdout.split('\n');
        const leaves = parseLeafLine(lines[0]!, g.used);
        printfs.forEach((p, i) => assert.equal(lines[1 + i], p.expect(leaves), `printf ${i}, ${where}`));
        aggs.forEach((_, n) => {
          const got = section(r.stdout, `g${n}`);
          assert.ok(got.trim().length > 0, `aggregation ${n} printed nothing, ${where}`);
          assert.equal(got, section(r.stdout, `r${n}`), `aggregation ${n}, ${where}`);
        });
      }
    }
  });
}

test('the book\'s bitesize.d: a quantize() keyed by curpsinfo->pr_psargs compiles and loads', { skip }, () => {
  for (const kernel of KERNELS) {
    const r = run('@Size[curpsinfo->pr_psargs] = quantize(1000); @N[curpsinfo->pr_psargs, execname] = lquantize(7, 0, 10, 1); printa(@Size); printa(@N);', kernel);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, / +512 \|@+ +1 *\n +1024 \| +0 *\n[^]* +7 \|@+ +1 *\n/, r.stdout);
  }
});
