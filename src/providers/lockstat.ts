/**
 * @fileoverview The lockstat provider, `lockstat:vmlinux::<name>`, with dtrace-utils' probe names
 * and arguments (dt_prov_lockstat.c):
 *
 *   adaptive-acquire  (struct mutex *)             adaptive-release (struct mutex *)
 *   adaptive-acquire-error (struct mutex *, int error)
 *   spin-acquire, spin-release (spinlock_t *)
 *   rw-acquire, rw-release     (struct rwlock *, int RW_WRITER 0 / RW_READER 1)
 *   adaptive-block    (struct mutex *, uint64_t ns asleep)
 *   adaptive-spin     (struct mutex *, uint64_t ns spun)
 *   spin-spin         (spinlock_t *, uint64_t ns spun)
 *   rw-spin           (struct rwlock *, uint64_t ns spun, int RW_WRITER 0 / RW_READER 1)
 *   rw-block          (struct rw_semaphore *, uint64_t ns asleep, int RW_WRITER / RW_READER),
 *                     illumos' name for a reader/writer lock that sleeps (Linux's rwsem)
 *
 * Each contention probe measures from the moment a thread starts waiting to the moment it holds
 * the lock, per thread (a thread that sleeps may wake on another CPU):
 *   - where the kernel has lock:contention_begin/end (5.19 on), between those tracepoints, told
 *     apart by their flags (LCB_F_MUTEX, LCB_F_SPIN, LCB_F_READ, LCB_F_WRITE); a mutex's
 *     optimistic spin that gives up and sleeps counts as a block, not a spin;
 *   - elsewhere, as dtrace-utils does, on kernel functions: mutex_lock's entry and return around
 *     the time spent in schedule_preempt_disabled (adaptive-block).
 * adaptive-acquire and adaptive-release hang on mutex_lock's return and mutex_unlock's entry,
 * adaptive-acquire-error on mutex_lock_interruptible/_killable's return, spin-* and rw-* acquire
 * and release on the returns of _raw_{spin,read,write}_lock* (trylock: when it returned 1) and
 * the entries of their unlock functions (fbt only: no tracepoint marks an uncontended lock). The lock fires the probe when the thread has it (adaptive-block, -spin: the
 * wait ended with the lock held; an interrupted wait does not fire).
 */
import { R0, R1, R2, R3, R4, R6, R7, R8, R10, imm, type Reg } from '../bpf/asm/insn.js';
import { Helper } from '../bpf/uapi.js';
import { dependentProvider, type ArgEmitter, type DependentProbe, type Underlying } from './dependent.js';
import type { ProbeArgDesc, ProviderMap } from './provider.js';

const BEGIN: Underlying = { kind: 'rawtp', tp: 'contention_begin' };
const END: Underlying = { kind: 'rawtp', tp: 'contention_end' };
const MUTEX_LOCK_ENTRY: Underlying = { kind: 'fbt', fn: 'mutex_lock', dir: 'entry' };
const MUTEX_LOCK_RETURN: Underlying = { kind: 'fbt', fn: 'mutex_lock', dir: 'return' };
const MUTEX_UNLOCK_ENTRY: Underlying = { kind: 'fbt', fn: 'mutex_unlock', dir: 'entry' };
const SLEEP_ENTRY: Underlying = { kind: 'fbt', fn: 'schedule_preempt_disabled', dir: 'entry' };
const SLEEP_RETURN: Underlying = { kind: 'fbt', fn: 'schedule_preempt_disabled', dir: 'return' };

// include/trace/events/lock.h
const LCB_F_SPIN = 1 << 0, LCB_F_READ = 1 << 1, LCB_F_WRITE = 1 << 2, LCB_F_MUTEX = 1 << 5;
const KIND_MASK = LCB_F_SPIN | LCB_F_READ | LCB_F_WRITE | LCB_F_MUTEX;
const RW_WRITER = 0, RW_READER = 1;
const BPF_ANY = 0;

/**
 * A wait in progress, per thread (key: pid_tgid), on the program's stack while the code runs: the
 * key at KEY_FP, the map value { lock, since, total, extra } at VALUE_FP. Not in the per-CPU
 * scratch (argv): a map update takes a spinlock, and a lockstat probe on that spinlock runs
 * nested on this CPU and rewrites the scratch.
 */
const KEY_FP = -48, VALUE_FP = -88;
const LOCK_AT = 0, SINCE_AT = 8, TOTAL_AT = 16, EXTRA_AT = 24;
const VALUE_SIZE = 32;

const waitMap = (probe: string): ProviderMap => ({
  name: `lockstat_${probe.replace(/-/g, '_')}`, type: 'hash', keySize: 8, valueSize: VALUE_SIZE, maxEntries: 16384,
});

const same = (s: Underlying, t: Underlying): boolean =>
  s.kind === t.kind && (s.kind === 'rawtp' ? s.tp === (t as { tp: string }).tp
    : s.kind === 'fbt' && t.kind === 'fbt' && s.fn === t.fn && s.dir === t.dir);

/** Skips unless the contention flags (raw arg1) masked to the lock kind are one of `kinds`. */
function emitKind(e: ArgEmitter, kinds: number[], reg: Reg): void {
  e.raw(1, reg);
  e.asm.alu64('and', reg, imm(KIND_MASK));
  const ok = e.asm.newLabel('kind');
  for (const k of kinds) e.asm.jmp('jeq', reg, imm(k), ok);
  e.asm.ja(e.skip).label(ok);
}

/** The stack key = this thread's pid_tgid. */
function emitKey(e: ArgEmitter): void {
  e.asm.call(Helper.get_current_pid_tgid).stx(8, R10, KEY_FP, R0);
}

/** Records a wait on lock `lockReg` (R6–R8) with `since` = now or 0, extra = `extra`; never fires. */
function emitRecord(e: ArgEmitter, map: string, lockReg: Reg, opts: { since: boolean; extra?: Reg }): void {
  const a = e.asm;
  a.stx(8, R10, VALUE_FP + LOCK_AT, lockReg).st(8, R10, VALUE_FP + TOTAL_AT, 0);
  if (opts.extra) a.stx(8, R10, VALUE_FP + EXTRA_AT, opts.extra);
  else a.st(8, R10, VALUE_FP + EXTRA_AT, 0);
  if (opts.since) a.call(Helper.ktime_get_ns);
  else a.mov(R0, imm(0));
  a.stx(8, R10, VALUE_FP + SINCE_AT, R0);
  emitKey(e);
  a.ldMapFd(R1, map).mov(R2, R10).alu64('add', R2, imm(KEY_FP)).mov(R3, R10).alu64('add', R3, imm(VALUE_FP));
  a.mov(R4, imm(BPF_ANY)).call(Helper.map_update_elem);
  a.ja(e.skip);
  e.neverFires();
}

/** R6 = this thread's record in `map` (a map value pointer), or skip when it has none. */
function emitLookup(e: ArgEmitter, map: string): void {
  emitKey(e);
  e.asm.ldMapFd(R1, map).mov(R2, R10).alu64('add', R2, imm(KEY_FP));
  e.asm.call(Helper.map_lookup_elem).jmp('jeq', R0, imm(0), e.skip).mov(R6, R0);
}

/** Deletes this thread's record (the stack key must hold it). */
function emitForget(e: ArgEmitter, map: string): void {
  e.asm.ldMapFd(R1, map).mov(R2, R10).alu64('add', R2, imm(KEY_FP));
  e.asm.call(Helper.map_delete_elem);
}

/**
 * At the end of a wait (contention_end, or mutex_lock's return): fires with args (lock, ns[,
 * extra]) when this thread has a record for `map` (for contention_end: for this very lock, and
 * only when it got it). `fromSince`: ns = now − since; otherwise ns = the accumulated total
 * (and nothing fires when it is 0: the thread never slept). argv is written last, after every
 * helper call that may take a lock.
 */
function emitFinish(e: ArgEmitter, map: string, opts: { fromSince: boolean; extra: boolean; checkEnd: boolean }): void {
  const a = e.asm;
  emitLookup(e, map);
  a.ldx(8, R7, R6, LOCK_AT);
  a.ldx(8, R8, R6, opts.fromSince ? SINCE_AT : TOTAL_AT);
  a.ldx(8, R0, R6, EXTRA_AT).stx(8, R10, VALUE_FP + EXTRA_AT, R0);
  // contention_end(lock, ret) of another lock (a spinlock taken while waiting) ends not this wait.
  if (opts.checkEnd) { e.raw(0, R6); a.jmp('jne', R6, R7, e.skip); }
  emitForget(e, map);
  // An interrupted wait (ret ≠ 0) did not get the lock.
  if (opts.checkEnd) { e.raw(1, R6); a.mov32(R6, R6).jmp('jne', R6, imm(0), e.skip); }
  if (opts.fromSince) {
    a.call(Helper.ktime_get_ns).alu64('sub', R0, R8).mov(R8, R0);
  }
  a.jmp('jeq', R8, imm(0), e.skip);
  a.mov(R0, imm(0));
  for (let i = 2; i < 10; i++) e.setArg(i, R0);
  e.setArg(0, R7);
  e.setArg(1, R8);
  if (opts.extra) { a.ldx(8, R0, R10, VALUE_FP + EXTRA_AT); e.setArg(2, R0); }
}

/** A contention probe over lock:contention_begin/end for the lock kinds `kinds`. */
function contention(name: string, args: ProbeArgDesc[], kinds: number[], fbt?: { sources: Underlying[]; emit(e: ArgEmitter, s: Underlying): void }): DependentProbe {
  const map = waitMap(name);
  const rw = args.length > 2;
  const tracepoints = [BEGIN, END];
  return {
    name,
    args,
    sources: fbt ? [...tracepoints, ...fbt.sources] : tracepoints,
    alternatives: fbt ? [tracepoints, fbt.sources] : [tracepoints],
    maps: [map],
    emit(e, source) {
      if (fbt && source.kind === 'fbt') { fbt.emit(e, source); return; }
      if (same(source, BEGIN)) {
        const a = e.asm;
        if (name === 'adaptive-spin') {
          // A mutex's optimistic spin that gives up and sleeps (begin again with LCB_F_MUTEX alone)
          // was no spin that got the lock: forget it.
          const spin = a.newLabel('spin');
          emitKind(e, [LCB_F_MUTEX, LCB_F_MUTEX | LCB_F_SPIN], R7);
          a.jmp('jeq', R7, imm(LCB_F_MUTEX | LCB_F_SPIN), spin);
          emitKey(e);
          emitForget(e, map.name);
          a.ja(e.skip).label(spin);
        } else {
          emitKind(e, kinds, R7);
        }
        e.raw(0, R6);
        if (rw) {
          const reader = a.newLabel('reader'), kind = a.newLabel('rwkind');
          a.jmp('jset', R7, imm(LCB_F_READ), reader).mov(R8, imm(RW_WRITER)).ja(kind);
          a.label(reader).mov(R8, imm(RW_READER)).label(kind);
        }
        emitRecord(e, map.name, R6, { since: true, extra: rw ? R8 : undefined });
        return;
      }
      emitFinish(e, map.name, { fromSince: true, extra: rw, checkEnd: true });
    },
  };
}

const BLOCK_MAP = waitMap('adaptive-block').name;

/**
 * adaptive-block on kernel functions (dtrace-utils' scheme, kept per thread): mutex_lock entry
 * starts a record, each schedule_preempt_disabled inside it adds its time, mutex_lock's return
 * fires when the thread slept at all.
 */
const fbtBlock = {
  sources: [MUTEX_LOCK_ENTRY, SLEEP_ENTRY, SLEEP_RETURN, MUTEX_LOCK_RETURN],
  emit(e: ArgEmitter, s: Underlying): void {
    const a = e.asm;
    if (same(s, MUTEX_LOCK_ENTRY)) {
      e.raw(0, R6);
      emitRecord(e, BLOCK_MAP, R6, { since: false });
    } else if (same(s, SLEEP_ENTRY)) {
      emitLookup(e, BLOCK_MAP);
      a.call(Helper.ktime_get_ns).stx(8, R6, SINCE_AT, R0);
      a.ja(e.skip);
      e.neverFires();
    } else if (same(s, SLEEP_RETURN)) {
      emitLookup(e, BLOCK_MAP);
      a.ldx(8, R7, R6, SINCE_AT).jmp('jeq', R7, imm(0), e.skip);
      a.call(Helper.ktime_get_ns).alu64('sub', R0, R7).atomicAdd(8, R6, TOTAL_AT, R0);
      a.st(8, R6, SINCE_AT, 0);
      a.ja(e.skip);
      e.neverFires();
    } else {
      emitFinish(e, BLOCK_MAP, { fromSince: false, extra: false, checkEnd: false });
    }
  },
};

const fexit = (fn: string): Underlying => ({ kind: 'fbt', fn, dir: 'return' });
const fentry = (fn: string): Underlying => ({ kind: 'fbt', fn, dir: 'entry' });
const LOCK_SUFFIXES = ['', '_irq', '_irqsave', '_bh'];
const TRYLOCK_SUFFIXES = ['', '_bh'];
const UNLOCK_SUFFIXES = ['', '_irq', '_irqrestore', '_bh'];

/**
 * A lock taken (a kernel function's return: the lock functions, and the trylock ones when they
 * return 1) or released (an unlock function's entry): args (lock[, RW_WRITER/RW_READER]).
 */
function lockEvent(name: string, args: ProbeArgDesc[], stems: { fn: string; rw?: number }[], kind: 'acquire' | 'release'): DependentProbe {
  const sources: Underlying[] = [];
  const role = new Map<string, { rw?: number; trylock: boolean }>();
  for (const { fn, rw } of stems) {
    const fns = kind === 'release' ? UNLOCK_SUFFIXES.map((x) => `${fn}_unlock${x}`)
      : [...LOCK_SUFFIXES.map((x) => `${fn}_lock${x}`), ...TRYLOCK_SUFFIXES.map((x) => `${fn}_trylock${x}`)];
    for (const f of fns) {
      sources.push(kind === 'release' ? fentry(f) : fexit(f));
      role.set(f, { rw, trylock: f.includes('_trylock') });
    }
  }
  return {
    name,
    args,
    sources,
    emit(e, source) {
      const r = source.kind === 'fbt' ? role.get(source.fn) : undefined;
      if (!r) { e.asm.ja(e.skip); return; }
      if (r.trylock) { e.syscallReturn(R6); e.asm.mov32(R6, R6).jmp('jne', R6, imm(1), e.skip); }
      e.raw(0, R6);
      e.setArg(0, R6);
      if (r.rw !== undefined) { e.asm.mov(R6, imm(r.rw)); e.setArg(1, R6); }
    },
  };
}

const mutexArg: ProbeArgDesc = { mapping: 0, native: 'struct mutex *' };
const ns: ProbeArgDesc = { mapping: 1, native: 'uint64_t' };
const rwKind: ProbeArgDesc = { mapping: 2, native: 'int' };
const rwKindAt1: ProbeArgDesc = { mapping: 1, native: 'int' };
// dtrace-utils types a reader/writer spinlock as `struct rwlock *` (Linux's rwlock_t is an anonymous
// struct): the same text here, so that -lv and scripts written for DTrace see what they expect; the
// pointer is opaque (cast it to rwlock_t * to look inside).
const rwArg: ProbeArgDesc = { mapping: 0, native: 'struct rwlock *' };
const spinArg: ProbeArgDesc = { mapping: 0, native: 'spinlock_t *' };

const LOCKSTAT_PROBES: DependentProbe[] = [
  {
    name: 'adaptive-acquire',
    args: [mutexArg],
    sources: [MUTEX_LOCK_RETURN],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
  {
    name: 'adaptive-acquire-error',
    args: [mutexArg, { mapping: 1, native: 'int' }],
    sources: [fexit('mutex_lock_interruptible'), fexit('mutex_lock_killable')],
    // They return 0 with the mutex held, else the error (-EINTR).
    emit(e) { e.syscallReturn(R6); e.asm.mov32(R6, R6).jmp('jeq', R6, imm(0), e.skip); e.asm.movsx(R6, R6, 32); e.setArg(1, R6); e.raw(0, R6); e.setArg(0, R6); },
  },
  contention('adaptive-block', [mutexArg, ns], [LCB_F_MUTEX], fbtBlock),
  {
    name: 'adaptive-release',
    args: [mutexArg],
    sources: [MUTEX_UNLOCK_ENTRY],
    emit(e) { e.raw(0, R6); e.setArg(0, R6); },
  },
  contention('adaptive-spin', [mutexArg, ns], [LCB_F_MUTEX | LCB_F_SPIN]),
  lockEvent('rw-acquire', [rwArg, rwKindAt1], [{ fn: '_raw_read', rw: RW_READER }, { fn: '_raw_write', rw: RW_WRITER }], 'acquire'),
  contention('rw-block', [{ mapping: 0, native: 'struct rw_semaphore *' }, ns, rwKind], [LCB_F_READ, LCB_F_WRITE]),
  lockEvent('rw-release', [rwArg, rwKindAt1], [{ fn: '_raw_read', rw: RW_READER }, { fn: '_raw_write', rw: RW_WRITER }], 'release'),
  contention('rw-spin', [rwArg, ns, rwKind], [LCB_F_SPIN | LCB_F_READ, LCB_F_SPIN | LCB_F_WRITE]),
  lockEvent('spin-acquire', [spinArg], [{ fn: '_raw_spin' }], 'acquire'),
  lockEvent('spin-release', [spinArg], [{ fn: '_raw_spin' }], 'release'),
  contention('spin-spin', [spinArg, ns], [LCB_F_SPIN]),
];

export const lockstatProvider = dependentProvider('lockstat', LOCKSTAT_PROBES, { showMechanism: true });
