#!/usr/bin/env node
// conformance-ratchet.mjs - run the DTrace conformance corpus and make sure nothing that
// passed before fails now.
//
// conformance/passing.txt lists (one path per line, '#' comments allowed) every corpus test
// known to pass. This script runs the corpus runner (../shared/conformance/run by default) on
// our tracer and fails when any listed test did not pass, naming each one. Tests that pass
// but are not listed are counted, not errors: record them with --update, which rewrites
// passing.txt with exactly the tests that passed in this run (sorted), so the list only grows
// as the tracer improves (the ratchet).
//
// Usage: node scripts/conformance-ratchet.mjs [--update] [--jobs N] [--budget SECS]
//                 [--dtrace CMD] [--conformance DIR] [--list FILE] [--write-list FILE]
//                 [--timeout SECS] [--verbose]
//   --update           rewrite the list (conformance/passing.txt) from this run (the run must complete)
//   --jobs N           tests run at a time (default 2)
//   --budget SECS      stop the whole run after SECS (default 780, env CONFORMANCE_BUDGET_S);
//                      a run cut short fails, so a hanging tracer cannot stall CI
//   --dtrace CMD       tracer command (default $DTRACE, else 'node dist/cli.js')
//   --conformance DIR  corpus directory holding `run` (default $CONFORMANCE_DIR, else
//                      ../shared/conformance relative to the repository)
//   --list FILE        the list of passing tests (default conformance/passing.txt), e.g.
//                      conformance/passing-5.15.txt for a run with DTRACE_TS_KERNEL=5.15 (an
//                      emulated older kernel, which the tracer reads from the environment);
//                      the runner's output goes to conformance-run<suffix>.log, the suffix
//                      being what follows "passing" in the list's name
//   --write-list FILE  where --update writes the list (default: --list); the Linux 6.1 guest
//                      sees the repository read-only, so conformance:vm writes through /xfer
//   --timeout SECS     per-test time limit given to the runner (default: the runner's)
//   --skip FILE        tests (one path per line, '#' comments) not to run here at all, e.g.
//                      conformance/host-only.txt in the Linux 6.1 guest: compile-error tests
//                      whose result cannot depend on the kernel (scripts/vm-host-only.sh)
//   --only FILE        run only the tests listed in FILE (one path per line, '#' comments): a
//                      selection, e.g. conformance/vm-ci.txt for CI's guest step; the ratchet checks
//                      the listed tests inside the selection, and --update keeps the listed tests
//                      outside it (they were not run)
//   --results FILE     also write the runner's per-test results (JSON: status, reason, duration_ms)
//   --log FILE         where the runner's output goes (default conformance-run<suffix>.log in the
//                      repository)
//   --verbose          echo every result line of the runner
// Exit status: 0 ratchet holds (or list updated), 1 a listed test did not pass or the run was
// cut short, 2 usage or setup error.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const defaultListPath = join(repoRoot, 'conformance', 'passing.txt');

/** The header of a list file, naming how to regenerate it (with the emulated level, if any). */
function passingListHeader(listPath) {
  if (basename(listPath) === 'passing-6.1.txt') {
    return [
      '# Conformance tests that pass inside the Debian 12 guest (Linux 6.1 under qemu; scripts/vm.sh).',
      '# Checked by the guest conformance step of .ci/run: every test listed here must keep passing.',
      '# Regenerate from a full guest run with: npm run conformance:vm -- --update (a run of a selection,',
      '# --only FILE or --ci, keeps the listed tests outside it). The tests that pass on the host but not',
      '# here, with the reason for each, and the count of the last whole-corpus run: docs/linux-6.1-guest.md.',
    ];
  }
  const level = process.env.DTRACE_TS_KERNEL;
  const custom = resolve(listPath) !== defaultListPath;
  const command = `${level ? `DTRACE_TS_KERNEL=${level} ` : ''}node scripts/conformance-ratchet.mjs --update` +
    (custom ? ` --list ${relative(repoRoot, resolve(listPath))}` : '');
  return [
    '# Conformance tests that pass (paths relative to the corpus dtrace-utils/ directory)' +
      (level ? `, with DTRACE_TS_KERNEL=${level} (an emulated ${level} kernel).` : '.'),
    '# Checked by scripts/conformance-ratchet.mjs in CI: every test listed here must keep passing.',
    `# Regenerate from a full run with: ${command}`,
  ];
}

function fail(message, status = 2) {
  process.stderr.write(`conformance-ratchet: ${message}\n`);
  process.exit(status);
}

function parseArgs(argv) {
  const options = {
    update: false,
    verbose: false,
    jobs: 2,
    budgetSeconds: Number(process.env.CONFORMANCE_BUDGET_S ?? 780),
    dtrace: process.env.DTRACE ?? 'node dist/cli.js',
    conformanceDir: process.env.CONFORMANCE_DIR ?? join(repoRoot, '..', 'shared', 'conformance'),
    listPath: defaultListPath,
    writeListPath: undefined,
    timeout: undefined,
    skipPath: undefined,
    onlyPath: undefined,
    resultsPath: undefined,
    logPath: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--update': options.update = true; break;
      case '--verbose': case '-v': options.verbose = true; break;
      case '--jobs': options.jobs = Number(value()); break;
      case '--budget': options.budgetSeconds = Number(value()); break;
      case '--dtrace': options.dtrace = value(); break;
      case '--conformance': options.conformanceDir = resolve(value()); break;
      case '--list': options.listPath = resolve(value()); break;
      case '--write-list': options.writeListPath = resolve(value()); break;
      case '--timeout': options.timeout = value(); break;
      case '--skip': options.skipPath = resolve(value()); break;
      case '--only': options.onlyPath = resolve(value()); break;
      case '--results': options.resultsPath = resolve(value()); break;
      case '--log': options.logPath = resolve(value()); break;
      case '--help': case '-h':
        process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1)
          .filter((line, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('//'))).map((line) => line.slice(3)).join('\n') + '\n');
        process.exit(0);
        break;
      default: fail(`unknown argument ${arg} (try --help)`);
    }
  }
  if (!Number.isInteger(options.jobs) || options.jobs < 1) fail('--jobs wants a positive integer');
  if (!(options.budgetSeconds > 0)) fail('--budget wants a positive number of seconds');
  return options;
}

/** The listed tests: one path per line; blank lines and '#' comments ignored. */
export function readPassingList(text) {
  return text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter((line) => line !== '');
}

/** A runner --filter regular expression that matches every test path but the given ones. */
export function exceptFilter(paths) {
  return runnerFilter({ skipPaths: paths }) ?? '';
}

/** A regular expression source matching exactly the given paths (as the runner sees them). */
function exactPaths(paths) {
  return `^(?:${paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

/**
 * The one --filter the runner gets (it keeps only the last one it is given): paths not skipped,
 * in the selection when there is one, and matching `pattern` (a retry's few tests) when given.
 * Undefined when everything runs.
 */
export function runnerFilter({ skipPaths = [], onlyPaths, pattern } = {}) {
  const parts = [];
  if (skipPaths.length > 0) parts.push(`(?!${exactPaths(skipPaths)})`);
  if (onlyPaths !== undefined) parts.push(`(?=${exactPaths(onlyPaths)})`);
  if (pattern !== undefined) parts.push(`(?=.*(?:${pattern}))`);
  return parts.length > 0 ? `^${parts.join('')}` : undefined;
}

/**
 * The list --update writes: what passed, plus (with a selection) the listed tests outside the
 * selection, which were not run and so keep their place.
 */
export function updatedList(listedPaths, passed, onlyPaths) {
  if (onlyPaths === undefined) return passed;
  const selected = new Set(onlyPaths);
  return [...new Set([...passed, ...listedPaths.filter((p) => !selected.has(p))])].sort();
}

/** Results from the runner's stdout lines ("PASS path (reason)"), the fallback when no JSON. */
export function parseRunnerLines(text) {
  const statusByPath = new Map();
  for (const match of text.matchAll(/^(PASS|FAIL|SKIP) (\S+)(?: \((.*)\))?$/gm)) {
    statusByPath.set(match[2], { status: match[1], reason: match[3] ?? '' });
  }
  return statusByPath;
}

/**
 * Compares a run with the list. Returns the listed tests that did not pass (with why), the
 * passing tests not yet listed, and the sorted list of everything that passed.
 */
export function compareWithList(listedPaths, statusByPath) {
  const regressions = [];
  for (const path of listedPaths) {
    const result = statusByPath.get(path);
    if (result === undefined) regressions.push({ path, why: 'not run (missing from the corpus or run cut short)' });
    else if (result.status !== 'PASS') regressions.push({ path, why: `${result.status}${result.reason ? `: ${result.reason}` : ''}` });
  }
  const listed = new Set(listedPaths);
  const passed = [...statusByPath].filter(([, r]) => r.status === 'PASS').map(([path]) => path).sort();
  const newlyPassing = passed.filter((path) => !listed.has(path));
  return { regressions, newlyPassing, passed };
}

/** At most this many failed listed tests are retried; more is a breakage, not flakiness. */
const MAX_RETRIED = 12;

/** "-5.15" for conformance/passing-5.15.txt, "" for passing.txt: keeps two runs' logs apart. */
export function logSuffix(listPath) {
  return basename(listPath).replace(/\.txt$/, '').replace(/^passing/, '');
}

async function runCorpus(options, jsonPath, logPath, filter) {
  const runnerPath = join(options.conformanceDir, 'run');
  const args = [runnerPath, '--jobs', String(options.jobs), '--json', jsonPath, '--dtrace', options.dtrace];
  if (options.timeout !== undefined) args.push('--timeout', options.timeout);
  const combined = runnerFilter({ skipPaths: options.skipPaths, onlyPaths: options.onlyPaths, pattern: filter });
  if (combined !== undefined) args.push('--filter', combined);
  // The filter can list hundreds of paths: the command line shown leaves it out.
  const shown = combined === undefined ? args : [...args.slice(0, -2), '--filter', `<${combined.length} characters>`];
  console.log(`conformance-ratchet: running ${shown.join(' ')} (cwd ${repoRoot}, budget ${options.budgetSeconds} s)`);
  const log = createWriteStream(logPath);
  // Own process group, so the budget can stop the runner and whatever it started.
  const runner = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let done = 0;
  const startedMs = Date.now();
  runner.stdout.setEncoding('utf8');
  runner.stdout.on('data', (chunk) => {
    stdout += chunk;
    log.write(chunk);
    if (options.verbose) process.stdout.write(chunk);
    const before = done;
    done += (chunk.match(/^(PASS|FAIL|SKIP) /gm) ?? []).length;
    if (!options.verbose && Math.floor(done / 100) > Math.floor(before / 100)) {
      console.log(`conformance-ratchet: ${Math.floor(done / 100) * 100} tests done (${((Date.now() - startedMs) / 1000).toFixed(0)} s)`);
    }
  });
  runner.stderr.on('data', (chunk) => { log.write(chunk); process.stderr.write(chunk); });
  let cutShort = false;
  const budgetTimer = setTimeout(() => {
    cutShort = true;
    console.log(`conformance-ratchet: budget of ${options.budgetSeconds} s exceeded; stopping the runner`);
    try { process.kill(-runner.pid, 'SIGTERM'); } catch { /* already gone */ }
    setTimeout(() => { try { process.kill(-runner.pid, 'SIGKILL'); } catch { /* already gone */ } }, 5000).unref();
  }, options.budgetSeconds * 1000);
  const forwardInterrupt = () => { try { process.kill(-runner.pid, 'SIGINT'); } catch { /* already gone */ } };
  process.on('SIGINT', forwardInterrupt);
  const exitStatus = await new Promise((resolveExit) => runner.on('close', (code) => resolveExit(code)));
  clearTimeout(budgetTimer);
  process.off('SIGINT', forwardInterrupt);
  await new Promise((resolveLog) => log.end(resolveLog));
  return { stdout, exitStatus, cutShort, seconds: (Date.now() - startedMs) / 1000 };
}

function readResults(jsonPath, stdout) {
  if (existsSync(jsonPath)) {
    try {
      const doc = JSON.parse(readFileSync(jsonPath, 'utf8'));
      return new Map(doc.results.map((r) => [r.path, { status: r.status, reason: r.reason ?? '' }]));
    } catch (error) {
      console.log(`conformance-ratchet: cannot read ${jsonPath} (${error.message}); using the runner's output lines`);
    }
  }
  return parseRunnerLines(stdout);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(join(options.conformanceDir, 'run'))) fail(`no conformance runner at ${join(options.conformanceDir, 'run')}`);
  if (options.dtrace === 'node dist/cli.js' && !existsSync(join(repoRoot, 'dist', 'cli.js'))) {
    console.log('conformance-ratchet: warning: dist/cli.js does not exist (run node scripts/build.mjs); every test will fail');
  }
  const listPath = options.listPath;
  const listName = relative(repoRoot, listPath);
  if (options.skipPath) {
    if (!existsSync(options.skipPath)) fail(`no skip list ${options.skipPath}`);
    options.skipPaths = readPassingList(readFileSync(options.skipPath, 'utf8'));
    console.log(`conformance-ratchet: ${options.skipPaths.length} tests not run here (${relative(repoRoot, options.skipPath)})`);
  }
  if (options.onlyPath) {
    if (!existsSync(options.onlyPath)) fail(`no selection ${options.onlyPath}`);
    options.onlyPaths = readPassingList(readFileSync(options.onlyPath, 'utf8'));
    console.log(`conformance-ratchet: running the ${options.onlyPaths.length} tests of ${relative(repoRoot, options.onlyPath)} only`);
  }
  const skipped = new Set(options.skipPaths ?? []);
  const allListed = existsSync(listPath) ? readPassingList(readFileSync(listPath, 'utf8')) : [];
  const selection = options.onlyPaths === undefined ? undefined : new Set(options.onlyPaths);
  const listedPaths = allListed.filter((p) => !skipped.has(p) && (selection === undefined || selection.has(p)));
  const workDir = mkdtempSync(join(tmpdir(), 'conformance-ratchet-'));
  const jsonPath = join(workDir, 'results.json');
  const logPath = options.logPath ?? join(repoRoot, `conformance-run${logSuffix(listPath)}.log`);
  if (process.env.DTRACE_TS_KERNEL) console.log(`conformance-ratchet: emulating a ${process.env.DTRACE_TS_KERNEL} kernel (DTRACE_TS_KERNEL)`);
  try {
    const run = await runCorpus(options, jsonPath, logPath);
    const statusByPath = readResults(jsonPath, run.stdout);
    if (options.resultsPath && existsSync(jsonPath)) writeFileSync(options.resultsPath, readFileSync(jsonPath));
    const counts = { PASS: 0, FAIL: 0, SKIP: 0 };
    for (const { status } of statusByPath.values()) counts[status] = (counts[status] ?? 0) + 1;
    const { regressions, newlyPassing, passed } = compareWithList(listedPaths, statusByPath);
    console.log(`conformance-ratchet: ${counts.PASS} passed, ${counts.FAIL} failed, ${counts.SKIP} skipped ` +
      `of ${statusByPath.size} run in ${run.seconds.toFixed(0)} s (runner output: ${logPath})`);
    console.log(`conformance-ratchet: PASS COUNT ${counts.PASS}`);
    if (run.cutShort) console.log('conformance-ratchet: the run was cut short by the budget; results are incomplete');
    else if (run.exitStatus !== 0 && run.exitStatus !== 1) console.log(`conformance-ratchet: the runner exited with status ${run.exitStatus}`);

    if (options.update) {
      if (run.cutShort || (run.exitStatus !== 0 && run.exitStatus !== 1)) {
        fail(`not updating ${listName} from an incomplete run`, 1);
      }
      const written = updatedList(allListed, passed, options.onlyPaths);
      writeFileSync(options.writeListPath ?? listPath, [...passingListHeader(listPath), ...written].join('\n') + '\n');
      console.log(`conformance-ratchet: wrote ${written.length} tests to ${listName} ` +
        `(${newlyPassing.length} new, ${regressions.length} dropped)`);
      for (const { path, why } of regressions) console.log(`  dropped: ${path} (${why})`);
      return 0;
    }
    if (newlyPassing.length > 0) {
      console.log(`conformance-ratchet: ${newlyPassing.length} passing tests are not in ${listName} yet ` +
        '(record them with --update)');
    }
    // A listed test that failed is run once more on its own: timing tests fail on a loaded
    // machine now and then. Only one that fails again is a regression; the others are named.
    if (regressions.length > 0 && regressions.length <= MAX_RETRIED && !run.cutShort) {
      const escaped = regressions.map(({ path }) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      const retryJson = join(workDir, 'retry.json');
      const retry = await runCorpus({ ...options, jobs: 1 }, retryJson, `${logPath}.retry`, `(${escaped.join('|')})$`);
      const again = readResults(retryJson, retry.stdout);
      for (let i = regressions.length - 1; i >= 0; i--) {
        if (again.get(regressions[i].path)?.status === 'PASS') {
          console.log(`conformance-ratchet: flaky: ${regressions[i].path} failed (${regressions[i].why}) and passed when run again`);
          regressions.splice(i, 1);
        }
      }
    }
    if (regressions.length > 0) {
      console.log(`conformance-ratchet: FAILED: ${regressions.length} of ${listedPaths.length} tests listed in ${listName} did not pass:`);
      for (const { path, why } of regressions) console.log(`  ${path} (${why})`);
      return 1;
    }
    if (run.cutShort) return 1;
    console.log(`conformance-ratchet: OK: all ${listedPaths.length} listed tests passed`);
    return 0;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

// Run only when executed, so the helpers above can be imported by a test.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
