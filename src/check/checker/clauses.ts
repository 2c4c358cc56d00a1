/**
 * @fileoverview Clauses and actions: cooking each clause, then the checks DTrace makes in code generation (actions, printf formats, printa, aggregations).
 */
import type { Clause, Expr, Stmt, AggRef, Index, Call, Declaration, Assign } from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { type Span } from '../../diag/source.js';
import { typedef, resolve, sizeOf, typeName, isCharPointerOrArray, type CType } from '../ctypes.js';
import { fail, isCheckFailure } from '../abort.js';
import { type BuiltinFunction } from '../../builtins/signatures.js';
import { compilePrintf, isPrintfError, type PrintfDirective } from '../../builtins/printf-format.js';
import { type AggregationInfo } from '../checked.js';
import { ID_MOD, ID_REF, Info, isDyn, isIntegerT, isPointerT, isScalarT, isStringT, isVoid } from './rules.js';
import { DeclarationChecks } from './declarations.js';
import { checkRecordingCalls } from '../recording-calls.js';

export abstract class ClauseChecks extends DeclarationChecks {
  protected cookStmts(stmts: Stmt[]): void {
    for (const s of stmts) {
      switch (s.kind) {
        case 'ExprStmt': this.cook(s.expr, 0); break;
        case 'IfStmt': {
          const c = this.cook(s.cond, ID_REF);
          if (!isScalarT(c.type)) fail('D_PRED_SCALAR', 'predicate result must be of scalar type', s.cond.span);
          this.cookStmts([s.then, ...(s.else ? [s.else] : [])]);
          break;
        }
        case 'BlockStmt': this.cookStmts(s.body); break;
        case 'Declaration': case 'EmptyStmt': break;
      }
    }
  }

  protected cookClause(c: Clause): void {
    this.currentClause = c;
    let retried = false;
    try {
      this.cookStmts(c.body);
    } catch (err) {
      if (!isCheckFailure(err) || !c.predicate || (err.tag !== 'D_IDENT_UNDEF' && err.tag !== 'D_VAR_UNDEF')) throw err;
      retried = true;
    }
    if (c.predicate) {
      const p = this.cook(c.predicate, ID_REF);
      // DTrace reports this with the lexer's line while cooking the clause: the clause's own.
      if (!isScalarT(p.type)) fail('D_PRED_SCALAR', 'predicate result must be of scalar type', { ...c.predicate.span, lineAt: c.span.lineAt });
    }
    if (retried) this.cookStmts(c.body);
    checkRecordingCalls([c.predicate, c.body]);
    this.checkActions(c);
    this.currentClause = undefined;
  }

  /** The checks DTrace makes while generating code for a clause, in statement order. */
  protected checkActions(c: Clause): void {
    const st = { spec: false, commit: false, drec: false, agg: false };
    const flat: Stmt[] = [];
    const flatten = (ss: Stmt[]) => {
      for (const s of ss) {
        if (s.kind === 'BlockStmt') flatten(s.body);
        else if (s.kind === 'IfStmt') flatten([s.then, ...(s.else ? [s.else] : [])]);
        else flat.push(s);
      }
    };
    flatten(c.body);
    for (const s of flat) {
      if (s.kind !== 'ExprStmt') continue;
      const x = unparen(s.expr);
      if (x.kind === 'Assign' && this.symbols.get(x)?.kind === 'agg') {
        if (st.spec) fail('D_AGG_SPEC', 'aggregating actions may not follow speculate( )', x.span);
        if (st.commit) fail('D_AGG_COMM', 'aggregating actions may not follow commit( )', x.span);
        this.checkAggregation(x);
        st.agg = true;
        continue;
      }
      if (x.kind === 'AggRef' || (x.kind === 'Index' && this.symbols.get(x)?.kind === 'agg')) {
        const a = this.symbols.get(x);
        fail('D_AGG_NULL', `expression has null effect: @${a?.kind === 'agg' ? a.info.name : ''}`, x.span);
      }
      if (x.kind !== 'Call') continue;
      const fn = this.infos.get(x)?.fn;
      if (!fn) continue;
      if (fn.kind === 'aggregation') {
        fail('D_CG_EXPR', `${fn.name}( ) may not be called from a D expression (D program context required)`, x.span);
      }
      if (fn.kind !== 'action' && !fn.destructive) continue;
      const name = fn.name;
      if (name === 'speculate') {
        if (st.spec) fail('D_SPEC_SPEC', 'speculate( ) may not follow speculate( )', x.span);
        if (st.commit) fail('D_SPEC_COMM', 'speculate( ) may not follow commit( )', x.span);
        if (st.drec) fail('D_SPEC_DREC', 'speculate( ) may not follow data-recording action(s)', x.span);
        if (st.agg) fail('D_SPEC_AGG', 'speculate( ) may not follow aggregating action(s)', x.span);
        st.spec = true;
        continue;
      }
      if (name === 'commit' || name === 'discard') {
        if (st.drec && name === 'commit') fail('D_COMM_DREC', 'commit( ) may not follow data-recording action(s)', x.span);
        if (st.spec) fail(name === 'commit' ? 'D_COMM_SPEC' : 'D_DISC_SPEC', `${name}( ) may not follow speculate( )`, x.span);
        if (name === 'commit') st.commit = true;
        continue;
      }
      if (name === 'exit' && st.spec) fail('D_EXIT_SPEC', 'exit( ) may not follow speculate( )', x.span);
      if (fn.destructive && st.spec) fail('D_ACT_SPEC', 'destructive actions may not follow speculate( )', x.span);
      if (fn.recordsData && st.commit) fail('D_DREC_COMM', 'data-recording actions may not follow commit( )', x.span);
      this.checkAction(x, fn);
      if (fn.recordsData) st.drec = true;
    }
  }

  protected checkAction(x: Call, fn: BuiltinFunction): void {
    const args = x.args.map((a) => this.infos.get(a)!);
    switch (fn.name) {
      case 'trace':
        if (isVoid(args[0]!.type)) fail('D_TRACE_VOID', 'trace( ) may not be applied to a void expression', x.args[0]!.span);
        if (isDyn(args[0]!.type)) fail('D_TRACE_DYN', 'trace( ) may not be applied to a dynamic expression', x.args[0]!.span);
        break;
      case 'tracemem':
        if (!isIntegerT(args[0]!.type) && !isPointerT(args[0]!.type)) {
          fail('D_TRACEMEM_ADDR', `tracemem( ) argument #1 is incompatible with prototype:\n\tprototype: pointer or integer\n\t argument: ${this.typeNameOf(args[0]!)}`, x.args[0]!.span);
        }
        if (!this.isPosConst(args[1])) fail('D_TRACEMEM_SIZE', 'tracemem( ) argument #2 must be a non-zero positive integral constant expression', x.args[1]!.span);
        break;
      case 'stack':
        if (args[0] && !this.isPosConst(args[0])) fail('D_STACK_SIZE', 'stack( ) argument #1 must be a non-zero positive integer constant', x.args[0]!.span);
        break;
      case 'ustack': case 'jstack':
        if (args[0] && !this.isPosConst(args[0])) fail('D_USTACK_FRAMES', `${fn.name}( ) argument #1 must be a non-zero positive integer constant`, x.args[0]!.span);
        if (args[1] && (args[1].node !== 'int' || args[1].constVal === undefined || BigInt.asIntN(64, args[1].constVal) < 0n)) {
          fail('D_USTACK_STRSIZE', `${fn.name}( ) argument #2 must be a positive integer constant`, x.args[1]!.span);
        }
        break;
      case 'printf': case 'system': case 'freopen': this.checkPrintf(x, fn, args); break;
      case 'printa': this.checkPrinta(x, args); break;
      case 'clear': case 'denormalize':
        if (args[0]!.node !== 'agg') fail(fn.name === 'clear' ? 'D_CLEAR_AGGARG' : 'D_NORMALIZE_AGGARG', `${fn.name}( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${this.typeNameOf(args[0]!)}`, x.span);
        break;
      case 'normalize':
        if (args.length !== 2) fail('D_NORMALIZE_PROTO', `normalize( ) prototype mismatch: ${args.length} args passed, 2 expected`, x.span);
        if (args[0]!.node !== 'agg') fail('D_NORMALIZE_AGGARG', `normalize( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${this.typeNameOf(args[0]!)}`, x.span);
        if (!isScalarT(args[1]!.type)) fail('D_NORMALIZE_SCALAR', 'normalize( ) argument #2 must be of scalar type', x.span);
        break;
      case 'trunc':
        if (args[0]!.node !== 'agg') fail('D_TRUNC_AGGARG', `trunc( ) argument #1 is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${this.typeNameOf(args[0]!)}`, x.span);
        if (args[1] && !isScalarT(args[1].type)) fail('D_TRUNC_SCALAR', 'trunc( ) argument #2 must be of scalar type', x.span);
        break;
      case 'print': {
        const t = resolve(args[0]!.type);
        if (t.kind === 'pointer' && sizeOf(t.target, this.strsize) === 0) fail('D_PRINT_SIZE', `print( ) argument #1 reference has type '${typeName(t.target)}' with size 0; cannot print( ) it.`, x.args[0]!.span);
        break;
      }
    }
  }

  protected checkPrintf(x: Call, fn: BuiltinFunction, args: Info[]): void {
    const f = args[0]!;
    if (f.node !== 'string' || f.str === undefined) {
      fail('D_PRINTF_ARG_FMT', `${fn.name}( ) argument #1 is incompatible with prototype:\n\tprototype: string constant\n\t argument: ${this.typeNameOf(f)}`, x.args[0]!.span);
    }
    if (fn.name === 'freopen' && f.str === '.') fail('D_FREOPEN_INVALID', 'freopen( ) argument #1 cannot be "."', x.span);
    if (f.str === '' && fn.name !== 'freopen') fail('D_PRINTF_FMT_EMPTY', `${fn.name}( ) format string is empty`, x.span);
    const convs = this.parseFormat(f.str!, x.span);
    this.validateFormat(fn.name, convs, args.slice(1), x.args.slice(1), 2, x.span, false);
  }

  /** The format's conversions (`%%` left out), parsed as the consumer will print them; D_SYNTAX when malformed. */
  protected parseFormat(format: string, span: Span): PrintfDirective[] {
    const parsed = compilePrintf(format);
    if (isPrintfError(parsed)) fail('D_SYNTAX', parsed.error, span);
    return parsed.directives.filter((d) => d.conv.print !== 'pct');
  }

  protected validateFormat(name: string, convs: PrintfDirective[], args: Info[], argExprs: Expr[], firstArgNo: number, span: Span, printa: boolean, aggInfo?: Info): void {
    let ai = 0;
    convs.forEach((cv, ci) => {
      const n = ci + 1;
      const conv = cv.conv.name;
      for (const [dyn, what] of [[cv.flags.dynWidth, '*'], [cv.flags.dynPrec, '.*']] as const) {
        if (!dyn) continue;
        const a = args[ai];
        if (!a) fail('D_PRINTF_DYN_PROTO', `${name}( ) prototype mismatch: conversion #${n} (%${conv}) is missing a corresponding "${what}" argument`, span);
        if (!isIntegerT(a!.type)) {
          fail('D_PRINTF_DYN_TYPE', `${name}( ) argument #${ai + firstArgNo} is incompatible with conversion #${n} prototype:\n\tconversion: % ${what} ${conv}\n\t prototype: int\n\t  argument: ${this.typeNameOf(a!)}`, argExprs[ai]?.span ?? span);
        }
        ai++;
      }
      if (cv.flags.agg) {
        if (!printa) fail('D_PRINTF_AGG_CONV', '%@ conversion requires an aggregation and is not for use with printf( )', span);
        void aggInfo;
        return;
      }
      const a = args[ai];
      if (!a) fail('D_PRINTF_ARG_PROTO', `${name}( ) prototype mismatch: conversion #${n} (%${conv}) is missing a corresponding value argument`, span);
      if (!this.convAccepts(cv, a!)) {
        fail('D_PRINTF_ARG_TYPE', `${name}( ) argument #${ai + firstArgNo} is incompatible with conversion #${n} prototype:\n\tconversion: %${conv}\n\t prototype: ${cv.conv.proto}\n\t  argument: ${this.typeNameOf(a!)}`, argExprs[ai]?.span ?? span);
      }
      ai++;
    });
    if (!printa && ai < args.length) {
      fail('D_PRINTF_ARG_EXTRA', `${name}( ) prototype mismatch: only ${ai} arguments required by this format string`, span);
    }
  }

  /** Whether a conversion takes the argument: by its check kind, integers sized by the length prefix (`h`, `l`, `ll`). */
  protected convAccepts(cv: PrintfDirective, a: Info): boolean {
    const t = a.type;
    if (isDyn(t)) return false;
    const r = resolve(t);
    const intSize = r.kind === 'int' ? r.sizeBytes : r.kind === 'enum' ? 4 : 0;
    const length = cv.conv.name.slice(0, -1);
    switch (cv.conv.check) {
      case 'type':
        if (cv.conv.print === 'fp') return r.kind === 'float';
        if (!isIntegerT(t)) return false;
        if (length === 'h') return intSize === 2;
        if (length === 'l' || length === 'll') return intSize === 8;
        return true;
      case 'dint': case 'xint': return isIntegerT(t);
      case 'xshort': return isIntegerT(t) && intSize === 2;
      case 'xlong': case 'xlonglong': return isIntegerT(t) && intSize === 8;
      case 'csi': return isIntegerT(t) && intSize <= 4;
      case 'fp': return r.kind === 'float';
      case 'addr': case 'kaddr': return isIntegerT(t) || r.kind === 'pointer' || r.kind === 'array';
      case 'uaddr': return isIntegerT(t) || r.kind === 'pointer';
      case 'str': return isStringT(t) || (r.kind === 'array' && isCharPointerOrArray(t));
      case 'wstr': return r.kind === 'array';
      case 'stack': return t.kind === 'typedef' && t.name === 'stack';
      case 'time': return isIntegerT(t) && intSize === 8;
    }
  }

  protected checkPrinta(x: Call, args: Info[]): void {
    let fmt: string | undefined;
    let first = 0;
    if (args[0]!.node === 'string') { fmt = args[0]!.str; first = 1; }
    if (args.length < first + 1) fail('D_PRINTA_PROTO', `printa( ) prototype mismatch: ${args.length} args passed, ${first + 1} expected`, x.span);
    let proto: { info: AggregationInfo; name: string } | undefined;
    for (let i = first; i < args.length; i++) {
      const a = args[i]!;
      if (a.node !== 'agg') {
        fail('D_PRINTA_AGGARG', `printa( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: aggregation\n\t argument: ${this.typeNameOf(a)}`, x.args[i]!.span);
      }
      const s = this.symbols.get(unparen(x.args[i]!));
      if (s?.kind !== 'agg') continue;
      const ag = this.aggs.get(s.info.name);
      if (ag && !(ag.flags & ID_MOD)) fail('D_PRINTA_AGGBAD', `undefined aggregation: @${s.info.name}`, x.args[i]!.span);
      if (!proto) proto = { info: s.info, name: s.info.name };
      else {
        const pk = proto.info.keyTypes ?? [], ak = s.info.keyTypes ?? [];
        if (pk.length !== ak.length) {
          fail('D_PRINTA_AGGKEY', `printa( ): @${proto.name} and @${s.info.name} do not have matching key signatures: @${proto.name} has ${pk.length} key${pk.length === 1 ? '' : 's'}, @${s.info.name} has ${ak.length} key${ak.length === 1 ? '' : 's'}`, x.span);
        }
        pk.forEach((k, j) => {
          if (!this.argCompat(this.typeInfo(k), this.typeInfo(ak[j]!))) {
            // dt_printa_validate: each aggregation's name right-aligned in 9 columns.
            const keyLine = (name: string, t: CType): string => `${name.padStart(9)} key #${j + 1}: ${typeName(t)}`;
            fail('D_PRINTA_AGGPROTO', `printa( ): @${s.info.name}[ ] key #${j + 1} is incompatible with @${proto!.name}:\n${keyLine(proto!.name, k)}\n${keyLine(s.info.name, ak[j]!)}`, x.span);
          }
        });
      }
    }
    if (fmt !== undefined && proto) {
      if (fmt === '') fail('D_PRINTF_FMT_EMPTY', 'printa( ) format string is empty', x.span);
      const convs = this.parseFormat(fmt, x.span);
      const keys = (proto.info.keyTypes ?? []).map(this.typeInfo);
      this.validateFormat('printa', convs, keys, [], 2, x.span, true);
    }
  }

  protected checkAggregation(x: Assign): void {
    const sym = this.symbols.get(x);
    if (sym?.kind !== 'agg') return;
    const info = sym.info;
    const call = unparen(x.value) as Call;
    const args = call.args.map((a) => this.infos.get(a)!);
    const fn = info.fn;
    const scalarArg = (i: number) => {
      const a = args[i];
      if (a && !isScalarT(a.type)) fail('D_AGG_SCALAR', `${fn}( ) argument #${i + 1} must be of scalar type`, call.args[i]!.span);
    };
    if (fn !== 'count') scalarArg(0);
    if (args[0] && fn !== 'count') info.valueType ??= args[0].type;
    let params: bigint[] = [];
    const incrArg = (i: number) => {
      const a = args[i];
      if (a && !isScalarT(a.type)) {
        fail('D_PROTO_ARG', `${fn}( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: int64_t\n\t argument: ${this.typeNameOf(a)}`, call.args[i]!.span);
      }
    };
    if (fn === 'quantize') {
      if (args.length > 2) fail('D_PROTO_LEN', `quantize( ) prototype mismatch: ${args.length} args passed, at most 2 expected`, call.span);
      incrArg(1);
    } else if (fn === 'lquantize') {
      const base = this.constArg(args[1]);
      if (base === undefined) fail('D_LQUANT_BASETYPE', 'lquantize( ) argument #2 must be an integer constant', call.args[1]!.span);
      if (base! >= 2147483647n || base! < -2147483648n) fail('D_LQUANT_BASEVAL', 'lquantize( ) argument #2 must be a 32-bit quantity', call.args[1]!.span);
      const limit = this.constArg(args[2]);
      if (limit === undefined) fail('D_LQUANT_LIMTYPE', 'lquantize( ) argument #3 must be an integer constant', call.args[2]!.span);
      if (limit! >= 2147483647n || limit! < -2147483648n) fail('D_LQUANT_LIMVAL', 'lquantize( ) argument #3 must be a 32-bit quantity', call.args[2]!.span);
      if (limit! <= base!) fail('D_LQUANT_MISMATCH', 'lquantize( ) base (argument #2) must be less than limit (argument #3)', call.span);
      let step = 1n;
      if (args[3]) {
        const s = this.constArg(args[3]);
        if (s === undefined || s <= 0n) fail('D_LQUANT_STEPTYPE', 'lquantize( ) argument #4 must be a non-zero positive integer constant', call.args[3]!.span);
        if (s! > 65535n) fail('D_LQUANT_STEPVAL', 'lquantize( ) argument #4 must be a 16-bit quantity', call.args[3]!.span);
        step = s!;
      }
      const levels = (limit! - base!) / step;
      if (levels > 65535n) fail('D_LQUANT_STEPSMALL', 'lquantize( ) step (argument #4) too small: number of quantization levels must be a 16-bit quantity', call.span);
      if (levels === 0n) fail('D_LQUANT_STEPLARGE', 'lquantize( ) step (argument #4) too large: must have at least one quantization level', call.span);
      if (args.length > 5) fail('D_PROTO_LEN', `lquantize( ) prototype mismatch: ${args.length} args passed, at most 5 expected`, call.span);
      if (args[4]) incrArg(4);
      params = [base!, limit!, step];
      if (info.params.length) {
        const [pb, pl, ps] = info.params as [bigint, bigint, bigint];
        if (pb !== base) fail('D_LQUANT_MATCHBASE', `lquantize( ) base (argument #2) doesn't match previous declaration: expected ${pb}, found ${base}`, call.span);
        if (pl !== limit) fail('D_LQUANT_MATCHLIM', `lquantize( ) limit (argument #3) doesn't match previous declaration: expected ${pl}, found ${limit}`, call.span);
        if (ps !== step) fail('D_LQUANT_MATCHSTEP', `lquantize( ) step (argument #4) doesn't match previous declaration: expected ${ps}, found ${step}`, call.span);
      }
    } else if (fn === 'llquantize') {
      if (args.length > 6) fail('D_PROTO_LEN', `llquantize( ) prototype mismatch: ${args.length} args passed, at most 6 expected`, call.span);
      const factor = this.constArg(args[1]);
      if (factor === undefined) fail('D_LLQUANT_FACTORTYPE', 'llquantize( ) argument #2 must be an integer constant', call.args[1]!.span);
      if (factor! < 2n || factor! > 65535n) fail('D_LLQUANT_FACTORVAL', 'llquantize( ) argument #2 must be a 16-bit quantity greater than 1', call.args[1]!.span);
      const lmag = this.constArg(args[2]);
      if (lmag === undefined) fail('D_LLQUANT_LMAGTYPE', 'llquantize( ) argument #3 must be an integer constant', call.args[2]!.span);
      if (lmag! < 0n || lmag! > 65535n) fail('D_LLQUANT_LMAGVAL', 'llquantize( ) argument #3 must be a non-negative 16-bit quantity', call.args[2]!.span);
      const hmag = this.constArg(args[3]);
      if (hmag === undefined) fail('D_LLQUANT_HMAGTYPE', 'llquantize( ) argument #4 must be an integer constant', call.args[3]!.span);
      if (hmag! < 0n || hmag! > 65535n) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) argument #4 must be a non-negative 16-bit quantity', call.args[3]!.span);
      if (hmag! < lmag!) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) argument #4 (high magnitude) must be at least argument #3 (low magnitude)', call.args[3]!.span);
      if (factor! ** (hmag! + 1n) > 0xffffffffffffffffn) fail('D_LLQUANT_HMAGVAL', 'llquantize( ) factor (argument #2) raised to power of high magnitude (argument #4) plus 1 must fit in 64 bits', call.args[3]!.span);
      const steps = this.constArg(args[4]);
      if (steps === undefined || steps <= 0n) fail('D_LLQUANT_STEPTYPE', 'llquantize( ) argument #5 must be a non-zero positive integer constant', call.args[4]?.span ?? call.span);
      if (steps! > 65535n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 must be a 16-bit quantity', call.args[4]!.span);
      if (steps! < factor!) {
        if (factor! % steps! !== 0n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 (steps) must evenly divide argument #2 (factor) when steps<factor', call.args[4]!.span);
      } else if (steps! > factor!) {
        const pw = lmag === 0n ? factor! * factor! : factor! ** (lmag! + 1n);
        if (steps! % factor! !== 0n || pw % steps! !== 0n) fail('D_LLQUANT_STEPVAL', 'llquantize( ) argument #5 (steps) must be a multiple of argument #2 (factor) and divide factor^(lmag+1) when steps>factor', call.args[4]!.span);
      }
      if (args[5]) incrArg(5);
      if (args.length > 6) fail('D_PROTO_LEN', `llquantize( ) prototype mismatch: ${args.length} args passed, at most 6 expected`, call.span);
      params = [factor!, lmag!, hmag!, steps!];
      if (info.params.length) {
        const [pf, pl, ph, ps] = info.params as [bigint, bigint, bigint, bigint];
        if (pf !== factor) fail('D_LLQUANT_MATCHFACTOR', `llquantize( ) factor (argument #2) doesn't match previous declaration: expected ${pf}, found ${factor}`, call.span);
        if (pl !== lmag) fail('D_LLQUANT_MATCHLMAG', `llquantize( ) lmag (argument #3) doesn't match previous declaration: expected ${pl}, found ${lmag}`, call.span);
        if (ph !== hmag) fail('D_LLQUANT_MATCHHMAG', `llquantize( ) hmag (argument #4) doesn't match previous declaration: expected ${ph}, found ${hmag}`, call.span);
        if (ps !== steps) fail('D_LLQUANT_MATCHSTEPS', `llquantize( ) steps (argument #5) doesn't match previous declaration: expected ${ps}, found ${steps}`, call.span);
      }
    } else if (args.length > (fn === 'count' ? 0 : 1)) {
      fail('D_PROTO_LEN', `${fn}( ) prototype mismatch: ${args.length} args passed, ${fn === 'count' ? 0 : 1} expected`, call.span);
    }
    if (!info.params.length) info.params = params;
  }
}
