/**
 * The one module that imports the simulation engine. cli.ts loads it with a dynamic import only
 * for `mmsim run`, so `validate`, `scenarios` and bad input never compile the WASM core (nor
 * need it built). The annotation checks the engine's signature against what the CLI expects.
 */
import type { RunScenario } from './cli.js';
import { runScenario } from './engine/engine.js';

export const runEngine: RunScenario = runScenario;
