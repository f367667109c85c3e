/**
 * Resident hits: bench/scenarios/resident.yaml populates a 512MiB VMA on a 2GiB machine, so
 * every one of the 50M accesses hits a present PTE. Measured: the WASM core end to end (init,
 * 131,072 populate faults and collecting results included, as `mmsim run` reports it), the same
 * with one access (the fixed cost, to get the core's hot-loop rate by difference), the zipf(0.9)
 * variant, and the plain-TypeScript loop of resident-loop-ts.ts over the same tables.
 */
import { Bench } from 'tinybench';
import { loadScenario } from '../src/scenario/load.js';
import type { RunResult } from '../src/report/result.js';
import {
  addScenarioTask, accessRate, benchPath, fmtRate, fmtSeconds, medianWall, secondsSince,
  slowBenchOptions, type BenchMode, type Row,
} from './measure.js';
import { populateTables, runResidentLoop, VMA_START_VPN } from './resident-loop-ts.js';

const ACCESSES = 50_000_000;
const WRITE_FRACTION = 0.25;

function residentScenario(...overrides: string[]) {
  return loadScenario(benchPath('scenarios', 'resident.yaml'), [
    `processes.bench.workload.0.accesses=${ACCESSES}`, ...overrides]);
}

/** Every access must have been a resident hit, or the suite measures something else. */
function checkAllHits(name: string, runs: readonly RunResult[]): void {
  for (const r of runs) {
    const c = r.counters;
    if (c['mmsim_resident_hits'] !== c['mmsim_accesses']) {
      throw new Error(`${name}: ${c['mmsim_accesses']} accesses but ${c['mmsim_resident_hits']} resident hits`);
    }
  }
}

function runFigures(runs: readonly RunResult[]) {
  const c = runs[0]!.counters;
  return {
    runs: runs.length,
    accesses: c['mmsim_accesses'],
    residentHits: c['mmsim_resident_hits'],
    pgfault: c['pgfault'],
    wallSecondsMedian: medianWall(runs),
    accessesPerSecond: accessRate(runs),
  };
}

export async function benchResident(mode: BenchMode) {
  const iterations = mode.quick ? 2 : 5;
  const uniform = residentScenario();
  const pages = uniform.processes['bench']!.vmas['heap']!.size / 4096;

  const bench = new Bench(slowBenchOptions(iterations));
  const uniformRuns = addScenarioTask(bench, 'wasm uniform', uniform);
  const fixedRuns = addScenarioTask(bench, 'wasm uniform, 1 access', residentScenario('processes.bench.workload.0.accesses=1'));

  const t0 = process.hrtime.bigint();
  const tables = populateTables(pages);
  const tsSetupSeconds = secondsSince(t0);
  // V8 optimises the first long call on-stack, which runs slower than the code it compiles for
  // later calls: a few short calls first, as the WASM runs get a warm-up run.
  for (let i = 0; i < 5; i++) runResidentLoop(tables, 1_000_000, WRITE_FRACTION, 100 + i);
  let seed = 1;
  const tsTask = 'ts uniform';
  bench.add(tsTask, () => {
    const hits = runResidentLoop(tables, ACCESSES, WRITE_FRACTION, seed++);
    if (hits !== ACCESSES) throw new Error(`${tsTask}: ${ACCESSES - hits} of ${ACCESSES} accesses missed`);
  });

  const zipfBench = new Bench(slowBenchOptions(mode.quick ? 1 : 3));
  const zipfRuns = addScenarioTask(zipfBench, 'wasm zipf(0.9)', residentScenario(
    'processes.bench.workload.0.pattern=zipf', 'processes.bench.workload.0.theta=0.9'));

  await bench.run();
  await zipfBench.run();
  for (const b of [bench, zipfBench]) for (const t of b.tasks) {
    if (t.result.state !== 'completed') throw new Error(`${t.name}: ${t.result.state === 'errored' ? t.result.error.message : t.result.state}`);
  }
  checkAllHits('wasm uniform', uniformRuns);
  checkAllHits('wasm zipf', zipfRuns);

  const wasm = runFigures(uniformRuns);
  const fixedSeconds = medianWall(fixedRuns);
  // the core's hot loop alone: the extra accesses over the extra wall time of the 50M run
  const hotLoopRate = (ACCESSES - 1) / (wasm.wallSecondsMedian - fixedSeconds);
  const tsResult = bench.tasks.find((t) => t.name === tsTask)!.result;
  const tsSeconds = tsResult.state === 'completed' ? tsResult.latency.p50 / 1000 : NaN;
  const tsRate = ACCESSES / tsSeconds;
  const zipf = runFigures(zipfRuns);

  const figures = {
    scenario: 'bench/scenarios/resident.yaml',
    machine: '2GiB, 512MiB anon VMA populated, writeFraction 0.25',
    note: 'accessesPerSecond = mmsim_accesses / wall.seconds, init and populate faults included',
    uniform: { ...wasm, fixedCostSeconds: fixedSeconds, hotLoopAccessesPerSecond: hotLoopRate },
    zipf: { theta: 0.9, ...zipf },
    ts: {
      what: 'plain TypeScript 4-level walk, Uint32Array low/high words, splitmix32 (not xoshiro256**)',
      runs: tsResult.state === 'completed' ? tsResult.latency.samplesCount : 0,
      pages, vmaStartVpn: VMA_START_VPN, tables: tables.tables, setupSeconds: tsSetupSeconds,
      secondsMedian: tsSeconds, accessesPerSecond: tsRate,
    },
    wasmOverTs: { hotLoop: hotLoopRate / tsRate, endToEnd: wasm.accessesPerSecond / tsRate },
  };
  const rows: Row[] = [
    { figure: 'resident hits, WASM, uniform', value: fmtRate(wasm.accessesPerSecond), note: `end to end, median of ${wasm.runs} × ${fmtSeconds(wasm.wallSecondsMedian)}` },
    { figure: 'resident hits, WASM, uniform, hot loop', value: fmtRate(hotLoopRate), note: `by difference from a 1-access run (${fmtSeconds(fixedSeconds)})` },
    { figure: 'resident hits, WASM, zipf(0.9)', value: fmtRate(zipf.accessesPerSecond), note: `end to end, median of ${zipf.runs} × ${fmtSeconds(zipf.wallSecondsMedian)}` },
    { figure: 'resident hits, plain TS, uniform', value: fmtRate(tsRate), note: `loop only, median of ${figures.ts.runs} × ${fmtSeconds(tsSeconds)}; tables built in ${fmtSeconds(tsSetupSeconds)}` },
    { figure: 'WASM / TS, hot loop', value: `${figures.wasmOverTs.hotLoop.toFixed(2)}×`, note: 'same process, same tables and sizes' },
    { figure: 'WASM / TS, WASM end to end', value: `${figures.wasmOverTs.endToEnd.toFixed(2)}×`, note: 'WASM pays init and populate, TS does not' },
  ];
  return { figures, rows, tinybench: [...bench.table(), ...zipfBench.table()] };
}
