import { test } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveCapabilities, missingPrivileges } from './privileges.js';

test('privileges: root or CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON+CAP_DAC_READ_SEARCH may trace', () => {
  assert.equal(effectiveCapabilities('Name:\tx\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
  assert.equal(missingPrivileges(0x1ffffffffffn), undefined);
  assert.equal(missingPrivileges(1n << 21n), undefined);
  assert.equal(missingPrivileges((1n << 39n) | (1n << 38n) | (1n << 2n)), undefined);
  assert.match(missingPrivileges((1n << 39n) | (1n << 38n)) ?? '', /needs root/);
  assert.match(missingPrivileges(0n) ?? '', /CAP_BPF, CAP_PERFMON/);
});
