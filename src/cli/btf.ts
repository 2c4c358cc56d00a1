/**
 * @fileoverview `dtrace btf dump [--file F] [--base B] [--format c|raw] [--no-enum-mode]`: prints a
 * BTF set as a C header (what `bpftool btf dump file F format c` prints, i.e. vmlinux.h) or in
 * bpftool's raw listing. The default file is the running kernel's /sys/kernel/btf/vmlinux; a
 * module's BTF under /sys/kernel/btf/ is read as split BTF on top of vmlinux automatically.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { dumpC } from '../bpf/btf/cdump.js';
import { KERNEL_BTF_PATH, loadBtf, loadKernelBtf, type Btf } from '../bpf/btf/index.js';
import { dumpRaw } from '../bpf/btf/rawdump.js';

const USAGE = `Usage: dtrace btf dump [--file FILE] [--base FILE] [--format c|raw] [--no-enum-mode]
  --file FILE     BTF to dump (default ${KERNEL_BTF_PATH})
  --base FILE     base BTF when FILE is split BTF (default: vmlinux for /sys/kernel/btf/<module>)
  --format c|raw  a C header like bpftool's "format c" (default), or bpftool's raw listing
  --no-enum-mode  omit __attribute__((mode(byte|word))) on 1- and 8-byte enums (libbpf 1.1 style)
`;

interface DumpArgs { file: string; base: string | undefined; format: 'c' | 'raw'; enumMode: boolean }

function parseDumpArgs(argv: string[]): DumpArgs | string {
  const args: DumpArgs = { file: KERNEL_BTF_PATH, base: undefined, format: 'c', enumMode: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--file': case '-f': {
        const v = value();
        if (v === undefined) return `${flag} needs a file name`;
        args.file = v;
        break;
      }
      case '--base': case '-B': {
        const v = value();
        if (v === undefined) return `${flag} needs a file name`;
        args.base = v;
        break;
      }
      case '--format': {
        const v = value();
        if (v !== 'c' && v !== 'raw') return `unknown format "${v ?? ''}" (expected c or raw)`;
        args.format = v;
        break;
      }
      case '--no-enum-mode':
        args.enumMode = false;
        break;
      default:
        return `unknown option "${arg}"`;
    }
  }
  return args;
}

function loadForDump(args: DumpArgs): Btf {
  if (args.file === KERNEL_BTF_PATH && !args.base) return loadKernelBtf();
  let base: Btf | undefined;
  if (args.base) base = loadBtf(readFileSync(args.base));
  else if (dirname(args.file) === dirname(KERNEL_BTF_PATH) && basename(args.file) !== 'vmlinux') base = loadKernelBtf();
  return loadBtf(readFileSync(args.file), base);
}

/** Runs `dtrace btf …` with the words after `btf`; returns the exit status. */
export function runBtfCommand(argv: string[]): number {
  const words = argv[0] === 'btf' ? argv.slice(1) : argv;
  const [command, ...rest] = words;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'dump') {
    process.stderr.write(`dtrace: btf: unknown command "${command}"\n${USAGE}`);
    return 2;
  }
  const args = parseDumpArgs(rest);
  if (typeof args === 'string') {
    process.stderr.write(`dtrace: btf dump: ${args}\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    const btf = loadForDump(args);
    text = args.format === 'c' ? dumpC(btf, { enumModeAttributes: args.enumMode }) : dumpRaw(btf);
  } catch (e) {
    process.stderr.write(`dtrace: btf dump: ${args.file}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(text);
  return 0;
}
