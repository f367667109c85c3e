/**
 * userptr-direct-reclaim (seed-scenarios §6): a GPU driver pins its object page by page while its
 * pins' faults reclaim; each userptr.policy's outcome as the table gives it, at M/N = 0.5 (the
 * built-in), 0 and 2, through `mmsim compare` and the engine; bad input refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/load.js';
import { cli } from './cli-helpers.js';

const POLICIES = ['blocking-lock', 'interval', 'mayfail', 'skip-pinned', 'unevictable'] as const;
/** M/N = 0 and 2: the cache's pages and the unreclaimable memory together. */
const RATIO: Record<string, string[]> = {
  '0': ['processes.cache.workload.0.length=0', 'processes.hog.vmas.locked.size=120MiB'],
  '0.5': [],
  '2': ['processes.cache.workload.0.length=32MiB', 'processes.hog.vmas.locked.size=86MiB'],
};
const run = (policy: string, ratio: string) => runScenario(loadScenario('userptr-direct-reclaim', [`userptr.policy=${policy}`, ...RATIO[ratio]!]));

describe('userptr-direct-reclaim: the outcome table (seed-scenarios §6)', () => {
  it('mmsim compare over userptr.policy: a deadlock only for blocking-lock; the object is built by none at M/N = 0.5', async () => {
    const r = await cli('compare', 'userptr-direct-reclaim', '--axis', `userptr.policy=${POLICIES.join(',')}`, '--format', 'json', '-j', '2', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { rows: { figure: string; columns: { values: (number | null)[] }[] }[] };
    const row = (figure: string) => json.rows.find((x) => x.figure === figure)!.columns.map((c) => c.values[0]);
    assert.deepEqual(row('mmsim_deadlock'), [1, 0, 0, 0, 0]);
    assert.deepEqual(row('mmsim_userptr_builds'), [0, 0, 0, 0, 0]);
    const restarts = row('mmsim_userptr_restarts');
    assert.ok(restarts[1]! > 100, `interval restarts ${restarts[1]}`);
    assert.deepEqual([restarts[0], restarts[2], restarts[3], restarts[4]], [0, 0, 0, 0]);
  });

  it('blocking-lock: the builder waits in its own notifier for the object lock it holds', () => {
    const r = run('blocking-lock', '0.5');
    const d = r.detectors.find((h) => h.kind === 'mmsim_deadlock');
    assert.ok(d, 'a deadlock is recorded');
    assert.equal(d.taskName, 'gpu');
    assert.equal(d.waitsFor, 'obj');
    assert.equal(d.owner, 'task gpu');
    assert.equal(d.func, 'mmu_notifier_invalidate_range_start');
  });

  it('interval: no deadlock; every invalidation makes the build start again, and at M/N = 0 it never completes', () => {
    for (const ratio of ['0', '0.5']) {
      const c = run('interval', ratio).counters;
      assert.equal(c['mmsim_deadlock'], 0, ratio);
      assert.equal(c['mmsim_userptr_builds'], 0, `${ratio}: a livelock, not a build`);
      assert.ok(c['mmsim_userptr_restarts']! > 10, `${ratio}: ${c['mmsim_userptr_restarts']}`);
      assert.ok(c['mmsim_userptr_pins']! > 10 * 4096, 'the work wasted: the pages pinned again and again');
      assert.ok(c['pswpin']! > 0, 'robbing Peter to pay Paul: the object\'s own pages swapped out and back in');
    }
  });

  it('mayfail: no deadlock; pinned pages unmapped but never freed, each end unpaired; at M/N = 0 the allocation fails', () => {
    const c = run('mayfail', '0.5').counters;
    assert.equal(c['mmsim_deadlock'], 0);
    assert.ok(c['mmsim_notifier_mayfail_eagain']! > 1000);
    assert.equal(c['mmsim_notifier_unpaired_end'], c['mmsim_notifier_mayfail_eagain'], 'an end after every failed start');
    assert.ok(c['mmsim_reclaim_pinned_kept']! > 1000, 'scanned, not reclaimed');
    const zero = run('mayfail', '0');
    assert.equal(zero.counters['mmsim_userptr_builds'], 0);
    assert.equal(zero.oomKills[0]?.taskName, 'gpu', 'the allocation fails: the builder is the OOM victim');
  });

  it('skip-pinned: no deadlock and no callback at all; the pinned pages skipped are counted', () => {
    const c = run('skip-pinned', '0.5').counters;
    assert.equal(c['mmsim_deadlock'], 0);
    assert.equal(c['mmsim_notifier_invalidations'], 0);
    assert.ok(c['mmsim_reclaim_pinned_skipped']! > 1000);
  });

  it('unevictable: pinned pages are never scanned (the lowest scan cost), the unevictable list grows', () => {
    const c = run('unevictable', '0.5').counters;
    const base = run('skip-pinned', '0.5').counters;
    assert.equal(c['mmsim_deadlock'], 0);
    assert.equal(c['pgscan_direct'], c['pgsteal_direct'], 'every page scanned is reclaimed');
    assert.ok(c['pgscan_direct']! * 100 < base['pgscan_direct']!);
    assert.equal(c['mmsim_reclaim_pinned_skipped'], 0);
    // every page the driver pinned went to the unevictable list, and back when its pins went
    assert.ok(c['unevictable_pgs_culled']! >= 4000, String(c['unevictable_pgs_culled']));
    assert.equal(c['unevictable_pgs_rescued'], c['unevictable_pgs_culled']);
  });

  it('at M/N = 2 the page cache covers the object: every policy builds it and no notifier is called', () => {
    for (const policy of POLICIES) {
      const c = run(policy, '2').counters;
      assert.equal(c['mmsim_userptr_builds'], 1, policy);
      assert.equal(c['mmsim_notifier_invalidations'], 0, policy);
      assert.equal(c['mmsim_deadlock'], 0, policy);
    }
  });
});

describe('userptr bad input', () => {
  it('names the field and a good value (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['processes.gpu.workload.0.subscriber=kvm'], /subscriber: "kvm" is not a subscriber of process gpu; e\.g\. subscribers: \{ drv: \{ client: generic, lock: obj/],
      [['processes.gpu.subscribers.drv.client=kvm'], /drv is a kvm subscriber; a gpu-userptr driver's notifier is a generic one/],
      [['processes.gpu.subscribers.drv.lock='], /drv takes no lock, but a gpu-userptr driver's notifier takes its object lock/],
      [['userptr.policy=mayfail', 'notifiers.mayfail=false'], /userptr\.policy: mayfail needs .* e\.g\. notifiers: \{ mayfail: true \}/],
      [['processes.gpu.workload.0.process=hog'], /a gpu-userptr driver pins its own process's memory; remove it/],
    ];
    for (const [sets, pattern] of cases) {
      const r = await cli('run', 'userptr-direct-reclaim', ...sets.flatMap((s) => ['--set', s]), '--out', '/tmp/mmsim-userptr-never');
      assert.equal(r.code, 2, sets.join(' '));
      assert.match(r.stderr, pattern);
    }
  });
});
