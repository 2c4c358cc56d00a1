/**
 * @fileoverview Stability attributes (the Dynamic Tracing Guide's Stability chapter) of a
 * program, for `dtrace -v`'s report (cmd/dtrace.c exec_prog) and `-lv`'s probe blocks:
 *  - a probe description's attributes are dt_probe_info's: the minimum of its provider's
 *    attributes for the provider and each field written without a glob; a description whose
 *    provider is empty or a glob, or that matches nothing, has Unstable/Unstable/Common ones;
 *  - a statement's attributes are those dt_cook_clause gives the clause: the minimum over every
 *    expression of its predicate and actions, where a literal, operator, user variable or D type
 *    is Stable/Stable/Common, a builtin variable or function has its identifier table's
 *    attributes (curthread's data are Private; a few subroutines are Evolving), probeprov,
 *    probemod, probefunc, probename and args take the probe's provider's attributes, and kernel
 *    symbols and kernel types are Private/Private/Unknown;
 *  - a program's report is the minimum over its statements (one per clause and description).
 */
import type * as A from '../lang/ast.js';
import { matchProbes } from '../providers/registry.js';
import type { Attribute, ProviderAttributes, Stability, DependencyClass, ProbeDescFields, Provider, ProbeSite } from '../providers/provider.js';
import { D_TYPEDEF_NAMES } from '../check/decl.js';
import { kernelTypeSource } from '../check/btf-types.js';

const STABILITY_ORDER: readonly Stability[] = ['Internal', 'Private', 'Obsolete', 'External', 'Unstable', 'Evolving', 'Stable', 'Standard'];
const CLASS_ORDER: readonly DependencyClass[] = ['Unknown', 'CPU', 'Platform', 'Group', 'ISA', 'Common'];

/** _dtrace_prvattr, _dtrace_symattr, _dtrace_typattr: what a provider does not describe, kernel symbols and types. */
export const PRIVATE_ATTR: Attribute = { name: 'Private', data: 'Private', class: 'Unknown' };
/** _dtrace_defattr: literals, operators, user variables, D's own types. */
const DEFAULT_ATTR: Attribute = { name: 'Stable', data: 'Stable', class: 'Common' };
/** _dtrace_maxattr: the start of a minimum over a program's statements. */
const MAX_ATTR: Attribute = { name: 'Standard', data: 'Standard', class: 'Common' };
const UNSTABLE_ATTR: Attribute = { name: 'Unstable', data: 'Unstable', class: 'Common' };
/** _dtrace_prvdesc: a description without a (non-glob) provider. */
const UNSTABLE_PROVIDER: ProviderAttributes = { provider: UNSTABLE_ATTR, module: UNSTABLE_ATTR, function: UNSTABLE_ATTR, name: UNSTABLE_ATTR, args: UNSTABLE_ATTR };
export const PRIVATE_PROVIDER: ProviderAttributes = { provider: PRIVATE_ATTR, module: PRIVATE_ATTR, function: PRIVATE_ATTR, name: PRIVATE_ATTR, args: PRIVATE_ATTR };

/** The identifiers of dt_open.c's table whose attributes are not Stable/Stable/Common. */
const EVOLVING: Attribute = { name: 'Evolving', data: 'Evolving', class: 'Common' };
const IDENT_ATTRIBUTES: ReadonlyMap<string, Attribute> = new Map([
  ['curthread', { name: 'Stable', data: 'Private', class: 'Common' } as Attribute],
  ...['d_path', 'ddi_pathname', 'getmajor', 'getminor', 'htonl', 'htonll', 'htons', 'mutex_owned', 'mutex_owner', 'mutex_type_adaptive',
    'mutex_type_spin', 'ntohl', 'ntohll', 'ntohs', 'rw_iswriter', 'rw_read_held', 'rw_write_held'].map((n) => [n, EVOLVING] as [string, Attribute]),
]);

/** dt_attr_min: the lower of each component. */
export function attrMin(a: Attribute, b: Attribute): Attribute {
  const s = (x: Stability, y: Stability) => (STABILITY_ORDER.indexOf(x) <= STABILITY_ORDER.indexOf(y) ? x : y);
  const c = (x: DependencyClass, y: DependencyClass) => (CLASS_ORDER.indexOf(x) <= CLASS_ORDER.indexOf(y) ? x : y);
  return { name: s(a.name, b.name), data: s(a.data, b.data), class: c(a.class, b.class) };
}

/** dt_probe_info's attributes of a probe (or description): the provider's, then each field's not empty or a glob. */
export function descriptionAttr(pa: ProviderAttributes, fields: { module: string; function: string; name: string }, isWild: (field: string) => boolean): Attribute {
  let attr = pa.provider;
  if (!isWild(fields.module)) attr = attrMin(attr, pa.module);
  if (!isWild(fields.function)) attr = attrMin(attr, pa.function);
  if (!isWild(fields.name)) attr = attrMin(attr, pa.name);
  return attr;
}

const isGlobOrEmpty = (field: string) => field === '' || /[*?[\\]/.test(field);

const atLeastEvolving = (x: Stability) => STABILITY_ORDER.indexOf(x) >= STABILITY_ORDER.indexOf('Evolving');

/**
 * The attributes of a description, and of the provider of the probe it matched first (the
 * clause's context): dt_probe_info, which gives up (Unstable, as for no match) when several
 * probes match and a field its provider keeps at least Evolving is left wild, or the provider's
 * argument data are less than Evolving and the provider is wild.
 */
export function descriptionContext(desc: ProbeDescFields): { desc: Attribute; provider: ProviderAttributes; args: Attribute; first: { provider: Provider; site: ProbeSite } } | undefined {
  const matches = matchProbes(desc);
  const first = matches[0];
  if (!first) return undefined;
  const pa = first.provider.attributes ?? PRIVATE_PROVIDER;
  if (matches.length > 1 && ((!atLeastEvolving(pa.args.data) && isGlobOrEmpty(desc.provider))
    || (atLeastEvolving(pa.module.name) && isGlobOrEmpty(desc.module)) || (atLeastEvolving(pa.function.name) && isGlobOrEmpty(desc.function))
    || (atLeastEvolving(pa.name.name) && isGlobOrEmpty(desc.name)))) return undefined;
  const fields = isGlobOrEmpty(desc.provider) ? UNSTABLE_PROVIDER : pa;
  return { desc: descriptionAttr(fields, desc, isGlobOrEmpty), provider: pa, args: fields.args, first };
}

/** What the walk over a clause knows: the probe's provider, and the program's own types and inlines. */
interface Context {
  provider: ProviderAttributes;
  typedefs: ReadonlySet<string>;
  tags: ReadonlySet<string>;
  inlines: ReadonlyMap<string, A.Expr>;
}

function typeAttr(spec: A.TypeSpecifier, cx: Context): Attribute {
  const kernel = kernelTypeSource();
  switch (spec.kind) {
    case 'BuiltinTypeSpec': return DEFAULT_ATTR;
    case 'TypedefNameSpec':
      // dt_node_type: C's and D's own types (and the program's) are Stable; the kernel's are Private.
      if (D_TYPEDEF_NAMES.has(spec.name) || cx.typedefs.has(spec.name)) return DEFAULT_ATTR;
      return kernel?.typedefType(spec.name) !== undefined ? PRIVATE_ATTR : DEFAULT_ATTR;
    case 'StructSpec':
      if (spec.name === undefined || spec.members !== undefined || cx.tags.has(spec.name)) return DEFAULT_ATTR;
      return kernel?.structType(spec.tag, spec.name) !== undefined ? PRIVATE_ATTR : DEFAULT_ATTR;
    case 'EnumSpec':
      if (spec.name === undefined || spec.members !== undefined || cx.tags.has(spec.name)) return DEFAULT_ATTR;
      return kernel?.enumType(spec.name) !== undefined ? PRIVATE_ATTR : DEFAULT_ATTR;
  }
}

function identAttr(name: string, cx: Context, seen: Set<string>): Attribute {
  switch (name) {
    case 'probeprov': return cx.provider.provider;
    case 'probemod': return cx.provider.module;
    case 'probefunc': return cx.provider.function;
    case 'probename': return cx.provider.name;
    case 'args': return cx.provider.args;
  }
  const inline = cx.inlines.get(name);
  // An inline has the attributes of its value (dt_node_inline), at most Stable.
  if (inline && !seen.has(name)) { seen.add(name); return exprAttr(inline, cx, seen); }
  return IDENT_ATTRIBUTES.get(name) ?? DEFAULT_ATTR;
}

function exprAttr(e: A.Expr, cx: Context, seen = new Set<string>()): Attribute {
  const all = (xs: readonly A.Expr[], start: Attribute = DEFAULT_ATTR) => xs.reduce((a, x) => attrMin(a, exprAttr(x, cx, seen)), start);
  switch (e.kind) {
    case 'IntLit': case 'FloatLit': case 'CharLit': case 'StringLit': case 'MacroVar': case 'AggRef': case 'SelfVar': case 'ThisVar':
      return DEFAULT_ATTR;
    case 'Ident': return attrMin(DEFAULT_ATTR, identAttr(e.name, cx, seen));
    case 'KernelSym': return PRIVATE_ATTR;
    case 'Unary': case 'Postfix': return exprAttr(e.operand, cx, seen);
    case 'Binary': case 'Logical': return all([e.left, e.right]);
    case 'Assign': return all([e.target, e.value]);
    case 'Ternary': return all([e.cond, e.then, e.else]);
    case 'Cast': case 'Xlate': return all([e.operand], typeAttr(e.type.specifiers, cx));
    case 'SizeofType': case 'Offsetof': return attrMin(DEFAULT_ATTR, typeAttr(e.type.specifiers, cx));
    case 'SizeofExpr': case 'Stringof': return exprAttr(e.operand, cx, seen);
    case 'Member': return exprAttr(e.object, cx, seen);
    case 'Index': return all([e.object, ...e.indices]);
    case 'Call': return all(e.args, attrMin(DEFAULT_ATTR, IDENT_ATTRIBUTES.get(e.callee.name) ?? DEFAULT_ATTR));
    case 'Paren': return exprAttr(e.inner, cx, seen);
  }
}

function stmtAttr(s: A.Stmt, cx: Context): Attribute {
  switch (s.kind) {
    case 'ExprStmt': return exprAttr(s.expr, cx);
    case 'IfStmt': return [s.then, ...(s.else ? [s.else] : [])].reduce((a, x) => attrMin(a, stmtAttr(x, cx)), exprAttr(s.cond, cx));
    case 'BlockStmt': return s.body.reduce((a, x) => attrMin(a, stmtAttr(x, cx)), DEFAULT_ATTR);
    case 'EmptyStmt': case 'Declaration': return DEFAULT_ATTR;
  }
}

/** The names of types and inlines a program declares. */
function declaredNames(programs: readonly A.Program[]): Omit<Context, 'provider'> {
  const typedefs = new Set<string>();
  const tags = new Set<string>();
  const inlines = new Map<string, A.Expr>();
  const nameOf = (d: A.Declarator): string | undefined => (d.kind === 'NameDeclarator' ? d.name : nameOf(d.inner));
  for (const item of programs.flatMap((p) => p.items)) {
    if (item.kind === 'InlineDecl') inlines.set(item.name, item.value);
    if (item.kind !== 'Declaration') continue;
    const spec = item.specifiers;
    if ((spec.kind === 'StructSpec' || spec.kind === 'EnumSpec') && spec.name !== undefined && spec.members !== undefined) tags.add(spec.name);
    if (item.storage === 'typedef') for (const d of item.declarators) { const n = nameOf(d.declarator); if (n !== undefined) typedefs.add(n); }
  }
  return { typedefs, tags, inlines };
}

/** The minimum probe-description and statement attributes of a program's clauses (dtrace_program_info). */
export function programAttributes(program: A.Program, declarations: readonly A.Program[]): { desc: Attribute; stmt: Attribute } {
  const clauses = program.items.filter((i): i is A.Clause => i.kind === 'Clause');
  if (clauses.length === 0) return { desc: DEFAULT_ATTR, stmt: DEFAULT_ATTR };
  const names = declaredNames(declarations);
  let desc = MAX_ATTR;
  let stmt = MAX_ATTR;
  for (const clause of clauses) {
    for (const d of clause.probes) {
      const context = descriptionContext(d) ?? { desc: UNSTABLE_ATTR, provider: UNSTABLE_PROVIDER };
      const cx: Context = { ...names, provider: context.provider };
      desc = attrMin(desc, context.desc);
      let s = clause.body.reduce((a, x) => attrMin(a, stmtAttr(x, cx)), DEFAULT_ATTR);
      if (clause.predicate) s = attrMin(s, exprAttr(clause.predicate, cx));
      stmt = attrMin(stmt, s);
    }
  }
  return { desc, stmt };
}

/** An attribute block as cmd/dtrace.c prints it (`\n\tTitle\n\t\tIdentifier Names: …`). */
export function attributeBlock(title: string, a: Attribute): string {
  return `\n\t${title}\n\t\tIdentifier Names: ${a.name}\n\t\tData Semantics:   ${a.data}\n\t\tDependency Class: ${a.class}\n`;
}

/**
 * print_probe_info: a probe's (or description's) attributes, its argument attributes and args[]
 * types; with `mechanism` (-lvv) also the kernel events the probe is built on here, a section
 * DTrace does not have, so that -lv stays byte for byte DTrace's.
 */
export function probeInfoBlock(provider: Provider, site: ProbeSite, attr: Attribute, args: Attribute, mechanism = false): string {
  let text = attributeBlock('Probe Description Attributes', attr) + attributeBlock('Argument Attributes', args) + '\n\tArgument Types\n';
  const descs = provider.argDescs?.(site) ?? [];
  descs.forEach((d, i) => { text += `\t\targs[${i}]: ${d.xlate ?? d.native}\n`; });
  if (descs.length === 0) text += '\t\tNone\n';
  const events = mechanism ? provider.mechanism?.(site) : undefined;
  if (events) text += `\n\tImplemented On\n\t\t${events}\n`;
  return text + '\n';
}

/**
 * `-e -v`: after the report, each statement's description and what dt_probe_info tells of it
 * (cmd/dtrace.c info_stmt), up to the first description it cannot describe.
 */
export function statementsInfo(program: A.Program): string {
  let text = '';
  for (const clause of program.items) {
    if (clause.kind !== 'Clause') continue;
    for (const d of clause.probes) {
      text += `\n${d.provider}:${d.module}:${d.function}:${d.name}\n`;
      const context = descriptionContext(d);
      if (!context) return text;
      text += probeInfoBlock(context.first.provider, context.first.site, context.desc, context.args);
    }
  }
  return text;
}

/** `-v`'s report for one program: "Stability attributes for script x.d:" and its two blocks. */
export function stabilityReport(kind: string, label: string, program: A.Program, declarations: readonly A.Program[]): string {
  const { desc, stmt } = programAttributes(program, declarations);
  return `\nStability attributes for ${kind} ${label}:\n` + attributeBlock('Minimum Probe Description Attributes', desc) + attributeBlock('Minimum Statement Attributes', stmt);
}
