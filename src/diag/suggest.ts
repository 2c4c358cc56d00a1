/**
 * @fileoverview "Did you mean …?" — the nearest known name to a misspelt one (a provider, a
 * function, a variable, a member, an option), as rustc and Elm suggest: optimal string
 * alignment distance (Levenshtein plus adjacent transposition), case-insensitive, accepted
 * only when the distance is small for the name's length, so a wild guess suggests nothing.
 */

/** Edit distance with adjacent transpositions; stops early once every path exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name`, or undefined when none is close enough: at most one edit for
 * names of up to 4 characters, two up to 8, three beyond. Ties go to the earlier candidate.
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = name.length <= 4 ? 1 : name.length <= 8 ? 2 : 3;
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistance(lower, c.toLowerCase(), bestDistance - 1);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return best;
}

/** The hint text for a misspelt name, or undefined. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const near = nearestName(name, candidates);
  return near === undefined ? undefined : `did you mean \`${near}\`?`;
}
