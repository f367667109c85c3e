/**
 * What the pin checks cost reclaim: `default` (10 s simulated; reclaim swaps out ~115,000 of the
 * app's pages, nothing pins) under pins none/none — the hooks return at once — and under
 * bias/mainline, where every folio reclaim decides on asks folio_maybe_dma_pinned before
 * add_to_swap, before try_to_unmap (exclusive anon) and after the unmap. Same results (a test
 * asserts it); the ratio of the medians in one tinybench run is the figure. Then
 * gup-writeback-bug, where 4,096 pinned pages meet reclaim, under none/none and sticky-flag/unmap
 * (the checks now skip pages), for what the skips cost next to what they save.
 */
import { Bench } from 'tinybench';
import { loadScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/engine/engine.js';
import { addScenarioTask, medianWall, fmtSeconds, slowBenchOptions, type BenchMode, type Row } from './measure.js';

export async function benchPins(mode: BenchMode) {
  const plain = loadScenario('default', ['pins.track=none', 'pins.action=none']);
  const checked = loadScenario('default', ['pins.track=bias', 'pins.action=mainline']);
  const pre = loadScenario('gup-writeback-bug', ['pins.track=none', 'pins.action=none']);
  const patch = loadScenario('gup-writeback-bug', ['pins.track=sticky-flag', 'pins.action=unmap']);
  // a warm-up run of each first (the host's first touch of fresh memory is kernel time)
  for (const s of [plain, checked, pre, patch]) runScenario(s);
  const bench = new Bench(slowBenchOptions(mode.quick ? 1 : 3));
  const without = addScenarioTask(bench, 'default, pins none/none', plain);
  const withChecks = addScenarioTask(bench, 'default, pins bias/mainline (checks, nothing pinned)', checked);
  const preRuns = addScenarioTask(bench, 'gup-writeback-bug, none/none', pre);
  const patchRuns = addScenarioTask(bench, 'gup-writeback-bug, sticky-flag/unmap', patch);
  await bench.run();
  for (const t of bench.tasks) {
    if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state === 'errored' ? t.result.error.message : t.result.state}`);
  }
  const c = withChecks[0]!.counters;
  const w0 = medianWall(without); const w1 = medianWall(withChecks);
  const g0 = medianWall(preRuns); const g1 = medianWall(patchRuns);
  const figures = {
    runs: without.length,
    pgscan: (c['pgscan_kswapd'] ?? 0) + (c['pgscan_direct'] ?? 0),
    sameReclaim: without[0]!.counters['pswpout'] === c['pswpout'] && without[0]!.counters['pgscan_kswapd'] === c['pgscan_kswapd'],
    wallSecondsWithout: w0, wallSecondsWith: w1, ratio: w1 / w0,
    gupWallNone: g0, gupWallStickyUnmap: g1, gupRatio: g1 / g0,
    gupSkips: patchRuns[0]!.counters['mmsim_unmap_skipped_pinned'],
  };
  const rows: Row[] = [
    { figure: 'pin checks in reclaim, default wall', value: `${figures.ratio.toFixed(3)}×`, note: `${fmtSeconds(w1)} bias/mainline / ${fmtSeconds(w0)} none/none, ${figures.pgscan} pages scanned, same reclaim: ${figures.sameReclaim}` },
    { figure: 'pin checks skipping, gup-writeback-bug wall', value: `${figures.gupRatio.toFixed(3)}×`, note: `${fmtSeconds(g1)} sticky-flag/unmap (${figures.gupSkips} unmaps skipped) / ${fmtSeconds(g0)} none/none` },
  ];
  return { figures, rows, tinybench: bench.table() };
}
