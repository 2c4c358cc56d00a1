/**
 * @fileoverview `dtrace bpf …`: run clang-built BPF objects and look at what is loaded.
 *   dtrace bpf run FILE.o [--set NAME=VALUE]... [--kconfig NAME=VALUE]... [--for SECONDS] [-p PID]
 *     loads the object (CO-RE relocated against the running kernel), attaches every program by
 *     its SEC() name, prints ring-buffer records (BTF-typed when the map declares a value type,
 *     hex otherwise) and, at exit (time up, Ctrl-C, SIGTERM), dumps every map as
 *     `bpftool map dump` does.
 *   dtrace bpf prog|map|link list, dtrace bpf prog dump ID, dtrace bpf map dump ID
 *   dtrace bpf gen types FILE.o
 */
import { readFileSync } from 'node:fs';
import { loadObject, ObjectLoadError, type LoadedObject, type ObjectMap } from '../bpf/elf/load-object.js';
import { openRingBuffer, type RingBuffer } from '../bpf/ringbuf.js';
import { openPerfBuffer, type PerfBuffer } from '../bpf/elf/perf-buffer.js';
import { SysError, UnsupportedError } from '../bpf/errors.js';
import type { GlobalValue } from '../bpf/elf/globals.js';
import { compactJson, formatBtfValue, formatTypedEntries, hexBytes } from './bpf-format.js';
import { runInspectCommand } from './bpf-inspect.js';
import { generateTypes } from './bpf-gen.js';

const USAGE = `Usage: dtrace bpf run FILE.o [--set NAME=VALUE]... [--kconfig NAME=VALUE]... [--for SECONDS] [-p PID]
       dtrace bpf prog list | prog dump ID | map list | map dump ID | link list
       dtrace bpf gen types FILE.o
  run        load FILE.o (CO-RE relocated for this kernel), attach its programs by SEC() name,
             print ring-buffer records, dump every map at exit
  --set      set a global (const volatile in .rodata, or .data/.bss) before load
  --kconfig  override a __kconfig extern (CONFIG_X=y, LINUX_KERNEL_VERSION=...)
  --for      stop after SECONDS (default: at Ctrl-C or SIGTERM)
  -p PID     attach uprobes to this process only
`;

interface RunArgs { file: string; globals: Record<string, GlobalValue>; kconfig: Record<string, string>; seconds: number | undefined; pid: number | undefined }

function parseRunArgs(argv: string[]): RunArgs | string {
  const out: RunArgs = { file: '', globals: {}, kconfig: {}, seconds: undefined, pid: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | undefined => (eq > 0 ? arg.slice(eq + 1) : argv[++i]);
    const pair = (v: string | undefined): [string, string] | string => {
      const at = v?.indexOf('=') ?? -1;
      if (!v || at <= 0) return `${flag} needs NAME=VALUE`;
      return [v.slice(0, at), v.slice(at + 1)];
    };
    switch (flag) {
      case '--set': case '-s': { const p = pair(value()); if (typeof p === 'string') return p; out.globals[p[0]] = p[1]; break; }
      case '--kconfig': { const p = pair(value()); if (typeof p === 'string') return p; out.kconfig[p[0]] = p[1]; break; }
      case '--for': {
        const v = Number(value());
        if (!Number.isFinite(v) || v <= 0) return '--for needs a positive number of seconds';
        out.seconds = v;
        break;
      }
      case '-p': case '--pid': {
        const v = Number(value());
        if (!Number.isInteger(v) || v <= 0) return `${flag} needs a process id`;
        out.pid = v;
        break;
      }
      default:
        if (arg.startsWith('-') || out.file) return `unexpected argument "${arg}"`;
        out.file = arg;
    }
  }
  return out.file ? out : 'no object file given';
}

function mapHeader(m: ObjectMap): string {
  return `map '${m.name}' (${m.map.spec.type}, max_entries ${m.map.spec.maxEntries}):\n`;
}

/** One map, as `bpftool map dump` prints it: BTF-typed JSON when the types are known, hex otherwise. */
export function dumpObjectMap(obj: LoadedObject, m: ObjectMap): string {
  const btf = obj.spec.btf;
  const type = m.map.spec.type;
  if (type === 'ringbuf' || type === 'user_ringbuf' || type === 'perf_event_array') return '';
  let out = mapHeader(m);
  if (m.kind !== 'map') {
    const value = m.map.lookup(new Uint8Array(4));
    if (!value) return out + '(empty)\n';
    const variables = m.kind === 'kconfig'
      ? obj.spec.externs.filter((x) => x.section === 'kconfig').map((x) => ({ name: x.name, typeId: x.typeId, offsetBytes: x.dataOffset, sizeBytes: x.sizeBytes }))
      : m.dataSection?.variables ?? [];
    if (btf && variables.length > 0) {
      const fields = variables.filter((v) => v.name).map((v) =>
        `    ${JSON.stringify(v.name)}: ${v.typeId !== undefined ? formatBtfValue(btf, v.typeId, value, v.offsetBytes, 4) : hexBytes(value.subarray(v.offsetBytes, v.offsetBytes + v.sizeBytes))}`);
      return out + `{\n${fields.join(',\n')}\n}\n`;
    }
    return out + `value: ${hexBytes(value)}\n`;
  }
  const { keys, values } = m.map.lookupBatch();
  const typed = btf !== undefined && m.keyTypeId !== undefined && m.valueTypeId !== undefined;
  if (!typed) {
    for (let i = 0; i < keys.length; i++) out += `key: ${hexBytes(keys[i]!)}  value: ${hexBytes(values[i]!)}\n`;
    return out + `Found ${keys.length} element${keys.length === 1 ? '' : 's'}\n`;
  }
  return out + formatTypedEntries(btf, m.keyTypeId!, m.valueTypeId!, keys, values, m.map.perCpu ? m.map.valueStrideBytes : undefined);
}

function describeError(e: unknown): string {
  if (e instanceof ObjectLoadError || e instanceof SysError || e instanceof UnsupportedError) return e.message;
  if (e instanceof Error && /Error$/.test(e.name) && e.name !== 'TypeError' && e.name !== 'RangeError') return e.message;
  throw e;
}

/**
 * Stop requests — SIGINT, SIGTERM, the reader going away (| head) — caught from the start of the
 * run: a signal that arrives while the object loads, or just after "attached" is printed, still
 * ends the run through the cleanup path instead of killing the process with probes half made.
 */
function catchStop(seconds: number | undefined): { stopped: Promise<void>; readerGone: () => boolean; release: () => void } {
  let readerGone = false;
  let resolveStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => { resolveStop = resolve; });
  const stop = (): void => resolveStop();
  const onError = (e: NodeJS.ErrnoException): void => { if (e.code === 'EPIPE') { readerGone = true; stop(); } };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.on('error', onError);
  // The timer (or a long idle interval) keeps the event loop alive while nothing else does.
  const timer = seconds !== undefined ? setTimeout(stop, seconds * 1000) : setInterval(() => undefined, 1 << 30);
  return {
    stopped,
    readerGone: () => readerGone,
    release() { process.off('SIGINT', stop); process.off('SIGTERM', stop); clearTimeout(timer); },
  };
}

async function runObject(args: RunArgs): Promise<number> {
  const stop = catchStop(args.seconds);
  try {
    return await runLoaded(args, stop);
  } finally {
    stop.release();
  }
}

async function runLoaded(args: RunArgs, stop: ReturnType<typeof catchStop>): Promise<number> {
  let obj: LoadedObject;
  try {
    obj = loadObject(readFileSync(args.file), { globals: args.globals, kconfig: args.kconfig });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') { process.stderr.write(`dtrace: bpf run: ${args.file}: no such file\n`); return 1; }
    process.stderr.write(`dtrace: bpf run: ${args.file}: ${describeError(e)}\n`);
    return 1;
  }
  const rings: { ring: RingBuffer; print: (view: DataView, offset: number, length: number) => void }[] = [];
  const perfs: { perf: PerfBuffer; print: (cpu: number, bytes: Uint8Array) => void }[] = [];
  let status = 0;
  try {
    for (const w of obj.warnings) process.stderr.write(`dtrace: bpf run: warning: ${w}\n`);
    obj.attachAll(args.pid !== undefined ? { pid: args.pid } : {});
    for (const m of obj.maps) {
      if (m.map.spec.type === 'perf_event_array') {
        const perf = openPerfBuffer(m.map);
        const print = (_cpu: number, bytes: Uint8Array): void => { process.stdout.write(`${m.name}: ${hexBytes(bytes)}\n`); };
        perf.wait(() => perf.drain(print));
        perfs.push({ perf, print });
        continue;
      }
      if (m.map.spec.type !== 'ringbuf') continue;
      const ring = openRingBuffer(m.map);
      const btf = obj.spec.btf;
      const print = (view: DataView, offset: number, length: number): void => {
        const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, length);
        process.stdout.write(btf && m.valueTypeId !== undefined
          ? `${m.name}: ${compactJson(formatBtfValue(btf, m.valueTypeId, new Uint8Array(bytes)))}\n`
          : `${m.name}: ${hexBytes(bytes)}\n`);
      };
      ring.wait(() => ring.drain(print));
      rings.push({ ring, print });
    }
    process.stderr.write(`dtrace: bpf run: ${obj.programs.length} program${obj.programs.length === 1 ? '' : 's'} loaded, ${obj.links.length} attached\n`);
    await stop.stopped;
    for (const l of obj.links) l.close();
    for (const { ring, print } of rings) {
      ring.drain(print);
      ring.stopWaiting();
    }
    for (const { perf, print } of perfs) {
      perf.drain(print);
      if (perf.lost > 0) process.stderr.write(`dtrace: bpf run: ${perf.lost} perf buffer record${perf.lost === 1 ? '' : 's'} lost\n`);
    }
    // Our reader went away (| head): stop quietly, as the D tracer does.
    if (!stop.readerGone()) for (const m of obj.maps) process.stdout.write(dumpObjectMap(obj, m));
  } catch (e) {
    process.stderr.write(`dtrace: bpf run: ${args.file}: ${describeError(e)}\n`);
    status = 1;
  } finally {
    for (const { ring } of rings) ring.close();
    for (const { perf } of perfs) perf.close();
    obj.close();
  }
  return status;
}

/** Runs `dtrace bpf …` with the words after `bpf`; returns the exit status. */
export async function runBpfCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'run') {
    const args = parseRunArgs(rest);
    if (typeof args === 'string') { process.stderr.write(`dtrace: bpf run: ${args}\n${USAGE}`); return 2; }
    return runObject(args);
  }
  if (command === 'gen') {
    if (rest[0] !== 'types' || !rest[1]) { process.stderr.write(`dtrace: bpf gen: expected "types FILE.o"\n${USAGE}`); return 2; }
    try {
      process.stdout.write(generateTypes(rest[1]));
      return 0;
    } catch (e) {
      process.stderr.write(`dtrace: bpf gen types: ${rest[1]}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (command === 'prog' || command === 'map' || command === 'link') return runInspectCommand(command, rest, USAGE);
  process.stderr.write(`dtrace: bpf: unknown command "${command}"\n${USAGE}`);
  return 2;
}
