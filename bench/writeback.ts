/**
 * Writeback macro (issue 3): a 64GiB machine with one writer for 60 s simulated must run in
 * seconds, not minutes. The `storage-server` built-in (64GiB, a 1GB/s RAID, 600MB/s ingest
 * beside a page-cache reader) at duration=60s, and the same with the writer unlimited
 * (rate=0), so balance_dirty_pages holds it at the device's speed. Each runs once, outside
 * tinybench (a run takes seconds); --quick simulates 15 s.
 *
 * The mean dirty rate is nr_dirtied over the whole run, so for the throttled writer it includes
 * the first seconds in which the dirty pages climb to the dirty limit faster than the device
 * drains them; the written rate (nr_written) is what the device took.
 */
import { runScenario } from '../src/engine/engine.js';
import type { RunResult } from '../src/report/result.js';
import { loadScenario } from '../src/scenario/load.js';
import { fmtSeconds, type BenchMode, type Row } from './measure.js';

const PAGE = 4096;

function macroFigures(name: string, overrides: string[], run: RunResult) {
  const c = run.counters;
  const nrDirtied = c['nr_dirtied'] ?? 0;
  const nrWritten = c['nr_written'] ?? 0;
  const sim = run.simulatedSeconds;
  return {
    scenario: 'storage-server', overrides, name,
    wallSeconds: run.wall.seconds,
    simulatedSeconds: sim,
    simulatedPerWallSecond: sim / run.wall.seconds,
    nrDirtied, nrWritten,
    pagesDirtiedPerWallSecond: nrDirtied / run.wall.seconds,
    meanDirtyMBps: nrDirtied * PAGE / 1e6 / sim,
    meanWrittenMBps: nrWritten * PAGE / 1e6 / sim,
    bdpCalls: c['mmsim_bdp_calls'], bdpPauses: c['mmsim_bdp_pauses'],
    throttledSeconds: (c['mmsim_dirty_throttle_ns'] ?? 0) / 1e9,
    pauses: run.writeback.pauses,
  };
}

export function benchWriteback(mode: BenchMode) {
  const duration = mode.quick ? '15s' : '60s';
  const variants: Array<{ name: string; overrides: string[] }> = [
    { name: 'writer at 600MB/s', overrides: [`duration=${duration}`] },
    { name: 'writer unlimited, throttled', overrides: [`duration=${duration}`, 'processes.ingest.workload.0.rate=0'] },
  ];
  const runs = variants.map(({ name, overrides }) => {
    const run = runScenario(loadScenario('storage-server', overrides));
    if (run.status !== 'ok') throw new Error(`storage-server ${overrides.join(' ')}: run failed: ${run.error?.message ?? run.status}`);
    return macroFigures(name, overrides, run);
  });
  const [paced, throttled] = runs as [ReturnType<typeof macroFigures>, ReturnType<typeof macroFigures>];
  const figures = {
    machine: '64GiB, raid 1GB/s write, 16GiB hot set read beside the writer',
    note: 'wallSeconds includes init; meanDirtyMBps = nr_dirtied*4096/1e6/simulatedSeconds; once each',
    paced, throttled,
  };
  const rows: Row[] = runs.flatMap((f) => [
    { figure: `writeback macro, ${f.name}, wall`, value: fmtSeconds(f.wallSeconds), note: `${f.simulatedSeconds} s simulated on 64GiB (${f.simulatedPerWallSecond.toFixed(1)}× real time), once` },
    { figure: `writeback macro, ${f.name}, dirtied`, value: `${(f.pagesDirtiedPerWallSecond / 1e6).toFixed(2)} M pages/s`, note: `per wall second; mean ${f.meanDirtyMBps.toFixed(0)} MB/s dirtied, ${f.meanWrittenMBps.toFixed(0)} MB/s written (simulated), throttled ${f.throttledSeconds.toFixed(1)} s` },
  ]);
  return { figures, rows };
}
