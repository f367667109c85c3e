/**
 * Secondary MMUs (assembly/secondary_mmu.ts): a guest's or device's accesses (op: guest) go
 * through a subscriber's own translations, filled by faults through the primary page tables
 * and emptied by invalidations. kvm's clear_flush_young makes a guest's use count as a
 * reference for host reclaim; a guest fault retries while an invalidation covering it is in
 * progress — any invalidation without rangeCheck, as before v5.13; a translation used after
 * its frame was freed or reused is mmsim_stale_secondary_tlb.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { rangeCheckYaml, scenarioFromYaml, testCoreModule, type TestCoreExports } from './helpers.js';
import { packageRoot } from '../src/util/package.js';

const BIN = fileURLToPath(new URL('../../bin/mmsim.js', import.meta.url));

test('a guest without pressure: hits through its translations, one guest fault per page, the primary PTEs untouched by hits', () => {
  const c = runScenario(scenarioFromYaml(`
name: guest
duration: 2s
machine: { memory: 512MiB }
processes:
  vm:
    vmas: { ram: { type: anon, size: 64MiB } }
    subscribers:
      kvm: { client: kvm }
    workload:
      - { op: guest, subscriber: kvm, target: ram, pattern: sequential, writeFraction: 1, accesses: 16384 }
      - { op: guest, subscriber: kvm, target: ram, pattern: uniform, writeFraction: 0.3, accesses: 100000 }
`)).counters;
  assert.equal(c.mmsim_accesses, 116384);
  assert.equal(c.mmsim_secondary_faults, 16384, 'each page faulted once, for write');
  assert.equal(c.mmsim_secondary_hits, 100000);
  assert.equal(c.pgfault, 16384);
  assert.equal(c.mmsim_resident_hits, 0, 'no access went through the primary PTEs');
  assert.equal(c.mmsim_secondary_invalidated, 0);
  assert.equal(c.mmsim_stale_secondary_tlb, 0);
});

/** A guest's 64 MiB touched at random at 1M/s next to a writer streaming through 1 GiB; `client` shadows the guest. */
function guestUnderPressure(client: 'kvm' | 'generic') {
  return runScenario(scenarioFromYaml(`
name: young
duration: 3s
machine: { memory: 192MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
swap: { size: 2GiB, device: ssd }
processes:
  vm:
    vmas: { ram: { type: anon, size: 64MiB } }
    subscribers:
      sec: { client: ${client} }
    workload:
      - { op: guest, subscriber: sec, target: ram, pattern: sequential, writeFraction: 1, accesses: 16384 }
      - { op: guest, subscriber: sec, target: ram, pattern: uniform, writeFraction: 0.2, rate: 1000000 }
  hog:
    start: 100ms
    vmas: { heap: { type: anon, size: 1GiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1, rate: 20000 }
`)).counters;
}

test('kvm\'s clear_flush_young: the guest\'s use makes its host pages referenced, so reclaim takes fewer of them', () => {
  const kvm = guestUnderPressure('kvm');
  const blind = guestUnderPressure('generic');   // a driver without clear_flush_young
  assert.ok(kvm.mmsim_secondary_young! > 10_000, `${kvm.mmsim_secondary_young} young`);
  assert.equal(blind.mmsim_secondary_young, 0);
  // the host swaps out fewer of the guest's pages: fewer translations invalidated, fewer swap-ins
  assert.ok(kvm.mmsim_secondary_invalidated! < 0.5 * blind.mmsim_secondary_invalidated!, `${kvm.mmsim_secondary_invalidated} vs ${blind.mmsim_secondary_invalidated}`);
  assert.ok(kvm.pswpin! < 0.7 * blind.pswpin!, `${kvm.pswpin} vs ${blind.pswpin} swap-ins`);
  assert.ok(kvm.mmsim_secondary_hits! > 1.2 * blind.mmsim_secondary_hits!, 'and the guest, faulting less, gets more done');
  for (const c of [kvm, blind]) assert.equal(c.mmsim_stale_secondary_tlb, 0);
});

/** rangeCheckYaml's scenario: the flusher's mkclean raises kvm's count, then sleeps on drv's lock (held for 1 s). */
function flushWhileHeld(rangeCheck: boolean, client = 'kvm') {
  return runScenario(scenarioFromYaml(rangeCheckYaml(client, rangeCheck))).counters;
}

test('kvm rangeCheck: while a sleeping invalidation holds the count up, only faults in its range retry (v5.13+); before, every guest fault did', () => {
  const v513 = flushWhileHeld(true);
  const old = flushWhileHeld(false);
  for (const c of [v513, old]) {
    assert.equal(c.mmsim_notifier_sleeps, 1, 'the flusher sleeps on obj with kvm\'s start done');
    assert.equal(c.mmsim_accesses, 16384);
    assert.equal(c.mmsim_secondary_faults, 16384);
    assert.equal(c.mmsim_notifier_unpaired_start, 0);
  }
  assert.equal(v513.mmsim_kvm_fault_retries, 0, 'the page under writeback was faulted already');
  // pre-5.13: every fault spins (1 us each) until the lock is released at 1 s
  assert.ok(old.mmsim_kvm_fault_retries! > 900_000 && old.mmsim_kvm_fault_retries! < 1_000_000, `${old.mmsim_kvm_fault_retries} retries`);
  // gru's dropin fails while any range is active (ms_range_active), as pre-5.13 kvm did
  const gru = flushWhileHeld(true, 'gru');
  assert.equal(gru.mmsim_gru_fault_retries, old.mmsim_kvm_fault_retries);
  assert.equal(gru.mmsim_kvm_fault_retries, 0);
});

/** A device writing 48 MiB through subscriber `dev` (of `client`), then at random, next to a writer that fills 128 MiB. */
function deviceUnderPressureYaml(client: string): string {
  return `
name: device
duration: 1s
machine: { memory: 128MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
swap: { size: 512MiB, device: ssd }
processes:
  vm:
    vmas: { ram: { type: anon, size: 48MiB } }
    subscribers:
      dev: { client: ${client} }
    workload:
      - { op: guest, subscriber: dev, target: ram, pattern: sequential, writeFraction: 1, accesses: 12288 }
      - { op: guest, subscriber: dev, target: ram, pattern: uniform, writeFraction: 0.5, rate: 100000 }
  hog:
    start: 100ms
    vmas: { heap: { type: anon, size: 256MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
`;
}

test('a secondary translation used after its frame was freed is mmsim_stale_secondary_tlb (invalidations skipped on purpose)', () => {
  // a device (no clear_flush_young: its use is invisible to reclaim) next to a writer that fills memory
  const s = scenarioFromYaml(deviceUnderPressureYaml('generic'));
  const honest = runScenario(s, { module: testCoreModule() }).counters;
  assert.equal(honest.mmsim_stale_secondary_tlb, 0);
  assert.ok(honest.mmsim_secondary_invalidated! > 0, 'reclaim took guest pages: their translations went first');
  const r = runScenario(s, {
    module: testCoreModule(),
    wrapCore: (core) => { (core as TestCoreExports).skipSecondaryInvalidation(1); return core; },
  });
  assert.ok(r.counters.mmsim_stale_secondary_tlb! > 0);
  const hit = r.detectors.find((d) => d.kind === 'mmsim_stale_secondary_tlb')!;
  assert.equal(hit.func, 'mmsim_secondary_access');
  assert.equal(hit.taskName, 'vm');
  assert.equal(hit.subscriber, 'dev of vm');
});

test('bad guest phases are refused before the run: exit 2 naming the field, the value and a good one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-guest-bad-'));
  const cases: [string, string, RegExp][] = [
    ['{ kvm: { client: kvm } }', '{ op: guest, target: ram }', /workload\.0\.subscriber: missing; op guest needs a subscriber; the subscribers of process vm with a secondary MMU are: kvm \(e\.g\. subscriber: kvm\)/],
    ['{ kvm: { client: kvm } }', '{ op: guest, subscriber: nope, target: ram }', /"nope" is not a subscriber of process vm/],
    ['{ g: { client: gru, registered: false } }', '{ op: guest, subscriber: g, target: ram }', /g is not registered \(registered: false\); give process vm one first/],
    ['{ kvm: { client: kvm } }', '{ op: access, subscriber: kvm, target: ram }', /workload\.0\.subscriber: "kvm" given for a access phase, but only a guest phase goes through a subscriber/],
    ['{ kvm: { client: kvm } }', '{ op: guest, subscriber: kvm, target: disk }', /workload\.0\.target: "disk" is not a VMA of process vm/],
  ];
  for (const [subs, phase, message] of cases) {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `
name: bad
machine: { memory: 128MiB }
processes:
  vm:
    vmas: { ram: { type: anon, size: 1MiB } }
    subscribers: ${subs}
    workload: [${phase}]
`);
    const r = spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, phase);
    assert.match(r.stderr, message, phase);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

/** A device writing a shared file mapping at random through an HMM mirror; most faults read the page from disk first. */
function mirrorWrites(policy: string) {
  return runScenario(scenarioFromYaml(`
name: interval-retry
duration: 2s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 4MiB, dirty_bytes: 256MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { buf: { size: 64MiB, device: ssd } }
notifiers: { policy: '${policy}' }
processes:
  gpu:
    vmas: { shared: { type: file, file: buf, shared: true, size: 64MiB } }
    subscribers:
      A: { client: mirror }
    workload:
      - { op: guest, subscriber: A, target: shared, pattern: uniform, writeFraction: 1, rate: 20000, accesses: 8192 }
`)).counters;
}

test('interval notifiers (mainline\'s mirror): a fault that slept on its read starts again when the flusher\'s mkclean invalidated the interval meanwhile (mmu_interval_read_retry)', () => {
  const c = mirrorWrites('mainline');
  assert.ok(c.pgmajfault! > 1000, `${c.pgmajfault} major faults`);
  assert.ok(c.mmsim_interval_read_retries! > 10 && c.mmsim_interval_read_retries! < c.pgmajfault!, `${c.mmsim_interval_read_retries} retries`);
  // each invalidated page is faulted again later; every access completes
  assert.equal(c.mmsim_accesses, 8192);
  assert.equal(c.mmsim_secondary_hits! + c.mmsim_secondary_faults!, 8192);
  assert.equal(c.mmsim_secondary_invalidated, c.nr_written, 'one translation dropped per page written back (write-protected)');
  assert.equal(c.mmsim_stale_secondary_tlb, 0);
  // under 2018 the mirror is a start/end subscriber on the hlist: no sequence protocol
  const old = mirrorWrites('2018');
  assert.equal(old.mmsim_interval_read_retries, 0);
  assert.equal(old.mmsim_notifier_unpaired_start, 0);
});

test('interval notifiers: read_begin sleeps while an invalidation covering the interval runs, and an insert meanwhile is deferred to its end', () => {
  // A's invalidation by the flusher (it covers A's interval: the seq is odd) stays active while
  // drv, on the hlist after the tree, sleeps on obj until 1 s; B, inserted then, is deferred and
  // its first fault waits in read_begin until the range ends
  const r = runScenario(scenarioFromYaml(`
name: interval
duration: 2s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 4MiB, dirty_bytes: 256MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { buf: { size: 64MiB, device: ssd } }
locks: { obj: { kind: mutex } }
notifiers: { policy: mainline }
processes:
  holder:
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: 1s }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 10s }
  gpu:
    vmas:
      shared: { type: file, file: buf, shared: true, size: 64MiB }
      local: { type: anon, size: 1MiB }
    subscribers:
      drv: { client: generic, lock: obj }
      A: { client: mirror }
      B: { client: mirror }
    workload:
      - { op: guest, subscriber: A, target: shared, accesses: 16 }
      - { op: access, target: shared, pattern: sequential, writeFraction: 1, accesses: 4096, rate: 40000 }
      - { op: guest, subscriber: B, target: local, pattern: sequential, writeFraction: 1 }
      - { op: guest, subscriber: A, target: shared, pattern: sequential, writeFraction: 1, accesses: 8192 }
`));
  const c = r.counters;
  assert.equal(c.mmsim_notifier_sleeps, 1, 'the flusher, in drv\'s start');
  assert.equal(c.mmsim_interval_deferred_inserts, 1);
  assert.equal(c.mmsim_interval_read_begin_waits, 1);
  assert.equal(c.mmsim_accesses, 16 + 4096 + 256 + 8192, 'everything completes once the range ends');
  assert.equal(c.mmsim_secondary_faults, 16 + 256 + 8192);
  assert.equal(c.mmsim_deadlock, 0);
  assert.equal(c.mmsim_notifier_unpaired_start, 0);
});

test('iommu-sva: no start or end, its device TLB flushed after the page tables change; the OOM reaper has nothing to fail on', () => {
  const s = (client: string) => scenarioFromYaml(deviceUnderPressureYaml(client));
  const sva = runScenario(s('iommu-sva')).counters;
  const generic = runScenario(s('generic')).counters;
  assert.ok(sva.mmsim_secondary_invalidated! > 1000);
  assert.equal(sva.mmsim_secondary_invalidated, generic.mmsim_secondary_invalidated, 'the same translations go, at the end of each range instead of its start');
  assert.equal(sva.mmsim_stale_secondary_tlb, 0);
  assert.equal(sva.mmsim_notifier_unpaired_start, 0);
  // the reaper's non-blocking starts meet kvm (never fails) and iommu-sva (has none): reaped at once
  const r = runScenario(scenarioFromYaml(readFileSync(join(packageRoot(), 'scenarios', 'oom-reaper-notifiers.yaml'), 'utf8'),
    ['notifiers.reaper=always-eagain', 'processes.victim.subscribers.mirror.client=iommu-sva']));
  assert.equal(r.counters.mmsim_oom_reaper_attempts, 1);
  assert.equal(r.counters.mmsim_oom_reaper_vmas_skipped, 0);
  assert.ok(r.oomKills[0]!.reapedPages > 0.99 * r.oomKills[0]!.rssPages);
});
