/**
 * results.json: everything that is a function of (scenario, seed), with a fixed key order, so
 * two runs of the same scenario and seed produce byte-identical files that diff cleanly.
 * Wall-clock figures are left out on purpose.
 */
import { COUNTERS } from '../abi/counters.js';
import type { DetectorHit, RunResult, ZoneInfo } from './result.js';

/** The object written to results.json and printed by `--format json`. */
export function resultsObject(result: RunResult): Record<string, unknown> {
  return {
    scenario: result.scenario,
    seed: result.seed,
    simulatedSeconds: result.simulatedSeconds,
    status: result.status,
    ...(result.error ? {
      error: {
        message: result.error.message,
        simulatedNs: result.error.simulatedNs,
        lastEvent: result.error.lastEvent,
      },
    } : {}),
    counters: orderedCounters(result.counters),
    zones: result.zones.map(zoneObject),
    wbs: (result.wbs ?? []).map((w) => ({ ...w })),
    ...(result.writeback ? { writeback: { pauses: { ...result.writeback.pauses }, flushAge: { ...result.writeback.flushAge } } } : {}),
    ...(result.reclaim ? { reclaim: { directLatency: { ...result.reclaim.directLatency } } } : {}),
    detectorsTotal: result.detectorsTotal,
    detectors: result.detectors.map(detectorObject),
    oomKills: result.oomKills.map((k) => ({ ...k })),
    ...(result.damon ? { damon: result.damon.map((r) => ({ ...r })) } : {}),
  };
}

export function formatResultsJson(result: RunResult): string {
  return `${JSON.stringify(resultsObject(result), null, 2)}\n`;
}

/** The counter list's order, then any counter the list does not know in the order given. */
function orderedCounters(counters: Record<string, number>): Record<string, number> {
  const ordered: Record<string, number> = {};
  for (const { name } of COUNTERS) ordered[name] = counters[name] ?? 0;
  for (const [name, value] of Object.entries(counters)) if (!(name in ordered)) ordered[name] = value;
  return ordered;
}

function zoneObject(zone: ZoneInfo): ZoneInfo {
  return {
    name: zone.name, managed: zone.managed, min: zone.min, low: zone.low, high: zone.high,
    lowmemReserve: [...zone.lowmemReserve],
  };
}

function detectorObject(hit: DetectorHit): DetectorHit {
  const out: DetectorHit = { kind: hit.kind, timeNs: hit.timeNs, pfn: hit.pfn, task: hit.task, func: hit.func, value: hit.value };
  if (hit.waitsFor !== undefined) { out.taskName = hit.taskName; out.waitsFor = hit.waitsFor; out.owner = hit.owner; }
  if (hit.subscriber !== undefined) { out.taskName = hit.taskName; out.subscriber = hit.subscriber; }
  if (hit.device !== undefined) { out.taskName = hit.taskName; out.device = hit.device; }
  else if (hit.taskName !== undefined && out.taskName === undefined) out.taskName = hit.taskName;
  if (hit.file !== undefined) { out.file = hit.file; out.device = hit.device; }
  return out;
}
