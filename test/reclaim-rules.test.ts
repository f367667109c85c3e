/**
 * Reclaim and fault rules checked against the kernel's code (mm/vmscan.c, mm/page_alloc.c,
 * mm/filemap.c, mm/swap_state.c), each on a small scenario built to reach it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';
import { compareTable, reader } from './cli-helpers.js';

const HZ_10_NS = 100_000_000;   // HZ/10: reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK)'s timeout

/** Anonymous pages written twice as fast as memory allows, swapped to a device slow to complete. */
function slowSwap(writeLatency: string, queueDepth: number, memory = '256MiB') {
  return scenarioFromYaml(`
name: slow-swap
description: swap writes that take long to complete, so kswapd meets pages still under writeback
duration: 10s
machine: { memory: ${memory} }
devices:
  disk: { readBandwidth: 40MB/s, writeBandwidth: 1GB/s, readLatency: 5ms, writeLatency: ${writeLatency}, queueDepth: ${queueDepth} }
swap: { size: 1GiB, device: disk }
processes:
  app:
    vmas:
      heap: { type: anon, size: 512MiB }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1, rate: 50000 }
`);
}

test('kswapd throttled on writeback wakes when 32 pages have finished, before HZ/10', () => {
  // a small machine, so that kswapd cycles its inactive list while the 50 ms writes are in
  // flight and meets its own PG_reclaim pages again at the tail
  const c = runScenario(slowSwap('50ms', 1024, '64MiB')).counters;
  const throttles = c.mmsim_kswapd_throttles!;
  const slept = c.mmsim_kswapd_throttled_ns!;
  assert.ok(throttles >= 1, `kswapd never throttled (${throttles})`);
  // every sleep ends by HZ/10 at the latest, and completions end at least one sooner
  assert.ok(slept <= throttles * HZ_10_NS, `slept ${slept} ns in ${throttles} throttles`);
  assert.ok(slept < throttles * HZ_10_NS, `no throttle was woken early: ${slept} ns in ${throttles}`);
  assert.ok(slept > 0);
});

test('CONGESTED/NOPROGRESS throttles are skipped when write-pending pages are few', () => {
  // no swap: direct reclaim has nothing to reclaim and reaches priority 1 with nothing done,
  // where consider_reclaim_throttle would sleep on NOPROGRESS; nothing is write-pending (no
  // file pages, no swap writes), far below half the reclaimable pages (a zone without LRU
  // pages counts its free ones), so skip_throttle_noprogress skips the sleep
  const c = runScenario(scenarioFromYaml(`
name: no-swap
description: an anonymous heap larger than memory and no swap
duration: 2s
machine: { memory: 64MiB }
processes:
  app:
    vmas:
      heap: { type: anon, size: 128MiB }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
`)).counters;
  assert.ok(c.allocstall_movable! > 0, 'the run must reach direct reclaim');
  assert.ok(c.mmsim_reclaim_throttle_skipped! >= 1, `skipped ${c.mmsim_reclaim_throttle_skipped}`);
  assert.equal(c.mmsim_reclaim_throttle_noprogress, 0);
});

test('write(2) does not mark pages accessed: rewriting a file activates nothing', () => {
  // FGP_WRITEBEGIN has no FGP_ACCESSED: only reads count as accesses for the LRU
  const c = runScenario(scenarioFromYaml(`
name: rewriter
description: a task rewriting a 16MiB file over and over, nothing else
duration: 2s
machine: { memory: 1GiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
files:
  log: { size: 16MiB, device: ssd }
processes:
  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, duration: 2s }
`)).counters;
  assert.ok(c.mmsim_accesses! > 3 * 4096, `the file's 4096 pages must be rewritten several times (${c.mmsim_accesses} page writes)`);
  assert.equal(c.pgactivate, 0);
  assert.equal(c.nr_active_file, 0);
});

test('a read of the same file by a second task waits on the first one\'s IO as a minor fault', () => {
  // two tasks map one file and read it in step: only the pages read from the device are major
  // faults (filemap_fault counts PGMAJFAULT only when the page cache had no page at all)
  const scenario = (tasks: number) => scenarioFromYaml(`
name: shared-map
description: tasks reading one mapped file in the same order
duration: 1s
machine: { memory: 1GiB }
devices:
  hdd: { readBandwidth: 100MB/s, writeBandwidth: 100MB/s, readLatency: 5ms, writeLatency: 5ms }
files:
  data: { size: 64MiB, device: hdd }
processes:
${Array.from({ length: tasks }, (_, i) => `  reader${i}:
    vmas:
      map: { type: file, file: data, size: 64MiB }
    workload:
      - { op: access, target: map, pattern: sequential, accesses: 16384 }`).join('\n')}
`);
  const one = runScenario(scenario(1)).counters;
  const two = runScenario(scenario(2)).counters;
  assert.ok(one.pgmajfault! > 0);
  assert.equal(two.pgpgin, one.pgpgin, 'the second reader reads nothing from the device');
  assert.equal(two.pgmajfault, one.pgmajfault, 'nor does it take major faults');
  assert.equal(two.pgfault, 2 * one.pgfault!);
});

test('read faults on a cached file map the 16-page fault-around window at once', () => {
  // do_fault_around with fault_around_bytes = 64 KiB: one fault per 16 cached pages
  const pages = 16384;
  const c = runScenario(scenarioFromYaml(`
name: fault-around
description: a file read into the page cache, then read through a mapping
duration: 5s
machine: { memory: 1GiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
files:
  data: { size: 64MiB, device: ssd }
processes:
  app:
    vmas:
      map: { type: file, file: data, size: 64MiB }
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 128KiB }
      - { op: access, target: map, pattern: sequential, accesses: ${pages} }
      - { op: sleep, duration: 1h }
`)).counters;
  assert.equal(c.nr_mapped, pages, 'every page of the file ends up mapped');
  assert.ok(c.pgfault! >= pages / 16 && c.pgfault! <= pages / 16 + 2, `pgfault ${c.pgfault}, expected about ${pages / 16}`);
  assert.equal(c.pgmajfault, 0, 'the pages were all cached');
});

test('many direct reclaimers at once: batches isolated together, too_many_isolated makes later ones wait', () => {
  // forty tasks writing anonymous memory on a 32 MiB machine with slow swap: each reclaimer's
  // batch stays isolated while the others run, so more than an eighth of the inactive anon list
  // is isolated at once and shrink_inactive_list throttles on VMSCAN_THROTTLE_ISOLATED; the
  // sleepers are woken (wake_throttle_isolated) well before HZ/50
  const tasks = Array.from({ length: 40 }, (_, i) =>
    `  t${i}: { vmas: { heap: { type: anon, size: 2MiB } }, workload: [{ op: access, target: heap, pattern: uniform, writeFraction: 1 }] }`).join('\n');
  const r = runScenario(scenarioFromYaml(`
name: many-reclaimers
description: forty tasks writing anonymous memory on a small machine with slow swap
duration: 1s
check: true
machine: { memory: 32MiB }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: 200MB/s, readLatency: 2ms, writeLatency: 2ms, queueDepth: 4 }
swap: { size: 256MiB, device: disk }
processes:
${tasks}
`));
  const c = r.counters;
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors.slice(0, 3)));
  assert.ok(c.mmsim_peak_isolated! > 10 * 32, `at most ${c.mmsim_peak_isolated} pages isolated at once`);
  const sleeps = c.mmsim_reclaim_throttle_isolated!;
  assert.ok(sleeps > 0, 'no reclaimer waited in too_many_isolated');
  assert.ok(c.mmsim_reclaim_throttled_ns! < sleeps * 20_000_000, 'every ISOLATED sleep ran its full HZ/50');
});

test('memcg rstat flushing: stale refault counts stop refault-driven deactivation, so more refaults activate', () => {
  // random 4 KiB reads over a file twice the page cache, no readahead. With the memcg copies
  // flushed every 100 ms (machine.memcgStatsFlush), prepare_scan_control's refault test sees
  // the same count as snapshot_refaults between flushes, so the active file list is only
  // deactivated below inactive_is_low's balance, the workingset test passes more refaults and
  // workingset_activate_file per refault rises by about a fifth (the gap measured against a
  // kernel reclaiming in a memory cgroup); the miss ratio stays where it was
  const run = (flush: string) => runScenario(scenarioFromYaml(`
name: uniform-pread
description: random 4 KiB reads over a file twice the page cache
duration: 16s
machine: { memory: 256MiB, readAhead: 4KiB, memcgStatsFlush: ${flush} }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 20us, writeLatency: 200us }
files:
  data: { size: 512MiB, device: ssd }
processes:
  reader:
    workload:
      - { op: read, target: data, pattern: uniform, ioSize: 4KiB }
`)).counters;
  const live = run('0'); const flushed = run('100ms');
  const activation = (c: Record<string, number>) => c.workingset_activate_file! / c.workingset_refault_file!;
  const missRatio = (c: Record<string, number>) => c.mmsim_pagecache_misses! / (c.mmsim_pagecache_misses! + c.mmsim_pagecache_hits!);
  const rise = activation(flushed) / activation(live);
  assert.ok(rise > 1.12 && rise < 1.35, `activations per refault ×${rise.toFixed(3)}`);
  assert.ok(Math.abs(missRatio(flushed) / missRatio(live) - 1) < 0.01, `miss ratio ${missRatio(live)} → ${missRatio(flushed)}`);
  assert.ok(flushed.pgdeactivate! < live.pgdeactivate!, 'fewer deactivations');
});

test('a fault maps its page only once the read has completed (VM_FAULT_RETRY), and counts pgfault again', () => {
  // one task faulting a mapped file from a device with 300 ms of read latency: the first
  // fault starts the read and sleeps; until the read completes at ~300 ms no page is mapped,
  // and the retried fault (a second pgfault, no second major fault) maps it
  const r = runScenario(scenarioFromYaml(`
name: slow-read
description: a mapped file on a slow device
duration: 1s
machine: { memory: 256MiB, readAhead: 4KiB }
devices:
  slow: { readBandwidth: 100MB/s, writeBandwidth: 100MB/s, readLatency: 300ms, writeLatency: 300ms }
files:
  data: { size: 1MiB, device: slow }
processes:
  reader:
    vmas:
      m: { type: file, file: data, size: 1MiB }
    workload:
      - { op: access, target: m, pattern: sequential, accesses: 1 }
      - { op: sleep, duration: 2s }
series: { interval: 100ms }
`));
  const col = r.series.columns.indexOf('nr_mapped');
  const at = (s: number) => r.series.rows.find((row) => Math.abs(row[0]! - s) < 1e-9)![col];
  assert.equal(at(0.2), 0, 'mapped before its read completed');
  assert.equal(at(0.4), 1);
  assert.equal(r.counters.pgmajfault, 1);
  assert.equal(r.counters.pgfault, 2);
});

test('a machine filled by fresh stores: kswapd fails while SCAN_FRACT keeps the empty file list\'s share, and the first direct reclaim sweeps the young list all the same', async () => {
  // bench-pressure on 256 K frames: every folio on the inactive list was faulted in once and is
  // young, so its first look keeps it (folio_check_references: FOLIOREF_KEEP). At swappiness 60
  // calculate_pressure_balance gives anon 60 against the empty file list's 140 (90 against 420
  // once rotations charge anon_cost), so a whole balance_pgdat run scans about a sixth of the
  // list, finds nothing to reclaim and fails. At 200 the file share is 0: kswapd's run goes on
  // until the list has come round once, and does not fail. The direct reclaimer's priority-0
  // sweep (SCAN_EQUAL) meets the same young folios either way.
  const v = reader(await compareTable('bench-pressure', 'vm.swappiness', ['60', '200'],
    '--set', 'machine.memory=1GiB', '--set', 'processes.bench.vmas.heap.size=16GiB', '--set', 'swap.size=16GiB',
    '--set', 'processes.bench.workload.0.accesses=1500000', '--figure', 'mmsim_kswapd_failures,pgscan_direct,pgsteal_direct'));
  assert.equal(v('mmsim_kswapd_failures', '60'), 2);
  assert.equal(v('mmsim_kswapd_failures', '200'), 0);
  for (const col of ['60', '200']) {
    const scanned = v('pgscan_direct', col); const stolen = v('pgsteal_direct', col);
    assert.ok(scanned > 100_000 && scanned > 50 * stolen, `swappiness ${col}: direct reclaim scanned ${scanned}, reclaimed ${stolen}`);
  }
});
