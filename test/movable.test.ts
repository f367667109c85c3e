/**
 * ZONE_MOVABLE (machine.movablecore, find_zone_movable_pfns_for_nodes) and the migration of
 * long-term pinned pages out of it (pins.migrateLongterm: __gup_longterm_locked →
 * check_and_migrate_movable_pages → migrate_pages, v5.13), against mm/migrate.c and mm/gup.c:
 * the pages a registration finds in ZONE_MOVABLE are moved and pinned where they are, their
 * data and dirty state with them; a page another pin holds cannot be moved, and the
 * registration fails (-ENOMEM); before v5.13 nothing moves and the zone's memory is made
 * unmovable. Runs go through the CLI (`mmsim run --check`: the invariants at every sample).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { loadScenario } from '../src/scenario/load.js';
import { scenarioFromYaml } from './helpers.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-movable-'));
let runs = 0;

interface Results { counters: Record<string, number>; zones: { name: string; managed: number }[]; detectorsTotal: number }
interface Run { status: number | null; stderr: string; results?: Results; series?: Record<string, number>[] }

/** `mmsim run <yaml> --check [--set ...]`: the exit status, stderr, results.json and series.csv. */
function cliRun(yaml: string, sets: string[] = []): Run {
  const n = ++runs;
  const file = join(dir, `s${n}.yaml`);
  writeFileSync(file, yaml);
  const out = join(dir, `out${n}`);
  const r = spawnSync(process.execPath, [bin, 'run', file, '--quiet', '--check', '--out', out, ...sets.flatMap((s) => ['--set', s])], { encoding: 'utf8' });
  if (r.status !== 0) return { status: r.status, stderr: r.stderr };
  const [head, ...rows] = readFileSync(join(out, 'series.csv'), 'utf8').trim().split('\n');
  const cols = head!.split(',');
  const series = rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [cols[i]!, Number(v)])));
  return { status: r.status, stderr: r.stderr, results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results, series };
}

const peak = (r: Run, name: string): number => Math.max(...r.series!.map((row) => row[name]!));

/** An anonymous buffer faulted into ZONE_MOVABLE (allocations take the highest zone first), then registered by an RDMA device. */
const ANON = `
name: longterm-anon
duration: 2s
machine: { memory: 1GiB, movablecore: 512MiB }
pins: { track: bias, action: mainline }
processes:
  app:
    vmas: { buf: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: buf, writeFraction: 1, accesses: 16384 }
      - { op: sleep, duration: 20s }
  rdma:
    start: 200ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, writeFraction: 1, pattern: uniform, rate: 20000, duration: 1s }
`;

describe('machine.movablecore: ZONE_MOVABLE', () => {
  it('takes the top of memory, rounded to 4MiB blocks; watermarks and lowmem_reserve as the kernel computes them for it', () => {
    const r = cliRun(ANON, ['pins.migrateLongterm=false']);
    assert.equal(r.status, 0, r.stderr);
    const zones = Object.fromEntries(r.results!.zones.map((z) => [z.name, z]));
    assert.deepEqual(Object.keys(zones), ['DMA', 'DMA32', 'Movable']);
    assert.equal(zones['Movable']!.managed, 131072);
    assert.equal(zones['DMA32']!.managed, 126976, 'ZONE_MOVABLE is carved out of the highest zone');
    const m = zones['Movable'] as unknown as { min: number; lowmemReserve: number[] };
    assert.equal(m.min, 128, 'a movable zone\'s min is clamp(managed / 1024, 32, 128)');
    assert.deepEqual((zones['DMA'] as unknown as { lowmemReserve: number[] }).lowmemReserve, [0, 496, 496, 1008], '(DMA32 + Movable) / 256 protects DMA from movable allocations');
    const c = r.results!.counters;
    assert.equal(c['pgalloc_movable'], 16384, 'user pages go to ZONE_MOVABLE first');
    assert.ok(c['pgalloc_dma32']! > 0 && c['pgalloc_dma32']! < 100, 'page tables (GFP_KERNEL) never do');
  });

  it('movablecore 0 is the machine as before: the same bytes as a scenario without it, and pins.migrateLongterm changes nothing without the zone', () => {
    const run = (sets: string[]) => formatResultsJson(runScenario(loadScenario('gup-writeback-bug', ['pins.track=bias', 'pins.action=per-caller', ...sets])));
    const base = run([]);
    assert.ok(base === run(['machine.movablecore=0']));
    assert.ok(base === run(['pins.migrateLongterm=false']));
    const z = (JSON.parse(base) as Results).zones.map((x) => x.name);
    assert.ok(!z.includes('Movable'));
    const c = (JSON.parse(base) as Results).counters;
    assert.equal(c['pgmigrate_success'], 0);
    assert.equal(c['mmsim_longterm_pin_retries'], 0);
  });

  it('a NUMA machine: movablecore spread evenly over the nodes, as the kernel spreads kernelcore', () => {
    const s = scenarioFromYaml(`
name: numa-movable
duration: 10ms
machine: { memory: 12GiB, nodes: 2, movablecore: 2GiB }
processes:
  idle:
    workload: [{ op: sleep, duration: 10ms }]
`);
    // kernelcore = 12GiB - 2GiB, 5GiB a node: each 6GiB node's top 1GiB is ZONE_MOVABLE
    const zones = Object.fromEntries(runScenario(s).zones.map((z) => [z.name, z.managed]));
    assert.equal(zones['node0 Movable'], 262144);
    assert.equal(zones['node1 Movable'], 262144);
    assert.equal(zones['node0 Normal'], 262144, 'what is left above 4GiB');
  });

  it('bad values are refused before anything runs (exit 2), naming the field, the value and one that would do', () => {
    const tooMuch = cliRun(ANON, ['machine.movablecore=900MiB']);
    assert.equal(tooMuch.status, 2);
    assert.match(tooMuch.stderr, /machine\.movablecore: 900MiB leaves 124MiB outside ZONE_MOVABLE.*at least 205MiB.*4:1.*e\.g\. movablecore: 768MiB/);
    const all = cliRun(ANON, ['machine.movablecore=1GiB']);
    assert.equal(all.status, 2);
    assert.match(all.stderr, /machine\.movablecore: 1GiB is all of machine\.memory.*e\.g\. movablecore: 768MiB/);
    const odd = cliRun(ANON, ['machine.movablecore=1000']);
    assert.equal(odd.status, 2);
    assert.match(odd.stderr, /machine\.movablecore: 1000 .*not a multiple of the 4KiB page size/);
    const offLru = cliRun(ANON, ['pins.track=off-lru-count', 'pins.action=per-caller']);
    assert.equal(offLru.status, 2);
    assert.match(offLru.stderr, /pins\.migrateLongterm: .*off-lru-count keeps pinned pages off it.*e\.g\. migrateLongterm: false/);
  });
});

describe('FOLL_LONGTERM pins migrate out of ZONE_MOVABLE (check_and_migrate_movable_pages)', () => {
  it('rdma-mr of an anonymous buffer: every page migrated, pinned outside ZONE_MOVABLE, the DMA lands on the pages the process maps', () => {
    const r = cliRun(ANON);
    assert.equal(r.status, 0, r.stderr);
    const c = r.results!.counters;
    assert.equal(c['pgmigrate_success'], 16384);
    assert.equal(c['mmsim_longterm_migrated'], 16384);
    assert.equal(c['pgmigrate_fail'], 0);
    assert.equal(c['mmsim_longterm_migrate_failed'], 0);
    assert.equal(c['mmsim_longterm_pin_retries'], 32, 'one -EAGAIN per batch of 512 pages');
    assert.equal(peak(r, 'mmsim_nr_longterm_pinned_movable'), 0, 'no sample sees a long-term pin in ZONE_MOVABLE');
    assert.equal(c['nr_foll_pin_acquired'], 2 * 16384, 'each page pinned, unpinned for the migration, and pinned again');
    assert.equal(c['nr_foll_pin_acquired'], c['nr_foll_pin_released']);
    assert.ok(c['mmsim_dma_writes']! > 15000);
    assert.equal(c['mmsim_dma_after_free'], 0);
    assert.equal(c['nr_anon_pages'], 16384, 'every page mapped again (remove_migration_ptes)');
    assert.equal(c['nr_isolated_anon'], 0);
    assert.equal(c['mmsim_bug'], 0);
    assert.equal(r.results!.detectorsTotal, 0, 'the invariants hold at every sample (--check)');
  });

  it('pins.migrateLongterm false (before v5.13): nothing moves; the pinned pages stay in ZONE_MOVABLE, unmovable', () => {
    const r = cliRun(ANON, ['pins.migrateLongterm=false']);
    assert.equal(r.status, 0, r.stderr);
    const c = r.results!.counters;
    assert.equal(c['pgmigrate_success'], 0);
    assert.equal(c['mmsim_longterm_pin_retries'], 0);
    assert.equal(peak(r, 'mmsim_nr_longterm_pinned_movable'), 16384);
    assert.equal(c['mmsim_nr_longterm_pinned_movable'], 0, 'the deregistration lets them go');
    assert.equal(c['nr_foll_pin_acquired'], 16384);
    assert.equal(c['mmsim_dma_after_free'], 0);
  });

  it('a dirty shared file mapping: the page cache, its buffers and dirty state move with the pages; the flusher writes them afterwards', () => {
    const yaml = `
name: longterm-file
duration: 3s
machine: { memory: 1GiB, movablecore: 512MiB }
vm: { dirty_expire_centisecs: 200, dirty_writeback_centisecs: 100 }
devices: { disk: { readBandwidth: 400MB/s, writeBandwidth: 200MB/s } }
files: { data: { size: 16MiB, device: disk } }
pins: { track: bias, action: mainline }
processes:
  app:
    vmas: { buf: { type: file, file: data, size: 16MiB, shared: true } }
    workload:
      - { op: access, target: buf, writeFraction: 1, accesses: 4096 }
      - { op: sleep, duration: 20s }
  rdma:
    start: 200ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, pattern: uniform, rate: 20000, duration: 1s }
`;
    const r = cliRun(yaml);
    assert.equal(r.status, 0, r.stderr);
    const c = r.results!.counters;
    assert.equal(c['pgmigrate_success'], 4096);
    // the pages migrate at 0.2 s and stay dirty until the flusher's periodic pass after 1 s
    const at = (t: number) => r.series!.find((row) => Math.abs(row['time_s']! - t) < 1e-9)!;
    assert.equal(at(0.3)['pgmigrate_success'], 4096);
    for (const t of [0.1, 0.3, 0.6, 1]) assert.equal(at(t)['nr_dirty'], 4096, `dirty at ${t} s`);
    assert.equal(c['nr_dirtied'], 4096, 'no page was dirtied twice: the dirty state moved, it was not lost and set again');
    assert.equal(c['nr_written'], 4096);
    assert.equal(c['mmsim_nr_buffer_pages'], 4096, 'buffer_migrate_folio moved the buffers');
    assert.equal(c['mmsim_bug_writeback_no_buffers'], 0);
    assert.equal(c['nr_file_pages'], 4096);
    assert.equal(c['nr_mapped'], 4096);
    assert.equal(c['mmsim_dma_after_free'], 0);
    assert.equal(c['nr_isolated_file'], 0);
    assert.equal(r.results!.detectorsTotal, 0);
  });

  it('pages direct I/O holds pinned cannot be migrated: pgmigrate_fail, and the registration fails (-ENOMEM) with nothing left pinned', () => {
    const yaml = `
name: longterm-pinned
duration: 3s
machine: { memory: 1GiB, movablecore: 512MiB }
devices: { slow: { readBandwidth: 100MB/s, writeBandwidth: 100MB/s, readLatency: 1s } }
pins: { track: bias, action: mainline }
processes:
  app:
    vmas: { buf: { type: anon, size: 16MiB } }
    workload:
      - { op: access, target: buf, writeFraction: 1, accesses: 4096 }
      - { op: sleep, duration: 20s }
  dio:
    start: 100ms
    workload:
      - { op: dma, model: direct-io, process: app, target: buf, device: slow, iodepth: 4, ioSize: 64KiB, writeFraction: 1, accesses: 4 }
  rdma:
    start: 200ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, writeFraction: 1, pattern: uniform, rate: 20000, duration: 1s }
`;
    for (const action of ['mainline', 'per-caller']) {
      // mainline: try_to_migrate_one keeps a maybe-pinned exclusive anon page mapped; otherwise
      // folio_migrate_mapping's refcount freeze fails: -EAGAIN either way, 10 times, then given up
      const r = cliRun(yaml, [`pins.action=${action}`]);
      assert.equal(r.status, 0, r.stderr);
      const c = r.results!.counters;
      assert.equal(c['pgmigrate_fail'], 64, `${action}: the 4 requests' 16 pages each`);
      assert.equal(c['pgmigrate_success'], 512 - 64, `${action}: the rest of the first batch`);
      assert.equal(c['mmsim_longterm_migrate_failed'], 1, action);
      assert.equal(c['mmsim_longterm_pin_retries'], 0, action);
      assert.equal(c['nr_foll_pin_acquired'], 64 + 512, `${action}: the direct I/O's pins and the first batch`);
      assert.equal(c['nr_foll_pin_acquired'], c['nr_foll_pin_released'], action);
      assert.equal(c['mmsim_dma_writes'], 64, `${action}: only the direct I/O's: the device never registered`);
      assert.equal(c['nr_isolated_anon'], 0, action);
      assert.equal(c['nr_anon_pages'], 4096, `${action}: the failed migrations mapped them back`);
      assert.equal(r.results!.detectorsTotal, 0, action);
    }
    const old = cliRun(yaml, ['pins.migrateLongterm=false']);
    assert.equal(old.results!.counters['mmsim_longterm_migrate_failed'], 0, 'before v5.13 the pin just succeeds');
    assert.equal(peak(old, 'mmsim_nr_longterm_pinned_movable'), 4096);
  });

  it('longterm-movable (the README\'s table): both registrations migrated, or with the direct I/O the writable one fails', () => {
    const c = (sets: string[]) => runScenario(loadScenario('longterm-movable', sets)).counters;
    const on = c([]); const off = c(['pins.migrateLongterm=false']);
    assert.equal(on['pgmigrate_success'], 20480);
    assert.equal(on['mmsim_longterm_pin_retries'], 40);
    assert.equal(on['mmsim_nr_longterm_pinned_movable'], 0);
    assert.equal(off['pgmigrate_success'], 0);
    assert.equal(off['mmsim_nr_longterm_pinned_movable'], 20480, 'still registered at the end: the zone\'s memory made unmovable');
    assert.equal(on['nr_dirty'], 4096);
    assert.ok(on['mmsim_dma_writes']! < off['mmsim_dma_writes']!, 'the registration took the migration\'s time');
    const dio = c(['processes.dio.start=400ms']);
    assert.equal(dio['pgmigrate_fail'], 64);
    assert.equal(dio['mmsim_longterm_migrate_failed'], 1);
    assert.equal(dio['pgmigrate_success'], 4096 + 512 - 64);
    assert.equal(dio['mmsim_dma_writes'], 64, 'the direct I/O\'s own');
  });

  it('the pinning task killed in the middle of a migration (OOM) lets every folio go: mapped again, unlocked, put back, nothing pinned', () => {
    const yaml = `
name: longterm-kill
duration: 3s
machine: { memory: 256MiB, movablecore: 192MiB }
pins: { track: bias, action: mainline }
processes:
  app:
    vmas: { buf: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: buf, writeFraction: 1, accesses: 24576 }
      - { op: sleep, duration: 20s }
  rdma:
    start: 100ms
    oom_score_adj: 1000
    vmas: { own: { type: anon, size: 128MiB } }
    workload:
      - { op: access, target: own, writeFraction: 1, accesses: 20000 }
      - { op: dma, model: rdma-mr, process: app, target: buf, writeFraction: 1, pattern: uniform, rate: 20000, duration: 1s }
  hog:
    start: 150ms
    vmas: { h: { type: anon, size: 128MiB } }
    workload:
      - { op: access, target: h, writeFraction: 1, pattern: uniform }
`;
    const r = cliRun(yaml);
    assert.equal(r.status, 0, r.stderr);
    const c = r.results!.counters;
    assert.equal(c['oom_kill'], 1);
    assert.ok(c['pgmigrate_success']! > 0 && c['pgmigrate_success']! % 512 !== 0, `killed within a batch: ${c['pgmigrate_success']}`);
    assert.equal(c['nr_isolated_anon'], 0);
    assert.equal(c['nr_foll_pin_acquired'], c['nr_foll_pin_released']);
    assert.equal(c['mmsim_nr_pinned'], 0);
    assert.equal(c['mmsim_bug'], 0);
    assert.equal(r.results!.detectorsTotal, 0);
  });

  it('the steps that sleep (folio_wait_writeback, the target\'s allocation in direct reclaim, a blocking notifier in try_to_migrate_one) resume where they slept', () => {
    const yaml = `
name: longterm-sleeps
duration: 4s
machine: { memory: 384MiB, movablecore: 256MiB }
vm: { dirty_expire_centisecs: 50, dirty_writeback_centisecs: 20, dirty_background_bytes: 8MiB }
devices: { disk: { readBandwidth: 400MB/s, writeBandwidth: 50MB/s } }
swap: { size: 512MiB, device: disk }
files:
  data: { size: 96MiB, device: disk }
  stream: { size: 2GiB, device: disk }
locks: { obj: { kind: mutex } }
pins: { track: bias, action: mainline }
processes:
  holder:
    workload:
      - { op: sleep, duration: 20ms }
      - { op: lock, target: obj }
      - { op: sleep, duration: 80ms }
      - { op: unlock, target: obj }
    loop: true
  app:
    vmas:
      buf: { type: file, file: data, size: 96MiB, shared: true }
      heap: { type: anon, size: 64MiB }
    subscribers: { drv: { client: generic, lock: obj, implementsEnd: true } }
    workload:
      - { op: access, target: buf, writeFraction: 1, pattern: uniform, accesses: 200000 }
      - { op: access, target: heap, writeFraction: 0.5, pattern: uniform, accesses: 200000 }
    loop: true
  rdma:
    start: 300ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, pattern: uniform, rate: 20000, duration: 200ms }
      - { op: dma, model: rdma-mr, process: app, target: heap, writeFraction: 1, pattern: uniform, rate: 20000, duration: 200ms }
      - { op: sleep, duration: 50ms }
    loop: true
  reader:
    start: 100ms
    workload:
      - { op: read, target: stream, ioSize: 64KiB, pattern: uniform, length: 1GiB }
    loop: true
`;
    const r = cliRun(yaml);
    assert.equal(r.status, 0, r.stderr);
    const c = r.results!.counters;
    assert.ok(c['mmsim_migrate_sleeps']! > 100, String(c['mmsim_migrate_sleeps']));
    assert.ok(c['pgmigrate_success']! > 10000);
    assert.equal(c['pgmigrate_fail'], 0);
    assert.equal(c['mmsim_longterm_migrate_failed'], 0);
    assert.ok(c['pgscan_direct']! > 0, 'targets were allocated in direct reclaim');
    assert.equal(c['mmsim_dma_after_free'], 0);
    assert.equal(c['mmsim_bug'], 0);
    assert.equal(r.results!.detectorsTotal, 0);
  });
});
