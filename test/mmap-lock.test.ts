/**
 * mmap_lock and the per-VMA locks (assembly/mmap_lock.ts): faults run under the VMA's read
 * lock and fall back to the mmap_lock while a writer holds the VMAs (lock_vma_under_rcu,
 * lock_mm_and_find_vma), a writer waits in vma_start_write for faults inside a VMA, the retry
 * after a folio wait takes the mmap_lock (VMA_LOCK_RETRY), and mmap_lock is part of the
 * wait-for graph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/mmsim.js', import.meta.url));

/** `victim` writes a new page every 10 µs (each a fault; `rate` 0: as fast as it can); `processes` are added beside it. */
function withVictim(processes: string, opts: { memory?: string; heap?: string; extra?: string; duration?: string; rate?: number } = {}) {
  return scenarioFromYaml(`
name: mmap-lock
description: faults against mmap_lock writers
duration: ${opts.duration ?? '1s'}
machine: { memory: ${opts.memory ?? '1GiB'} }
locks: { a: { kind: mutex } }
${opts.extra ?? ''}
processes:
  victim:
    vmas: { heap: { type: anon, size: ${opts.heap ?? '256MiB'} } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1, rate: ${opts.rate ?? 100000} }
${processes}
`);
}

test('faults take the VMA lock alone: no mmap_lock, every fault a vma_lock_success', () => {
  const r = runScenario(withVictim('', { duration: '300ms' }));
  assert.equal(r.counters.vma_lock_abort, 0);
  assert.equal(r.counters.vma_lock_retry, 0);      // anonymous first touches never wait on a folio
  assert.equal(r.counters.vma_lock_success, r.counters.pgfault);
  assert.equal(r.counters.mmsim_lock_wait_ns, 0);
});

test("a writer holding another process's mmap_lock stalls its faults, which abort the VMA lock and wait", () => {
  const locker = `
  locker:
    start: 100ms
    workload:
      - { op: lock, target: mmap_lock, process: victim, mode: write }
      - { op: sleep, duration: 200ms }
      - { op: unlock, target: mmap_lock, process: victim }`;
  const base = runScenario(withVictim('', { duration: '500ms' }));
  const r = runScenario(withVictim(locker, { duration: '500ms' }));
  // the victim's first fault after 100 ms finds its VMA write-locked, falls back to the
  // mmap_lock, and sleeps behind the writer until the unlock at 300 ms
  assert.equal(r.counters.vma_lock_abort, 1);
  const wait = r.counters.mmsim_lock_wait_ns!;
  assert.ok(wait > 199_980_000 && wait <= 200_000_000, `lock wait ${wait} ns`);
  // it lost those 200 ms of faults (one per 10 µs; the rate catches up only to the issue clock)
  const lost = base.counters.pgfault! - r.counters.pgfault!;
  assert.ok(lost >= 19_000 && lost <= 20_100, `faults lost ${lost}`);
  assert.equal(r.counters.vma_lock_success! + 1, r.counters.pgfault);
});

test('mmap_lock in a deadlock cycle: a fault waiting on it is a member, named by the kernel function it waits in', () => {
  const procs = `
  driver:
    vmas: { buf: { type: anon, size: 16MiB } }
    workload:
      - { op: lock, target: a }
      - { op: sleep, duration: 10ms }
      - { op: access, target: buf, writeFraction: 1, accesses: 10 }
      - { op: unlock, target: a }
  locker:
    workload:
      - { op: lock, target: mmap_lock, process: driver, mode: write }
      - { op: sleep, duration: 20ms }
      - { op: lock, target: a }
      - { op: unlock, target: a }
      - { op: unlock, target: mmap_lock, process: driver }`;
  const r = runScenario(withVictim(procs, { duration: '300ms' }));
  assert.equal(r.counters.mmsim_deadlock, 1);
  const d = r.detectors.filter((h) => h.kind === 'mmsim_deadlock').map((h) => `${h.taskName} waits in ${h.func} for ${h.waitsFor} owned by ${h.owner}`);
  assert.deepEqual(d.sort(), [
    'driver waits in lock_mm_and_find_vma for mmap_lock of driver owned by task locker',
    'locker waits in mutex_lock for a owned by task driver',
  ]);
  // the rest of the machine runs on: the victim keeps faulting to the end
  assert.ok(r.counters.pgfault! > 25_000, `pgfault ${r.counters.pgfault}`);
});

test("a task's own mmap_lock held across an access: its faults run under it (as GUP's do), no second lock", () => {
  const procs = `
  gup:
    vmas: { buf: { type: anon, size: 16MiB } }
    workload:
      - { op: lock, target: mmap_lock, mode: read }
      - { op: access, target: buf, writeFraction: 1, accesses: 100 }
      - { op: unlock, target: mmap_lock }`;
  const r = runScenario(withVictim(procs, { duration: '100ms' }));
  assert.equal(r.counters.mmsim_deadlock, 0);
  assert.equal(r.counters.vma_lock_success! + 100, r.counters.pgfault, 'the 100 faults under the held mmap_lock take no VMA lock');
});

test('an mmap_lock writer waits in vma_start_write for faults asleep in direct reclaim inside the VMA', () => {
  const procs = `
  locker:
    loop: true
    workload:
      - { op: sleep, duration: 1ms }
      - { op: lock, target: mmap_lock, process: victim, mode: write }
      - { op: unlock, target: mmap_lock, process: victim }`;
  const extra = `check: true
devices: { disk: { readBandwidth: 200MB/s, writeBandwidth: 100MB/s, readLatency: 2ms, writeLatency: 2ms, queueDepth: 8 } }
swap: { size: 512MiB, device: disk }`;
  const r = runScenario(withVictim(procs, { memory: '96MiB', heap: '192MiB', extra, duration: '3s', rate: 0 }));
  assert.ok(r.counters.mmsim_direct_reclaim_calls! > 0, 'the victim enters direct reclaim');
  assert.ok(r.counters.mmsim_vma_start_write_waits! > 0, `writer waits ${r.counters.mmsim_vma_start_write_waits}`);
  assert.equal(r.counters.mmsim_deadlock, 0);
  // checking mode: time never goes backwards and the invariants hold at every sample
  assert.deepEqual(r.detectors, []);
});

test('bad mmap_lock phases are refused before the run: exit 2 naming the field, the value and a good one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-mmap-lock-'));
  const file = (name: string, yaml: string) => { const f = join(dir, name); writeFileSync(f, yaml); return f; };
  const procs = (phase: string, node = 0) => `
machine: { memory: 1GiB, nodes: 2 }
locks: { a: { kind: mutex } }
processes:
  app:
    vmas: { heap: { type: anon, size: 64MiB } }
    workload: [{ op: access, target: heap }]
  other:
    node: ${node}
    workload: [${phase}]
`;
  const cases: [string, string, RegExp][] = [
    ['unknown.yaml', procs('{ op: lock, target: mmap_lock, process: nobody }'),
      /processes\.other\.workload\.0\.process: "nobody" is not a process; the processes are: app, other \(e\.g\. process: other\)/],
    ['stray.yaml', procs('{ op: lock, target: a, process: app }'),
      /processes\.other\.workload\.0\.process: "app" given, but process names whose mmap_lock .*e\.g\. op: lock, target: mmap_lock, process: app/],
    ['node.yaml', procs('{ op: lock, target: mmap_lock, process: app, mode: read }', 1),
      /processes\.other\.workload\.0\.process: process app runs on node 0, but process other on node 1.*e\.g\. node: 0/],
    ['reserved.yaml', procs('{ op: sleep, duration: 1s }').replace('a: { kind: mutex }', 'mmap_lock: { kind: rwsem }'),
      /locks\.mmap_lock: mmap_lock is the name of each process's own mmap_lock .*e\.g\. obj/],
  ];
  for (const [name, yaml, msg] of cases) {
    const r = spawnSync(process.execPath, [BIN, 'run', file(name, yaml), '--out', join(dir, `out-${name}`)], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, msg, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(join(dir, `out-${name}`)), 'nothing written');
  }
});
