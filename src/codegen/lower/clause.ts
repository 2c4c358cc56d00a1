/**
 * @fileoverview Lowering of D clauses to BPF: expressions, statements, variables, actions and
 * aggregation updates. Clauses are emitted inline into each probe's program, in script order,
 * each guarded by the activity gate and its predicate (dtrace-utils' dt_cg_tramp_call_clauses,
 * with the clause body inlined rather than called).
 *
 * Register conventions: R9 = the per-CPU scratch value (layout.ts), R6–R8 = expression
 * temporaries (kept across helper calls), R0–R5 = scratch for helper calls. fp-8 holds the
 * program context.
 */
import { Asm, R0, R1, R2, R3, R4, R9, R10, imm } from '../../bpf/asm/insn.js';
import { Helper } from '../../bpf/uapi.js';
import type * as A from '../../lang/ast.js';
import { MST, STATE, Activity } from '../layout.js';
import { ErrorRecord, RecordHeader, type ProbeInfo } from '../../program/spec.js';
import { callsAny } from '../../lang/walk.js';
import { type LowerEnv, ERROR_SUBPROGRAM } from './context.js';
import { LockLowering } from './locks.js';

/**
 * Emits one clause for one probe. `probe` is known at compile time (clauses are inlined per
 * probe), so probeprov/probemod/probefunc/probename are literals.
 */
export function lowerClause(asm: Asm, env: LowerEnv, clause: A.Clause, stid: number, probe: ProbeInfo, gate: number, inError = false): void {
  const c = new ClauseLowering(asm, env, clause, stid, probe, inError);
  c.emit(gate);
}

/**
 * The body of the ERROR subprogram: called from a fault path with R1 = the scratch value (whose
 * record area holds the error record) and R2 = the program context. It sets arg0..arg5 as
 * DTrace's ERROR probe has them, runs the ERROR clauses, and restores the faulting probe's
 * arguments for the clauses that follow it.
 */
export function lowerErrorSubprogram(env: LowerEnv, clauses: { clause: A.Clause; stid: number }[], probe: ProbeInfo): Asm {
  const a = new Asm(ERROR_SUBPROGRAM);
  const rec = env.mem.rec;
  a.stx(8, R10, -8, R2).mov(R9, R1);
  for (let i = 0; i < 6; i++) a.ldx(8, R1, R9, MST.argv + 8 * i).stx(8, R9, MST.savedArgv + 8 * i, R1);
  a.st(8, R9, MST.argv, 0);
  // arg1 = the faulting probe's id, arg2 = its clause, arg3 = pc, arg4 = fault, arg5 = value.
  a.ldx(4, R1, R9, rec + ErrorRecord.prid).stx(8, R9, MST.argv + 8, R1);
  a.ldx(4, R1, R9, rec + ErrorRecord.faultingStid).stx(8, R9, MST.argv + 16, R1);
  a.ldx(8, R1, R9, rec + ErrorRecord.pc).stx(8, R9, MST.argv + 24, R1);
  a.ldx(4, R1, R9, rec + ErrorRecord.fault).stx(8, R9, MST.argv + 32, R1);
  a.ldx(8, R1, R9, rec + ErrorRecord.value).stx(8, R9, MST.argv + 40, R1);
  for (const c of clauses) lowerClause(a, env, c.clause, c.stid, probe, -1, true);
  a.setSource(undefined);
  for (let i = 0; i < 6; i++) a.ldx(8, R1, R9, MST.savedArgv + 8 * i).stx(8, R9, MST.argv + 8 * i, R1);
  a.mov(R0, imm(0)).exit();
  return a;
}

export class ClauseLowering extends LockLowering {
  emit(gate: number): void {
    const a = this.asm;
    const cl = this.clause;
    this.note(cl.probes[0]?.span ?? cl.span);
    // Activity gate, re-checked before every clause so that exit() stops later clauses.
    // (ERROR clauses run in whatever state the faulting clause ran in: gate < 0.)
    if (gate >= 0) a.ldMapValue(R1, 'state', STATE.activity).ldx(8, R1, R1, 0).jmp('jne', R1, imm(gate), this.end);
    if (cl.predicate) {
      this.note(cl.predicate.span);
      const v = this.evalInt(cl.predicate);
      a.jmp('jeq', v.reg, imm(0), this.end);
      this.release(v);
    }
    this.resetTemps();
    // alloca() memory lives for one clause: a pointer from an earlier clause is invalid.
    if (this.env.usesAlloca) a.st(8, R9, MST.allocaTop, 8);
    const speculative = callsAny(cl.body, ['speculate']);
    if (speculative) a.st(8, R9, MST.specId, 0);
    for (const s of cl.body) this.stmt(s);
    // A clause without data prints its probe line — unless quiet, when it needs no record.
    // A clause that only speculates has its probe line speculated (committed with the buffer).
    const hasData = this.actions.length > 0 || this.records || ((cl.body.length === 0 || speculative) && !this.env.options.quiet);
    const recordSize = (this.recOff + 7) & ~7;
    if (hasData) {
      // Header, then the whole record in one ring-buffer write: a faulting clause emits nothing.
      this.probeId(R1).stx(4, R9, this.mem.rec, R1);
      if (speculative) {
        // The speculation id rides in the high half of the clause id; speculate(0) (no buffer
        // was available) discards the record, as DTrace does.
        a.ldx(8, R1, R9, MST.specId).jmp('jeq', R1, imm(0), this.end);
        a.alu64('lsh', R1, imm(16)).alu64('or', R1, imm(this.stid)).stx(4, R9, this.mem.rec + 4, R1);
      } else a.mov(R1, imm(this.stid)).stx(4, R9, this.mem.rec + 4, R1);
      a.call(Helper.get_smp_processor_id).stx(4, R9, this.mem.rec + RecordHeader.cpu, R0).st(4, R9, this.mem.rec + RecordHeader.cpu + 4, 0);
      a.ldMapFd(R1, 'ringbuf').mov(R2, R9).alu64('add', R2, imm(this.mem.rec)).mov(R3, imm(recordSize)).mov(R4, imm(0)).call(Helper.ringbuf_output);
      a.jmp('jeq', R0, imm(0), this.end);
      a.ldMapValue(R1, 'state', STATE.bufDrops).mov(R2, imm(1)).atomicAdd(8, R1, 0, R2);
    }
    a.label(this.end);
    if (!this.env.clauses.has(this.stid)) {
      this.env.clauses.set(this.stid, { stid: this.stid, span: cl.span, recordSize: hasData ? recordSize : 0, actions: this.actions, printsPrefix: hasData });
      this.env.recMax = Math.max(this.env.recMax, recordSize);
    }
  }

  protected stmt(s: A.Stmt): void {
    switch (s.kind) {
      case 'ExprStmt': {
        this.note(s.span);
        const v = this.expr(s.expr, true);
        this.release(v);
        this.resetTemps();
        return;
      }
      case 'BlockStmt': s.body.forEach((x) => this.stmt(x)); return;
      case 'EmptyStmt': return;
      case 'Declaration': return;
      case 'IfStmt': {
        this.note(s.cond.span);
        const v = this.evalInt(s.cond);
        const elseL = this.asm.newLabel('else'), endL = this.asm.newLabel('endif');
        this.asm.jmp('jeq', v.reg, imm(0), elseL);
        this.release(v);
        this.resetTemps();
        this.stmt(s.then);
        this.asm.ja(endL).label(elseL);
        if (s.else) this.stmt(s.else);
        this.asm.mov(R0, R0).label(endL); // a no-op so both labels bind to an instruction
        this.asm.mov(R0, R0);
        return;
      }
    }
  }
}
