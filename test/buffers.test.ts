/**
 * Buffers of page-cache pages and fsync(2), against the kernel's rules: fs/buffer.c
 * (create_empty_buffers, try_to_free_buffers, block_dirty_folio, block_invalidate_folio),
 * mm/vmscan.c (shrink_folio_list: filemap_release_folio before __remove_mapping),
 * fs/ext4/inode.c (mpage_prepare_extent_to_map's page without buffers, the 2018 BUG),
 * mm/filemap.c (file_write_and_wait_range: WB_SYNC_ALL writeback of one file, then the wait).
 * Runs go through the CLI where the outcome shows in results.json; what needs a page held or
 * dirtied behind the filesystem's back — as get_user_pages and set_page_dirty_lock will — goes
 * through the test build between run() slices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { formatSummary } from '../src/report/summary.js';
import type { RunResult } from '../src/report/result.js';
import type { CoreExports } from '../src/engine/wasm.js';
import { scenarioFromYaml, testCoreModule, type TestCoreExports } from './helpers.js';

// page flags (assembly/page.ts)
const PG_dirty = 1 << 3;
const PG_lru = 1 << 4;
const PG_private = 1 << 7;
const PG_writeback = 1 << 8;

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-buffers-'));
let runs = 0;

/** `mmsim run <yaml> --check`: the exit status, stderr and (on success) results.json. */
function cliRun(yaml: string, ...args: string[]): { status: number | null; stderr: string; results?: { counters: Record<string, number>; detectors: unknown[]; detectorsTotal: number } } {
  const n = ++runs;
  const file = join(dir, `s${n}.yaml`);
  writeFileSync(file, yaml);
  const out = join(dir, `out${n}`);
  const r = spawnSync(process.execPath, [bin, 'run', file, '--quiet', '--out', out, ...args], { encoding: 'utf8' });
  if (r.status !== 0) return { status: r.status, stderr: r.stderr };
  return { status: r.status, stderr: r.stderr, results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) };
}

const SSD = 'ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }';

test('file pages get buffers when they are read, written or written through a shared mapping; anonymous and swap-cache pages never', () => {
  const r = cliRun(`
name: buffers-attach
duration: 1s
machine: { memory: 256MiB }
devices: { ${SSD} }
files:
  a: { size: 8MiB, device: ssd }
  b: { size: 4MiB, device: ssd }
  c: { size: 2MiB, device: ssd }
processes:
  reader:
    workload: [{ op: read, target: a, pattern: sequential, ioSize: 128KiB }]
  writer:
    workload: [{ op: write, target: b, pattern: sequential, ioSize: 64KiB }]
  mapper:
    vmas: { m: { type: file, file: c, shared: true, size: 2MiB } }
    workload: [{ op: access, target: m, pattern: sequential, writeFraction: 1, accesses: 512 }]
`, '--check');
  assert.equal(r.status, 0, r.stderr);
  const c = r.results!.counters;
  assert.equal(c.nr_file_pages, 2048 + 1024 + 512);
  assert.equal(c.mmsim_nr_buffer_pages, c.nr_file_pages, 'every page read or written has buffers');
  assert.equal(r.results!.detectorsTotal, 0, JSON.stringify(r.results!.detectors));

  const swap = cliRun(`
name: buffers-anon
duration: 300ms
machine: { memory: 64MiB }
devices: { ${SSD} }
swap: { size: 256MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload: [{ op: access, target: heap, pattern: uniform, writeFraction: 0.5 }]
`, '--check');
  assert.equal(swap.status, 0, swap.stderr);
  const s = swap.results!.counters;
  assert.ok(s.pswpout! > 1000 && s.nr_swapcached! > 0, `the run swaps: ${s.pswpout} out, ${s.nr_swapcached} cached`);
  assert.equal(s.mmsim_nr_buffer_pages, 0);
  assert.equal(swap.results!.detectorsTotal, 0);
});

test('reclaim still frees clean file pages, their buffers with them', () => {
  const r = cliRun(`
name: buffers-reclaim
duration: 2s
machine: { memory: 128MiB }
devices: { ${SSD} }
files: { data: { size: 512MiB, device: ssd } }
processes:
  reader:
    workload: [{ op: read, target: data, pattern: sequential, ioSize: 128KiB }]
`, '--check');
  assert.equal(r.status, 0, r.stderr);
  const c = r.results!.counters;
  assert.ok(c.pgsteal_file! > 50_000, `reclaimed ${c.pgsteal_file} file pages`);
  assert.equal(c.pgsteal_file, c.pgscan_file, 'every clean page scanned was freed');
  assert.equal(c.mmsim_nr_buffer_pages, c.nr_file_pages, 'what is cached still has its buffers, what was freed took its own');
  assert.equal(r.results!.detectorsTotal, 0, JSON.stringify(r.results!.detectors));
});

/**
 * A 512 MiB file read once through 128 MiB, then `after` phases: at 20 ms the test takes a
 * reference on pages 0 and 1 (as get_user_pages would), at 1 s `act` runs.
 */
function heldPageRun(after: string, act: (core: TestCoreExports, pfns: number[]) => void, extra = '', vm = 'dirty_writeback_centisecs: 10, dirty_expire_centisecs: 10') {
  const s = scenarioFromYaml(`
name: buffers-held
duration: 3s
machine: { memory: 128MiB }
vm: { ${vm} }
devices: { ${SSD} }
files: { data: { size: 512MiB, device: ssd } }
processes:
  reader:
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 128KiB }
      - { op: sleep, duration: 1s }
${after}
${extra}
`);
  s.check = true;
  const pfns: number[] = [];
  type Seen = { flags: number; ref: number; cached: number };
  const held: Seen[] = []; const at1s: Seen[] = []; const end: Seen[] = [];
  let acted = false;
  let core!: TestCoreExports;
  const look = (i: number): Seen => ({ flags: core.folioFlags(pfns[i]!), ref: core.folioRefcount(pfns[i]!), cached: core.filemapFolio(0, i) });
  const r = runScenario(s, {
    module: testCoreModule(), sliceNs: 10e6,
    wrapCore: (c: CoreExports) => {
      core = c as TestCoreExports;
      return {
        ...c,
        run: (until: number, maxEvents: number) => {
          const status = c.run(until, maxEvents);
          const t = c.nowNs();
          if (pfns.length === 0 && t >= 20e6) {
            for (const i of [0, 1]) {
              const pfn = core.filemapFolio(0, i);
              assert.ok(pfn >= 0, `page ${i} was read`);
              core.folioGet(pfn);
              pfns.push(pfn);
              held.push(look(i));
            }
          }
          if (pfns.length > 0 && !acted && t >= 1e9) {
            for (const i of [0, 1]) at1s.push(look(i));
            act(core, pfns);
            acted = true;
          }
          return status;
        },
      };
    },
  });
  for (const i of [0, 1]) end.push(look(i));
  return { r, pfns, held, at1s, end };
}

test('a clean page someone holds loses its buffers to reclaim but stays cached: try_to_free_buffers ignores the refcount, the freeze does not', () => {
  const { r, pfns, held, at1s } = heldPageRun('', () => {});
  for (const i of [0, 1]) {
    assert.ok((held[i]!.flags & PG_private) !== 0, 'read: it has buffers');
    assert.equal(held[i]!.ref, 3, 'the page cache, the buffers and the test hold it');
    assert.equal(at1s[i]!.cached, pfns[i], 'still in the page cache');
    assert.equal(at1s[i]!.flags & (PG_private | PG_dirty), 0, 'clean, without buffers');
    assert.ok((at1s[i]!.flags & PG_lru) !== 0, 'back on the LRU');
    assert.equal(at1s[i]!.ref, 2, 'the page cache and the test: the buffers\' reference went with them');
  }
  assert.ok(r.counters.pgsteal_file! > 50_000, 'reclaim went over the file');
  assert.equal(r.counters.mmsim_nr_buffer_pages, r.counters.nr_file_pages! - 2);
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors));
});

test('a page dirtied without buffers (set_page_dirty_lock after DMA) is mmsim_bug_writeback_no_buffers when the flusher reaches it', () => {
  const { r, pfns, at1s, end } = heldPageRun('', (core, [p]) => {
    assert.equal(core.setPageDirtyLock(p!), 1);
    assert.equal(core.folioFlags(p!) & (PG_dirty | PG_private), PG_dirty, 'dirty, and still no buffers');
    core.folioPut(p!);
  });
  const pfn = pfns[0]!;
  assert.equal(at1s[0]!.flags & PG_private, 0);
  assert.equal(r.counters.mmsim_bug_writeback_no_buffers, 1);
  assert.equal(r.detectorsTotal, 1);
  const hit = r.detectors[0]!;
  assert.equal(hit.kind, 'mmsim_bug_writeback_no_buffers');
  assert.equal(hit.pfn, pfn);
  assert.equal(hit.func, 'mpage_prepare_extent_to_map');
  assert.equal(hit.task, -1, 'a kthread');
  assert.equal(hit.taskName, 'flusher');
  assert.equal(hit.file, 'data');
  assert.equal(hit.device, 'ssd');
  // periodic writeback: dirty_writeback_centisecs after the dirtying, the inode expired by then
  assert.ok(hit.timeNs > 1e9 && hit.timeNs <= 1.3e9, `at ${hit.timeNs} ns`);
  // ext4 since v5.18: the page is cleaned, not written
  assert.equal(end[0]!.flags & (PG_dirty | PG_writeback), 0);
  assert.equal(r.counters.nr_written, 0);
  assert.equal(r.counters.nr_dirty, 0);
  // listed in results.json and the summary with the file, its device and the writer
  const listed = JSON.parse(formatResultsJson(r)).detectors[0];
  assert.deepEqual({ ...listed }, {
    kind: 'mmsim_bug_writeback_no_buffers', timeNs: hit.timeNs, pfn, task: -1, func: 'mpage_prepare_extent_to_map', value: 0,
    taskName: 'flusher', file: 'data', device: 'ssd',
  });
  assert.match(formatSummary(r), new RegExp(`writeback of a dirty page without buffers \\(the ext4 BUG\\): 1, the first at 1\\.\\d+s: pfn ${pfn} of data on ssd, by flusher \\(mpage_prepare_extent_to_map\\)`));
});

test('fsync reaches it the same way, in the task that calls it', () => {
  // no periodic writeback: the fsync phase, at the end of the 1 s sleep, is the first writeback
  // of the page the test dirtied at 1 s
  const { r, pfns } = heldPageRun(`      - { op: fsync, target: data }
      - { op: sleep, duration: 10s }`, (core, [p]) => {
    assert.equal(core.setPageDirtyLock(p!), 1);
    core.folioPut(p!);
  }, '', 'dirty_writeback_centisecs: 0');
  const hits = r.detectors.filter((d) => d.kind === 'mmsim_bug_writeback_no_buffers');
  assert.equal(hits.length, 1, JSON.stringify(r.detectors));
  assert.equal(hits[0]!.pfn, pfns[0]);
  assert.equal(hits[0]!.task, 0);
  assert.equal(hits[0]!.taskName, 'reader');
  assert.equal(hits[0]!.func, 'mpage_prepare_extent_to_map');
  assert.equal(r.counters.mmsim_fsync_calls, 1);
  assert.equal(r.counters.mmsim_fsync_pages, 0, 'nothing else was dirty, and that page is not written');
  assert.equal(r.counters.nr_dirty, 0);
});

test('a write to a page that lost its buffers gives it new ones: write_begin of write(2), page_mkwrite of a store through a shared mapping', () => {
  // at 1.2 s, after reclaim dropped the buffers of the two pages the test holds: write(2) into
  // page 0; a load and then a store into page 1 through a shared mapping (wp_page_shared)
  const { r, at1s, end } = heldPageRun('', () => {}, `  writer:
    start: 1200ms
    workload:
      - { op: write, target: data, pattern: sequential, ioSize: 4KiB, length: 4KiB }
      - { op: sleep, duration: 100ms }
      - { op: fsync, target: data }
      - { op: sleep, duration: 10s }
  mapper:
    start: 1200ms
    vmas: { m: { type: file, file: data, shared: true, size: 4KiB, offset: 4KiB } }
    workload:
      - { op: access, target: m, writeFraction: 0, accesses: 1 }
      - { op: access, target: m, writeFraction: 1, accesses: 1 }
      - { op: sleep, duration: 10s }`, 'dirty_writeback_centisecs: 0');
  for (const i of [0, 1]) assert.equal(at1s[i]!.flags & PG_private, 0, `page ${i} had lost its buffers`);
  for (const i of [0, 1]) assert.ok((end[i]!.flags & PG_private) !== 0, `page ${i} has buffers again`);
  assert.equal(end[0]!.ref, 3, 'the page cache, the buffers, the test');
  assert.equal(end[1]!.ref, 4, 'and the mapping');
  assert.equal(r.counters.mmsim_fsync_pages, 2, 'both written by the fsync');
  assert.equal(r.counters.nr_written, 2);
  assert.equal(r.counters.mmsim_bug_writeback_no_buffers, 0);
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors));
});

test('block_invalidate_folio (truncation) drops a dirty page\'s buffers and its dirty state', () => {
  const s = scenarioFromYaml(`
name: buffers-invalidate
duration: 1s
machine: { memory: 256MiB }
devices: { ${SSD} }
files: { f: { size: 1MiB, device: ssd } }
processes:
  writer:
    workload:
      - { op: write, target: f, pattern: sequential, ioSize: 4KiB }
      - { op: sleep, duration: 10s }
`);
  s.check = true;
  let before: { flags: number; ref: number } | undefined; let after: typeof before;
  let pfn = -1;
  const r: RunResult = runScenario(s, {
    module: testCoreModule(), sliceNs: 10e6,
    wrapCore: (c: CoreExports) => ({
      ...c,
      run: (until: number, maxEvents: number) => {
        const status = c.run(until, maxEvents);
        const core = c as TestCoreExports;
        if (pfn < 0 && c.nowNs() >= 100e6) {
          pfn = core.filemapFolio(0, 7);
          before = { flags: core.folioFlags(pfn), ref: core.folioRefcount(pfn) };
          assert.equal(core.blockInvalidateFolio(pfn), 1);
          after = { flags: core.folioFlags(pfn), ref: core.folioRefcount(pfn) };
        }
        return status;
      },
    }),
  });
  assert.equal(before!.flags & (PG_private | PG_dirty), PG_private | PG_dirty);
  assert.equal(after!.flags & (PG_private | PG_dirty), 0);
  assert.equal(after!.ref, before!.ref - 1);
  assert.equal(r.counters.nr_dirtied, 256);
  assert.equal(r.counters.nr_dirty, 255, 'cancelled, not written');
  assert.equal(r.counters.mmsim_nr_buffer_pages, 255);
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors));
});

/** 256 MiB of `big` and 16 MiB of `log` written, then `last` (fsync of log, or sync). */
function fsyncYaml(last: string, vm = 'dirty_background_bytes: 512MiB, dirty_bytes: 768MiB, dirty_writeback_centisecs: 0'): string {
  return `
name: fsync
duration: 20s
machine: { memory: 1GiB }
vm: { ${vm} }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 200MB/s, writeLatency: 100us } }
files:
  log: { size: 16MiB, device: ssd }
  big: { size: 256MiB, device: ssd }
processes:
  writer:
    workload:
      - { op: write, target: big, pattern: sequential, ioSize: 1MiB }
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
      - ${last}
`;
}

test('fsync writes exactly its file\'s dirty pages and waits for them; sync, with another file dirty, takes far longer', () => {
  const f = cliRun(fsyncYaml('{ op: fsync, target: log }'), '--check');
  assert.equal(f.status, 0, f.stderr);
  const c = f.results!.counters;
  assert.equal(c.mmsim_fsync_calls, 1);
  assert.equal(c.mmsim_fsync_pages, 4096, 'the 16 MiB of log');
  // the run ends with the workload, at fsync's return: log is on the disk, big is not touched
  assert.equal(c.nr_written, 4096);
  assert.equal(c.nr_writeback, 0);
  assert.equal(c.nr_dirty, 65536);
  // no faster than the device: 4096 pages at 200 MB/s (20,480 ns a page) and a write latency
  const device = 4096 * 20_480 + 100_000;
  assert.ok(c.mmsim_fsync_ns! >= device && c.mmsim_fsync_ns! < device + 2e6, `fsync took ${c.mmsim_fsync_ns} ns`);
  assert.equal(c.mmsim_fsync_max_ns, c.mmsim_fsync_ns);
  assert.equal(f.results!.detectorsTotal, 0);

  const s = cliRun(fsyncYaml('{ op: sync }'), '--check');
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.results!.counters.nr_written, 65536 + 4096);
  assert.ok(s.results!.counters.mmsim_sync_ns! > 10 * c.mmsim_fsync_ns!, `sync ${s.results!.counters.mmsim_sync_ns} ns, fsync ${c.mmsim_fsync_ns} ns`);
});

test('fsync waits for the pages the flusher already has under writeback, and writes the rest itself', () => {
  // the log alone on its device, written past a 1 MiB background threshold: the flusher is at
  // it when fsync comes
  const f = cliRun(`
name: fsync-flusher
duration: 20s
machine: { memory: 1GiB }
vm: { dirty_background_bytes: 1MiB, dirty_bytes: 768MiB }
devices: { logdev: { readBandwidth: 2GB/s, writeBandwidth: 200MB/s, writeLatency: 100us } }
files: { log: { size: 16MiB, device: logdev } }
processes:
  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
      - { op: fsync, target: log }
`, '--check');
  assert.equal(f.status, 0, f.stderr);
  const c = f.results!.counters;
  assert.ok(c.mmsim_flusher_pages_background! > 0, 'background writeback ran');
  assert.ok(c.mmsim_fsync_pages! > 0 && c.mmsim_fsync_pages! < 4096, `fsync wrote ${c.mmsim_fsync_pages} of log's 4096 pages`);
  // the run ends with the workload, at fsync's return: every page of log is on the disk
  assert.equal(c.nr_written, 4096);
  assert.equal(c.nr_writeback, 0);
  assert.equal(c.nr_dirty, 0);
  assert.equal(c.mmsim_fsync_pages! + c.mmsim_flusher_pages_background!, 4096);
  assert.equal(f.results!.detectorsTotal, 0);
});

test('fsync next to a task that keeps rewriting the file returns, waiting for the pages rewritten under writeback', () => {
  const r = cliRun(`
name: fsync-busy
duration: 2s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 2MiB, dirty_bytes: 256MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 200MB/s, writeLatency: 100us } }
files: { log: { size: 16MiB, device: ssd } }
processes:
  rewriter:
    workload: [{ op: write, target: log, pattern: uniform, ioSize: 4KiB, rate: 20000 }]
  syncer:
    workload:
      - { op: sleep, duration: 300ms }
      - { op: fsync, target: log }
      - { op: sleep, duration: 200ms }
      - { op: fsync, target: log }
      - { op: sleep, duration: 10s }
`, '--check');
  assert.equal(r.status, 0, r.stderr);
  const c = r.results!.counters;
  assert.equal(c.mmsim_fsync_calls, 2);
  assert.ok(c.mmsim_fsync_ns! > 0 && c.mmsim_fsync_max_ns! < 500e6, `both returned: ${c.mmsim_fsync_ns} ns, the longest ${c.mmsim_fsync_max_ns} ns`);
  assert.equal(r.results!.detectorsTotal, 0, JSON.stringify(r.results!.detectors));
});

/**
 * Guest RAM as a shared file mapping written at 20,000 pages/s, with a driver whose notifier
 * callbacks take lock obj, which a holder keeps from 100 ms to 1.1 s; a syncer fsyncs the
 * file at 200 ms. `vm` says whether the flusher gets there first.
 */
function notifierFsyncYaml(vm: string): string {
  return `
name: fsync-notifier
duration: 2s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 256MiB, dirty_bytes: 400MiB, ${vm} }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { guestram: { size: 64MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:
  holder:
    workload:
      - { op: sleep, duration: 100ms }
      - { op: lock, target: obj }
      - { op: sleep, duration: 1s }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 10s }
  vm:
    vmas: { ram: { type: file, file: guestram, shared: true, size: 64MiB } }
    subscribers:
      drv: { client: generic, lock: obj }
      kvm: { client: kvm }
    workload:
      - { op: guest, subscriber: kvm, target: ram, pattern: sequential, writeFraction: 1, rate: 20000 }
  syncer:
    workload:
      - { op: sleep, duration: 200ms }
      - { op: fsync, target: guestram }
      - { op: sleep, duration: 10s }
`;
}

test('fsync\'s folio_mkclean sleeps in a notifier callback, the folio kept locked, and goes on when the driver\'s lock is free', () => {
  const r = cliRun(notifierFsyncYaml('dirty_writeback_centisecs: 0'), '--check');
  assert.equal(r.status, 0, r.stderr);
  const c = r.results!.counters;
  assert.equal(c.mmsim_notifier_sleeps, 1);
  // the ~4,000 pages dirty at 200 ms, written once obj is released at 1.1 s
  assert.ok(c.mmsim_fsync_pages! > 3000 && c.mmsim_fsync_pages! <= 4100, `fsync wrote ${c.mmsim_fsync_pages}`);
  assert.ok(c.mmsim_fsync_ns! > 0.9e9 && c.mmsim_fsync_ns! < 1e9, `fsync took ${c.mmsim_fsync_ns} ns`);
  assert.equal(c.nr_written, c.mmsim_fsync_pages);
  assert.equal(r.results!.detectorsTotal, 0, JSON.stringify(r.results!.detectors));
});

test('fsync sleeps on a folio the flusher keeps locked across its own notifier sleep (folio_lock), then waits for the flusher\'s writes', () => {
  const r = cliRun(notifierFsyncYaml('dirty_writeback_centisecs: 10, dirty_expire_centisecs: 5'), '--check');
  assert.equal(r.status, 0, r.stderr);
  const c = r.results!.counters;
  assert.equal(c.mmsim_notifier_sleeps, 1, 'the flusher\'s; fsync finds its folio locked and sleeps on it');
  assert.ok(c.mmsim_flusher_pages_kupdate! > 0);
  assert.ok(c.mmsim_fsync_ns! > 0.85e9 && c.mmsim_fsync_ns! < 1e9, `fsync took ${c.mmsim_fsync_ns} ns`);
  assert.equal(c.nr_dirty, 0);
  assert.equal(c.nr_writeback, 0);
  assert.equal(r.results!.detectorsTotal, 0, JSON.stringify(r.results!.detectors));
});

test('an fsync phase needs a file, and takes no duration or access count: exit 2, the field, the bad value and an example', () => {
  const base = (phase: string) => `
machine: { memory: 256MiB }
devices: { ${SSD} }
files: { log: { size: 1MiB, device: ssd }, data: { size: 1MiB, device: ssd } }
processes:
  app:
    vmas: { heap: { type: anon, size: 1MiB } }
    workload:
      - ${phase}
`;
  const cases: [string, RegExp][] = [
    ['{ op: fsync }', /processes\.app\.workload\.0\.target: missing; op fsync needs a file; the files are: log, data \(e\.g\. target: log\)/],
    ['{ op: fsync, target: heap }', /processes\.app\.workload\.0\.target: "heap" is not a file; the files are: log, data \(e\.g\. target: log\)/],
    ['{ op: fsync, target: log, duration: 1s }', /processes\.app\.workload\.0\.duration: 1s given for an fsync phase, which ends when the file's writeback has completed; remove it, e\.g\. \{ op: fsync, target: log \}/],
    ['{ op: fsync, target: log, accesses: 5 }', /processes\.app\.workload\.0\.accesses: 5 given for an fsync phase/],
  ];
  for (const [phase, message] of cases) {
    const r = cliRun(base(phase));
    assert.equal(r.status, 2, `${phase}: ${r.stderr}`);
    assert.match(r.stderr, message, phase);
  }
});
