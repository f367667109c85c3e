/**
 * The walk-ahead over large ranges (assembly/workload.ts) only loads page-table entries early
 * and hands their addresses to the access loop: with it and without it, a run must give the
 * same bytes, through reclaim and swap (PTEs change under the remembered addresses) and through
 * an OOM kill (page tables are freed, so remembered addresses must be walked again).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml, testCoreModule, type TestCoreExports } from './helpers.js';

function bothWays(yaml: string): [string, string, Record<string, number>] {
  const s = scenarioFromYaml(yaml);
  const run = (on: number) => {
    const r = runScenario(s, { module: testCoreModule(), wrapCore: (core) => { (core as TestCoreExports).setWalkAhead(on); return core; } });
    assert.equal(r.status, 'ok');
    return r;
  };
  const on = run(1); const off = run(0);
  const bytes = (r: ReturnType<typeof run>) => JSON.stringify({ c: r.counters, s: r.series, d: r.detectors, t: r.simulatedSeconds });
  return [bytes(on), bytes(off), on.counters];
}

/** A 16 GiB VMA on a 256 MiB machine with 2 GiB of swap, running `phases` (YAML list items). */
const swapping16GiB = (duration: string, phases: string): string => `
duration: ${duration}
machine: { memory: 256MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us, queueDepth: 32 }
swap: { size: 2GiB, device: ssd }
processes:
  app:
    vmas:
      heap: { type: anon, size: 16GiB }
    workload:${phases}
`;

test('walk-ahead changes nothing: a 16 GiB VMA swapping on a 256 MiB machine', () => {
  const [on, off, c] = bothWays(swapping16GiB('20s', `
      - { op: access, target: heap, pattern: zipf, theta: 0.99, writeFraction: 0.5, accesses: 200000 }
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.25, accesses: 100000 }
      - { op: access, target: heap, pattern: sequential, length: 64MiB, writeFraction: 1 }`));
  assert.ok(c['pswpout']! > 0 && c['pswpin']! > 0, 'the run must swap both ways');
  assert.equal(c['mmsim_accesses'], 300000 + 16384);
  assert.equal(on, off);
});

test('walk-ahead changes nothing: an OOM kill frees page tables under another task', () => {
  const [on, off, c] = bothWays(`
duration: 20s
machine: { memory: 128MiB }
processes:
  big:
    vmas:
      heap: { type: anon, size: 16GiB }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 1, accesses: 100000 }
  small:
    vmas:
      heap: { type: anon, size: 32GiB }
    workload:
      - { op: access, target: heap, pattern: zipf, theta: 1.1, writeFraction: 0.1, accesses: 200000 }
`);
  assert.ok(c['oom_kill']! >= 1, 'someone must be OOM-killed');
  assert.equal(on, off);
});

test('walk-ahead changes nothing: a phase ended by its duration, then another random phase', () => {
  // the first phase ends with accesses drawn ahead and never taken: the second must draw from
  // the random stream where the taken ones left it
  const [on, off, c] = bothWays(swapping16GiB('4s', `
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5, duration: 1s }
      - { op: access, target: heap, pattern: zipf, theta: 0.9, writeFraction: 0.5, accesses: 100000 }`));
  assert.ok(c['pswpout']! > 0, 'the run must reclaim');
  assert.equal(on, off);
});
