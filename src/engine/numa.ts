/**
 * A machine of several NUMA nodes: one WASM instance per node, each owning its node's frames,
 * LRUs, kswapd, devices and the processes bound to it. Every epoch (machine.epoch, 1 ms by
 * default) the nodes stop at the same simulated time and exchange what the kernel keeps global —
 * dirty and writeback pages, dirtyable memory and writeback completions, for the global dirty
 * limits — then go on. A node's work in an epoch depends only on its own state and the totals of
 * the previous boundary, so the results are the same whichever thread runs which node, and in
 * whatever order (tested: one thread running every node in turn gives the same bytes as one
 * worker per node).
 */
import { Worker } from 'node:worker_threads';
import { COUNTERS, type CounterDef } from '../abi/counters.js';
import { STATUS } from '../abi/config.js';
import type { Scenario } from '../scenario/types.js';
import type { RunResult, DetectorHit } from '../report/result.js';
import { collect, createCore, type EngineOptions, type RawHistograms } from './engine.js';
import { coreModule, type CoreExports } from './wasm.js';
import { distribution, log2Distribution } from './histogram.js';
import type { Encoded } from './encode.js';
import { HostMemoryError } from '../util/errors.js';

/** Node k's own scenario: its share of memory and the processes bound to it; devices and files are its own copies. */
export function nodeScenario(s: Scenario, k: number): Scenario {
  const processes = Object.fromEntries(Object.entries(s.processes).filter(([, p]) => p.node === k));
  // each node's kdamond monitors the targets that run there
  const targets = Object.fromEntries(Object.entries(s.damon.targets).filter(([name]) => processes[name] !== undefined));
  return { ...s, machine: { ...s.machine, memory: s.machine.memory / s.machine.nodes, nodes: 1, movablecoreNodes: s.machine.nodes }, processes, damon: { ...s.damon, targets } };
}

/** ctrl[3] when a worker failed to create its nodes' instances (1: a node failed in an epoch). */
export const NODE_SETUP_FAILED = 2;

/** Each node draws its own random streams. */
export function nodeSeed(seed: number, k: number): number { return seed + k * 1_000_003; }

/**
 * Values a node hands over at a boundary (the first four are exchanged as totals of the other
 * nodes; the fifth, its live tasks, tells when the whole machine's workloads have ended).
 */
export const LOCALS = 5;

export function readLocals(core: CoreExports, out: Float64Array, k: number): void {
  out[k * LOCALS] = core.localDirty();
  out[k * LOCALS + 1] = core.localFileDirty();
  out[k * LOCALS + 2] = core.localDirtyable();
  out[k * LOCALS + 3] = core.localCompletions();
  out[k * LOCALS + 4] = core.tasksLive();
}

/** Every workload of the machine has ended (and there was one): the run ends at this boundary. */
function allEnded(s: Scenario, locals: Float64Array, n: number): boolean {
  if (Object.keys(s.processes).length === 0) return false;
  for (let k = 0; k < n; k++) if (locals[k * LOCALS + 4]! > 0) return false;
  return true;
}

/** remote[k] = Σ over the other nodes. */
function exchange(locals: Float64Array, remotes: Float64Array, n: number): void {
  for (let f = 0; f < LOCALS; f++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += locals[k * LOCALS + f]!;
    for (let k = 0; k < n; k++) remotes[k * LOCALS + f] = sum - locals[k * LOCALS + f]!;
  }
}

/** Run one node to `until` with the others' totals as of the last boundary. */
export function runNodeEpoch(core: CoreExports, remotes: Float64Array, k: number, until: number): void {
  core.setRemote(remotes[k * LOCALS]!, remotes[k * LOCALS + 1]!, remotes[k * LOCALS + 2]!, remotes[k * LOCALS + 3]!);
  let st: number;
  do { st = core.run(until, 1 << 22); } while (st === STATUS.budget);
}

export interface NodeOutput { result: Omit<RunResult, 'status' | 'wall'>; raw: RawHistograms; status: RunResult['status']; error?: RunResult['error']; hostPages?: string }

function epochs(s: Scenario): number[] {
  const out: number[] = [];
  for (let t = s.machine.epoch; t < s.duration; t += s.machine.epoch) out.push(t);
  out.push(s.duration);
  return out;
}

/** Every node in this thread, in turn, epoch by epoch. */
export function runShardedInThread(s: Scenario, opts: EngineOptions = {}): RunResult {
  const seed = opts.seed ?? s.seed;
  const t0 = process.hrtime.bigint();
  const n = s.machine.nodes;
  const nodes = Array.from({ length: n }, (_, k) => {
    const ns = nodeScenario(s, k);
    const { core, enc, hostPages } = createCore(ns, nodeSeed(seed, k), opts.module, { noEarlyEnd: true });
    core.setInvariants(Math.max(opts.invariants ?? 0, s.check ? 1 : 0));
    return { ns, core, enc, hostPages };
  });
  const locals = new Float64Array(n * LOCALS);
  const remotes = new Float64Array(n * LOCALS);
  let error: RunResult['error'];
  let endNs = s.duration;
  try {
    for (const until of epochs(s)) {
      for (let k = 0; k < n; k++) runNodeEpoch(nodes[k]!.core, remotes, k, until);
      for (let k = 0; k < n; k++) readLocals(nodes[k]!.core, locals, k);
      exchange(locals, remotes, n);
      opts.onProgress?.(until, s.duration);
      if (allEnded(s, locals, n)) { endNs = until; break; }
    }
  } catch (e) {
    error = { message: e instanceof Error ? e.message : String(e), simulatedNs: nodes[0]!.core.nowNs(), lastEvent: 'node epoch' };
  }
  const outs: NodeOutput[] = nodes.map(({ ns, core, enc, hostPages }, k) => {
    const raw: RawHistograms = { pauseHist: [], flushHist: [], reclaimHist: [] };
    return { result: collect(core, ns, nodeSeed(seed, k), enc, raw), raw, status: error ? 'error' : 'ok', ...(error ? { error } : {}), hostPages: hostPages.how };
  });
  return mergeNodes(s, seed, outs, Number(process.hrtime.bigint() - t0) / 1e9, endNs);
}

/**
 * The same on worker threads: node k runs on worker k mod W. The main thread drives the epochs
 * through a SharedArrayBuffer (control words + each node's locals and remotes) and Atomics.
 */
export async function runShardedOnWorkers(s: Scenario, workers: number, opts: EngineOptions = {}): Promise<RunResult> {
  const seed = opts.seed ?? s.seed;
  const n = s.machine.nodes;
  const w = Math.max(1, Math.min(workers, n));
  if (w === 1) return runShardedInThread(s, opts);
  const t0 = process.hrtime.bigint();
  const sab = new SharedArrayBuffer(16 + n * LOCALS * 8 * 2);
  let endNs = s.duration;
  const ctrl = new Int32Array(sab, 0, 4);            // [epoch index, nodes done, stop, failed]
  const locals = new Float64Array(sab, 16, n * LOCALS);
  const remotes = new Float64Array(sab, 16 + n * LOCALS * 8, n * LOCALS);
  const module = opts.module ?? coreModule();
  const bounds = epochs(s);
  const outs: NodeOutput[] = new Array(n);
  const threads = Array.from({ length: w }, (_, i) => {
    const mine = Array.from({ length: n }, (_, k) => k).filter((k) => k % w === i);
    const worker = new Worker(new URL('./numa-worker.js', import.meta.url), {
      workerData: { module, sab, nodes: mine.map((k) => ({ k, scenario: nodeScenario(s, k), seed: nodeSeed(seed, k) })), bounds, invariants: Math.max(opts.invariants ?? 0, s.check ? 1 : 0) as 0 | 1 | 2 },
    });
    const done = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: { k: number; out: NodeOutput }) => { outs[m.k] = m.out; });
      // a host limit met in the worker stays one for the CLI (exit 2 with the reason, no trace)
      worker.on('error', (e: Error) => reject(e.name === 'HostMemoryError' ? new HostMemoryError(e.message) : e));
      worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`node worker exited with ${code}`))));
    });
    return { worker, done };
  });
  for (let e = 0; e < bounds.length; e++) {
    Atomics.store(ctrl, 1, 0);
    Atomics.store(ctrl, 0, e + 1);
    Atomics.notify(ctrl, 0);
    for (;;) {
      const d = Atomics.load(ctrl, 1);
      // a worker that could not create its instances never reports: stop waiting for it
      if (d >= n || Atomics.load(ctrl, 3) === NODE_SETUP_FAILED) break;
      Atomics.wait(ctrl, 1, d, 1000);
    }
    if (Atomics.load(ctrl, 3) === NODE_SETUP_FAILED) break;
    exchange(locals, remotes, n);
    opts.onProgress?.(bounds[e]!, s.duration);
    if (Atomics.load(ctrl, 3) !== 0) break;          // a node failed: stop everyone
    if (allEnded(s, locals, n)) { endNs = bounds[e]!; break; }
  }
  Atomics.store(ctrl, 2, 1);
  Atomics.store(ctrl, 0, bounds.length + 1);
  Atomics.notify(ctrl, 0);
  await Promise.all(threads.map((t) => t.done));
  return mergeNodes(s, seed, outs, Number(process.hrtime.bigint() - t0) / 1e9, endNs);
}

// How a counter of the whole machine follows from its nodes': its definition's merge rule.
const COLUMN = new Map(COUNTERS.map((c, i) => [c.name, i]));

function mergeValue(c: CounterDef, values: number[]): number {
  if (c.merge === 'first') return values[0] ?? 0;
  if (c.merge === 'max' || c.merge === 'peak') return Math.max(...values);
  return values.reduce((a, b) => a + b, 0);
}

/** A 'peak' counter's machine total at one sample: the sum over nodes of its peakOf gauges. */
function peakSum(c: CounterDef, rows: number[][]): number {
  let sum = 0;
  for (const row of rows) for (const g of c.peakOf ?? []) sum += row[COLUMN.get(g)! + 1] ?? 0;
  return sum;
}

/** One RunResult for the machine from its nodes' results. */
export function mergeNodes(s: Scenario, seed: number, outs: NodeOutput[], wallSeconds: number, endNs: number): RunResult {
  const counters: Record<string, number> = {};
  for (const c of COUNTERS) counters[c.name] = mergeValue(c, outs.map((o) => o.result.counters[c.name] ?? 0));
  const nC = COUNTERS.length;
  const rowsN = Math.min(...outs.map((o) => o.result.series.rows.length));
  const rows: number[][] = [];
  const peaks = COUNTERS.map(() => 0);      // a 'peak' counter's highest machine total so far
  for (let r = 0; r < rowsN; r++) {
    const row = [outs[0]!.result.series.rows[r]![0]!];
    const nodeRows = outs.map((o) => o.result.series.rows[r]!);
    for (let c = 0; c < nC; c++) {
      const def = COUNTERS[c]!;
      let v = mergeValue(def, nodeRows.map((nr) => nr[c + 1]!));
      if (def.merge === 'peak') { peaks[c] = Math.max(peaks[c]!, peakSum(def, nodeRows), v); v = peaks[c]!; }
      row.push(v);
    }
    for (const o of outs) row.push(...o.result.series.rows[r]!.slice(nC + 1));   // per-task columns
    rows.push(row);
  }
  // a machine peak is at least its highest sampled total
  COUNTERS.forEach((c, i) => { if (c.merge === 'peak') counters[c.name] = Math.max(counters[c.name]!, peaks[i]!); });
  const columns = ['time_s', ...COUNTERS.map((c) => c.name), ...outs.flatMap((o) => o.result.series.columns.slice(nC + 1))];
  const sumHist = (pick: (o: NodeOutput) => number[]) => {
    const len = Math.max(...outs.map((o) => pick(o).length));
    return Array.from({ length: len }, (_, i) => outs.reduce((a, o) => a + (pick(o)[i] ?? 0), 0));
  };
  const detectors: DetectorHit[] = outs.flatMap((o, k) => o.result.detectors.map((d) => ({ ...d, func: d.func, kind: d.kind, task: d.task, node: k })))
    .sort((a, b) => a.timeNs - b.timeNs || a.node - b.node).map(({ node: _node, ...d }) => d);
  const error = outs.find((o) => o.error)?.error;
  return {
    scenario: s.name, seed, plannedSeconds: s.duration / 1e9, simulatedSeconds: outs.some((o) => o.error) ? Math.min(...outs.map((o) => o.result.simulatedSeconds)) : endNs / 1e9,
    counters, detectors, detectorsTotal: outs.reduce((a, o) => a + o.result.detectorsTotal, 0),
    oomKills: outs.flatMap((o, k) => o.result.oomKills.map((x) => ({ ...x, node: k })))
      .sort((a, b) => a.timeNs - b.timeNs || a.node - b.node).map(({ node: _node, ...x }) => x),
    zones: outs.flatMap((o, k) => o.result.zones.map((z) => ({ ...z, name: `node${k} ${z.name}` }))),
    ...(Object.keys(s.damon.targets).length > 0 ? { damon: outs.flatMap((o) => o.result.damon ?? []) } : {}),
    wbs: outs.flatMap((o, k) => o.result.wbs.map((wb) => ({ ...wb, device: `node${k}:${wb.device}` }))),
    writeback: {
      pauses: distribution(sumHist((o) => o.raw.pauseHist), 1000 / s.machine.hz),
      flushAge: distribution(sumHist((o) => o.raw.flushHist), 10),
    },
    reclaim: { directLatency: log2Distribution(sumHist((o) => o.raw.reclaimHist), counters['mmsim_direct_reclaim_max_ns'] ?? 0) },
    series: { columns, rows },
    status: error ? 'error' : 'ok', ...(error ? { error } : {}),
    wall: { seconds: wallSeconds, accesses: counters['mmsim_accesses'] ?? 0, ...(outs[0]?.hostPages ? { hostPages: outs[0].hostPages } : {}) },
  };
}

export type { Encoded };
