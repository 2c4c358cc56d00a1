/**
 * @fileoverview End to end for `dtrace -h`: a C program using a generated header for a
 * provider with two probes (int and char * arguments) is compiled with gcc, run, and read
 * back with the stapsdt reader: notes, argument operands and semaphores must be right, the
 * semaphore must drive PROV_PROBE_ENABLED(), and -DDTRACE_PROBES_DISABLED must leave no notes.
 * Needs gcc (skips without it); no root or BPF needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSource, type Span } from '../../src/diag/source.js';
import type { ProviderDecl, TypeName } from '../../src/lang/ast.js';
import { generateHeader } from '../../src/cli/header.js';
import { readElfFile, findSection, readNotes } from '../../src/bpf/elf/elf.js';
import { readUsdtProbes, usdtArgType } from '../../src/bpf/elf/stapsdt.js';

const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const sp: Span = { source: makeSource('demo.d', 'provider demo { probe request__start(int, char *); probe done(int); };'), start: 0, end: 1 };
const t = (words: string[], pointer = false): TypeName => ({
  kind: 'TypeName', span: sp, specifiers: { kind: 'BuiltinTypeSpec', span: sp, words }, qualifiers: [],
  ...(pointer ? { declarator: { kind: 'PointerDeclarator', span: sp, qualifiers: [], inner: { kind: 'NameDeclarator', span: sp } } } : {}),
});
const DEMO: ProviderDecl = {
  kind: 'ProviderDecl', span: sp, name: 'demo', probes: [
    { kind: 'ProviderProbe', span: sp, name: 'request__start', params: [{ kind: 'ParamDecl', span: sp, type: t(['int']) }, { kind: 'ParamDecl', span: sp, type: t(['char'], true) }] },
    { kind: 'ProviderProbe', span: sp, name: 'done', params: [{ kind: 'ParamDecl', span: sp, type: t(['unsigned', 'int']) }] },
  ],
};

const PROGRAM = `#include <stdio.h>
#include "demo.h"
int main(int argc, char **argv) {
	int enabled = 0;
	for (int i = 0; i < 3; i++) {
		if (DEMO_REQUEST_START_ENABLED()) enabled++;
		DEMO_REQUEST_START(i * argc, argv[0]);
	}
	DEMO_DONE(7u);
	printf("enabled=%d done=%d\\n", enabled, (int)DEMO_DONE_ENABLED());
	return 0;
}
`;

function build(dir: string, out: string, extra: string[]): void {
  const r = spawnSync('gcc', ['-Wall', '-Wextra', '-Werror', ...extra, '-o', join(dir, out), join(dir, 'main.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function run(path: string): string {
  const r = spawnSync(path, [], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('generated header: notes, operands and semaphores, at -O0 and -O2', { skip: !hasGcc && 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-header-'));
  try {
    writeFileSync(join(dir, 'demo.h'), generateHeader(DEMO, { guardName: 'demo.h' }));
    writeFileSync(join(dir, 'main.c'), PROGRAM);
    for (const opt of ['-O0', '-O2']) {
      build(dir, `prog${opt}`, [opt]);
      const path = join(dir, `prog${opt}`);
      const probes = readUsdtProbes(path);
      assert.deepEqual(probes.map((p) => [p.provider, p.noteName, p.name, p.function]).sort(),
        [['demo', 'done', 'done', 'main'], ['demo', 'request__start', 'request-start', 'main']], opt);
      const start = probes.find((p) => p.name === 'request-start')!;
      const done = probes.find((p) => p.name === 'done')!;
      assert.deepEqual(start.args.map(usdtArgType), ['int32_t', 'uint64_t'], `${opt}: ${start.argsText}`);
      assert.deepEqual(done.args.map(usdtArgType), ['uint32_t'], `${opt}: ${done.argsText}`);
      assert.ok(['register', 'memory', 'constant'].includes(start.args[0]!.location.kind));
      if (opt === '-O2') assert.deepEqual(done.args[0]!.location, { kind: 'constant', value: 7n }, 'a literal argument is an immediate');

      const elf = readElfFile(path);
      const text = findSection(elf, '.text')!;
      for (const p of probes) {
        assert.ok(p.pc >= text.addr && p.pc < text.addr + text.sizeBytes, 'pc in .text');
        assert.equal(elf.buf[p.pcFileOffset], 0x90, 'a nop at the probe');
      }
      const probesSection = findSection(elf, '.probes')!;
      for (const p of probes) {
        assert.ok(p.semaphore >= probesSection.addr && p.semaphore < probesSection.addr + probesSection.sizeBytes, 'semaphore in .probes');
        assert.equal(elf.buf.readUInt16LE(p.semaphoreFileOffset!), 0);
      }
      assert.notEqual(start.semaphore, done.semaphore);
      assert.equal(run(path), 'enabled=0 done=0\n');

      // What the kernel does while a uprobe with ref_ctr_offset is attached: count the
      // semaphore up. Doing it in the file shows the offset is the one _ENABLED() reads.
      const patched = Buffer.from(elf.buf);
      patched.writeUInt16LE(1, start.semaphoreFileOffset!);
      writeFileSync(`${path}-enabled`, patched, { mode: 0o755 });
      assert.equal(run(`${path}-enabled`), 'enabled=3 done=0\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two translation units share one semaphore per probe', { skip: !hasGcc && 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-header-'));
  try {
    writeFileSync(join(dir, 'demo.h'), generateHeader(DEMO, { guardName: 'demo.h' }));
    writeFileSync(join(dir, 'main.c'), PROGRAM.replace('int main', 'void other(void);\nint main').replace('return 0;', 'other();\n\treturn 0;'));
    writeFileSync(join(dir, 'other.c'), '#include "demo.h"\nvoid other(void) { DEMO_DONE(1u); }\n');
    const r = spawnSync('gcc', ['-O2', '-Wall', '-Werror', '-o', join(dir, 'prog'), join(dir, 'main.c'), join(dir, 'other.c')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const done = readUsdtProbes(join(dir, 'prog')).filter((p) => p.name === 'done');
    assert.equal(done.length, 2);
    assert.deepEqual(new Set(done.map((p) => p.function)), new Set(['main', 'other']));
    assert.equal(done[0]!.semaphore, done[1]!.semaphore);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-DDTRACE_PROBES_DISABLED leaves no notes and no semaphores', { skip: !hasGcc && 'gcc not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'usdt-header-'));
  try {
    writeFileSync(join(dir, 'demo.h'), generateHeader(DEMO, { guardName: 'demo.h' }));
    writeFileSync(join(dir, 'main.c'), PROGRAM);
    // Disabled probe macros expand to nothing (as Oracle's do), so argc/argv go unused.
    build(dir, 'prog', ['-O2', '-DDTRACE_PROBES_DISABLED', '-Wno-unused-parameter']);
    const path = join(dir, 'prog');
    assert.deepEqual(readUsdtProbes(path), []);
    const elf = readElfFile(path);
    assert.equal(readNotes(elf).filter((n) => n.owner === 'stapsdt').length, 0);
    assert.equal(findSection(elf, '.probes'), undefined);
    assert.equal(run(path), 'enabled=0 done=0\n');
    assert.ok(!readFileSync(path).includes('demo_done_semaphore'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
