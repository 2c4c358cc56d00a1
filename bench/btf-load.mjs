// Kernel BTF costs at startup: read + index /sys/kernel/btf/vmlinux, build the struct name index,
// resolve `struct task_struct` with every member (type, size, C spelling), decode every type,
// and write the whole vmlinux.h. Run `node scripts/build.mjs` first. Prints medians in ms.
import { readFileSync } from 'node:fs';
import { loadBtf } from '../build/src/bpf/btf/index.js';
import { dumpC } from '../build/src/bpf/btf/cdump.js';

const path = process.argv[2] ?? '/sys/kernel/btf/vmlinux';
const runs = Number(process.env.RUNS ?? 7);
const samples = { read: [], index: [], findStruct: [], taskStruct: [], decodeAll: [], dumpC: [] };
let typeCount = 0, memberCount = 0;
for (let run = 0; run < runs; run++) {
  let t = performance.now();
  const lap = (name) => { const now = performance.now(); samples[name].push(now - t); t = now; };
  const bytes = readFileSync(path);
  lap('read');
  const btf = loadBtf(bytes);
  lap('index');
  const task = btf.findByName('struct', 'task_struct');
  lap('findStruct');
  let sum = 0;
  for (const m of btf.members(task)) sum += (btf.sizeOf(m.type) ?? 0) + btf.alignOf(m.type) + btf.typeToString(m.type).length;
  if (sum === 0) throw new Error('no members');
  memberCount = btf.members(task).length;
  lap('taskStruct');
  typeCount = 0;
  for (const _ of btf.types()) typeCount++;
  lap('decodeAll');
  if (run < 3) { dumpC(btf); lap('dumpC'); }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`btf-load: ${path}, ${typeCount} types, task_struct ${memberCount} members, median of ${runs} runs`);
for (const [name, xs] of Object.entries(samples)) console.log(`  ${name.padEnd(11)} ${median(xs).toFixed(1).padStart(7)} ms`);
console.log(`  open+index  ${(median(samples.read) + median(samples.index)).toFixed(1).padStart(7)} ms`);
