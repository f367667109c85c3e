/**
 * Speed changes must not change results. test/golden/bench-pressure-1m.results.json is the
 * results.json of bench-pressure scaled to 1M frames (4 GiB, a 64 GiB VMA, 4M stores: reclaim
 * and swap at full tilt) written by the build before the reclaim path's batch prefetch
 * (commit 020462a); every later build must give the same bytes (counters added since, which
 * must read 0 here, left out). A change that means to alter results regenerates it, and says so. The prefetch switched off gives the same bytes too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { loadScenario } from '../src/scenario/load.js';
import { testCoreModule, type TestCoreExports } from './helpers.js';

const GOLDEN = fileURLToPath(new URL('../../test/golden/bench-pressure-1m.results.json', import.meta.url));
const scenario = () => loadScenario('bench-pressure', ['machine.memory=4GiB', 'processes.bench.vmas.heap.size=64GiB', 'swap.size=64GiB',
  'processes.bench.workload.0.accesses=4000000']);

/** The counters that differ, for a readable failure. */
function diff(a: string, b: string): string {
  const ca = JSON.parse(a).counters as Record<string, number>; const cb = JSON.parse(b).counters as Record<string, number>;
  return Object.keys({ ...ca, ...cb }).filter((k) => ca[k] !== cb[k]).slice(0, 12).map((k) => `${k}: ${ca[k]} → ${cb[k]}`).join(', ');
}

/**
 * Counters added since the golden file was written are absent from it: a new mechanism that
 * does nothing here must read 0, and then it is left out — every other byte stays compared.
 */
function withoutNewIdleCounters(golden: string, now: string): string {
  const g = JSON.parse(golden) as { counters: Record<string, number> };
  const n = JSON.parse(now) as { counters: Record<string, number> };
  const kept = Object.fromEntries(Object.entries(n.counters).filter(([k, v]) => k in g.counters || v !== 0));
  return now.replace(JSON.stringify(n.counters, null, 2).replace(/\n/g, '\n  '), JSON.stringify(kept, null, 2).replace(/\n/g, '\n  '));
}

test('bench-pressure at 1M frames gives the golden results.json, byte for byte', () => {
  const golden = readFileSync(GOLDEN, 'utf8');
  const now = withoutNewIdleCounters(golden, formatResultsJson(runScenario(scenario())));
  const g = JSON.parse(golden).counters;
  assert.ok(g.pgscan_kswapd > 1_000_000 && g.pswpout > 500_000, 'the golden run reclaims hard');
  assert.ok(now === golden, `results changed: ${diff(golden, now)}`);
});

test('the reclaim batch prefetch changes nothing: on and off give the same bytes', () => {
  const run = (on: number) => formatResultsJson(runScenario(scenario(), {
    module: testCoreModule(), wrapCore: (core) => { (core as TestCoreExports).setRmapPrefetch(on); return core; },
  }));
  const on = run(1); const off = run(0);
  assert.ok(on === off, diff(off, on));
});
