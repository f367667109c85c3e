/**
 * The plan's plots, as SVG rendered by Vega-Lite in Node (no browser): dirty pages against the
 * thresholds over time for the recommended setting, and the objectives across the grid.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RunResult } from '../report/result.js';
import type { PlanObjectives, PlanPoint } from './dirty.js';

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

const SERIES = [
  ['dirty + writeback', (g: (k: string) => number) => g('nr_dirty') + g('nr_writeback')],
  ['writeback', (g: (k: string) => number) => g('nr_writeback')],
  ['background threshold', (g: (k: string) => number) => g('nr_dirty_background_threshold')],
  ['freerun ceiling', (g: (k: string) => number) => g('mmsim_dirty_freerun')],
  ['setpoint', (g: (k: string) => number) => g('mmsim_dirty_setpoint')],
  ['dirty threshold', (g: (k: string) => number) => g('nr_dirty_threshold')],
] as const;

/** nr_dirty + nr_writeback with the control line's levels, in MB, over simulated time. */
export async function dirtyOverTimeSvg(r: RunResult, title: string): Promise<string> {
  const cols = r.series.columns;
  const values: { t: number; series: string; MB: number }[] = [];
  for (const row of r.series.rows) {
    const g = (k: string) => row[cols.indexOf(k)] ?? 0;
    for (const [name, f] of SERIES) values.push({ t: row[0]!, series: name, MB: (f(g) * 4096) / 1e6 });
  }
  return toSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: 640, height: 320,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'simulated time (s)' },
      y: { field: 'MB', type: 'quantitative', title: 'MB' },
      color: { field: 'series', type: 'nominal', sort: SERIES.map((s) => s[0]) },
    },
  });
}

/** The objectives across the grid: p99 pause, data at risk and writer throughput per setting. */
export async function objectiveSurfaceSvg(points: readonly PlanPoint[], o: PlanObjectives): Promise<string> {
  const order = [...new Set(points.map((p) => p.setting.label))];
  const values = points.map((p) => ({
    setting: p.setting.label, seed: p.seed, meets: p.meets.all ? 'meets objectives' : 'fails',
    p99: p.figures.pauseP99Ms, risk: p.figures.riskSeconds, tput: p.figures.writerMBps,
  }));
  const panel = (field: string, title: string, limit?: number) => ({
    width: 200, height: 220,
    layer: [
      {
        mark: { type: 'point' as const, filled: true, size: 60 },
        encoding: {
          x: { field: 'setting', type: 'nominal' as const, sort: order, title: null, axis: { labelAngle: -40 } },
          y: { field, type: 'quantitative' as const, title },
          color: { field: 'meets', type: 'nominal' as const, scale: { domain: ['meets objectives', 'fails'], range: ['#2ca02c', '#d62728'] } },
        },
      },
      ...(limit === undefined ? [] : [{ mark: { type: 'rule' as const, strokeDash: [4, 4] }, encoding: { y: { datum: limit } } }]),
    ],
  });
  return toSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'dirty settings against the objectives (dashed: the objective)',
    data: { values },
    hconcat: [
      panel('p99', 'writer p99 pause (ms)', o.maxP99PauseMs),
      panel('risk', 'data at risk (s of write bandwidth)', o.maxRiskSeconds),
      panel('tput', 'writers dirtied (MB/s)'),
    ],
  } as TopLevelSpec);
}
