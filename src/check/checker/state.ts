/**
 * @fileoverview The checker's state (the type scope, identifier tables, variables, aggregations, the side tables of results) and the helpers every section shares.
 */
import type { Program, Clause, Expr } from '../../lang/ast.js';
import type { DiagnosticSink } from '../../diag/diagnostic.js';
import { reportedLine, type Span } from '../../diag/source.js';
import { Types, pointerTo, resolve, typeName, type CType, type StructType } from '../ctypes.js';
import { fail, isCheckFailure } from '../abort.js';
import { createTypeScope, parseTypeText, type TypeScope, type DeclContext, type KernelTypeSource } from '../decl.js';
import { type BuiltinVariable } from '../../builtins/variables.js';
import { type AggregationInfo, type CheckOptions, type InlineInfo, type SymbolRef, type TranslatorInfo, type VariableInfo } from '../checked.js';
import { GlobalIdent, ID_MOD, ID_REF, Info, VarEntry, asInt, isDyn, isIntegerT, isPointerT, isStackT, isStrCompat, isStringT, pointee, typeCompat, widen64 } from './rules.js';

/** The checker's inputs, set before any state is built from them. */
export abstract class CheckInput {
  constructor(readonly program: Program, readonly sink: DiagnosticSink, readonly opts: CheckOptions) {}
}

export abstract class CheckerState extends CheckInput {
  protected readonly strsize = this.opts.strsize || 256;

  protected kernelCache: KernelTypeSource | undefined | null = null;

  protected readonly kernel = () => {
    if (this.kernelCache === null) this.kernelCache = this.opts.kernelTypes?.();
    return this.kernelCache;
  };

  protected readonly scope: TypeScope = createTypeScope(this.kernel);

  protected readonly infos = new Map<Expr, Info>();

  protected readonly symbols = new Map<Expr, SymbolRef>();

  protected readonly globals = new Map<string, GlobalIdent>();

  protected readonly tls = new Map<string, VarEntry>();

  protected readonly locals = new Map<string, VarEntry>();

  /** Translator-input / inline-parameter names in scope (dt_idstack pushes). */
  protected readonly overlays: Map<string, SymbolRef & { type: CType }>[] = [];

  protected readonly variables: VariableInfo[] = [];

  protected readonly aggs = new Map<string, { info: AggregationInfo; flags: number; fnLine: number }>();

  protected readonly aggregations: AggregationInfo[] = [];

  protected readonly inlines = new Map<string, InlineInfo>();

  protected readonly translators: TranslatorInfo[] = [];

  protected readonly options: [string, string | undefined][] = [];

  protected usesDestructive = false;

  protected currentClause: Clause | undefined;

  protected libraryMode = false;

  protected readonly builtinVarTypes = new Map<string, CType>();

  protected readonly declCtx: DeclContext = {
    scope: this.scope, strsize: this.strsize,
    constValue: (e) => {
      try { return this.cook(e, ID_REF).constVal; } catch (err) { if (isCheckFailure(err)) return undefined; throw err; }
    },
    defineEnumerator: (name, value, type, span) => {
      const prev = this.globals.get(name);
      if (prev) fail('D_DECL_IDRED', `identifier redeclared: ${name}`, span);
      this.globals.set(name, { kind: 'enum-const', name, value, type });
    },
  };

  protected builtinVarType(v: BuiltinVariable): CType {
    let t = this.builtinVarTypes.get(v.name);
    if (t) return t;
    t = parseTypeText(this.scope, v.type);
    if (!t && v.name === 'curthread') t = pointerTo({ kind: 'struct', tag: 'struct', name: 'task_struct', sizeBytes: 0, alignBytes: 1 });
    t ??= Types.long;
    this.builtinVarTypes.set(v.name, t);
    return t;
  }

  protected record(e: Expr, info: Info, sym?: SymbolRef): Info {
    this.infos.set(e, info);
    if (sym) this.symbols.set(e, sym);
    return info;
  }

  protected newVar(name: string, varScope: VariableInfo['scope'], kind: VariableInfo['kind'], span: Span, declared = false): VariableInfo {
    const info: VariableInfo = { index: this.variables.length, name, scope: varScope, kind, type: undefined, declared, userland: false, span };
    this.variables.push(info);
    return info;
  }

  protected readonly unref = (flags: number, info: VariableInfo) => !info.declared && (flags & (ID_REF | ID_MOD)) === 0;

  protected typeNameOf(i: Info): string {
    if (isDyn(i.type) && i.dynKind) return i.dynKind;
    return typeName(i.type);
  }

  protected ptrCompat(l: Info, r: Info): boolean {
    const lt = l.type, rt = r.type;
    const lNull = l.node === 'int' && l.constVal === 0n;
    const rNull = r.node === 'int' && r.constVal === 0n;
    const lp = isPointerT(lt) || isStringT(lt), rp = isPointerT(rt) || isStringT(rt);
    if ((lp && rNull) || (rp && lNull)) return true;
    if (!lp || !rp) return false;
    const lb = resolve(pointee(lt)), rb = resolve(pointee(rt));
    if (lb.kind === 'void' || rb.kind === 'void') return true;
    return typeCompat(lb, rb);
  }

  protected argCompat(proto: Info, arg: Info): boolean {
    if (isDyn(proto.type) || isDyn(arg.type)) return false;
    if (isIntegerT(proto.type) && isIntegerT(arg.type)) return true;
    if (isStackT(proto.type) && isStackT(arg.type)) return true;
    if (isStrCompat(proto.type) && isStrCompat(arg.type)) return true;
    const k = resolve(proto.type).kind;
    if (k === 'function' || k === 'struct') return typeCompat(proto.type, arg.type);
    if (k === 'float' || resolve(arg.type).kind === 'float') return typeCompat(proto.type, arg.type);
    return this.ptrCompat(proto, arg);
  }

  protected readonly typeInfo = (t: CType): Info => ({ type: t, flags: 0, node: 'other' });

  protected scratchsize(): number {
    if (this.opts.scratchsizeBytes !== undefined) return this.opts.scratchsizeBytes;
    let v = 256;
    for (const [name, value] of this.options) {
      if (name !== 'scratchsize' || value === undefined) continue;
      const m = /^(\d+)([kmgt]?)$/i.exec(value);
      if (m) v = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1);
    }
    return v;
  }

  protected lineOf(span: Span): number { return reportedLine(span.source, span.start).line; }

  /** Builtin prototype and variable type names, resolved once per check. */
  protected readonly typeTextCache = new Map<string, CType | undefined>();

  protected typeFromText(text: string): CType | undefined {
    if (this.typeTextCache.has(text)) return this.typeTextCache.get(text);
    const t = parseTypeText(this.scope, text);
    // Library types may appear later; only cache successes.
    if (t) this.typeTextCache.set(text, t);
    return t;
  }

  /**
   * Folds a binary operator on integer constants in 64 bits, as DTrace does (dt_node_op2): the
   * value is not narrowed to the operator's type; only a cast or a store narrows it.
   */
  protected foldBinary(op: string, l: bigint, r: bigint, t: CType): bigint | undefined {
    const lv = widen64(l, t), rv = widen64(r, t);
    switch (op) {
      case '+': return widen64(lv + rv, t);
      case '-': return widen64(lv - rv, t);
      case '*': return widen64(lv * rv, t);
      case '/': return rv === 0n ? undefined : widen64(lv / rv, t);
      case '%': return rv === 0n ? undefined : widen64(lv % rv, t);
      case '&': return widen64(lv & rv, t);
      case '|': return widen64(lv | rv, t);
      case '^': return widen64(lv ^ rv, t);
      case '<<': return widen64(lv << (rv & 63n), t);
      case '>>': return widen64(lv >> (rv & 63n), t);
      default: return undefined;
    }
  }

  protected readonly isPosConst = (i: Info | undefined) => i !== undefined && i.node === 'int' && i.constVal !== undefined && BigInt.asIntN(64, i.constVal) > 0n;

  protected constArg(a: Info | undefined): bigint | undefined {
    return a && a.node === 'int' && a.constVal !== undefined ? BigInt.asIntN(64, a.constVal) : undefined;
  }

  // Implemented by the sections that extend this one.
  protected abstract cook(e: Expr, idflags: number): Info;
  protected abstract findTranslator(input: Info, output: StructType): TranslatorInfo | undefined;
}
