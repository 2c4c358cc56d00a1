/**
 * @fileoverview Subroutines and variables read from the current task and the kernel's
 * structures through BTF: progenyof() (the real_parent chain), getmajor()/getminor() (Linux
 * dev_t), d_path() (the dentry chain, across mounts; `cwd`, `root` and io's fi_pathname are
 * library inlines over it), and uregs[] (the task's saved user registers, indexed as regs.d
 * names them).
 */
import { R0, R1, R2, R3, R9, R10, imm, type Reg } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { MST, Fault } from '../layout.js';
import { U64, U32, I32 } from '../infer.js';
import { LowerError, type Val } from './context.js';
import { ReachLowering } from './kernel-reach.js';

/** Ancestors progenyof() looks at (the chain ends at pid 0 long before on any real system). */
const PROGENY_DEPTH = 64;
/** Path components d_path() walks, mount crossings included. */
const D_PATH_DEPTH = 40;
/** Longest name one component contributes (NAME_MAX). */
const NAME_MAX = 255;
/** Stack slots between the context (fp-8) and the spill area (fp-64) for d_path's walk. */
const TEMP_SLOT = -48;
const COUNT_SLOT = -56;
/** Linux dev_t: MINORBITS. */
const MINOR_BITS = 20;
/** x86-64: THREAD_SIZE, and sizeof(struct pt_regs) (21 words), which sit at the stack's top. */
const THREAD_SIZE = 16384;
const PT_REGS_WORDS = 21;
/**
 * regs.d's i386 names (R_GS + 1 + n, n in `struct user_regs_struct` order for i386: bx cx dx
 * si di bp ax ds es fs gs orig_ax ip cs flags sp ss) map onto x86-64 pt_regs words; -1: none.
 */
const I386_REGS_BASE = 25;
const I386_TO_PT_REGS = [5, 11, 12, 13, 14, 4, 10, -1, -1, -1, -1, 15, 16, 17, 18, 19, 20];

export abstract class TaskLowering extends ReachLowering {
  protected override call(e: A.Call): Val | undefined {
    switch (e.callee.name) {
      case 'progenyof': return this.progenyof(e);
      case 'getmajor': case 'getminor': {
        const v = this.evalInt(e.args[0]!);
        if (e.callee.name === 'getmajor') this.asm.mov32(v.reg, v.reg).alu64('rsh', v.reg, imm(MINOR_BITS));
        else this.asm.alu64('and', v.reg, imm((1 << MINOR_BITS) - 1));
        return { t: 'int', reg: v.reg, type: U32 };
      }
      case 'd_path': return this.dPath(e);
    }
    return super.call(e);
  }

  protected override index(e: A.Index): Val {
    const obj = unparen(e.object);
    const s = this.sym(e);
    if (obj.kind === 'Ident' && obj.name === 'uregs' && s?.kind === 'uregs') return this.uregs(s.index, e);
    return super.index(e);
  }

  /**
   * A member of a translated inline array (`fds[fd].fi_pathname`): the inline's parameters
   * bound to the indices, then the member translated from the inline's value.
   */
  protected override xlateMember(e: A.Member, inputName: string, expr: A.Expr): Val {
    const o = unparen(e.object);
    const os = o.kind === 'Index' ? this.sym(unparen(o.object)) : undefined;
    if (o.kind !== 'Index' || os?.kind !== 'inline' || !os.info.params) return super.xlateMember(e, inputName, expr);
    const saved = this.xlateBindings.length;
    os.info.params.forEach((p, i) => this.xlateBindings.push({ name: p.name, expr: o.indices[i]! }));
    try { return super.xlateMember({ ...e, object: os.info.value }, inputName, expr); } finally { this.xlateBindings.length = saved; }
  }

  /** Byte offset of `member` in kernel `struct name` (BTF). */
  private offsetIn(name: string, member: string, node: A.Expr): number {
    const st = this.env.kernelTypes()?.structType('struct', name);
    const m = st && this.findMember(st, member);
    if (!m) throw new LowerError(`${node.kind === 'Call' ? `${node.callee.name}( )` : 'this'} needs struct ${name} (member ${member}) from the kernel BTF`, node);
    return m.bitOffset / 8;
  }

  /** reg = *(size *)(reg + offset) in kernel memory (a fault reads as BADADDR). */
  private loadAt(reg: Reg, offset: number, size: 4 | 8): void {
    if (offset) this.asm.alu64('add', reg, imm(offset));
    this.readMemory(reg, size, 'kernel');
    this.asm.ldx(size, reg, R9, MST.scratchU64);
  }

  /** progenyof(pid): whether the current process is pid or descends from it (illumos counts the process itself). */
  private progenyof(e: A.Call): Val {
    const a = this.asm;
    const tgid = this.offsetIn('task_struct', 'tgid', e);
    const parent = this.offsetIn('task_struct', 'real_parent', e);
    const pid = this.evalInt(e.args[0]!);
    const task = this.alloc(e);
    const yes = a.newLabel('progyes'), no = a.newLabel('progno'), done = a.newLabel('progdone');
    a.call(Helper.get_current_task).mov(task, R0);
    for (let i = 0; i < PROGENY_DEPTH; i++) {
      a.mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(4)).mov(R3, task).alu64('add', R3, imm(tgid)).call(Helper.probe_read_kernel);
      a.jmp('jne', R0, imm(0), no).ldx(4, R1, R9, MST.scratchU64).jmp('jeq', R1, pid.reg, yes).jmp('jeq', R1, imm(0), no);
      a.mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(8)).mov(R3, task).alu64('add', R3, imm(parent)).call(Helper.probe_read_kernel);
      a.jmp('jne', R0, imm(0), no).ldx(8, task, R9, MST.scratchU64);
    }
    a.label(no).mov(pid.reg, imm(0)).ja(done);
    a.label(yes).mov(pid.reg, imm(1));
    a.label(done).mov(pid.reg, pid.reg);
    this.release(task);
    return { t: 'int', reg: pid.reg, type: I32 };
  }

  /**
   * d_path(&path): the path name, built backwards from the dentry up (crossing each mount at
   * its mount point) in scratch memory, then copied into a string. A path longer than the
   * string size keeps its last part, as the kernel's d_path keeps the end.
   */
  private dPath(e: A.Call): Val {
    const a = this.asm;
    const off = {
      dentry: this.offsetIn('path', 'dentry', e), mnt: this.offsetIn('path', 'mnt', e),
      parent: this.offsetIn('dentry', 'd_parent', e), name: this.offsetIn('dentry', 'd_name', e),
      qlen: this.offsetIn('qstr', 'len', e), qname: this.offsetIn('qstr', 'name', e),
      mount: this.offsetIn('mount', 'mnt', e), mntParent: this.offsetIn('mount', 'mnt_parent', e),
      mountpoint: this.offsetIn('mount', 'mnt_mountpoint', e), mntRoot: this.offsetIn('vfsmount', 'mnt_root', e),
      fs: this.offsetIn('task_struct', 'fs', e), fsRoot: this.offsetIn('fs_struct', 'root', e),
    };
    const span = this.mem.strSlot;
    // The path is built in [work, work + span]; the process's root (dentry, vfsmount) follows it.
    const rootAt = (span + NAME_MAX + 9 + 7) & ~7;
    const work = this.scratchWork(rootAt + 16, e);
    const p = this.evalInt(e.args[0]!);
    const dentry = p.reg;
    const mount = this.alloc(e), pos = this.alloc(e);
    const done = a.newLabel('dpdone');
    // mount = container_of(path->mnt, struct mount, mnt); dentry = path->dentry.
    a.mov(mount, dentry);
    this.loadAt(mount, off.mnt, 8);
    a.alu64('sub', mount, imm(off.mount));
    this.loadAt(dentry, off.dentry, 8);
    a.mov(pos, imm(span)).st(1, R9, work + span, 0);
    // As the kernel's d_path, the path is relative to the process's root (a chroot ends it).
    a.call(Helper.get_current_task).mov(R3, R0).alu64('add', R3, imm(off.fs)).mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(8)).call(Helper.probe_read_kernel);
    a.ldx(8, R3, R9, MST.scratchU64).alu64('add', R3, imm(off.fsRoot)).mov(R1, R9).alu64('add', R1, imm(work + rootAt)).mov(R2, imm(16)).call(Helper.probe_read_kernel);
    // A bounded loop (the verifier walks it; the count lives in a stack slot it tracks exactly).
    const loop = a.newLabel('dploop'), next = a.newLabel('dpnext'), inside = a.newLabel('dpin'), bad = a.newLabel('dpbad');
    a.st(8, R10, COUNT_SLOT, 0).label(loop);
    // struct path is { vfsmount *mnt; dentry *dentry; }.
    a.ldx(8, R1, R9, work + rootAt + off.dentry).jmp('jne', R1, dentry, `${loop}.r`);
    a.ldx(8, R1, R9, work + rootAt + off.mnt).mov(R2, mount).alu64('add', R2, imm(off.mount)).jmp('jeq', R1, R2, done);
    a.label(`${loop}.r`);
    // At the root of its mount: continue from the mount point in the parent mount.
    this.readAt(mount, off.mount + off.mntRoot, 8, bad);
    a.ldx(8, R1, R9, MST.scratchU64).jmp('jne', R1, dentry, inside);
    this.readAt(mount, off.mntParent, 8, bad);
    a.ldx(8, R1, R9, MST.scratchU64).jmp('jeq', R1, mount, done).stx(8, R10, TEMP_SLOT, R1);
    this.readAt(mount, off.mountpoint, 8, bad);
    a.ldx(8, dentry, R9, MST.scratchU64).ldx(8, mount, R10, TEMP_SLOT).ja(next);
    a.label(inside);
    // The name: `/` + d_name, written in front of what is there.
    this.readAt(dentry, off.name + off.qlen, 4, bad);
    a.ldx(4, R1, R9, MST.scratchU64).jmp('jle', R1, imm(NAME_MAX), `${inside}.l`).mov(R1, imm(NAME_MAX)).label(`${inside}.l`);
    a.alu64('sub', pos, R1).jmp('jslt', pos, imm(1), done).jmp('jgt', pos, imm(span), done);
    a.stx(8, R10, TEMP_SLOT, R1);
    this.readAt(dentry, off.name + off.qname, 8, bad);
    a.ldx(8, R3, R9, MST.scratchU64).ldx(8, R2, R10, TEMP_SLOT).mov(R1, R9).alu64('add', R1, imm(work)).alu64('add', R1, pos);
    a.jmp('jle', R2, imm(NAME_MAX), `${inside}.n`).mov(R2, imm(NAME_MAX)).label(`${inside}.n`).call(Helper.probe_read_kernel);
    a.alu64('sub', pos, imm(1)).mov(R1, R9).alu64('add', R1, imm(work)).alu64('add', R1, pos).st(1, R1, 0, 0x2f);
    this.readAt(dentry, off.parent, 8, bad);
    a.ldx(8, R1, R9, MST.scratchU64).jmp('jeq', R1, dentry, done).mov(dentry, R1);
    a.label(next).ldx(8, R1, R10, COUNT_SLOT).alu64('add', R1, imm(1)).stx(8, R10, COUNT_SLOT, R1).jmp('jlt', R1, imm(D_PATH_DEPTH), loop).ja(done);
    a.label(bad);
    this.fault(Fault.BADADDR, dentry);
    a.label(done);
    // The root itself is `/`.
    const some = a.newLabel('dpsome');
    a.jmp('jne', pos, imm(span), some).alu64('sub', pos, imm(1)).st(1, R9, work + span - 1, 0x2f).label(some);
    a.jmp('jle', pos, imm(span), `${some}.b`).mov(pos, imm(span)).label(`${some}.b`);
    const out = this.tmpSlot(e);
    a.mov(R3, R9).alu64('add', R3, imm(work)).alu64('add', R3, pos).mov(R1, R9).alu64('add', R1, imm(out)).mov(R2, imm(this.mem.strsize + 1)).call(Helper.probe_read_kernel_str);
    a.mov(dentry, R9).alu64('add', dentry, imm(out));
    this.release(mount); this.release(pos);
    return { t: 'str', reg: dentry };
  }

  /** Reads `size` bytes at base + offset into MST.scratchU64 (base unchanged); jumps to `bad` when it cannot. */
  private readAt(base: Reg, offset: number, size: 4 | 8, bad: string): void {
    const a = this.asm;
    a.st(8, R9, MST.scratchU64, 0).mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(size)).mov(R3, base).alu64('add', R3, imm(offset));
    a.call(Helper.probe_read_kernel).jmp('jne', R0, imm(0), bad);
  }

  /** Consecutive temporary slots holding at least `bytes`; their offset. */
  private scratchWork(bytes: number, node: A.Expr): number {
    const first = this.tmpSlot(node);
    for (let have = this.mem.strSlot; have < bytes; have += this.mem.strSlot) this.tmpSlot(node);
    return first;
  }

  /** uregs[i]: the task's user registers (pt_regs at the top of its kernel stack; x86-64). */
  private uregs(index: number, e: A.Expr): Val {
    const a = this.asm;
    const word = index < PT_REGS_WORDS ? index : I386_TO_PT_REGS[index - I386_REGS_BASE - 1] ?? -1;
    if (word < 0) throw new LowerError(`index ${index} is out of range for array uregs`, e);
    const stack = this.offsetIn('task_struct', 'stack', e);
    const r = this.alloc(e);
    a.call(Helper.get_current_task).mov(r, R0);
    this.loadAt(r, stack, 8);
    this.loadAt(r, THREAD_SIZE - PT_REGS_WORDS * 8 + word * 8, 8);
    return { t: 'int', reg: r, type: U64 };
  }
}
