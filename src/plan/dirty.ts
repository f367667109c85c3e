/**
 * `mmsim plan dirty`: dirty-limit capacity planning. Runs a scenario over a grid of vm.dirty_*
 * settings and, per setting, measures what an SRE sizes for — writer throttling (time and pause
 * percentiles), data at risk (peak dirty + writeback, also in seconds of the devices' write
 * bandwidth), how old data gets before it reaches the disk, page cache kept for readers and the
 * reclaim trouble dirty pages cause — then recommends the setting that meets the objectives with
 * the most writer throughput, and says why.
 */
import type { Scenario } from '../scenario/types.js';
import type { RunResult } from '../report/result.js';
import { loadScenario } from '../scenario/load.js';
import { parseDuration, parseSize, formatSize } from '../scenario/units.js';
import { UsageError } from '../util/errors.js';

const PAGE = 4096;

export interface PlanObjectives {
  maxP99PauseMs: number;      // writers' p99 balance_dirty_pages sleep
  maxRiskSeconds: number;     // peak dirty + writeback ≤ this many seconds of device write bandwidth
  minCacheHitRatio: number;   // page-cache hit ratio of lookups (0 = no objective)
}

export interface PlanSetting {
  label: string;
  overrides: string[];        // --set style, e.g. vm.dirty_ratio=20
  vm: Record<string, number>;
}

export interface PlanPoint {
  setting: PlanSetting;
  seed: number;
  status: 'ok' | 'error';
  error?: string;
  figures: PlanFigures;
  meets: { pause: boolean; risk: boolean; cache: boolean; all: boolean };
}

export interface PlanFigures {
  writerMBps: number;           // pages dirtied per simulated second, in MB/s
  throttledSeconds: number;     // total sleep of all dirtiers
  pauseP50Ms: number; pauseP99Ms: number; pauseMaxMs: number; pauses: number;
  peakDirtyMB: number; peakWritebackMB: number; peakAtRiskMB: number;
  riskSeconds: number;          // peak dirty + writeback / Σ device write bandwidth
  flushAgeP50s: number; flushAgeP99s: number;
  cacheHitRatio: number;        // page-cache lookups that hit
  directReclaimSeconds: number; allocstall: number; immediateReclaim: number;
  dirtyThresholdMB: number; backgroundThresholdMB: number;
  /** When every workload ended within the run (a writer with a fixed amount to write): the seconds it took; -1 when they ran to the end. */
  finishSeconds: number;
}

/** A list of values: `5,10,20` or a range `5..40:5`. */
function parseList(flag: string, text: string, parse: (v: string) => number): number[] {
  const range = /^(.+)\.\.(.+):(.+)$/.exec(text);
  if (range) {
    const lo = parse(range[1]!); const hi = parse(range[2]!); const step = parse(range[3]!);
    if (!(step > 0) || hi < lo) throw new UsageError(`${flag} ${text}: a range needs lo..hi:step with hi ≥ lo and step > 0; e.g. 5..40:5`);
    const out: number[] = [];
    for (let v = lo; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }
  const values = text.split(',').map((v) => v.trim());
  // Number('') is 0: without this check `10,,20` would plan a 0 point nobody asked for.
  if (values.some((v) => v === '')) throw new UsageError(`${flag} ${text}: an empty value in the list; e.g. ${flag} ${EXAMPLE_LIST[flag] ?? '10,20,40'}`);
  return values.map(parse);
}

const EXAMPLE_LIST: Readonly<Record<string, string>> = {
  '--bytes': '256MiB,1GiB', '--background-bytes': '128MiB,512MiB', '--expire': '1500,3000',
};

function percent(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 100) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a whole percentage from 0 to 100; e.g. 20`);
    return n;
  };
}

function bytes(flag: string): (v: string) => number {
  return (v) => {
    try { return parseSize(v, '1GiB'); } catch (e) { throw new UsageError(`${flag}: ${(e as Error).message}`); }
  };
}

export interface PlanFlags {
  ratio?: string; background?: string; bytes?: string; backgroundBytes?: string; expire?: string;
  maxPause?: string; maxRisk?: string; minCache?: string;
}

/** The grid of settings the flags describe (background defaults to half of the hard limit). */
export function planSettings(flags: PlanFlags): PlanSetting[] {
  const expires = flags.expire ? parseList('--expire', flags.expire, (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--expire: ${JSON.stringify(v)} is not a whole number of centiseconds; e.g. 3000`);
    return n;
  }) : [undefined];
  const out: PlanSetting[] = [];
  const push = (vm: Record<string, number>, label: string) => {
    for (const e of expires) {
      const full = e === undefined ? vm : { ...vm, dirty_expire_centisecs: e };
      out.push({
        label: e === undefined ? label : `${label}, expire ${e / 100}s`,
        vm: full,
        overrides: Object.entries(full).map(([k, v]) => `vm.${k}=${v}`),
      });
    }
  };
  if (flags.bytes) {
    if (flags.ratio) throw new UsageError('--bytes and --ratio are alternatives (writing vm.dirty_bytes zeroes vm.dirty_ratio); give one');
    const hard = parseList('--bytes', flags.bytes, bytes('--bytes'));
    const bg = flags.backgroundBytes ? parseList('--background-bytes', flags.backgroundBytes, bytes('--background-bytes')) : undefined;
    for (const h of hard) {
      for (const b of bg ?? [Math.floor(h / 2 / PAGE) * PAGE]) {
        push({ dirty_bytes: h, dirty_background_bytes: b, dirty_ratio: 0, dirty_background_ratio: 0 },
          `dirty_bytes ${formatSize(h)}, background ${formatSize(b)}`);
      }
    }
  } else {
    const hard = parseList('--ratio', flags.ratio ?? '5,10,20,30,40', percent('--ratio'));
    const bg = flags.background ? parseList('--background', flags.background, percent('--background')) : undefined;
    for (const h of hard) {
      for (const b of bg ?? [Math.floor(h / 2)]) {
        push({ dirty_ratio: h, dirty_background_ratio: b, dirty_bytes: 0, dirty_background_bytes: 0 },
          `dirty_ratio ${h}%, background ${b}%`);
      }
    }
  }
  return out;
}

export function planObjectives(flags: PlanFlags): PlanObjectives {
  const ms = (flag: string, v: string) => {
    try { return parseDuration(v, '10ms') / 1e6; } catch (e) { throw new UsageError(`${flag}: ${(e as Error).message}`); }
  };
  const minCache = flags.minCache === undefined ? 0 : Number(flags.minCache.replace(/%$/, '')) / (flags.minCache.endsWith('%') ? 100 : 1);
  if (!(minCache >= 0 && minCache <= 1)) throw new UsageError(`--min-cache: ${JSON.stringify(flags.minCache)} is not a fraction from 0 to 1 or a percentage; e.g. 0.9 or 90%`);
  return {
    maxP99PauseMs: flags.maxPause ? ms('--max-pause', flags.maxPause) : 10,
    maxRiskSeconds: flags.maxRisk ? ms('--max-risk', flags.maxRisk) / 1000 : 5,
    minCacheHitRatio: minCache,
  };
}

/** The figures of one run. */
export function planFigures(s: Scenario, r: RunResult): PlanFigures {
  const c = r.counters;
  const g = (k: string) => c[k] ?? 0;
  const mb = (pages: number) => (pages * PAGE) / 1e6;
  const writeBw = Object.values(s.devices).reduce((a, d) => a + d.writeBandwidth, 0) / PAGE;
  const hits = g('mmsim_pagecache_hits'); const misses = g('mmsim_pagecache_misses');
  return {
    writerMBps: r.simulatedSeconds > 0 ? mb(g('nr_dirtied')) / r.simulatedSeconds : 0,
    throttledSeconds: g('mmsim_dirty_throttle_ns') / 1e9,
    pauseP50Ms: r.writeback.pauses.p50Ms, pauseP99Ms: r.writeback.pauses.p99Ms, pauseMaxMs: r.writeback.pauses.maxMs,
    pauses: r.writeback.pauses.count,
    peakDirtyMB: mb(g('mmsim_peak_dirty')), peakWritebackMB: mb(g('mmsim_peak_writeback')),
    peakAtRiskMB: mb(g('mmsim_peak_dirty_writeback')),
    riskSeconds: writeBw > 0 ? g('mmsim_peak_dirty_writeback') / writeBw : 0,
    flushAgeP50s: r.writeback.flushAge.p50Ms / 1000, flushAgeP99s: r.writeback.flushAge.p99Ms / 1000,
    cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : 1,
    directReclaimSeconds: g('mmsim_direct_reclaim_ns') / 1e9, allocstall: g('allocstall_movable') + g('allocstall_normal'),
    immediateReclaim: g('nr_vmscan_immediate_reclaim'),
    dirtyThresholdMB: mb(g('nr_dirty_threshold')), backgroundThresholdMB: mb(g('nr_dirty_background_threshold')),
    finishSeconds: r.simulatedSeconds < s.duration / 1e9 && r.status === 'ok' ? r.simulatedSeconds : -1,
  };
}

export function evaluate(f: PlanFigures, o: PlanObjectives): PlanPoint['meets'] {
  const pause = f.pauseP99Ms <= o.maxP99PauseMs;
  const risk = f.riskSeconds <= o.maxRiskSeconds;
  const cache = o.minCacheHitRatio <= 0 || f.cacheHitRatio >= o.minCacheHitRatio;
  return { pause, risk, cache, all: pause && risk && cache };
}

export interface Recommendation {
  setting?: PlanSetting;
  why: string;
}

/** Among settings meeting every objective (all seeds), the most writer throughput; ties: less throttling, less risk. */
export function recommend(points: readonly PlanPoint[], o: PlanObjectives): Recommendation {
  const bySetting = new Map<string, PlanPoint[]>();
  for (const p of points) bySetting.set(p.setting.label, [...(bySetting.get(p.setting.label) ?? []), p]);
  const mean = (ps: PlanPoint[], k: keyof PlanFigures) => ps.reduce((a, p) => a + p.figures[k], 0) / ps.length;
  const rows = [...bySetting.values()].map((ps) => ({
    setting: ps[0]!.setting, ok: ps.every((p) => p.status === 'ok' && p.meets.all),
    tput: mean(ps, 'writerMBps'), throttle: mean(ps, 'throttledSeconds'), risk: mean(ps, 'riskSeconds'),
    finish: ps.every((p) => p.figures.finishSeconds > 0) ? mean(ps, 'finishSeconds') : -1, threshold: mean(ps, 'dirtyThresholdMB'),
    p99: Math.max(...ps.map((p) => p.figures.pauseP99Ms)), cache: Math.min(...ps.map((p) => p.figures.cacheHitRatio)),
    fails: [...new Set(ps.flatMap((p) => [
      ...(p.status !== 'ok' ? [`run failed: ${p.error}`] : []),
      ...(!p.meets.pause ? [`p99 pause ${p.figures.pauseP99Ms} ms > ${o.maxP99PauseMs} ms`] : []),
      ...(!p.meets.risk ? [`data at risk ${p.figures.riskSeconds.toFixed(2)} s > ${o.maxRiskSeconds} s`] : []),
      ...(!p.meets.cache ? [`cache hit ratio ${(p.figures.cacheHitRatio * 100).toFixed(1)}% < ${(o.minCacheHitRatio * 100).toFixed(1)}%`] : []),
    ]))],
  }));
  // writers with a fixed amount to write finish within the run: the throughput over the whole run
  // then ties, and the time to finish ranks them
  const finishing = rows.every((r) => r.finish > 0);
  const good = rows.filter((r) => r.ok).sort((a, b) =>
    (finishing ? a.finish - b.finish : b.tput - a.tput) || a.throttle - b.throttle || a.risk - b.risk);
  const objectives = `objectives: p99 pause ≤ ${o.maxP99PauseMs} ms, data at risk ≤ ${o.maxRiskSeconds} s of write bandwidth` +
    (o.minCacheHitRatio > 0 ? `, page-cache hit ratio ≥ ${(o.minCacheHitRatio * 100).toFixed(1)}%` : '');
  const rejected = rows.filter((r) => !r.ok).map((r) => `  ${r.setting.label}: ${r.fails.join('; ')}`);
  if (good.length === 0) {
    return { why: [`no setting meets the ${objectives}.`, ...rejected].join('\n') };
  }
  const best = good[0]!;
  const lines = [
    `recommended: ${best.setting.label} (${best.setting.overrides.join(' ')})`,
    `  meets the ${objectives}: p99 pause ${best.p99} ms, data at risk ${best.risk.toFixed(2)} s` +
      (o.minCacheHitRatio > 0 ? `, cache hit ratio ${(best.cache * 100).toFixed(1)}%` : ''),
    (finishing
      ? `  the writers finished in ${best.finish.toFixed(2)} s and slept ${best.throttle.toFixed(2)} s in balance_dirty_pages — ` +
        (good.length > 1 ? `the soonest of the ${good.length} settings that meet the objectives` : 'the only setting that meets the objectives')
      : `  writers dirtied ${best.tput.toFixed(1)} MB/s and slept ${best.throttle.toFixed(2)} s in balance_dirty_pages — ` +
        (good.length > 1 ? `the most throughput of the ${good.length} settings that meet the objectives` : 'the only setting that meets the objectives')),
  ];
  if (best.threshold < 1) {
    lines.push(`  note: its dirty threshold is ${best.threshold.toFixed(1)} MB — writers are held to the disk's pace from the first page ` +
      `(${best.tput.toFixed(1)} MB/s here), which meets pause and risk objectives trivially: weigh its throughput against the settings above`);
  }
  if (rejected.length) lines.push('  rejected:', ...rejected.map((l) => `  ${l}`));
  return { setting: best.setting, why: lines.join('\n') };
}

/** Load the scenario once per setting (overrides validated like --set). */
export function planScenario(name: string, sets: readonly string[], setting: PlanSetting): Scenario {
  return loadScenario(name, [...sets, ...setting.overrides]);
}
