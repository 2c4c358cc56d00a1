/**
 * @fileoverview Golden tests for src/consume/format: every test/golden/format/NAME.json is a
 * small case (values + format/options; most transcribed from an Oracle conformance test named
 * in its "source" field) and NAME.out holds the exact expected bytes (for corpus cases, cut
 * from Oracle's .r file). `UPDATE_GOLDEN=1` rewrites the .out files from the current output.
 *
 * JSON encodings: integers are numbers or decimal strings (for 64-bit values).
 *   Value:    {"i32": -1} {"u8": 255} {"i64": "-1"} {"u64": "…"} (i8 i16 u16 u32 too),
 *             {"str": "…"}, {"bytes": "hexdigits"}, {"stack": ["frame", …]}, {"sym": "text"},
 *             {"float": 1.5}
 *   Agg:      {"id", "name", "fn", "params"?, "normalize"?, "entries": [{"keys": [Value…],
 *             "samples": [x | [x, incr], …]}]}  — the runner applies the aggregating function
 *             to the samples (so bucket placement is tested too), or "value" gives it directly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPrintf } from '../src/consume/format/printf.js';
import { formatPrinta } from '../src/consume/format/printa.js';
import { formatAggregation, formatAggregations, truncEntries, clearEntries } from '../src/consume/format/aggregate.js';
import { formatTrace, formatTracemem } from '../src/consume/format/trace.js';
import { formatStack } from '../src/consume/format/stack.js';
import { formatError, formatDrop, type Fault, type DropKind } from '../src/consume/format/messages.js';
import { formatHeader, formatRecordPrefix, formatRecordEnd, flowStep, newFlowState, type FramingMode, type ProbeInfo } from '../src/consume/format/framing.js';
import { quantizeBucketOf, llquantizeBinOf, lquantizeLevels, llquantizeLayout } from '../src/consume/format/histogram.js';
import { type AggDesc, type AggParams, type AggSnapshot, type AggValue, type AggEntry, type Value, intValue } from '../src/consume/format/values.js';

const here = dirname(fileURLToPath(import.meta.url));
// The test runs from build/test/; the golden files stay in the source tree.
const goldenDir = [join(here, 'golden', 'format'), join(here, '..', '..', 'test', 'golden', 'format')]
  .find((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json'))) ?? join(here, 'golden', 'format');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const big = (x: Json | undefined): bigint => BigInt(typeof x === 'string' || typeof x === 'number' ? x : 0);

export function decodeValue(j: Json): Value {
  const o = j as Obj;
  const ints: Record<string, [1 | 2 | 4 | 8, boolean]> = {
    i8: [1, true], i16: [2, true], i32: [4, true], i64: [8, true],
    u8: [1, false], u16: [2, false], u32: [4, false], u64: [8, false],
  };
  for (const [k, [size, signed]] of Object.entries(ints)) if (k in o) return intValue(big(o[k]), size, signed);
  if ('str' in o) return { kind: 'string', value: String(o['str']) };
  if ('bytes' in o) return { kind: 'bytes', bytes: Uint8Array.from(Buffer.from(String(o['bytes']), 'hex')) };
  if ('stack' in o) return { kind: 'stack', frames: (o['stack'] as Json[]).map(String) };
  if ('sym' in o) return { kind: 'symbol', text: String(o['sym']) };
  if ('float' in o) return { kind: 'float', value: Number(o['float']), sizeBytes: 8 };
  throw new Error(`bad value ${JSON.stringify(j)}`);
}

function decodeParams(j: Json | undefined): AggParams | undefined {
  if (j === undefined || j === null) return undefined;
  const out: AggParams = {};
  for (const [k, v] of Object.entries(j as Obj)) (out as Record<string, bigint>)[k] = big(v);
  return out;
}

/** Applies an aggregating function to samples, as the kernel side would. */
function aggregate(desc: AggDesc, samples: Json[]): AggValue {
  const pairs = samples.map((s): [bigint, bigint] => (Array.isArray(s) ? [big(s[0]), big(s[1])] : [big(s), 1n]));
  switch (desc.fn) {
    case 'count': return { kind: 'scalar', value: BigInt(pairs.length) };
    case 'sum': return { kind: 'scalar', value: BigInt.asIntN(64, pairs.reduce((a, [x]) => a + x, 0n)) };
    case 'min': return { kind: 'scalar', value: pairs.reduce((a, [x]) => (x < a ? x : a), (1n << 63n) - 1n) };
    case 'max': return { kind: 'scalar', value: pairs.reduce((a, [x]) => (x > a ? x : a), -(1n << 63n)) };
    case 'avg': return { kind: 'avg', count: BigInt(pairs.length), sum: pairs.reduce((a, [x]) => a + x, 0n) };
    case 'stddev': return {
      kind: 'stddev', count: BigInt(pairs.length), sum: pairs.reduce((a, [x]) => a + x, 0n),
      sumSq: pairs.reduce((a, [x]) => a + x * x, 0n),
    };
    case 'quantize': {
      const buckets = new Array<bigint>(127).fill(0n);
      for (const [x, w] of pairs) { const b = quantizeBucketOf(x); buckets[b] = BigInt.asIntN(64, (buckets[b] ?? 0n) + w); }
      return { kind: 'hist', buckets };
    }
    case 'lquantize': {
      const p = desc.params ?? {};
      const levels = lquantizeLevels(p);
      const base = p.base ?? 0n;
      const step = p.step ?? 1n;
      const buckets = new Array<bigint>(levels + 2).fill(0n);
      for (const [x, w] of pairs) {
        const b = x < base ? 0 : x >= base + BigInt(levels) * step ? levels + 1 : Number((x - base) / step) + 1;
        buckets[b] = BigInt.asIntN(64, (buckets[b] ?? 0n) + w);
      }
      return { kind: 'hist', buckets };
    }
    case 'llquantize': {
      const p = desc.params ?? {};
      const buckets = new Array<bigint>(llquantizeLayout(p).nbins).fill(0n);
      for (const [x, w] of pairs) { const b = llquantizeBinOf(x, p); buckets[b] = BigInt.asIntN(64, (buckets[b] ?? 0n) + w); }
      return { kind: 'hist', buckets };
    }
  }
}

function decodeAggValue(desc: AggDesc, j: Json): AggValue {
  if (typeof j === 'number' || typeof j === 'string') return { kind: 'scalar', value: big(j) };
  const o = j as Obj;
  if ('buckets' in o) return { kind: 'hist', buckets: (o['buckets'] as Json[]).map(big) };
  if (desc.fn === 'avg') return { kind: 'avg', count: big(o['count']), sum: big(o['sum']) };
  return { kind: 'stddev', count: big(o['count']), sum: big(o['sum']), sumSq: big(o['sumSq']) };
}

export function decodeAgg(j: Json): AggSnapshot {
  const o = j as Obj;
  const desc: AggDesc = {
    id: Number(o['id'] ?? 1), name: String(o['name'] ?? ''), fn: String(o['fn']) as AggDesc['fn'],
    keyTypes: [], params: decodeParams(o['params']),
  };
  const entries: AggEntry[] = ((o['entries'] ?? []) as Json[]).map((e) => {
    const eo = e as Obj;
    const keys = ((eo['keys'] ?? []) as Json[]).map(decodeValue);
    const value = 'value' in eo ? decodeAggValue(desc, eo['value'] as Json) : aggregate(desc, (eo['samples'] ?? []) as Json[]);
    return { keys, value };
  });
  let snap: AggSnapshot = { desc, entries, normalize: o['normalize'] === undefined ? undefined : big(o['normalize']) };
  if (o['clear'] === true) snap = clearEntries(snap);
  if ('trunc' in o) snap = truncEntries(snap, o['trunc'] === null ? undefined : big(o['trunc']));
  return snap;
}

/** Runs one case and returns the text it prints. */
export function runCase(c: Obj): string {
  const opts = (c['opts'] ?? {}) as Obj;
  const ctx = { timeZone: 'UTC' };
  switch (c['kind']) {
    case 'printf': {
      // A list of printf calls, like a quiet D clause sequence.
      return ((c['calls'] ?? []) as Json[]).map((call) => {
        const co = call as Obj;
        return formatPrintf(String(co['fmt']), ((co['args'] ?? []) as Json[]).map(decodeValue), ctx);
      }).join('');
    }
    case 'trace':
      return ((c['values'] ?? []) as Json[]).map((v) => formatTrace(decodeValue(v), Boolean(c['quiet']), opts as never)).join('');
    case 'tracemem':
      return formatTracemem(decodeValue(c['value'] as Json).kind === 'bytes' ? (decodeValue(c['value'] as Json) as { bytes: Uint8Array }).bytes : new Uint8Array(),
        c['dynsize'] === undefined ? undefined : big(c['dynsize']));
    case 'aggregations':
      // End of run: the newline dtrace always writes, then every aggregation.
      return '\n' + formatAggregations(((c['aggs'] ?? []) as Json[]).map(decodeAgg), opts as never);
    case 'aggregation':
      return formatAggregation(decodeAgg(c['agg'] as Json), opts as never);
    case 'printa': {
      let out = '';
      for (const call of (c['calls'] ?? []) as Json[]) {
        const co = call as Obj;
        const fmt = co['fmt'] === undefined ? undefined : String(co['fmt']);
        const snaps = ((co['aggs'] ?? []) as Json[]).map(decodeAgg);
        out += 'printf' in co ? String(co['printf']) : formatPrinta(fmt, snaps, { ...(co['opts'] ?? opts) as object, ctx });
      }
      return out;
    }
    case 'stack':
      return formatStack(((c['frames'] ?? []) as Json[]).map(String), c['indent'] === undefined ? undefined : Number(c['indent']));
    case 'errors':
      return ((c['faults'] ?? []) as Json[]).map((f) => {
        const fo = f as Obj;
        return formatError({ ...(fo as unknown as Fault), detail: fo['detail'] === undefined ? undefined : big(fo['detail']) });
      }).join('');
    case 'drops':
      return ((c['drops'] ?? []) as Json[]).map((d) => {
        const dd = d as Obj;
        return formatDrop(String(dd['kind']) as DropKind, big(dd['count']), Number(dd['cpu'] ?? 0), Boolean(dd['droptags']));
      }).join('');
    case 'records': {
      // Clause records through the framing: header once, prefix, text, terminator.
      const mode = opts as unknown as FramingMode;
      const flow = newFlowState();
      let out = '';
      let first = true;
      for (const r of (c['records'] ?? []) as Json[]) {
        const ro = r as Obj;
        const probe = ro['probe'] as unknown as ProbeInfo;
        if (first) { out += formatHeader(mode); first = false; }
        const field = mode.flowindent ? flowStep(flow, probe, Number(ro['epid'] ?? probe.id)) : undefined;
        out += formatRecordPrefix(mode, Number(ro['cpu'] ?? 0), probe, field);
        for (const t of (ro['trace'] ?? []) as Json[]) out += formatTrace(decodeValue(t), mode.quiet);
        for (const p of (ro['printf'] ?? []) as Json[]) {
          const po = p as Obj;
          out += formatPrintf(String(po['fmt']), ((po['args'] ?? []) as Json[]).map(decodeValue), ctx);
        }
        out += formatRecordEnd(mode);
      }
      return out + (c['endNewline'] === true ? '\n' : '');
    }
    default:
      throw new Error(`unknown case kind ${String(c['kind'])}`);
  }
}

const names = readdirSync(goldenDir).filter((f) => f.endsWith('.json')).sort();

test('golden format cases exist', () => {
  assert.ok(names.length > 0, `no cases in ${goldenDir}`);
});

for (const name of names) {
  test(`golden format: ${name}`, () => {
    const c = JSON.parse(readFileSync(join(goldenDir, name), 'utf8')) as Obj;
    const actual = runCase(c);
    const outPath = join(goldenDir, name.replace(/\.json$/, '.out'));
    if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(outPath)) {
      writeFileSync(outPath, Buffer.from(actual, 'latin1'));
      if (process.env['UPDATE_GOLDEN'] !== '1') assert.fail(`${outPath} was missing; wrote it, review it`);
      return;
    }
    const expected = readFileSync(outPath).toString('latin1');
    assert.equal(actual, expected);
  });
}
