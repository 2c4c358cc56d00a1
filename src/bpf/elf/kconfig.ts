/**
 * @fileoverview Values of `extern ... __kconfig` variables, as libbpf fills its `.kconfig` map:
 * LINUX_KERNEL_VERSION from the kernel release (KERNEL_VERSION(a, b, min(c, 255))), the
 * LINUX_HAS_* conveniences, and CONFIG_* options from /proc/config.gz or /boot/config-$(uname -r)
 * (y/m/n as bool, char or `enum libbpf_tristate`; numbers; quoted strings into char arrays).
 */
import { existsSync, readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Btf } from '../btf/index.js';
import type { ExternSymbol } from './bpf-object.js';

export class KconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KconfigError';
  }
}

/** KERNEL_VERSION(a, b, c) of a release string such as `6.1.0-57-amd64` (as libbpf reads uname). */
export function kernelVersionCode(rel: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

let configCache: Map<string, string> | undefined;

/** The running kernel's config: CONFIG_NAME → raw value (`y`, `m`, `42`, `"text"`). */
export function kernelConfig(): Map<string, string> {
  if (configCache) return configCache;
  let text = '';
  if (existsSync('/proc/config.gz')) text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  else if (existsSync(`/boot/config-${release()}`)) text = readFileSync(`/boot/config-${release()}`, 'utf8');
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  configCache = out;
  return out;
}

function builtinValue(name: string): string | undefined {
  switch (name) {
    case 'LINUX_KERNEL_VERSION': return String(kernelVersionCode(release()));
    case 'LINUX_HAS_BPF_COOKIE': return kernelVersionCode(release()) >= kernelVersionCode('5.15') ? 'y' : 'n';
    case 'LINUX_HAS_SYSCALL_WRAPPER': return arch() === 'x64' || arch() === 'arm64' || arch() === 's390x' ? 'y' : 'n';
    default: return undefined;
  }
}

/** Writes `raw` into `out` at `ext.dataOffset` as the extern's BTF type wants. */
function writeValue(btf: Btf, ext: ExternSymbol, raw: string, out: DataView): void {
  const id = btf.resolve(ext.typeId ?? 0);
  const t = btf.typeById(id);
  const at = ext.dataOffset;
  const bad = (): never => { throw new KconfigError(`extern ${ext.name}: value "${raw}" does not fit ${btf.typeToString(ext.typeId ?? 0)}`); };
  const tristate = raw === 'y' ? 1 : raw === 'm' ? 2 : raw === 'n' ? 0 : undefined;
  if (t.kind === 'int' && t.isBool) { if (tristate === undefined || tristate === 2) bad(); out.setUint8(at, tristate!); return; }
  if (t.kind === 'int' && t.isChar && t.sizeBytes === 1 && tristate !== undefined) { out.setUint8(at, raw.charCodeAt(0)); return; }
  if (t.kind === 'enum' && tristate !== undefined) { out.setUint32(at, tristate, true); return; }
  if (t.kind === 'array') {
    const m = /^"(.*)"$/.exec(raw);
    if (!m) bad();
    const bytes = Buffer.from(m![1]!.replace(/\\(.)/g, '$1'), 'utf8');
    const n = Math.min(bytes.length, t.nelems - 1);
    for (let i = 0; i < n; i++) out.setUint8(at + i, bytes[i]!);
    return;
  }
  if (t.kind === 'int' || t.kind === 'enum') {
    if (tristate !== undefined) { out.setUint8(at, tristate); return; }
    let v: bigint;
    try { v = BigInt(raw); } catch { return bad(); }
    const size = t.sizeBytes;
    if (size === 8) out.setBigUint64(at, BigInt.asUintN(64, v), true);
    else if (size === 4) out.setUint32(at, Number(BigInt.asUintN(32, v)), true);
    else if (size === 2) out.setUint16(at, Number(BigInt.asUintN(16, v)), true);
    else out.setUint8(at, Number(BigInt.asUintN(8, v)));
    return;
  }
  bad();
}

/** The `.kconfig` map's contents for these externs. Missing non-weak options are errors. */
export function kconfigData(btf: Btf, externs: readonly ExternSymbol[], sizeBytes: number, overrides: ReadonlyMap<string, string> = new Map()): Uint8Array {
  const data = new Uint8Array(sizeBytes);
  const view = new DataView(data.buffer);
  for (const ext of externs) {
    if (ext.section !== 'kconfig') continue;
    const raw = overrides.get(ext.name) ?? builtinValue(ext.name) ?? (ext.name.startsWith('CONFIG_') ? kernelConfig().get(ext.name) : undefined);
    if (raw === undefined) {
      if (ext.weak) continue;
      throw new KconfigError(`extern ${ext.name} __kconfig: the running kernel's config does not set it (declare it __weak to accept 0)`);
    }
    writeValue(btf, ext, raw, view);
  }
  return data;
}
