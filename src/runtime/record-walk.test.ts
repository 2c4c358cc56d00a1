/**
 * @fileoverview The record walk both consumers share (record-walk.ts): the header, the ERROR
 * record's message, speculative records held until commit, exit status, short records ignored,
 * driven through the text and the JSON consumer with hand-built records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecordHeader, errorRecordMessage } from './record-walk.js';
import { RecordConsumer } from './records.js';
import { JsonRecordConsumer } from './json-records.js';
import { TraceOutput } from './output.js';
import { AggregationTable } from './aggregations.js';
import { Types } from '../check/ctypes.js';
import { makeSource, span } from '../diag/source.js';
import { Fault } from '../codegen/layout.js';
import { ErrorRecord, RECORD_HEADER_BYTES, RecordHeader, StidSpecial, type ClauseSpec, type CompiledProgram, type FieldLayout, type ProbeInfo } from '../program/spec.js';

/** A record's size in the tests: the header and one 8-byte value. */
const SIZE = RECORD_HEADER_BYTES + 8;
const PROBE: ProbeInfo = { id: 7, provider: 'dtrace', module: '', function: '', name: 'BEGIN' };
const DATA: FieldLayout = { offset: RECORD_HEADER_BYTES, sizeBytes: 8, type: Types.long, decode: 'int', signed: true };
const clause = (stid: number, actions: ClauseSpec['actions']): ClauseSpec => ({ stid, span: span(makeSource('t.d', 'BEGIN'), 0, 5), recordSize: SIZE, actions, printsPrefix: true });
const COMPILED: CompiledProgram = {
  maps: [], programs: [], probes: [PROBE], aggregations: [], pragmaOptions: [], strsize: 256, subprograms: new Map(),
  sizes: { maxRecordBytes: SIZE, maxDynvarElementBytes: 0, maxAggregationElementBytes: 0 },
  clauses: [clause(1, [{ kind: 'trace', field: DATA }]), clause(2, [{ kind: 'commit', field: DATA }]), clause(3, [{ kind: 'exit', field: DATA }])],
};

function record(prid: number, stid: number, value: bigint): DataView {
  const view = new DataView(new ArrayBuffer(Math.max(SIZE, ErrorRecord.bytes)));
  view.setUint32(RecordHeader.prid, prid, true);
  view.setUint32(RecordHeader.stid, stid, true);
  view.setUint32(RecordHeader.cpu, 1, true);
  view.setBigInt64(RECORD_HEADER_BYTES, value, true);
  return view;
}

function errorRecord(): DataView {
  const view = record(PROBE.id, StidSpecial.ERROR, 0n);
  view.setUint32(ErrorRecord.faultingStid, 1, true);
  view.setUint32(ErrorRecord.fault, Fault.BADADDR, true);
  view.setBigUint64(ErrorRecord.value, 0x10n, true);
  view.setBigUint64(ErrorRecord.pc, 5n, true);
  return view;
}

test('the header: probe id, clause id, speculation in the high half; too short is none', () => {
  assert.deepEqual(decodeRecordHeader(record(7, (2 << 16) | 1, 0n), 0, SIZE), { prid: 7, stid: (2 << 16) | 1, spec: 2, clauseId: 1, cpu: 1 });
  assert.equal(decodeRecordHeader(record(7, 1, 0n), 0, RECORD_HEADER_BYTES - 1), undefined);
  assert.equal(errorRecordMessage(errorRecord(), 0, PROBE.id, PROBE), 'dtrace: error in dt_clause_1 for probe ID 7 (dtrace:::BEGIN): invalid address (0x10) at BPF pc 5\n');
});

for (const json of [false, true]) {
  test(`${json ? 'JSON' : 'text'} consumer: speculative output waits for commit, exit sets the status, ERROR is reported`, () => {
    let out = '', err = '';
    const output = new TraceOutput((t) => { out += t; }, (t) => { err += t; });
    const aggs = new AggregationTable(COMPILED, new Map(), 1, undefined, {});
    const opts = { quiet: true, testing: false, flowindent: false };
    const consumer = json ? new JsonRecordConsumer(COMPILED, opts, output, aggs) : new RecordConsumer(COMPILED, opts, output, aggs);
    consumer.onRecord(record(PROBE.id, (2 << 16) | 1, 42n), 0, SIZE); // traced under speculation 2
    consumer.onRecord(record(PROBE.id, 1, 5n), 0, RECORD_HEADER_BYTES - 1); // too short: ignored
    output.flush();
    assert.equal(out, '');
    consumer.onRecord(record(PROBE.id, 2, 2n), 0, SIZE); // commit(2)
    output.flush();
    assert.match(out, /42/);
    consumer.onRecord(record(PROBE.id, 3, 3n), 0, SIZE);
    assert.equal(consumer.exitStatus, 3);
    consumer.onRecord(errorRecord(), 0, ErrorRecord.bytes);
    output.flush();
    assert.match(json ? out : err, /error in dt_clause_1 for probe ID 7 \(dtrace:::BEGIN\): invalid address \(0x10\) at BPF pc 5/);
  });
}
