/**
 * Whether the host can hold a run, checked before it starts: the peak resident memory it may
 * need (every WASM instance alive at once at its whole estimated layout — all nodes of the
 * machine, page tables at worst, one point per worker of a sweep or plan) against the memory
 * the host has available, and the address space V8 reserves for those instances against
 * RLIMIT_AS (`ulimit -v`), which otherwise ends a run with `RangeError: WebAssembly.Instance():
 * Out of memory`. A refusal is bad input (exit 2) showing the arithmetic; `--ignore-host-memory`
 * skips the check.
 */
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { nodeScenario } from './numa.js';
import { memoryNeed, type MemoryNeed } from './memory.js';
import type { Scenario } from '../scenario/types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * V8 reserves address space for a WASM memory of 32-bit addresses beyond the 4 GiB it can
 * address, so that bounds checks are done by guard pages: about 10 GiB per instance, whatever
 * the scenario (measured with `ulimit -v`: one instance needs 11.0 GiB with Node's own share).
 */
export const WASM_ADDRESS_SPACE = 10 * GiB + 128 * MiB;
/** Node and the compiled core before any instance: address space, and resident memory. */
export const NODE_ADDRESS_SPACE = 1 * GiB;
export const NODE_RESIDENT = 128 * MiB;
/** A worker thread's own isolate and stacks. */
export const WORKER_ADDRESS_SPACE = 128 * MiB;
export const WORKER_RESIDENT = 48 * MiB;

export interface HostMemory {
  /** Bytes the host can give without swapping, and where the figure comes from. */
  availableBytes: number;
  availableSource: string;
  /** The soft RLIMIT_AS in bytes; undefined when unlimited. */
  addressSpaceLimit?: number;
}

/** MemAvailable from /proc/meminfo (os.freemem() elsewhere) and RLIMIT_AS from /proc/self/limits. */
export function readHostMemory(): HostMemory {
  let availableBytes = freemem();
  let availableSource = 'free memory (os.freemem)';
  try {
    const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    if (kb !== undefined) {
      availableBytes = Number(kb) * 1024;
      availableSource = 'MemAvailable in /proc/meminfo';
    }
  } catch { /* not Linux: keep os.freemem() */ }
  let addressSpaceLimit: number | undefined;
  try {
    const soft = /^Max address space\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    if (soft !== undefined && soft !== 'unlimited') addressSpaceLimit = Number(soft);
  } catch { /* no /proc: no limit known */ }
  return { availableBytes, availableSource, ...(addressSpaceLimit !== undefined ? { addressSpaceLimit } : {}) };
}

/** The instances one simulation of `s` creates: one per NUMA node. */
export function instanceNeeds(s: Scenario): MemoryNeed[] {
  if (s.machine.nodes <= 1) return [memoryNeed(s)];
  return Array.from({ length: s.machine.nodes }, (_, k) => memoryNeed(nodeScenario(s, k)));
}

export interface HostDemand {
  /** What runs, for the message: `mmsim run numa-1tib`. */
  what: string;
  /** The instances alive at the peak, each at its estimated layout. */
  instances: MemoryNeed[];
  /** Worker threads besides the main thread. */
  workerThreads: number;
  /** How the instances come about, for the message: `16 NUMA nodes`, `4 workers × 1 instance`. */
  why: string;
  /** Whether fewer worker threads (-j) would mean fewer instances at once. */
  pooled: boolean;
}

/** The demand of `mmsim run`: every node's instance, `workers` threads when there are several nodes. */
export function runDemand(s: Scenario, workers: number): HostDemand {
  const instances = instanceNeeds(s);
  const threads = s.machine.nodes > 1 ? Math.min(workers, s.machine.nodes) : 0;
  return {
    what: `mmsim run ${s.name}`, instances, workerThreads: threads, pooled: false,
    why: instances.length > 1 ? `${instances.length} NUMA nodes, one instance each` : 'one instance',
  };
}

/**
 * The demand of a pool of `threads` workers each running one simulation at a time (sweep,
 * plan dirty): at worst every worker runs the largest of `scenarios` at once.
 */
export function poolDemand(what: string, scenarios: readonly Scenario[], threads: number): HostDemand {
  let largest: MemoryNeed[] = [];
  let largestTotal = -1;
  const seen = new Set<Scenario>();
  for (const s of scenarios) {
    if (seen.has(s)) continue;
    seen.add(s);
    const needs = instanceNeeds(s);
    const total = needs.reduce((a, n) => a + n.total, 0);
    if (total > largestTotal) { largest = needs; largestTotal = total; }
  }
  const instances = Array.from({ length: threads }, () => largest).flat();
  const per = largest.length === 1 ? '1 instance' : `${largest.length} instances (NUMA nodes)`;
  return { what, instances, workerThreads: threads, pooled: true, why: `${threads} worker thread${threads === 1 ? '' : 's'} × ${per}, the largest point` };
}

const gib = (b: number): string => (b >= GiB ? `${(b / GiB).toFixed(2)} GiB` : `${(b / MiB).toFixed(1)} MiB`);

/** The biggest terms of an instance's estimate: `page tables 2.01 GiB (≤ 525318 tables × 4 KiB …)`. */
function largestTerms(need: MemoryNeed): string {
  return [...need.terms].sort((a, b) => b.bytes - a.bytes).slice(0, 3)
    .map((t) => `${t.name} ${gib(t.bytes)} (${t.how})`).join(', ');
}

/** The refusal, with the arithmetic, or undefined when the host can hold the demand. */
export function checkHostMemory(demand: HostDemand, host: HostMemory = readHostMemory()): string | undefined {
  const n = demand.instances.length;
  const largest = demand.instances.reduce((a, b) => (b.total > a.total ? b : a), demand.instances[0]!);
  const instancesBytes = demand.instances.reduce((a, b) => a + b.total, 0);
  const workers = demand.workerThreads;
  const resident = NODE_RESIDENT + workers * WORKER_RESIDENT + instancesBytes;
  const addressSpace = NODE_ADDRESS_SPACE + workers * WORKER_ADDRESS_SPACE + n * WASM_ADDRESS_SPACE;
  const problems: string[] = [];
  const instancesText = n === 1 ? `${gib(instancesBytes)} for the WASM instance` :
    `${gib(instancesBytes)} for ${n} WASM instances (${demand.why}; the largest ${gib(largest.total)})`;
  const workersText = workers > 0 ? ` + ${workers} worker thread${workers === 1 ? '' : 's'} × ${gib(WORKER_RESIDENT)}` : '';
  if (resident > host.availableBytes) {
    problems.push(
      `  memory: ${gib(NODE_RESIDENT)} for Node${workersText} + ${instancesText} = ${gib(resident)} at most, ` +
        `and the host has ${gib(host.availableBytes)} available (${host.availableSource})`,
      `    an instance's estimate is its whole layout, page tables fully mapped; the largest: ${largestTerms(largest)}`,
      `    make the machine smaller (machine.memory, VMA and swap sizes)${demand.pooled ? ', or run fewer at once (-j)' : ''}`,
    );
  }
  if (host.addressSpaceLimit !== undefined && addressSpace > host.addressSpaceLimit) {
    const wAs = workers > 0 ? ` + ${workers} worker thread${workers === 1 ? '' : 's'} × ${gib(WORKER_ADDRESS_SPACE)}` : '';
    problems.push(
      `  address space: ${gib(NODE_ADDRESS_SPACE)} for Node${wAs} + ${n} WASM instance${n === 1 ? '' : 's'} × ${gib(WASM_ADDRESS_SPACE)} ` +
        `(V8 reserves that much for each instance's 4 GiB memory and its guard regions) = ${gib(addressSpace)}, ` +
        `and the limit (ulimit -v, RLIMIT_AS) is ${gib(host.addressSpaceLimit)}`,
      `    raise it (e.g. ulimit -v unlimited)${demand.pooled ? ', or run fewer instances at once (-j)' : ''}`,
    );
  }
  if (problems.length === 0) return undefined;
  return [`${demand.what} needs more than this host can give; nothing was started:`, ...problems,
    'add --ignore-host-memory to start it anyway'].join('\n');
}
