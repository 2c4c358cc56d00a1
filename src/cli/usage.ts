/**
 * @fileoverview The `dtrace` usage text, byte for byte as Oracle DTrace 2.0 prints it
 * (cmd/dtrace.c `usage()`), and the getopt-style messages that precede it. The text goes to
 * stderr and the command exits with status 2 (aggregations-and-output.md §8).
 */

/** The `[[ predicate ] action ]` tail shared by every probe specifier line. */
const PREDICATE_ACTION = '[[ predicate ] action ]';

/**
 * Returns the full usage text. `programName` is the basename of argv[0] (normally `dtrace`);
 * every continuation line starts with a TAB and the text ends with a newline.
 */
export function usageText(programName = 'dtrace'): string {
  return (
    `Usage: ${programName} [-32|-64] [-CeFGhHlqSvVwZ] [-b bufsz] [-c cmd] [-D name[=def]]\n` +
    '\t[-I path] [-L path] [-o output] [-p pid] [-s script] [-U name]\n' +
    '\t[-x opt[=val]] [-X a|c|s|t]\n\n' +
    `\t[-P provider ${PREDICATE_ACTION}]\n` +
    `\t[-m [ provider: ] module ${PREDICATE_ACTION}]\n` +
    `\t[-f [[ provider: ] module: ] func ${PREDICATE_ACTION}]\n` +
    `\t[-n [[[ provider: ] module: ] func: ] name ${PREDICATE_ACTION}]\n` +
    `\t[-i probe-id ${PREDICATE_ACTION}] [ args ... ]\n\n` +
    "\tpredicate -> '/' D-expression '/'\n" +
    "\t   action -> '{' D-statements '}'\n" +
    '\n' +
    '\t-32 generate 32-bit D programs and ELF files\n' +
    '\t-64 generate 64-bit D programs and ELF files\n\n' +
    '\t-b  set trace buffer size\n' +
    '\t-c  run specified command and exit upon its completion\n' +
    '\t-C  run cpp(1) preprocessor on script files\n' +
    '\t-D  define symbol when invoking preprocessor\n' +
    '\t-e  exit after compiling request but prior to enabling probes\n' +
    '\t-f  enable or list probes matching the specified function name\n' +
    '\t-F  coalesce trace output by function\n' +
    '\t-G  generate an ELF file containing embedded dtrace program\n' +
    '\t-h  generate a header file with definitions for static probes\n' +
    '\t-H  print included files when invoking preprocessor\n' +
    '\t-i  enable or list probes matching the specified probe id\n' +
    '\t-I  add include directory to preprocessor search path\n' +
    '\t-l  list probes matching specified criteria\n' +
    '\t-L  add library directory to library search path\n' +
    '\t-m  enable or list probes matching the specified module name\n' +
    '\t-n  enable or list probes matching the specified probe name\n' +
    '\t-o  set output file\n' +
    '\t-p  grab specified process-ID and cache its symbol tables\n' +
    '\t-P  enable or list probes matching the specified provider name\n' +
    '\t-q  set quiet mode (only output explicitly traced data)\n' +
    '\t-s  enable or list probes according to the specified D script\n' +
    '\t-S  print D compiler intermediate code\n' +
    '\t-U  undefine symbol when invoking preprocessor\n' +
    '\t-v  set verbose mode (report stability attributes, arguments)\n' +
    '\t-V  report DTrace API version\n' +
    '\t-w  permit destructive actions\n' +
    '\t-x  enable or modify compiler and tracing options\n' +
    '\t-X  specify ISO C conformance settings for preprocessor\n' +
    '\t-Z  permit probe descriptions that match zero probes\n'
  );
}

/** glibc getopt's message for a letter that is not in the option string. */
export function invalidOptionMessage(programName: string, letter: string): string {
  return `${programName}: invalid option -- '${letter}'\n`;
}

/** glibc getopt's message for an option letter whose argument is missing. */
export function missingArgumentMessage(programName: string, letter: string): string {
  return `${programName}: option requires an argument -- '${letter}'\n`;
}

/** dtrace's own message for `-3x`/`-6x` (anything but `-32`/`-64`). */
export function illegalDataModelMessage(programName: string, letterAndArg: string): string {
  return `${programName}: illegal option -- ${letterAndArg}\n`;
}

/**
 * `dtrace --help`: the usage text, then what a newcomer needs first (not part of Oracle's
 * usage, which stays byte for byte what it prints for a usage error).
 */
export function helpText(programName = 'dtrace'): string {
  return usageText(programName) + `
Examples:
  ${programName} -n 'BEGIN { trace("hello"); exit(0); }'
  ${programName} -n 'syscall:::entry { @[execname] = count(); }'      (Ctrl-C prints the counts)
  ${programName} -q -n 'syscall::openat:entry { printf("%s %s\\n", execname, copyinstr(arg1)); }'
  ${programName} -n 'profile-997 /pid == $target/ { @[ustack()] = count(); }' -c ./myprogram
  ${programName} -l -P syscall                                        (list probes)
  ${programName} -s script.d -x bufsize=8m
  ${programName} -v -e -s script.d                                    (stability report, compile only)

Loading BPF programs needs root (or CAP_BPF with CAP_PERFMON).
More: man dtrace; every flag and -x option, and what it does here: docs/FLAGS.md in the
dtrace-ts package; the library API and structured output: its README.
`;
}
