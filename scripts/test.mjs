// Runs every test: unit and golden tests (build/src/**/*.test.js, build/test/**/*.test.js) and,
// unless --unit is given, the kernel tests under build/test/kernel and build/test/reliability (they need root; each one
// skips with a reason when it lacks what it needs). Node's own runner prints the summary line.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const unitOnly = process.argv.includes('--unit');
const filter = process.argv.find((a, i) => i > 1 && !a.startsWith('--'));
function walk(dir, out = []) {
  let names = [];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}
let files = walk('build').sort();
// The reliability suite runs the built command against the kernel too: not a unit test.
if (unitOnly) files = files.filter((f) => !f.includes(join('test', 'kernel')) && !f.includes(join('test', 'reliability')));
if (filter) files = files.filter((f) => f.includes(filter));
// Kernel tests attach system-wide probes; running them one file at a time keeps them from
// counting each other's events.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
