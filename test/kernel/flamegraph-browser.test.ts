/**
 * @fileoverview `-x flamegraph=FILE.svg` end to end: a profile of a CPU-bound C workload
 * (test/workloads/cpu_hot.c: ~90 % of its time in hot_spin) keyed by ustack() gives an SVG in
 * which hot_spin is the widest frame of the workload's own functions; opened in headless
 * Chromium (Debian's chromium, driven over the DevTools protocol), hovering hot_spin shows its
 * sample count and clicking it zooms it to the full width. Needs root and chromium.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, buildWorkload } from '../helpers/workloads.js';
import { Browser, findChromium } from '../helpers/cdp-pipe.js';

const cli = join(repoRoot(), 'dist', 'cli.js');
const chromium = findChromium();
const skip = process.getuid?.() !== 0 ? 'needs root to load BPF programs' : false;

/** Frames of the SVG: name, sample count, width. */
function frames(svg: string): { name: string; samples: number; width: number }[] {
  const out: { name: string; samples: number; width: number }[] = [];
  const re = /<g class="f" data-s="[\d.]+" data-v="(\d+)" data-d="\d+"><title>([^<]*) \([\d,]+ samples[^<]*<\/title><rect x="[\d.]+" y="\d+" width="([\d.]+)"/g;
  for (let m = re.exec(svg); m; m = re.exec(svg)) out.push({ name: m[2]!, samples: Number(m[1]), width: Number(m[3]) });
  return out;
}

test('flamegraph: the hot function of a profiled workload is its widest frame; hover shows counts, click zooms (Chromium)', { skip, timeout: 300_000 }, async (t) => {
  const bin = buildWorkload('cpu_hot');
  const dir = mkdtempSync(join(tmpdir(), 'dtrace-ts-flame-'));
  try {
    const svgPath = join(dir, 'out.svg');
    const r = spawnSync(process.execPath, [cli, '-q', '-x', `flamegraph=${svgPath}`, '-n', 'profile-997 /pid == $target/ { @[ustack()] = count(); }', '-c', `${bin} 40`], { encoding: 'latin1', timeout: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    const svg = readFileSync(svgPath, 'utf8');
    const all = frames(svg);
    const own = all.filter((f) => f.name.startsWith('cpu_hot`') && f.name !== 'cpu_hot`main');
    const hot = own.find((f) => f.name === 'cpu_hot`hot_spin');
    assert.ok(hot, `no hot_spin frame among ${all.map((f) => f.name).join(', ')}`);
    const widest = own.reduce((a, b) => (b.width > a.width ? b : a));
    assert.equal(widest.name, 'cpu_hot`hot_spin', `widest own frame is ${widest.name}`);
    const cold = own.find((f) => f.name === 'cpu_hot`cold_spin');
    if (cold) assert.ok(hot.samples > 3 * cold.samples, `hot ${hot.samples} vs cold ${cold.samples} samples`);
    assert.doesNotMatch(svg, /(?:href|src)\s*=\s*["']https?:/, 'the SVG loads nothing from the network');

    if (!chromium) { t.skip('chromium is not installed (scripts/ci-setup.sh installs it)'); return; }
    const browser = Browser.launch(chromium);
    try {
      const page = await browser.open(`file://${svgPath}`);
      // The page navigates from about:blank to the file: poll until the SVG's script has run.
      for (let i = 0; ; i++) {
        const ready = await browser.evaluate<boolean>(page, `location.protocol === 'file:' && document.readyState === 'complete' && !!window.flamegraph`).catch(() => false);
        if (ready) break;
        assert.ok(i < 200, 'the SVG did not load in Chromium');
        await new Promise((r) => setTimeout(r, 100));
      }
      const box = () => browser.evaluate<{ x: number; y: number; width: number }>(page, `(() => {
        const g = [...document.querySelectorAll('g.f')].find((g) => g.querySelector('text').getAttribute('data-name') === 'cpu_hot\`hot_spin');
        const r = g.querySelector('rect').getBoundingClientRect();
        return { x: r.x + Math.min(r.width / 2, 20), y: r.y + r.height / 2, width: r.width };
      })()`);
      const before = await box();
      await browser.mouse(page, 'mouseMoved', before.x, before.y);
      const details = await browser.evaluate<string>(page, `document.getElementById('details').textContent`);
      assert.equal(details, `cpu_hot\`hot_spin (${hot.samples.toLocaleString('en-US')} samples, ${(100 * hot.samples / frames(svg)[0]!.samples).toFixed(2)}%)`);
      await browser.mouse(page, 'mousePressed', before.x, before.y);
      await browser.mouse(page, 'mouseReleased', before.x, before.y);
      const after = await box();
      const plotWidth = await browser.evaluate<number>(page, `Number(document.documentElement.getAttribute('width')) - 20`);
      assert.ok(before.width < plotWidth - 1, `hot_spin already full width before the click (${before.width})`);
      assert.ok(Math.abs(after.width - plotWidth) < 1, `after the click hot_spin is ${after.width} wide, not ${plotWidth}`);
      assert.equal(await browser.evaluate<boolean>(page, `!document.getElementById('reset').classList.contains('hidden')`), true, 'Reset Zoom shows');
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
