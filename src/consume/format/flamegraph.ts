/**
 * @fileoverview Stack aggregations as flame graphs: the folded text that Brendan Gregg's
 * `flamegraph.pl` and speedscope read (`-x oformat=folded`), and a self-contained interactive
 * SVG (`-x flamegraph=FILE.svg`) laid out as flamegraph.pl lays it out: the root at the bottom,
 * each frame as wide as the samples under it, siblings in alphabetical order so the same
 * stacks always give the same picture. The SVG carries its own script (hover for counts, click
 * to zoom, Ctrl-F/“Search” to highlight by regular expression, Esc to reset) and loads nothing
 * from the network.
 */

/** One stack of an aggregation and its value; `frames` run from the root (outermost) to the leaf. */
export interface FoldedStack {
  frames: readonly string[];
  count: number;
}

/**
 * Turns a `stack()`/`ustack()` key (frames leaf first, as DTrace records and prints them) into
 * root-first frames with the `+0x…` offsets dropped, so that samples at different
 * instructions of one function add up, as stackcollapse.pl does.
 */
export function foldFrames(leafFirst: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = leafFirst.length - 1; i >= 0; i--) {
    const f = leafFirst[i]!.trim();
    if (f !== '') out.push(f.replace(/\+0x[0-9a-f]+$/, ''));
  }
  return out;
}

/**
 * The folded text: one line per distinct stack, `root;…;leaf count`, sorted. Semicolons inside
 * a frame (C++ templates, JS closures) would split it, so they become `:`.
 */
export function formatFolded(stacks: readonly FoldedStack[]): string {
  const merged = new Map<string, number>();
  for (const s of stacks) {
    if (s.count <= 0 || s.frames.length === 0) continue;
    const line = s.frames.map((f) => f.replace(/;/g, ':').replace(/\s+/g, '_')).join(';');
    merged.set(line, (merged.get(line) ?? 0) + s.count);
  }
  return [...merged].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([l, n]) => `${l} ${n}\n`).join('');
}

interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
}

function buildTree(stacks: readonly FoldedStack[]): Node {
  const root: Node = { name: 'all', value: 0, children: new Map() };
  for (const s of stacks) {
    if (s.count <= 0) continue;
    root.value += s.count;
    let n = root;
    for (const f of s.frames) {
      let c = n.children.get(f);
      if (!c) { c = { name: f, value: 0, children: new Map() }; n.children.set(f, c); }
      c.value += s.count;
      n = c;
    }
  }
  return root;
}

export interface FlameGraphOptions {
  title?: string;
  /** Unit of the values in hover texts, e.g. "samples". */
  unit?: string;
  width?: number;
}

const FRAME_HEIGHT = 16;
const FONT_SIZE = 12;
const CHAR_WIDTH = FONT_SIZE * 0.59;
const PAD_TOP = 48;
const PAD_BOTTOM = 34;
const PAD_SIDE = 10;
/** Frames narrower than this many pixels are not drawn (flamegraph.pl's minwidth). */
const MIN_WIDTH = 0.1;

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
    // XML 1.0 forbids most control characters even as references.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?');
}

/** flamegraph.pl's "hot" palette, chosen by a hash of the name so a function keeps its colour. */
function colour(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  const v1 = (h & 0xff) / 255;
  const v2 = ((h >>> 8) & 0xff) / 255;
  const v3 = ((h >>> 16) & 0xff) / 255;
  return `rgb(${205 + Math.round(50 * v3)},${Math.round(230 * v1)},${Math.round(55 * v2)})`;
}

function fitText(name: string, width: number): string {
  const chars = Math.floor((width - 6) / CHAR_WIDTH);
  if (chars < 3) return '';
  return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
}

/** The interactive SVG of `stacks`. */
export function renderFlameGraph(stacks: readonly FoldedStack[], options: FlameGraphOptions = {}): string {
  const width = options.width ?? 1200;
  const unit = options.unit ?? 'samples';
  const root = buildTree(stacks);
  const total = root.value;
  const plotWidth = width - 2 * PAD_SIDE;
  const scale = total > 0 ? plotWidth / total : 0;

  // Depth first, children alphabetically; each frame records its place in sample units so the
  // script can re-lay it out when zooming.
  const frames: string[] = [];
  let maxDepth = 0;
  const visit = (n: Node, depth: number, start: number): void => {
    const w = n.value * scale;
    if (w < MIN_WIDTH) return;
    maxDepth = Math.max(maxDepth, depth);
    frames.push(frameSvg(n, depth, start, total, unit, scale));
    let at = start;
    for (const c of [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      visit(c, depth + 1, at);
      at += c.value;
    }
  };
  if (total > 0) visit(root, 0, 0);
  const height = PAD_TOP + (maxDepth + 1) * FRAME_HEIGHT + PAD_BOTTOM;
  // y of depth d, from the bottom: the script needs the same formula.
  const body = frames.map((f) => f.replace(/__Y__\((\d+)\)/g, (_, d) => String(yOf(Number(d), height)))).join('\n');
  const title = escapeXml(options.title ?? 'Flame Graph');
  return `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg" data-total="${total}" data-unit="${escapeXml(unit)}">
<style>
text { font-family: Verdana, sans-serif; font-size: ${FONT_SIZE}px; fill: #000; }
#title { font-size: 17px; text-anchor: middle; }
.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }
.f text { pointer-events: none; }
.hidden { display: none; }
#details, #matched { font-size: 12px; }
#reset, #search { cursor: pointer; }
</style>
<rect x="0" y="0" width="${width}" height="${height}" fill="#f8f8f0"/>
<text id="title" x="${width / 2}" y="24">${title}</text>
<text id="reset" x="${PAD_SIDE}" y="24" class="hidden">Reset Zoom</text>
<text id="search" x="${width - PAD_SIDE - 60}" y="24">Search</text>
<text id="details" x="${PAD_SIDE}" y="${height - 12}"> </text>
<text id="matched" x="${width - PAD_SIDE - 160}" y="${height - 12}"> </text>
<g id="frames">
${body}
</g>
<script type="text/ecmascript"><![CDATA[
${SCRIPT.replace('__WIDTH__', String(plotWidth)).replace('__SIDE__', String(PAD_SIDE))}
]]></script>
</svg>
`;
}

function yOf(depth: number, height: number): number {
  return height - PAD_BOTTOM - (depth + 1) * FRAME_HEIGHT;
}

function frameSvg(n: Node, depth: number, start: number, total: number, unit: string, scale: number): string {
  const x = PAD_SIDE + start * scale;
  const w = n.value * scale;
  const pct = total > 0 ? ((100 * n.value) / total).toFixed(2) : '0';
  const name = escapeXml(n.name);
  return `<g class="f" data-s="${start}" data-v="${n.value}" data-d="${depth}"><title>${name} (${n.value.toLocaleString('en-US')} ${escapeXml(unit)}, ${pct}%)</title>` +
    `<rect x="${x.toFixed(2)}" y="__Y__(${depth})" width="${w.toFixed(2)}" height="${FRAME_HEIGHT - 1}" rx="2" fill="${colour(n.name)}"/>` +
    `<text x="${(x + 3).toFixed(2)}" y="__Y__(${depth})" dy="${FRAME_HEIGHT - 4}" data-name="${name}">${escapeXml(fitText(n.name, w))}</text></g>`;
}

/**
 * The SVG's own script (plain ES5-era DOM calls so any browser runs it). A zoom on a frame
 * stretches its span [s, s+v) to the whole width; frames outside it, and those above it that
 * are not its descendants, are hidden; its ancestors stay, full width, shaded.
 */
const SCRIPT = String.raw`
(function () {
  var W = __WIDTH__, SIDE = __SIDE__, CHAR = ${CHAR_WIDTH};
  var svg = document.documentElement;
  var total = Number(svg.getAttribute('data-total'));
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var matched = document.getElementById('matched');
  var reset = document.getElementById('reset');
  var search = document.getElementById('search');
  function num(g, k) { return Number(g.getAttribute('data-' + k)); }
  function fit(t, w) {
    var name = t.getAttribute('data-name');
    var n = Math.floor((w - 6) / CHAR);
    t.textContent = n < 3 ? '' : (name.length <= n ? name : name.slice(0, n - 2) + '..');
  }
  function layout(s0, v0, d0) {
    var k = W / v0;
    frames.forEach(function (g) {
      var s = num(g, 's'), v = num(g, 'v'), d = num(g, 'd');
      var inside = s >= s0 && s + v <= s0 + v0 && d >= d0;
      var ancestor = d < d0 && s <= s0 && s + v >= s0 + v0;
      var r = g.querySelector('rect'), t = g.querySelector('text');
      if (!inside && !ancestor) { g.classList.add('hidden'); return; }
      g.classList.remove('hidden');
      var x = ancestor ? SIDE : SIDE + (s - s0) * k, w = ancestor ? W : v * k;
      r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', w.toFixed(2));
      r.setAttribute('fill-opacity', ancestor && d0 > 0 ? '0.5' : '1');
      t.setAttribute('x', (x + 3).toFixed(2)); fit(t, w);
    });
  }
  function zoom(g) {
    layout(num(g, 's'), num(g, 'v'), num(g, 'd'));
    reset.classList.remove('hidden');
  }
  function unzoom() { layout(0, total, 0); reset.classList.add('hidden'); }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', unzoom);
  function find(re) {
    var spans = [];
    frames.forEach(function (g) {
      var r = g.querySelector('rect');
      var hit = re !== null && re.test(g.querySelector('text').getAttribute('data-name'));
      if (!r.hasAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
      r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
      if (hit) spans.push([num(g, 's'), num(g, 's') + num(g, 'v')]);
    });
    // Matched share: the union of matching spans, so nested matches are not counted twice.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var covered = 0, end = -1;
    spans.forEach(function (sp) {
      if (sp[0] >= end) { covered += sp[1] - sp[0]; end = sp[1]; }
      else if (sp[1] > end) { covered += sp[1] - end; end = sp[1]; }
    });
    matched.textContent = re === null ? ' ' : 'Matched: ' + (total ? (100 * covered / total).toFixed(1) : '0') + '%';
    return covered;
  }
  function ask() {
    var term = window.prompt('Search for (regular expression):', '');
    if (term === null || term === '') { find(null); return; }
    try { find(new RegExp(term)); } catch (e) { matched.textContent = 'bad expression'; }
  }
  search.addEventListener('click', ask);
  window.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { unzoom(); find(null); }
    else if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); ask(); }
  });
  window.flamegraph = { zoom: function (name) {
    var g = frames.filter(function (f) { return f.querySelector('text').getAttribute('data-name') === name; })[0];
    if (g) zoom(g); return !!g;
  }, unzoom: unzoom, search: function (re) { return find(re === null ? null : new RegExp(re)); } };
})();
`;
