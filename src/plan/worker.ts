/**
 * A piscina worker of `mmsim plan dirty`: one run per task, on the WASM module the main thread
 * compiled and passed in workerData; returns the whole result (the plan needs its writeback
 * distributions, and the series of the setting it recommends).
 */
import { workerData } from 'node:worker_threads';
import { runScenario } from '../engine/engine.js';
import type { RunResult } from '../report/result.js';
import type { Scenario } from '../scenario/types.js';

const module = (workerData as { module: WebAssembly.Module }).module;

export default function runPlanPoint(task: { scenario: Scenario; seed: number }): RunResult {
  return runScenario(task.scenario, { seed: task.seed, module });
}
