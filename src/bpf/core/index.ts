/**
 * @fileoverview The library surface of the CO-RE object loader (for the package's library
 * entry): load a clang-built BPF object, relocated against the running kernel, and attach it.
 *
 *   const obj = loadObject('prog.bpf.o', { globals: { target_tgid: pid } });
 *   obj.attachAll();
 *   … obj.map('counts')!.map.lookup(key) …
 *   obj.close();
 */
export { loadObject, ObjectLoadError } from '../elf/load-object.js';
export type { LoadedObject, LoadObjectOptions, ObjectMap, ObjectProgram } from '../elf/load-object.js';
export { parseBpfObject, readBpfObject, BpfObjectError } from '../elf/bpf-object.js';
export type { BpfObjectSpec } from '../elf/bpf-object.js';
export type { GlobalValue } from '../elf/globals.js';
export { candidatesFromBtfs, kernelCandidates } from './candidates.js';
export type { CoreCandidateSource } from './candidates.js';
export { CoreRelocationError } from './relocate.js';
