/**
 * The simulated kernel against the kernel's own rules: watermarks, reclaim when (and only when)
 * memory is short, swap-out and major faults on swap-in, determinism, and the invariant checker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { loadScenario } from '../src/scenario/load.js';
import { anonScenario, idleYaml, scenarioFromYaml } from './helpers.js';

const intSqrt = (n: number): number => {
  let r = Math.floor(Math.sqrt(n));
  while (r * r > n) r--;
  while ((r + 1) * (r + 1) <= n) r++;
  return r;
};

/**
 * Independent statement of calculate_min_free_kbytes + __setup_per_zone_wmarks for the x86-64
 * layout (DMA below 16 MiB, DMA32 below 4 GiB, Normal above): integer arithmetic as the kernel.
 */
function kernelWatermarks(memoryBytes: number, minFreeKbytes = 0, scale = 10) {
  const pages = memoryBytes / 4096;
  const zones = [
    { name: 'DMA', managed: Math.min(pages, 4096) },
    { name: 'DMA32', managed: Math.max(0, Math.min(pages, 1 << 20) - 4096) },
    { name: 'Normal', managed: Math.max(0, pages - (1 << 20)) },
  ].filter((z) => z.managed > 0);
  const mfk = minFreeKbytes || Math.min(262144, Math.max(128, intSqrt(pages * 4 * 16)));
  const pagesMin = mfk >> 2;
  const lowmem = zones.reduce((a, z) => a + z.managed, 0);
  return zones.map((z) => {
    const tmp = Math.floor((pagesMin * z.managed) / lowmem);
    const gap = Math.max(tmp >> 2, Math.floor((z.managed * scale) / 10000));
    return { name: z.name, managed: z.managed, min: tmp, low: tmp + gap, high: tmp + 2 * gap };
  });
}

function idleMachine(memory: string, vm = ''): ReturnType<typeof scenarioFromYaml> {
  return scenarioFromYaml(idleYaml('idle', `{ memory: ${memory} }`, vm));
}

test('zone watermarks follow the kernel formula for several memory sizes', () => {
  for (const memory of ['64MiB', '1GiB', '2GiB', '4GiB', '16GiB', '64GiB']) {
    const bytes = { '64MiB': 2 ** 26, '1GiB': 2 ** 30, '2GiB': 2 ** 31, '4GiB': 2 ** 32, '16GiB': 2 ** 34, '64GiB': 2 ** 36 }[memory]!;
    const r = runScenario(idleMachine(memory));
    const got = r.zones.map((z) => ({ name: z.name, managed: z.managed, min: z.min, low: z.low, high: z.high }));
    assert.deepEqual(got, kernelWatermarks(bytes), `watermarks of a ${memory} machine`);
  }
});

test('watermarks follow vm.min_free_kbytes and vm.watermark_scale_factor when set', () => {
  const r = runScenario(idleMachine('8GiB', 'vm: { min_free_kbytes: 65536, watermark_scale_factor: 200 }'));
  const got = r.zones.map((z) => ({ name: z.name, managed: z.managed, min: z.min, low: z.low, high: z.high }));
  assert.deepEqual(got, kernelWatermarks(2 ** 33, 65536, 200));
});

test('a 16 GiB machine: the engine gives the watermarks worked out by hand from mm/page_alloc.c', () => {
  // calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16) = int_sqrt(16,777,216 × 16) = 16,384 kB,
  // so pages_min = 16384 >> (PAGE_SHIFT - 10) = 4096 pages.
  // __setup_per_zone_wmarks(): each zone's min is pages_min × managed / lowmem_pages (rounded
  // down), its gap max(min >> 2, managed × watermark_scale_factor(10) / 10000), low = min + gap,
  // high = min + 2 × gap. Zones of x86-64: DMA < 16 MiB, DMA32 < 4 GiB, Normal above.
  //   DMA     managed    4,096: min floor(4096 × 4096 / 4194304)    =    4, gap max(1, 4)      =    4
  //   DMA32   managed 1,044,480: min floor(4096 × 1044480 / 4194304) = 1020, gap max(255, 1044) = 1044
  //   Normal  managed 3,145,728: min floor(4096 × 3145728 / 4194304) = 3072, gap max(768, 3145) = 3145
  const r = runScenario(idleMachine('16GiB'));
  assert.deepEqual(r.zones.map((z) => ({ name: z.name, managed: z.managed, min: z.min, low: z.low, high: z.high })), [
    { name: 'DMA', managed: 4096, min: 4, low: 8, high: 12 },
    { name: 'DMA32', managed: 1_044_480, min: 1020, low: 2064, high: 3108 },
    { name: 'Normal', managed: 3_145_728, min: 3072, low: 6217, high: 9362 },
  ]);
  assert.equal(r.zones.reduce((a, z) => a + z.min, 0), 4096, 'pages_min, split over the zones without loss here');
});

test('lowmem_reserve protects lower zones by the ratio of the zones above them', () => {
  const r = runScenario(idleMachine('8GiB'));
  const dma = r.zones.find((z) => z.name === 'DMA')!;
  const dma32 = r.zones.find((z) => z.name === 'DMA32')!;
  const normal = r.zones.find((z) => z.name === 'Normal')!;
  // lowmem_reserve[Normal] of DMA = (DMA32 + Normal) / 256; of DMA32 = Normal / 256
  assert.equal(dma.lowmemReserve[2], Math.floor((dma32.managed + normal.managed) / 256));
  assert.equal(dma32.lowmemReserve[2], Math.floor(normal.managed / 256));
  assert.equal(dma32.lowmemReserve[1], 0);
});

test('a working set smaller than memory causes no reclaim', () => {
  const r = runScenario(anonScenario({ memory: '256MiB', heap: '64MiB', duration: '500ms' }));
  assert.equal(r.status, 'ok');
  assert.ok(r.counters.mmsim_accesses! > 100000, 'the workload ran');
  for (const c of ['pgscan_kswapd', 'pgscan_direct', 'pgsteal_kswapd', 'pgsteal_direct', 'pswpout', 'pgmajfault', 'oom_kill']) {
    assert.equal(r.counters[c], 0, c);
  }
});

test('a working set larger than memory is reclaimed: steal ≤ scan, anon goes to swap and comes back as major faults', () => {
  const r = runScenario(anonScenario({ memory: '128MiB', heap: '192MiB', duration: '2s' }));
  assert.equal(r.status, 'ok');
  const c = r.counters;
  assert.ok(c.pgscan_kswapd! + c.pgscan_direct! > 0, 'reclaim scanned');
  assert.ok(c.pgsteal_kswapd! > 0, 'kswapd reclaimed');
  assert.ok(c.pgsteal_kswapd! <= c.pgscan_kswapd!, 'kswapd steal ≤ scan');
  assert.ok(c.pgsteal_direct! <= c.pgscan_direct!, 'direct steal ≤ scan');
  assert.ok(c.pswpout! > 0, 'pages were swapped out');
  assert.ok(c.pswpin! > 0, 'pages were swapped in');
  assert.equal(c.pswpin, c.pgmajfault! + c.swap_ra!, 'pages read from swap: one per major fault plus readahead');
  assert.equal(c.oom_kill, 0, 'swap has room: nobody is killed');
  assert.equal(c.mmsim_bug, 0);
  // the free count stays around the watermarks once reclaim runs
  const dma32 = r.zones.find((z) => z.name === 'DMA32')!;
  assert.ok(c.nr_free_pages! >= dma32.min, 'free pages are not below the min watermark at the end');
});

test('without swap, anonymous memory beyond RAM ends in an OOM kill', () => {
  const r = runScenario(anonScenario({ memory: '128MiB', heap: '192MiB', swap: '0B', duration: '1s', writeFraction: 1 }));
  assert.equal(r.counters.oom_kill, 1);
  assert.equal(r.counters.pswpout, 0);
  assert.ok(r.counters.mmsim_oom_pages_freed! > 20000, 'the victim\'s pages were freed');
});

test('the same scenario and seed give byte-identical results.json; another seed differs', () => {
  const s = anonScenario({ memory: '64MiB', heap: '96MiB', duration: '300ms', pattern: 'zipf' });
  const a = formatResultsJson(runScenario(s));
  const b = formatResultsJson(runScenario(s));
  assert.equal(a, b);
  const c = formatResultsJson(runScenario(s, { seed: 2 }));
  assert.notEqual(a, c);
});

test('slicing the run differently does not change the results', () => {
  const s = anonScenario({ memory: '64MiB', heap: '96MiB', duration: '300ms', pattern: 'hotcold' });
  const a = formatResultsJson(runScenario(s, { sliceNs: 1e6 }));
  const b = formatResultsJson(runScenario(s, { sliceNs: 77e6 }));
  assert.equal(a, b);
});

test('invariants hold after every reclaim pass in the default scenario', () => {
  const s = loadScenario('default', ['duration=3s']);
  const r = runScenario(s, { invariants: 2 });
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors.slice(0, 3)));
  assert.ok(r.counters.pgscan_kswapd! > 0);
});

test('a streaming reader keeps its page cache on the inactive list (use-once)', () => {
  const r = runScenario(scenarioFromYaml(`
name: stream
description: one reader streaming a file larger than memory
duration: 2s
machine: { memory: 128MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
files:
  big: { size: 1GiB, device: ssd }
processes:
  reader:
    workload:
      - { op: read, target: big, pattern: sequential, ioSize: 128KiB }
    loop: true
`));
  const c = r.counters;
  assert.ok(c.pgsteal_file! > 10000, 'file pages were reclaimed');
  assert.equal(c.pgsteal_anon, 0);
  assert.ok(c.nr_active_file! < c.nr_inactive_file!, 'read-once pages are not activated');
  assert.ok(c.pgpgin! > 0);
});

test('a scenario too large for one WASM instance is refused with the arithmetic', () => {
  const s = anonScenario({ memory: '64GiB', heap: '100TiB', duration: '1ms' });
  assert.throws(() => runScenario(s), (e: Error) => /page tables/.test(e.message) && /GiB/.test(e.message) && /at most/.test(e.message));
});

test('scrambled Zipf spreads ranks over the whole VMA (a permutation, not hash mod n)', () => {
  const s = scenarioFromYaml(`
name: zipf-cover
description: all writes, zipf over 4096 pages
duration: 10s
machine: { memory: 256MiB }
processes:
  app:
    vmas:
      heap: { type: anon, size: 16MiB }
    workload:
      - { op: access, target: heap, pattern: zipf, theta: 0.5, scramble: true, writeFraction: 1, accesses: 2000000 }
`);
  const r = runScenario(s);
  assert.equal(r.counters.mmsim_accesses, 2000000);
  assert.equal(r.counters.nr_anon_pages, 4096, 'every page of the VMA was written');
});

test('a trap inside the core is reported with the simulated time and the last event; results so far are kept', () => {
  const s = anonScenario({ memory: '64MiB', heap: '96MiB', duration: '1s' });
  const r = runScenario(s, {
    sliceNs: 50e6,
    wrapCore: (core) => ({
      ...core,
      run(untilNs: number, maxEvents: number): number {
        if (untilNs > 300e6) throw new WebAssembly.RuntimeError('unreachable');
        return core.run(untilNs, maxEvents);
      },
    }),
  });
  assert.equal(r.status, 'error');
  assert.match(r.error!.message, /unreachable/);
  assert.ok(r.error!.simulatedNs > 250e6 && r.error!.simulatedNs <= 300e6, `trap time ${r.error!.simulatedNs}`);
  assert.match(r.error!.lastEvent, /^(task app|kswapd0|sampler|device ssd|flusher)$/);
  assert.ok(r.counters.mmsim_accesses! > 0, 'counters up to the trap are kept');
  assert.equal(r.series.rows.length, 4, 'samples at 0, 100, 200 and 300 ms');
});

test('write() dirties the page cache; the flusher writes it back; writers are throttled at the dirty threshold', () => {
  const r = runScenario(scenarioFromYaml(`
name: writer
description: a writer dirtying a file larger than memory
duration: 2s
machine: { memory: 256MiB }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: 100MB/s, readLatency: 2ms, writeLatency: 2ms }
files:
  log: { size: 1GiB, device: disk }
processes:
  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
    loop: true
`), { invariants: 1 });
  const c = r.counters;
  assert.equal(r.detectorsTotal, 0);
  assert.ok(c.nr_dirtied! > 10000, 'pages were dirtied');
  assert.ok(c.nr_written! > 0.8 * 2 * 100e6 / 4096, `the device wrote near its bandwidth: ${c.nr_written}`);
  assert.ok(c.nr_written! <= c.nr_dirtied!);
  assert.ok(c.nr_dirty! + c.nr_writeback! <= c.nr_dirty_threshold! + 16, 'dirty + writeback stays at the threshold');
  assert.ok(c.mmsim_dirty_throttle_ns! > 0, 'the writer was throttled');
  assert.equal(c.pgpgout, c.nr_written! * 4 + c.nr_writeback! * 4, 'every page written was submitted');
});

test('a machine whose regions lie above 2 GiB of WASM memory is read back correctly (pointers are unsigned)', () => {
  // bench-reference reserves ~2.9 GiB (page-table pool, swap map): later regions sit above 2^31
  const s = loadScenario('bench-reference', ['processes.bench.workload.0.accesses=20000']);
  const r = runScenario(s);
  assert.equal(r.status, 'ok');
  assert.equal(r.counters.mmsim_accesses, 20000);
  const last = r.series.rows[r.series.rows.length - 1]!;
  assert.ok(r.series.columns.includes('task_bench_dirtied_pages'));
  assert.equal(last.length, r.series.columns.length);
  assert.ok(r.writeback.pauses.count === 0 && r.wbs.length === 1);
});

test('the host\'s memory estimate covers the layout the core makes, closely', async () => {
  const { memoryNeed } = await import('../src/engine/memory.js');
  const { createCore } = await import('../src/engine/engine.js');
  for (const name of ['default', 'small-fits', 'laptop', 'storage-server', 'bench-reference']) {
    const s = loadScenario(name, []);
    const { core } = createCore(s, 1);
    const actual = core.memoryEnd();
    const estimate = memoryNeed(s).total;
    assert.ok(estimate >= actual, `${name}: estimate ${estimate} < layout ${actual}`);
    assert.ok(estimate - actual < 0.02 * actual + 4 * 2 ** 20, `${name}: estimate ${estimate} far above layout ${actual}`);
  }
  // many tasks and locks: each task has its own table with the walk-ahead's slots, a reclaimer's
  // records, wait and lock state; 3,000 of them overrun the small-tables slack if a per-task
  // budget falls short
  const procs = Array.from({ length: 3000 }, (_, i) => `  p${i}: { vmas: { heap: { type: anon, size: 64KiB } }, workload: [{ op: access, target: heap }] }`).join('\n');
  const locks = Array.from({ length: 3000 }, (_, i) => `  l${i}: { kind: mutex }`).join('\n');
  const many = scenarioFromYaml(`machine: { memory: 256MiB }\nduration: 1s\nseries: { interval: 1s }\nlocks:\n${locks}\nprocesses:\n${procs}\n`);
  const { core } = createCore(many, 1);
  assert.ok(memoryNeed(many).total >= core.memoryEnd(), `3,000 tasks: estimate ${memoryNeed(many).total} < layout ${core.memoryEnd()}`);
});

test('the release core imports nothing and ships no test-only exports; the test core has them', async () => {
  const { coreModule } = await import('../src/engine/wasm.js');
  const { testCoreModule } = await import('./helpers.js');
  const release = coreModule();
  assert.deepEqual(WebAssembly.Module.imports(release), [], 'no abort import: --noAssert, nothing throws');
  const names = new Set(WebAssembly.Module.exports(release).map((e) => e.name));
  const bufferTests = ['filemapFolio', 'folioFlags', 'folioRefcount', 'folioGet', 'folioPut', 'setPageDirtyLock', 'blockInvalidateFolio'];
  for (const gone of ['maxPageTables', 'checkInvariants', 'setWalkAhead', 'breakInvariant', 'zipfSelfCheck', 'zipfMassCheck', 'skipSecondaryInvalidation', 'setRmapPrefetch', 'shrinkAnonBatches', ...bufferTests]) {
    assert.ok(!names.has(gone), `${gone} is not in the release core`);
  }
  const testNames = new Set(WebAssembly.Module.exports(testCoreModule()).map((e) => e.name));
  for (const only of ['setWalkAhead', 'breakInvariant', 'zipfSelfCheck', 'zipfMassCheck', 'skipSecondaryInvalidation', 'setRmapPrefetch', 'shrinkAnonBatches', ...bufferTests]) assert.ok(testNames.has(only), `${only} in the test core`);
  assert.ok(names.has('init') && names.has('run'), 'the host interface is there');
});
