/**
 * @fileoverview docs/FLAGS.md, row by row: every flag and every `-x` option has a row, every
 * row has a check here, and each check runs (the built command, as root) and fails if the row
 * stops doing what the document says. Rows marked "no effect here" check that the option is
 * still accepted and validated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';
import { OPTIONS, parseCommandLine } from '../../src/cli/options.js';

const root = repoRoot();
const cli = join(root, 'dist', 'cli.js');
const skip = process.getuid?.() === 0 ? false : 'needs root to load BPF programs';

interface Run { status: number | null; stdout: string; stderr: string }
function dtrace(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'latin1', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(r: Run, what: string): Run {
  assert.equal(r.status, 0, `${what}: status ${r.status}\n${r.stderr}`);
  return r;
}
const BEGIN_EXIT = 'BEGIN { exit(0); }';

let scratch = '';
function tmp(): string {
  if (!scratch) scratch = mkdtempSync(join(tmpdir(), 'dtrace-ts-flags-'));
  return scratch;
}

/** An option accepted and validated by the command line (a bad value still refused). */
function accepted(name: string, value: string | true, bad?: string): () => void {
  return () => {
    const x = value === true ? name : `${name}=${value}`;
    const r = parseCommandLine(['-x', x, '-n', BEGIN_EXIT], {});
    assert.ok(r.ok, `-x ${x} refused: ${r.ok ? '' : r.message}`);
    assert.ok(r.cli.optionValues.has(name), `-x ${x} not stored`);
    if (bad !== undefined) assert.equal(parseCommandLine(['-x', `${name}=${bad}`, '-n', BEGIN_EXIT], {}).ok, false, `-x ${name}=${bad} accepted`);
  };
}

/** Output without the newline dtrace adds at the end of a run whose output did not end in one. */
function chomp(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** `-q` output of a BEGIN clause run with extra arguments. */
function beginOutput(args: string[], body: string): string {
  return chomp(ok(dtrace(['-q', ...args, '-n', `BEGIN { ${body} exit(0); }`]), args.join(' ')).stdout);
}

const flagChecks: Record<string, () => void> = {
  '-32': () => assert.equal(beginOutput(['-32'], 'printf("%d", sizeof (long));'), '8'),
  '-64': () => assert.equal(beginOutput(['-64'], 'printf("%d", sizeof (long));'), '8'),
  '-a': () => assert.equal(beginOutput(['-a'], 'printf("a");'), 'a'),
  '-A': () => assert.equal(beginOutput(['-A'], 'printf("A");'), 'A'),
  '-b size': () => {
    const r = dtrace(['-b', '16', '-n', 'BEGIN { trace(1); exit(0); }']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Enabling exceeds size of buffer/);
  },
  '-B': () => assert.equal(dtrace(['-B', '-l']).status, 2),
  '-c cmd': () => {
    const bin = buildWorkload('getpid_loop');
    const r = ok(dtrace(['-q', '-n', 'syscall::getpid:entry /pid == $target/ { @ = count(); }', '-c', `${bin} 7`, '-c', `${bin} 5`]), '-c');
    // Only the first -c is $target; both ran and the run ended when both exited.
    assert.equal(r.stdout.trim(), '7');
  },
  '-C': () => assert.equal(scriptOutput(['-C'], '#define N 6\nBEGIN { printf("%d", N * 7); exit(0); }'), '42'),
  '-D name[=def]': () => assert.equal(scriptOutput(['-C', '-D', 'N=5'], 'BEGIN { printf("%d", N); exit(0); }'), '5'),
  '-e': () => {
    const r = ok(dtrace(['-e', '-n', 'BEGIN { printf("ran"); }']), '-e');
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /matched/);
  },
  '-f spec': () => assert.equal(ok(dtrace(['-e', '-f', 'syscall::getpid { trace(1); }']), '-f').status, 0),
  '-F': () => {
    const r = ok(dtrace(['-F', '-n', 'syscall::write:entry,syscall::write:return /pid == $target/ {}', '-c', '/bin/echo hi']), '-F');
    assert.match(r.stdout, /^CPU FUNCTION/m);
    assert.match(r.stdout, /^ +\d+ {2}=> write/m);
    assert.match(r.stdout, /^ +\d+ {2}<= write/m);
  },
  '-G': () => {
    const out = join(tmp(), 'g.o');
    ok(dtrace(['-G', '-o', out, '-n', 'provider p { probe q(); };']), '-G');
    assert.deepEqual([...readFileSync(out).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
  },
  '-h': () => {
    const out = join(tmp(), 'p.h');
    ok(dtrace(['-h', '-o', out, '-s', writeScript('p.d', 'provider pp { probe qq(int); };')]), '-h');
    assert.match(readFileSync(out, 'latin1'), /PP_QQ/);
  },
  '-H': () => {
    mkdirSync(join(tmp(), 'inc'), { recursive: true });
    writeFileSync(join(tmp(), 'inc', 'seven.h'), '#define SEVEN 7\n');
    const r = ok(dtrace(['-q', '-C', '-H', '-I', join(tmp(), 'inc'), '-s', writeScript('h.d', '#include "seven.h"\nBEGIN { printf("%d", SEVEN); exit(0); }')]), '-H');
    assert.equal(chomp(r.stdout), '7');
    assert.match(r.stderr, /seven\.h/);
  },
  '-i id': () => assert.equal(beginOutputWith(['-i', '1 { printf("one"); exit(0); }']), 'one'),
  '-I dir': () => {
    mkdirSync(join(tmp(), 'inc'), { recursive: true });
    writeFileSync(join(tmp(), 'inc', 'eight.h'), '#define EIGHT 8\n');
    assert.equal(scriptOutput(['-C', '-I', join(tmp(), 'inc')], '#include "eight.h"\nBEGIN { printf("%d", EIGHT); exit(0); }'), '8');
  },
  '-l': () => assert.match(ok(dtrace(['-l', '-n', 'BEGIN']), '-l').stdout, /^ +1 +dtrace +BEGIN$/m),
  '-L dir': () => {
    mkdirSync(join(tmp(), 'dlib'), { recursive: true });
    writeFileSync(join(tmp(), 'dlib', 'answer.d'), 'inline int FLAGS_TABLE_ANSWER = 42;\n');
    assert.equal(beginOutput(['-L', join(tmp(), 'dlib')], 'printf("%d", FLAGS_TABLE_ANSWER);'), '42');
  },
  '-m spec': () => assert.equal(ok(dtrace(['-e', '-m', 'syscall:vmlinux { trace(1); }']), '-m').status, 0),
  '-n spec': () => assert.equal(beginOutput([], 'printf("n");'), 'n'),
  '-o file': () => {
    const out = join(tmp(), 'o.txt');
    writeFileSync(out, 'before\n');
    ok(dtrace(['-q', '-o', out, '-n', 'BEGIN { printf("after"); exit(0); }']), '-o');
    assert.equal(readFileSync(out, 'latin1'), 'before\nafter\n');
  },
  '-p pid': () => {
    const r = dtrace(['-p', '999999', '-n', BEGIN_EXIT]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /999999/);
  },
  '-P spec': () => assert.equal(beginOutputWith(['-P', 'dtrace /probename == "BEGIN"/ { printf("P"); exit(0); }']), 'P'),
  '-q': () => assert.equal(chomp(ok(dtrace(['-q', '-n', 'BEGIN { trace(1); exit(0); }']), '-q').stdout), '1'),
  '-s file': () => assert.equal(scriptOutput([], '#!/usr/sbin/dtrace -s\nBEGIN { printf("s"); exit(0); }'), 's'),
  '-S': () => assert.match(ok(dtrace(['-e', '-S', '-n', 'BEGIN { trace(1); }']), '-S').stderr, /exit/),
  '-U name': () => assert.equal(scriptOutput(['-C', '-D', 'X=1', '-U', 'X'], '#ifdef X\nBEGIN { printf("def"); exit(0); }\n#else\nBEGIN { printf("undef"); exit(0); }\n#endif\n'), 'undef'),
  '-v': () => {
    assert.match(ok(dtrace(['-lv', '-n', 'BEGIN']), '-lv').stdout, /Probe Description Attributes/);
    // Tracing: each program's stability report before its output; -e: also each description's probe attributes.
    const run = ok(dtrace(['-qv', '-n', 'BEGIN { trace(curthread != 0); exit(0); }']), '-v').stdout;
    assert.match(run, /^\nStability attributes for description BEGIN :\n\n\tMinimum Probe Description Attributes\n\t\tIdentifier Names: Unstable\n/);
    assert.match(run, /\tMinimum Statement Attributes\n\t\tIdentifier Names: Stable\n\t\tData Semantics:   Private\n/);
    assert.match(ok(dtrace(['-ev', '-n', 'dtrace:::BEGIN']), '-ev').stdout, /\ndtrace:::BEGIN\n\n\tProbe Description Attributes\n\t\tIdentifier Names: Stable\n/);
    // With structured output stdout stays JSON: the report goes to stderr.
    const json = ok(dtrace(['-qv', '-x', 'oformat=json', '-n', 'BEGIN { trace(1); exit(0); }']), '-v oformat=json');
    for (const line of json.stdout.split('\n').filter((l) => l !== '')) JSON.parse(line);
    assert.match(json.stderr, /Stability attributes for description BEGIN /);
  },
  '-V': () => assert.equal(ok(dtrace(['-V']), '-V').stdout, 'dtrace: Oracle D 2.0\n'),
  '-w': () => {
    // Refused when tracing is enabled: after the description's "matched" line, status 1.
    const refused = dtrace(['-n', 'BEGIN { raise(0); exit(0); }']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^dtrace: description 'BEGIN ' matched 1 probe\ndtrace: could not enable tracing: Destructive actions not allowed\n$/);
    assert.match(ok(dtrace(['-w', '-n', 'BEGIN { exit(0); }']), '-w').stderr, /allowing destructive actions/);
  },
  '-x opt[=val]': () => {
    const r = dtrace(['-x', 'bufsiz=1m', '-n', BEGIN_EXIT]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /failed to set -x bufsiz: Invalid option name/);
  },
  '-X a|c|s|t': () => {
    // Traditional cpp pastes with an empty comment; ISO C cpp does not.
    const text = '#define CAT(a,b) a/**/b\nBEGIN { printf("%d", CAT(4,2)); exit(0); }';
    assert.equal(scriptOutput(['-C', '-Xs'], text), '42');
    assert.notEqual(dtrace(['-q', '-C', '-Xa', '-s', writeScript('xa.d', text)]).stdout, '42');
  },
  '-Z': () => {
    const r = ok(dtrace(['-Z', '-n', 'nosuchprovider:::x { }', '-n', BEGIN_EXIT]), '-Z');
    assert.match(r.stderr, /matched 0 probes/);
  },
  '--help': () => assert.match(ok(dtrace(['--help']), '--help').stdout, /Usage: dtrace/),
  '--version': () => assert.match(ok(dtrace(['--version']), '--version').stdout, /^dtrace-ts /),
};

function writeScript(name: string, text: string): string {
  const p = join(tmp(), name);
  writeFileSync(p, text);
  return p;
}
function scriptOutput(args: string[], text: string): string {
  return chomp(ok(dtrace(['-q', ...args, '-s', writeScript(`s${Math.random().toString(36).slice(2)}.d`, text)]), args.join(' ')).stdout);
}
function beginOutputWith(args: string[]): string {
  return chomp(ok(dtrace(['-q', ...args]), args.join(' ')).stdout);
}

const optionChecks: Record<string, () => void> = {
  aggpercpu: accepted('aggpercpu', true),
  aggrate: () => assert.match(beginOutput(['-x', 'aggrate=1ms'], '@ = count();'), /1/),
  aggsize: () => assert.match(dtrace(['-x', 'aggsize=8', '-n', 'BEGIN { @[1, 2, 3] = count(); exit(0); }']).stderr, /Enabling exceeds size of buffer/),
  aggsortkey: () => assert.equal(beginOutput(['-x', 'aggsortkey'], '@[2] = sum(1); @[1] = sum(5);').replace(/\s+/g, ' ').trim(), '1 5 2 1'),
  aggsortkeypos: () => assert.equal(beginOutput(['-x', 'aggsortkey', '-x', 'aggsortkeypos=1'], '@[1, 2] = sum(1); @[2, 1] = sum(1);').replace(/\s+/g, ' ').trim(), '2 1 1 1 2 1'),
  aggsortpos: () => {
    const body = '@a[1] = sum(1); @a[2] = sum(2); @b[1] = sum(9); @b[2] = sum(1); printa("%d %@d %@d\\n", @a, @b); clear(@a); clear(@b);';
    // Sorted by the first aggregation's values, then (aggsortpos=1) by the second's.
    assert.equal(beginOutput([], body).split('\n')[0], '1 1 9');
    assert.equal(beginOutput(['-x', 'aggsortpos=1'], body).split('\n')[0], '2 2 1');
  },
  aggsortrev: () => assert.equal(beginOutput(['-x', 'aggsortrev'], '@[1] = sum(1); @[2] = sum(5);').replace(/\s+/g, ' ').trim(), '2 5 1 1'),
  amin: accepted('amin', 'Evolving/Evolving/Common', 'bogus'),
  argref: () => {
    // An operand the program never references is an error, unless argref is set.
    assert.equal(dtrace(['-e', '-n', 'BEGIN { trace(1); }', 'unused']).status, 1);
    ok(dtrace(['-e', '-x', 'argref', '-n', 'BEGIN { trace(1); }', 'unused']), 'argref');
  },
  bpflog: accepted('bpflog', true),
  bpflogsize: accepted('bpflogsize', '1m', 'x'),
  bufpolicy: accepted('bufpolicy', 'ring', 'bogus'),
  bufresize: accepted('bufresize', 'manual', 'bogus'),
  bufsize: () => assert.match(dtrace(['-x', 'bufsize=16', '-n', 'BEGIN { trace(1); exit(0); }']).stderr, /Enabling exceeds size of buffer/),
  cleanrate: accepted('cleanrate', '100hz', 'x'),
  core: accepted('core', true),
  cpp: () => assert.equal(scriptOutput(['-x', 'cpp'], '#define N 3\nBEGIN { printf("%d", N); exit(0); }'), '3'),
  cppargs: () => assert.equal(scriptOutput(['-x', 'cpp', '-x', 'cppargs=-DA=1 -DB=2'], 'BEGIN { printf("%d", A + B); exit(0); }'), '3'),
  cpphdrs: () => {
    writeFileSync(join(tmp(), 'nine.h'), '#define NINE 9\n');
    const r = ok(dtrace(['-q', '-C', '-x', 'cpphdrs', '-I', tmp(), '-s', writeScript('c.d', '#include "nine.h"\nBEGIN { printf("%d", NINE); exit(0); }')]), 'cpphdrs');
    assert.match(r.stderr, /nine\.h/);
  },
  cpppath: () => {
    const fake = join(tmp(), 'fakecpp');
    writeFileSync(fake, '#!/bin/sh\necho \'BEGIN { printf("fake"); exit(0); }\'\n');
    chmodSync(fake, 0o755);
    assert.equal(scriptOutput(['-C', '-x', `cpppath=${fake}`], 'BEGIN { printf("real"); exit(0); }'), 'fake');
  },
  cpu: () => {
    assert.match(dtrace(['-x', 'cpu=99999', '-n', BEGIN_EXIT]).stderr, /no such CPU/);
    ok(dtrace(['-x', 'cpu=0', '-n', BEGIN_EXIT]), 'cpu=0');
  },
  ctfpath: accepted('ctfpath', '/nonexistent'),
  ctypes: accepted('ctypes', 'x'),
  debug: accepted('debug', true),
  debugassert: accepted('debugassert', 'mutexes', 'bogus'),
  defaultargs: () => assert.equal(beginOutput(['-x', 'defaultargs'], 'printf("%d", $1);'), '0'),
  define: () => assert.equal(scriptOutput(['-C', '-x', 'define=N=4'], 'BEGIN { printf("%d", N); exit(0); }'), '4'),
  destructive: () => assert.match(ok(dtrace(['-x', 'destructive', '-n', BEGIN_EXIT]), 'destructive').stderr, /allowing destructive actions/),
  disasm: accepted('disasm', '1', '-1'),
  droptags: accepted('droptags', true),
  dtypes: accepted('dtypes', 'x'),
  dynvarsize: () => assert.match(dtrace(['-x', 'dynvarsize=8', '-n', 'BEGIN { a[1, 2, 3] = 4; exit(0); }']).stderr, /Enabling exceeds size of buffer/),
  empty: () => {
    ok(dtrace(['-e', '-x', 'empty', '-s', writeScript('empty.d', '')]), 'empty');
    assert.notEqual(dtrace(['-e', '-s', writeScript('empty2.d', '')]).status, 0);
  },
  errtags: () => assert.match(dtrace(['-x', 'errtags', '-n', 'BEGIN { nosuchvar_x++; ]']).stderr, /\[D_/),
  evaltime: accepted('evaltime', 'exec', 'bogus'),
  flamegraph: () => {
    const svg = join(tmp(), 'fg.svg');
    ok(dtrace(['-q', '-x', `flamegraph=${svg}`, '-n', 'BEGIN { @[stack()] = count(); exit(0); }']), 'flamegraph');
    assert.match(readFileSync(svg, 'latin1'), /<svg/);
  },
  flowindent: () => assert.match(ok(dtrace(['-x', 'flowindent', '-n', 'syscall::write:entry /pid == $target/ {}', '-c', '/bin/echo hi']), 'flowindent').stdout, /=> write/),
  grabanon: accepted('grabanon', true),
  incdir: () => {
    writeFileSync(join(tmp(), 'ten.h'), '#define TEN 10\n');
    assert.equal(scriptOutput(['-C', '-x', `incdir=${tmp()}`], '#include "ten.h"\nBEGIN { printf("%d", TEN); exit(0); }'), '10');
  },
  iregs: accepted('iregs', '8', 'x'),
  jstackframes: accepted('jstackframes', '10', 'x'),
  jstackstrsize: accepted('jstackstrsize', '1k', 'x'),
  kdefs: accepted('kdefs', true),
  knodefs: accepted('knodefs', true),
  late: accepted('late', 'dynamic', 'bogus'),
  lazyload: accepted('lazyload', true),
  ldpath: accepted('ldpath', '/usr/bin/ld'),
  libdir: () => {
    mkdirSync(join(tmp(), 'dlib2'), { recursive: true });
    writeFileSync(join(tmp(), 'dlib2', 'answer.d'), 'inline int FLAGS_TABLE_ELEVEN = 11;\n');
    assert.equal(beginOutput(['-x', `libdir=${join(tmp(), 'dlib2')}`], 'printf("%d", FLAGS_TABLE_ELEVEN);'), '11');
  },
  linkmode: accepted('linkmode', 'dynamic', 'bogus'),
  linknommap: accepted('linknommap', true),
  linktype: accepted('linktype', 'elf', 'bogus'),
  lockmem: accepted('lockmem', 'unlimited'),
  metrics: accepted('metrics', '127.0.0.1:0'),
  metricsseries: accepted('metricsseries', '10', 'x'),
  maxframes: () => ok(dtrace(['-q', '-n', 'BEGIN { ustack(2147483647); stack(2147483647); exit(0); }']), 'ustack(2147483647)'),
  modpath: accepted('modpath', '/tmp'),
  noresolve: accepted('noresolve', true),
  nolibs: () => {
    assert.equal(beginOutput([], 'printf("%d", SIGKILL);'), '9');
    assert.match(dtrace(['-x', 'nolibs', '-n', 'BEGIN { printf("%d", SIGKILL); exit(0); }']).stderr, /SIGKILL/);
  },
  nspec: () => {
    assert.match(dtrace(['-x', 'nspec=99999999999', '-n', BEGIN_EXIT]).stderr, /at most 65535 speculations/);
    assert.equal(beginOutput(['-x', 'nspec=2'], 'printf("ok");'), 'ok');
  },
  oformat: () => {
    const json = beginOutput(['-x', 'oformat=json'], '@a[1] = count();');
    assert.match(json, /"aggregation-name":"a"/);
    assert.equal(dtrace(['-x', 'oformat=bogus', '-n', BEGIN_EXIT]).status, 1);
  },
  pcapsize: accepted('pcapsize', '2k', 'x'),
  pgmax: accepted('pgmax', '4', '-1'),
  preallocate: accepted('preallocate', '1m', 'x'),
  printsize: accepted('printsize', '16k', 'x'),
  procfspath: accepted('procfspath', '/proc'),
  pspec: () => assert.equal(ok(dtrace(['-e', '-x', 'pspec', '-n', 'BEGIN { trace(1); }']), 'pspec').status, 0),
  quiet: () => assert.equal(chomp(ok(dtrace(['-x', 'quiet', '-n', 'BEGIN { trace(2); exit(0); }']), 'quiet').stdout), '2'),
  quietresize: accepted('quietresize', true),
  rawbytes: () => assert.match(beginOutput(['-x', 'rawbytes'], 'trace("ab");'), /61 62 00/),
  scratchsize: () => {
    assert.match(dtrace(['-x', 'scratchsize=4294967295', '-n', 'BEGIN { x = (char *)alloca(10); exit(0); }']).stderr, /scratchsize is too large/);
    assert.match(dtrace(['-x', 'scratchsize=16', '-n', 'BEGIN { x = (char *)alloca(100); exit(0); }']).stderr, /scratch|alloca|out of scratch/i);
  },
  specsize: () => assert.match(ok(dtrace(['-q', '-x', 'specsize=8', '-n', 'BEGIN { s = speculation(); speculate(s); printf("lost"); } BEGIN { commit(s); } BEGIN { exit(0); }']), 'specsize').stderr, /speculative drop/),
  stackframes: () => assert.equal(beginOutput(['-x', 'stackframes=1'], 'stack();').trim().split('\n').length, 1),
  stackindent: accepted('stackindent', '4', 'x'),
  statusrate: accepted('statusrate', '1s', 'x'),
  stdc: () => assert.equal(scriptOutput(['-C', '-x', 'stdc=s'], '#define CAT(a,b) a/**/b\nBEGIN { printf("%d", CAT(1,2)); exit(0); }'), '12'),
  strip: accepted('strip', true),
  strsize: () => {
    assert.match(dtrace(['-x', 'strsize=4294967295', '-n', BEGIN_EXIT]).stderr, /strsize=4294967295 is too large/);
    const cut = beginOutput(['-x', 'strsize=4'], 'printf("%s", execname);');
    assert.ok(cut.length > 0 && cut.length < 'dtrace'.length && 'dtrace'.startsWith(cut), cut);
  },
  switchrate: () => assert.equal(beginOutput(['-x', 'switchrate=1ms'], 'printf("x");'), 'x'),
  syslibdir: accepted('syslibdir', '/tmp'),
  sysslice: accepted('sysslice', 'user.slice'),
  tree: accepted('tree', '1', '0'),
  tregs: accepted('tregs', '4', '0'),
  udefs: accepted('udefs', true),
  undef: () => assert.equal(scriptOutput(['-C', '-D', 'Y', '-x', 'undef=Y'], '#ifdef Y\nBEGIN { printf("d"); exit(0); }\n#else\nBEGIN { printf("u"); exit(0); }\n#endif\n'), 'u'),
  unodefs: accepted('unodefs', true),
  useruid: accepted('useruid', '0', '-1'),
  ustackframes: () => ok(dtrace(['-q', '-x', 'ustackframes=2', '-n', 'BEGIN { ustack(); exit(0); }']), 'ustackframes'),
  verbose: () => assert.match(ok(dtrace(['-e', '-x', 'verbose', '-n', 'BEGIN { trace(1); }']), 'verbose').stderr, /exit/),
  version: () => {
    ok(dtrace(['-e', '-x', 'version=2.0', '-n', 'BEGIN { trace(1); }']), 'version=2.0');
    assert.equal(dtrace(['-e', '-x', 'version=9.9', '-n', 'BEGIN { trace(1); }']).status, 1);
  },
  zdefs: () => assert.match(ok(dtrace(['-x', 'zdefs', '-n', 'nosuchprovider:::x { }', '-n', BEGIN_EXIT]), 'zdefs').stderr, /matched 0 probes/),
};

/** The first-column names of the table under `heading` in docs/FLAGS.md. */
function documentedRows(heading: string): string[] {
  const doc = readFileSync(join(root, 'docs', 'FLAGS.md'), 'utf8');
  const section = doc.slice(doc.indexOf(heading)).split(/\n## /)[0]!;
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!.replace(/\\\|/g, '|'));
}

test('docs/FLAGS.md has a row for every option, every row has a check, every check a row', () => {
  const optionRows = documentedRows('## `-x` options');
  assert.deepEqual(optionRows.slice().sort(), [...OPTIONS.keys()].sort());
  assert.deepEqual(optionRows.slice().sort(), Object.keys(optionChecks).sort());
  const flagRows = documentedRows('## Flags');
  assert.deepEqual(flagRows.slice().sort(), Object.keys(flagChecks).sort());
  // Every getopt letter of dtrace(1) is a row.
  for (const letter of 'aAbBcCDefFGhHiIlLmnopPqsSUvVwxXZ') assert.ok(flagRows.some((r) => r.startsWith(`-${letter}`)), `-${letter} has no row`);
});

for (const [flag, check] of Object.entries(flagChecks)) test(`flag ${flag}`, { skip }, check);
for (const [name, check] of Object.entries(optionChecks)) test(`-x ${name}`, { skip }, check);

test('cleanup', () => { if (scratch) rmSync(scratch, { recursive: true, force: true }); });
