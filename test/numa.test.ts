/**
 * Machines of several NUMA nodes, one WASM instance each: the same bytes for any number of
 * worker threads, global dirty limits over the whole machine, and processes bound to their node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { runShardedOnWorkers, nodeSeed } from '../src/engine/numa.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { packageRoot } from '../src/util/package.js';
import { scenarioFromYaml } from './helpers.js';

const yaml = (nodes: number, memory: string, procs: string, duration = '1s') => `
name: numa
description: a multi-node machine
duration: ${duration}
machine: { memory: ${memory}, nodes: ${nodes} }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: 100MB/s, readLatency: 1ms, writeLatency: 1ms }
swap: { size: 512MiB, device: disk }
files:
  log: { size: 4GiB, device: disk }
processes:
${procs}
series: { interval: 100ms }
`;
const writerOn = (node: number) => `  w${node}:
    node: ${node}
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
    loop: true
`;
const appOn = (node: number, heap = '320MiB') => `  app${node}:
    node: ${node}
    vmas:
      heap: { type: anon, size: ${heap} }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5 }
`;

test('a 4-node machine gives the same bytes in one thread, on 2 workers and on 3', async () => {
  const s = scenarioFromYaml(yaml(4, '1GiB', writerOn(0) + appOn(1) + appOn(2, '200MiB') + writerOn(3)));
  const one = formatResultsJson(runScenario(s));
  const two = formatResultsJson(await runShardedOnWorkers(s, 2));
  const three = formatResultsJson(await runShardedOnWorkers(s, 3));
  assert.equal(two, one);
  assert.equal(three, one);
  const r = JSON.parse(one);
  assert.equal(r.zones.length, 8, 'DMA and DMA32 of each node');
  assert.deepEqual(r.wbs.map((w: { device: string }) => w.device), ['node0:disk', 'node1:disk', 'node2:disk', 'node3:disk']);
  assert.ok(r.counters.pswpout > 0 && r.counters.nr_dirtied > 0);
});

test('dirty limits are global: a writer on one node of two is held to the whole machine\'s threshold', () => {
  const two = runScenario(scenarioFromYaml(yaml(2, '1GiB', writerOn(0), '4s')));
  const one = runScenario(scenarioFromYaml(yaml(1, '512MiB', writerOn(0), '4s')));
  // twice the dirtyable memory, so about twice the threshold, and the writer's dirty pages follow it
  const ratio = two.counters.nr_dirty_threshold! / one.counters.nr_dirty_threshold!;
  assert.ok(ratio > 1.9 && ratio < 2.1, `threshold ratio ${ratio}`);
  const dirty = (r: typeof two) => r.counters.nr_dirty! + r.counters.nr_writeback!;
  assert.ok(dirty(two) > 1.7 * dirty(one), `dirty ${dirty(two)} vs ${dirty(one)}`);
});

test('processes are bound to their node: pressure on node 1 leaves node 0 alone', () => {
  // node 1 of the two-node machine behaves exactly as a one-node machine of its size running the
  // same process with the same seed: its anon reclaim does not depend on node 0's writer
  const two = runScenario(scenarioFromYaml(yaml(2, '512MiB', writerOn(0) + appOn(1))));
  const alone = runScenario(scenarioFromYaml(yaml(1, '256MiB', appOn(0).replace('app0', 'app1'))), { seed: nodeSeed(1, 1) });
  for (const c of ['pgscan_kswapd', 'pgsteal_kswapd', 'pswpout', 'pswpin', 'pgmajfault']) {
    assert.equal(two.counters[c], alone.counters[c], c);
  }
  assert.ok(alone.counters.pswpout! > 0);
});

test('a node number the machine does not have is refused', () => {
  assert.throws(() => scenarioFromYaml(yaml(2, '512MiB', writerOn(2))), /node 2 does not exist: the machine has 2 nodes/);
  assert.throws(() => scenarioFromYaml(yaml(3, '512MiB', writerOn(0))), /does not split into 3 nodes of whole pages/);
});

test('mmsim run -j 1 and -j 2 write the same results for a multi-node machine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-numa-'));
  const file = join(dir, 'numa.yaml');
  writeFileSync(file, yaml(2, '512MiB', writerOn(0) + appOn(1)));
  const bin = join(packageRoot(), 'bin', 'mmsim.js');
  for (const j of ['1', '2']) {
    const r = spawnSync(process.execPath, [bin, 'run', file, '--out', join(dir, `j${j}`), '-j', j, '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  assert.equal(readFileSync(join(dir, 'j1', 'results.json'), 'utf8'), readFileSync(join(dir, 'j2', 'results.json'), 'utf8'));
  assert.equal(readFileSync(join(dir, 'j1', 'series.csv'), 'utf8'), readFileSync(join(dir, 'j2', 'series.csv'), 'utf8'));
});

test('a machine peak is the peak of the machine total, not the sum of the nodes\' peaks at different times', () => {
  // a writer on node 0 for the first second, one on node 1 from the third: their dirty peaks never coincide
  const burst = (node: number, start: string) => `  w${node}:
    node: ${node}
    start: ${start}
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, duration: 1s }
      - { op: sync }
      - { op: sleep, duration: 10s }
`;
  const r = runScenario(scenarioFromYaml(yaml(2, '1GiB', burst(0, '0s') + burst(1, '2s'), '4s')));
  const col = r.series.columns.indexOf('nr_dirty');
  const sampled = Math.max(...r.series.rows.map((row) => row[col]!));
  const peak = r.counters.mmsim_peak_dirty!;
  assert.ok(sampled > 1000, `dirty ${sampled}`);
  assert.ok(peak >= sampled && peak < 1.25 * sampled, `peak ${peak}, highest sampled total ${sampled}`);
  // maxima stay maxima: the longest pause of either node
  assert.ok(r.counters.mmsim_bdp_pause_max_ns! <= 200e6);
});
