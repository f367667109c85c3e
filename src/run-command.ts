/**
 * The one module that imports the simulation engine. cli.ts loads it with a dynamic import only
 * for `mmsim run`, so `validate`, `scenarios` and bad input never compile the WASM core (nor
 * need it built). The annotation checks the engine's signature against what the CLI expects.
 */
import type { RunScenario } from './cli.js';
import { runScenario } from './engine/engine.js';
import { runShardedOnWorkers } from './engine/numa.js';
import { defaultCpus } from './util/cpus.js';

/** One instance in this thread, or the nodes of a multi-node machine on worker threads. */
export const runEngine: RunScenario = (scenario, options) =>
  scenario.machine.nodes > 1
    ? runShardedOnWorkers(scenario, options.jobs ?? defaultCpus().cpus, options)
    : runScenario(scenario, options);
