import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonText, jsonDatum, jsonAggregation, jsonProbeLine, jsonInternalLine } from './json-output.js';
import { jsValue, aggregationEntries } from './json-values.js';
import type { AggSnapshot } from './values.js';

test('jsonText: 64-bit integers exactly, strings escaped, non-finite numbers as null', () => {
  assert.equal(jsonText({ a: 18446744073709551615n, b: 'q"\n\u0001', c: [1.5, Infinity, null, true] }), '{"a":18446744073709551615,"b":"q\\"\\n\\u0001","c":[1.5,null,null,true]}');
});

test('jsonDatum: FreeBSD\'s value, stack-frames / ustack-frames and tracemem objects', () => {
  assert.deepEqual(jsonDatum({ kind: 'int', value: -3n, sizeBytes: 4, signed: true }), { value: -3n });
  assert.deepEqual(jsonDatum({ kind: 'string', value: 'caf\xc3\xa9\xff' }), { value: 'café\ufffd' });
  assert.deepEqual(jsonDatum({ kind: 'stack', frames: ['vmlinux`ksys_write+0x71', '0xffff1234'] }), {
    'stack-frames': [{ symbol: 'vmlinux`ksys_write+0x71', module: 'vmlinux', name: 'ksys_write', offset: '0x71' }, { symbol: '0xffff1234' }],
  });
  assert.deepEqual(Object.keys(jsonDatum({ kind: 'stack', frames: [] }, true) as object), ['ustack-frames']);
  assert.deepEqual(jsonDatum({ kind: 'bytes', bytes: new Uint8Array([0, 255]) }), { tracemem: '00ff' });
});

const counts: AggSnapshot = {
  desc: { id: 1, name: 'c', fn: 'count', keyTypes: [{ kind: 'string' }] },
  entries: [{ keys: [{ kind: 'string', value: 'sh' }], value: { kind: 'scalar', value: 12n } }],
};
const hist: AggSnapshot = {
  desc: { id: 2, name: 'q', fn: 'quantize', keyTypes: [] },
  entries: [{ keys: [], value: { kind: 'hist', buckets: Object.assign(new Array<bigint>(127).fill(0n), { 63: 1n, 66: 4n }) } }],
};

test('jsonAggregation: aggregation-name and aggregation-data, scalars under the function name, histograms as buckets', () => {
  assert.equal(jsonText(jsonAggregation(counts)), '{"aggregation-name":"c","aggregation-data":[{"keys":["sh"],"count":12}]}');
  assert.equal(jsonText(jsonAggregation(hist)), '{"aggregation-name":"q","aggregation-data":[{"keys":[],"buckets":[{"value":0,"count":1},{"value":4,"count":4}]}]}');
});

test('probe and internal lines are one JSON object each, ending in a newline', () => {
  const line = jsonProbeLine({ id: 7, provider: 'syscall', module: 'vmlinux', function: 'read', name: 'entry' }, 0, [{ value: 1n }]);
  assert.ok(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'));
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual([o['cpu'], o['id'], o['provider'], o['function'], o['name'], o['output']], [0, 7, 'syscall', 'read', 'entry', [{ value: 1 }]]);
  const drop = JSON.parse(jsonInternalLine('DROP', '3 dynamic variable drops\n', { count: 3n })) as Record<string, unknown>;
  assert.deepEqual([drop['id'], drop['name'], drop['count'], drop['msg']], [-1, 'DROP', 3, '3 dynamic variable drops\n']);
});

test('jsValue and aggregationEntries: numbers up to 32 bits, bigints at 64, buckets with bounds', () => {
  assert.equal(jsValue({ kind: 'int', value: 7n, sizeBytes: 4, signed: true }), 7);
  assert.equal(jsValue({ kind: 'int', value: 7n, sizeBytes: 8, signed: true }), 7n);
  assert.deepEqual(jsValue({ kind: 'stack', frames: ['a`b+0x1'] }), ['a`b+0x1']);
  assert.deepEqual(aggregationEntries(counts), [{ name: 'c', keys: ['sh'], value: 12n }]);
  assert.deepEqual(aggregationEntries(hist)[0]!.value, [{ lower: 0n, upper: 0n, count: 1n }, { lower: 4n, upper: 7n, count: 4n }]);
});
