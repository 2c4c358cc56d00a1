/**
 * @fileoverview Tests for the dtrace command line (getopt behaviour, passes, messages and exit
 * statuses) and the option table (value syntax of sizes, times, booleans; contexts; defaults).
 * Expected texts come from Oracle DTrace 2.0 (cmd/dtrace.c, libdtrace/dt_options.c) and the
 * conformance corpus (test/unittest/options/*.r).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  OPTIONS, applySetopt, defaultOptions, isOptionSet, headerOutputPath, parseCommandLine, pragmaOptionMessage, setOption,
  type CliOptions, type OptionValue, type OptionValues, type SetOptionContext,
} from './options.js';
import { usageText } from './usage.js';

const USAGE = usageText('dtrace');

/** Parses argv that must succeed. */
function cli(argv: string[], env: NodeJS.ProcessEnv = {}): CliOptions {
  const r = parseCommandLine(argv, env);
  if (!r.ok) assert.fail(`expected success for ${JSON.stringify(argv)}, got ${r.status}: ${r.message}`);
  return r.cli;
}

/** Parses argv that must fail; returns [status, message]. */
function failure(argv: string[], env: NodeJS.ProcessEnv = {}): [number, string] {
  const r = parseCommandLine(argv, env);
  if (r.ok) return assert.fail(`expected failure for ${JSON.stringify(argv)}`);
  return [r.status, r.message];
}

/** The stored value after setting one option on the defaults, or the error reason. */
function opt(name: string, value: string | true, context: SetOptionContext = {}): OptionValue | undefined | string {
  const store = defaultOptions();
  const r = setOption(store, name, value, context);
  return r.ok ? store.get(name) : `error: ${r.reason}`;
}

const BAD = 'error: Invalid value for specified option';

/** Option `name` set to each value in turn, each on the defaults: [value, what opt() gives] pairs in order. */
function expectOutcomes(name: string, outcomes: [string | true, OptionValue | undefined | string][]): void {
  assert.deepEqual(outcomes.map(([value]) => [value, opt(name, value)]), outcomes, name);
}

test('usage: no arguments prints the usage text, status 2', () => {
  assert.deepEqual(failure([]), [2, USAGE]);
  assert.ok(USAGE.startsWith('Usage: dtrace [-32|-64] [-CeFGhHlqSvVwZ] [-b bufsz] [-c cmd] [-D name[=def]]\n\t[-I path]'));
  assert.ok(USAGE.endsWith('\t-Z  permit probe descriptions that match zero probes\n'));
  assert.ok(USAGE.includes("\tpredicate -> '/' D-expression '/'\n\t   action -> '{' D-statements '}'\n"));
  assert.ok(USAGE.split('\n').slice(1).every((line) => line === '' || line.startsWith('\t')));
  assert.ok(usageText('mytrace').startsWith('Usage: mytrace '));
});

test('usage: getopt errors, status 2', () => {
  assert.deepEqual(failure(['-k']), [2, "dtrace: invalid option -- 'k'\n" + USAGE]);
  assert.deepEqual(failure(['-qk', '-n', 'BEGIN']), [2, "dtrace: invalid option -- 'k'\n" + USAGE]);
  assert.deepEqual(failure(['-n']), [2, "dtrace: option requires an argument -- 'n'\n" + USAGE]);
  assert.deepEqual(failure(['-n', 'BEGIN', '-x']), [2, "dtrace: option requires an argument -- 'x'\n" + USAGE]);
  assert.deepEqual(failure(['-3x']), [2, 'dtrace: illegal option -- 3x\n' + USAGE]);
  assert.deepEqual(failure(['-63']), [2, 'dtrace: illegal option -- 63\n' + USAGE]);
  assert.deepEqual(failure(['-l', '-V']), [2, 'dtrace: only one of the [-GhlV] options can be specified at a time\n']);
  assert.deepEqual(failure(['-h', '-G', '-s', 'a.d']), [2, 'dtrace: only one of the [-GhlV] options can be specified at a time\n']);
  assert.deepEqual(failure(['-l', '-l']), [2, 'dtrace: only one of the [-GhlV] options can be specified at a time\n']);
  assert.deepEqual(failure(['-B', '-l']), [2, 'dtrace: -B not valid in combination with [-Gl] options\n']);
  assert.deepEqual(failure(['-B', '-o', 'out', '-n', 'BEGIN']), [2, 'dtrace: -B not valid in combination with -o option\n']);
});

test('data model flags -32 / -64', () => {
  assert.equal(cli(['-32', '-n', 'BEGIN']).dataModel, 'ilp32');
  assert.equal(cli(['-3', '2', '-n', 'BEGIN']).dataModel, 'ilp32');
  assert.equal(cli(['-64', '-n', 'BEGIN']).dataModel, 'lp64');
  assert.equal(cli(['-32', '-64', '-n', 'BEGIN']).dataModel, 'lp64');
  assert.equal(cli(['-n', 'BEGIN']).dataModel, 'lp64');
});

test('modes', () => {
  assert.equal(cli(['-n', 'BEGIN']).mode, 'exec');
  assert.equal(cli(['-e', '-n', 'BEGIN']).mode, 'compile');
  assert.equal(cli(['-e', '-n', 'BEGIN']).exitAfterCompile, true);
  assert.equal(cli(['-l']).mode, 'list');
  assert.equal(cli(['-l', '-e']).mode, 'list');
  assert.equal(cli(['-h', '-s', 'p.d']).mode, 'header');
  assert.equal(cli(['-G', '-s', 'p.d']).mode, 'elf');
  assert.equal(cli(['-V']).mode, 'version');
  assert.equal(cli(['-V', '-v']).verbose, true);
  assert.equal(cli(['-V', '-x', 'nonsense']).mode, 'version'); // options are not looked at
  assert.equal(cli(['-s', 'x.d', '-V', '-e']).mode, 'version');
  assert.equal(cli(['-l', '-v']).listVerbose, true);
  assert.equal(cli(['-v', '-n', 'BEGIN']).listVerbose, false);
  assert.equal(cli(['-v', '-n', 'BEGIN']).verbose, true);
});

test('modes that imply -Z, and who needs root', () => {
  assert.equal(cli(['-l']).zdefs, true);
  assert.equal(cli(['-h', '-s', 'p.d']).zdefs, true);
  assert.equal(cli(['-G', '-s', 'p.d']).zdefs, true);
  assert.equal(cli(['-n', 'BEGIN']).zdefs, false);
  assert.equal(cli(['-Z', '-n', 'BEGIN']).zdefs, true);
  assert.equal(cli(['-xzdefs', '-n', 'BEGIN']).zdefs, true);
  assert.equal(cli(['-n', 'BEGIN']).requiresRoot, true);
  assert.equal(cli(['-l']).requiresRoot, true);
  assert.equal(cli(['-h', '-s', 'p.d']).requiresRoot, false);
  assert.equal(cli(['-G', '-s', 'p.d']).requiresRoot, false);
  assert.equal(cli(['-V']).requiresRoot, false);
});

test('program specifiers keep command-line order', () => {
  assert.deepEqual(cli(['-s', 'a.d', '-n', 'BEGIN', '-P', 'syscall', '-m', 'vmlinux', '-f', 'read', '-i', '3']).programs, [
    { kind: 'file', path: 'a.d' },
    { kind: 'description', flag: 'n', text: 'BEGIN' },
    { kind: 'description', flag: 'P', text: 'syscall' },
    { kind: 'description', flag: 'm', text: 'vmlinux' },
    { kind: 'description', flag: 'f', text: 'read' },
    { kind: 'description', flag: 'i', text: '3' },
  ]);
  assert.deepEqual(cli(['-nBEGIN']).programs, [{ kind: 'description', flag: 'n', text: 'BEGIN' }]);
  assert.deepEqual(cli(['-n', 'BEGIN { exit(0); }']).programs, [{ kind: 'description', flag: 'n', text: 'BEGIN { exit(0); }' }]);
  assert.deepEqual(cli(['-i', '-3']).programs, [{ kind: 'description', flag: 'i', text: '-3' }]);
  assert.deepEqual(cli(['-l']).programs, []);
});

test('combined flags and attached/separate option arguments', () => {
  const c = cli(['-qn', 'BEGIN']);
  assert.deepEqual(c.programs, [{ kind: 'description', flag: 'n', text: 'BEGIN' }]);
  assert.equal(c.optionValues.get('quiet'), true);
  assert.equal(cli(['-xquiet', '-n', 'BEGIN']).optionValues.get('quiet'), true);
  assert.equal(cli(['-x', 'quiet', '-n', 'BEGIN']).optionValues.get('quiet'), true);
  assert.equal(cli(['-qxstrsize=64', '-n', 'BEGIN']).optionValues.get('strsize'), 64n);
  assert.equal(cli(['-b4m', '-n', 'BEGIN']).optionValues.get('bufsize'), 4n << 20n);
  assert.equal(cli(['-eqs', 'x.d']).mode, 'compile');
  assert.deepEqual(cli(['-eqs', 'x.d']).programs, [{ kind: 'file', path: 'x.d' }]);
});

test('every option-setting flag maps to its option', () => {
  const c = cli(['-qwFZCHS', '-n', 'BEGIN']);
  assert.deepEqual([...c.options.keys()], ['quiet', 'destructive', 'flowindent', 'zdefs', 'cpp', 'cpphdrs', 'verbose']);
  for (const name of ['quiet', 'destructive', 'flowindent', 'zdefs', 'cpp', 'cpphdrs', 'verbose']) assert.equal(c.optionValues.get(name), true, name);
  assert.equal(c.showBpf, true);
  assert.equal(cli(['-xverbose', '-n', 'BEGIN']).showBpf, true);
  assert.equal(cli(['-n', 'BEGIN']).showBpf, false);
  assert.equal(cli(['-X', 's', '-n', 'BEGIN']).optionValues.get('stdc'), 's');
  assert.equal(cli(['-X', 's', '-n', 'BEGIN']).options.get('stdc'), 's');
  assert.equal(cli(['-b', '64', '-n', 'BEGIN']).options.get('bufsize'), '64');
  assert.equal(cli(['-a', '-A', '-n', 'BEGIN']).mode, 'exec'); // accepted, no effect
  assert.equal(cli(['-B', '-n', 'BEGIN']).bufferedDebug, true);
});

test('-x name=value is recorded raw and validated', () => {
  const c = cli(['-x', 'bufsize=1k', '-x', 'switchrate=10hz', '-x', 'aggsortkey', '-n', 'BEGIN']);
  assert.deepEqual([...c.options], [['bufsize', '1k'], ['switchrate', '10hz'], ['aggsortkey', true]]);
  assert.equal(c.optionValues.get('bufsize'), 1024n);
  assert.equal(c.optionValues.get('switchrate'), 100_000_000n);
  assert.equal(c.optionValues.get('aggsortkey'), true);
  assert.equal(cli(['-xbufsize=1k', '-b', '2k', '-n', 'BEGIN']).optionValues.get('bufsize'), 2048n); // later wins
  assert.equal(cli(['-xquiet', '-xquiet=no', '-n', 'BEGIN']).optionValues.has('quiet'), false);
});

test('option failures are fatal (status 1) with DTrace texts', () => {
  assert.deepEqual(failure(['-xbufsize=-1', '-s', 'x.d']), [1, 'dtrace: failed to set -x bufsize: Invalid value for specified option\n']);
  assert.deepEqual(failure(['-xstrsize=1', '-s', 'x.d']), [1, 'dtrace: failed to set -x strsize: Invalid value for specified option\n']);
  assert.deepEqual(failure(['-xstdc=X', '-s', 'x.d']), [1, 'dtrace: failed to set -x stdc: Invalid value for specified option\n']);
  assert.deepEqual(failure(['-xversion=99.1', '-s', 'x.d']), [1, 'dtrace: failed to set -x version: Requested version is not supported by compiler\n']);
  assert.deepEqual(failure(['-x', 'foo', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x foo: Invalid option name\n']);
  assert.deepEqual(failure(['-x', 'foo=bar', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x foo: Invalid option name\n']);
  // oformat is not Oracle's (it answers Invalid option name) but FreeBSD's: ours takes its values.
  assert.deepEqual(failure(['-x', 'oformat=xml2', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x oformat: Invalid value for specified option\n']);
  assert.deepEqual(failure(['-x', 'QUIET', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x QUIET: Invalid option name\n']);
  assert.deepEqual(failure(['-b', '4x', '-n', 'BEGIN']), [1, 'dtrace: failed to set -b 4x: Invalid value for specified option\n']);
  assert.deepEqual(failure(['-X', 'q', '-n', 'BEGIN']), [1, 'dtrace: failed to set -X q: Invalid value for specified option\n']);
  // The first failure in command-line order is the one reported.
  assert.deepEqual(failure(['-xfoo', '-xbar', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x foo: Invalid option name\n']);
});

test('operands become macro arguments, interleaved with options', () => {
  assert.deepEqual(cli(['-n', 'BEGIN', 'a', 'b']).macroArgs, ['a', 'b']);
  const c = cli(['a', '-n', 'BEGIN', 'b', '-q']);
  assert.deepEqual(c.macroArgs, ['a', 'b']);
  assert.equal(c.optionValues.get('quiet'), true);
  assert.deepEqual(cli(['-s', 'x.d', '-xargref', '1234']).macroArgs, ['1234']);
  assert.deepEqual(cli(['-n', 'BEGIN', '-']).macroArgs, ['-']);
});

test('-- turns only the next word into an operand', () => {
  const c = cli(['-s', 'x.d', '--', '-e', '-e']); // dtrace-util/err.MultipleNonOptFlags.d
  assert.deepEqual(c.macroArgs, ['-e']);
  assert.equal(c.mode, 'compile');
  assert.deepEqual(cli(['-n', 'BEGIN', '--', '-5']).macroArgs, ['-5']);
  assert.deepEqual(cli(['-n', 'BEGIN', '--']).macroArgs, []);
});

test('-G operands are object files, not macro arguments', () => {
  const c = cli(['-G', '-s', 'prov.d', 'a.o', 'b.o']);
  assert.deepEqual(c.objectFiles, ['a.o', 'b.o']);
  assert.deepEqual(c.macroArgs, []);
  assert.equal(c.optionValues.get('linkmode'), 'dynamic');
  assert.equal(c.optionValues.get('unodefs'), true);
});

test('-c and -p are repeatable; -p needs a decimal pid', () => {
  const c = cli(['-c', 'ls -l', '-c', 'date', '-p', '12', '-p', '34', '-n', 'BEGIN']);
  assert.deepEqual(c.commands, ['ls -l', 'date']);
  assert.deepEqual(c.grabPids, [12, 34]);
  assert.deepEqual(failure(['-p', '12x', '-n', 'BEGIN']), [1, 'dtrace: invalid pid: 12x\n']);
  assert.deepEqual(failure(['-p', '0x10', '-n', 'BEGIN']), [1, 'dtrace: invalid pid: 0x10\n']);
  assert.deepEqual(failure(['-p', '', '-n', 'BEGIN']), [1, 'dtrace: invalid pid: \n']);
  // Option errors (second pass) come before pid errors (third pass).
  assert.deepEqual(failure(['-p', 'x', '-xfoo', '-n', 'BEGIN']), [1, 'dtrace: failed to set -x foo: Invalid option name\n']);
});

test('-o, -D, -U, -I, -L', () => {
  const c = cli(['-o', 'out.txt', '-D', 'A=1', '-DB', '-U', 'C', '-I', 'inc', '-Iinc2', '-L', 'lib', '-xdefine=probe=BEGIN', '-n', 'BEGIN']);
  assert.equal(c.outputFile, 'out.txt');
  assert.deepEqual(c.cppDefines, ['A=1', 'B', 'probe=BEGIN']);
  assert.deepEqual(c.cppUndefs, ['C']);
  assert.deepEqual(c.cppIncludes, ['inc', 'inc2']);
  assert.deepEqual(c.libDirs, ['lib']);
  assert.equal(cli(['-n', 'BEGIN']).outputFile, undefined);
});

test('environment: DTRACE_OPT_<NAME>', () => {
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_STRSIZE: '512' }).optionValues.get('strsize'), 512n);
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_QUIET: 'yes' }).optionValues.get('quiet'), true);
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_QUIET: '' }).optionValues.has('quiet'), false);
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_BUFSIZE: 'bad' }).optionValues.get('bufsize'), 4n << 20n); // ignored
  assert.equal(cli(['-n', 'BEGIN'], { dtrace_opt_strsize: '512' }).optionValues.get('strsize'), 256n); // upper case only
  assert.equal(cli(['-xstrsize=100', '-n', 'BEGIN'], { DTRACE_OPT_STRSIZE: '512' }).optionValues.get('strsize'), 100n);
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_CPPARGS: '-fno-show-column' }).optionValues.get('cppargs'), '-fno-show-column');
  assert.equal(cli(['-n', 'BEGIN'], { DTRACE_OPT_SWITCHRATE: '10ms' }).optionValues.get('switchrate'), 10_000_000n);
});

test('environment: _DTRACE_TESTING turns on testing and quietresize', () => {
  const c = cli(['-n', 'BEGIN'], { _DTRACE_TESTING: 't' });
  assert.equal(c.testing, true);
  assert.equal(c.optionValues.get('quietresize'), true);
  assert.equal(cli(['-n', 'BEGIN']).testing, false);
  assert.equal(cli(['-n', 'BEGIN']).optionValues.has('quietresize'), false);
});

test('sizes: k/m/g/t suffixes, C integer bases', () => {
  assert.equal(opt('bufsize', '64'), 64n);
  assert.equal(opt('bufsize', '1k'), 1024n);
  assert.equal(opt('bufsize', '1K'), 1024n);
  assert.equal(opt('bufsize', '2m'), 2n << 20n);
  assert.equal(opt('bufsize', '3M'), 3n << 20n);
  assert.equal(opt('bufsize', '1g'), 1n << 30n);
  assert.equal(opt('bufsize', '1G'), 1n << 30n);
  assert.equal(opt('bufsize', '1t'), 1n << 40n);
  assert.equal(opt('bufsize', '1T'), 1n << 40n);
  assert.equal(opt('bufsize', '0x10'), 16n);
  assert.equal(opt('bufsize', '010'), 8n);
  assert.equal(opt('bufsize', '0x10k'), 16n << 10n);
  assert.equal(opt('bufsize', true), 0n);
  assert.equal(opt('bufsize', ''), 0n);
  assert.equal(opt('bufsize', '-1'), BAD);
  assert.equal(opt('bufsize', '-1k'), BAD);
  assert.equal(opt('bufsize', '1q'), BAD);
  assert.equal(opt('bufsize', '1kk'), BAD);
  assert.equal(opt('bufsize', '1.5m'), BAD);
  assert.equal(opt('bufsize', '09'), BAD);
  assert.equal(opt('bufsize', '99999999999999999999'), BAD);
  assert.equal(opt('bufsize', '9007199254740992t'), BAD); // overflows int64
  assert.equal(opt('dynvarsize', '8m'), 8n << 20n);
  assert.equal(opt('aggsize', '1m'), 1n << 20n);
  assert.equal(opt('specsize', '1k'), 1024n);
});

test('sizes: property — n with a suffix is n times the multiplier', () => {
  const multipliers: Record<string, bigint> = { '': 1n, k: 1n << 10n, m: 1n << 20n, g: 1n << 30n, t: 1n << 40n };
  fc.assert(fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.constantFrom('', 'k', 'm', 'g', 't', 'K', 'M'), (n, suffix) => {
    assert.equal(opt('bufsize', `${n}${suffix}`), BigInt(n) * multipliers[suffix.toLowerCase()]!);
  }));
});

test('times and rates: units, hz, no unit = ns', () => {
  assert.equal(opt('switchrate', '7'), 7n);
  assert.equal(opt('switchrate', '7ns'), 7n);
  assert.equal(opt('switchrate', '7nsec'), 7n);
  assert.equal(opt('switchrate', '5us'), 5_000n);
  assert.equal(opt('switchrate', '5usec'), 5_000n);
  assert.equal(opt('switchrate', '10ms'), 10_000_000n);
  assert.equal(opt('switchrate', '10MSEC'), 10_000_000n);
  assert.equal(opt('switchrate', '1s'), 1_000_000_000n);
  assert.equal(opt('switchrate', '1sec'), 1_000_000_000n);
  assert.equal(opt('switchrate', '2m'), 120_000_000_000n);
  assert.equal(opt('switchrate', '2min'), 120_000_000_000n);
  assert.equal(opt('switchrate', '1h'), 3_600_000_000_000n);
  assert.equal(opt('switchrate', '1hour'), 3_600_000_000_000n);
  assert.equal(opt('switchrate', '1d'), 86_400_000_000_000n);
  assert.equal(opt('switchrate', '1day'), 86_400_000_000_000n);
  assert.equal(opt('switchrate', '100hz'), 10_000_000n);
  assert.equal(opt('switchrate', '3Hz'), 333_333_333n);
  assert.equal(opt('switchrate', '0hz'), 0n);
  assert.equal(opt('aggrate', '4500ms'), 4_500_000_000n);
  assert.equal(opt('statusrate', '2s'), 2_000_000_000n);
  assert.equal(opt('cleanrate', '50hz'), 20_000_000n);
  assert.equal(opt('switchrate', true), 0n);
  assert.equal(opt('switchrate', '0.5hz'), BAD);
  assert.equal(opt('switchrate', '-1s'), BAD);
  assert.equal(opt('switchrate', '1parsec'), BAD);
  assert.equal(opt('switchrate', '1 s'), BAD);
  assert.equal(opt('switchrate', '9999999999999999999day'), BAD);
  assert.equal(opt('switchrate', '200000day'), BAD); // does not fit in int64 ns
});

test('runtime booleans: set words, unset words, integers (0 sets)', () => {
  assert.equal(opt('quiet', true), true);
  assert.equal(opt('quiet', '0'), true);
  assert.equal(opt('quiet', '1'), true);
  assert.equal(opt('quiet', 'yes'), true);
  assert.equal(opt('quiet', 'ON'), true);
  assert.equal(opt('quiet', 'Enabled'), true);
  assert.equal(opt('quiet', 'set'), true);
  assert.equal(opt('quiet', 'true'), true);
  assert.equal(opt('quiet', 'no'), undefined);
  assert.equal(opt('quiet', 'off'), undefined);
  assert.equal(opt('quiet', 'Disabled'), undefined);
  assert.equal(opt('quiet', 'unset'), undefined);
  assert.equal(opt('quiet', 'false'), undefined);
  assert.equal(opt('quiet', ''), undefined);
  assert.equal(opt('quiet', 'maybe'), BAD);
  assert.equal(opt('quiet', '-1'), BAD);
  assert.equal(opt('destructive', true), true);
  assert.equal(opt('flowindent', true), true);
  assert.equal(opt('aggsortrev', 'yes'), true);
  assert.equal(opt('rawbytes', true), true);
  assert.equal(opt('noresolve', true), true);
  assert.equal(opt('bpflog', true), true);
});

test('runtime integers: bare is 0, yes is 1', () => {
  assert.equal(opt('stackframes', '12'), 12n);
  assert.equal(opt('stackframes', '0x10'), 16n);
  assert.equal(opt('stackframes', true), 0n);
  assert.equal(opt('stackframes', 'yes'), 1n);
  assert.equal(opt('stackframes', 'no'), undefined);
  assert.equal(opt('stackframes', '12k'), BAD);
  assert.equal(opt('cpu', '1'), 1n);
  assert.equal(opt('nspec', '4'), 4n);
  assert.equal(opt('aggsortpos', '2'), 2n);
  assert.equal(opt('aggsortkeypos', '1'), 1n);
  assert.equal(opt('stackindent', '4'), 4n);
  assert.equal(opt('ustackframes', '50'), 50n);
});

test('compile-time flags take no value', () => {
  assert.equal(opt('zdefs', true), true);
  assert.equal(opt('zdefs', '1'), BAD);
  assert.equal(opt('cpp', ''), BAD);
  assert.equal(opt('errtags', true), true);
  assert.equal(opt('defaultargs', true), true);
  assert.equal(opt('argref', true), true);
  assert.equal(opt('empty', true), true);
  assert.equal(opt('aggpercpu', true), true);
  assert.equal(opt('droptags', 'whatever'), true); // droptags ignores its value
  assert.equal(opt('lazyload', true), true);
});

test('kdefs/knodefs and udefs/unodefs undo each other', () => {
  const store: OptionValues = new Map();
  setOption(store, 'knodefs', true);
  setOption(store, 'kdefs', true);
  assert.equal(store.has('knodefs'), false);
  setOption(store, 'unodefs', true);
  assert.equal(store.has('unodefs'), true);
  setOption(store, 'udefs', true);
  assert.equal(store.has('unodefs'), false);
});

test('string and keyword options', () => {
  expectOutcomes('cpppath', [['/usr/bin/cpp', '/usr/bin/cpp'], [true, BAD]]);
  expectOutcomes('define', [[true, BAD]]);
  expectOutcomes('stdc', [['a', 'a'], ['c', 'c'], ['s', 's'], ['t', 't'], ['X', BAD]]);
  expectOutcomes('bufpolicy', [['ring', 'ring'], ['fill', 'fill'], ['switch', 'switch'], ['rings', BAD]]);
  expectOutcomes('bufresize', [['auto', 'auto'], ['manual', 'manual'], ['never', BAD]]);
  expectOutcomes('evaltime', [['preinit', 'preinit'], ['later', BAD]]);
  expectOutcomes('linkmode', [['static', 'static']]);
  expectOutcomes('linktype', [['DOF', 'dof']]);
  expectOutcomes('late', [['dynamic', 'dynamic']]);
  expectOutcomes('sysslice', [['system.slice', ':/system.slice/']]);
  expectOutcomes('amin', [['Evolving/Evolving/Common', 'Evolving/Evolving/Common'], ['stable', 'stable'], ['Bogus', BAD], ['Stable/Stable/Nowhere', BAD]]);
  expectOutcomes('debugassert', [['mutexes', 'mutexes'], ['all', BAD]]);
});

test('special sizes: strsize, scratchsize, pcapsize, printsize, lockmem', () => {
  expectOutcomes('strsize', [['2', 2n], ['1', BAD], [true, BAD], ['5g', 'error: Value too large for defined data type']]);
  expectOutcomes('scratchsize', [['256', 264n], ['1', 16n]]);
  expectOutcomes('pcapsize', [['100', 104n], ['70000', 1520n]]);
  expectOutcomes('printsize', [['100000', 8192n], ['13', 16n]]);
  // 'lots': libdtrace ignores a bad size.
  expectOutcomes('lockmem', [['unlimited', 'unlimited'], ['64m', 64n << 20n], ['lots', 'unlimited'], [true, BAD]]);
});

test('integer compile options: iregs, tregs, disasm, pgmax, tree, useruid', () => {
  expectOutcomes('iregs', [['8', 8n], ['4', 'error: Insufficient registers to generate code'], ['9', BAD]]);
  expectOutcomes('tregs', [['0', BAD], ['4', 4n]]);
  expectOutcomes('disasm', [['3', 3n], ['-1', BAD]]);
  expectOutcomes('pgmax', [['16', 16n]]);
  expectOutcomes('tree', [['0', BAD]]);
  expectOutcomes('useruid', [['1000', 1000n]]);
});

test('version: format, known versions, no raising after lowering', () => {
  const unformatted = 'error: Version is not properly formatted or is too large';
  expectOutcomes('version', [['1.6.3', '1.6.3'], ['2.0', '2.0'], ['1.0', '1.0'], ['99.1', 'error: Requested version is not supported by compiler'],
    ['1.x', unformatted], ['1.2.3.4', unformatted], [true, BAD]]);
  const store: OptionValues = new Map();
  assert.deepEqual(setOption(store, 'version', '1.0'), { ok: true });
  assert.equal(setOption(store, 'version', '2.0').ok, false);
  assert.equal((setOption(store, 'version', '2.0') as { reason: string }).reason, 'Requested version conflicts with earlier setting');
});

test('setOption contexts: inside a program, while tracing', () => {
  assert.equal(opt('define', 'X', { inProgram: true }), 'error: Option cannot be used from within a D program');
  assert.equal(opt('stdc', 'a', { inProgram: true }), 'error: Option cannot be used from within a D program');
  assert.equal(opt('cpppath', '/bin/cpp', { inProgram: true }), 'error: Option cannot be used from within a D program');
  assert.equal(opt('quiet', true, { inProgram: true }), true);
  assert.equal(opt('strsize', '32', { inProgram: true }), 32n);
  assert.equal(opt('bufsize', '1m', { tracingActive: true }), 'error: Operation illegal when tracing is active');
  assert.equal(opt('strsize', '32', { tracingActive: true }), 'error: Operation illegal when tracing is active');
  assert.equal(opt('quiet', true, { tracingActive: true }), true);
  assert.equal(opt('switchrate', '1s', { tracingActive: true }), 1_000_000_000n);
  assert.equal(opt('nonesuch', true, { tracingActive: true }), 'error: Invalid option name');
});

test('setOption messages and pragma wording', () => {
  assert.deepEqual(setOption(new Map(), 'foo', true), { ok: false, reason: 'Invalid option name', message: 'failed to set -x foo: Invalid option name' });
  assert.deepEqual(setOption(new Map(), 'bufsz', '4m'), { ok: false, reason: 'Invalid option name', message: 'failed to set -x bufsz: Invalid option name', hint: 'did you mean `bufsize`?' });
  assert.deepEqual(setOption(new Map(), 'bufsize', 'x'), { ok: false, reason: 'Invalid value for specified option', message: 'failed to set -x bufsize: Invalid value for specified option' });
  assert.equal(pragmaOptionMessage('foo', true, 'Invalid option name'), "failed to set option 'foo': Invalid option name");
  assert.equal(pragmaOptionMessage('bufsize', 'x', 'Invalid value for specified option'), "failed to set option 'bufsize' to 'x': Invalid value for specified option");
});

test('a failed setOption leaves the store unchanged', () => {
  const store = defaultOptions();
  setOption(store, 'strsize', '1');
  assert.equal(store.get('strsize'), 256n);
  setOption(store, 'bufsize', '-5');
  assert.equal(store.get('bufsize'), 4n << 20n);
});

test('the option table holds every option of the spec with its kind', () => {
  const runtime = ['aggsize', 'bpflog', 'bpflogsize', 'bufsize', 'bufpolicy', 'bufresize', 'cleanrate', 'cpu', 'destructive', 'dynvarsize', 'grabanon', 'jstackframes', 'jstackstrsize', 'lockmem', 'maxframes', 'nspec', 'noresolve', 'pcapsize', 'scratchsize', 'specsize', 'stackframes', 'statusrate', 'strsize', 'ustackframes'];
  const dynamic = ['aggrate', 'aggsortkey', 'aggsortkeypos', 'aggsortpos', 'aggsortrev', 'flowindent', 'quiet', 'quietresize', 'rawbytes', 'stackindent', 'switchrate', 'printsize'];
  const compile = ['aggpercpu', 'amin', 'argref', 'core', 'cpp', 'cppargs', 'cpphdrs', 'cpppath', 'ctfpath', 'ctypes', 'dtypes', 'debug', 'debugassert', 'defaultargs', 'define', 'disasm', 'droptags', 'empty', 'errtags', 'evaltime', 'incdir', 'iregs', 'tregs', 'kdefs', 'knodefs', 'udefs', 'unodefs', 'late', 'lazyload', 'ldpath', 'libdir', 'linkmode', 'linktype', 'linknommap', 'modpath', 'nolibs', 'pgmax', 'preallocate', 'procfspath', 'pspec', 'stdc', 'strip', 'syslibdir', 'sysslice', 'tree', 'undef', 'useruid', 'verbose', 'version', 'zdefs'];
  for (const name of runtime) assert.equal(OPTIONS.get(name)?.kind, 'runtime', name);
  for (const name of dynamic) assert.equal(OPTIONS.get(name)?.kind, 'dynamic', name);
  for (const name of compile) assert.equal(OPTIONS.get(name)?.kind, 'compile', name);
  // dtrace-ts's own: structured output (FreeBSD's oformat) and the exporters (README).
  const extensions = ['oformat', 'flamegraph', 'metrics', 'metricsseries'];
  for (const name of extensions) assert.equal(OPTIONS.get(name)?.kind, 'runtime', name);
  assert.equal(OPTIONS.size, runtime.length + dynamic.length + compile.length + extensions.length);
  for (const def of OPTIONS.values()) assert.equal(def.name, [...OPTIONS.entries()].find(([, d]) => d === def)![0]);
});

test('defaults', () => {
  const d = defaultOptions();
  assert.equal(d.get('bufsize'), 4n << 20n);
  assert.equal(d.get('aggsize'), 4n << 20n);
  assert.equal(d.get('strsize'), 256n);
  assert.equal(d.get('nspec'), 1n);
  assert.equal(d.get('specsize'), 4n << 20n);
  assert.equal(d.get('dynvarsize'), 1n << 20n);
  assert.equal(d.get('switchrate'), 1_000_000_000n);
  assert.equal(d.get('statusrate'), 1_000_000_000n);
  assert.equal(d.get('aggrate'), 0n);
  assert.equal(d.get('stackindent'), 14n);
  assert.equal(d.get('scratchsize'), 264n);
  assert.equal(d.get('printsize'), 8192n);
  assert.equal(d.get('lockmem'), 'unlimited');
  const maxFrames = d.get('maxframes');
  assert.equal(typeof maxFrames, 'bigint');
  assert.equal(d.get('stackframes'), (maxFrames as bigint) < 20n ? maxFrames : 20n);
  assert.equal(d.get('ustackframes'), (maxFrames as bigint) < 100n ? maxFrames : 100n);
  assert.equal(d.has('quiet'), false);
  assert.equal(d.has('cpu'), false);
  // Every default is itself a value its option's parser could have produced.
  for (const def of OPTIONS.values()) if (def.default !== undefined) assert.notEqual(typeof def.default, 'undefined', def.name);
});

test('headerOutputPath: -o, script.d → script.h, and the usage errors', () => {
  assert.deepEqual(headerOutputPath(cli(['-h', '-s', 'dir/prov.d'])), { ok: true, path: 'prov.h' });
  assert.deepEqual(headerOutputPath(cli(['-h', '-s', 'prov.d', '-o', 'x.h'])), { ok: true, path: 'x.h' });
  assert.deepEqual(headerOutputPath(cli(['-h', '-s', 'a.d', '-s', 'b.d'])), { ok: false, status: 2, message: 'dtrace: -h requires an output file if multiple scripts are specified\n' });
  assert.deepEqual(headerOutputPath(cli(['-h', '-s', 'prov.dd'])), { ok: false, status: 2, message: 'dtrace: -h requires an output file if no scripts are specified\n' });
  assert.deepEqual(headerOutputPath(cli(['-h'])), { ok: false, status: 2, message: 'dtrace: -h requires one or more scripts or enabling options\n' });
});

test('setopt() while tracing: DTrace messages for each refusal', () => {
  const store = defaultOptions();
  assert.equal(applySetopt(store, 'Nixon', undefined), 'couldn\'t set option "Nixon" to "1": Invalid option name');
  assert.equal(applySetopt(store, 'quiet', 'um, no'), 'couldn\'t set option "quiet" to "um, no": Invalid value for specified option');
  assert.equal(applySetopt(store, 'bufsize', '1m'), 'couldn\'t set option "bufsize" to "1m": Operation illegal when tracing is active');
  assert.equal(applySetopt(store, 'quiet', undefined), undefined);
  assert.ok(isOptionSet(store, 'quiet'));
});

test('-x oformat=xml and html are refused with DTrace\'s line and a hint naming what exists', () => {
  for (const v of ['xml', 'html']) {
    const r = setOption(defaultOptions(), 'oformat', v);
    assert.ok(!r.ok);
    assert.equal(r.message, 'failed to set -x oformat: Invalid value for specified option');
    assert.equal(r.hint, `-x oformat=${v} is not implemented: use json (FreeBSD's JSON shape), folded or text`);
  }
  assert.ok(setOption(defaultOptions(), 'oformat', 'json').ok);
});
