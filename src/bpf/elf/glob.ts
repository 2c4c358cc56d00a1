/**
 * @fileoverview DTrace's probe-description globbing: the Solaris gmatch(3GEN) rules that
 * dt_gmatch() applies to each field of `provider:module:function:name`. Every provider's probe
 * matching goes through here so that `*`, `?`, `[...]` and `\` behave the same everywhere.
 *
 * Rules (gmatch): `*` matches any run of characters (also empty), `?` any one character,
 * `[abc]`, `[a-z]` a set or range, `[!a-z]` its complement, `\c` the character c itself.
 * A `[` without a closing `]` matches nothing. Matching is on UTF-16 code units, which for
 * probe names (ASCII) is byte matching.
 */

/** True when `text` matches the gmatch pattern `pattern` in full. */
export function matchGlob(pattern: string, text: string): boolean {
  return matchAt(pattern, 0, text, 0);
}

/**
 * A probe-description field: an empty (or absent) field matches everything, as dt_gmatch()
 * does; otherwise gmatch rules apply.
 */
export function matchProbeField(pattern: string | undefined, text: string): boolean {
  if (pattern === undefined || pattern === '') return true;
  return matchGlob(pattern, text);
}

/** True when the pattern has glob characters (DTrace's strisglob: any of `*?[\`). */
export function isGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

function matchAt(p: string, pi: number, s: string, si: number): boolean {
  for (;;) {
    if (pi >= p.length) return si >= s.length;
    const c = p[pi]!;
    pi++;
    switch (c) {
      case '*': {
        while (pi < p.length && p[pi] === '*') pi++;
        if (pi >= p.length) return true;
        // Try every suffix; patterns are short, so the backtracking is cheap.
        for (let k = si; k < s.length; k++) if (matchAt(p, pi, s, k)) return true;
        return false;
      }
      case '?':
        if (si >= s.length) return false;
        si++;
        continue;
      case '[': {
        if (si >= s.length) return false;
        const end = matchBracket(p, pi, s[si]!);
        if (end === undefined) return false;
        pi = end;
        si++;
        continue;
      }
      case '\\': {
        // A trailing backslash stands for itself.
        const lit = pi < p.length ? p[pi++]! : '\\';
        if (si >= s.length || s[si] !== lit) return false;
        si++;
        continue;
      }
      default:
        if (si >= s.length || s[si] !== c) return false;
        si++;
    }
  }
}

/**
 * Matches one character against the bracket expression starting just after `[` at `pi`.
 * Returns the index after the closing `]` when the character is accepted, else undefined.
 */
function matchBracket(p: string, pi: number, ch: string): number | undefined {
  let negate = false;
  if (p[pi] === '!') { negate = true; pi++; }
  let ok = false;
  let first = true;
  while (pi < p.length) {
    let c = p[pi]!;
    // A `]` right after `[` or `[!` is a member, as in POSIX brackets.
    if (c === ']' && !first) return ok !== negate ? pi + 1 : undefined;
    first = false;
    pi++;
    if (c === '\\' && pi < p.length) c = p[pi++]!;
    if (p[pi] === '-' && pi + 1 < p.length && p[pi + 1] !== ']') {
      let hi = p[pi + 1]!;
      pi += 2;
      if (hi === '\\' && pi < p.length) hi = p[pi++]!;
      if (c <= ch && ch <= hi) ok = true;
    } else if (c === ch) {
      ok = true;
    }
  }
  return undefined; // unterminated bracket: gmatch fails the match
}
