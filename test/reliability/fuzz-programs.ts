/**
 * @fileoverview A seeded generator of well-typed D programs for the reliability suite: random
 * statements (arithmetic, comparisons, ternaries, casts, strings and string functions, global,
 * thread-local, clause-local and associative variables, aggregations, printf/trace, if/else)
 * in clauses on BEGIN, a syscall, a kernel function and a profile probe. Every program the
 * compiler accepts must load: a verifier rejection is a compiler bug.
 */

/** mulberry32: a small deterministic PRNG, so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(private readonly rand: () => number) {}
  int(n: number): number { return Math.floor(this.rand() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }

  intExpr(depth: number): string {
    if (depth <= 0 || this.rand() < 0.3) {
      return this.pick([
        String(this.int(1000)), String(this.int(1 << 30)), '-' + String(this.int(100)), '0x' + this.int(65536).toString(16),
        'pid', 'tid', 'cpu', 'uid', 'timestamp', 'vtimestamp', 'walltimestamp', 'arg0', 'arg1', 'epid',
        'gi', 'self->ti', 'this->ci', 'assoc[1]', 'assoc[pid]',
      ]);
    }
    const a = () => this.intExpr(depth - 1);
    switch (this.int(10)) {
      case 0: return `(${a()} ${this.pick(['+', '-', '*', '&', '|', '^'])} ${a()})`;
      // Divisors that cannot be 0 (a constant 0 is the compiler's error, not a load problem).
      case 1: return `(${a()} ${this.pick(['/', '%'])} ${1 + this.int(97)})`;
      case 2: return `(${a()} ${this.pick(['<<', '>>'])} ${this.int(63)})`;
      case 3: return `(${a()} ${this.pick(['==', '!=', '<', '<=', '>', '>=', '&&', '||'])} ${a()})`;
      case 4: return `(${a()} ? ${a()} : ${a()})`;
      case 5: return `(${this.pick(['int', 'uint8_t', 'int16_t', 'uint32_t', 'int64_t', 'char'])})${a()}`;
      case 6: return `strlen(${this.strExpr(depth - 1)})`;
      case 7: return `${this.pick(['!', '~', '-'])}(${a()})`;
      case 8: return `(${this.strExpr(depth - 1)} == ${this.strExpr(depth - 1)})`;
      default: return a();
    }
  }

  strExpr(depth: number): string {
    if (depth <= 0 || this.rand() < 0.35) return this.pick(['execname', 'probefunc', 'probename', 'probeprov', '"lit"', '""', 'gs', 'self->ts']);
    const s = () => this.strExpr(depth - 1);
    switch (this.int(8)) {
      case 0: return `strjoin(${s()}, ${s()})`;
      case 1: return `substr(${s()}, ${this.int(8)})`;
      case 2: return `substr(${s()}, ${this.int(8)}, ${this.int(8)})`;
      case 3: return `lltostr(${this.intExpr(depth - 1)})`;
      case 4: return `${this.pick(['toupper', 'tolower', 'basename', 'dirname'])}(${s()})`;
      case 5: return `(${this.intExpr(depth - 1)} ? ${s()} : ${s()})`;
      case 6: return `strtok(${s()}, " ")`;
      default: return s();
    }
  }

  statement(depth: number): string {
    const i = () => this.intExpr(2 + this.int(2));
    const s = () => this.strExpr(2);
    switch (this.int(14)) {
      case 0: return `gi = ${i()};`;
      case 1: return `self->ti = ${i()};`;
      case 2: return `this->ci = ${i()};`;
      case 3: return `gs = ${s()};`;
      case 4: return `self->ts = ${s()};`;
      case 5: return `assoc[${i()}] = ${i()};`;
      case 6: return `@c[${s()}] = count();`;
      case 7: { const fn = this.pick(['sum', 'min', 'max', 'avg', 'stddev']); return `@${fn}[${i()}, ${s()}] = ${fn}(${i()});`; }
      case 8: return `@q = quantize(${i()});`;
      case 9: return `@l = lquantize(${i()}, 0, 100, 10);`;
      case 10: return `printf("%d %s %x\\n", ${i()}, ${s()}, ${i()});`;
      case 11: return `trace(${this.rand() < 0.5 ? i() : s()});`;
      case 12: return depth > 0 ? `if (${i()}) { ${this.statement(depth - 1)} } else { ${this.statement(depth - 1)} }` : `trace(${i()});`;
      default: return `self->ti = 0; assoc[pid] = 0;`;
    }
  }

  clause(probe: string): string {
    const stmts: string[] = [];
    const n = 1 + this.int(6);
    for (let k = 0; k < n; k++) stmts.push(this.statement(2));
    const pred = this.rand() < 0.3 ? ` /${this.intExpr(2)}/` : '';
    return `${probe}${pred}\n{\n  ${stmts.join('\n  ')}\n}\n`;
  }
}

/** Declarations every generated program starts with, so each variable keeps one type. */
const PRELUDE = 'int gi; string gs; self int ti; self string ts; this int ci; int assoc[int];\n';

/** The `index`th program of `seed`: clauses on several probe kinds, then `exit(0)`. */
export function fuzzProgram(seed: number, index: number): string {
  const g = new Gen(prng(seed * 1_000_003 + index));
  const probes = ['BEGIN', 'syscall::getpid:entry', 'syscall::read:return', 'profile-997', 'tick-1s', 'END'];
  let text = PRELUDE;
  for (const p of probes) if (p === 'BEGIN' || g.int(2) === 0) text += g.clause(p);
  return text + 'BEGIN\n{\n  exit(0);\n}\n';
}
