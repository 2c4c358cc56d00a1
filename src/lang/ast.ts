/**
 * @fileoverview The D syntax tree: plain data with string `kind` discriminants and byte spans.
 * The parser makes it; nothing after the parser mutates it (the checker keeps types in side
 * tables keyed by node). It covers the whole of D (spec/d-language.md), not only what code
 * generation handles today.
 */
import type { Span } from '../diag/source.js';

// ---------------------------------------------------------------------------------------------
// Program structure

export interface Program {
  kind: 'Program';
  span: Span;
  items: TopLevel[];
}

export type TopLevel =
  | Clause
  | Declaration
  | InlineDecl
  | TranslatorDecl
  | ProviderDecl
  | Pragma;

/** `probe-descriptions [/predicate/] { statements }` */
export interface Clause {
  kind: 'Clause';
  span: Span;
  probes: ProbeDesc[];
  predicate?: Expr;
  body: Stmt[];
  /** The span of the `{ … }` body, braces included (absent for a clause without a body). */
  bodySpan?: Span;
}

/**
 * A probe description exactly as written: up to four fields, filled from the right
 * (`BEGIN` → name; `syscall::read:entry` → all four). Fields keep their glob characters
 * (`*`, `?`, `[...]`, `\`); an empty field matches anything.
 */
export interface ProbeDesc {
  kind: 'ProbeDesc';
  span: Span;
  /** The description text as written, e.g. `syscall::read*:entry`. */
  text: string;
  provider: string;
  module: string;
  function: string;
  name: string;
}

/** `#pragma D option x=y`, `#pragma D attributes …`, `#pragma D depends_on …`, `#pragma D binding …`. */
export interface Pragma {
  kind: 'Pragma';
  span: Span;
  directive: 'option' | 'attributes' | 'depends_on' | 'binding' | 'error' | 'line' | 'ident' | 'other';
  /** The words after the directive, as written (`["quiet"]`, `["bufsize=4m"]`, …). */
  args: string[];
}

// ---------------------------------------------------------------------------------------------
// Declarations

export type StorageClass = 'auto' | 'register' | 'static' | 'extern' | 'typedef' | 'self' | 'this';
export type TypeQualifier = 'const' | 'volatile' | 'restrict';

/** A declaration statement at top level or in a clause: `int x;`, `self int y;`, `typedef …;`. */
export interface Declaration {
  kind: 'Declaration';
  span: Span;
  storage?: StorageClass;
  /** `self`/`this` declarations and `extern` keep their storage word here too. */
  specifiers: TypeSpecifier;
  qualifiers: TypeQualifier[];
  declarators: InitDeclarator[];
}

export interface InitDeclarator {
  kind: 'InitDeclarator';
  span: Span;
  declarator: Declarator;
  init?: Expr;
}

/**
 * A C declarator, inside out: `int *a[4]` is Array(Pointer(Name a))... kept as written so the
 * checker applies C's rules. `name` is absent in abstract declarators (casts, sizeof, params).
 */
export type Declarator =
  | { kind: 'NameDeclarator'; span: Span; name?: string }
  | { kind: 'PointerDeclarator'; span: Span; qualifiers: TypeQualifier[]; inner: Declarator }
  | { kind: 'ArrayDeclarator'; span: Span; inner: Declarator; size?: Expr; /** D associative: `int a[int, string]` */ keyTypes?: TypeName[] }
  | { kind: 'FunctionDeclarator'; span: Span; inner: Declarator; params: ParamDecl[]; variadic: boolean }
  | { kind: 'ParenDeclarator'; span: Span; inner: Declarator };

export interface ParamDecl {
  kind: 'ParamDecl';
  span: Span;
  type: TypeName;
  name?: string;
}

/** The specifier part of a declaration. */
export type TypeSpecifier =
  | { kind: 'BuiltinTypeSpec'; span: Span; words: string[] } // e.g. ['unsigned','long','long'], ['string'], ['void']
  | { kind: 'TypedefNameSpec'; span: Span; name: string }
  | StructSpec
  | EnumSpec;

export interface StructSpec {
  kind: 'StructSpec';
  span: Span;
  tag: 'struct' | 'union';
  /** Optional module scope: `struct vmlinux`task_struct` style is written `struct task_struct`; kept as typed. */
  name?: string;
  /** Absent for a reference (`struct foo`); present (maybe empty) for a definition. */
  members?: StructMember[];
}

export interface StructMember {
  kind: 'StructMember';
  span: Span;
  specifiers: TypeSpecifier;
  qualifiers: TypeQualifier[];
  declarator?: Declarator;
  bitWidth?: Expr;
}

export interface EnumSpec {
  kind: 'EnumSpec';
  span: Span;
  name?: string;
  members?: EnumMember[];
}

export interface EnumMember {
  kind: 'EnumMember';
  span: Span;
  name: string;
  value?: Expr;
}

/** A type as written in a cast, sizeof, offsetof, xlate or parameter: specifiers + abstract declarator. */
export interface TypeName {
  kind: 'TypeName';
  span: Span;
  specifiers: TypeSpecifier;
  qualifiers: TypeQualifier[];
  declarator?: Declarator;
}

/** `inline type name = expr;` */
export interface InlineDecl {
  kind: 'InlineDecl';
  span: Span;
  type: TypeName;
  name: string;
  /** Associative inline parameters: `inline int f[int x] = …` is not D; kept for completeness. */
  value: Expr;
}

/** `translator out_type < in_type name > { member = expr; ... };` */
export interface TranslatorDecl {
  kind: 'TranslatorDecl';
  span: Span;
  output: TypeName;
  input: TypeName;
  inputName: string;
  members: { kind: 'TranslatorMember'; span: Span; name: string; value: Expr }[];
}

/** `provider name { probe p(args) : (xargs); };` for `-h` and USDT. */
export interface ProviderDecl {
  kind: 'ProviderDecl';
  span: Span;
  name: string;
  probes: ProviderProbe[];
}

export interface ProviderProbe {
  kind: 'ProviderProbe';
  span: Span;
  name: string;
  params: ParamDecl[];
  /** The translated argument list after `:`, when present. */
  xlateParams?: ParamDecl[];
}

// ---------------------------------------------------------------------------------------------
// Statements

export type Stmt =
  | ExprStmt
  | IfStmt
  | BlockStmt
  | EmptyStmt
  | Declaration;

export interface ExprStmt { kind: 'ExprStmt'; span: Span; expr: Expr }
export interface IfStmt { kind: 'IfStmt'; span: Span; cond: Expr; then: Stmt; else?: Stmt }
export interface BlockStmt { kind: 'BlockStmt'; span: Span; body: Stmt[] }
export interface EmptyStmt { kind: 'EmptyStmt'; span: Span }

// ---------------------------------------------------------------------------------------------
// Expressions

export type Expr =
  | IntLit
  | FloatLit
  | CharLit
  | StringLit
  | Ident
  | MacroVar
  | KernelSym
  | AggRef
  | SelfVar
  | ThisVar
  | Unary
  | Postfix
  | Binary
  | Logical
  | Assign
  | Ternary
  | Cast
  | SizeofExpr
  | SizeofType
  | Offsetof
  | Stringof
  | Xlate
  | Member
  | Index
  | Call
  | Paren;

export interface IntLit {
  kind: 'IntLit';
  span: Span;
  /** The value, already reduced to 64 bits (two's complement for values above INT64_MAX). */
  value: bigint;
  /** Suffix letters as written, lower-cased (`u`, `l`, `ul`, `ll`, `ull`). */
  suffix: string;
  /** 10, 8 or 16: decimal constants and others pick their type by different C rules. */
  base: 8 | 10 | 16;
}
export interface FloatLit { kind: 'FloatLit'; span: Span; text: string }
/** `'a'`, `'\n'`, multi-character constants up to 8 bytes: the value as an int. */
export interface CharLit { kind: 'CharLit'; span: Span; value: bigint }
/** A string constant with escapes resolved (adjacent literals are not concatenated in D). */
export interface StringLit { kind: 'StringLit'; span: Span; value: string }

/** A plain identifier: a global variable, builtin variable, inline, enum constant, or function name. */
export interface Ident { kind: 'Ident'; span: Span; name: string }

/**
 * `$1`..`$N`, `$$1` (string form), `$target`, `$pid`, `$ppid`, `$uid`, … — left unresolved by the
 * parser when macro arguments are substituted later; `name` excludes the `$`/`$$`.
 */
export interface MacroVar { kind: 'MacroVar'; span: Span; name: string; stringForm: boolean }

/** `` `symbol `` or `` module`symbol ``: a kernel symbol. */
export interface KernelSym { kind: 'KernelSym'; span: Span; module?: string; name: string }

/** `@name`, or `@` alone (name ''). */
export interface AggRef { kind: 'AggRef'; span: Span; name: string }

/** `self->name` */
export interface SelfVar { kind: 'SelfVar'; span: Span; name: string }
/** `this->name` */
export interface ThisVar { kind: 'ThisVar'; span: Span; name: string }

export type UnaryOp = '-' | '+' | '!' | '~' | '*' | '&' | '++' | '--';
/** Prefix operators; `++`/`--` here are pre-increment. */
export interface Unary { kind: 'Unary'; span: Span; op: UnaryOp; operand: Expr }
/** Post-increment / post-decrement. */
export interface Postfix { kind: 'Postfix'; span: Span; op: '++' | '--'; operand: Expr }

export type BinaryOp =
  | '*' | '/' | '%' | '+' | '-' | '<<' | '>>'
  | '<' | '<=' | '>' | '>=' | '==' | '!='
  | '&' | '^' | '|' | ',';
export interface Binary { kind: 'Binary'; span: Span; op: BinaryOp; left: Expr; right: Expr }

/** `&&`, `||`, `^^` (D's logical xor). */
export interface Logical { kind: 'Logical'; span: Span; op: '&&' | '||' | '^^'; left: Expr; right: Expr }

export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=' | '%=' | '&=' | '^=' | '|=' | '<<=' | '>>=';
export interface Assign { kind: 'Assign'; span: Span; op: AssignOp; target: Expr; value: Expr }

export interface Ternary { kind: 'Ternary'; span: Span; cond: Expr; then: Expr; else: Expr }

export interface Cast { kind: 'Cast'; span: Span; type: TypeName; operand: Expr }
export interface SizeofExpr { kind: 'SizeofExpr'; span: Span; operand: Expr }
export interface SizeofType { kind: 'SizeofType'; span: Span; type: TypeName }
export interface Offsetof { kind: 'Offsetof'; span: Span; type: TypeName; member: string }
export interface Stringof { kind: 'Stringof'; span: Span; operand: Expr }
/** `xlate < type > ( expr )` */
export interface Xlate { kind: 'Xlate'; span: Span; type: TypeName; operand: Expr }

/** `a.b` or `a->b` */
export interface Member { kind: 'Member'; span: Span; object: Expr; member: string; arrow: boolean; memberSpan: Span }

/** `a[i]` or, for associative arrays and aggregations, `a[k1, k2, …]`. */
export interface Index { kind: 'Index'; span: Span; object: Expr; indices: Expr[] }

/** `f(args)`: actions, subroutines and aggregating functions alike. */
export interface Call { kind: 'Call'; span: Span; callee: Ident; args: Expr[] }

/** Parentheses are kept so the printer and diagnostics can show what was written. */
export interface Paren { kind: 'Paren'; span: Span; inner: Expr }

/** Every node kind, for exhaustive switches. */
export type Node = Program | TopLevel | Stmt | Expr | ProbeDesc | TypeName | InitDeclarator | Declarator | ParamDecl | StructMember | EnumMember;

export function assertNever(x: never, what = 'node'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify((x as { kind?: string })?.kind ?? x)}`);
}

/** Strips parentheses: `((x))` → `x`. */
export function unparen(e: Expr): Expr {
  while (e.kind === 'Paren') e = e.inner;
  return e;
}
