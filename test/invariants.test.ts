/**
 * Property test: over random machines and workloads, every frame keeps 0 ≤ mapcount ≤ refcount
 * and every LRU list's length equals its counter after every shrink_node pass (the core's
 * checker runs in mode 2 and records any violation as a detector hit); in the checking mode
 * (check: true) also the free lists, mapcounts against PTEs, swap counts against swap PTEs and
 * the one state of every frame, with two tasks reclaiming at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml, testCoreModule, type TestCoreExports } from './helpers.js';

const arbScenario = fc.record({
  memoryMiB: fc.constantFrom(32, 48, 64),
  heapMiB: fc.integer({ min: 8, max: 96 }),
  fileMiB: fc.integer({ min: 0, max: 128 }),
  swapMiB: fc.constantFrom(0, 64, 256),
  swappiness: fc.integer({ min: 0, max: 200 }),
  pattern: fc.constantFrom('uniform', 'zipf', 'hotcold', 'sequential'),
  writeFraction: fc.constantFrom(0, 0.25, 1),
  fileOp: fc.constantFrom('read', 'write'),
  mapFile: fc.boolean(),
  shared: fc.boolean(),
  mlockMiB: fc.constantFrom(0, 4),
});

type Params = typeof arbScenario extends fc.Arbitrary<infer T> ? T : never;

function build(p: Params) {
  const file = p.fileMiB > 0;
  const swap = p.swapMiB > 0 ? `swap: { size: ${p.swapMiB}MiB, device: ssd }` : '';
  const fileVma = file && p.mapFile ? `      mapped: { type: file, file: data, size: ${p.fileMiB}MiB, shared: ${p.shared} }` : '';
  const locked = p.mlockMiB > 0 ? `      locked: { type: anon, size: ${p.mlockMiB}MiB, mlocked: true }` : '';
  const mappedPhase = file && p.mapFile ? `      - { op: access, target: mapped, pattern: uniform, writeFraction: ${p.writeFraction}, duration: 100ms }` : '';
  return scenarioFromYaml(`
name: prop
description: random machine
duration: 300ms
check: true
series: { interval: 10ms }
machine: { memory: ${p.memoryMiB}MiB }
vm: { swappiness: ${p.swappiness} }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
${swap}
${file ? `files:\n  data: { size: ${p.fileMiB}MiB, device: ssd }` : ''}
processes:
  app:
    vmas:
      heap: { type: anon, size: ${p.heapMiB}MiB }
${fileVma}
${locked}
    workload:
      - { op: access, target: heap, pattern: ${p.pattern}, writeFraction: ${p.writeFraction}, duration: 100ms }
${mappedPhase}
    loop: true
  app2:
    vmas:
      heap: { type: anon, size: ${Math.max(4, p.heapMiB >> 1)}MiB }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5, rate: 100000 }
${file ? `  io:\n    workload:\n      - { op: ${p.fileOp}, target: data, pattern: sequential, ioSize: 64KiB, duration: 100ms }\n    loop: true` : ''}
`);
}

test('refcount ≥ mapcount ≥ 0 and LRU lengths equal their counters after every reclaim pass', () => {
  fc.assert(
    fc.property(arbScenario, (p) => {
      const r = runScenario(build(p), { invariants: 2 });
      assert.equal(r.status, 'ok');
      assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors.slice(0, 3)));
      const c = r.counters;
      assert.ok(c.pgsteal_kswapd! <= c.pgscan_kswapd! && c.pgsteal_direct! <= c.pgscan_direct!);
      assert.ok(c.nr_free_swap! + c.nr_swap_pages_used! === p.swapMiB * 256);
    }),
    { numRuns: 25, seed: 42 },
  );
});

test('the checking mode finds a broken mapcount, swap count and a leaked frame', () => {
  const scenario = scenarioFromYaml(`
name: broken
description: a run whose core state is broken on purpose after its first slice
duration: 200ms
check: true
machine: { memory: 64MiB }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 128MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload: [{ op: access, target: heap, pattern: uniform, writeFraction: 1 }]
`);
  const expected = { 1: 'mmsim_mapcount_mismatch', 2: 'mmsim_swap_count_mismatch', 3: 'mmsim_frame_state' } as const;
  for (const kind of [1, 2, 3] as const) {
    let broken = -1;
    const r = runScenario(scenario, {
      sliceNs: 50e6,
      module: testCoreModule(),
      wrapCore: (core) => ({
        ...core,
        run: (until: number, maxEvents: number) => {
          const status = core.run(until, maxEvents);
          if (broken < 0 && core.nowNs() >= 100e6) broken = (core as TestCoreExports).breakInvariant(kind);
          return status;
        },
      }),
    });
    assert.ok(broken >= 0, `nothing to break for kind ${kind}`);
    const kinds = new Set(r.detectors.map((d) => d.kind));
    assert.ok(kinds.has(expected[kind]), `kind ${kind}: ${[...kinds].join(', ')}`);
  }
});
