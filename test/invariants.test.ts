/**
 * Property test: over random machines and workloads, every frame keeps 0 ≤ mapcount ≤ refcount
 * and every LRU list's length equals its counter after every shrink_node pass (the core's
 * checker runs in mode 2 and records any violation as a detector hit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

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
