import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBtf } from '../bpf/btf/index.js';
import { encodeBtf } from '../bpf/btf/encode.js';
import { fatalErrorLines } from './fatal.js';
import { OutputError } from './output.js';

const fixture = readFileSync(fileURLToPath(new URL('../../../test/fixtures/btf/fixture.btf', import.meta.url)));

/** What loading, then using, corrupt BTF throws. */
function thrownBy(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  assert.fail('nothing was thrown');
}

test('corrupt kernel BTF ends the run with one line naming the fault (a hint outside the harness), not a stack trace', () => {
  const cases = [
    thrownBy(() => loadBtf(fixture.subarray(0, 200))), // truncated
    thrownBy(() => loadBtf(new Uint8Array(64))), // not BTF
    // A typedef that names itself: only a corrupt file has the cycle, which once never ended.
    thrownBy(() => { const b = loadBtf(encodeBtf([{ kind: 'typedef', name: 'loop_t', type: 1 }])); b.resolve(1); }),
    thrownBy(() => { const b = loadBtf(encodeBtf([{ kind: 'const', name: '', type: 1 }])); b.typeToString(1); }),
    thrownBy(() => { const b = loadBtf(encodeBtf([{ kind: 'ptr', name: '', type: 2 }, { kind: 'const', name: '', type: 1 }])); b.typeToString(1); }),
    thrownBy(() => { const b = loadBtf(encodeBtf([{ kind: 'typedef', name: 'loop_t', type: 1 }])); b.alignOf(1); }),
    // A reference past the last type.
    thrownBy(() => { const b = loadBtf(encodeBtf([{ kind: 'ptr', name: '', type: 9 }])); b.typeToString(1); }),
  ];
  for (const e of cases) {
    const lines = fatalErrorLines(e, true);
    assert.equal(lines.length, 1, String(e));
    assert.match(lines[0]!, /^dtrace: failed to load kernel type information: (BTF|bad BTF|type \d+)/);
    assert.doesNotMatch(lines[0]!, /\n|    at /);
    const withHint = fatalErrorLines(e, false);
    assert.equal(withHint.length, 2);
    assert.match(withHint[1]!, /^hint: \/sys\/kernel\/btf\/vmlinux .*corrupt/);
  }
});

test('other run-ending errors: output failures in DTrace\'s words, our own bugs with their stack', () => {
  assert.deepEqual(fatalErrorLines(new OutputError('write: ENOSPC'), true), ['dtrace: processing aborted: write: ENOSPC']);
  const bug = fatalErrorLines(new TypeError('x is undefined'), true);
  assert.equal(bug.length, 1);
  assert.match(bug[0]!, /^dtrace: internal error: TypeError: x is undefined\n    at /);
});
