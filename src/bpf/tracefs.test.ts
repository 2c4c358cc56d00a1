/** @fileoverview Parsing tracefs `format` files (fixtures copied from Linux 6.18). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTracepointFormat } from './tracefs.js';

const OPENAT = `name: sys_enter_openat
ID: 782
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename))
`;

const EXEC = `name: sched_process_exec
ID: 365
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;

print fmt: "filename=%s pid=%d", __get_str(filename), REC->pid
`;

test('syscall tracepoint format', () => {
  const f = parseTracepointFormat(OPENAT, 'syscalls');
  assert.equal(f.name, 'sys_enter_openat');
  assert.equal(f.category, 'syscalls');
  assert.equal(f.id, 782);
  assert.equal(f.fields.length, 9);
  assert.deepEqual(f.fields[6], { name: 'filename', type: 'const char *', offsetBytes: 24, sizeBytes: 8, signed: false, dataLoc: false, common: false });
  assert.deepEqual(f.fields[3], { name: 'common_pid', type: 'int', offsetBytes: 4, sizeBytes: 4, signed: true, dataLoc: false, common: true });
  assert.match(f.printFmt, /^"dfd: 0x%08lx/);
});

test('__data_loc and fixed arrays', () => {
  const f = parseTracepointFormat(EXEC);
  const filename = f.fields.find((x) => x.name === 'filename');
  assert.equal(filename?.dataLoc, true);
  assert.equal(filename?.type, '__data_loc char[]');
  assert.equal(filename?.sizeBytes, 4);
  const comm = f.fields.find((x) => x.name === 'comm');
  assert.equal(comm?.arrayLength, 16);
  assert.equal(comm?.type, 'char[16]');
  assert.equal(f.fields.find((x) => x.name === 'pid')?.type, 'pid_t');
});
