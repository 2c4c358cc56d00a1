/**
 * @fileoverview Structured output (`-x oformat=json`), shaped as FreeBSD's dtrace(1) libxo
 * output so tools written for it read ours. FreeBSD's document is
 * `{"dtrace": {"probes": [ P, P, … ]}}`; we stream it as JSON Lines, one P per line, so that
 * output of any length can be read as it comes:
 *
 *   {"timestamp":…,"cpu":…,"id":…,"provider":…,"module":…,"function":…,"name":…,"output":[…]}
 *
 * `output` holds, in clause order: `{"value": v}` for trace(); for printf() a
 * `{"message": text}` object followed by `{"value": v}` per argument; `{"stack-frames": […]}`
 * / `{"ustack-frames": […]}` of `{"symbol","module","name","offset"}`; `{"tracemem": hex}`;
 * `{"aggregation-name": n, "aggregation-data": [{"keys": […], "<fn>": v | "buckets": […]}]}`
 * for printa() (and, at exit, one line per aggregation in that shape). Drops and errors are
 * pseudo-probes (`dtrace:INTERNAL:INTERNAL:DROP|ERROR`, cpu and id -1) with `msg`.
 * Integers are written exactly (64-bit values as their digits), strings are D byte strings
 * decoded as UTF-8 (invalid bytes become U+FFFD), raw bytes as hex.
 */
import type { AggSnapshot, Value } from './values.js';
import { byteStringText, aggregationEntries } from './json-values.js';

/** A JSON value whose integers may be bigints (written as exact digits). */
export type Json = null | boolean | number | bigint | string | Json[] | { [k: string]: Json };

/** JSON text of a value; bigints as exact integers, non-finite numbers as null. */
export function jsonText(v: Json): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'bigint': return v.toString();
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'string': return JSON.stringify(v);
    default: break;
  }
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
}

/** A stack frame as FreeBSD splits it: `mod`func+0x1f` → symbol, module, name, offset. */
function frameObject(frame: string): Json {
  const text = byteStringText(frame.trim());
  const m = /^([^`]*)`([^+]*)(?:\+(0x[0-9a-fA-F]+))?$/.exec(text);
  const o: { [k: string]: Json } = { symbol: text };
  if (m) { o['module'] = m[1]!; o['name'] = m[2]!; if (m[3]) o['offset'] = m[3]; }
  return o;
}

/** A traced value as the JSON value FreeBSD writes for it. */
export function jsonValue(v: Value): Json {
  switch (v.kind) {
    case 'int': return v.value;
    case 'float': return v.value;
    case 'string': return byteStringText(v.value);
    case 'symbol': return byteStringText(v.text);
    case 'bytes': return Buffer.from(v.bytes).toString('hex');
    case 'stack': return v.frames.map(frameObject);
  }
}

/** The output object of one recorded datum (trace(), a printf() argument, a stack). */
export function jsonDatum(v: Value, user = false): Json {
  if (v.kind === 'stack') return { [user ? 'ustack-frames' : 'stack-frames']: jsonValue(v) };
  if (v.kind === 'bytes') return { tracemem: jsonValue(v) };
  return { value: jsonValue(v) };
}

/** One aggregation as FreeBSD's printa() object. */
export function jsonAggregation(s: AggSnapshot): Json {
  const data: Json[] = aggregationEntries(s).map((e, i) => {
    const keys = s.entries[i]!.keys.map(jsonValue);
    const v = e.value;
    if (Array.isArray(v)) {
      return { keys, buckets: v.map((b) => ({ value: b.lower ?? b.upper ?? null, count: b.count })) };
    }
    return { keys, [s.desc.fn]: v };
  });
  return { 'aggregation-name': s.desc.name, 'aggregation-data': data };
}

export interface JsonProbe {
  id: number;
  provider: string;
  module: string;
  function: string;
  name: string;
}

/** One probe object (one line), its timestamp taken now as FreeBSD's is (at output time). */
export function jsonProbeLine(probe: JsonProbe, cpu: number, output: Json[]): string {
  return jsonText({
    timestamp: BigInt(Date.now()) * 1_000_000n, cpu, id: probe.id, provider: byteStringText(probe.provider),
    module: byteStringText(probe.module), function: byteStringText(probe.function), name: byteStringText(probe.name), output,
  }) + '\n';
}

/** A drop or error report as FreeBSD's pseudo-probe line. */
export function jsonInternalLine(name: 'DROP' | 'ERROR', msg: string, extra: { [k: string]: Json } = {}): string {
  return jsonText({
    cpu: -1, id: -1, provider: 'dtrace', module: 'INTERNAL', function: 'INTERNAL', name,
    timestamp: BigInt(Date.now()) * 1_000_000n, ...extra, msg: byteStringText(msg),
  }) + '\n';
}
