/**
 * Blockable MMU notifier callbacks that sleep (assembly/mmu_notifier.ts) and the one unmap
 * path that brackets every PTE removal or downgrade in a range: try_to_unmap_one
 * (MMU_NOTIFY_CLEAR, from kswapd and direct reclaim), page_vma_mkclean_one
 * (MMU_NOTIFY_PROTECTION_PAGE, from the flusher's folio_clear_dirty_for_io), wp_page_copy
 * (MMU_NOTIFY_CLEAR, from a write fault), exit_mmap's mmu_notifier_release. A subscriber that
 * takes a scenario lock sleeps on it where the kernel would, in the wait-for graph: a driver
 * that reclaims its own pages while holding its lock deadlocks (seed 000's blocking-lock), and
 * a lock held for a while delays reclaim, writeback and faults by that while.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/mmsim.js', import.meta.url));

/** A task that holds mutex `obj` for `ms`, then lets go. */
const holder = (ms: number) => `
  holder:
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: ${ms}ms }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 10s }`;

const SWAP = `devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
swap: { size: 512MiB, device: ssd }`;

test('a driver that reclaims its own pages while holding its notifier lock deadlocks with itself (the userptr blocking-lock case)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-nsleep-'));
  const file = join(dir, 'selfdl.yaml');
  writeFileSync(file, `
name: selfdl
duration: 3s
machine: { memory: 128MiB }
${SWAP}
locks: { obj: { kind: mutex } }
processes:
  driver:
    vmas: { buf: { type: anon, size: 256MiB } }
    subscribers:
      userptr: { client: generic, lock: obj }
    workload:
      - { op: lock, target: obj }
      - { op: access, target: buf, pattern: sequential, writeFraction: 1 }
      - { op: unlock, target: obj }
`);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const c = res.counters;
  assert.equal(c.mmsim_deadlock, 1);
  const d = res.detectors.filter((h: { kind: string }) => h.kind === 'mmsim_deadlock');
  assert.equal(d.length, 1, 'a cycle of one: the driver waits for itself');
  assert.equal(d[0].taskName, 'driver');
  assert.equal(d[0].func, 'mmu_notifier_invalidate_range_start');
  assert.equal(d[0].waitsFor, 'obj');
  assert.equal(d[0].owner, 'task driver');
  // kswapd, reclaiming the same pages, sleeps on the lock too: behind the cycle, not in it
  assert.equal(c.mmsim_notifier_sleeps, 2);
  assert.equal(c.pswpout, 0, 'no page of the driver is ever unmapped');
  assert.match(r.stdout, /deadlock at [0-9.]+s: driver waits in mmu_notifier_invalidate_range_start for obj, held by task driver/);
});

/** gpu writes 100,000 pages of a 256 MiB buffer in 128 MiB; its driver's lock is held for `ms` from the start. */
function reclaimWhileHeld(ms: number, lock: boolean) {
  return runScenario(scenarioFromYaml(`
name: contend
duration: 2s
machine: { memory: 128MiB }
${SWAP}
locks: { obj: { kind: mutex } }
processes:${holder(ms)}
  gpu:
    vmas: { buf: { type: anon, size: 256MiB } }
    subscribers:
      userptr: { client: generic${lock ? ', lock: obj' : ''}, latency: 2us }
    workload:
      - { op: access, target: buf, pattern: sequential, writeFraction: 1, accesses: 100000 }
`));
}

test('reclaim sleeps in try_to_unmap_one on a driver lock held by another task, and goes on when it is released', () => {
  const held = reclaimWhileHeld(300, true);
  const free = reclaimWhileHeld(300, false);
  const h = held.counters; const f = free.counters;
  // one MMU_NOTIFY_CLEAR range per page unmapped, each paired
  assert.equal(h.mmsim_notifier_invalidations, h.pswpout);
  assert.equal(f.mmsim_notifier_invalidations, f.pswpout);
  assert.equal(h.mmsim_notifier_unpaired_start, 0);
  assert.equal(h.mmsim_notifier_unpaired_end, 0);
  assert.equal(h.mmsim_deadlock, 0);
  assert.equal(f.mmsim_notifier_sleeps, 0);
  assert.equal(f.mmsim_lock_wait_ns, 0);
  // kswapd and the direct reclaimer sleep on obj until 300 ms
  assert.ok(h.mmsim_notifier_sleeps >= 2, `${h.mmsim_notifier_sleeps} sleeps`);
  assert.ok(h.mmsim_lock_wait_ns > 300e6 && h.mmsim_lock_wait_ns < 2 * 300e6, `${h.mmsim_lock_wait_ns} ns waited`);
  // the writer's direct reclaim waits as long: its longest call is the lock's hold time
  assert.ok(held.counters.mmsim_direct_reclaim_max_ns! > 200e6, `longest direct reclaim ${held.counters.mmsim_direct_reclaim_max_ns}`);
  assert.ok(free.counters.mmsim_direct_reclaim_max_ns! < 100e6, `longest direct reclaim ${free.counters.mmsim_direct_reclaim_max_ns}`);
  assert.ok(h.pswpout > 50_000, 'once released, reclaim swaps as before');
});

test('reclaim sleeping in a notifier keeps the checking mode clean (the folio stays locked and isolated while it sleeps)', () => {
  const s = scenarioFromYaml(`
name: contend-check
duration: 1s
machine: { memory: 128MiB }
check: true
${SWAP}
locks: { obj: { kind: mutex } }
processes:${holder(200)}
  gpu:
    vmas: { buf: { type: anon, size: 256MiB } }
    subscribers:
      userptr: { client: generic, lock: obj, holdUntilEnd: true, implementsEnd: true }
    workload:
      - { op: access, target: buf, pattern: uniform, writeFraction: 1, accesses: 60000 }
`);
  const r = runScenario(s);
  assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors.slice(0, 3)));
  assert.ok(r.counters.mmsim_notifier_sleeps! >= 1);
  assert.ok(r.counters.pswpout! > 0);
});

/** A shared file mapping written, then sync(2); the mirror's lock held for `ms`. */
function syncWhileHeld(ms: number, lock: boolean) {
  return runScenario(scenarioFromYaml(`
name: mkclean
duration: 2s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { data: { size: 8MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:${holder(ms)}
  writer:
    vmas: { map: { type: file, file: data, shared: true, size: 8MiB } }
    subscribers:
      mirror: { client: mirror${lock ? ', lock: obj' : ''} }
    workload:
      - { op: access, target: map, pattern: sequential, writeFraction: 1, accesses: 2048 }
      - { op: sync }
`));
}

test('the flusher sleeps in page_vma_mkclean_one on the lock, so sync(2) waits for the lock holder', () => {
  const held = syncWhileHeld(500, true).counters;
  const free = syncWhileHeld(500, false).counters;
  // every page written is write-protected first, in one MMU_NOTIFY_PROTECTION_PAGE range each
  assert.equal(held.nr_written, 2048);
  assert.equal(free.nr_written, 2048);
  assert.equal(held.mmsim_notifier_invalidations, 2048);
  assert.equal(free.mmsim_notifier_invalidations, 2048);
  assert.equal(held.mmsim_notifier_sleeps, 1, 'the flusher, once');
  assert.ok(free.mmsim_sync_ns! < 50e6, `sync took ${free.mmsim_sync_ns} ns`);
  assert.ok(held.mmsim_sync_ns! > 400e6 && held.mmsim_sync_ns! < 500e6, `sync took ${held.mmsim_sync_ns} ns`);
});

test('wp_page_copy brackets each copy of the zero page in a range; a write fault sleeps on the lock and is retried', () => {
  const r = runScenario(scenarioFromYaml(`
name: wp
duration: 2s
machine: { memory: 512MiB }
locks: { obj: { kind: mutex } }
processes:${holder(100)}
  guest:
    vmas: { mem: { type: anon, size: 16MiB } }
    subscribers:
      kvm: { client: kvm }
      drv: { client: generic, lock: obj }
    workload:
      - { op: access, target: mem, pattern: sequential, writeFraction: 0, accesses: 4096 }
      - { op: access, target: mem, pattern: sequential, writeFraction: 1, accesses: 4096 }
`)).counters;
  assert.equal(r.mmsim_zero_fill_faults, 4096);
  assert.equal(r.mmsim_notifier_invalidations, 4096);
  assert.equal(r.mmsim_notifier_sleeps, 1);
  assert.equal(r.mmsim_notifier_unpaired_start, 0);
  // 4096 read faults map the zero page, 4096 write faults copy it, one of them twice (the retry)
  assert.equal(r.pgfault, 4096 + 4096 + 1);
  assert.ok(r.mmsim_lock_wait_ns! > 90e6 && r.mmsim_lock_wait_ns! <= 100e6, `${r.mmsim_lock_wait_ns}`);
});

test('an OOM victim whose exit sleeps in a driver\'s mmu_notifier_release: the reaper\'s trylock fails too, the spare dies, the exit frees it when the lock comes', () => {
  const r = runScenario(scenarioFromYaml(`
name: release
duration: 5s
machine: { memory: 128MiB }
locks: { obj: { kind: mutex } }
processes:${holder(4000)}
  victim:
    vmas: { heap: { type: anon, size: 96MiB } }
    subscribers:
      drv: { client: generic, lock: obj }
    workload:
      - { op: access, target: heap, writeFraction: 1 }
      - { op: sleep, duration: 10s }
  spare:
    start: 100ms
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1 }
      - { op: sleep, duration: 10s }
`));
  const c = r.counters;
  const k = r.oomKills.find((x) => x.taskName === 'victim')!;
  const spare = r.oomKills.find((x) => x.taskName === 'spare')!;
  assert.ok(k && spare, JSON.stringify(r.oomKills));
  // the SIGKILL ends the victim's sleep phase at once; its exit sleeps in the driver's release
  assert.equal(c.mmsim_notifier_releases, 1);
  assert.equal(c.mmsim_notifier_sleeps, 1);
  // the reaper's non-blocking start trylocks obj and fails: its one VMA skipped on each of
  // 10 tries, HZ/10 apart from kill + 2 s; then MMF_OOM_SKIP, and the spare is killed
  assert.equal(c.mmsim_oom_reaper_attempts, 10);
  assert.equal(c.mmsim_oom_reaper_vmas_skipped, 10);
  assert.equal(k.reapedPages, 0);
  assert.ok(Math.abs(spare.timeNs - (k.timeNs + 2.9e9)) < 5e6, `${spare.timeNs - k.timeNs}`);
  // the release gets the lock at 4 s: then the exit frees everything
  assert.ok(k.exitAtNs! >= 4e9 && k.exitAtNs! < 4e9 + 1e6, JSON.stringify(k));
  assert.equal(k.exitFreedPages, k.rssPages);
  assert.ok(Math.abs(c.mmsim_lock_wait_ns! - (4e9 - k.timeNs)) < 1e6, `${c.mmsim_lock_wait_ns}`);
  assert.equal(c.mmsim_deadlock, 0);
});

test('bad subscriber locks are refused before the run: exit 2 naming the field, the value and a good one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-nsleep-bad-'));
  const cases: [string, RegExp][] = [
    ['{ client: kvm, lock: obj }', /subscribers\.s\.lock: kvm's callbacks take no sleeping lock .* e\.g\. \{ client: generic, lock: obj \}/],
    ['{ client: generic, lock: nosuch }', /subscribers\.s\.lock: "nosuch" is not a lock of `locks` \(obj\); declare it, e\.g\. locks: \{ nosuch: \{ kind: mutex \} \}/],
    ['{ client: generic, holdUntilEnd: true }', /subscribers\.s\.holdUntilEnd: holdUntilEnd needs a lock to hold/],
    ['{ client: mirror, lock: obj, holdUntilEnd: true }', /needs an end, and this mirror subscriber has none under notifiers\.policy mainline/],
    ['{ client: generic, lock: obj, latency: -1us }', /subscribers\.s\.latency: "-1us" is negative; .* e\.g\. 2us/],
  ];
  for (const [sub, message] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `
name: bad
machine: { memory: 128MiB }
locks: { obj: { kind: mutex } }
processes:
  p:
    vmas: { heap: { type: anon, size: 1MiB } }
    subscribers: { s: ${sub} }
    workload: [{ op: access, target: heap }]
`);
    const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', join(dir, 'out')], { encoding: 'utf8' });
    assert.equal(r.status, 2, sub);
    assert.match(r.stderr, message, sub);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('a folio kept locked by a reclaimer asleep in a notifier is an edge of the wait-for graph: a fault on it closes a cycle through the driver lock', () => {
  // q holds obj and reads a shared file mapping; d maps the same file and has a driver that
  // takes obj. kswapd unmaps a page from q's VMA, then sleeps on obj in d's notifier with the
  // folio locked; q faults on that page (filemap_fault locks the folio) and waits for kswapd
  const r = runScenario(scenarioFromYaml(`
name: folio-deadlock
duration: 3s
machine: { memory: 256MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
swap: { size: 1GiB, device: ssd }
files: { data: { size: 128MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:
  q:
    vmas: { map: { type: file, file: data, shared: true, size: 128MiB } }
    workload:
      - { op: access, target: map, pattern: sequential }
      - { op: lock, target: obj }
      - { op: access, target: map, pattern: uniform, rate: 200000 }
  d:
    vmas: { map: { type: file, file: data, shared: true, size: 128MiB, populate: true } }
    subscribers:
      drv: { client: generic, lock: obj }
    workload:
      - { op: sleep, duration: 10s }
  hog:
    start: 200ms
    vmas: { heap: { type: anon, size: 512MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1, rate: 100000 }
`));
  assert.equal(r.counters.mmsim_deadlock, 1);
  const members = r.detectors.filter((d) => d.kind === 'mmsim_deadlock').map((d) => `${d.taskName} waits in ${d.func} for ${d.waitsFor}, held by ${d.owner}`);
  assert.deepEqual(members.sort(), [
    'kswapd0 waits in mmu_notifier_invalidate_range_start for obj, held by task q',
    'q waits in folio_wait_bit_common for a folio locked by kswapd0, held by kswapd0',
  ]);
});

test('each device has its own writeback worker: while the flusher of one sleeps in page_vma_mkclean_one on a driver\'s lock, another device\'s pages are written', () => {
  const r = runScenario(scenarioFromYaml(`
name: two-wbs
duration: 2s
machine: { memory: 512MiB }
series: { interval: 50ms }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s }
  logdev: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s }
files:
  data: { size: 8MiB, device: ssd }
  log: { size: 8MiB, device: logdev }
locks: { obj: { kind: mutex } }
processes:${holder(500)}
  writer:
    vmas: { map: { type: file, file: data, shared: true, size: 8MiB } }
    subscribers:
      mirror: { client: mirror, lock: obj }
    workload:
      - { op: access, target: map, pattern: sequential, writeFraction: 1, accesses: 2048 }
      - { op: sync }
  logger:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
      - { op: sleep, duration: 10s }
`));
  const written = r.series.columns.indexOf('nr_written');
  const at = (s: number) => r.series.rows.find((row) => row[0]! >= s)![written]!;
  // sync's WB_SYNC_ALL pass: the ssd's worker sleeps on its first page until 500 ms, the
  // logdev's writes the log meanwhile
  assert.equal(at(0.3), 2048, 'the log, and nothing of the mapped file, by 300 ms');
  assert.equal(r.counters.nr_written, 4096);
  assert.equal(r.counters.mmsim_notifier_sleeps, 1);
  assert.ok(r.counters.mmsim_sync_ns! > 400e6, `sync waits for the lock (${r.counters.mmsim_sync_ns} ns)`);
});
