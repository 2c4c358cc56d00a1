import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldFrames, formatFolded, renderFlameGraph } from './flamegraph.js';

test('foldFrames: leaf-first DTrace frames become root-first, offsets dropped', () => {
  assert.deepEqual(foldFrames(['libc.so.6`write+0x14', 'a.out`emit+0x2a', 'a.out`main+0x9', '']), ['a.out`main', 'a.out`emit', 'libc.so.6`write']);
});

test('formatFolded merges equal stacks, sorts, and keeps frames whole', () => {
  const text = formatFolded([
    { frames: ['main', 'b'], count: 2 },
    { frames: ['main', 'a;x'], count: 1 },
    { frames: ['main', 'b'], count: 3 },
    { frames: ['main', 'zero'], count: 0 },
  ]);
  assert.equal(text, 'main;a:x 1\nmain;b 5\n');
});

function rectOf(svg: string, name: string): { x: number; width: number; title: string } {
  const re = new RegExp(`<g class="f"[^>]*><title>(${name} \\([^<]*)</title><rect x="([\\d.]+)" y="\\d+" width="([\\d.]+)"`);
  const m = re.exec(svg);
  assert.ok(m, `no frame ${name}`);
  return { title: m[1]!, x: Number(m[2]), width: Number(m[3]) };
}

test('renderFlameGraph: widths proportional to samples, siblings alphabetical, counts in titles', () => {
  const svg = renderFlameGraph([
    { frames: ['main', 'hot'], count: 90 },
    { frames: ['main', 'cold'], count: 10 },
  ], { width: 1020, title: 'CPU <profile>' });
  const main = rectOf(svg, 'main');
  const hot = rectOf(svg, 'hot');
  const cold = rectOf(svg, 'cold');
  assert.equal(main.width, 1000);
  assert.equal(hot.width, 900);
  assert.equal(cold.width, 100);
  assert.ok(cold.x < hot.x, 'cold sorts before hot');
  assert.equal(hot.title, 'hot (90 samples, 90.00%)');
  assert.match(svg, /<text id="title"[^>]*>CPU &#60;profile&#62;<\/text>/);
  assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org)/, 'no network reference');
});

test('renderFlameGraph escapes any frame name and survives an empty input', () => {
  const svg = renderFlameGraph([{ frames: ['a<b>&"c\'', '\u0001ctl'], count: 1 }]);
  assert.match(svg, /a&#60;b&#62;&#38;&#34;c&#39; \(1 samples/);
  assert.doesNotMatch(svg, /\u0001/);
  const empty = renderFlameGraph([]);
  assert.match(empty, /<g id="frames">\s*<\/g>/);
});
