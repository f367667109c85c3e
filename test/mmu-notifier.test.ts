/**
 * MMU notifiers and the OOM reaper (assembly/mmu_notifier.ts, assembly/oom.ts): the outcome
 * tables of the seed scenarios oom-reaper-notifiers (seed-scenarios §4, thread 001) and
 * notifier-pairing (§5, thread 003) under every policy, and policies as mechanisms: without
 * subscribers every value gives the same results; with subscribers that never fail, 2018
 * pairs every start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { packageRoot } from '../src/util/package.js';
import { scenarioFromYaml } from './helpers.js';

const builtin = (name: string) => readFileSync(join(packageRoot(), 'scenarios', `${name}.yaml`), 'utf8');
const run = (name: string, sets: string[], edit: (y: string) => string = (y) => y) => runScenario(scenarioFromYaml(edit(builtin(name)), sets));

/** The §4 outcome of one reaper rule and mirror busy probability. */
function reaper(rule: string, busy: number) {
  const r = run('oom-reaper-notifiers', [`notifiers.reaper=${rule}`, `processes.victim.subscribers.mirror.busy=${busy}`]);
  const c = r.counters;
  const victim = r.oomKills.find((k) => k.taskName === 'victim')!;
  return {
    kills: c.oom_kill!, spareKilled: r.oomKills.some((k) => k.taskName === 'spare'), attempts: c.mmsim_oom_reaper_attempts!,
    reaped: victim.reapedPages, rss: victim.rssPages, skipped: c.mmsim_oom_reaper_vmas_skipped!,
    livelock: c.mmsim_oom_livelock!, endBlocked: c.mmsim_end_blocked_after_nonblocking_start!,
  };
}

test('oom-reaper-notifiers, skip-mm (<= v4.14) and does-not-block (v4.15-v4.18): nothing reaped, the spare killed', () => {
  for (const rule of ['skip-mm', 'does-not-block']) {
    const o = reaper(rule, 0.5);
    assert.equal(o.reaped, 0, rule);
    assert.ok(o.spareKilled, rule);
    assert.equal(o.attempts, 1, `${rule}: one look, then MMF_OOM_SKIP at once`);
  }
});

test('oom-reaper-notifiers, always-eagain: nothing reaped after 10 tries, the spare killed', () => {
  const o = reaper('always-eagain', 0);
  assert.deepEqual([o.reaped, o.attempts, o.skipped, o.spareKilled], [0, 10, 80, true]);
});

test('oom-reaper-notifiers, trylock (v4.19): all reaped at once when never busy; ~0.5^10 unreaped at 0.5; busy 1 is always-eagain', () => {
  const free = reaper('trylock', 0);
  assert.deepEqual([free.attempts, free.skipped, free.spareKilled, free.kills], [1, 0, false, 1]);
  assert.ok(free.reaped > 0.99 * free.rss);
  const half = reaper('trylock', 0.5);
  assert.equal(half.spareKilled, false, 'the victim was reaped: nobody else dies');
  assert.ok(half.reaped > 0.99 * half.rss, `reaped ${half.reaped} of ${half.rss}`);
  assert.ok(half.skipped > 10 && half.skipped < 70, `skipped ${half.skipped}`);
  const busy = reaper('trylock', 1);
  const eagain = reaper('always-eagain', 1);
  assert.deepEqual(busy, eagain);
});

test('oom-reaper-notifiers, trylock-blocking-end: the reaper stalls inside end, no MMF_OOM_SKIP, no second victim: a livelock', () => {
  const o = reaper('trylock-blocking-end', 0);
  assert.equal(o.endBlocked, 1);
  assert.equal(o.livelock, 1);
  assert.equal(o.spareKilled, false);
  assert.ok(o.reaped < o.rss / 4, 'it stopped at the first VMA');
});

/** The §5 outcome of one policy; `subs` replaces the victim's subscriptions. */
function pairing(policy: string, subs: string[] = []) {
  const r = run('notifier-pairing', [`notifiers.policy=${policy}`, ...subs]);
  const c = r.counters;
  return {
    unpairedStart: c.mmsim_notifier_unpaired_start!, unpairedEnd: c.mmsim_notifier_unpaired_end!,
    kills: c.oom_kill!, reaped: r.oomKills[0]!.reapedPages, nonblockDisabled: c.mmsim_nonblock_disabled!,
    warns: r.detectors.filter((d) => d.kind === 'mmsim_notifier_failed_start_has_end').length, bugs: c.mmsim_bug!,
  };
}

// F's place and the number of end-needers, from the command line as a sweep would set them
const F_FIRST = ['processes.victim.subscribers.F.place=0'];
const TWO_NEEDERS = ['processes.victim.subscribers.gru.registered=true'];
const F_WITH_END = ['processes.victim.subscribers.F.implementsEnd=true'];

test('notifier-pairing, 2018: unpaired starts whenever F fails after another end-needer started, whatever the order', () => {
  for (const subs of [[], F_FIRST, TWO_NEEDERS]) {
    const o = pairing('2018', subs);
    assert.ok(o.unpairedStart > 0, `${subs}: ${JSON.stringify(o)}`);
    assert.equal(o.unpairedEnd, 0);
  }
  assert.ok(pairing('2018', TWO_NEEDERS).unpairedStart > pairing('2018').unpairedStart, 'two end-needers lose twice as many ends');
});

test('notifier-pairing, ban-multiple: nothing unpaired, but nothing reaped either: an extra kill', () => {
  const o = pairing('ban-multiple');
  assert.deepEqual([o.unpairedStart, o.unpairedEnd, o.reaped, o.kills], [0, 0, 0, 2]);
});

test('notifier-pairing, sorted-2020: nothing unpaired; two end-needers disable non-blocking mode, at the cost of ban-multiple', () => {
  const one = pairing('sorted-2020');
  assert.deepEqual([one.unpairedStart, one.unpairedEnd, one.kills, one.nonblockDisabled], [0, 0, 1, 0]);
  assert.ok(one.reaped > 0);
  const two = pairing('sorted-2020', TWO_NEEDERS);
  assert.ok(two.nonblockDisabled > 0);
  assert.deepEqual([two.unpairedStart, two.reaped, two.kills], [0, 0, 2]);
});

test('notifier-pairing, mainline: every start paired by the unwinding ends; an F that implements end WARNs and gets unpaired ends', () => {
  for (const subs of [[], F_FIRST, TWO_NEEDERS]) {
    const o = pairing('mainline', subs);
    assert.deepEqual([o.unpairedStart, o.unpairedEnd, o.kills, o.bugs], [0, 0, 1, 0], String(subs));
  }
  const warn = pairing('mainline', F_WITH_END);
  assert.equal(warn.unpairedStart, 0);
  assert.ok(warn.unpairedEnd > 0);
  // WARN_ON(ops->invalidate_range_end) for each failed start: one per unpaired end here
  assert.equal(warn.warns, warn.unpairedEnd);
  assert.equal(warn.bugs, warn.warns);
  // the WARN is mainline's: 2018 has no such check
  assert.equal(pairing('2018', F_WITH_END).bugs, 0);
});

test('policies are mechanisms: without subscribers every value gives the same bytes; subscribers that never fail pair every start under 2018', () => {
  const noSubs = (y: string) => y.replace(/    subscribers:\n(      .*\n)+/, '');
  const outs = new Set<string>();
  for (const policy of ['2018', 'ban-multiple', 'sorted-2020', 'mainline']) {
    for (const rule of ['skip-mm', 'trylock', 'trylock-blocking-end']) {
      outs.add(formatResultsJson(run('notifier-pairing', [`notifiers.policy=${policy}`, `notifiers.reaper=${rule}`], noSubs)));
    }
  }
  assert.equal(outs.size, 1);
  // kvm and gru, which never fail, with F not registered
  const calm = pairing('2018', ['processes.victim.subscribers.F.registered=false', 'processes.victim.subscribers.gru.registered=true']);
  assert.deepEqual([calm.unpairedStart, calm.unpairedEnd, calm.kills], [0, 0, 1]);
  assert.ok(calm.reaped > 0);
});
