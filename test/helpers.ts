/** Small scenarios for engine tests, written as YAML the way users write them, and the test build of the core. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenarioText } from '../src/scenario/load.js';
import type { Scenario } from '../src/scenario/types.js';
import type { CoreExports } from '../src/engine/wasm.js';
import { packageRoot } from '../src/util/package.js';

/** The exports only build/mmsim-test.wasm has (assembly/testing.ts). */
export interface TestCoreExports extends CoreExports {
  setWalkAhead(on: number): void;
  breakInvariant(kind: number): number;
  zipfSelfCheck(n: number, theta: number, samples: number, span: number, bins: number, seed: number): number;
  zipfMassCheck(a: number, b: number, s: number): number;
  skipSecondaryInvalidation(on: number): void;
  setRmapPrefetch(on: number): void;
  filemapFolio(file: number, index: number): number;
  folioFlags(pfn: number): number;
  folioRefcount(pfn: number): number;
  folioGet(pfn: number): void;
  folioPut(pfn: number): void;
  setPageDirtyLock(pfn: number): number;
  blockInvalidateFolio(pfn: number): number;
}

let testModule: WebAssembly.Module | undefined;
/** The test build of the core: the release build's code and options, plus assembly/testing.ts's exports. */
export function testCoreModule(): WebAssembly.Module {
  testModule ??= new WebAssembly.Module(readFileSync(join(packageRoot(), 'build', 'mmsim-test.wasm')));
  return testModule;
}

/** A small valid scenario file; tests change one thing in it. */
export const MINIMAL = `
machine: { memory: 1GiB }
processes:
  app:
    vmas:
      heap: { type: anon, size: 256MiB }
    workload:
      - { op: access, target: heap }
`;

/** One task that sleeps 1 ms on `machine` (YAML flow text) with an optional `vm:` section. */
export function idleYaml(name: string, machine: string, vm = ''): string {
  return `
name: ${name}
description: one sleeping task
duration: 1ms
machine: ${machine}
${vm}
processes:
  idle:
    workload:
      - { op: sleep, duration: 1ms }
`;
}

/**
 * Guest RAM as a shared file mapping written through subscriber `kvm` (of `client`) at 20,000
 * pages/s; the flusher's mkclean of it raises kvm's count, then sleeps on drv's lock, which a
 * holder keeps for 1 s. For the secondary-MMU tests and compare's --figure.
 */
export function rangeCheckYaml(client = 'kvm', rangeCheck = true): string {
  return `
name: rangecheck
duration: 2s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 4MiB, dirty_bytes: 256MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { guestram: { size: 64MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:
  holder:
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: 1s }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 10s }
  vm:
    vmas: { ram: { type: file, file: guestram, shared: true, size: 64MiB } }
    subscribers:
      drv: { client: generic, lock: obj }
      kvm: { client: ${client}, rangeCheck: ${rangeCheck} }
    workload:
      - { op: guest, subscriber: kvm, target: ram, pattern: sequential, writeFraction: 1, rate: 20000 }
`;
}

/** A 128 MiB anonymous working set touched at random on a 256 MiB machine for `duration`. */
export function heapYaml(name: string, duration: string): string {
  return `
name: ${name}
description: a short anonymous working set
duration: ${duration}
machine: { memory: 256MiB }
processes:
  app:
    vmas:
      heap: { type: anon, size: 128MiB }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5 }
`;
}

/** A 96 MiB anonymous working set on a 64 MiB machine with swap: reclaim, swap and randomness all at work. */
export function pressureYaml(name: string, duration: string, pattern: 'uniform' | 'zipf'): string {
  return `
name: ${name}
description: an anonymous working set larger than memory, with swap
duration: ${duration}
machine: { memory: 64MiB }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 256MiB, device: ssd }
processes:
  app:
    vmas:
      heap: { type: anon, size: 96MiB }
    workload:
      - { op: access, target: heap, pattern: ${pattern}, writeFraction: 0.5 }
series: { interval: 50ms }
`;
}

/** A 64 MiB machine under anon and page-cache pressure for `duration` simulated (the sweep tests' point). */
export function tinySweepYaml(duration: string): string {
  return `
name: tiny
duration: ${duration}
machine: { memory: 64MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 128MiB, device: ssd }
files:
  data: { size: 64MiB, device: ssd }
processes:
  app:
    vmas:
      heap: { type: anon, size: 80MiB }
    workload:
      - { op: access, target: heap, pattern: zipf, theta: 0.9, writeFraction: 0.3 }
  reader:
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 128KiB }
    loop: true
`;
}

export function scenarioFromYaml(yaml: string, overrides: string[] = []): Scenario {
  return parseScenarioText(yaml, 'test.yaml', overrides);
}

/** An anonymous working set of `heap` on a machine of `memory`, with swap on an SSD. */
export function anonScenario(opts: {
  memory?: string; heap?: string; swap?: string; duration?: string; pattern?: string;
  writeFraction?: number; swappiness?: number; extra?: string;
} = {}): Scenario {
  return scenarioFromYaml(`
name: anon-test
description: anon working set for tests
duration: ${opts.duration ?? '1s'}
machine: { memory: ${opts.memory ?? '128MiB'} }
vm: { swappiness: ${opts.swappiness ?? 60} }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us, queueDepth: 32 }
swap: { size: ${opts.swap ?? '512MiB'}, device: ssd }
processes:
  app:
    vmas:
      heap: { type: anon, size: ${opts.heap ?? '192MiB'} }
    workload:
      - { op: access, target: heap, pattern: ${opts.pattern ?? 'uniform'}, writeFraction: ${opts.writeFraction ?? 0.5} }
${opts.extra ?? ''}
`);
}

/**
 * A VM process `vm` (the YAML of its entry under processes:): 64 MiB of RAM all faulted in,
 * then its guest's translations of the first 16 MiB made through subscriber `sec` (of `client`),
 * then `rest` — further phases, each line indented as a workload item.
 */
export function guestVmProcess(client: string, rest: string): string {
  return `  vm:
    vmas: { ram: { type: anon, size: 64MiB } }
    subscribers: { sec: { client: ${client} } }
    workload:
      - { op: access, target: ram, writeFraction: 1, accesses: 16384 }
      - { op: guest, subscriber: sec, target: ram, length: 16MiB, accesses: 4096 }
${rest}`;
}
