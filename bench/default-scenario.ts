/**
 * The `default` built-in as `mmsim run default` runs it: 10 s simulated of an app that does not
 * fit next to a streaming reader, so reclaim, swap and the page cache all work. Its
 * mmsim_accesses include the reader's read() pages.
 */
import { Bench } from 'tinybench';
import { loadScenario } from '../src/scenario/load.js';
import { addScenarioTask, accessRate, fmtRate, fmtSeconds, medianWall, slowBenchOptions, type BenchMode, type Row } from './measure.js';

export async function benchDefault(mode: BenchMode) {
  const bench = new Bench(slowBenchOptions(mode.quick ? 1 : 3));
  const runs = addScenarioTask(bench, 'wasm default', loadScenario('default'));
  await bench.run();
  const task = bench.tasks[0]!;
  if (task.result.state !== 'completed') throw new Error(`default: ${task.result.state === 'errored' ? task.result.error.message : task.result.state}`);
  const c = runs[0]!.counters;
  const figures = {
    runs: runs.length,
    simulatedSeconds: runs[0]!.simulatedSeconds,
    accesses: c['mmsim_accesses'], residentHits: c['mmsim_resident_hits'], pgfault: c['pgfault'],
    pswpout: c['pswpout'], pswpin: c['pswpin'],
    wallSecondsMedian: medianWall(runs),
    accessesPerSecond: accessRate(runs),
  };
  const rows: Row[] = [
    { figure: 'default scenario, wall', value: fmtSeconds(figures.wallSecondsMedian), note: `median of ${figures.runs}, ${figures.simulatedSeconds} s simulated` },
    { figure: 'default scenario, accesses', value: fmtRate(figures.accessesPerSecond), note: `${figures.accesses} accesses, ${figures.pgfault} faults` },
  ];
  return { figures, rows, tinybench: bench.table() };
}
