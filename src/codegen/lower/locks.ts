/**
 * @fileoverview The lock predicates on Linux's locks, with the layouts read from the kernel's
 * BTF, as dtrace-utils defines them (bpf/mutex_owned.S and friends):
 *   - mutex_owned(m), mutex_owner(m): struct mutex's `owner` word, its three flag bits
 *     (MUTEX_FLAGS) cleared, is the owning task — compared with the current one, or returned;
 *   - mutex_type_adaptive(m) is 1 and mutex_type_spin(m) 0: every Linux mutex sleeps;
 *   - rw_read_held(l), rw_write_held(l), rw_iswriter(l): rwlock_t's qrwlock count `cnts` —
 *     the readers above the writer byte and wait bit (cnts & ~_QW_WMASK), the locked writer
 *     byte (cnts & _QW_LOCKED), the writer byte or a waiting writer (cnts & _QW_WMASK).
 * The lock pointer is checked for NULL (an invalid address fault), and an unreadable lock faults
 * as any load would.
 */
import { R0, R9, imm } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { resolve, type StructType } from '../../check/ctypes.js';
import { Fault, MST } from '../layout.js';
import { I32, U64 } from '../infer.js';
import { LowerError, type Val } from './context.js';
import { RecordActionLowering } from './record-actions.js';

/** include/linux/mutex.h (kernel/locking/mutex.c): the low bits of `owner` are flags. */
const MUTEX_FLAGS = 0x07;
/** include/asm-generic/qrwlock_types.h / qrwlock.h. */
const QW_LOCKED = 0xff;
const QW_WMASK = 0x1ff;

export abstract class LockLowering extends RecordActionLowering {
  protected override call(e: A.Call): Val | undefined {
    const name = e.callee.name;
    switch (name) {
      case 'mutex_type_adaptive': case 'mutex_type_spin': {
        // The argument is evaluated for its effects, as dtrace-utils does.
        const v = this.evalInt(e.args[0]!);
        this.asm.mov(v.reg, imm(name === 'mutex_type_adaptive' ? 1 : 0));
        return { t: 'int', reg: v.reg, type: I32 };
      }
      case 'mutex_owned': case 'mutex_owner': return this.mutexOwner(e, name === 'mutex_owned');
      case 'rw_read_held': case 'rw_write_held': case 'rw_iswriter': return this.rwlockCount(e, name);
    }
    return super.call(e);
  }

  /** Reads `size` bytes at lock + `offset` into a register (the lock checked for NULL first). */
  private readLockWord(e: A.Call, offset: number, size: 4 | 8): Extract<Val, { t: 'int' }> {
    const a = this.asm;
    const v = this.evalInt(e.args[0]!);
    const ok = a.newLabel('locknn');
    a.jmp('jne', v.reg, imm(0), ok);
    this.fault(Fault.BADADDR, v.reg);
    a.label(ok).alu64('add', v.reg, imm(offset));
    this.readMemory(v.reg, size, 'kernel');
    a.ldx(size, v.reg, R9, MST.scratchU64);
    return v;
  }

  private mutexOwner(e: A.Call, owned: boolean): Val {
    const a = this.asm;
    const mutex = this.env.kernelTypes()?.structType('struct', 'mutex');
    const owner = mutex && this.findMember(mutex, 'owner');
    if (!owner) throw new LowerError(`${e.callee.name}( ) needs struct mutex (member owner) from the kernel BTF`, e);
    const v = this.readLockWord(e, owner.bitOffset / 8, 8);
    a.alu64('and', v.reg, imm(~MUTEX_FLAGS));
    if (!owned) return { t: 'int', reg: v.reg, type: U64 };
    const yes = a.newLabel('mtxown'), done = a.newLabel('mtxdone');
    a.call(Helper.get_current_task).jmp('jeq', R0, v.reg, yes).mov(v.reg, imm(0)).ja(done);
    a.label(yes).mov(v.reg, imm(1));
    a.label(done).mov(v.reg, v.reg);
    return { t: 'int', reg: v.reg, type: I32 };
  }

  private rwlockCount(e: A.Call, name: 'rw_read_held' | 'rw_write_held' | 'rw_iswriter'): Val {
    const offset = this.rwlockCntsOffset(e);
    const v = this.readLockWord(e, offset, 4);
    const a = this.asm;
    if (name === 'rw_read_held') a.alu64('and', v.reg, imm(~QW_WMASK));
    else a.alu64('and', v.reg, imm(name === 'rw_write_held' ? QW_LOCKED : QW_WMASK));
    return { t: 'int', reg: v.reg, type: I32 };
  }

  /** Offset of raw_lock.cnts in rwlock_t (0 on !PREEMPT_RT kernels; PREEMPT_RT's rwlock_t has no qrwlock). */
  private rwlockCntsOffset(e: A.Call): number {
    const types = this.env.kernelTypes();
    const t = types?.typedefType('rwlock_t');
    const rw = t && resolve(t);
    const raw = rw?.kind === 'struct' ? this.findMember(rw, 'raw_lock') : undefined;
    const q = raw && resolve(raw.type);
    const cnts = q?.kind === 'struct' ? this.findMember(q as StructType, 'cnts') : undefined;
    if (!raw || !cnts) throw new LowerError(`${e.callee.name}( ) needs rwlock_t (raw_lock.cnts, a qrwlock) from the kernel BTF`, e);
    return (raw.bitOffset + cnts.bitOffset) / 8;
  }
}
