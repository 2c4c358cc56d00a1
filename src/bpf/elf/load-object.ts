/**
 * @fileoverview loadObject: a clang-built BPF object made live — libbpf's bpf_object__open +
 * bpf_object__load in TypeScript. Steps, in libbpf's order: the object's BTF into the kernel
 * (fixed up; optional: without it programs load without func/line info), maps (BTF-defined and
 * legacy, then one array map per global data section, `.rodata` frozen read-only so the verifier
 * prunes on its constants, and `.kconfig`), then per entry program: link subprograms, apply CO-RE
 * relocations against the running kernel's BTF, point map/data/extern references at their fds or
 * BTF ids, load. Static `values` initialisers of prog arrays and map-in-maps are written last.
 */
import { readFileSync } from 'node:fs';
import { loadKernelBtf, type Btf } from '../btf/index.js';
import { createMap, openMap, possibleCpus, type BpfMap, type MapSpec } from '../map.js';
import { mapInfoByFd, openPinned, pinObject } from './system-objects.js';
import { loadProgram, type BpfProgram } from '../program.js';
import { VerifierError } from '../errors.js';
import { closeLinks, type Link } from '../link.js';
import { closeFd } from '../sys.js';
import { MapFlag } from '../uapi.js';
import { applyCoreRelocation, CORE_POISON_IMM, CoreRelocationError, type CoreCandidateCache, type CoreReloResult } from '../core/relocate.js';
import { CoreSpecError } from '../core/spec.js';
import { kernelCandidates, type CoreCandidateSource } from '../core/candidates.js';
import { btfString, kconfigSizeBytes, parseBpfObject, type BpfObjectSpec, type DataSection, type ObjectFunction } from './bpf-object.js';
import { linkProgram, sourceLineMentioning, sourceLineOf, type LinkedProgram } from './link-program.js';
import type { MapDefinition } from './object-maps.js';
import { kernelReadyBtf, loadBtfIntoKernel } from './object-btf.js';
import { kconfigData } from './kconfig.js';
import { setGlobal, type GlobalValue } from './globals.js';
import { parseSectionName, type SectionDef } from './section-defs.js';
import { attachBySection } from './attach-section.js';
import { applyDataRelocations } from './data-relocations.js';

export interface LoadObjectOptions {
  /** Global variables to set before load (`const volatile` switches in .rodata, .data, .bss). */
  globals?: Readonly<Record<string, GlobalValue>>;
  /** Values for `__kconfig` externs that override the running kernel's. */
  kconfig?: Readonly<Record<string, string>>;
  /** Where CO-RE relocations find target types (default: the running kernel's BTF). */
  coreTargets?: CoreCandidateSource;
  /** Load only these programs (by function name); default: every program of a known section. */
  programs?: readonly string[];
  /** Verifier log level on failure. */
  logLevel?: 1 | 2;
  /**
   * Where maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)` are pinned (or found, when an
   * earlier run pinned them): `<pinRoot>/<map name>`, as libbpf does. Default /sys/fs/bpf.
   */
  pinRoot?: string;
}

export interface ObjectMap {
  name: string;
  kind: 'map' | 'data' | 'kconfig';
  map: BpfMap;
  definition: MapDefinition | undefined;
  dataSection: DataSection | undefined;
  keyTypeId: number | undefined;
  valueTypeId: number | undefined;
}

export interface ObjectProgram {
  name: string;
  section: string;
  def: SectionDef;
  program: BpfProgram;
  linked: LinkedProgram;
  coreRelocations: CoreReloResult[];
}

export interface LoadedObject {
  readonly spec: BpfObjectSpec;
  readonly maps: readonly ObjectMap[];
  readonly programs: readonly ObjectProgram[];
  readonly links: readonly Link[];
  /** Programs whose section is unknown, and why the object's BTF did not load (if it did not). */
  readonly warnings: readonly string[];
  map(name: string): ObjectMap | undefined;
  program(name: string): ObjectProgram | undefined;
  /** Attaches every program by its section; returns the new links (also kept in `links`). */
  attachAll(options?: { pid?: number }): Link[];
  close(): void;
}

/** A load failure with the program, the C source line and, for CO-RE, the relocation. */
export class ObjectLoadError extends Error {
  constructor(message: string, readonly program: string | undefined, readonly source: { file: string; line: number; text: string } | undefined,
    override readonly cause?: unknown) {
    super(message);
    this.name = 'ObjectLoadError';
  }
}

function where(src: { file: string; line: number; text: string } | undefined): string {
  return src ? `\n  at ${src.file}:${src.line}: ${src.text}` : '';
}

function internalMapName(objName: string, section: string): string {
  const pfx = Math.max(0, Math.min(15 - section.length, objName.length));
  return `${objName.slice(0, pfx)}${section}`.slice(0, 15);
}

/** Map types whose key and value the kernel wants as 0 (a declared __type(value) only documents records). */
const NO_KEY_VALUE: ReadonlySet<string> = new Set(['ringbuf', 'user_ringbuf']);

/** libbpf's pinning values of a BTF map definition. */
const PIN_NONE = 0;
const PIN_BY_NAME = 1;

/**
 * A map with `pinning = LIBBPF_PIN_BY_NAME`: the map already pinned at `<pinRoot>/<name>` when
 * it has the same type, key and value sizes, entries and flags (so two runs, or this object and
 * another, share it, as libbpf's bpf_object__reuse_map does); otherwise a new map pinned there.
 */
function createPinnedMap(def: MapDefinition, btfFd: number | undefined, pinRoot: string): BpfMap {
  const path = `${pinRoot}/${def.name}`;
  const spec = mapSpecOf(def);
  const fd = openPinned(path);
  if (fd !== undefined) {
    const have = mapInfoByFd(fd);
    const want = { type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags ?? 0 };
    const differs = (Object.keys(want) as (keyof typeof want)[]).filter((k) => have[k] !== want[k]);
    if (differs.length > 0) {
      closeFd(fd);
      throw new ObjectLoadError(`map '${def.name}': the map pinned at ${path} is not compatible (${differs.map((k) => `${k} ${have[k]}, wanted ${want[k]}`).join('; ')}): remove the pin or rename the map`, undefined, undefined);
    }
    return openMap(fd, spec);
  }
  const map = createDefinedMap(def, btfFd);
  try {
    pinObject(map.fd, path);
  } catch (e) {
    map.close();
    throw new ObjectLoadError(`map '${def.name}': cannot pin at ${path}: ${(e as Error).message} (is a bpf filesystem mounted at ${pinRoot}?)`, undefined, undefined, e);
  }
  return map;
}

function mapSpecOf(def: MapDefinition): MapSpec {
  const bare = NO_KEY_VALUE.has(def.type);
  return {
    name: def.name, type: def.type, keySize: bare ? 0 : def.keySize, valueSize: bare ? 0 : def.valueSize,
    maxEntries: def.type === 'perf_event_array' && def.maxEntries === 0 ? possibleCpus().length : def.maxEntries,
    flags: def.flags,
    ...(def.numaNode ? { numaNode: def.numaNode } : {}),
    ...(def.mapExtra ? { mapExtra: def.mapExtra } : {}),
  };
}

function createDefinedMap(def: MapDefinition, btfFd: number | undefined): BpfMap {
  const bare = NO_KEY_VALUE.has(def.type);
  const spec = mapSpecOf(def);
  if (def.inner) {
    const template = createDefinedMap(def.inner, undefined);
    try {
      return createMap({ ...spec, innerMapFd: template.fd });
    } finally {
      template.close();
    }
  }
  if (!bare && btfFd !== undefined && def.keyTypeId !== undefined && def.valueTypeId !== undefined) {
    try {
      return createMap({ ...spec, btfFd, btfKeyTypeId: def.keyTypeId, btfValueTypeId: def.valueTypeId });
    } catch {
      // The kernel may refuse BTF for this map type (ringbuf, perf arrays); the map works without it.
    }
  }
  return createMap(spec);
}

function createDataMap(objName: string, section: DataSection): BpfMap {
  const map = createMap({
    name: internalMapName(objName, section.name), type: 'array', keySize: 4, valueSize: section.bytes.length, maxEntries: 1,
    flags: section.readOnly ? MapFlag.RDONLY_PROG : 0,
  });
  map.update(new Uint8Array(4), section.bytes);
  if (section.readOnly) map.freeze();
  return map;
}

interface LoadState {
  obj: BpfObjectSpec;
  maps: ObjectMap[];
  btfFd: number | undefined;
  targets: CoreCandidateSource;
  /** One candidate cache for the whole object, as libbpf keeps it. */
  candidateCache: CoreCandidateCache;
  kernelBtf: () => Btf;
}

function attachBtfId(state: LoadState, def: SectionDef, prog: string): number | undefined {
  if (!def.btfTarget) return undefined;
  const btf = state.kernelBtf();
  const id = def.btfTarget.kind === 'func' ? btf.findFunc(def.btfTarget.name) : btf.findByName('typedef', def.btfTarget.name);
  if (id === undefined) {
    throw new ObjectLoadError(`program '${prog}': the running kernel's BTF has no ${def.btfTarget.kind} ${def.btfTarget.name} to attach to`, prog, undefined);
  }
  return id;
}

function applyCore(state: LoadState, linked: LinkedProgram, prog: string): CoreReloResult[] {
  const { obj } = state;
  const out: CoreReloResult[] = [];
  if (linked.coreRelos.length === 0) return out;
  if (!obj.btf) throw new ObjectLoadError(`program '${prog}': CO-RE relocations need the object's BTF`, prog, undefined);
  for (const { insnIndex, record } of linked.coreRelos) {
    const access = btfString(obj, record.accessStrOff);
    try {
      out.push(applyCoreRelocation(linked.insns, obj.btf, { insnIndex, typeId: record.typeId, access, kind: record.kind }, state.targets, state.candidateCache));
    } catch (e) {
      if (!(e instanceof CoreRelocationError) && !(e instanceof CoreSpecError)) throw e;
      const src = sourceLineOf(obj, linked, insnIndex);
      throw new ObjectLoadError(`program '${prog}': ${e.message}${where(src)}`, prog, src, e);
    }
  }
  return out;
}

function infoBytes(linked: LinkedProgram): { funcInfo: Uint8Array; lineInfo: Uint8Array } {
  const funcInfo = new Uint8Array(linked.funcInfo.length * 8);
  const fv = new DataView(funcInfo.buffer);
  linked.funcInfo.forEach((f, i) => { fv.setUint32(i * 8, f.insnOff, true); fv.setUint32(i * 8 + 4, f.typeId, true); });
  const lineInfo = new Uint8Array(linked.lineInfo.length * 16);
  const lv = new DataView(lineInfo.buffer);
  linked.lineInfo.forEach((l, i) => {
    lv.setUint32(i * 16, l.insnOff, true);
    lv.setUint32(i * 16 + 4, l.fileNameOff, true);
    lv.setUint32(i * 16 + 8, l.lineOff, true);
    lv.setUint32(i * 16 + 12, ((l.line << 10) | l.column) >>> 0, true);
  });
  return { funcInfo, lineInfo };
}

/** Explains a verifier rejection: a poisoned CO-RE relocation by name, otherwise the C line. */
function explainRejection(state: LoadState, e: VerifierError, entry: ObjectFunction, linked: LinkedProgram, relos: CoreReloResult[],
  reloIndexByInsn: Map<number, number>): ObjectLoadError {
  const idx = e.insnIndex;
  const src = idx !== undefined ? sourceLineOf(state.obj, linked, idx) : undefined;
  const poisonHit = e.log.includes(`unknown#${CORE_POISON_IMM}`) || e.log.includes(`unknown#${CORE_POISON_IMM >>> 0}`);
  if (poisonHit && idx !== undefined) {
    const r = reloIndexByInsn.get(idx) ?? reloIndexByInsn.get(idx - 1);
    const relo = r !== undefined ? relos[r] : undefined;
    if (relo && r !== undefined) {
      const at = sourceLineMentioning(state.obj, linked, linked.coreRelos[r]!.insnIndex, relo.fieldName);
      return new ObjectLoadError(
        `program '${entry.name}': CO-RE relocation ${relo.kindName} of ${relo.description} cannot be satisfied: ` +
        `the running kernel's ${relo.rootName} has no ${relo.fieldName ? `field ${relo.fieldName}` : 'matching type'}${where(at)}`, entry.name, at, e);
    }
  }
  return new ObjectLoadError(`program '${entry.name}': the verifier rejected it: ${e.reason}${idx !== undefined ? ` (instruction ${idx})` : ''}${where(src)}`,
    entry.name, src, e);
}

function loadOne(state: LoadState, entry: ObjectFunction, def: SectionDef, options: LoadObjectOptions): ObjectProgram {
  const { obj } = state;
  const linked = linkProgram(obj, entry);
  const relos = applyCore(state, linked, entry.name);
  const reloIndexByInsn = new Map<number, number>();
  linked.coreRelos.forEach((r, i) => { if (relos[i]?.poisoned) reloIndexByInsn.set(r.insnIndex, i); });
  applyDataRelocations(state.obj, linked, state.maps, state.kernelBtf);
  const { funcInfo, lineInfo } = infoBytes(linked);
  const base = {
    name: entry.name, type: def.progType, insns: linked.insns, license: obj.license || 'GPL',
    ...(def.expectedAttachType !== undefined ? { expectedAttachType: def.expectedAttachType } : {}),
    ...(def.btfTarget ? { attachBtfId: attachBtfId(state, def, entry.name) } : {}),
    kernVersion: obj.kernVersion, flags: def.flags, ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  };
  let program: BpfProgram;
  try {
    program = state.btfFd !== undefined && funcInfo.length > 0
      ? loadProgram({ ...base, btfFd: state.btfFd, funcInfo, lineInfo })
      : loadProgram(base);
  } catch (e) {
    if (e instanceof VerifierError) throw explainRejection(state, e, entry, linked, relos, reloIndexByInsn);
    throw e;
  }
  return { name: entry.name, section: entry.sectionName, def, program, linked, coreRelocations: relos };
}

function initStaticValues(state: LoadState, programs: ObjectProgram[]): void {
  const { obj } = state;
  const mapsSec = obj.elf.sections.find((s) => s.name === '.maps');
  if (!mapsSec) return;
  const relocs = obj.dataRelocations.get(mapsSec.index) ?? [];
  for (const m of state.maps) {
    const d = m.definition;
    if (!d || d.valuesOffsetBytes === undefined) continue;
    const start = d.sectionOffsetBytes + d.valuesOffsetBytes;
    for (const r of relocs) {
      if (r.offsetBytes < start || r.offsetBytes >= mapsSec.sizeBytes) continue;
      const index = (r.offsetBytes - start) / 8;
      const next = state.maps.find((x) => x.definition && x.definition.sectionOffsetBytes > d.sectionOffsetBytes);
      if (next?.definition && r.offsetBytes >= next.definition.sectionOffsetBytes) continue;
      const fd = programs.find((p) => p.name === r.symbol.name)?.program.fd ?? state.maps.find((x) => x.name === r.symbol.name)?.map.fd;
      if (fd === undefined) throw new ObjectLoadError(`map '${m.name}': values[${index}] = ${r.symbol.name}, which was not loaded`, undefined, undefined);
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, index, true);
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, fd, true);
      m.map.update(key, value);
    }
  }
}

function createMaps(state: LoadState, options: LoadObjectOptions): void {
  const { obj } = state;
  for (const def of obj.maps) {
    if (def.pinning !== PIN_NONE && def.pinning !== PIN_BY_NAME) throw new ObjectLoadError(`map '${def.name}': pinning ${def.pinning} is not supported (only LIBBPF_PIN_BY_NAME)`, undefined, undefined);
    const map = def.pinning === PIN_BY_NAME ? createPinnedMap(def, state.btfFd, options.pinRoot ?? '/sys/fs/bpf') : createDefinedMap(def, state.btfFd);
    state.maps.push({ name: def.name, kind: 'map', map, definition: def, dataSection: undefined, keyTypeId: def.keyTypeId, valueTypeId: def.valueTypeId });
  }
  for (const section of obj.dataSections) {
    if (section.bytes.length === 0) continue;
    const map = createDataMap(obj.name, section);
    state.maps.push({ name: section.name, kind: 'data', map, definition: undefined, dataSection: section, keyTypeId: undefined, valueTypeId: section.datasecTypeId });
  }
  const kcSize = kconfigSizeBytes(obj);
  if (kcSize > 0 && obj.btf) {
    const data = kconfigData(obj.btf, obj.externs, kcSize, new Map(Object.entries(options.kconfig ?? {})));
    const map = createMap({ name: internalMapName(obj.name, '.kconfig'), type: 'array', keySize: 4, valueSize: kcSize, maxEntries: 1, flags: MapFlag.RDONLY_PROG });
    map.update(new Uint8Array(4), data);
    map.freeze();
    state.maps.push({ name: '.kconfig', kind: 'kconfig', map, definition: undefined, dataSection: undefined, keyTypeId: undefined, valueTypeId: undefined });
  }
}

/** Opens, relocates and loads a BPF object (bytes or a path). Programs are not attached yet: call attachAll(). */
export function loadObject(input: Uint8Array | string, options: LoadObjectOptions = {}): LoadedObject {
  const obj = typeof input === 'string' ? parseBpfObject(readFileSync(input), input) : parseBpfObject(input);
  for (const [name, value] of Object.entries(options.globals ?? {})) setGlobal(obj, name, value);
  const warnings: string[] = [];
  let btfFd: number | undefined;
  const ready = kernelReadyBtf(obj);
  if (ready) {
    const r = loadBtfIntoKernel(ready);
    if ('fd' in r) btfFd = r.fd;
    else warnings.push(`the object's BTF did not load (${r.error}); programs load without line info`);
  }
  let kernelBtf: Btf | undefined;
  const state: LoadState = {
    obj, maps: [], btfFd, targets: options.coreTargets ?? kernelCandidates(), candidateCache: new Map(),
    kernelBtf: () => (kernelBtf ??= loadKernelBtf()),
  };
  const programs: ObjectProgram[] = [];
  const links: Link[] = [];
  let usdtSpecs = 0;
  const close = (): void => {
    closeLinks(links.splice(0));
    for (const p of programs) p.program.close();
    for (const m of state.maps) m.map.close();
    if (btfFd !== undefined) closeFd(btfFd);
    btfFd = undefined;
  };
  try {
    createMaps(state, options);
    for (const entry of obj.programs) {
      if (options.programs && !options.programs.includes(entry.name)) continue;
      const def = parseSectionName(entry.sectionName);
      if (!def) { warnings.push(`program '${entry.name}': unknown section "${entry.sectionName}", not loaded`); continue; }
      programs.push(loadOne(state, entry, def, options));
    }
    initStaticValues(state, programs);
  } catch (e) {
    close();
    throw e;
  }
  return {
    spec: obj, maps: state.maps, programs, links, warnings,
    map: (name) => state.maps.find((m) => m.name === name),
    program: (name) => programs.find((p) => p.name === name),
    attachAll(opts = {}) {
      const made: Link[] = [];
      const usdt = { specs: state.maps.find((m) => m.name === '__bpf_usdt_specs')?.map, nextSpecId: () => usdtSpecs++ };
      for (const p of programs) {
        // Kept in `links` as they are made, so close() also ends those made before a failing attach.
        const l = attachBySection(p.program, p.section, p.def, { ...opts, usdt });
        links.push(...l);
        made.push(...l);
      }
      return made;
    },
    close,
  };
}
