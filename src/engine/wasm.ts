/**
 * Loading the WASM core: the module is compiled once per process (or passed in, compiled, to
 * a worker) and instantiated once per simulation — an instance's memory is its whole machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { HostMemoryError } from '../util/errors.js';
import { packageRoot } from '../util/package.js';

/** The exports of assembly/index.ts. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  configAlloc(bytes: number): number;
  init(): number;
  run(untilNs: number, maxEvents: number): number;
  nowNs(): number;
  lastEntity(): number;
  countersPtr(): number;
  countersLen(): number;
  seriesPtr(): number;
  seriesRows(): number;
  seriesStride(): number;
  detectorsPtr(): number;
  detectorsLen(): number;
  detectorsTotal(): number;
  detectorStride(): number;
  zoneInfoPtr(): number;
  zoneInfoStride(): number;
  zoneCount(): number;
  wbInfoPtr(): number;
  wbInfoStride(): number;
  wbCount(): number;
  damonRegionsPtr(): number;
  damonRegionsLen(): number;
  damonRegionStride(): number;
  vmaStartPage(v: number): number;
  taskSeriesPtr(): number;
  taskSeriesRows(): number;
  taskSeriesFields(): number;
  pauseHistPtr(): number;
  pauseHistLen(): number;
  flushHistPtr(): number;
  flushHistLen(): number;
  memoryEnd(): number;
  framesCount(): number;
  setInvariants(mode: number): void;
  setRemote(dirty: number, fileDirty: number, dirtyable: number, completions: number): void;
  localDirty(): number;
  localFileDirty(): number;
  localDirtyable(): number;
  localCompletions(): number;
  tasksLive(): number;
  reclaimHistPtr(): number;
  reclaimHistLen(): number;
}

let compiled: WebAssembly.Module | undefined;

export function wasmPath(): string {
  return join(packageRoot(), 'build', 'mmsim.wasm');
}

/**
 * V8 inlines wasm functions into their wasm callers only when asked (Node 20's V8 11.3 has it
 * off by default; later V8s turn it on). The flag is process-wide and read when a function is
 * optimized, so setting it before the core is compiled covers the worker threads too.
 */
export function enableWasmInlining(): void {
  setFlagsFromString('--wasm-inlining');
}

/** The compiled core module (compiled on first use). */
export function coreModule(): WebAssembly.Module {
  if (compiled === undefined) {
    enableWasmInlining();
    let bytes: Buffer;
    try {
      bytes = readFileSync(wasmPath());
    } catch {
      throw new Error(`mmsim: the WASM core ${wasmPath()} is missing; run \`npm run build\` (npm ci does it)`);
    }
    compiled = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return compiled;
}

/**
 * A fresh instance of the core. It imports nothing: the release build has no assertions
 * (--noAssert) and no throw, so AssemblyScript's `abort` is never imported, and a failure in
 * the core is a trap (a WebAssembly.RuntimeError) the engine reports with the simulated time.
 */
export function instantiateCore(module: WebAssembly.Module = coreModule()): CoreExports {
  const wanted = WebAssembly.Module.imports(module);
  if (wanted.length > 0) {
    throw new Error(`mmsim: this WASM core imports ${wanted.map((i) => `${i.module}.${i.name}`).join(', ')}, which the host does not ` +
      'provide: build it with `npm run build` (the release target, --noAssert)');
  }
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(module, {});
  } catch (error) {
    // V8 could not reserve the instance's memory: a host limit, not a bug (host-memory.ts
    // checks this up front unless --ignore-host-memory).
    if (!(error instanceof RangeError)) throw error;
    throw new HostMemoryError(`the host refused memory for a WASM instance (${error.message}): each needs about 10 GiB of ` +
      'address space (RLIMIT_AS, ulimit -v) and its layout in memory; raise the limit or run fewer instances at once');
  }
  // Addresses are u32 in the core but come back as signed i32: above 2 GiB they would be
  // negative (a large machine's regions do lie there), so every pointer is read unsigned.
  const raw = instance.exports as Record<string, unknown>;
  const wrapped: Record<string, unknown> = { ...raw };
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'function' && /Ptr$/.test(name)) {
      const f = value as (...args: number[]) => number;
      wrapped[name] = (...args: number[]) => f(...args) >>> 0;
    }
  }
  return wrapped as unknown as CoreExports;
}
