/**
 * @fileoverview Prints a syntax tree back as canonical D text: one statement per line, tabs,
 * operators spaced, parentheses only where the tree needs them (or where the source had
 * them: Paren nodes are kept). Used by golden tests and debugging; parse → print → parse →
 * print gives the same text.
 */
import type * as A from './ast.js';
import { assertNever } from './ast.js';

export function printProgram(p: A.Program): string {
  return p.items.map(printTopLevel).join('\n');
}

export function printTopLevel(item: A.TopLevel): string {
  switch (item.kind) {
    case 'Clause': return printClause(item);
    case 'Declaration': return printDeclaration(item, '') + '\n';
    case 'InlineDecl': return `inline ${printTypeWithName(item.type, item.name)} = ${printExpr(item.value, PREC.assign)};\n`;
    case 'TranslatorDecl': {
      const members = item.members.map((m) => `\t${m.name} = ${printExpr(m.value, PREC.assign)};\n`).join('');
      return `translator ${printTypeName(item.output)} < ${printTypeWithName(item.input, item.inputName)} > {\n${members}};\n`;
    }
    case 'ProviderDecl': {
      const probes = item.probes.map((p) => {
        const x = p.xlateParams ? ` : (${p.xlateParams.map(printParam).join(', ')})` : '';
        return `\tprobe ${p.name}(${p.params.map(printParam).join(', ')})${x};\n`;
      }).join('');
      return `provider ${item.name} {\n${probes}};\n`;
    }
    case 'Pragma': return printPragma(item) + '\n';
    default: return assertNever(item);
  }
}

function printPragma(p: A.Pragma): string {
  switch (p.directive) {
    case 'line': return `#line ${p.args.slice(0, 2).join(' ')}`;
    case 'ident': return `#pragma ident ${p.args.join(' ')}`.trimEnd();
    case 'other': return `#pragma ${p.args.join(' ')}`.trimEnd();
    case 'error': return `#error ${p.args.join(' ')}`;
    default: return `#pragma D ${p.directive} ${p.args.join(' ')}`.trimEnd();
  }
}

export function printClause(c: A.Clause): string {
  let out = c.probes.map((p) => p.text).join(',\n') + '\n';
  if (c.predicate) out += `/${printExpr(c.predicate, PREC.comma)}/\n`;
  if (c.bodySpan === undefined && c.body.length === 0 && !c.predicate) return out;
  out += '{\n' + c.body.map((s) => printStmt(s, '\t')).join('') + '}\n';
  return out;
}

export function printStmt(s: A.Stmt, indent: string): string {
  switch (s.kind) {
    case 'ExprStmt': return `${indent}${printExpr(s.expr, PREC.comma)};\n`;
    case 'EmptyStmt': return `${indent};\n`;
    case 'BlockStmt': return `${indent}{\n${s.body.map((b) => printStmt(b, indent + '\t')).join('')}${indent}}\n`;
    case 'IfStmt': {
      let out = `${indent}if (${printExpr(s.cond, PREC.comma)})\n${printBranch(s.then, indent)}`;
      if (s.else) out += `${indent}else\n${printBranch(s.else, indent)}`;
      return out;
    }
    case 'Declaration': return printDeclaration(s, indent) + '\n';
    default: return assertNever(s);
  }
}

function printBranch(s: A.Stmt, indent: string): string {
  return s.kind === 'BlockStmt' ? printStmt(s, indent) : printStmt(s, indent + '\t');
}

// ---------------------------------------------------------------------------------------------
// Declarations and types

export function printDeclaration(d: A.Declaration, indent: string): string {
  const head = [d.storage, ...d.qualifiers, printSpecifier(d.specifiers, indent)].filter((w) => w !== undefined && w !== '').join(' ');
  const decls = d.declarators.map((i) => printDeclarator(i.declarator, '') + (i.init ? ` = ${printExpr(i.init, PREC.assign)}` : ''));
  return `${indent}${head}${decls.length ? ' ' + decls.join(', ') : ''};`;
}

export function printSpecifier(s: A.TypeSpecifier, indent = ''): string {
  switch (s.kind) {
    case 'BuiltinTypeSpec': return s.words.join(' ');
    case 'TypedefNameSpec': return s.name;
    case 'StructSpec': {
      const head = s.name !== undefined ? `${s.tag} ${s.name}` : s.tag;
      if (!s.members) return head;
      const inner = indent + '\t';
      const members = s.members.map((m) => {
        const words = [...m.qualifiers, printSpecifier(m.specifiers, inner)].join(' ');
        const d = m.declarator ? ' ' + printDeclarator(m.declarator, '') : '';
        const bits = m.bitWidth ? ` : ${printExpr(m.bitWidth, PREC.ternary)}` : '';
        return `${inner}${words}${d}${bits};\n`;
      }).join('');
      return `${head} {\n${members}${indent}}`;
    }
    case 'EnumSpec': {
      const head = s.name !== undefined ? `enum ${s.name}` : 'enum';
      if (!s.members) return head;
      const members = s.members.map((m) => `${indent}\t${m.name}${m.value ? ` = ${printExpr(m.value, PREC.ternary)}` : ''}`).join(',\n');
      return `${head} {\n${members}\n${indent}}`;
    }
    default: return assertNever(s);
  }
}

/**
 * ast.ts keeps declarators outermost type constructor first (`*a[4]` is Array(Pointer(a)));
 * C writes the constructor nearest the name first, so the text is built from the root down.
 */
export function printDeclarator(d: A.Declarator, name: string): string {
  let s = '';
  let lastWasPointer = false;
  let cur: A.Declarator = d;
  const chain: A.Declarator[] = [];
  while (cur.kind !== 'NameDeclarator') {
    chain.push(cur);
    cur = cur.inner;
  }
  s = cur.name ?? name;
  for (const c of chain) {
    switch (c.kind) {
      case 'PointerDeclarator':
        s = '*' + (c.qualifiers.length ? c.qualifiers.join(' ') + (s ? ' ' : '') : '') + s;
        lastWasPointer = true;
        break;
      case 'ArrayDeclarator': {
        if (lastWasPointer) s = `(${s})`;
        const inside = c.keyTypes ? c.keyTypes.map(printTypeName).join(', ') : c.size ? printExpr(c.size, PREC.ternary) : '';
        s += `[${inside}]`;
        lastWasPointer = false;
        break;
      }
      case 'FunctionDeclarator': {
        if (lastWasPointer) s = `(${s})`;
        const params = c.params.map(printParam);
        if (c.variadic) params.push('...');
        s += `(${params.join(', ')})`;
        lastWasPointer = false;
        break;
      }
      case 'ParenDeclarator':
        s = `(${s})`;
        break;
      case 'NameDeclarator':
        break;
      default: return assertNever(c);
    }
  }
  return s;
}

export function printParam(p: A.ParamDecl): string {
  return printTypeWithName(p.type, p.name ?? '');
}

function printTypeWithName(t: A.TypeName, name: string): string {
  const head = [...t.qualifiers, printSpecifier(t.specifiers)].join(' ');
  const d = t.declarator ? printDeclarator(t.declarator, name) : name;
  return d ? `${head} ${d}` : head;
}

export function printTypeName(t: A.TypeName): string {
  return printTypeWithName(t, '');
}

// ---------------------------------------------------------------------------------------------
// Expressions

const PREC = {
  comma: 0, assign: 1, ternary: 2, lor: 3, lxor: 4, land: 5, bor: 6, bxor: 7, band: 8,
  equality: 9, relational: 10, shift: 11, additive: 12, multiplicative: 13, unary: 14, postfix: 15, primary: 16,
} as const;

const BINARY_PREC: Record<string, number> = {
  ',': PREC.comma, '||': PREC.lor, '^^': PREC.lxor, '&&': PREC.land, '|': PREC.bor, '^': PREC.bxor, '&': PREC.band,
  '==': PREC.equality, '!=': PREC.equality, '<': PREC.relational, '<=': PREC.relational, '>': PREC.relational,
  '>=': PREC.relational, '<<': PREC.shift, '>>': PREC.shift, '+': PREC.additive, '-': PREC.additive,
  '*': PREC.multiplicative, '/': PREC.multiplicative, '%': PREC.multiplicative,
};

function precedenceOf(e: A.Expr): number {
  switch (e.kind) {
    case 'Binary': case 'Logical': return BINARY_PREC[e.op]!;
    case 'Assign': return PREC.assign;
    case 'Ternary': return PREC.ternary;
    case 'Unary': case 'Cast': case 'SizeofExpr': case 'SizeofType': case 'Stringof': return PREC.unary;
    case 'Postfix': case 'Member': case 'Index': case 'Call': return PREC.postfix;
    default: return PREC.primary;
  }
}

/** Prints `e`, parenthesised when it binds more loosely than `minPrec` requires. */
export function printExpr(e: A.Expr, minPrec: number = PREC.comma): string {
  const s = printBare(e);
  return precedenceOf(e) < minPrec ? `(${s})` : s;
}

function printBare(e: A.Expr): string {
  switch (e.kind) {
    case 'IntLit': {
      const digits = e.base === 16 ? '0x' + e.value.toString(16) : e.base === 8 ? (e.value === 0n ? '0' : '0' + e.value.toString(8)) : e.value.toString();
      return digits + e.suffix;
    }
    case 'FloatLit': return e.text;
    case 'CharLit': return printCharLit(e.value);
    case 'StringLit': return `"${escapeString(e.value, '"')}"`;
    case 'Ident': return e.name;
    case 'MacroVar': return (e.stringForm ? '$$' : '$') + e.name;
    case 'KernelSym': return `${e.module ?? ''}\`${e.name}`;
    case 'AggRef': return '@' + e.name;
    case 'SelfVar': return `self->${e.name}`;
    case 'ThisVar': return `this->${e.name}`;
    case 'Unary': {
      const operand = printExpr(e.operand, PREC.unary);
      // `- -x`, `& &x`, `+ ++x`: keep the operators apart so they re-lex the same.
      const sep = /^[-+&]/.test(operand) && operand[0] === e.op[e.op.length - 1] ? ' ' : '';
      return e.op + sep + operand;
    }
    case 'Postfix': return printExpr(e.operand, PREC.postfix) + e.op;
    case 'Binary':
    case 'Logical': {
      const p = BINARY_PREC[e.op]!;
      const sep = e.op === ',' ? ', ' : ` ${e.op} `;
      return printExpr(e.left, p) + sep + printExpr(e.right, p + 1);
    }
    case 'Assign': return `${printExpr(e.target, PREC.unary)} ${e.op} ${printExpr(e.value, PREC.assign)}`;
    case 'Ternary': return `${printExpr(e.cond, PREC.lor)} ? ${printExpr(e.then, PREC.comma)} : ${printExpr(e.else, PREC.ternary)}`;
    case 'Cast': return `(${printTypeName(e.type)})${printExpr(e.operand, PREC.unary)}`;
    case 'SizeofExpr': return `sizeof ${printExpr(e.operand, PREC.unary)}`;
    case 'SizeofType': return `sizeof (${printTypeName(e.type)})`;
    case 'Offsetof': return `offsetof(${printTypeName(e.type)}, ${e.member})`;
    case 'Stringof': return `stringof ${printExpr(e.operand, PREC.unary)}`;
    case 'Xlate': return `xlate <${printTypeName(e.type)}> (${printExpr(e.operand, PREC.comma)})`;
    case 'Member': {
      const object = printExpr(e.object, PREC.postfix);
      // `1.target` would read back as the constant 1. and an identifier: a number before `.` is parenthesised.
      return (!e.arrow && /^[0-9][0-9a-zA-Z_]*$/.test(object) ? `(${object})` : object) + (e.arrow ? '->' : '.') + e.member;
    }
    case 'Index': return `${printExpr(e.object, PREC.postfix)}[${e.indices.map((i) => printExpr(i, PREC.assign)).join(', ')}]`;
    case 'Call': return `${e.callee.name}(${e.args.map((a) => printExpr(a, PREC.assign)).join(', ')})`;
    case 'Paren': return `(${printExpr(e.inner, PREC.comma)})`;
    default: return assertNever(e);
  }
}

function escapeString(v: string, quote: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    // DTrace knows `\"` but not `\'` (which keeps its backslash): a quote in a character
    // constant is written in octal.
    else if (ch === quote) out += quote === '"' ? '\\"' : '\\047';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    // Control characters and single bytes above ASCII as octal escapes, so they re-lex to the same bytes.
    else if (c < 0x20 || (c >= 0x7f && c <= 0xff)) out += '\\' + c.toString(8).padStart(3, '0');
    else out += ch;
  }
  return out;
}

function printCharLit(value: bigint): string {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  if (bytes.length === 0) bytes.push(0);
  return `'${escapeString(String.fromCharCode(...bytes), "'")}'`;
}
