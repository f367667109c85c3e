/**
 * Sleeping locks and the wait-for graph (assembly/locking.ts): deadlock cycles of one, two and
 * three tasks are found with every member, the members stay asleep while the rest of the
 * machine runs on, a task asleep outside a cycle past kernel.hung_task_timeout_secs is a hung
 * task, and FIFO hand-over of mutexes and rwsems.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

/** A machine with locks a..c and the given processes; `bystander` keeps touching memory. */
function lockScenario(processes: string, opts: { duration?: string; hung?: number } = {}) {
  return scenarioFromYaml(`
name: locks
description: tasks taking sleeping locks
duration: ${opts.duration ?? '1s'}
machine: { memory: 256MiB }
kernel: { hung_task_timeout_secs: ${opts.hung ?? 120} }
locks:
  a: { kind: mutex }
  b: { kind: mutex }
  c: { kind: rwsem }
processes:
${processes}
  bystander:
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5 }
`);
}

/** A task that takes `first`, sleeps, then takes `second` (and would release both). */
const taker = (name: string, first: string, second: string, start = '0s') => `
  ${name}:
    start: ${start}
    workload:
      - { op: lock, target: ${first} }
      - { op: sleep, duration: 10ms }
      - { op: lock, target: ${second} }
      - { op: unlock, target: ${second} }
      - { op: unlock, target: ${first} }`;

function deadlocks(r: ReturnType<typeof runScenario>) {
  return r.detectors.filter((d) => d.kind === 'mmsim_deadlock');
}

test('a task taking a mutex it holds deadlocks with itself: a cycle of one', () => {
  const r = runScenario(lockScenario(taker('self', 'a', 'a')));
  assert.equal(r.counters.mmsim_deadlock, 1);
  const d = deadlocks(r);
  assert.equal(d.length, 1);
  assert.deepEqual([d[0]!.taskName, d[0]!.waitsFor, d[0]!.owner, d[0]!.func], ['self', 'a', 'task self', 'mutex_lock']);
  assert.equal(d[0]!.timeNs, 10_000_000 + 20);    // after its 10 ms sleep and one lock op
  // the rest of the machine runs on to the end
  assert.equal(r.simulatedSeconds, 1);
  assert.ok(r.counters.mmsim_accesses! > 10_000_000, `bystander stopped: ${r.counters.mmsim_accesses} accesses`);
});

test('two tasks taking two mutexes in opposite order: a cycle of two, both members listed', () => {
  const r = runScenario(lockScenario(taker('t1', 'a', 'b') + taker('t2', 'b', 'a')));
  assert.equal(r.counters.mmsim_deadlock, 1);
  const d = deadlocks(r).map((h) => `${h.taskName} waits for ${h.waitsFor} owned by ${h.owner}`);
  assert.deepEqual(d.sort(), ['t1 waits for b owned by task t2', 't2 waits for a owned by task t1']);
  assert.ok(r.counters.mmsim_accesses! > 10_000_000);
  assert.equal(r.counters.mmsim_hung_task, 0, 'deadlocked tasks are not also hung');
});

test('three tasks in a ring over a mutex, a mutex and an rwsem: a cycle of three', () => {
  const procs = taker('t1', 'a', 'b') + taker('t2', 'b', 'c') + `
  t3:
    workload:
      - { op: lock, target: c, mode: read }
      - { op: sleep, duration: 10ms }
      - { op: lock, target: a }`;
  const r = runScenario(lockScenario(procs));
  assert.equal(r.counters.mmsim_deadlock, 1);
  const d = deadlocks(r);
  assert.equal(d.length, 3);
  assert.deepEqual(d.map((h) => `${h.taskName}>${h.waitsFor}>${h.owner}>${h.func}`).sort(),
    ['t1>b>task t2>mutex_lock', 't2>c>task t3>down_write', 't3>a>task t1>mutex_lock']);
  assert.ok(r.counters.mmsim_accesses! > 10_000_000);
});

test('no cycle: a waiter gets the lock when the owner releases it, FIFO', () => {
  const procs = `
  owner:
    workload:
      - { op: lock, target: a }
      - { op: sleep, duration: 100ms }
      - { op: unlock, target: a }
  w1:
    start: 10ms
    workload: [{ op: lock, target: a }, { op: sleep, duration: 50ms }, { op: unlock, target: a }]
  w2:
    start: 20ms
    workload: [{ op: lock, target: a }, { op: unlock, target: a }]`;
  const r = runScenario(lockScenario(procs));
  assert.equal(r.counters.mmsim_deadlock, 0);
  assert.equal(r.counters.mmsim_hung_task, 0);
  assert.equal(r.counters.mmsim_tasks_finished, 3, 'owner, w1 and w2 all finish');
});

test('readers share an rwsem; a writer waits for them and is not hung before the timeout', () => {
  const procs = `
  r1:
    workload: [{ op: lock, target: c, mode: read }, { op: sleep, duration: 200ms }, { op: unlock, target: c, mode: read }]
  r2:
    workload: [{ op: lock, target: c, mode: read }, { op: sleep, duration: 300ms }, { op: unlock, target: c, mode: read }]
  w:
    start: 1ms
    workload: [{ op: lock, target: c }, { op: unlock, target: c }]`;
  const r = runScenario(lockScenario(procs));
  assert.equal(r.counters.mmsim_deadlock, 0);
  assert.equal(r.counters.mmsim_tasks_finished, 3);
});

test('a task asleep on a lock whose owner never lets go is a hung task after hung_task_timeout_secs', () => {
  const procs = `
  holder:
    workload: [{ op: lock, target: a }, { op: sleep, duration: 10s }]
  waiter:
    start: 10ms
    workload: [{ op: lock, target: a }]`;
  const r = runScenario(lockScenario(procs, { duration: '5s', hung: 2 }));
  assert.equal(r.counters.mmsim_deadlock, 0);
  assert.equal(r.counters.mmsim_hung_task, 1);
  const h = r.detectors.find((d) => d.kind === 'mmsim_hung_task')!;
  assert.deepEqual([h.taskName, h.waitsFor, h.owner], ['waiter', 'a', 'task holder']);
  assert.ok(h.timeNs > 2.01e9 && h.timeNs <= 2.2e9, `reported at ${h.timeNs}`);
});

test('a lock phase on a name that is no lock, or read mode on a mutex, is refused up front', () => {
  assert.throws(() => lockScenario(`
  p:
    workload: [{ op: lock, target: nosuch }]`), /"nosuch" is not a lock; the locks are: a, b, c/);
  assert.throws(() => lockScenario(`
  p:
    workload: [{ op: lock, target: a, mode: read }]`), /a mutex, which has no shared mode/);
});

test('on a machine of several nodes a lock is taken on one node only (each node is its own instance)', () => {
  assert.throws(() => scenarioFromYaml(`
machine: { memory: 2GiB, nodes: 2 }
locks: { a: { kind: mutex } }
processes:
  p0: { node: 0, workload: [{ op: lock, target: a }] }
  p1: { node: 1, workload: [{ op: lock, target: a }] }
`), /lock a is also taken on node 0, but process p1 runs on node 1/);
});
