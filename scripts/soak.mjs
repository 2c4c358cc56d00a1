// `npm run soak`: the long parts of the reliability suite (test/reliability): many fuzzed
// programs through the verifier, and minutes of load for the RSS slope. Figures are printed as
// `fuzz:`, `faults:`, `leaks:`, `drops:` and `rss:` lines. FUZZ_PROGRAMS and SOAK_SECONDS scale it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join('build', 'test', 'reliability');
const files = readdirSync(dir).filter((f) => f.endsWith('.test.js')).map((f) => join(dir, f));
const env = { ...process.env, SOAK: '1', FUZZ_PROGRAMS: process.env.FUZZ_PROGRAMS ?? '300' };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
