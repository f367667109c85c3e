/**
 * `mmsim plan dirty`: the grid from the flags, the figures of each run, the objectives and the
 * recommendation, the output files, and bad flags refused with status 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { planSettings, planObjectives, recommend, type PlanPoint } from '../src/plan/dirty.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-plan-'));
const mmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('the grid: ratio lists and ranges with background at half, bytes with explicit backgrounds, expiry', () => {
  const a = planSettings({ ratio: '10..30:10' });
  assert.deepEqual(a.map((s) => s.vm), [
    { dirty_ratio: 10, dirty_background_ratio: 5, dirty_bytes: 0, dirty_background_bytes: 0 },
    { dirty_ratio: 20, dirty_background_ratio: 10, dirty_bytes: 0, dirty_background_bytes: 0 },
    { dirty_ratio: 30, dirty_background_ratio: 15, dirty_bytes: 0, dirty_background_bytes: 0 },
  ]);
  const b = planSettings({ bytes: '256MiB,1GiB', backgroundBytes: '64MiB', expire: '1500,3000' });
  assert.equal(b.length, 4);
  assert.deepEqual(b[3]!.overrides, ['vm.dirty_bytes=1073741824', 'vm.dirty_background_bytes=67108864',
    'vm.dirty_ratio=0', 'vm.dirty_background_ratio=0', 'vm.dirty_expire_centisecs=3000']);
  assert.throws(() => planSettings({ ratio: '10,200' }), /--ratio: "200" is not a whole percentage/);
  assert.throws(() => planSettings({ ratio: '10', bytes: '1GiB' }), /alternatives/);
  assert.throws(() => planSettings({ bytes: '12 GB' }), /--bytes/);
  assert.deepEqual(planObjectives({ maxPause: '20ms', maxRisk: '2s', minCache: '90%' }), { maxP99PauseMs: 20, maxRiskSeconds: 2, minCacheHitRatio: 0.9 });
});

test('the recommendation: the most throughput among settings meeting every objective, with the reasons', () => {
  const o = { maxP99PauseMs: 10, maxRiskSeconds: 5, minCacheHitRatio: 0 };
  const point = (label: string, tput: number, p99: number, risk: number, finish = -1, threshold = 100): PlanPoint => ({
    setting: { label, overrides: [`x=${label}`], vm: {} }, seed: 1, status: 'ok',
    figures: { writerMBps: tput, throttledSeconds: 0, pauseP50Ms: 0, pauseP99Ms: p99, pauseMaxMs: p99, pauses: 0,
      peakDirtyMB: 0, peakWritebackMB: 0, peakAtRiskMB: 0, riskSeconds: risk, flushAgeP50s: 0, flushAgeP99s: 0,
      cacheHitRatio: 1, directReclaimSeconds: 0, allocstall: 0, immediateReclaim: 0, dirtyThresholdMB: threshold,
      backgroundThresholdMB: threshold / 2, finishSeconds: finish },
    meets: { pause: p99 <= 10, risk: risk <= 5, cache: true, all: p99 <= 10 && risk <= 5 },
  });
  const rec = recommend([point('a', 100, 50, 1), point('b', 90, 5, 2), point('c', 95, 8, 4), point('d', 120, 5, 9)], o);
  assert.equal(rec.setting?.label, 'c');
  assert.match(rec.why, /a: p99 pause 50 ms > 10 ms/);
  assert.match(rec.why, /d: data at risk 9.00 s > 5 s/);
  const none = recommend([point('a', 100, 50, 1)], o);
  assert.equal(none.setting, undefined);
  assert.match(none.why, /no setting meets/);
});

test('writers that finish within the run are ranked by the time they took; a zero threshold is called out', () => {
  const o = { maxP99PauseMs: 10, maxRiskSeconds: 5, minCacheHitRatio: 0 };
  const point = (label: string, finish: number, threshold: number): PlanPoint => ({
    setting: { label, overrides: [`x=${label}`], vm: {} }, seed: 1, status: 'ok',
    figures: { writerMBps: 4, throttledSeconds: 0, pauseP50Ms: 0, pauseP99Ms: 1, pauseMaxMs: 1, pauses: 0,
      peakDirtyMB: 0, peakWritebackMB: 0, peakAtRiskMB: 0, riskSeconds: 1, flushAgeP50s: 0, flushAgeP99s: 0,
      cacheHitRatio: 1, directReclaimSeconds: 0, allocstall: 0, immediateReclaim: 0, dirtyThresholdMB: threshold,
      backgroundThresholdMB: threshold / 2, finishSeconds: finish },
    meets: { pause: true, risk: true, cache: true, all: true },
  });
  // the same throughput over the whole run everywhere: the soonest to finish wins
  const rec = recommend([point('slow', 9, 200), point('fast', 3, 200), point('mid', 5, 200)], o);
  assert.equal(rec.setting?.label, 'fast');
  assert.match(rec.why, /the writers finished in 3\.00 s .* the soonest of the 3 settings/);
  assert.doesNotMatch(rec.why, /note:/);
  const zero = recommend([point('zero', 2, 0)], o);
  assert.match(zero.why, /note: its dirty threshold is 0\.0 MB — writers are held to the disk's pace/);
});

const scenario = join(dir, 'small.yaml');
writeFileSync(scenario, `
name: small-writer
description: a writer faster than its disk on a small machine
duration: 4s
machine: { memory: 512MiB }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: 50MB/s, readLatency: 1ms, writeLatency: 1ms }
files:
  log: { size: 4GiB, device: disk }
processes:
  writer:
    workload:
      - { op: write, target: log, pattern: sequential, ioSize: 64KiB }
    loop: true
`);

test('mmsim plan dirty runs the grid, writes plan.json, plan.csv and the plots, and recommends a setting', () => {
  const out = join(dir, 'plan');
  const r = mmsim('plan', 'dirty', scenario, '--ratio', '5,20,60', '--max-pause', '50ms', '--max-risk', '1s', '--out', out, '-j', '2');
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['plan.json', 'plan.csv', 'objectives.svg', 'dirty-over-time.svg']) assert.ok(existsSync(join(out, f)), f);
  const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
  assert.equal(plan.points.length, 3);
  const [r5, r20, r60] = plan.points;
  // a larger dirty limit holds more data at risk; a writer faster than its disk is throttled in all
  assert.ok(r5.figures.peakAtRiskMB < r20.figures.peakAtRiskMB && r20.figures.peakAtRiskMB < r60.figures.peakAtRiskMB);
  for (const p of plan.points) {
    assert.ok(p.figures.throttledSeconds > 0, `${p.setting.label} throttled`);
    assert.ok(p.figures.pauseMaxMs <= 200);
    // the disk's 50 MB/s, plus the dirty pages it may hold at the end of the 4 s run
    const bound = 50 + p.figures.dirtyThresholdMB / 4;
    assert.ok(p.figures.writerMBps > 45 && p.figures.writerMBps < bound * 1.05, `${p.setting.label}: ${p.figures.writerMBps} MB/s, bound ${bound}`);
  }
  // 60% keeps over a second of the disk's bandwidth dirty: rejected for data at risk
  assert.equal(r60.meets.risk, false);
  assert.ok(plan.recommendation, plan.why);
  assert.notEqual(plan.recommendation.setting, r60.setting.label);
  assert.match(r.stdout, /recommended: dirty_ratio/);
  assert.match(readFileSync(join(out, 'objectives.svg'), 'utf8'), /^<svg/);
  assert.equal(readFileSync(join(out, 'plan.csv'), 'utf8').trim().split('\n').length, 4);
  // the same plan with one worker gives the same bytes
  const out1 = join(dir, 'plan1');
  assert.equal(mmsim('plan', 'dirty', scenario, '--ratio', '5,20,60', '--max-pause', '50ms', '--max-risk', '1s', '--out', out1, '-j', '1', '--quiet').status, 0);
  assert.equal(readFileSync(join(out1, 'plan.json'), 'utf8'), readFileSync(join(out, 'plan.json'), 'utf8'));
});

test('plan dirty --seeds 2 prints one row per setting with the mean ± the 95% interval; plan.csv keeps every seed', () => {
  const out = join(dir, 'plan-seeds');
  const r = mmsim('plan', 'dirty', scenario, '--ratio', '5,20', '--seeds', '2', '--duration', '1s', '--max-pause', '1s', '--max-risk', '60s', '--out', out, '-j', '2');
  assert.equal(r.status, 0, r.stderr);
  const table = r.stdout.split('\n');
  assert.match(table[0]!, /^setting\s+seeds\s+MB\/s/);
  const rows = table.filter((l) => /^dirty_ratio/.test(l));
  assert.equal(rows.length, 2, r.stdout);
  for (const row of rows) assert.match(row, /\s2\s+[0-9.]+ ± [0-9.]+/);
  assert.equal(readFileSync(join(out, 'plan.csv'), 'utf8').trim().split('\n').length, 5);
});

test('plan dirty --bytes (the README example) plans dirty_bytes settings, and the runs use them', () => {
  // --ratio has a default only when --bytes is absent: giving --bytes alone must not conflict
  const out = join(dir, 'bytes');
  const r = mmsim('plan', 'dirty', 'storage-server', '--bytes', '256MiB,1GiB,4GiB', '--expire', '1500,3000',
    '--duration', '500ms', '--out', out, '-j', '2', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
  assert.equal(plan.points.length, 6);
  const expected = [256 * 2 ** 20, 2 ** 30, 4 * 2 ** 30].flatMap((b) => [1500, 3000].map((e) => ({ b, e })));
  plan.points.forEach((p: PlanPoint, i: number) => {
    const { b, e } = expected[i]!;
    assert.deepEqual(p.setting.vm, { dirty_bytes: b, dirty_background_bytes: b / 2, dirty_ratio: 0, dirty_background_ratio: 0, dirty_expire_centisecs: e });
    // the simulated kernel's thresholds are the byte limits (domain_dirty_limits' bytes form)
    assert.equal(p.figures.dirtyThresholdMB, b / 1e6, p.setting.label);
    assert.equal(p.figures.backgroundThresholdMB, b / 2 / 1e6, p.setting.label);
  });
  const both = mmsim('plan', 'dirty', 'storage-server', '--ratio', '10', '--bytes', '1GiB', '--out', join(dir, 'both'));
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--bytes and --ratio are alternatives/);
});

test('plan dirty refuses an empty list value and an unknown --format, like sweep', () => {
  const out = join(dir, 'refused');
  const empty = mmsim('plan', 'dirty', scenario, '--ratio', '10,,20', '--out', out);
  assert.equal(empty.status, 2, empty.stderr);
  assert.match(empty.stderr, /--ratio 10,,20: an empty value in the list; e\.g\. --ratio 10,20,40/);
  const emptyBytes = mmsim('plan', 'dirty', scenario, '--bytes', '1GiB,', '--out', out);
  assert.equal(emptyBytes.status, 2, emptyBytes.stderr);
  assert.match(emptyBytes.stderr, /--bytes 1GiB,: an empty value/);
  const xml = mmsim('plan', 'dirty', scenario, '--format', 'xml', '--out', out);
  assert.equal(xml.status, 2, xml.stderr);
  assert.match(xml.stderr, /'xml' is invalid\. Allowed choices are text, json/);
  assert.doesNotMatch(xml.stderr + empty.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(out));
});

test('plan dirty refuses bad flags with status 2 and writes nothing', () => {
  const out = join(dir, 'bad');
  for (const args of [['--ratio', '10,abc'], ['--max-pause', 'fast'], ['--min-cache', '150%'], ['--seeds', '0'], ['--set', 'vm.swappiness=900']]) {
    const r = mmsim('plan', 'dirty', scenario, '--out', out, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.length > 0);
  }
  assert.ok(!existsSync(out));
});
