/** The man page and shell completions shipped with the package stay in step with the code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './helpers/workloads.js';
import { OPTIONS } from '../src/cli/options.js';

const root = repoRoot();
const known = [...OPTIONS.keys()].sort();

test('bash and zsh completions list every -x option there is', () => {
  const bash = /local xopts="([^"]*)"/.exec(readFileSync(join(root, 'completions', 'dtrace.bash'), 'utf8'))?.[1]?.split(' ').sort();
  const zsh = /xopts=\(([^)]*)\)/.exec(readFileSync(join(root, 'completions', '_dtrace'), 'utf8'))?.[1]?.split(' ').sort();
  assert.deepEqual(bash, known);
  assert.deepEqual(zsh, known);
});

test('bash completion completes -x names, flags and providers', () => {
  const complete = (words: string[]) => {
    const script = `source completions/dtrace.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _dtrace; echo "\${COMPREPLY[*]}"`;
    return spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8' }).stdout.trim();
  };
  assert.equal(complete(['dtrace', '-x', 'bufs']), 'bufsize');
  assert.equal(complete(['dtrace', '-P', 'sys']), 'syscall');
  assert.equal(complete(['dtrace', '--ver']), '--version');
});

test('the man page documents every flag of the usage text', () => {
  const man = readFileSync(join(root, 'man', 'dtrace.1'), 'utf8');
  for (const flag of 'bcCDefFGhHiIlLmnopPqsSUvVwxXZ'.split('')) assert.match(man, new RegExp(`\\.B[IR]? \\\\-${flag}\\b`), `-${flag} missing`);
});
