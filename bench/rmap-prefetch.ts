/**
 * The reclaim batch's page-table prefetch (assembly/rmap.ts rmapPrefetchList) side by side with
 * the serial walk: bench-pressure scaled to 1M frames (4 GiB, a 64 GiB VMA, 10M stores: about
 * one page scanned per access), on the test build of the core, which can switch the prefetch
 * off. The variants alternate in this process after a warm-up run of each; user CPU seconds per
 * run, their ratio, and user ns per scanned page (all work included). Both give the same
 * results, which the tests check.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCore, runScenario } from '../src/engine/engine.js';
import { enableWasmInlining } from '../src/engine/wasm.js';
import { STATUS } from '../src/abi/config.js';
import { loadScenario } from '../src/scenario/load.js';
import { packageRoot } from '../src/util/package.js';
import { fmtSeconds, median, type BenchMode, type Row } from './measure.js';

interface PrefetchCore { setRmapPrefetch(on: number): void; shrinkAnonBatches(active: number, batches: number): number }

/**
 * ns per scanned page of shrink_inactive_list and of shrink_active_list alone: a fresh instance
 * runs the scenario to its end (memory full, the LRU a million pages long), then the host times
 * `batches` batches of one function on it (assembly/vmscan.ts shrinkAnonBatches), serial or
 * batched walk, each on its own instance so that both start from the same state.
 */
function perFunction(module: WebAssembly.Module, scenario: ReturnType<typeof loadScenario>, active: boolean, on: number, batches: number): number {
  const { core } = createCore(scenario, scenario.seed, module);
  let status: number;
  do { status = core.run(scenario.duration, 1 << 22); } while (status === STATUS.budget);
  const c = core as unknown as PrefetchCore;
  c.setRmapPrefetch(on);
  const t0 = process.hrtime.bigint();
  const scanned = c.shrinkAnonBatches(active ? 1 : 0, batches);
  const ns = Number(process.hrtime.bigint() - t0);
  return scanned > 0 ? ns / scanned : NaN;
}

export function benchRmapPrefetch(mode: BenchMode) {
  const accesses = mode.quick ? 4_000_000 : 10_000_000;
  const scenario = loadScenario('bench-pressure', ['machine.memory=4GiB', 'processes.bench.vmas.heap.size=64GiB', 'swap.size=64GiB',
    `processes.bench.workload.0.accesses=${accesses}`]);
  enableWasmInlining(); // as the CLI's core is compiled
  const module = new WebAssembly.Module(readFileSync(join(packageRoot(), 'build', 'mmsim-test.wasm')));
  const run = (on: number) => {
    const u0 = process.cpuUsage().user;
    const r = runScenario(scenario, { module, wrapCore: (core) => { (core as unknown as PrefetchCore).setRmapPrefetch(on); return core; } });
    if (r.status !== 'ok') throw new Error(`rmap prefetch bench: ${r.error?.message ?? r.status}`);
    return { userSeconds: (process.cpuUsage().user - u0) / 1e6, pgscan: (r.counters['pgscan_kswapd'] ?? 0) + (r.counters['pgscan_direct'] ?? 0) };
  };
  run(0); run(1);                           // warm-up: the host's memory, the compiled module
  const serial: { userSeconds: number; pgscan: number }[] = [];
  const batched: { userSeconds: number; pgscan: number }[] = [];
  for (let i = 0; i < (mode.quick ? 1 : 3); i++) { serial.push(run(0)); batched.push(run(1)); }
  const s = median(serial.map((x) => x.userSeconds)); const b = median(batched.map((x) => x.userSeconds));
  const pgscan = batched[0]!.pgscan;
  // the two functions alone, after a shorter run (the LRU full), medians of three instances each
  const fnScenario = loadScenario('bench-pressure', ['machine.memory=4GiB', 'processes.bench.vmas.heap.size=64GiB', 'swap.size=64GiB',
    'processes.bench.workload.0.accesses=4000000']);
  const fn = (active: boolean, on: number) => median(Array.from({ length: mode.quick ? 1 : 3 }, () => perFunction(module, fnScenario, active, on, 2000)));
  const perFn = {
    shrinkInactiveSerialNs: fn(false, 0), shrinkInactiveBatchedNs: fn(false, 1),
    shrinkActiveSerialNs: fn(true, 0), shrinkActiveBatchedNs: fn(true, 1),
  };
  const figures = {
    accesses, pgscan, serialUserSeconds: serial.map((x) => x.userSeconds), batchedUserSeconds: batched.map((x) => x.userSeconds),
    batchedOverSerial: b / s, serialNsPerScannedPage: (s * 1e9) / pgscan, batchedNsPerScannedPage: (b * 1e9) / pgscan,
    ...perFn,
  };
  const rows: Row[] = [{
    figure: 'reclaim rmap walk, batched / serial', value: `${figures.batchedOverSerial.toFixed(2)}×`,
    note: `bench-pressure at 1M frames, ${accesses} stores, ${pgscan} pages scanned: user ${fmtSeconds(b)} batched, ${fmtSeconds(s)} serial (medians of ${serial.length}); ` +
      `${figures.batchedNsPerScannedPage.toFixed(0)} vs ${figures.serialNsPerScannedPage.toFixed(0)} user ns per scanned page, all work included`,
  }, {
    figure: 'shrink_inactive_list, ns per scanned page', value: `${perFn.shrinkInactiveBatchedNs.toFixed(0)} ns`,
    note: `alone, 2000 batches of 32 anon folios after the run filled 1M frames: batched walk; serial ${perFn.shrinkInactiveSerialNs.toFixed(0)} ns (medians of instances)`,
  }, {
    figure: 'shrink_active_list, ns per scanned page', value: `${perFn.shrinkActiveBatchedNs.toFixed(0)} ns`,
    note: `alone, as above: batched walk; serial ${perFn.shrinkActiveSerialNs.toFixed(0)} ns`,
  }];
  return { figures, rows };
}
