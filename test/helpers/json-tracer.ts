/**
 * @fileoverview A stand-in tracer for the conformance runner: runs dist/cli.js with
 * `-x oformat=json` and the runner's arguments, passes its output through, and keeps a copy of
 * stdout (with the arguments) in $JSON_TRACER_CAPTURE/<pid>.json, for the oformat corpus walk
 * (test/kernel/oformat-json-corpus.test.ts). Signals reach the tracer from the runner's process group;
 * this process waits for it and exits as it did.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './workloads.js';

const args = process.argv.slice(2);
const capture = process.env['JSON_TRACER_CAPTURE'];
const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'cli.js'), '-x', 'oformat=json', ...args], { stdio: ['inherit', 'pipe', 'inherit'] });
const chunks: Buffer[] = [];
child.stdout.on('data', (d: Buffer) => { chunks.push(d); process.stdout.write(d); });
// The runner signals the whole group: the tracer gets it itself; this process only waits.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGPIPE'] as const) process.on(sig, () => undefined);
child.on('close', (code, signal) => {
  if (capture) writeFileSync(join(capture, `${process.pid}.json`), JSON.stringify({ args, stdout: Buffer.concat(chunks).toString('latin1') }));
  process.exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 1);
});
