/**
 * @fileoverview Identifiers and what they name: variables, builtins, aggregations, associative arrays and their keys, members, function calls.
 */
import type { Expr, Ident, SelfVar, ThisVar, AggRef, Index, Member, Call } from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { type Span } from '../../diag/source.js';
import { Types, pointerTo, resolve, typeName, memberOf, type CType, type StructType, type PointerType } from '../ctypes.js';
import { fail } from '../abort.js';
import { parseTypeText } from '../decl.js';
import { lookupBuiltinFunction } from '../../builtins/signatures.js';
import { BUILTIN_VARIABLES, type BuiltinVariable } from '../../builtins/variables.js';
import { DYN, type AggregationInfo, type VariableInfo } from '../checked.js';
import { F_ALLOCA, F_BITFIELD, F_LVALUE, F_USER, F_WRITABLE, GlobalIdent, ID_ALLOCA, ID_MOD, ID_REF, Info, derefFlags, descText, idkindName, isDyn, isIntegerT, isPointerT, isStringT, isVoid, pointee, wrap } from './rules.js';
import { CheckerState } from './state.js';

export abstract class IdentifierChecks extends CheckerState {
  protected cookList(es: Expr[]): Info[] { return es.map((e) => this.cook(e, ID_REF)); }

  protected lookupGlobal(name: string): GlobalIdent | undefined { return this.globals.get(name); }

  protected cookIdent(e: Ident, idflags: number, create: boolean): Info {
    for (let i = this.overlays.length - 1; i >= 0; i--) {
      const o = this.overlays[i]!.get(e.name);
      if (o) return this.record(e, { type: o.type, flags: o.kind === 'xlate-input' ? F_LVALUE : 0, node: 'var' }, o);
    }
    const g = this.lookupGlobal(e.name);
    if (g) {
      switch (g.kind) {
        case 'builtin-var': {
          if (g.v.indexed) fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
          const t = this.builtinVarType(g.v);
          return this.record(e, { type: t, flags: F_LVALUE, node: 'var' }, { kind: 'builtin-var', name: e.name, variable: g.v, type: t });
        }
        case 'function':
          fail('D_IDENT_BADREF', `${idkindName(g)} '${e.name}' may not be referenced as scalar`, e.span);
        // eslint-disable-next-line no-fallthrough
        case 'variable': {
          if (g.info.kind === 'assoc') fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
          if ((idflags & ID_REF) && this.unref(g.flags, g.info) && g.info.type === undefined) {
            fail('D_VAR_UNDEF', `${e.name} has not yet been declared or assigned`, e.span);
          }
          g.flags |= idflags;
          return this.record(e, { type: g.info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (g.info.userland ? F_USER : 0) | (g.flags & ID_ALLOCA ? F_ALLOCA : 0), node: 'var' },
            { kind: 'variable', info: g.info });
        }
        case 'inline': {
          const v = this.infos.get(g.info.value);
          // An inline whose value is an integer constant is one itself (dt_node_ident), so
          // `inline int FDMAX = 255;` is a constant argument: lquantize(arg0, 0, FDMAX, 1).
          const constant = v?.node === 'int' && v.constVal !== undefined && !g.info.params;
          const info: Info = { type: g.info.type, flags: 0, node: constant ? 'int' : 'var', constVal: v?.constVal !== undefined ? wrap(v.constVal, g.info.type) : undefined, str: v?.str };
          if (g.xlate) { info.xlate = g.xlate; info.type = DYN; info.dynKind = g.xlate.pointer ? 'pointer to translated data' : 'translated data'; }
          return this.record(e, info, { kind: 'inline', info: g.info });
        }
        case 'enum-const':
          return this.record(e, { type: g.type, flags: 0, node: 'int', constVal: g.value }, { kind: 'enum-const', name: g.name, value: g.value, type: g.type });
      }
    }
    if (e.name === 'NULL' && !create) {
      // D's built-in NULL is the int constant 0 (sizeof (NULL) is 4, as in DTrace); an integer
      // constant 0 is compatible with any pointer, so it still compares with and assigns to them.
      return this.record(e, { type: Types.int, flags: 0, node: 'int', constVal: 0n });
    }
    if (create) {
      const info = this.newVar(e.name, 'global', 'scalar', e.span);
      const entry: GlobalIdent = { kind: 'variable', info, flags: 0 };
      this.globals.set(e.name, entry);
      return this.record(e, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var' }, { kind: 'variable', info });
    }
    return fail('D_IDENT_UNDEF', `failed to resolve ${e.name}: Unknown variable name`, e.span);
  }

  protected cookScoped(e: SelfVar | ThisVar, idflags: number, asArrayBase = false): Info {
    const isSelf = e.kind === 'SelfVar';
    const table = isSelf ? this.tls : this.locals;
    let entry = table.get(e.name);
    if (!entry) {
      entry = { info: this.newVar(e.name, isSelf ? 'thread' : 'clause', 'scalar', e.span), flags: 0 };
      table.set(e.name, entry);
    }
    if (!asArrayBase && entry.info.kind === 'assoc') {
      fail('D_IDENT_BADREF', `associative array '${e.name}' may not be referenced as scalar`, e.span);
    }
    if (!asArrayBase && (idflags & ID_REF) && this.unref(entry.flags, entry.info) && entry.info.type === undefined) {
      fail('D_VAR_UNDEF', `${isSelf ? 'self->' : 'this->'}${e.name} has not yet been declared or assigned`, e.span);
    }
    if (!asArrayBase) entry.flags |= idflags;
    return this.record(e, { type: entry.info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (entry.info.userland ? F_USER : 0) | (entry.flags & ID_ALLOCA ? F_ALLOCA : 0), node: 'var' },
      { kind: 'variable', info: entry.info });
  }

  protected cookAggRef(e: AggRef, create: boolean): { info: Info; agg: { info: AggregationInfo; flags: number; fnLine: number } } {
    let a = this.aggs.get(e.name);
    if (!a) {
      if (!create) fail('D_IDENT_UNDEF', `failed to resolve @${e.name}: Unknown variable name`, e.span);
      const info: AggregationInfo = { index: this.aggregations.length, name: e.name, fn: '', keyTypes: undefined, params: [], span: e.span };
      this.aggregations.push(info);
      a = { info, flags: 0, fnLine: 0 };
      this.aggs.set(e.name, a);
    }
    return { info: this.record(e, { type: DYN, flags: F_LVALUE, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: a.info }), agg: a };
  }

  /** dt_idcook_sign for associative-array keys: first use fixes the signature. */
  protected checkKeys(prefix: string, name: string, keyTypes: CType[] | undefined, keys: Info[], keyExprs: Expr[], kindName: string, span: Span): CType[] {
    if (keyTypes === undefined) {
      keys.forEach((k, i) => {
        if (isDyn(k.type) || isVoid(k.type)) {
          fail('D_KEY_TYPE', `${this.typeNameOf(k)} expression may not be used as ${kindName} index: key #${i + 1}`, keyExprs[i]!.span);
        }
      });
      return keys.map((k) => k.type);
    }
    if (keys.length !== keyTypes.length) {
      fail('D_PROTO_LEN', `${prefix}${name}[ ] prototype mismatch: ${keys.length} key${keys.length === 1 ? ' ' : 's '}passed, ${keyTypes.length} expected`, span);
    }
    keys.forEach((k, i) => {
      if (!this.argCompat(this.typeInfo(keyTypes[i]!), k)) {
        fail('D_PROTO_ARG', `${prefix}${name}[ ] key #${i + 1} is incompatible with prototype:\n\tprototype: ${typeName(keyTypes[i]!)}\n\t      key: ${this.typeNameOf(k)}`, keyExprs[i]!.span);
      }
    });
    return keyTypes;
  }

  protected cookIndex(e: Index, idflags: number): Info {
    const obj = unparen(e.object);
    if (obj.kind === 'AggRef') {
      const { agg } = this.cookAggRef(obj, idflags !== ID_REF || this.aggs.has(obj.name) ? true : false);
      const keys = this.cookList(e.indices);
      if ((idflags & ID_MOD) === 0) {
        // A reference, not the target of an aggregating assignment.
        return this.record(e, { type: DYN, flags: 0, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
      }
      agg.info.keyTypes = this.checkKeys('@', obj.name, agg.info.keyTypes, keys, e.indices, 'aggregation', e.span);
      return this.record(e, { type: DYN, flags: F_LVALUE, node: 'agg', dynKind: 'aggregation' }, { kind: 'agg', info: agg.info });
    }
    if (obj.kind === 'Index' && unparen(obj.object).kind === 'AggRef') {
      const a = unparen(obj.object) as AggRef;
      fail('D_AGG_MDIM', `improper attempt to reference @${a.name} as a multi-dimensional array`, e.span);
    }
    if (obj.kind === 'Ident') {
      const g = this.lookupGlobal(obj.name);
      if (g?.kind === 'builtin-var' && g.v.indexed) return this.cookBuiltinArray(e, obj, g.v);
      const libVar = g ? undefined : BUILTIN_VARIABLES.get(obj.name);
      if (libVar?.indexed && parseTypeText(this.scope, libVar.type)) return this.cookBuiltinArray(e, obj, libVar);
      if (g?.kind === 'inline' && g.info.params) {
        const keys = this.cookList(e.indices);
        this.checkKeys('', obj.name, g.info.params.map((p) => p.type), keys, e.indices, 'associative array', e.span);
        this.record(obj, { type: DYN, flags: 0, node: 'var', dynKind: 'associative array' }, { kind: 'inline', info: g.info });
        const info: Info = { type: g.info.type, flags: 0, node: 'other' };
        if (g.xlate) { info.xlate = g.xlate; info.type = DYN; info.dynKind = g.xlate.pointer ? 'pointer to translated data' : 'translated data'; }
        return this.record(e, info, { kind: 'inline', info: g.info });
      }
      if (!g || (g.kind === 'variable' && g.info.kind === 'assoc') || (g.kind === 'variable' && this.unref(g.flags, g.info) && g.info.type === undefined)) {
        let entry = g?.kind === 'variable' ? g : undefined;
        if (entry && entry.info.kind === 'scalar') {
          fail('D_IDENT_BADREF', `scalar '${obj.name}' may not be referenced as associative array`, obj.span);
        }
        if (!entry) {
          const info = this.newVar(obj.name, 'global', 'assoc', obj.span);
          entry = { kind: 'variable', info, flags: 0 };
          this.globals.set(obj.name, entry);
        }
        this.record(obj, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var', dynKind: 'associative array' }, { kind: 'variable', info: entry.info });
        return this.cookAssoc(e, obj.name, '', entry.info, entry, idflags);
      }
      if (g.kind === 'function') fail('D_IDENT_BADREF', `${idkindName(g)} '${obj.name}' may not be referenced as associative array`, obj.span);
    }
    if (obj.kind === 'SelfVar' || obj.kind === 'ThisVar') {
      const table = obj.kind === 'SelfVar' ? this.tls : this.locals;
      const entry = table.get(obj.name);
      if (!entry || entry.info.kind === 'assoc' || (this.unref(entry.flags, entry.info) && entry.info.type === undefined)) {
        if (obj.kind === 'ThisVar' && (!entry || entry.info.kind !== 'assoc')) {
          fail('D_ARR_LOCAL', `local variables may not be used as associative arrays: ${obj.name}`, obj.span);
        }
        let ent = entry;
        if (!ent) {
          ent = { info: this.newVar(obj.name, 'thread', 'assoc', obj.span), flags: 0 };
          table.set(obj.name, ent);
        }
        ent.info.kind = 'assoc';
        this.record(obj, { type: DYN, flags: F_LVALUE | F_WRITABLE, node: 'var', dynKind: 'associative array' }, { kind: 'variable', info: ent.info });
        return this.cookAssoc(e, obj.name, 'self->', ent.info, ent, idflags);
      }
    }
    // E1[E2] is *(E1 + E2).
    const base = this.cook(e.object, ID_REF);
    const idx = this.cookList(e.indices);
    const i0 = idx[0]!;
    if (!isIntegerT(base.type) && !(isPointerT(base.type) || isStringT(base.type)) || !isIntegerT(i0.type)) {
      if (!(isIntegerT(base.type) && isIntegerT(i0.type))) {
        fail('D_OP_INCOMPAT', `operands have incompatible types: "${this.typeNameOf(base)}" + "${this.typeNameOf(i0)}"`, e.span);
      }
    }
    if (idx.length > 1) {
      const name = obj.kind === 'Ident' ? `scalar ${obj.name}` : this.typeNameOf(base);
      fail('D_ARR_BADREF', `cannot access ${name} as an associative array`, e.span);
    }
    const r = resolve(base.type);
    if (r.kind === 'array' && r.length !== undefined && r.length > 0 && i0.constVal !== undefined && BigInt.asUintN(64, i0.constVal) >= BigInt(r.length)) {
      fail('D_ARR_BOUNDS', `index outside array bounds: ${BigInt.asUintN(64, i0.constVal)}, max is ${r.length}`, e.indices[0]!.span);
    }
    if (r.kind !== 'pointer' && r.kind !== 'array' && r.kind !== 'string') fail('D_DEREF_NONPTR', 'cannot dereference non-pointer type', e.span);
    const elem = pointee(r);
    const er = resolve(elem);
    if (er.kind === 'void') fail('D_DEREF_VOID', 'cannot dereference pointer to void', e.span);
    return this.record(e, { type: elem, flags: derefFlags(base.flags, er), node: 'other' });
  }

  protected cookAssoc(e: Index, name: string, prefix: string, info: VariableInfo, entry: { flags: number }, idflags: number): Info {
    const keys = this.cookList(e.indices);
    info.keyTypes = this.checkKeys('', name, info.keyTypes, keys, e.indices, 'associative array', e.span);
    void prefix;
    if ((idflags & ID_REF) && info.type === undefined && !info.declared) {
      fail('D_VAR_UNDEF', `${info.scope === 'thread' ? 'self->' : ''}${name} has not yet been declared or assigned`, e.span);
    }
    entry.flags |= idflags;
    return this.record(e, { type: info.type ?? DYN, flags: F_LVALUE | F_WRITABLE | (info.userland ? F_USER : 0), node: 'var', dynKind: info.type ? undefined : 'associative array' },
      { kind: 'variable', info });
  }

  protected cookBuiltinArray(e: Index, obj: Ident, v: BuiltinVariable): Info {
    const idx = this.cookList(e.indices);
    if (idx.length !== 1) fail('D_PROTO_LEN', `${v.name}[ ] prototype mismatch: ${idx.length} arg${idx.length === 1 ? ' ' : 's '}passed, 1 expected`, e.span);
    const i0 = idx[0]!;
    if (i0.constVal === undefined || (i0.node !== 'int' && !(v.name === 'uregs' && this.symbols.get(e.indices[0]!)?.kind === 'inline'))) {
      fail('D_PROTO_ARG', `${v.name}[ ] argument #1 is incompatible with prototype:\n\tprototype: integer constant\n\t argument: ${this.typeNameOf(i0)}`, e.indices[0]!.span);
    }
    const index = Number(BigInt.asIntN(64, i0.constVal));
    this.record(obj, { type: DYN, flags: 0, node: 'var', dynKind: 'associative array' });
    if (v.name === 'uregs') {
      if (index < 0) fail('D_REGS_IDX', `index ${index} is out of range for array ${v.name}`, e.span);
      return this.record(e, { type: this.typeFromText('uint64_t')!, flags: 0, node: 'var' }, { kind: 'uregs', index });
    }
    if (v.name === 'args') {
      if (!this.currentClause) fail('D_ARGS_NONE', `args[ ] may not be referenced outside of a probe clause`, e.span);
      const descs = this.opts.probeArgTypes ? undefined : this.opts.probeArgDescs?.(this.currentClause!);
      if (descs !== undefined) {
        if (index < 0 || index >= descs.length) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(this.currentClause)} args[ ]`, e.span);
        const d = descs[index]!;
        const native = parseTypeText(this.scope, d.native) ?? this.typeFromText('int64_t')!;
        if (d.xlate) {
          const xt = parseTypeText(this.scope, d.xlate);
          const xr = xt && resolve(xt);
          const pointer = xr?.kind === 'pointer';
          const out = xr && resolve(pointer ? (xr as PointerType).target : xr);
          const x = out?.kind === 'struct' ? this.findTranslator({ type: native, flags: 0, node: 'var' }, out) : undefined;
          if (x) {
            return this.record(e, { type: DYN, flags: 0, node: 'other', dynKind: pointer ? 'pointer to translated data' : 'translated data', xlate: { translator: x, pointer } },
              { kind: 'args', index, type: xt!, mapping: d.mapping });
          }
        }
        return this.record(e, { type: native, flags: d.userland ? F_USER : 0, node: 'var' }, { kind: 'args', index, type: native, mapping: d.mapping });
      }
      const types = this.opts.probeArgTypes?.(this.currentClause!);
      if (types === undefined) {
        if (index < 0 || index > 9) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(this.currentClause)} args[ ]`, e.span);
        const t = this.typeFromText('int64_t')!;
        return this.record(e, { type: t, flags: 0, node: 'var' }, { kind: 'args', index, type: t });
      }
      if (index < 0 || index >= types.length) fail('D_ARGS_IDX', `index ${index} is out of range for ${descText(this.currentClause)} args[ ]`, e.span);
      const t = types[index]!;
      return this.record(e, { type: t, flags: 0, node: 'var' }, { kind: 'args', index, type: t });
    }
    // fds[] (D library): fileinfo_t
    const t = parseTypeText(this.scope, v.type);
    if (!t) fail('D_IDENT_UNDEF', `failed to resolve ${v.name}: Unknown variable name`, obj.span);
    return this.record(e, { type: t!, flags: 0, node: 'var' });
  }

  protected completeStruct(st: StructType, op: string, span: Span): StructType {
    if (st.members) return st;
    if (st.name !== undefined) {
      const found = this.scope.tags.get(`${st.tag} ${st.name}`) ?? this.scope.kernel()?.structType(st.tag, st.name);
      if (found?.members) return found;
    }
    return fail('D_OP_INCOMPLETE', `operator ${op} cannot be applied to a forward declaration: no ${st.tag} ${st.name ?? ''} definition is available`, span);
  }

  protected cookMember(e: Member, idflags: number): Info {
    void idflags;
    const op = e.arrow ? '->' : '.';
    const base = this.cook(e.object, ID_REF);
    if (base.xlate) {
      const tr = base.xlate.translator;
      if (e.arrow && !base.xlate.pointer) fail('D_OP_PTR', `operator ${op} must be applied to a pointer`, e.span);
      if (!e.arrow && base.xlate.pointer) fail('D_OP_SOU', `operator . cannot be applied to type "${typeName(pointerTo(tr.output))}"; must be applied to a struct or union`, e.span);
      const expr = tr.members.get(e.member);
      if (!expr) {
        if (!memberOf(tr.output, e.member)) fail('D_TYPE_MEMBER', `${e.member} is not a member of ${typeName(tr.output)}`, e.memberSpan);
        fail('D_XLATE_NOCONV', `translator does not define conversion for member: ${e.member}`, e.memberSpan);
      }
      const m = memberOf(tr.output, e.member)!;
      return this.record(e, { type: m.type, flags: 0, node: 'other' }, { kind: 'xlate-member', translator: tr, member: e.member, expr: expr! });
    }
    let t = resolve(base.type);
    if (e.arrow) {
      if (isDyn(base.type) || t.kind !== 'pointer') fail('D_OP_PTR', `operator -> must be applied to a pointer`, e.span);
      t = resolve((t as PointerType).target);
    }
    if (t.kind === 'struct' && !t.members) t = this.completeStruct(t, op, e.span);
    if (t.kind !== 'struct') {
      if (e.arrow) fail('D_OP_SOU', `operator -> cannot be applied to pointer to type "${typeName(t)}"; must be applied to a struct or union pointer`, e.span);
      fail('D_OP_SOU', `operator ${op} cannot be applied to type "${this.typeNameOf(base)}"; must be applied to a struct or union`, e.span);
    }
    const st = t as StructType;
    const m = memberOf(st, e.member);
    if (!m) fail('D_TYPE_MEMBER', `${e.member} is not a member of ${typeName(st)}`, e.memberSpan);
    const mr = resolve(m!.type);
    let flags = 0;
    if (e.arrow && mr.kind !== 'array') flags |= F_LVALUE;
    if (!e.arrow && (base.flags & F_LVALUE) && mr.kind !== 'array') flags |= F_LVALUE;
    if (base.flags & F_WRITABLE) flags |= F_WRITABLE;
    if (m!.bitSize !== undefined) flags |= F_BITFIELD;
    if ((base.flags & F_USER) && (mr.kind === 'pointer' || mr.kind === 'struct' || mr.kind === 'array')) flags |= F_USER;
    return this.record(e, { type: m!.type, flags, node: 'other' }, { kind: 'member', struct: st, member: m! });
  }

  protected cookCall(e: Call): Info {
    const fn = lookupBuiltinFunction(e.callee.name);
    const g = this.lookupGlobal(e.callee.name);
    // A built-in hidden by option version (or redeclared) is no function here.
    if (!fn || !g || g.kind !== 'function') {
      if (g && g.kind !== 'function') fail('D_FUNC_IDKIND', `${idkindName(g)} '${e.callee.name}' may not be referenced as a function`, e.callee.span);
      fail('D_FUNC_UNDEF', `undefined function name: ${e.callee.name}`, e.callee.span);
    }
    const f = fn!;
    const args = e.args.map((a, i) => {
      // printa()/clear()/trunc()/normalize() name aggregations as arguments.
      const au = unparen(a);
      if (au.kind === 'AggRef') return this.cookAggRef(au, false).info;
      void i;
      return this.cook(a, ID_REF);
    });
    const argc = args.length;
    const min = f.variadicFrom ?? f.params.filter((p) => !p.optional).length;
    const max = f.variadicFrom !== undefined ? Infinity : f.params.length;
    const hasOpt = f.params.some((p) => p.optional);
    let limit = argc;
    if (f.variadicFrom !== undefined) {
      if (argc < min) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at least ${min} expected`, e.span);
      limit = min;
    } else if (hasOpt) {
      if (argc < min) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at least ${min} expected`, e.span);
      if (argc > max) fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, at most ${max} expected`, e.span);
    } else if (argc !== max) {
      fail('D_PROTO_LEN', `${f.name}( ) prototype mismatch: ${argc} arg${argc === 1 ? ' ' : 's '}passed, ${max} expected`, e.span);
    }
    for (let i = 0; i < limit; i++) {
      const p = f.params[i]!;
      if (p.type === '@') continue;
      const pt = this.typeFromText(p.type);
      if (!pt) continue;
      if (!this.argCompat(this.typeInfo(pt), args[i]!)) {
        fail('D_PROTO_ARG', `${f.name}( ) argument #${i + 1} is incompatible with prototype:\n\tprototype: ${typeName(pt)}\n\t argument: ${this.typeNameOf(args[i]!)}`, e.args[i]!.span);
      }
    }
    if (f.destructive) this.usesDestructive = true;
    // The destination of bcopy()/copyinto() must be scratch memory from alloca().
    const dstIndex = f.name === 'bcopy' ? 1 : f.name === 'copyinto' ? 2 : -1;
    if (dstIndex >= 0 && args[dstIndex] && !(args[dstIndex]!.flags & F_ALLOCA)) {
      fail('D_PROTO_ARG', `${f.name}( ) argument #${dstIndex + 1} is incompatible with prototype:\n\tprototype: alloca pointer\n\t argument: non-alloca pointer`, e.args[dstIndex]!.span);
    }
    // inet_ntoa6()'s strict flag picks the code generated (DTrace checks it in dt_cg).
    if (f.name === 'inet_ntoa6' && args[1] && args[1].constVal === undefined) {
      fail('D_PROTO_ARG', 'inet_ntoa6( ) argument #2 must be an integer constant', e.args[1]!.span);
    }
    // A constant size larger than scratch space cannot be allocated (copyin() allocates too).
    if ((f.name === 'alloca' || f.name === 'copyin') && args[f.name === 'alloca' ? 0 : 1]?.constVal !== undefined) {
      const size = BigInt.asUintN(64, args[f.name === 'alloca' ? 0 : 1]!.constVal!);
      const scratch = this.scratchsize();
      if (size > BigInt(scratch)) {
        fail('D_ALLOCA_SIZE', `alloca(${size}) size larger than scratchsize ${scratch}`, e.span);
      }
    }
    const ret = f.kind === 'aggregation' ? DYN : (this.typeFromText(f.returns) ?? Types.void);
    let flags = 0;
    if (f.name === 'alloca' || f.name === 'copyin') flags |= F_ALLOCA;
    return this.record(e, { type: ret, flags, node: 'func', fn: f, dynKind: f.kind === 'aggregation' ? 'aggregating function' : undefined },
      { kind: 'function', fn: f });
  }
}
