/**
 * @fileoverview The -x options of structured output and exporters (oformat, flamegraph,
 * metrics, metricsseries) as the session's run options; shared by the dtrace command and the
 * library so both read them the same way.
 */
import type { OptionValues } from '../cli/options.js';
import type { RunOptions } from '../runtime/session.js';

export type ExportOptions = Pick<RunOptions, 'oformat' | 'flamegraphPath' | 'metrics' | 'onMetricsListening' | 'progress'>;

/**
 * `say` (stderr, unless -q) is told where /metrics listens; `progress` (a terminal's stderr,
 * unless -q) shows a long attach.
 */
export function exportOptions(o: OptionValues, say?: (text: string) => void, progress?: (text: string) => void): ExportOptions {
  const oformat = o.get('oformat');
  const flamegraph = o.get('flamegraph');
  const metrics = o.get('metrics');
  const series = o.get('metricsseries');
  return {
    oformat: oformat === 'json' ? 'json' : oformat === 'folded' ? 'folded' : 'text',
    flamegraphPath: typeof flamegraph === 'string' ? flamegraph : undefined,
    metrics: typeof metrics === 'string' ? { address: metrics, maxSeries: typeof series === 'bigint' && series > 0n ? Number(series) : 1000 } : undefined,
    onMetricsListening: say && ((address) => say(`dtrace: serving aggregations on http://${address}/metrics`)),
    progress,
  };
}
