/**
 * @fileoverview The `dtrace` command: a thin layer over the library (compile → load → run).
 * It parses the command line, reads and preprocesses the programs, reports diagnostics the way
 * dtrace(8) does (plus a caret and hint outside the test harness), and runs the result.
 */
import { readFileSync, writeSync, openSync, writeFileSync } from 'node:fs';
import { parseCommandLine, setOption, pragmaOptionMessage, applySetopt, headerOutputPath, type OptionValues, type CliOptions } from './options.js';
import { generateHeader } from './header.js';
import { helpText } from './usage.js';
import { missingPrivileges } from './privileges.js';
import { DTRACE_TS_VERSION, D_VERSION } from '../version.js';
import { makeSource, type Source } from '../diag/source.js';
import { DiagnosticSink, type Diagnostic } from '../diag/diagnostic.js';
import { renderDiagnostic } from '../diag/render.js';
import { parse } from '../lang/parser.js';
import { preprocess } from '../lang/preprocess.js';
import type * as A from '../lang/ast.js';
import { matchProgram, compileProgram } from '../codegen/compile.js';
import { RECORD_HEADER_BYTES } from '../program/spec.js';
import { run, LoadError, catchStopSignals, usesUserSymbols } from '../runtime/session.js';
import { exportOptions } from '../api/export-options.js';
import { keepProcessImage } from '../consume/usyms.js';
import { createProcess, grabProcess, ProcessError, type CreatedProcess, type WatchedProcess } from '../runtime/process.js';
import { dieOfSignal } from '../bpf/sys.js';
import { setUsdtNotices } from '../providers/usdt.js';
import { disassemble } from '../bpf/asm/disasm.js';
import { link } from '../bpf/asm/encode.js';
import { kernelCaps } from '../bpf/features.js';
import type { KernelCaps } from '../bpf/kernel-caps.js';
import { Helper } from '../bpf/uapi.js';
import { allProviders, matchProbes } from '../providers/registry.js';
import { SysError, UnsupportedError } from '../bpf/errors.js';
import { checkProgram } from './check-bridge.js';
import { runningKernel } from './kernel-lookups.js';
import { kernelTypeSource } from '../check/btf-types.js';
import { setTargetCommand, setTargetPid, declareTargetsKnown } from '../providers/pid.js';
import { matchProbeField } from '../bpf/elf/glob.js';
import type { Provider, ProbeSite, Attribute, Stability, DependencyClass } from '../providers/provider.js';

process.title = 'dtrace';

const testing = process.env._DTRACE_TESTING !== undefined;

/**
 * Set once a reader of our output has gone (EPIPE, e.g. `| head -1`): the run stops, writes are
 * dropped, and the process then dies of SIGPIPE as DTrace does (no stack trace, no message).
 */
let outputClosed = false;

function writeOut(fd: number, text: string): void {
  if (!text || outputClosed) return;
  try {
    writeSync(fd, Buffer.from(text, 'latin1'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    outputClosed = true;
  }
}
const stderr = (text: string) => writeOut(2, text.endsWith('\n') ? text : text + '\n');

/** strerror(3)'s text for a Node file-system error. */
function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    EACCES: 'Permission denied', EISDIR: 'Is a directory', ENOENT: 'No such file or directory', EROFS: 'Read-only file system',
    ENOSPC: 'No space left on device', ENOTDIR: 'Not a directory', ELOOP: 'Too many levels of symbolic links', EPERM: 'Operation not permitted',
  };
  return (code && texts[code]) ?? (e as Error).message;
}

function optBool(o: OptionValues, name: string): boolean {
  const v = o.get(name);
  return v !== undefined && v !== 'false' && v !== 0n;
}
/**
 * The macro variables of this dtrace process: `$pid`, `$ppid`, `$pgid`, `$sid`, `$uid`, `$gid`,
 * `$euid`, `$egid` (the process group and session are the fields after `(comm)` in
 * /proc/self/stat: Node has no getpgid/getsid), and `$target` when a -c/-p process is named.
 */
function processMacroVars(target: number | undefined): Record<string, number | undefined> {
  let pgid: number | undefined;
  let sid: number | undefined;
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    pgid = Number(fields[2]);
    sid = Number(fields[3]);
  } catch {
    // No /proc: $pgid and $sid stay undefined (D_MACRO_UNDEF), as where DTrace cannot tell.
  }
  return {
    target, pid: process.pid, ppid: process.ppid, pgid, sid,
    uid: process.getuid?.(), gid: process.getgid?.(), euid: process.geteuid?.(), egid: process.getegid?.(),
  };
}

/** bufpolicy=ring: the principal buffer's size bounds the newest records kept. */
function ringPolicy(o: OptionValues): { ringBufferBytes?: number } {
  return o.get('bufpolicy') === 'ring' ? { ringBufferBytes: optNum(o, 'bufsize', 4 << 20) } : {};
}

/** The compile options of stack sizes and -x cpu. */
function stackAndCpuOptions(o: OptionValues): { stackframes: number; ustackframes: number; jstackframes: number; cpu?: number } {
  return {
    stackframes: optNum(o, 'stackframes', 20), ustackframes: optNum(o, 'ustackframes', 100), jstackframes: optNum(o, 'jstackframes', 50),
    ...(o.has('cpu') ? { cpu: optNum(o, 'cpu', 0) } : {}),
  };
}

function optNum(o: OptionValues, name: string, dflt: number): number {
  const v = o.get(name);
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return dflt;
}

interface ProgramText {
  source: Source;
  /** What the "matched N probes" message calls it. */
  label: string;
  kind: 'script' | 'description';
}

/** The text DTrace shows for a -n description: cut at the first `{`, `/` or `;`. */
function descriptionLabel(text: string): string {
  const m = /[{/;]/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/**
 * -P, -m and -f name the provider, module or function field (dtrace.c's probe specifier
 * context): the description's missing fields are added after it — before a predicate or
 * action that follows it, not at the end of the text.
 */
function withFieldSuffix(text: string, suffix: string): string {
  const m = /^(\s*)([^\s{/]*)/.exec(text)!;
  const end = m[0].length;
  return `${m[1]}${m[2]}${suffix}${text.slice(end)}`;
}

function readPrograms(cli: CliOptions): ProgramText[] | string {
  const out: ProgramText[] = [];
  for (const p of cli.programs) {
    if (p.kind === 'file') {
      let text: string;
      try { text = readFileSync(p.path === '-' ? '/dev/stdin' : p.path, 'latin1'); } catch { return `failed to open ${p.path}: No such file or directory`; }
      // The interpreter line (`#!/usr/sbin/dtrace -s`) is blanked, keeping offsets and line
      // numbers, so that neither cpp (-C) nor the lexer sees it.
      if (text.startsWith('#!')) { const nl = text.indexOf('\n'); text = ' '.repeat(nl < 0 ? text.length : nl) + (nl < 0 ? '' : text.slice(nl)); }
      out.push({ source: makeSource(p.path, text, 'script'), label: p.path, kind: 'script' });
    } else {
      const text = p.flag === 'n' ? p.text : p.flag === 'i' ? resolveProbeId(p.text) : withFieldSuffix(p.text, p.flag === 'P' ? ':::' : p.flag === 'm' ? '::' : ':');
      const label = descriptionLabel(p.text);
      out.push({ source: makeSource(p.text, text, 'description'), label, kind: 'description' });
    }
  }
  return out;
}

function render(d: Diagnostic, errtags: boolean): string {
  return renderDiagnostic(d, { errtags, caret: !testing });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'btf') return (await import('./btf.js')).runBtfCommand(argv.slice(1));
  if (argv[0] === 'bpf') return (await import('./bpf.js')).runBpfCommand(argv.slice(1));
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '--version')) {
    writeOut(1, argv[0] === '--help' ? helpText() : `dtrace-ts ${DTRACE_TS_VERSION} (D ${D_VERSION}, as Oracle DTrace ${D_VERSION}), node ${process.version}\n`);
    return 0;
  }
  const parsed = parseCommandLine(argv, process.env);
  if (!parsed.ok) {
    writeOut(2, parsed.message.endsWith('\n') ? parsed.message : parsed.message + '\n');
    if (parsed.hint && !testing) writeOut(2, `hint: ${parsed.hint}\n`);
    return parsed.status;
  }
  const cli = parsed.cli;
  if (cli.mode === 'version') { writeOut(1, `dtrace: Oracle D ${D_VERSION}\n`); return 0; }
  if (cli.requiresRoot) {
    const hint = missingPrivileges();
    if (hint !== undefined) {
      stderr('dtrace: failed to initialize dtrace: DTrace requires additional privileges');
      if (!testing) stderr(`hint: ${hint}`);
      return 1;
    }
  }
  // Defaults, then DTRACE_OPT_* from the environment, then the command line's flags and -x.
  const options = cli.optionValues;
  // -h and -G write their own file to -o; everything else appends its output there.
  let outFd = 1;
  if (cli.outputFile && cli.mode !== 'header' && cli.mode !== 'elf') {
    try {
      outFd = openSync(cli.outputFile, 'a');
    } catch (e) {
      stderr(`dtrace: failed to open output file '${cli.outputFile}': ${errnoText(e)}`);
      return 1;
    }
  }
  const out = (text: string) => writeOut(outFd, text);

  if (cli.programs.length === 0) {
    if (cli.mode === 'list') return listAll(out, cli.verbose);
    stderr('dtrace: no probes specified');
    return 1;
  }
  const programs = readPrograms(cli);
  if (typeof programs === 'string') { stderr(`dtrace: ${programs}`); return 1; }

  // -c and -p: processes are created (stopped) and grabbed before compiling, as DTrace does, so
  // $target is known and a command that cannot run fails before any tracing.
  const created: CreatedProcess[] = [];
  const watched: WatchedProcess[] = [];
  const killChild = () => { for (const c of created) c.kill(); for (const w of watched) w.close(); };
  try {
    if (cli.mode === 'exec') {
      for (const cmd of cli.commands) {
        const c = createProcess(cmd);
        created.push(c);
        watched.push(c);
        // pid/USDT probes of $target resolve against the command it runs.
        setTargetCommand(c.pid, c.executable, c.heldAfterExec);
      }
      for (const pid of cli.grabPids) { watched.push(grabProcess(pid)); setTargetPid(pid); }
    } else if (cli.grabPids[0] !== undefined) setTargetPid(cli.grabPids[0]);
  } catch (e) {
    killChild();
    if (e instanceof ProcessError) { stderr(`dtrace: ${e.message}`); return 1; }
    throw e;
  }
  declareTargetsKnown();
  const target = watched[0]?.pid ?? cli.grabPids[0];

  const errtags = optBool(options, 'errtags');
  const sink = new DiagnosticSink();
  const items: A.TopLevel[] = [];
  const perProgram: { prog: ProgramText; ast: A.Program }[] = [];
  for (const prog of programs) {
    let source = prog.source;
    if (cli.options.has('cpp') || optBool(options, 'cpp')) {
      const r = preprocess(source, { defines: cli.cppDefines, undefs: cli.cppUndefs, includes: cli.cppIncludes, extraArgs: [], traditional: options.get('stdc') === 's' /* -Xs: K&R, no __STDC__ */ });
      if ('error' in r) { stderr(r.error); killChild(); return 1; }
      source = r.source;
    }
    const ast = parse(source, sink, {
      macroArgs: [prog.kind === 'script' ? prog.label : 'dtrace', ...cli.macroArgs],
      macroVars: processMacroVars(target),
      defaultArgs: optBool(options, 'defaultargs'),
      argRef: optBool(options, 'argref'),
      allowEmpty: optBool(options, 'empty'),
      pspec: optBool(options, 'pspec'),
      // `(uint)x`: kernel typedefs (BTF) are type names too; asked only for unknown names.
      isTypeName: (n) => kernelTypeSource()?.typedefType(n) !== undefined,
    });
    if (sink.hasErrors) break;
    perProgram.push({ prog, ast });
    for (const item of ast.items) items.push(item);
  }
  if (sink.hasErrors) { stderr(render(sink.errors[0]!, errtags)); killChild(); return 1; }
  // Pragmas set options before the program is checked and compiled.
  for (const item of items) {
    if (item.kind !== 'Pragma' || item.directive !== 'option') continue;
    for (const arg of item.args) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      const value = eq < 0 ? true : arg.slice(eq + 1);
      const r = setOption(options, name, value, { inProgram: true });
      if (!r.ok) sink.error('D_PRAGMA_OPTSET', pragmaOptionMessage(name, value, r.reason), item.span);
    }
    if (sink.hasErrors) break;
  }
  if (sink.hasErrors) { stderr(render(sink.errors[0]!, optBool(options, 'errtags'))); killChild(); return 1; }
  if (cli.mode === 'header') return writeHeader(cli, perProgram.map((p) => p.ast));
  if (cli.mode === 'elf') return explainElfMode(cli, programs);
  const whole: A.Program = { kind: 'Program', span: perProgram[0]?.ast.span ?? { source: programs[0]!.source, start: 0, end: 0 }, items };
  const destructive = optBool(options, 'destructive') || cli.options.has('w');
  const strsize = optNum(options, 'strsize', 256);
  // scratchsize from -x or a pragma (the store holds DTrace's 8-byte header too).
  const scratchsizeBytes = optNum(options, 'scratchsize', 256 + 8) - 8;
  const checked = checkProgram(whole, sink, { strsize, destructive, scratchsizeBytes, texts: programs.map((p) => p.source.text), version: cli.options.get('version') as string | undefined });
  if (sink.hasErrors) { stderr(render(sink.errors[0]!, optBool(options, 'errtags'))); killChild(); return 1; }
  if (checked?.usesDestructive && !destructive && cli.mode === 'exec') {
    stderr('dtrace: could not enable tracing: Destructive actions not allowed');
    killChild();
    return 1;
  }

  if (cli.mode === 'list') return listMatching(perProgram.map((p) => p.ast), out, cli.verbose);

  // What code generation may use here (probed lazily); DTRACE_TS_KERNEL may emulate an older kernel.
  let kernel: KernelCaps;
  try { kernel = kernelCaps(); } catch (e) { stderr(`dtrace: ${(e as Error).message}`); killChild(); return 2; }
  const zdefs = optBool(options, 'zdefs');
  const match = matchProgram(whole, sink, { zdefs });
  if (sink.hasErrors) {
    stderr(render(sink.errors[0]!, optBool(options, 'errtags')));
    const unmatched = whole.items.flatMap((i) => (i.kind === 'Clause' ? i.probes : [])).find((d) => unavailableHint(d));
    if (unmatched) stderr(`dtrace: ${unavailableHint(unmatched)!}`);
    killChild();
    return 1;
  }
  const compiled = compileProgram(whole, match, sink, {
    strsize, destructive, target, macroArgs: cli.macroArgs,
    walltimeOffsetNs: wallOffsetNs(),
    bufsizeBytes: optNum(options, 'bufsize', 4 << 20), aggsizeBytes: optNum(options, 'aggsize', 4 << 20),
    dynvarsizeBytes: optNum(options, 'dynvarsize', 1 << 20), zdefs,
    checked, quiet: optBool(options, 'quiet'), scratchsizeBytes: optNum(options, 'scratchsize', 256 + 8),
    nspec: optNum(options, 'nspec', 1), specsizeBytes: optNum(options, 'specsize', 4 << 20),
    ...stackAndCpuOptions(options),
    kernel, kernelLookups: runningKernel,
  });
  if (!compiled || sink.hasErrors) { stderr(render(sink.errors[0]!, optBool(options, 'errtags'))); killChild(); return 1; }
  if (cli.showBpf) {
    const helperName = (id: number) => { for (const [k, v] of Object.entries(Helper)) if (v === id) return `bpf_${k}`; return undefined; };
    for (const p of compiled.programs) stderr(`\n${p.name} (${p.bpfType}):\n${disassemble(link(p.insns), { withSource: true, helperName })}`);
  }
  if (cli.mode === 'compile') return 0;

  const quiet = optBool(options, 'quiet');
  if (cli.verbose) setUsdtNotices(stderr);
  // A signal from now on (even before tracing starts) ends the run cleanly (session.ts).
  const signals = catchStopSignals();
  if (!quiet) {
    for (const { prog, ast } of perProgram) {
      let n = 0;
      for (const item of ast.items) if (item.kind === 'Clause') n += match.clauses.find((c) => c.clause === item)?.probes.length ?? 0;
      stderr(`dtrace: ${prog.kind} '${prog.label}' matched ${n} probe${n === 1 ? '' : 's'}`);
    }
  }
  if (match.matchedPairs === 0 && !zdefs) { stderr('dtrace: no probes matched'); killChild(); return 1; }
  if (destructive && !quiet) stderr('dtrace: allowing destructive actions');
  // DTrace refuses an enabling whose largest record does not fit the principal buffer, or
  // whose dynamic variables or aggregations cannot hold a single element (dtrace-utils'
  // EDT_BUFTOOSMALL; illumos would round dynvarsize up — the corpus holds dtrace-utils' rule).
  if (minimumBufsize(compiled.sizes.maxRecordBytes) > optNum(options, 'bufsize', 4 << 20)
    || compiled.sizes.maxDynvarElementBytes > optNum(options, 'dynvarsize', 1 << 20)
    || compiled.sizes.maxAggregationElementBytes > optNum(options, 'aggsize', 4 << 20)) {
    stderr('dtrace: could not enable tracing: Enabling exceeds size of buffer');
    killChild();
    return 1;
  }
  const aggsort = aggsortOptions(options);
  try {
    return await run(compiled, {
      quiet, testing, flowindent: optBool(options, 'flowindent'), droptags: optBool(options, 'droptags'), rawbytes: optBool(options, 'rawbytes'),
      aggsort, specsizeBytes: optNum(options, 'specsize', 4 << 20), aggrateMs: optNum(options, 'aggrate', 0) / 1e6, ...ringPolicy(options),
      switchrateMs: Math.max(1, Math.round(optNum(options, 'switchrate', 10_000_000) / 1e6)) || 10,
      out, err: stderr, ...exportOptions(options, quiet ? undefined : stderr, quiet || !process.stderr.isTTY ? undefined : (t) => writeOut(2, t)),
      targetPid: target,
      // setopt() of an aggsort option changes the printa()s that follow it.
      setopt: (name, value) => { const msg = applySetopt(options, name, value); Object.assign(aggsort, aggsortOptions(options)); return msg; },
      stopRequested: () => outputClosed,
      signals,
      onAttached: () => {
        if (watched.length === 0) return undefined;
        for (const c of created) c.release(usesUserSymbols(compiled) ? keepProcessImage : undefined); // frames of a target gone resolve
        // The run ends when every -c and -p process has exited.
        return Promise.all(watched.map((w) => w.exited)).then(() => undefined);
      },
    });
  } finally {
    signals.release();
    killChild();
  }
}

/**
 * The smallest principal buffer DTrace accepts (dt_work.c): a perf event header (8 bytes) and
 * the largest record as dtrace-utils lays it out — a 16-byte header where ours has 8 — and at
 * least the error record every enabling can emit (header and five 8-byte values).
 */
function minimumBufsize(maxRecordBytes: number): number {
  const PERF_EVENT_HEADER = 8, ORACLE_RECORD_HEADER = 16, ERROR_RECORD = 16 + 5 * 8;
  return PERF_EVENT_HEADER + Math.max(maxRecordBytes - RECORD_HEADER_BYTES + ORACLE_RECORD_HEADER, ERROR_RECORD);
}

/** The aggregation sort options as the consumer reads them. */
function aggsortOptions(options: OptionValues): { aggsortkey: boolean; aggsortrev: boolean; aggsortpos?: number; aggsortkeypos?: number } {
  return {
    aggsortkey: optBool(options, 'aggsortkey'), aggsortrev: optBool(options, 'aggsortrev'),
    aggsortpos: options.has('aggsortpos') ? optNum(options, 'aggsortpos', 0) : undefined,
    aggsortkeypos: options.has('aggsortkeypos') ? optNum(options, 'aggsortkeypos', 0) : undefined,
  };
}

/** Offset from CLOCK_MONOTONIC (bpf_ktime_get_ns) to the wall clock, in ns. */
function wallOffsetNs(): bigint {
  const mono = process.hrtime.bigint();
  const wall = BigInt(Date.now()) * 1_000_000n;
  return wall - mono;
}

function listLine(id: number | string, prov: string, mod: string, func: string, name: string): string {
  return `${String(id).padStart(5)} ${prov.padStart(10)} ${mod.padStart(17)} ${func.padStart(33)} ${name}\n`;
}

// ---------------------------------------------------------------------------------------------
// -h and -G

/** `-h`: the C header for every provider the programs declare (header.ts), to -o or script.h. */
function writeHeader(cli: CliOptions, asts: A.Program[]): number {
  const where = headerOutputPath(cli);
  if (!where.ok) { writeOut(2, where.message); return where.status; }
  const providers = asts.flatMap((a) => a.items.filter((i): i is A.ProviderDecl => i.kind === 'ProviderDecl'));
  try {
    writeFileSync(where.path, generateHeader(providers, { guardName: where.path }));
  } catch (e) {
    stderr(`dtrace: failed to open header file '${where.path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    return 1;
  }
  return 0;
}

/**
 * `-G`: on Solaris it links DOF into an object file. Here the header from `-h` already puts
 * each probe's stapsdt note and semaphore into the program, so there is nothing to link; an
 * empty relocatable object is still written where -G would write one, so build rules that
 * link it keep working.
 */
function explainElfMode(cli: CliOptions, programs: ProgramText[]): number {
  const first = programs[0];
  const path = cli.outputFile
    ?? (first?.kind === 'script' && first.label.endsWith('.d') ? `${first.label.slice(first.label.lastIndexOf('/') + 1, -2)}.o` : 'd.out');
  stderr(`dtrace: -G is not needed on Linux: headers made by dtrace -h embed the probes (stapsdt notes) in the program itself; wrote an empty object file ${path}`);
  try {
    writeFileSync(path, emptyRelocatableElf());
  } catch (e) {
    stderr(`dtrace: failed to create ${path}: ${(e as Error).message}`);
    return 1;
  }
  return 0;
}

/** An x86-64 ELF relocatable object with no content: the null section and .shstrtab. */
function emptyRelocatableElf(): Buffer {
  const EHDR = 64, SHDR = 64;
  const names = Buffer.from('\0.shstrtab\0', 'latin1');
  const shoff = (EHDR + names.length + 7) & ~7;
  const b = Buffer.alloc(shoff + 2 * SHDR);
  b.set([0x7f, 0x45, 0x4c, 0x46, /*ELFCLASS64*/ 2, /*ELFDATA2LSB*/ 1, /*EV_CURRENT*/ 1], 0);
  b.writeUInt16LE(/*ET_REL*/ 1, 16);
  b.writeUInt16LE(/*EM_X86_64*/ 62, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(shoff), 40);
  b.writeUInt16LE(EHDR, 52);
  b.writeUInt16LE(SHDR, 58);
  b.writeUInt16LE(2, 60);
  b.writeUInt16LE(/*e_shstrndx*/ 1, 62);
  names.copy(b, EHDR);
  const sh = shoff + SHDR;
  b.writeUInt32LE(/*sh_name*/ 1, sh);
  b.writeUInt32LE(/*SHT_STRTAB*/ 3, sh + 4);
  b.writeBigUInt64LE(BigInt(EHDR), sh + 24);
  b.writeBigUInt64LE(BigInt(names.length), sh + 32);
  b.writeBigUInt64LE(1n, sh + 48);
  return b;
}

// ---------------------------------------------------------------------------------------------
// -l: probe ids, listing and -lv details (cmd/dtrace.c list_probe, print_probe_info)

/**
 * Probe ids as DTrace gives them: BEGIN, END, ERROR are 1–3, then every provider's listed
 * probes in registry order; a probe a provider creates on demand (pid offsets, profile-N)
 * gets the next id when first seen.
 */
interface ProbeIds {
  all(): { id: number; provider: Provider; site: ProbeSite }[];
  idOf(site: ProbeSite): number;
}

function probeIds(): ProbeIds {
  let table: { id: number; provider: Provider; site: ProbeSite }[] | undefined;
  const byKey = new Map<string, number>();
  const key = (s: ProbeSite) => `${s.provider}:${s.module}:${s.function}:${s.name}`;
  const all = () => {
    if (!table) {
      table = [];
      for (const provider of allProviders()) {
        for (const site of provider.list()) {
          const id = table.length + 1;
          table.push({ id, provider, site });
          byKey.set(key(site), id);
        }
      }
    }
    return table;
  };
  return {
    all,
    idOf(site) {
      all();
      let id = byKey.get(key(site));
      if (id === undefined) {
        id = byKey.size + 1;
        byKey.set(key(site), id);
      }
      return id;
    },
  };
}

const STABILITY_ORDER: readonly Stability[] = ['Internal', 'Private', 'Obsolete', 'External', 'Unstable', 'Evolving', 'Stable', 'Standard'];
const CLASS_ORDER: readonly DependencyClass[] = ['Unknown', 'CPU', 'Platform', 'Group', 'ISA', 'Common'];
const PRIVATE_ATTR: Attribute = { name: 'Private', data: 'Private', class: 'Unknown' };

/** dt_attr_min: the lower of each component. */
function attrMin(a: Attribute, b: Attribute): Attribute {
  const s = (x: Stability, y: Stability) => (STABILITY_ORDER.indexOf(x) <= STABILITY_ORDER.indexOf(y) ? x : y);
  const c = (x: DependencyClass, y: DependencyClass) => (CLASS_ORDER.indexOf(x) <= CLASS_ORDER.indexOf(y) ? x : y);
  return { name: s(a.name, b.name), data: s(a.data, b.data), class: c(a.class, b.class) };
}

/**
 * The `-v` block under a listed probe (print_probe_info): the description's attributes are
 * the minimum over the provider and each non-empty field (dt_probe_info), then the argument
 * attributes and args[] types (translated type when there is one).
 */
function probeInfoText(provider: Provider, site: ProbeSite): string {
  const pa = provider.attributes;
  let attr = pa?.provider ?? PRIVATE_ATTR;
  if (pa) {
    if (site.module !== '') attr = attrMin(attr, pa.module);
    if (site.function !== '') attr = attrMin(attr, pa.function);
    if (site.name !== '') attr = attrMin(attr, pa.name);
  }
  const args = pa?.args ?? PRIVATE_ATTR;
  const block = (title: string, a: Attribute) =>
    `\n\t${title}\n\t\tIdentifier Names: ${a.name}\n\t\tData Semantics:   ${a.data}\n\t\tDependency Class: ${a.class}\n`;
  let text = block('Probe Description Attributes', attr) + block('Argument Attributes', args) + '\n\tArgument Types\n';
  const descs = provider.argDescs?.(site) ?? [];
  descs.forEach((d, i) => { text += `\t\targs[${i}]: ${d.xlate ?? d.native}\n`; });
  if (descs.length === 0) text += '\t\tNone\n';
  const mechanism = provider.mechanism?.(site);
  if (mechanism) text += `\n\tImplemented On\n\t\t${mechanism}\n`;
  return text + '\n';
}

function listAll(out: (t: string) => void, verbose: boolean): number {
  let text = listLine('ID', 'PROVIDER', 'MODULE', 'FUNCTION', 'NAME');
  for (const { id, provider, site } of probeIds().all()) {
    text += listLine(id, site.provider, site.module, site.function, site.name);
    if (verbose) text += probeInfoText(provider, site);
  }
  out(text);
  return 0;
}

/** Adds, as a second stderr line, why a provider a description names offers no probes here. */
function unavailableHint(d: { provider: string; module: string; function: string; name: string }): string | undefined {
  for (const p of allProviders()) {
    if (!matchProbeField(d.provider, p.name) || d.provider === '') continue;
    const reason = p.unavailableReason?.(d);
    if (reason) return reason;
  }
  return undefined;
}

function listMatching(asts: A.Program[], out: (t: string) => void, verbose: boolean): number {
  let text = listLine('ID', 'PROVIDER', 'MODULE', 'FUNCTION', 'NAME');
  const ids = probeIds();
  for (const ast of asts) {
    for (const item of ast.items) {
      if (item.kind !== 'Clause') continue;
      for (const d of item.probes) {
        const found = matchProbes(d);
        if (found.length === 0) {
          out(text);
          text = '';
          stderr(`dtrace: failed to match ${d.provider}:${d.module}:${d.function}:${d.name}: No probe matches description`);
          const hint = unavailableHint(d);
          if (hint) stderr(`dtrace: ${hint}`);
        }
        for (const { provider, site } of found) {
          text += listLine(ids.idOf(site), site.provider, site.module, site.function, site.name);
          if (verbose) text += probeInfoText(provider, site);
        }
      }
    }
  }
  out(text);
  return 0;
}

/**
 * `-i ID [[predicate] action]`: the probe with that id, as a full description, followed by
 * whatever came after the id. An unknown id is left as a probe name, which matches nothing.
 */
function resolveProbeId(text: string): string {
  const m = /^\s*(\d+)(.*)$/s.exec(text);
  if (!m) return text;
  const probe = probeIds().all().find((p) => p.id === Number(m[1]));
  if (!probe) return text;
  const s = probe.site;
  return `${s.provider}:${s.module}:${s.function}:${s.name}${m[2]}`;
}

main(process.argv.slice(2)).then(
  (status) => {
    if (outputClosed) dieOfSignal(13 /* SIGPIPE */);
    process.exitCode = status;
  },
  (e: unknown) => {
    if (e instanceof LoadError) stderr(`dtrace: ${e.message}`);
    else if (e instanceof UnsupportedError || e instanceof SysError) stderr(`dtrace: could not enable tracing: ${e.message}`);
    // Recursion over a program nested thousands deep (parentheses, ifs) runs out of stack in
    // the parser, checker or code generator: a limit of the compiler, said as such.
    else if (e instanceof RangeError && /call stack/.test(e.message)) stderr('dtrace: failed to compile: the program nests too deeply for the compiler (thousands of levels of parentheses, blocks or if statements)');
    else stderr(`dtrace: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
