#!/usr/bin/env node
// scripts/core-selftests.mjs SELFTESTS_DIR [--filter REGEX] [--keep DIR] -- runs the kernel's CO-RE relocation
// selftests (tools/testing/selftests/bpf: progs/test_core_reloc_*.c against the target BTFs of
// progs/btf__core_reloc_*.c, expected results from prog_tests/core_reloc.c) with our loader instead of libbpf,
// and reports how many pass. Nothing of the kernel tree is copied into this repository: point it at a tree,
// e.g. the one in Debian's linux-source-6.1 package (/usr/src/linux-source-6.1.tar.xz).
//
// How: every test program and target is compiled with clang (-target bpf -g -O2); the test table of
// core_reloc.c is compiled into a small C harness (gcc, libbpf for the type-id cases' expected values) that
// prints each case's input and expected output; then each case is loaded with loadObject (the target BTF in
// place of the kernel's, as libbpf's btf_custom_path does), its .bss input written, the program attached
// (raw_tracepoint/sys_enter or tp_btf/sys_enter), a syscall made, and .bss `out` compared byte for byte.
// Cases that must fail pass when the load fails. Needs root, clang (CLANG=clang-16 to pick another), gcc,
// libbpf-dev; run `node scripts/build.mjs` first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const dir = args[0] && resolve(args[0]);
if (!dir || !existsSync(join(dir, 'prog_tests', 'core_reloc.c'))) {
  console.error('usage: node scripts/core-selftests.mjs .../tools/testing/selftests/bpf [--filter REGEX] [--keep DIR]');
  process.exit(2);
}
const filter = args.includes('--filter') ? new RegExp(args[args.indexOf('--filter') + 1]) : undefined;
const work = args.includes('--keep') ? resolve(args[args.indexOf('--keep') + 1]) : mkdtempSync(join(tmpdir(), 'core-selftests-'));
mkdirSync(work, { recursive: true });

const { loadObject } = await import(join(root, 'build/src/bpf/elf/load-object.js'));
const { parseBpfObject } = await import(join(root, 'build/src/bpf/elf/bpf-object.js'));
const { candidatesFromBtfs } = await import(join(root, 'build/src/bpf/core/candidates.js'));
const { attachRawTracepoint } = await import(join(root, 'build/src/bpf/link.js'));
const { getpid, gettid } = await import(join(root, 'build/src/bpf/sys.js'));
const { dumpC } = await import(join(root, 'build/src/bpf/btf/cdump.js'));
const { loadKernelBtf } = await import(join(root, 'build/src/bpf/btf/index.js'));

// 1. Compile the programs and the target BTFs.
writeFileSync(join(work, 'vmlinux.h'), dumpC(loadKernelBtf()));
const progs = join(dir, 'progs');
const notCompiled = new Map();
for (const f of readdirSync(progs).filter((n) => /^(test_core_reloc_|btf__core_reloc_).*\.c$/.test(n))) {
  const out = join(work, f.replace(/\.c$/, '.bpf.o'));
  const r = spawnSync(process.env.CLANG ?? 'clang', ['-target', 'bpf', '-g', '-O2', '-D__TARGET_ARCH_x86', '-D__x86_64__', `-I${progs}`, `-I${dir}`, `-I${work}`,
    '-idirafter', '/usr/include/x86_64-linux-gnu', '-Wno-compare-distinct-pointer-types', '-c', join(progs, f), '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) notCompiled.set(f.replace(/\.c$/, '.bpf.o'), r.stderr.split('\n').find((l) => l.includes('error')) ?? 'clang failed');
}

// 2. The expected results: core_reloc.c's own table, compiled into a harness.
const src = readFileSync(join(dir, 'prog_tests', 'core_reloc.c'), 'utf8').split('\n');
const from = src.findIndex((l) => l.startsWith('#define STRUCT_TO_CHAR_PTR'));
const tableAt = src.findIndex((l) => l.startsWith('static const struct core_reloc_test_case test_cases[]'));
const to = src.findIndex((l, i) => i > tableAt && l === '};');
const harness = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include "progs/core_reloc_types.h"
#include "bpf_testmod/bpf_testmod.h"
#define CHECK(cond, tag, ...) ({ int __r = !!(cond); if (__r) fprintf(stderr, "harness: %s\\n", tag); __r; })
#define ASSERT_OK_PTR(p, name) ({ const void *__p = (p); __p && !libbpf_get_error(__p); })
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
static void trigger_module_test_read(int n) { (void)n; }
${src.slice(from, to + 1).join('\n')}
static void hex(const char *p, int n) { putchar('"'); for (int i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]); putchar('"'); }
int main(void) {
  for (size_t i = 0; i < ARRAY_SIZE(test_cases); i++) {
    struct core_reloc_test_case t = test_cases[i];
    char out[4096] = {0};
    if (t.output_len > 0) memcpy(out, t.output, t.output_len);
    t.output = out;
    int setup_ok = 1;
    if (t.setup) setup_ok = t.setup(&t) == 0;
    printf("{\\"name\\":\\"%s\\",\\"obj\\":\\"%s\\",\\"btf\\":%s%s%s,\\"prog\\":\\"%s\\",\\"tp\\":%s%s%s,\\"fails\\":%s,\\"testmod\\":%s,\\"setup_ok\\":%s,\\"input\\":",
      t.case_name, t.bpf_obj_file, t.btf_src_file ? "\\"" : "", t.btf_src_file ? t.btf_src_file : "null", t.btf_src_file ? "\\"" : "",
      t.prog_name, t.raw_tp_name ? "\\"" : "", t.raw_tp_name ? t.raw_tp_name : "null", t.raw_tp_name ? "\\"" : "",
      t.fails ? "true" : "false", t.needs_testmod ? "true" : "false", setup_ok ? "true" : "false");
    hex(t.input ? t.input : "", t.input_len);
    printf(",\\"output\\":");
    hex(out, t.output_len);
    printf("}\\n");
  }
  return 0;
}
`;
writeFileSync(join(work, 'harness.c'), harness);
execFileSync('gcc', ['-O0', '-w', `-I${dir}`, `-I${join(dir, 'progs')}`, '-o', join(work, 'harness'), join(work, 'harness.c'), '-lbpf'], { stdio: 'inherit' });
const cases = execFileSync(join(work, 'harness'), { cwd: work, encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));

// 3. Run each case with our loader.
process.title = 'test_progs'; // the kernel case compares the task's comm with "test_progs"
const myPidTgid = BigInt(getpid()) | (BigInt(gettid()) << 32n);
const results = [];
for (const c of cases) {
  if (filter && !filter.test(c.name)) continue;
  const res = (status, why = '') => results.push({ name: c.name, status, why });
  if (c.testmod) { res('skip', 'needs bpf_testmod.ko'); continue; }
  if (!c.setup_ok) { res('skip', 'setup failed'); continue; }
  if (notCompiled.has(c.obj)) { res('skip', `${c.obj}: ${notCompiled.get(c.obj)}`); continue; }
  if (c.btf && notCompiled.has(c.btf)) { res('skip', `${c.btf}: ${notCompiled.get(c.btf)}`); continue; }
  let obj;
  try {
    const coreTargets = c.btf ? candidatesFromBtfs(parseBpfObject(readFileSync(join(work, c.btf)), c.btf).btf) : undefined;
    obj = loadObject(join(work, c.obj), coreTargets ? { coreTargets } : {});
  } catch (e) {
    if (c.fails) res('pass', `load failed as expected: ${String(e.message).split('\n')[0]}`);
    else res('FAIL', `load failed: ${String(e.message).split('\n')[0]}`);
    continue;
  }
  const links = [];
  try {
    const bss = obj.map('.bss');
    const sec = bss.dataSection;
    const btf = obj.spec.btf;
    const dataVar = sec.variables.find((v) => v.name === 'data');
    const members = btf.members(dataVar.typeId);
    const off = (n) => { const m = members.find((x) => x.name === n); return m ? dataVar.offsetBytes + m.bitOffset / 8 : undefined; };
    const value = new Uint8Array(bss.map.spec.valueSize);
    const input = Buffer.from(c.input, 'hex');
    value.set(input, off('in'));
    if (off('my_pid_tgid') !== undefined) new DataView(value.buffer).setBigUint64(off('my_pid_tgid'), myPidTgid, true);
    bss.map.update(new Uint8Array(4), value);
    const p = obj.programs.find((x) => x.name === c.prog);
    if (c.tp) links.push(attachRawTracepoint(p.program, c.tp));
    else links.push(...obj.attachAll());
    getpid();
    const after = bss.map.lookup(new Uint8Array(4));
    // As core_reloc.c: a program that says skip (clang too old for a builtin) is a skip, then a load that should have failed is a failure.
    if (off('skip') !== undefined && after[off('skip')]) { res('skip', 'the program set data.skip (its builtins need a newer clang)'); continue; }
    if (c.fails) { res('FAIL', 'loaded, but must fail'); continue; }
    const want = Buffer.from(c.output, 'hex');
    const got = Buffer.from(after.subarray(off('out'), off('out') + want.length));
    if (got.equals(want)) res('pass');
    else res('FAIL', `output ${got.toString('hex')} != expected ${want.toString('hex')}`);
  } catch (e) {
    res('FAIL', String(e.message).split('\n')[0]);
  } finally {
    for (const l of links) l.close();
    obj.close();
  }
}
for (const r of results) console.log(`${r.status.padEnd(4)} ${r.name}${r.why ? `  (${r.why})` : ''}`);
const count = (s) => results.filter((r) => r.status === s).length;
console.log(`core_reloc selftests: ${count('pass')} passed, ${count('FAIL')} failed, ${count('skip')} skipped (of ${results.length})`);
if (!args.includes('--keep')) rmSync(work, { recursive: true, force: true });
process.exit(count('FAIL') ? 1 : 0);
