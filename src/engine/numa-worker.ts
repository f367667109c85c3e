/**
 * A worker thread running some nodes of a multi-node machine (see numa.ts): it waits for each
 * epoch on the shared control words, runs its nodes to the epoch's end with the totals of the
 * other nodes, hands its nodes' totals back, and at the end posts each node's results.
 */
import { workerData, parentPort } from 'node:worker_threads';
import type { Scenario } from '../scenario/types.js';
import { collect, createCore, type RawHistograms } from './engine.js';
import { runNodeEpoch, readLocals, LOCALS, NODE_SETUP_FAILED, type NodeOutput } from './numa.js';

interface Data {
  module: WebAssembly.Module;
  sab: SharedArrayBuffer;
  nodes: { k: number; scenario: Scenario; seed: number }[];
  bounds: number[];
  invariants: 0 | 1 | 2;
}
const data = workerData as Data;
const n = (data.sab.byteLength - 16) / (LOCALS * 8 * 2);
const ctrl = new Int32Array(data.sab, 0, 4);
const locals = new Float64Array(data.sab, 16, n * LOCALS);
const remotes = new Float64Array(data.sab, 16 + n * LOCALS * 8, n * LOCALS);

/** Creates this worker's instances; on failure tells the main thread at once (it waits on ctrl, not on events). */
function createNodes() {
  try {
    return data.nodes.map((d) => {
      const { core, enc, hostPages } = createCore(d.scenario, d.seed, data.module, { noEarlyEnd: true });
      core.setInvariants(data.invariants);
      return { ...d, core, enc, hostPages };
    });
  } catch (e) {
    Atomics.store(ctrl, 3, NODE_SETUP_FAILED);
    Atomics.notify(ctrl, 1);
    throw e;
  }
}
const nodes = createNodes();

let error: { message: string; simulatedNs: number; lastEvent: string } | undefined;
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  if (Atomics.load(ctrl, 2) !== 0) break;
  const until = data.bounds[seen - 1]!;
  for (const node of nodes) {
    if (!error) {
      try {
        runNodeEpoch(node.core, remotes, node.k, until);
      } catch (e) {
        error = { message: e instanceof Error ? e.message : String(e), simulatedNs: node.core.nowNs(), lastEvent: `node ${node.k} epoch` };
        Atomics.store(ctrl, 3, 1);
      }
    }
    readLocals(node.core, locals, node.k);
    Atomics.add(ctrl, 1, 1);
    Atomics.notify(ctrl, 1);
  }
}
for (const node of nodes) {
  const raw: RawHistograms = { pauseHist: [], flushHist: [], reclaimHist: [] };
  const out: NodeOutput = {
    result: collect(node.core, node.scenario, node.seed, node.enc, raw), raw,
    status: error ? 'error' : 'ok', ...(error ? { error } : {}), hostPages: node.hostPages.how,
  };
  parentPort!.postMessage({ k: node.k, out });
}
