/**
 * @fileoverview What the checker hands to code generation: the options it takes and the `Checked` result
 * (types of expressions, constants, what identifiers refer to, variables and aggregations).
 */
import type { Program, Clause, Expr, Ident, SelfVar, ThisVar, AggRef, Index, Member, Call, TranslatorDecl } from '../lang/ast.js';
import { type Span } from '../diag/source.js';
import { Types, typedef, type CType, type StructType, type EnumType, type StructMemberType } from './ctypes.js';
import { type KernelTypeSource } from './decl.js';
import { type BuiltinFunction } from '../builtins/signatures.js';
import { type BuiltinVariable } from '../builtins/variables.js';
export interface CheckOptions {
  /** Maximum string length (option strsize); default 256. */
  strsize: number;
  /** Argument types of a clause's probes (args[] typing); undefined = untyped (int64 argN). */
  probeArgTypes?: (clause: Clause) => CType[] | undefined;
  /**
   * args[] of a clause's probes as providers describe them (type texts parsed in the program's
   * scope): `native` is what the probe carries in raw argument `mapping`; `xlate`, when given,
   * is the type args[i] has, through the D library's translator from the native type.
   */
  probeArgDescs?: (clause: Clause) => { mapping: number; native: string; xlate?: string; userland?: boolean }[] | undefined;
  /** Kernel types (BTF), asked lazily; absent → kernel type names are unknown. */
  kernelTypes?: () => KernelTypeSource | undefined;
  /** -w given: destructive actions allowed. */
  destructive: boolean;
  /** Program pieces of the D library (lib/*.d), parsed; checked before the program, errors ignored. */
  library?: () => Program[];
  /** scratchsize option, for alloca() size checks (default 256 + 8). */
  scratchsizeBytes?: number;
  /** Option `version` (-x version=V): built-ins introduced later are not defined. */
  version?: string;
}

/** A D variable: global, thread-local (`self->`) or clause-local (`this->`), scalar or associative. */
export interface VariableInfo {
  /** Index in `Checked.variables` (first-appearance order). */
  index: number;
  name: string;
  scope: 'global' | 'thread' | 'clause';
  kind: 'scalar' | 'assoc';
  /** Value type; `undefined` while only referenced (e.g. an associative array never assigned). */
  type: CType | undefined;
  /** Key types of an associative array (same signature everywhere). */
  keyTypes?: CType[];
  /** Declared with a declaration (`int x;`, `self int y;`) rather than by first assignment. */
  declared: boolean;
  /** Holds a pointer into user space (assigned from a userland value). */
  userland: boolean;
  span: Span;
}

/** One aggregation; `index` is the order of first appearance in the program text. */
export interface AggregationInfo {
  index: number;
  /** Name without `@` ('' for the anonymous aggregation `@`). */
  name: string;
  fn: string;
  keyTypes: CType[] | undefined;
  /** Constant parameters: lquantize [base, limit, step], llquantize [factor, lmag, hmag, steps]. */
  params: bigint[];
  /** Type of the aggregated value argument, when the function takes one. */
  valueType?: CType;
  span: Span;
}

export interface InlineInfo {
  name: string;
  type: CType;
  value: Expr;
  /** Parameters of an associative inline (`inline int f[int x] = x + 1;`). */
  params?: { name: string; type: CType }[];
  span: Span;
}

export interface TranslatorInfo {
  output: StructType;
  input: CType;
  inputName: string;
  members: Map<string, Expr>;
  decl: TranslatorDecl;
}

export type SymbolRef =
  | { kind: 'builtin-var'; name: string; variable: BuiltinVariable; type: CType }
  | { kind: 'variable'; info: VariableInfo }
  | { kind: 'agg'; info: AggregationInfo }
  | { kind: 'inline'; info: InlineInfo }
  | { kind: 'enum-const'; name: string; value: bigint; type: EnumType }
  | { kind: 'kernel-sym'; name: string; module?: string; type: CType }
  | { kind: 'function'; fn: BuiltinFunction }
  | { kind: 'member'; struct: StructType; member: StructMemberType }
  /** A member of translated data: code generation evaluates `expr` with the translator input bound. */
  | { kind: 'xlate-member'; translator: TranslatorInfo; member: string; expr: Expr }
  /** `xlate<T>(e)` itself, or an inline/variable holding translated data. */
  | { kind: 'xlate'; translator: TranslatorInfo; pointer: boolean }
  /** The translator input name inside a translator body. */
  | { kind: 'xlate-input'; translator: TranslatorInfo; type: CType }
  /** A parameter of an associative inline, inside its definition. */
  | { kind: 'inline-param'; inline: string; index: number; type: CType }
  | { kind: 'args'; index: number; type: CType; mapping?: number }
  | { kind: 'uregs'; index: number };

export interface Checked {
  program: Program;
  typeOf(e: Expr): CType;
  constValue(e: Expr): bigint | undefined;
  stringConst(e: Expr): string | undefined;
  symbolOf(e: Ident | SelfVar | ThisVar | AggRef | Index | Member | Call | Expr): SymbolRef | undefined;
  /** User space pointer: the value needs copyin to be read. */
  isUserland(e: Expr): boolean;
  variables: VariableInfo[];
  aggregations: AggregationInfo[];
  typedefs: Map<string, CType>;
  /** Struct/union tags (`struct foo`) declared by the program and library. */
  structs: Map<string, StructType>;
  enums: Map<string, EnumType>;
  inlines: Map<string, InlineInfo>;
  translators: TranslatorInfo[];
  /** `#pragma D option` settings in program order: [name, value or undefined]. */
  options: [string, string | undefined][];
  /** The program uses destructive actions (enabling fails without -w). */
  usesDestructive: boolean;
}

/** The type of `@a` and `a` (an associative array) used as values: DTrace's `<DYN>` type. */
export const DYN: CType = typedef('<DYN>', Types.void);
