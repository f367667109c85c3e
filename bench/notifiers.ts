/**
 * What MMU notifier bracketing costs the reclaim path: `default` (10 s simulated; reclaim swaps
 * out ~115,000 of the app's pages) as it is, and with the app's mm subscribed by a kvm-like and
 * a generic driver that takes a lock nobody else holds — so every try_to_unmap_one, every
 * wp_page_copy starts and ends a range through both, with the driver's lock taken and dropped.
 * Both variants run in one tinybench run after a warm-up run of each: the ratio is the figure,
 * and the extra wall time per range gives its cost in ns.
 */
import { Bench } from 'tinybench';
import { loadScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/engine/engine.js';
import type { Scenario } from '../src/scenario/types.js';
import { addScenarioTask, medianWall, fmtSeconds, slowBenchOptions, type BenchMode, type Row } from './measure.js';

function withSubscribers(s: Scenario): Scenario {
  const copy: Scenario = structuredClone(s);
  copy.locks = { ...copy.locks, drv: { kind: 'mutex' } };
  copy.processes['app']!.subscribers = {
    kvm: { client: 'kvm', implementsEnd: true, busy: 0, lock: '', holdUntilEnd: false, latency: 0, place: -1, registered: true, rangeCheck: true, deviceMemory: 0 },
    drv: { client: 'generic', implementsEnd: true, busy: 0, lock: 'drv', holdUntilEnd: true, latency: 0, place: -1, registered: true, rangeCheck: true, deviceMemory: 0 },
  };
  return copy;
}

export async function benchNotifiers(mode: BenchMode) {
  const plain = loadScenario('default');
  const subscribed = withSubscribers(plain);
  // one warm-up run of each first: the first runs of a process pay the host's first touch of
  // fresh memory (kernel time), which would otherwise all fall on whichever variant runs first
  runScenario(plain); runScenario(subscribed);
  const bench = new Bench(slowBenchOptions(mode.quick ? 1 : 3));
  const without = addScenarioTask(bench, 'default, no subscribers', plain);
  const withSubs = addScenarioTask(bench, 'default, kvm + a locking driver on the app', subscribed);
  await bench.run();
  for (const t of bench.tasks) {
    if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state === 'errored' ? t.result.error.message : t.result.state}`);
  }
  const c = withSubs[0]!.counters;
  const ranges = c['mmsim_notifier_invalidations'] ?? 0;
  const w0 = medianWall(without); const w1 = medianWall(withSubs);
  const figures = {
    runs: without.length,
    ranges, unmapped: c['mmsim_unmapped_ptes'], pswpout: c['pswpout'],
    sameReclaim: without[0]!.counters['pswpout'] === c['pswpout'],
    wallSecondsWithout: w0, wallSecondsWith: w1,
    ratio: w1 / w0,
    nsPerRange: ranges > 0 ? ((w1 - w0) * 1e9) / ranges : 0,
  };
  const rows: Row[] = [
    { figure: 'notifier bracketing, default wall', value: `${figures.ratio.toFixed(3)}×`, note: `${fmtSeconds(w1)} with 2 subscribers / ${fmtSeconds(w0)} without, medians of ${figures.runs}` },
    { figure: 'notifier bracketing, per range', value: `${figures.nsPerRange.toFixed(0)} ns`, note: `${ranges} ranges (try_to_unmap_one, wp_page_copy), same reclaim: ${figures.sameReclaim}` },
  ];
  return { figures, rows, tinybench: bench.table() };
}
