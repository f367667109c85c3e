/**
 * The OOM killer and reaper (mm/oom_kill.c). A kill is reported with its victim, the victim's
 * oom_badness (rss + swap entries + page tables, shifted by oom_score_adj per mille of
 * memory) and rss, and when and by whom its memory was freed: by its own exit_mmap when it
 * can run, or — when it is stuck uninterruptibly in the kernel — by the oom_reaper 2 s
 * (OOM_REAPER_DELAY) after the kill, which needs its mmap_lock for read and tries 10 times,
 * HZ/10 apart, before it gives up and lets the killer choose another victim.
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

test('an OOM kill names the victim, its badness and rss; its own exit frees its memory at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-oom-'));
  const file = join(dir, 'oom.yaml');
  // no swap: the two heaps (96 + 64 MiB) cannot both fit in 128 MiB
  writeFileSync(file, `
name: oom
description: two writers without swap
duration: 1s
machine: { memory: 128MiB }
processes:
  big:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
  small:
    oom_score_adj: 10
    vmas: { heap: { type: anon, size: 64MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
`);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const kills = res.oomKills;
  assert.equal(kills.length, res.counters.oom_kill);
  assert.equal(kills.length, 1);
  const k = kills[0];
  assert.ok(k.taskName === 'big' || k.taskName === 'small');
  // badness = rss + page tables + oom_score_adj × (32768 pages / 1000)
  const adj = k.taskName === 'small' ? 10 * 32 : 0;
  assert.ok(k.badness > k.rssPages + adj && k.badness < k.rssPages + adj + 64, JSON.stringify(k));
  // a killable victim exits at once, by itself: the reaper, 2 s later, has nothing to do
  assert.ok(k.exitAtNs - k.timeNs < 1e6, JSON.stringify(k));
  assert.equal(k.exitFreedPages, k.rssPages);
  assert.equal(k.reapedAtNs, null);
  assert.equal(res.counters.mmsim_oom_reaper_attempts, 0);
  assert.equal(res.counters.mmsim_oom_pages_freed, k.exitFreedPages);
  // a report, not a detector: nothing is wrong with the kernel
  assert.equal(res.detectorsTotal, 0);
  // the survivor's single pass ends, and with it the run
  assert.match(r.stdout, /ended early: every workload ended at [0-9.]+m?s of 1\.000s \(1 finished, 1 killed by the OOM killer\)/);
  assert.match(r.stdout, new RegExp(`OOM kill at [0-9.]+m?s: ${k.taskName} \\(badness ${k.badness.toLocaleString('en-US')} pages, ` +
    `rss ${k.rssPages.toLocaleString('en-US')}\\); its exit freed ${k.exitFreedPages.toLocaleString('en-US')} pages at`));
});

/** The victim fills memory, then takes its own mmap_lock (`mode`) and blocks on a mutex held for 5 s. */
function stuckVictim(mode: 'read' | 'write') {
  return runScenario(scenarioFromYaml(`
name: oom-reaper
description: the OOM victim is stuck in the kernel
duration: 6s
machine: { memory: 128MiB }
locks: { obj: { kind: mutex } }
processes:
  holder:
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: 5s }
      - { op: unlock, target: obj }
  victim:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, pattern: sequential }
      - { op: lock, target: mmap_lock, mode: ${mode} }
      - { op: lock, target: obj }
  spare:
    start: 100ms
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, pattern: sequential }
      - { op: sleep, duration: 10s }
`));
}

test('a victim stuck on a lock cannot exit: the OOM reaper frees its memory 2 s after the kill', () => {
  const r = stuckVictim('read');
  assert.equal(r.counters.oom_kill, 1, 'nobody else is killed');
  const k = r.oomKills[0]!;
  assert.equal(k.taskName, 'victim');
  assert.equal(k.reapedAtNs! - k.timeNs, 2e9, 'OOM_REAPER_DELAY');
  assert.equal(r.counters.mmsim_oom_reaper_attempts, 1, 'the mmap_lock is only read-held: the first attempt succeeds');
  assert.ok(k.reapedPages > 0.99 * k.rssPages, JSON.stringify(k));
  // once the holder lets go of the lock at 5 s, the victim gets it and exits
  assert.ok(k.exitAtNs! >= 5e9 && k.exitAtNs! < 5e9 + 1e6, `exit at ${k.exitAtNs}`);
  assert.equal(r.counters.mmsim_oom_reaper_unable, 0);
  assert.equal(r.counters.mmsim_alloc_failures, 0, 'the spare waited for the reaper, it did not fail');
});

test('a victim holding its mmap_lock for write cannot be reaped: 10 attempts, then the killer takes another', () => {
  const r = stuckVictim('write');
  assert.equal(r.counters.mmsim_oom_reaper_attempts, 10);
  assert.equal(r.counters.mmsim_oom_reaper_unable, 1);
  assert.equal(r.counters.oom_kill, 2);
  const [first, second] = r.oomKills;
  assert.equal(first!.taskName, 'victim');
  assert.equal(first!.reapedAtNs, null);
  assert.equal(second!.taskName, 'spare');
  // the second kill comes after the reaper gave up: 2 s delay + 9 × HZ/10 between its attempts
  assert.ok(second!.timeNs > first!.timeNs + 2.9e9 && second!.timeNs < first!.timeNs + 3e9, `${second!.timeNs - first!.timeNs} ns`);
  assert.ok(second!.exitAtNs! - second!.timeNs < 1e6, 'the spare is killable: it exits at once');
  assert.ok(first!.exitAtNs! >= 5e9 && first!.exitAtNs! < 5e9 + 1e6, 'the first victim exits when it gets its lock');
  assert.equal(first!.exitFreedPages, first!.rssPages);
});
