/**
 * pinned-dirty-limit (seed-scenarios §3): long-term write pins hold dirty pages that writeback
 * skips (pins.action per-caller, unmap+mkclean) against the dirty limits. The outcome table
 * through `mmsim compare`: above the threshold the writer is throttled and stops while the
 * flusher's passes write nothing, below it the writer finishes; mainline refuses the pin (v6.5),
 * and its writeback before v6.5 (bias/none: folio_mkclean ignores pins) cleans the pages under
 * the device (mmsim_dma_write_after_clean); pins.dirtyAccounting exclude and pins.limit keep the
 * writer going. Also: the flusher neither spins nor stops for good; exclude keeps nr_dirty
 * honest; exclude with track none is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../src/cli.js';
import { runScenario } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/load.js';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''; let stderr = '';
  const code = await main(['node', 'mmsim', ...args], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: false });
  return { code, stdout, stderr };
}

interface JsonCompare { columns: { label: string; point: Record<string, string> }[]; rows: { figure: string; columns: { values: (number | null)[] }[] }[] }

/** `mmsim compare pinned-dirty-limit` with `axes`: a lookup (figure, point) → the value of seed 1. */
async function compare(axes: string[]): Promise<(figure: string, point: Record<string, string>) => number> {
  const r = await cli('compare', 'pinned-dirty-limit', ...axes.flatMap((a) => ['--axis', a]), '--format', 'json', '-j', '2', '--quiet');
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as JsonCompare;
  return (figure, point) => {
    const col = json.columns.findIndex((c) => Object.entries(point).every(([k, v]) => c.point[k] === v));
    assert.ok(col >= 0, `no column ${JSON.stringify(point)}`);
    const row = json.rows.find((x) => x.figure === figure);
    assert.ok(row, `no row ${figure}`);
    return row.columns[col]!.values[0] ?? NaN;
  };
}

const LENGTH = 'processes.rdma.workload.0.length';
/** The writer's whole log: 256 MiB. */
const LOG_PAGES = 65536;

describe('pinned-dirty-limit: the outcome table (seed-scenarios §3)', async () => {
  // the pin above the threshold (28 MiB, the default; the threshold is ~25 MiB) and well below it (8 MiB)
  const sweep = await compare([`${LENGTH}=8MiB,28MiB`, 'pins.action=per-caller,unmap+mkclean']);
  const POLICY = 'pins.track:pins.action:pins.dirtyAccounting:pins.limit';
  const byPolicy = await compare([`${POLICY}=bias:mainline:count:0,bias:none:count:0,bias:per-caller:exclude:0,bias:per-caller:count:16MiB`]);
  const policy = (figure: string, tuple: string): number => byPolicy(figure, { [POLICY]: tuple });

  it('per-caller and unmap+mkclean above the threshold: the writer is throttled and stops; the flusher makes passes without progress', () => {
    for (const action of ['per-caller', 'unmap+mkclean']) {
      const at = { [LENGTH]: '28MiB', 'pins.action': action };
      assert.ok(sweep('mmsim_dirty_throttle_ns', at) > 8e9, `${action}: throttled ${sweep('mmsim_dirty_throttle_ns', at)} ns`);
      assert.ok(sweep('mmsim_write_pages', at) < LOG_PAGES / 100, `${action}: the writer wrote ${sweep('mmsim_write_pages', at)} pages`);
      assert.ok(sweep('mmsim_last_write_ns', at) < 1.5e9, `${action}: its last write at ${sweep('mmsim_last_write_ns', at)} ns: it started at 1 s, the run lasts 5 s`);
      assert.ok(sweep('mmsim_writeback_passes_no_progress', at) > 100, `${action}: ${sweep('mmsim_writeback_passes_no_progress', at)} passes`);
      assert.ok(sweep('mmsim_writeback_skipped_pinned', at) > 0, action);
      assert.equal(sweep('mmsim_dma_write_after_clean', at), 0, `${action}: nothing cleaned under the device`);
    }
  });

  it('below the threshold the writer progresses: its whole log written in about the time the disk takes', () => {
    for (const action of ['per-caller', 'unmap+mkclean']) {
      const at = { [LENGTH]: '8MiB', 'pins.action': action };
      assert.equal(sweep('mmsim_write_pages', at), LOG_PAGES, action);
      assert.ok(sweep('mmsim_last_write_ns', at) < 3e9, `${action}: done at ${sweep('mmsim_last_write_ns', at)} ns`);
      assert.ok(sweep('mmsim_dirty_throttle_ns', at) < 2e9, action);
    }
  });

  it('mainline refuses the long-term write pin of the shared file (v6.5): no stall, and no DMA to show its price', () => {
    const at = 'bias:mainline:count:0';
    assert.equal(policy('mmsim_pin_refused', at), 1);
    assert.equal(policy('mmsim_gup_pages', at), 0);
    assert.equal(policy('mmsim_write_pages', at), LOG_PAGES);
    assert.equal(policy('mmsim_writeback_passes_no_progress', at), 0);
    assert.equal(policy('mmsim_dma_write_after_clean', at), 0);
  });

  it('mainline writeback before v6.5 (bias/none: folio_mkclean ignores pins): no stall; the pages are cleaned and written by DMA unseen', () => {
    const at = 'bias:none:count:0';
    assert.equal(policy('mmsim_pin_refused', at), 0);
    assert.equal(policy('mmsim_gup_pages', at), 28 * 256);
    assert.equal(policy('mmsim_write_pages', at), LOG_PAGES);
    assert.equal(policy('mmsim_writeback_passes_no_progress', at), 0);
    assert.equal(policy('mmsim_dma_write_after_clean', at), 28 * 256, 'every pinned page');
  });

  it('pins.dirtyAccounting exclude (Hubbard\'s "ignore this region"): writeback still skips the pinned pages, the writer is not held by them', () => {
    const at = 'bias:per-caller:exclude:0';
    assert.equal(policy('mmsim_gup_pages', at), 28 * 256, 'the registration completes');
    assert.ok(policy('mmsim_writeback_skipped_pinned', at) > 0);
    assert.equal(policy('mmsim_write_pages', at), LOG_PAGES);
    assert.ok(policy('mmsim_last_write_ns', at) < 3e9);
    assert.equal(policy('mmsim_writeback_passes_no_progress', at), 0);
    assert.equal(policy('mmsim_dma_write_after_clean', at), 0);
    assert.ok(policy('mmsim_peak_dirty', at) > 28 * 256, 'nr_dirty counts the pinned pages all the same');
  });

  it('pins.limit below the pinned amount: the registration is refused (-ENOMEM), no stall', () => {
    const at = 'bias:per-caller:count:16MiB';
    assert.equal(policy('mmsim_pin_refused', at), 1);
    assert.equal(policy('mmsim_write_pages', at), LOG_PAGES);
    assert.equal(policy('mmsim_writeback_passes_no_progress', at), 0);
  });
});

describe('pinned-dirty-limit: the mechanisms', () => {
  it('the flusher does not spin: a pass without progress ends the work until the next wake-up (a writer\'s balance_dirty_pages, the periodic one)', () => {
    const c = runScenario(loadScenario('pinned-dirty-limit', [])).counters;
    assert.ok(c['mmsim_writeback_passes_no_progress']! > 0);
    assert.ok(c['mmsim_writeback_passes_no_progress']! <= c['mmsim_bdp_calls']! + 10, `${c['mmsim_writeback_passes_no_progress']} passes, ${c['mmsim_bdp_calls']} balance_dirty_pages calls`);
  });

  it('nor does it stop for good: once the pin ends, the pages it held are written down to the background threshold', () => {
    const c = runScenario(loadScenario('pinned-dirty-limit', [`${LENGTH}=24MiB`, 'duration=12s'])).counters;
    assert.equal(c['mmsim_write_pages'], LOG_PAGES);
    assert.ok(c['mmsim_writeback_passes_no_progress']! > 100, 'pinned-dirty above the background threshold while the writer runs');
    // the rest waits for kupdate (dirty_expire_centisecs, 30 s), as in the kernel
    const bg = c['nr_dirty_background_threshold']!;
    assert.ok(c['nr_dirty']! <= bg, `${c['nr_dirty']} dirty at the end, background threshold ${bg}`);
    assert.ok(c['nr_written']! >= LOG_PAGES + 24 * 256 - bg, String(c['nr_written']));
  });

  it('exclude keeps nr_dirty honest: the pinned dirty pages are counted in nr_dirty and in mmsim_nr_dirty_pinned_excluded while pinned', () => {
    const live = runScenario(loadScenario('pinned-dirty-limit', ['pins.dirtyAccounting=exclude', 'duration=3s'])).counters;
    assert.equal(live['mmsim_nr_dirty_pinned_excluded'], 28 * 256);
    assert.ok(live['nr_dirty']! >= 28 * 256);
    const after = runScenario(loadScenario('pinned-dirty-limit', ['pins.dirtyAccounting=exclude'])).counters;
    assert.equal(after['mmsim_nr_dirty_pinned_excluded'], 0, 'unpinned at 4.5 s: still dirty, counted again');
  });

  it('exclude with track none is refused: no pin is recognised (exit 2)', async () => {
    const r = await cli('run', 'pinned-dirty-limit', '--set', 'pins.track=none', '--set', 'pins.action=none', '--set', 'pins.dirtyAccounting=exclude', '--out', '/nonexistent/x');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pins\.dirtyAccounting: exclude leaves dirty pages believed pinned out of the dirty figures, but track none recognises no pin .*e\.g\. track: bias, or dirtyAccounting: count/);
    const bad = await cli('run', 'pinned-dirty-limit', '--set', 'pins.dirtyAccounting=ignore', '--out', '/nonexistent/x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /pins\.dirtyAccounting: "ignore" is not one of count, exclude/);
  });
});
