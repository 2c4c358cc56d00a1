/**
 * @fileoverview The parse-time pass: declarations, inlines, translators, pragmas and the checks DTrace makes while parsing.
 */
import { walkExpr } from '../../lang/walk.js';
import type { Expr, Stmt, Call, Declaration, InlineDecl, TranslatorDecl, Pragma, TypeName, IntLit } from '../../lang/ast.js';
import { unparen } from '../../lang/ast.js';
import { type Span } from '../../diag/source.js';
import { typedef, resolve, typeName, sameType, memberOf, type CType, type StructType } from '../ctypes.js';
import { fail } from '../abort.js';
import { resolveSpecifier, applyDeclarator, resolveTypeName } from '../decl.js';
import { lookupBuiltinFunction } from '../../builtins/signatures.js';
import { builtinsAfter } from '../../builtins/versions.js';
import { type InlineInfo, type TranslatorInfo, type VariableInfo } from '../checked.js';
import { ID_REF, Info, declName, idkindName } from './rules.js';
import { OperatorChecks } from './operators.js';

export abstract class DeclarationChecks extends OperatorChecks {
  protected declareVariable(d: Declaration): void {
    const storage = d.storage;
    if (storage === 'register' || storage === 'auto' || storage === 'static') {
      fail('D_DECL_BADCLASS', 'specified storage class not appropriate in D', d.span);
    }
    const base = resolveSpecifier(this.declCtx, d.specifiers);
    if (storage === 'typedef') {
      for (const id of d.declarators) {
        const r = applyDeclarator(this.declCtx, base, id.declarator);
        if (r.name === undefined) continue;
        if (this.scope.typedefs.has(r.name)) fail('D_DECL_IDRED', `typedef redeclared: ${r.name}`, id.span);
        this.scope.typedefs.set(r.name, typedef(r.name, r.type));
      }
      return;
    }
    if (d.declarators.length === 0) {
      const sk = d.specifiers.kind;
      const defines = (sk === 'StructSpec' && d.specifiers.members !== undefined) || (sk === 'EnumSpec' && d.specifiers.members !== undefined)
        || (sk === 'StructSpec' && d.specifiers.name !== undefined);
      if (!defines) fail('D_DECL_USELESS', 'useless declaration', d.span);
      return;
    }
    for (const id of d.declarators) {
      const r = applyDeclarator(this.declCtx, base, id.declarator);
      if (r.name === undefined) fail('D_DECL_USELESS', 'useless declaration', id.span);
      const name = r.name!;
      if (r.isFunction || storage === 'extern') continue; // prototypes and kernel externs declare nothing we store
      const rt = resolve(r.type);
      if (rt.kind === 'void') fail('D_DECL_VOIDOBJ', `cannot have void object: ${name}`, id.span);
      if (rt.kind === 'struct' && !rt.members) fail('D_DECL_INCOMPLETE', `incomplete struct/union/enum ${typeName(r.type)}: ${name}`, id.span);
      if (rt.kind === 'array' && rt.length === undefined && !r.keyTypes) {
        fail('D_DECL_ARRNULL', `array declaration requires array dimension or tuple signature: ${name}`, id.span);
      }
      if (storage === 'this' && r.keyTypes) fail('D_DECL_LOCASSC', `associative arrays may not be declared as local variables: ${name}`, id.span);
      const kind: VariableInfo['kind'] = r.keyTypes ? 'assoc' : 'scalar';
      if (storage === 'self' || storage === 'this') {
        const table = storage === 'self' ? this.tls : this.locals;
        const prev = table.get(name);
        if (prev) {
          if (prev.info.type && sameType(prev.info.type, r.type) && prev.info.kind === kind) continue;
          fail('D_DECL_IDRED', `identifier redeclared: ${name}`, id.span);
        }
        const info = this.newVar(name, storage === 'self' ? 'thread' : 'clause', kind, id.span, true);
        info.type = r.type; info.keyTypes = r.keyTypes;
        table.set(name, { info, flags: 0 });
        continue;
      }
      const prev = this.globals.get(name);
      if (prev) {
        if (prev.kind === 'variable' && prev.info.type && sameType(prev.info.type, r.type) && prev.info.kind === kind) continue;
        fail('D_DECL_IDRED', `identifier redeclared: ${name}`, id.span);
      }
      const info = this.newVar(name, 'global', kind, id.span, true);
      info.type = r.type; info.keyTypes = r.keyTypes;
      this.globals.set(name, { kind: 'variable', info, flags: 0 });
    }
  }

  protected declareInline(d: InlineDecl): void {
    const decl = d.type.declarator;
    let params: { name: string; type: CType }[] | undefined;
    let t: CType;
    if (decl?.kind === 'ArrayDeclarator' && decl.keyTypes) {
      const base = resolveSpecifier(this.declCtx, d.type.specifiers);
      t = applyDeclarator(this.declCtx, base, decl.inner).type;
      params = decl.keyTypes.map((k) => ({ name: this.paramName(k), type: resolveTypeName(this.declCtx, k) }));
    } else {
      t = resolveTypeName(this.declCtx, d.type);
    }
    const prev = this.globals.get(d.name);
    if (prev) {
      const pk = prev.kind === 'inline' ? 'scalar inline' : `${idkindName(prev)} `;
      fail('D_DECL_IDRED', `identifier redefined: ${d.name}\n\t current: inline definition\n\tprevious: ${pk}`, d.span);
    }
    if (resolve(t).kind === 'void') fail('D_DECL_VOIDOBJ', `cannot declare void inline: ${d.name}`, d.span);
    if (params) {
      this.overlays.push(new Map(params.map((p, index) => [p.name, { kind: 'inline-param' as const, inline: d.name, index, type: p.type }])));
    }
    let v: Info;
    try { v = this.cook(d.value, ID_REF); } finally { if (params) this.overlays.pop(); }
    const info: InlineInfo = { name: d.name, type: t, value: d.value, span: d.span, ...(params ? { params } : {}) };
    if (v.xlate) {
      const lt = resolve(t);
      const lbase = lt.kind === 'pointer' ? resolve(lt.target) : lt;
      if (!(lbase.kind === 'struct' && (lbase === v.xlate.translator.output || lbase.name === v.xlate.translator.output.name))) {
        fail('D_OP_INCOMPAT', `inline ${d.name} definition uses incompatible types: "${typeName(lbase)}" = "${typeName(v.xlate.translator.output)}"`, d.span);
      }
      this.globals.set(d.name, { kind: 'inline', info, xlate: v.xlate });
    } else {
      if (!this.argCompat(this.typeInfo(t), v)) {
        fail('D_OP_INCOMPAT', `inline ${d.name} definition uses incompatible types: "${typeName(t)}" = "${this.typeNameOf(v)}"`, d.span);
      }
      this.globals.set(d.name, { kind: 'inline', info });
    }
    this.inlines.set(d.name, info);
  }

  /** The parameter name of an inline's key type (`int x`), read from the source text after the type. */
  protected paramName(k: TypeName): string {
    const named = k.declarator ? declName(k.declarator) : undefined;
    if (named) return named;
    // The parser keeps the name inside the key type's span (`int x`): take its last word.
    const text = k.span.source.text.slice(k.span.start, k.span.end);
    const m = /([A-Za-z_]\w*)\s*$/.exec(text);
    return m && text.trim().includes(' ') ? m[1]! : '';
  }

  protected declareTranslator(d: TranslatorDecl): void {
    // DTrace checks a translator when its final `;` is parsed, with that line (d.span.lineAt).
    const atDecl = (s: Span): Span => ({ ...s, lineAt: d.span.lineAt });
    const out = resolveTypeName(this.declCtx, d.output);
    const input = resolveTypeName(this.declCtx, d.input);
    const ro = resolve(out);
    if (ro.kind === 'struct' && !ro.members) fail('D_XLATE_SOU', `incomplete struct/union/enum ${typeName(out)}`, d.span);
    if (ro.kind !== 'struct') fail('D_XLATE_SOU', 'translator output type must be a struct or union', d.span);
    const output = ro as StructType;
    if (this.translators.some((t) => t.output === output && sameType(t.input, input))) {
      fail('D_XLATE_REDECL', `translator from ${typeName(input)} to ${typeName(out)} has already been declared`, d.span);
    }
    const tr: TranslatorInfo = { output, input, inputName: d.inputName, members: new Map(), decl: d };
    this.overlays.push(new Map([[d.inputName, { kind: 'xlate-input', type: input, translator: tr }]]));
    try {
      for (const m of d.members) {
        const mm = memberOf(output, m.name);
        if (!mm) fail('D_XLATE_MEMB', `translator member ${m.name} is not a member of ${typeName(output)}`, atDecl(m.span));
        const v = this.cook(m.value, ID_REF);
        if (!this.argCompat(this.typeInfo(mm!.type), v)) {
          fail('D_XLATE_INCOMPAT', `translator member ${m.name} definition uses incompatible types: "${typeName(mm!.type)}" = "${this.typeNameOf(v)}"`, atDecl(m.span));
        }
        tr.members.set(m.name, m.value);
      }
    } finally {
      this.overlays.pop();
    }
    this.translators.push(tr);
  }

  protected parseTimeChecks(e: Expr | undefined): void {
    if (!e) return;
    walkExpr(e, (x) => {
      if (x.kind === 'Call') {
        const g = this.globals.get(x.callee.name);
        if (!lookupBuiltinFunction(x.callee.name) || g?.kind !== 'function') {
          if (g) fail('D_FUNC_IDKIND', `${idkindName(g)} '${x.callee.name}' may not be referenced as a function`, x.callee.span);
          fail('D_FUNC_UNDEF', `undefined function name: ${x.callee.name}`, x.callee.span);
        }
      } else if (x.kind === 'Binary' && (x.op === '/' || x.op === '%')) {
        const r = unparen(x.right);
        if ((r.kind === 'IntLit' || r.kind === 'CharLit') && r.value === 0n) fail('D_DIV_ZERO', 'expression contains division by zero', x.span);
      } else if (x.kind === 'Cast' || x.kind === 'SizeofType' || x.kind === 'Offsetof' || x.kind === 'Xlate') {
        resolveTypeName(this.declCtx, x.type);
      }
    });
  }

  protected parseTimeStmts(stmts: Stmt[]): void {
    for (const s of stmts) {
      switch (s.kind) {
        case 'ExprStmt': this.parseTimeChecks(s.expr); break;
        case 'IfStmt': this.parseTimeChecks(s.cond); this.parseTimeStmts([s.then, ...(s.else ? [s.else] : [])]); break;
        case 'BlockStmt': this.parseTimeStmts(s.body); break;
        case 'Declaration': this.declareVariable(s); break;
        case 'EmptyStmt': break;
      }
    }
  }

  protected pragma(p: Pragma): void {
    if (p.directive !== 'option') return;
    for (const a of p.args) {
      const eq = a.indexOf('=');
      this.options.push(eq < 0 ? [a, undefined] : [a.slice(0, eq), a.slice(eq + 1)]);
      if (eq >= 0 && a.slice(0, eq) === 'version') this.hideBuiltinsAfter(a.slice(eq + 1));
    }
  }

  /** A program written for an older D: the built-ins introduced since are not defined. */
  protected hideBuiltinsAfter(version: string): void {
    for (const name of builtinsAfter(version)) if (this.globals.get(name)?.kind === 'function') this.globals.delete(name);
  }
}
