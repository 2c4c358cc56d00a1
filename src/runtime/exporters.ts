/**
 * @fileoverview What the session exports besides DTrace's own output: `-x flamegraph=FILE.svg`
 * (every stack-keyed aggregation as one interactive flame graph, written at exit),
 * `-x oformat=folded` (stack-keyed aggregations printed as folded stacks at exit) and
 * `-x metrics=HOST:PORT` (every aggregation on /metrics, OpenMetrics text, while tracing).
 */
import type { Server } from 'node:http';
import type { AggSnapshot, AggValue, Value } from '../consume/format/values.js';
import { foldFrames, formatFolded, renderFlameGraph, type FoldedStack } from '../consume/format/flamegraph.js';
import { renderOpenMetrics } from '../consume/format/openmetrics.js';

/** True when an aggregation is keyed by a stack()/ustack(). */
export function hasStackKey(s: AggSnapshot): boolean {
  return s.desc.keyTypes.some((k) => k.kind === 'stack');
}

function weight(v: AggValue): number {
  switch (v.kind) {
    case 'scalar': return Number(v.value);
    case 'avg': case 'stddev': return Number(v.count);
    case 'hist': return Number(v.buckets.reduce((a, b) => a + b, 0n));
  }
}

function keyFrames(k: Value): string[] {
  switch (k.kind) {
    case 'stack': return foldFrames(k.frames);
    case 'string': return [k.value];
    case 'symbol': return [k.text];
    case 'int': return [k.value.toString()];
    case 'float': return [String(k.value)];
    case 'bytes': return [Buffer.from(k.bytes).toString('hex')];
  }
}

/**
 * The folded stacks of stack-keyed aggregations: the keys in order make one path (a key
 * before the stack, e.g. execname, becomes its root frame), weighted by the value (counts and
 * sums as they are, histograms by their total).
 */
export function foldedStacks(snaps: readonly AggSnapshot[]): FoldedStack[] {
  const out: FoldedStack[] = [];
  for (const s of snaps) {
    if (!hasStackKey(s)) continue;
    for (const e of s.entries) out.push({ frames: e.keys.flatMap(keyFrames), count: weight(e.value) });
  }
  return out;
}

export function flameGraphSvg(snaps: readonly AggSnapshot[], title: string): string {
  return renderFlameGraph(foldedStacks(snaps), { title });
}

export function foldedText(snaps: readonly AggSnapshot[]): string {
  return formatFolded(foldedStacks(snaps));
}

/** An /metrics endpoint serving the aggregations as they are at each scrape. */
export interface MetricsServer {
  /** Where it listens, `host:port` (the port the kernel chose when asked for 0). */
  readonly address: string;
  close(): Promise<void>;
}

/** Splits `HOST:PORT` / `[v6]:PORT` / `PORT`; undefined when it is not one. */
export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export function serveMetrics(text: string, snapshot: () => readonly AggSnapshot[], maxSeries: number): Promise<MetricsServer> {
  const where = parseListenAddress(text);
  if (!where) return Promise.reject(new Error(`metrics address '${text}' is not HOST:PORT`));
  // node:http on first use: it pulls in net and streams (~7 ms of every start-up otherwise).
  const server: Server = process.getBuiltinModule('node:http').createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') { res.writeHead(404).end('not found: try /metrics\n'); return; }
    let body: string;
    try { body = renderOpenMetrics(snapshot(), { maxSeries }); } catch (e) { res.writeHead(503).end(`${(e as Error).message}\n`); return; }
    res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : where.port;
      resolve({
        address: `${where.host.includes(':') ? `[${where.host}]` : where.host}:${port}`,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}
