// setup.mjs - what the benchmark needs on a fresh machine: bpftrace (the tracer compared),
// bpftool (to see when a tracer's perf-event attachments exist), GNU time (peak RSS), taskset
// and gcc. `npm run bench` runs this file before bench/run.mjs. Missing ones are installed from the distribution (Debian/Ubuntu: apt-get) when
// running as root; otherwise the run goes on and says what it lacks.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** command → the Debian package that provides it. */
const NEEDED = [
  ['bpftrace', 'bpftrace'],
  ['bpftool', 'bpftool'],
  ['/usr/bin/time', 'time'],
  ['taskset', 'util-linux'],
  ['gcc', 'gcc'],
];

function present(command) {
  if (command.startsWith('/')) return existsSync(command);
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs the missing tools; returns lines to log. `skip` (BENCH_NO_INSTALL=1) only reports.
 */
export function ensureBenchTools({ skip = false } = {}) {
  const missing = NEEDED.filter(([command]) => !present(command));
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const lines = [];
  if (skip || process.getuid?.() !== 0 || !present('apt-get')) {
    lines.push(`warning: missing ${missing.map(([c]) => c).join(', ')} (install: apt-get install ${packages.join(' ')})`);
    return lines;
  }
  lines.push(`installing ${packages.join(' ')} (apt-get) for: ${missing.map(([c]) => c).join(', ')}`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'ignore', env: aptEnv, timeout: 600_000 });
  } catch {
    // A fresh machine's package lists may be stale or empty: update once and retry.
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', env: aptEnv, timeout: 600_000 });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { stdio: 'ignore', env: aptEnv, timeout: 600_000 });
    } catch (e) {
      lines.push(`warning: apt-get install ${packages.join(' ')} failed: ${String(e.message).split('\n')[0]}`);
    }
  }
  const still = missing.filter(([command]) => !present(command));
  if (still.length) lines.push(`warning: still missing after install: ${still.map(([c]) => c).join(', ')}`);
  return lines;
}

// `node bench/lib/setup.mjs` (npm run bench runs it first): install, then report.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const line of ensureBenchTools({ skip: process.env.BENCH_NO_INSTALL === '1' })) console.log(line);
}
