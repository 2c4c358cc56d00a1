/**
 * @fileoverview printa() (aggregations-and-output.md §3, actions-and-subroutines.md §2.4).
 *
 *   - `formatPrinta(fmt, snaps, opts)`: the text of one printa record.
 *     * no format, one aggregation: `\n` then the default layout, sorted;
 *     * no format, several: `\n` then, per key present in any of them, the keys once and each
 *       aggregation's value in argument order (missing → zero value);
 *     * with a format: the format rendered once per entry / joined key; plain conversions take
 *       the keys, `%@` conversions the values (surplus `%@` repeat the last aggregation).
 *   - `joinAggregations(snaps, opts)`: the joined, sorted rows (dtrace_aggregate_walk_joined).
 */
import { type AggPrintOptions, compareAggValues, compareKeys, formatAggKey, formatAggValue, sortEntries, zeroAggValue } from './aggregate.js';
import { type AggCell, type FormatContext, type PrintfProgram, compilePrintf, isPrintfError, renderPrintf } from './printf.js';
import { type AggSnapshot, type AggValue, type Value } from './values.js';

export interface PrintaOptions extends AggPrintOptions {
  ctx?: FormatContext;
}

/** One joined row: the representative keys and one value per aggregation argument. */
export interface JoinedRow { keys: Value[]; values: AggValue[] }

/** A canonical text for grouping equal key tuples (equal records ⇔ equal text). */
function keyId(keys: readonly Value[]): string {
  return JSON.stringify(keys, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v));
}

/**
 * Joins several aggregations on equal key tuples and sorts the rows like
 * dt_aggregate_bundlecmp: values in aggregation order starting at `aggsortpos` (wrapping),
 * then keys; with `aggsortkey` keys first; `aggsortrev` reverses everything.
 */
export function joinAggregations(snaps: readonly AggSnapshot[], opts: PrintaOptions = {}): JoinedRow[] {
  const n = snaps.length;
  const rows = new Map<string, JoinedRow>();
  snaps.forEach((snap, j) => {
    for (const e of snap.entries) {
      const id = keyId(e.keys);
      let row = rows.get(id);
      if (row === undefined) {
        row = { keys: e.keys, values: snaps.map((s) => zeroAggValue(s.desc)) };
        rows.set(id, row);
      }
      row.values[j] = e.value;
    }
  });
  const sortPos = opts.aggsortpos !== undefined && opts.aggsortpos >= 0 && opts.aggsortpos < n ? opts.aggsortpos : 0;
  const keyPos = opts.aggsortkeypos ?? 0;
  const sign = opts.aggsortrev ? -1 : 1;
  const compare = (a: JoinedRow, b: JoinedRow): number => {
    if (opts.aggsortkey) {
      const c = compareKeys(a.keys, b.keys, keyPos);
      if (c !== 0) return c;
    }
    for (let i = 0; i < n; i++) {
      const j = (i + sortPos) % n;
      const snap = snaps[j] as AggSnapshot;
      const c = compareAggValues(snap.desc, a.values[j] as AggValue, b.values[j] as AggValue);
      if (c !== 0) return c;
    }
    return opts.aggsortkey ? 0 : compareKeys(a.keys, b.keys, keyPos);
  };
  return [...rows.values()].sort((a, b) => sign * compare(a, b));
}

/** The text one printa() record prints. */
export function formatPrinta(fmt: string | PrintfProgram | undefined, snaps: readonly AggSnapshot[], opts: PrintaOptions = {}): string {
  if (snaps.length === 0) return '';
  if (fmt === undefined) {
    let out = '\n';
    if (snaps.length === 1) {
      const snap = snaps[0] as AggSnapshot;
      for (const e of sortEntries(snap, opts)) {
        out += e.keys.map((k) => formatAggKey(k, opts.stackIndent)).join('');
        out += formatAggValue(snap.desc, e.value, snap.normalize) + '\n';
      }
      return out;
    }
    for (const row of joinAggregations(snaps, opts)) {
      out += row.keys.map((k) => formatAggKey(k, opts.stackIndent)).join('');
      row.values.forEach((v, j) => { const s = snaps[j] as AggSnapshot; out += formatAggValue(s.desc, v, s.normalize); });
      out += '\n';
    }
    return out;
  }
  const program = typeof fmt === 'string' ? compilePrintf(fmt) : fmt;
  if (isPrintfError(program)) return '';
  const ctx = { stackIndent: opts.stackIndent, ...opts.ctx };
  const rows: JoinedRow[] = snaps.length === 1
    ? sortEntries(snaps[0] as AggSnapshot, opts).map((e) => ({ keys: e.keys, values: [e.value] }))
    : joinAggregations(snaps, opts);
  let out = '';
  for (const row of rows) {
    const cells: AggCell[] = row.values.map((value, j) => {
      const s = snaps[j] as AggSnapshot;
      return { desc: s.desc, value, normal: s.normalize };
    });
    out += renderPrintf(program, row.keys, cells, ctx);
  }
  return out;
}
