/**
 * @fileoverview The D version that introduced each built-in function after 1.0 (illumos
 * dt_open.c's identifier table, DT_VERS_*). Under `-x version=V` (or `#pragma D option
 * version=V`) an identifier introduced later than V is not defined: a program written for V
 * may use its name for a variable of its own.
 */

const INTRODUCED: ReadonlyMap<string, string> = new Map([
  ...['freopen', 'index', 'rindex', 'strchr', 'strrchr', 'strstr', 'strtok', 'substr'].map((n) => [n, '1.1'] as const),
  ...['func', 'mod', 'setopt', 'sym', 'uaddr', 'ucaller', 'umod', 'ustackdepth', 'usym'].map((n) => [n, '1.2'] as const),
  ...['htonl', 'htonll', 'htons', 'ntohl', 'ntohll', 'ntohs'].map((n) => [n, '1.3'] as const),
  ...['inet_ntoa', 'inet_ntoa6', 'inet_ntop'].map((n) => [n, '1.5'] as const),
  ['llquantize', '1.7'],
  ...['tolower', 'toupper'].map((n) => [n, '1.8'] as const),
]);

function versionParts(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** The built-in names introduced after `version` (none when it is not a version number). */
export function builtinsAfter(version: string): string[] {
  const limit = versionParts(version);
  if (!limit) return [];
  const later = (v: string): boolean => {
    const p = versionParts(v)!;
    for (let i = 0; i < 3; i++) if (p[i] !== limit[i]) return p[i]! > limit[i]!;
    return false;
  };
  return [...INTRODUCED].filter(([, v]) => later(v)).map(([n]) => n);
}
