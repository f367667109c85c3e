/**
 * The checking mode through the real CLI: every built-in runs clean under `mmsim run --check`
 * (simulated time never goes backwards; free lists, mapcounts, swap counts, LRU lists and the
 * state of every frame hold at every sample), and checking changes no result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { builtinNames } from '../src/scenario/builtins.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-check-'));
const mmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

/**
 * The big machines are checked over their first samples (a check walks every frame and PTE),
 * and small-fits over its first second (its two tasks take turns every few hundred ns).
 */
const SHORTER: Record<string, string> = { 'bench-reference': '100ms', 'bench-pressure': '100ms', 'numa-1tib': '10ms', 'small-fits': '1s', 'storage-server': '5s' };

/** Detector kinds a scenario reproduces on purpose (the seed scenarios' outcome tables). */
const FINDINGS = new Set(['mmsim_notifier_unpaired_start', 'mmsim_notifier_unpaired_end', 'mmsim_end_blocked_after_nonblocking_start',
  'mmsim_oom_livelock', 'mmsim_deadlock', 'mmsim_hung_task', 'mmsim_dma_write_after_clean', 'mmsim_bug_writeback_no_buffers', 'mmsim_dma_after_truncate']);
const SEED_SCENARIOS = new Set(['notifier-pairing', 'oom-reaper-notifiers', 'gup-writeback-bug', 'gup-writeback-bug-dio', 'truncate-pinned', 'userptr-direct-reclaim']);

for (const name of builtinNames()) {
  test(`${name} runs clean under --check`, () => {
    const out = join(dir, name);
    const extra = SHORTER[name] ? ['--duration', SHORTER[name]!] : [];
    const r = mmsim('run', name, '--check', '--quiet', '--out', out, '-j', '2', ...extra);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.status, 'ok');
    // the checker finds nothing; a seed scenario's own findings (unpaired notifier starts,
    // a livelock) are what it is for
    const checker = results.detectors.filter((d: { kind: string }) => !FINDINGS.has(d.kind));
    assert.deepEqual(checker, []);
    if (!SEED_SCENARIOS.has(name)) assert.equal(results.detectorsTotal, 0, JSON.stringify(results.detectors.slice(0, 5)));
    assert.equal(results.counters.mmsim_bug, 0);
    assert.ok(results.counters.mmsim_events > 0);
  });
}

test('--check changes no result: the same bytes as a run without it', () => {
  const a = mmsim('run', 'default', '--duration', '2s', '--quiet', '--out', join(dir, 'plain'));
  const b = mmsim('run', 'default', '--duration', '2s', '--check', '--quiet', '--out', join(dir, 'checked'));
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  for (const f of ['vmstat.txt', 'results.json', 'series.csv']) {
    assert.equal(readFileSync(join(dir, 'plain', f), 'utf8'), readFileSync(join(dir, 'checked', f), 'utf8'), f);
  }
});
