/**
 * The sharded machine (issue 4): `numa-1tib`, 268,435,456 frames over 16 NUMA nodes (one WASM
 * instance each) on 2 worker threads, every node written past its 64 GiB into its own swap.
 * Reports simulated accesses per second per thread and the host memory per simulated page at
 * its peak (process RSS sampled at every epoch boundary; the threads share the process).
 * --quick: 4 of the nodes (256 GiB), the same per-node workload.
 */
import { availableParallelism } from 'node:os';
import { runShardedOnWorkers } from '../src/engine/numa.js';
import { loadScenario } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/types.js';
import { fmtRate, fmtSeconds, fmtBytes, type BenchMode, type Row } from './measure.js';

export async function benchNuma(mode: BenchMode) {
  let s: Scenario = loadScenario('numa-1tib', []);
  if (mode.quick) {
    const nodes = 4;
    s = {
      ...s, machine: { ...s.machine, nodes, memory: nodes * 64 * 2 ** 30 },
      processes: Object.fromEntries(Object.entries(s.processes).filter(([, p]) => p.node < nodes)),
    };
  }
  const threads = Math.min(2, availableParallelism());
  const frames = s.machine.memory / 4096;
  let peakRss = 0;
  const sampleRss = () => { const rss = process.memoryUsage().rss; if (rss > peakRss) peakRss = rss; };
  const before = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const r = await runShardedOnWorkers(s, threads, { onProgress: sampleRss });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = r.counters;
  const accesses = c['mmsim_accesses'] ?? 0;
  const ptBytes = (c['nr_page_table_pages'] ?? 0) * 4096;
  const figures = {
    scenario: s.name, nodes: s.machine.nodes, frames, threads, wallSeconds: wall, simulatedSeconds: r.simulatedSeconds,
    accesses, accessesPerSecondPerThread: accesses / wall / threads,
    pswpout: c['pswpout'], pgscanKswapd: c['pgscan_kswapd'], pgstealKswapd: c['pgsteal_kswapd'], oomKill: c['oom_kill'],
    rssBeforeBytes: before, peakRssBytes: peakRss, peakRssPerFrame: peakRss / frames,
    pageTableBytes: ptBytes, peakRssPerFrameWithoutPageTables: (peakRss - ptBytes) / frames,
  };
  const rows: Row[] = [
    { figure: `${s.name}${mode.quick ? ' (4 nodes)' : ''}`, value: fmtRate(figures.accessesPerSecondPerThread),
      note: `per thread; ${accesses} accesses on ${threads} threads in ${fmtSeconds(wall)}, ${frames} frames over ${s.machine.nodes} nodes` },
    { figure: 'sharded machine RSS per frame', value: `${figures.peakRssPerFrame.toFixed(1)} B`,
      note: `peak ${fmtBytes(peakRss)}; ${figures.peakRssPerFrameWithoutPageTables.toFixed(1)} B without its ${fmtBytes(ptBytes)} of page tables` },
  ];
  return { figures, rows };
}
