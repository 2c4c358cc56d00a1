// Build: one bundled entry for the CLI (fast startup: one file to read and compile, see below)
// plus a library entry, and a file-per-module transpile of src/ test/ bench/ into build/ for the test
// runner. Type checking is separate (`tsc --noEmit`, run by `npm test`).
// A file that fails to transpile is reported and skipped, so one broken module does not stop
// the tests of the others while they are being developed; the exit status still says it failed.
import { build, transform } from 'esbuild';
import { readdirSync, statSync, readFileSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildCli } from './cli-bundle.mjs';

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
// dist/ is CommonJS (dist/package.json says so, overriding the package's "type": "module"):
// Node's ESM loader alone costs ~5 ms at start and pulls in fs/promises and readline, ~10 ms
// of a ~150 ms `BEGIN { exit(0); }`. The CLI is a bundle (dist/cli-main.cjs) and chunks loaded
// on first use (dist/cli-<hash>.cjs: scripts/cli-bundle.mjs), run by a small loader (dist/cli.js)
// through vm.Script with a V8 code cache per file (<file>.cache): the first run writes the cache
// with every function it compiled, later runs skip parsing and compiling them (~20 ms). Node 20
// has no module.enableCompileCache, and vm.Script's cachedData exists only for scripts. A
// rebuilt bundle or other V8 flags make V8 reject the cache; the loader then rewrites it. The
// library entry (dist/index.js) is CommonJS too; ESM importers get its named exports through
// Node's CommonJS interop.
// Each CLI file is one function expression, (function (exports, require, module, __filename,
// __dirname) { ... }), which the loader compiles as it reads it. Whitespace and syntax are
// minified (names are kept, for internal errors' stack traces): on this machine every page a
// run touches costs (~5 ms per MB: page faults under nested virtualisation), and the source is
// touched three times (the read, its string, V8's line ends); 1,066 KB -> 780 KB.
const cjs = {
  ...common, format: 'cjs', bundle: true, external: ['koffi'], sourcemap: 'linked',
  // import.meta does not exist in CommonJS: the bundle's own file URL stands in for it.
  // DTRACE_TS_TEST_FAULT (src/bpf/test-faults.ts) exists only in the test build: the installed
  // command is built without it, so no environment can make it fail a bpf(2) call.
  define: { 'import.meta.url': '__bundleFileUrl', 'process.env.DTRACE_TS_TEST_FAULT': 'undefined' },
  banner: { js: 'var __bundleFileUrl = require("node:url").pathToFileURL(__filename).href;' },
};
mkdirSync('dist', { recursive: true });
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
// What each lib/*.d defines (src/check/library-index.ts), so that a run whose script names none
// of it reads no library file; scanned with the same code the command falls back to.
try {
  const { typeNamesIn, inlineNamesIn, LIBRARY_INDEX_FILE } = await import('../build/src/check/library-index.js');
  const files = readdirSync('lib').filter((n) => n.endsWith('.d')).sort().map((name) => {
    const text = readFileSync(join('lib', name), 'utf8');
    return { name, size: statSync(join('lib', name)).size, types: typeNamesIn(text), inlines: inlineNamesIn(text) };
  });
  writeFileSync(join('dist', LIBRARY_INDEX_FILE), JSON.stringify({ files }) + '\n');
} catch (e) { console.error(`build: library index: ${e.message}`); failed++; }
if (existsSync('src/cli/main.ts')) {
  try {
    await buildCli({ ...common, external: cjs.external, define: cjs.define });
  } catch (e) { console.error(`build: cli bundle: ${e.message}`); failed++; }
}
if (existsSync('src/index.ts')) {
  try {
    await build({ ...cjs, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
    // The same library as an ES module (dist/index.mjs: .mjs is ESM whatever dist/package.json
    // says), so `import` gets a real ESM entry rather than CommonJS interop.
    await build({ ...common, bundle: true, external: ['koffi'], sourcemap: 'linked', entryPoints: ['src/index.ts'], outfile: 'dist/index.mjs' });
  } catch { failed++; }
  // The declarations shipped with the package (dist/types/index.d.ts and what it imports),
  // emitted by the TypeScript compiler when it is installed (a development checkout).
  const tsc = join('node_modules', 'typescript', 'bin', 'tsc');
  if (existsSync(tsc)) {
    rmSync('dist/types', { recursive: true, force: true });
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
    if (r.status !== 0) { console.error('build: declaration emit failed'); failed++; }
  }
}
if (failed) { console.error(`build: ${failed} file(s) failed`); process.exit(1); }
