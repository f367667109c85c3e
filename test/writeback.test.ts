/**
 * Writeback and dirty throttling against the kernel's rules (mm/page-writeback.c:
 * domain_dirty_limits, __wb_calc_thresh, wb_position_ratio, wb_update_write_bandwidth,
 * balance_dirty_pages; fs/fs-writeback.c: wb_check_background_flush, wb_check_old_data_flush):
 * thresholds, the control line around the setpoint,
 * bandwidth estimation, per-device shares, background and periodic writeback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import type { RunResult } from '../src/report/result.js';
import { scenarioFromYaml } from './helpers.js';

const PAGE = 4096;

/** domain_dirty_limits from the end state of a run, stated independently of the core. */
function expectedLimits(r: RunResult, vm: { ratio?: number; bgRatio?: number; bytes?: number; bgBytes?: number }) {
  const c = r.counters;
  const totalreserve = r.zones.reduce((a, z) => a + Math.min(z.managed, Math.max(...z.lowmemReserve) + z.high), 0);
  const free = c.nr_free_pages!;
  const avail = free - Math.min(free, totalreserve) + c.nr_active_file! + c.nr_inactive_file! + 1;
  const ratio = Math.floor(((vm.ratio ?? 20) * PAGE) / 100);
  const bgRatio = Math.floor(((vm.bgRatio ?? 10) * PAGE) / 100);
  const thresh = vm.bytes ? Math.ceil(vm.bytes / PAGE) : Math.floor((ratio * avail) / PAGE);
  let bg = vm.bgBytes ? Math.ceil(vm.bgBytes / PAGE) : Math.floor((bgRatio * avail) / PAGE);
  if (bg >= thresh) bg = Math.floor(thresh / 2);
  return { thresh, bg };
}

function reader(memory: string, fileSize: string, vm: string, duration = '300ms') {
  return scenarioFromYaml(`
name: limits
description: a reader filling the page cache, for dirtyable memory with file pages
duration: ${duration}
machine: { memory: ${memory} }
vm: { ${vm} }
devices:
  ssd: { readBandwidth: 4GB/s, writeBandwidth: 1GB/s, readLatency: 20us, writeLatency: 50us }
files:
  data: { size: ${fileSize}, device: ssd }
processes:
  reader:
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
`);
}

test('nr_dirty_threshold and nr_dirty_background_threshold follow domain_dirty_limits exactly', () => {
  const cases: { memory: string; file: string; vmText: string; vm: Parameters<typeof expectedLimits>[1] }[] = [
    { memory: '256MiB', file: '64MiB', vmText: '', vm: {} },
    { memory: '1GiB', file: '512MiB', vmText: 'dirty_ratio: 40, dirty_background_ratio: 5', vm: { ratio: 40, bgRatio: 5 } },
    { memory: '2GiB', file: '4GiB', vmText: 'dirty_ratio: 10, dirty_background_ratio: 10', vm: { ratio: 10, bgRatio: 10 } },
    { memory: '4GiB', file: '1GiB', vmText: 'dirty_bytes: 100MiB, dirty_background_bytes: 30MB', vm: { bytes: 100 * 2 ** 20, bgBytes: 30e6 } },
    { memory: '512MiB', file: '128MiB', vmText: 'dirty_bytes: 10000, dirty_background_ratio: 50', vm: { bytes: 10000, bgRatio: 50 } },
    { memory: '8GiB', file: '2GiB', vmText: 'dirty_ratio: 1, dirty_background_bytes: 1GiB', vm: { ratio: 1, bgBytes: 2 ** 30 } },
  ];
  for (const k of cases) {
    const r = runScenario(reader(k.memory, k.file, k.vmText));
    const want = expectedLimits(r, k.vm);
    assert.ok(r.counters.nr_inactive_file! + r.counters.nr_active_file! > 0, 'file pages count as dirtyable');
    assert.equal(r.counters.nr_dirty_threshold, want.thresh, `${k.memory} ${k.vmText}: thresh`);
    assert.equal(r.counters.nr_dirty_background_threshold, want.bg, `${k.memory} ${k.vmText}: bg`);
  }
});

function writer(opts: { memory?: string; bw?: string; duration?: string; rate?: string; vm?: string; files?: string; procs?: string } = {}) {
  return scenarioFromYaml(`
name: writer
description: dirtiers on block devices
duration: ${opts.duration ?? '12s'}
machine: { memory: ${opts.memory ?? '1GiB'} }
vm: { ${opts.vm ?? ''} }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: ${opts.bw ?? '100MB/s'}, readLatency: 1ms, writeLatency: 1ms }
  fast: { readBandwidth: 2GB/s, writeBandwidth: 400MB/s, readLatency: 100us, writeLatency: 100us }
files:
${opts.files ?? '  log: { size: 8GiB, device: disk }'}
processes:
${opts.procs ?? `  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB${opts.rate ? `, rate: ${opts.rate}` : ''} }
    loop: true`}
series: { interval: 500ms }
`);
}

const col = (r: RunResult, name: string) => r.series.columns.indexOf(name);

test('one writer faster than its device: dirty pages settle at the setpoint, its rate converges to the bandwidth, pauses ≤ 200 ms', () => {
  const r = runScenario(writer(), { invariants: 1 });
  assert.equal(r.detectorsTotal, 0);
  const rows = r.series.rows.filter((row) => row[0]! >= 4);      // after the ramp-up
  const dirty = rows.map((row) => row[col(r, 'nr_dirty')]! + row[col(r, 'nr_writeback')]!);
  const mean = dirty.reduce((a, b) => a + b, 0) / dirty.length;
  const spread = Math.sqrt(dirty.reduce((a, b) => a + (b - mean) ** 2, 0) / dirty.length);
  const last = rows[rows.length - 1]!;
  const bg = last[col(r, 'nr_dirty_background_threshold')]!;
  const limit = last[col(r, 'mmsim_dirty_limit')]!;
  const setpoint = last[col(r, 'mmsim_dirty_setpoint')]!;
  assert.ok(mean > bg && mean < limit, `dirty ${mean} between background ${bg} and the limit ${limit}`);
  assert.ok(Math.abs(mean - setpoint) < 0.1 * setpoint, `dirty ${mean.toFixed(0)} ≈ setpoint ${setpoint}`);
  assert.ok(spread < 0.03 * setpoint, `steady: spread ${spread.toFixed(0)} pages`);
  // the writer's dirty rate over the steady part equals the device's bandwidth
  const first = rows[0]!;
  const secs = last[0]! - first[0]!;
  const dirtyRate = (last[col(r, 'nr_dirtied')]! - first[col(r, 'nr_dirtied')]!) / secs;
  const deviceRate = 100e6 / PAGE;
  assert.ok(Math.abs(dirtyRate - deviceRate) < 0.05 * deviceRate, `dirty rate ${dirtyRate.toFixed(0)} ≈ ${deviceRate.toFixed(0)} pages/s`);
  // the per-task series shows the same: the writer's own dirty rate in each interval
  const taskRates = rows.slice(1).map((row) => row[col(r, 'task_writer_dirty_rate_pages_s')]!);
  for (const rate of taskRates) assert.ok(Math.abs(rate - deviceRate) < 0.1 * deviceRate, `task dirty rate ${rate}`);
  assert.ok(last[col(r, 'task_writer_pause_ns')]! > 0 && last[col(r, 'task_writer_pause_ns')]! <= 200e6);
  // bandwidth estimation converged on the device
  assert.ok(Math.abs(r.wbs[0]!.writeBandwidth - deviceRate) < 0.05 * deviceRate, `write_bandwidth ${r.wbs[0]!.writeBandwidth}`);
  assert.ok(r.counters.mmsim_bdp_pauses! > 100);
  assert.ok(r.counters.mmsim_bdp_pause_max_ns! <= 200e6, 'no pause over MAX_PAUSE');
  assert.equal(r.counters.mmsim_bdp_pause_200ms, 0, 'never at the hard limit in steady state');
});

test('no writer is throttled while dirty pages stay below the freerun ceiling', () => {
  // 4 MB/s against a 100 MB/s disk: background writeback keeps up, dirty stays low
  const r = runScenario(writer({ rate: '64', duration: '6s' }));
  assert.ok(r.counters.nr_dirtied! > 1000);
  assert.ok(r.counters.mmsim_bdp_calls! > 0, 'the writer checked');
  assert.equal(r.counters.mmsim_bdp_pauses, 0);
  assert.equal(r.counters.mmsim_dirty_throttle_ns, 0);
  assert.equal(r.counters.mmsim_bdp_calls, r.counters.mmsim_bdp_freerun);
});

test('two devices: each wb\'s share of the threshold follows its share of completions; the slow one does not hold back the fast one', () => {
  const r = runScenario(writer({
    duration: '10s',
    files: '  slowlog: { size: 8GiB, device: disk }\n  fastlog: { size: 8GiB, device: fast }',
    procs: `  slow:
    workload:
      - { op: write, target: slowlog, pattern: sequential, ioSize: 64KiB }
    loop: true
  fast:
    workload:
      - { op: write, target: fastlog, pattern: sequential, ioSize: 64KiB }
    loop: true`,
  }));
  const [slow, fast] = r.wbs;
  const total = slow!.completionShare + fast!.completionShare;
  assert.ok(Math.abs(total - 1) < 0.01);
  // completions over the last periods follow the bandwidths 100 : 400 MB/s
  assert.ok(Math.abs(fast!.completionShare - 0.8) < 0.05, `fast share ${fast!.completionShare}`);
  assert.ok(fast!.wbThresh > 3 * slow!.wbThresh, `wb_thresh ${fast!.wbThresh} vs ${slow!.wbThresh}`);
  // each device is kept busy: written ≈ bandwidth × time after the ramp-up
  assert.ok(fast!.written * PAGE > 0.8 * 400e6 * 9, `fast wrote ${fast!.written * PAGE / 1e6} MB`);
  assert.ok(slow!.written * PAGE > 0.8 * 100e6 * 9, `slow wrote ${slow!.written * PAGE / 1e6} MB`);
});

test('background writeback starts above the background threshold and stops below it', () => {
  // a 30 MB burst on a 1 GiB machine (threshold ≈ 200 MB, background ≈ 100 MB): no background work;
  // a 160 MB burst crosses the background threshold: the flusher writes until under it
  const small = runScenario(writer({ duration: '3s', procs: `  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, length: 32MiB }
      - { op: sleep, duration: 3s }` }));
  assert.equal(small.counters.mmsim_flusher_pages_background, 0);
  assert.equal(small.counters.nr_written, 0, 'nothing written before expiry');
  assert.ok(small.counters.nr_dirty! > 7000);
  const big = runScenario(writer({ duration: '3s', procs: `  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, length: 160MiB }
      - { op: sleep, duration: 3s }` }));
  const bg = big.counters.nr_dirty_background_threshold!;
  assert.ok(big.counters.mmsim_flusher_pages_background! > 0);
  assert.ok(big.counters.nr_dirty! <= bg, `stopped at or below the background threshold: ${big.counters.nr_dirty} ≤ ${bg}`);
  assert.ok(big.counters.nr_dirty! > bg - 2 * 25600, 'and not far below it: the rest waits for expiry');
});

test('periodic writeback writes inodes dirty longer than dirty_expire_centisecs, even below the background threshold', () => {
  // A burst over the background threshold first gives the device its share of completions (on a
  // device with no completion history any dirty page counts as over its background share);
  // then a small file is written at 40 s and left below every threshold.
  const r = runScenario(writer({
    duration: '80s',
    files: '  log: { size: 8GiB, device: disk }\n  small: { size: 64MiB, device: disk }',
    procs: `  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, length: 160MiB }
      - { op: sleep, duration: 40s }
      - { op: write, target: small, pattern: sequential, ioSize: 64KiB, length: 32MiB }
      - { op: sleep, duration: 40s }`,
  }));
  const rows = r.series.rows;
  const at = (t: number) => rows.find((row) => row[0]! >= t)!;
  // by 40 s the burst is fully written: what the background pass left waited for its expiry
  assert.equal(at(40)[col(r, 'nr_dirty')], 0);
  assert.ok(at(40)[col(r, 'mmsim_flusher_pages_kupdate')]! > 0, 'the rest of the burst went by kupdate');
  const kupdateBefore = at(40)[col(r, 'mmsim_flusher_pages_kupdate')]!;
  // the small file stays dirty for dirty_expire_centisecs (30 s), then kupdate writes all of it
  assert.equal(at(69)[col(r, 'nr_dirty')], 32 * 256, 'still dirty before it expires');
  assert.equal(at(69)[col(r, 'mmsim_flusher_pages_background')], at(40)[col(r, 'mmsim_flusher_pages_background')], 'no background work below the threshold');
  assert.equal(r.counters.nr_dirty, 0, 'written after expiry');
  assert.equal(r.counters.mmsim_flusher_pages_kupdate! - kupdateBefore, 32 * 256, 'by periodic writeback');
});

test('sync writes every dirty page (WB_SYNC_ALL) and the caller waits until it is on disk', () => {
  const r = runScenario(writer({ duration: '20s', procs: `  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB, length: 32MiB }
      - { op: sync }
      - { op: sleep, duration: 1s }` }));
  const c = r.counters;
  assert.equal(c.mmsim_sync_calls, 1);
  assert.equal(c.mmsim_flusher_pages_sync, 32 * 256, 'the sync pass wrote the dirty file');
  assert.equal(c.nr_dirty, 0);
  assert.equal(c.nr_written, 32 * 256);
  // 32 MiB at 100 MB/s: the caller waited about a third of a second, not the 30 s expiry
  assert.ok(c.mmsim_sync_ns! > 0.3e9 && c.mmsim_sync_ns! < 0.5e9, `sync took ${c.mmsim_sync_ns! / 1e6} ms`);
  assert.ok(r.simulatedSeconds < 2, 'the run ended after the workload, well before expiry');
});

test('strictlimit (FUSE-like, max_ratio 1%): the writer is throttled on its device\'s own share while the system is far below its limits', () => {
  const r = runScenario(scenarioFromYaml(`
name: fuse
description: a writer on a strict-limit device
duration: 6s
machine: { memory: 1GiB }
devices:
  fuse: { readBandwidth: 200MB/s, writeBandwidth: 100MB/s, readLatency: 1ms, writeLatency: 1ms, maxRatio: 1, strictLimit: true }
files:
  f: { size: 8GiB, device: fuse }
processes:
  writer:
    workload:
      - { op: write, target: f, pattern: sequential, ioSize: 64KiB }
    loop: true
series: { interval: 500ms }
`));
  const c = r.counters;
  const thresh = c.nr_dirty_threshold!;
  const freerun = c.mmsim_dirty_freerun!;
  assert.ok(c.mmsim_bdp_pauses! > 0, 'throttled');
  assert.ok(r.wbs[0]!.wbThresh <= Math.ceil(thresh / 100), `wb_thresh ${r.wbs[0]!.wbThresh} ≤ 1% of ${thresh}`);
  // global dirty + writeback never came near the freerun ceiling
  const peak = c.mmsim_peak_dirty_writeback!;
  assert.ok(peak < freerun / 2, `peak ${peak} far below freerun ${freerun}`);
  // throttling still lets the device run near its bandwidth
  const steady = r.series.rows.filter((row) => row[0]! >= 2);
  const rate = steady.map((row) => row[col(r, 'task_writer_dirty_rate_pages_s')]!);
  const mean = rate.reduce((a, b) => a + b, 0) / rate.length;
  assert.ok(mean < 1.1 * 100e6 / PAGE, `dirty rate ${mean} at most the device's`);
});
