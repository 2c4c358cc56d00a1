/**
 * @fileoverview A workload whose system-call string arguments sit in pages it has never
 * touched: `count` path names, each alone at the start of a `strideBytes`-aligned block of
 * .rodata, opened in turn with openat(2). With a stride of at least the kernel's fault-around
 * window (64 KiB by default) no earlier fault maps a name's page, so at sys_enter every name
 * is unreadable without a page fault. Generated and compiled with gcc at test time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FreshPagesWorkload {
  binary: string;
  /** The path names, in the order the program opens them. */
  names: string[];
  /** Removes the generated source and binary (64 MiB at the default stride). */
  remove(): void;
}

export function buildFreshPagesWorkload(count: number, strideBytes = 65536): FreshPagesWorkload {
  if (!Number.isInteger(count) || count < 1 || strideBytes % 4096 !== 0) throw new RangeError('fresh-pages workload: bad count or stride');
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-fresh-pages-'));
  // Paths that do not exist: openat fails with ENOENT, but only after copying the name in.
  const names = Array.from({ length: count }, (_, i) => `/nonexistent-dtrace-ts/fresh-page-name-${String(i).padStart(5, '0')}`);
  const asm = names.map((n, i) => `  ".balign ${strideBytes}\\n" "fresh_name_${i}: .asciz \\"${n}\\"\\n"`).join('\n');
  const source = `#include <fcntl.h>
#include <unistd.h>
__asm__(".section .rodata.fresh,\\"a\\"\\n"
${asm}
  ".previous\\n");
${names.map((_, i) => `extern const char fresh_name_${i}[];`).join('\n')}
static const char *const names[] = { ${names.map((_, i) => `fresh_name_${i}`).join(', ')} };
int main(void) {
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
    int fd = openat(AT_FDCWD, names[i], O_RDONLY);
    if (fd >= 0) close(fd);
  }
  return 0;
}
`;
  const sourcePath = join(dir, 'fresh_pages.c');
  const binary = join(dir, 'fresh_pages');
  writeFileSync(sourcePath, source);
  execFileSync('gcc', ['-O2', '-no-pie', '-o', binary, sourcePath], { stdio: ['ignore', 'pipe', 'pipe'] });
  return { binary, names, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Drops a file's pages from the page cache (GNU dd: iflag=nocache with count=0 covers the
 * whole file), so that even the kernel's fault-around finds none of them to map early.
 */
export function dropFromPageCache(path: string): void {
  execFileSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: ['ignore', 'pipe', 'pipe'] });
}
