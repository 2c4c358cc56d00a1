/**
 * @fileoverview Actions that record an object for the consumer to lay out: print(ptr) (the
 * pointed-to object and its D type, dt_cg_act_print) and pcap(skb, proto) (a packet's
 * linear data with its capture time, length and link type, dt_cg_act_pcap).
 */
import { R0, R1, R2, R3, R9, imm } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { Types, pointerTo, resolve, sizeOf } from '../../check/ctypes.js';
import { Fault, MST } from '../layout.js';
import { LowerError, type Val } from './context.js';
import { TaskLowering } from './task.js';

/**
 * The most bytes print() records of one object: DTrace's default printsize (what it shows
 * unless told otherwise); the per-CPU scratch map holding a record has room for not much more.
 */
export const PRINT_RECORD_MAX = 8192;

export abstract class RecordActionLowering extends TaskLowering {
  protected override call(e: A.Call): Val | undefined {
    switch (e.callee.name) {
      case 'print': return this.print(e);
      case 'pcap': return this.pcap(e);
    }
    return super.call(e);
  }

  /**
   * print(ptr): the address, then the object's bytes (up to PRINT_RECORD_MAX); a NULL or
   * unreadable address faults as any load from it would.
   */
  private print(e: A.Call): Val | undefined {
    const a = this.asm;
    const arg = e.args[0]!;
    const t = this.ct(arg);
    const r = t && resolve(t);
    if (!t || r?.kind !== 'pointer') throw new LowerError('print( ) argument #1 must be a pointer', e);
    const size = Math.min(sizeOf(r.target, this.mem.strsize), PRINT_RECORD_MAX);
    const space = this.spaceOf(arg, t);
    const v = this.evalInt(arg);
    const addrOff = this.recField(8, 8);
    const dataOff = this.recField(size, 8);
    this.records = true;
    a.stx(8, R9, this.mem.rec + addrOff, v.reg);
    const nonNull = a.newLabel('prnn');
    a.jmp('jne', v.reg, imm(0), nonNull);
    this.fault(Fault.BADADDR, v.reg);
    a.label(nonNull);
    this.allocaAccess(v.reg, size, 'read');
    const read = (helper: number): void => { a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + dataOff)).mov(R2, imm(size)).mov(R3, v.reg).call(helper); };
    read(space === 'user' ? Helper.probe_read_user : Helper.probe_read_kernel);
    const ok = a.newLabel('prok');
    a.jmp('jeq', R0, imm(0), ok);
    // A pointer the types say is the kernel's may be a process's (a cast of a pid probe's
    // argument): dtrace-utils' bpf_probe_read reads either on x86, so try user memory too.
    if (space !== 'user') { read(Helper.probe_read_user); a.jmp('jeq', R0, imm(0), ok); }
    this.fault(Fault.BADADDR, v.reg);
    a.label(ok);
    this.release(v);
    this.actions.push({
      kind: 'print',
      addr: { offset: addrOff, sizeBytes: 8, type: t, decode: 'int', signed: false },
      field: { offset: dataOff, sizeBytes: size, type: r.target, decode: 'bytes' },
    });
    return undefined;
  }

  /**
   * pcap(skb, proto): the capture time, the length captured — the linear data (len -
   * data_len) up to pcapsize — the link type, and that many bytes from skb->data. A NULL
   * or unreadable skb captures nothing (length 0), as in dtrace-utils.
   */
  private pcap(e: A.Call): Val | undefined {
    const a = this.asm;
    const pcapsize = this.env.options.pcapsize;
    const st = this.env.kernelTypes()?.structType('struct', 'sk_buff');
    const off = (name: string): number => {
      const m = st && this.findMember(st, name);
      if (!m) throw new LowerError(`pcap( ) needs struct sk_buff (member ${name}) from the kernel BTF`, e);
      return m.bitOffset / 8;
    };
    const lenOff = off('len'), dataLenOff = off('data_len'), dataOff = off('data');
    const timeField = this.recField(8, 8);
    const lengthField = this.recField(4, 4);
    const protoField = this.recField(8, 8);
    const bytesField = this.recField(pcapsize, 8);
    this.records = true;
    const proto = this.evalInt(e.args[1]!);
    a.stx(8, R9, this.mem.rec + protoField, proto.reg);
    this.release(proto);
    a.call(Helper.ktime_get_ns).stx(8, R9, this.mem.rec + timeField, R0);
    const skb = this.evalInt(e.args[0]!);
    // Each field read into the scratch word (zeroed by a failed read).
    const readField = (at: number, n: 4 | 8): void => {
      a.mov(R1, R9).alu64('add', R1, imm(MST.scratchU64)).mov(R2, imm(n)).mov(R3, skb.reg).alu64('add', R3, imm(at));
      a.st(8, R9, MST.scratchU64, 0).call(Helper.probe_read_kernel);
    };
    readField(dataLenOff, 4);
    a.ldx(4, R0, R9, MST.scratchU64).stx(4, R9, this.mem.rec + lengthField, R0);
    readField(lenOff, 4);
    a.ldx(4, R0, R9, MST.scratchU64).ldx(4, R1, R9, this.mem.rec + lengthField).alu64('sub', R0, R1);
    // A length past pcapsize (or negative: a bad skb) captures pcapsize bytes at most.
    const lenOk = a.newLabel('pclen');
    a.jmp('jle', R0, imm(pcapsize), lenOk).mov(R0, imm(pcapsize)).label(lenOk);
    a.stx(4, R9, this.mem.rec + lengthField, R0);
    readField(dataOff, 8);
    a.ldx(4, R2, R9, this.mem.rec + lengthField).ldx(8, R3, R9, MST.scratchU64);
    a.mov(R1, R9).alu64('add', R1, imm(this.mem.rec + bytesField));
    // The verifier wants the size bounded by the field: it is, by the jle above.
    a.jmp('jle', R2, imm(pcapsize), `${lenOk}.rd`).mov(R2, imm(0)).label(`${lenOk}.rd`);
    a.call(Helper.probe_read_kernel);
    this.release(skb);
    const u32 = Types.uint, u64 = Types.ulong;
    this.actions.push({
      kind: 'pcap',
      time: { offset: timeField, sizeBytes: 8, type: u64, decode: 'int', signed: false },
      length: { offset: lengthField, sizeBytes: 4, type: u32, decode: 'int', signed: false },
      proto: { offset: protoField, sizeBytes: 8, type: u64, decode: 'int', signed: false },
      field: { offset: bytesField, sizeBytes: pcapsize, type: pointerTo(Types.uchar), decode: 'bytes' },
    });
    return undefined;
  }
}
