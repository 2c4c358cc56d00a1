// Build: one bundled entry for the CLI (fast startup: one file to read and compile) plus a
// library entry, and a file-per-module transpile of src/ test/ bench/ into build/ for the test
// runner. Type checking is separate (`tsc --noEmit`, run by `npm test`).
// A file that fails to transpile is reported and skipped, so one broken module does not stop
// the tests of the others while they are being developed; the exit status still says it failed.
import { build, transform } from 'esbuild';
import { readdirSync, statSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

let failed = 0;
const common = { platform: 'node', target: 'node20', format: 'esm', logLevel: 'error' };
const files = [...walk('src'), ...walk('test'), ...walk('bench')];
await Promise.all(files.map(async (file) => {
  const out = join('build', file.replace(/\.ts$/, '.js'));
  try {
    const r = await transform(readFileSync(file, 'utf8'), {
      loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: file,
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, r.code);
  } catch (e) {
    failed++;
    console.error(`build: ${file}: ${e.message.split('\n').slice(0, 4).join('\n')}`);
  }
}));
for (const [entry, outfile, banner] of [['src/cli/main.ts', 'dist/cli.js', '#!/usr/bin/env node'], ['src/index.ts', 'dist/index.js', '']]) {
  if (!existsSync(entry)) continue;
  try {
    await build({ ...common, bundle: true, entryPoints: [entry], outfile, external: ['koffi'], banner: { js: banner }, sourcemap: 'linked' });
  } catch { failed++; }
}
if (failed) { console.error(`build: ${failed} file(s) failed`); process.exit(1); }
