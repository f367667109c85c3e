/**
 * A piscina worker of `mmsim sweep`: runs one point (a validated scenario and a seed) per
 * task. It compiles nothing: the main thread compiles the WASM module once and hands it over
 * in workerData; every point gets a fresh instance of it (a trap leaves an instance unusable).
 */
import { workerData } from 'node:worker_threads';
import { runScenario } from '../engine/engine.js';
import type { CoreExports } from '../engine/wasm.js';
import type { Scenario } from '../scenario/types.js';
import { ScenarioError } from '../util/errors.js';
import type { PointOutcome } from './records.js';

/** Faults injected by tests to check that a failing point does not stop the sweep. */
export interface WorkerFaults {
  /** Seeds whose run traps (as the core would, with WebAssembly.RuntimeError) after 100 ms simulated. */
  trapSeeds?: number[];
  /** Seeds whose worker thread exits while running them. */
  exitSeeds?: number[];
}

export interface WorkerData {
  module: WebAssembly.Module;
  faults?: WorkerFaults;
}

export interface PointTask {
  scenario: Scenario;
  seed: number;
}

const data = workerData as WorkerData;
if (!(data?.module instanceof WebAssembly.Module)) {
  throw new Error('mmsim sweep worker: workerData.module must be the compiled WebAssembly.Module');
}

function trapAfter(ns: number) {
  return (core: CoreExports): CoreExports => ({
    ...core,
    run(untilNs: number, maxEvents: number): number {
      if (untilNs > ns) throw new WebAssembly.RuntimeError('unreachable (injected by a test)');
      return core.run(untilNs, maxEvents);
    },
  });
}

export default function runPoint(task: PointTask): PointOutcome {
  const faults = data.faults;
  if (faults?.exitSeeds?.includes(task.seed)) process.exit(3);
  try {
    const result = runScenario(task.scenario, {
      seed: task.seed,
      module: data.module,
      ...(faults?.trapSeeds?.includes(task.seed) ? { wrapCore: trapAfter(100e6) } : {}),
    });
    const outcome: PointOutcome = {
      status: result.status,
      simulatedSeconds: result.simulatedSeconds,
      detectorsTotal: result.detectorsTotal,
      counters: result.counters,
      oomKills: result.oomKills,
    };
    if (result.error) outcome.error = { stage: 'simulation', ...result.error };
    return outcome;
  } catch (error) {
    // The engine refused the point before running it (it does not fit one instance, init failed).
    if (error instanceof ScenarioError) return { status: 'error', error: { stage: 'scenario', message: error.message } };
    throw error;
  }
}
