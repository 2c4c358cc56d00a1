/**
 * @fileoverview Names of the D library that scripts written for illumos or Oracle use. errno.d
 * names every Linux errno with its kernel number: scripts test
 * `errno == ECONNABORTED`, `ENETDOWN`, … (the DTrace book's soerrors.d, soconnect_mac.d).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { loadLibrary } from './library.js';
import { ERRNO_NAMES } from '../bpf/uapi.js';
import { makeSource } from '../diag/source.js';
import { defaultOptions } from '../cli/options.js';
import { runPipeline } from '../api/pipeline.js';

/** The `inline int E… = N;` constants of lib/errno.d, name → value. */
function errnoInlines(): Map<string, number> {
  const file = loadLibrary().find((s) => s.name.endsWith('/errno.d'));
  assert.ok(file, 'lib/errno.d is part of the library');
  return new Map([...file.text.matchAll(/^inline int (E\w+) = (\d+);$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

test('errno.d defines every uapi errno the kernel numbers 1..133 with its number', () => {
  const inlines = errnoInlines();
  const uapi = Object.entries(ERRNO_NAMES).filter(([n]) => Number(n) < 512);
  for (const [n, name] of uapi) assert.equal(inlines.get(name), Number(n), name);
  // Every number but the two the kernel never assigned (41, 58) has a name.
  const numbered = new Set(inlines.values());
  const unnamed = Array.from({ length: 133 }, (_, i) => i + 1).filter((n) => !numbered.has(n));
  assert.deepEqual(unnamed, [41, 58]);
  // The aliases <errno.h> gives the same numbers.
  assert.equal(inlines.get('EWOULDBLOCK'), inlines.get('EAGAIN'));
  assert.equal(inlines.get('EDEADLOCK'), inlines.get('EDEADLK'));
  assert.equal(inlines.get('ENOTSUP'), inlines.get('EOPNOTSUPP'));
});

test('errno.d agrees with the C library Node was built against', { skip: process.platform !== 'linux' }, () => {
  const inlines = errnoInlines();
  for (const [name, value] of Object.entries(constants.errno)) assert.equal(inlines.get(name), value, name);
});

test('a script naming the socket errnos compiles', () => {
  const text = 'syscall::connect:return /errno == ENETDOWN || errno == ECONNABORTED || errno == EHOSTUNREACH/ { @[errno] = count(); }';
  const r = runPipeline({ programs: [{ source: makeSource('t.d', text, 'script'), macroArg0: 't.d' }], options: defaultOptions(), macroArgs: [], stopAfter: 'check' });
  assert.ok(r.ok, JSON.stringify(r.ok ? '' : r));
});

test('tcp.d has illumos\' TH_PUSH beside TH_PSH, and csinfo_t illumos\' cs_pid and cs_zoneid', () => {
  const tcp = loadLibrary().find((s) => s.name.endsWith('/tcp.d'))!.text;
  const flag = (name: string) => new RegExp(`^inline int ${name} = (0x\\w+);`, 'm').exec(tcp)?.[1];
  assert.equal(flag('TH_PUSH'), flag('TH_PSH'));
  // The book's tcpsnoop.d, as written for illumos.
  const text = `tcp:::send { printf("%d %d %s\\n", args[1]->cs_pid, args[1]->cs_zoneid, args[4]->tcp_flags & TH_PUSH ? "PUSH" : ""); }`;
  const r = runPipeline({ programs: [{ source: makeSource('t.d', text, 'script'), macroArg0: 't.d' }], options: defaultOptions(), macroArgs: [], stopAfter: 'check' });
  assert.ok(r.ok && !r.sink.errors.length, JSON.stringify(r.ok ? r.sink.errors : r));
});
