/**
 * @fileoverview Generates D programs whose expressions need more registers than the code
 * generator has (R6–R8): nested ternaries, translator members (curpsinfo->pr_psargs,
 * curlwpsinfo, fds[0].fi_pathname), string functions, associative-array lookups, multi-key
 * aggregations and printf with many such arguments. Each expression comes with a model that
 * computes its value from the values of its leaves, which every program prints first, one
 * leaf per argument (little register pressure). Seeded, so a failure names a reproducible case.
 */

/** The values of the leaves, as the program's first line printed them. */
export type LeafValues = Map<string, number | string>;

/** A generated expression: its D text and its value given the leaves' values. */
export interface Expr<T extends number | string> { d: string; eval: (leaves: LeafValues) => T }

/** Integer leaves: each cast to int, so that arithmetic on them is 32-bit signed as in the model. */
const INT_LEAVES: { name: string; d: string; heavy?: boolean }[] = [
  { name: 'i1', d: 'this->i1' },
  { name: 'i2', d: 'this->i2' },
  { name: 'g1', d: 'g1' },
  { name: 't1', d: 'self->t1' },
  { name: 'a1', d: 'a[1]' },
  { name: 'pid', d: '(int)pid' },
  { name: 'prpid', d: '(int)curpsinfo->pr_pid' },
  { name: 'ppid', d: '(int)curpsinfo->pr_ppid' },
  { name: 'lwpid', d: '(int)curlwpsinfo->pr_lwpid' },
  { name: 'uid', d: '(int)curpsinfo->pr_uid' },
  { name: 'oflags', d: '(int)fds[0].fi_oflags', heavy: true },
  { name: 'argslen', d: '(int)strlen(curpsinfo->pr_psargs)', heavy: true },
];

/** String leaves. */
const STR_LEAVES: { name: string; d: string; heavy?: boolean }[] = [
  { name: 's1', d: 'this->s1' },
  { name: 'lit', d: '"lit"' },
  { name: 'exec', d: 'execname' },
  { name: 'fname', d: 'curpsinfo->pr_fname' },
  { name: 'func', d: 'probefunc' },
  { name: 'psargs', d: 'curpsinfo->pr_psargs', heavy: true },
  { name: 'path0', d: 'fds[0].fi_pathname', heavy: true },
];

/** The associative array `a` the programs set: a[1] = 11, a[2] = 13, other keys 0. */
const ASSOC: ReadonlyMap<number, number> = new Map([[1, 11], [2, 13]]);

/** Statements that give the leaves their values (clause-locals: one clause holds everything). */
export const LEAF_SETUP = 'this->i1 = 7; this->i2 = -12; g1 = 5; self->t1 = 3; a[1] = 11; a[2] = 13; this->s1 = "abc";';

const SEP = '|~|';

/** The leaves a program prints first: the light ones, and the heavy ones it uses (all when `used` is undefined). */
function printed(used?: ReadonlySet<string>): { name: string; d: string; f: string }[] {
  const all = [...INT_LEAVES.map((l) => ({ ...l, f: '%d' })), ...STR_LEAVES.map((l) => ({ ...l, f: '%s' }))];
  return all.filter((l) => !l.heavy || !used || used.has(l.name));
}

/** The first line of a program: each leaf's value, separated by SEP. */
export function leafLine(used?: ReadonlySet<string>): string {
  const ls = printed(used);
  return `printf("${ls.map((l) => l.f).join(SEP)}\\n", ${ls.map((l) => l.d).join(', ')});`;
}

export function parseLeafLine(line: string, used?: ReadonlySet<string>): LeafValues {
  const parts = line.split(SEP);
  const out: LeafValues = new Map();
  printed(used).forEach((l, i) => out.set(l.name, l.f === '%d' ? Number(parts[i]) : parts[i] ?? ''));
  return out;
}

const i32 = (x: number): number => x | 0;

/** mulberry32: a small seeded generator. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random expressions of a given depth. `sample` (the leaves' values from a first run) keeps
 * the values in range: strings shorter than `maxLen` (no strsize truncation to model), integers
 * small (no 32-bit overflow). `heavyBudget` caps the translator members with loops (psargs,
 * d_path), which make the verifier's work grow.
 */
export class ExprGen {
  private heavy: number;

  /** The leaves the expressions generated so far use (the program prints those first). */
  readonly used = new Set<string>();

  constructor(private readonly random: () => number, private readonly sample: LeafValues, heavyBudget: number, private readonly maxLen = 120) {
    this.heavy = heavyBudget;
  }

  private pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.random() * xs.length)]!; }

  private leaf<L extends { name: string; d: string; heavy?: boolean }>(leaves: L[]): L {
    for (;;) {
      const l = this.pick(leaves);
      if (!l.heavy) return l;
      if (this.heavy > 0) { this.heavy--; return l; }
    }
  }

  int(depth: number): Expr<number> {
    for (let tries = 0; ; tries++) {
      const e = this.intOnce(depth);
      const v = e.eval(this.sample);
      if (Math.abs(v) < 1 << 24 || tries > 50) return e;
    }
  }

  str(depth: number): Expr<string> {
    for (let tries = 0; ; tries++) {
      const e = this.strOnce(depth);
      if (e.eval(this.sample).length <= this.maxLen || tries > 50) return e;
    }
  }

  /**
   * Depths for the `n` operands of a node at `depth`: one of them (at random) nested to
   * depth - 1, the others shallow (0 or 1), so a program grows with its depth linearly, not
   * exponentially (the verifier walks every string function's loop), while every level holds
   * values across the deep operand.
   */
  private depths(depth: number, n: number): number[] {
    const deep = Math.floor(this.random() * n);
    return Array.from({ length: n }, (_, i) => (i === deep ? depth - 1 : Math.min(depth - 1, Math.floor(this.random() * 2))));
  }

  private intOnce(depth: number): Expr<number> {
    if (depth <= 0) {
      const l = this.leaf(INT_LEAVES);
      this.used.add(l.name);
      return { d: l.d, eval: (v) => v.get(l.name) as number };
    }
    switch (Math.floor(this.random() * 9)) {
      case 0: case 1: {
        const op = this.pick(['+', '-', '&', '|', '^'] as const);
        const [da, db] = this.depths(depth, 2);
        const a = this.int(da!), b = this.int(db!);
        const f = { '+': (x: number, y: number) => x + y, '-': (x: number, y: number) => x - y, '&': (x: number, y: number) => x & y, '|': (x: number, y: number) => x | y, '^': (x: number, y: number) => x ^ y }[op];
        return { d: `(${a.d} ${op} ${b.d})`, eval: (v) => i32(f(a.eval(v), b.eval(v))) };
      }
      case 2: {
        const k = Math.floor(this.random() * 4);
        const a = this.int(depth - 1);
        return { d: `(${a.d} * ${k})`, eval: (v) => i32(a.eval(v) * k) };
      }
      case 3: {
        const [d1, d2, d3, d4] = this.depths(depth, 4);
        const c1 = this.int(d1!), c2 = this.int(d2!), a = this.int(d3!), b = this.int(d4!);
        const op = this.pick(['<', '==', '>='] as const);
        const cmp = (x: number, y: number): boolean => (op === '<' ? x < y : op === '==' ? x === y : x >= y);
        return { d: `(${c1.d} ${op} ${c2.d} ? ${a.d} : ${b.d})`, eval: (v) => (cmp(c1.eval(v), c2.eval(v)) ? a.eval(v) : b.eval(v)) };
      }
      case 4: {
        const s = this.str(depth - 1);
        return { d: `(int)strlen(${s.d})`, eval: (v) => Buffer.byteLength(s.eval(v), 'latin1') };
      }
      case 5: {
        const [d1, d2, d3, d4] = this.depths(depth, 4);
        const s1 = this.str(d1!), s2 = this.str(d2!), a = this.int(d3!), b = this.int(d4!);
        const op = this.pick(['==', '!='] as const);
        return { d: `(${s1.d} ${op} ${s2.d} ? ${a.d} : ${b.d})`, eval: (v) => ((s1.eval(v) === s2.eval(v)) === (op === '==') ? a.eval(v) : b.eval(v)) };
      }
      case 6: {
        const k = this.int(depth - 1);
        return { d: `a[${k.d} & 3]`, eval: (v) => ASSOC.get(k.eval(v) & 3) ?? 0 };
      }
      case 7: {
        const [da, db] = this.depths(depth, 2);
        const a = this.int(da!), b = this.int(db!);
        const op = this.pick(['&&', '||'] as const);
        return { d: `(${a.d} ${op} ${b.d})`, eval: (v) => (op === '&&' ? (a.eval(v) !== 0 && b.eval(v) !== 0) : (a.eval(v) !== 0 || b.eval(v) !== 0)) ? 1 : 0 };
      }
      default: {
        const [da, db, dc] = this.depths(depth, 3);
        const a = this.int(da!), b = this.int(db!), c = this.int(dc!);
        return { d: `(${a.d} + (${b.d} - ${c.d}))`, eval: (v) => i32(a.eval(v) + (b.eval(v) - c.eval(v))) };
      }
    }
  }

  private strOnce(depth: number): Expr<string> {
    if (depth <= 0) {
      const l = this.leaf(STR_LEAVES);
      this.used.add(l.name);
      return { d: l.d, eval: (v) => v.get(l.name) as string };
    }
    switch (Math.floor(this.random() * 5)) {
      case 0: case 1: {
        const [da, db] = this.depths(depth, 2);
        const a = this.str(da!), b = this.str(db!);
        return { d: `strjoin(${a.d}, ${b.d})`, eval: (v) => a.eval(v) + b.eval(v) };
      }
      case 2: {
        const [d1, d2, d3, d4] = this.depths(depth, 4);
        const c1 = this.int(d1!), c2 = this.int(d2!), a = this.str(d3!), b = this.str(d4!);
        return { d: `(${c1.d} > ${c2.d} ? ${a.d} : ${b.d})`, eval: (v) => (c1.eval(v) > c2.eval(v) ? a.eval(v) : b.eval(v)) };
      }
      case 3: {
        const [ds, di, dn] = this.depths(depth, 3);
        const s = this.str(ds!), i = this.int(di!), n = this.int(dn!);
        return { d: `substr(${s.d}, ${i.d} & 3, ${n.d} & 7)`, eval: (v) => { const t = s.eval(v); const at = i.eval(v) & 3; return at >= t.length ? '' : t.slice(at, at + (n.eval(v) & 7)); } };
      }
      default: {
        const a = this.int(depth - 1);
        return { d: `lltostr(${a.d})`, eval: (v) => String(a.eval(v)) };
      }
    }
  }
}

/** A histogram aggregation of a generated value, keyed by generated keys. */
export interface AggCase { fn: string; keys: Expr<number | string>[]; value: Expr<number> }

const AGG_FUNCTIONS = ['quantize(%v)', 'lquantize(%v, -50, 50, 10)', 'llquantize(%v, 10, 0, 6, 20)', 'sum(%v)', 'max(%v)'];

export function aggCase(g: ExprGen, random: () => number, depth: number): AggCase {
  const nkeys = 1 + Math.floor(random() * 3);
  const keys: Expr<number | string>[] = [];
  for (let i = 0; i < nkeys; i++) keys.push(random() < 0.5 ? g.str(depth) : g.int(depth));
  return { fn: AGG_FUNCTIONS[Math.floor(random() * AGG_FUNCTIONS.length)]!, keys, value: g.int(depth) };
}

/**
 * The statements of an aggregation case: @gN[keys] = fn(value), updated with the generated
 * expressions in place, and @rN the same from clause-locals computed one by one before it
 * (nothing held while they are computed). The two must print the same.
 */
export function aggStatements(c: AggCase, n: number): { stmts: string; printa: string } {
  const locals = c.keys.map((k, i) => `this->k${n}_${i} = ${k.d};`).join(' ');
  const fn = (v: string): string => c.fn.replace('%v', v);
  const stmts = `@g${n}[${c.keys.map((k) => k.d).join(', ')}] = ${fn(c.value.d)}; ${locals} this->v${n} = ${c.value.d}; ` +
    `@r${n}[${c.keys.map((_, i) => `this->k${n}_${i}`).join(', ')}] = ${fn(`this->v${n}`)};`;
  return { stmts, printa: `printf("==g${n}\\n"); printa(@g${n}); printf("==r${n}\\n"); printa(@r${n});` };
}
