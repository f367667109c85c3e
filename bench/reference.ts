/**
 * The `bench-reference` built-in (16,777,216 frames, 1TiB anon VMA, zipf(0.9) with 25% writes)
 * as a macro measurement outside tinybench: a run takes seconds to tens of seconds. Each run is a
 * fresh child process, as `mmsim run bench-reference` is, so its memory is a new process's and
 * the parent's RSS stays out of the figures. Host huge pages (auto, the default) and 4 KiB host
 * pages are measured in one sitting, each as a block of back-to-back runs.
 *
 * Warm-up, as tinybench does for its own tasks: on a VM whose free memory goes back to the
 * hypervisor (this one's balloon reports free pages a few seconds after they are freed), a
 * process that touches gigabytes of such memory pays the hypervisor's faults too, about 2.4 s of
 * kernel time per GiB against 0.2 s on memory the guest still holds. The same process run again
 * straight away finds the memory its predecessor freed, of the same page size. So each block
 * starts with WARMUP_RUNS discarded runs and then measures back-to-back runs. Alternating huge
 * and 4 KiB runs would defeat this: each would find the other's pages, split or unmerged. The
 * cold figure is one more run after COLD_IDLE_SECONDS of idling, and every run keeps its user and
 * kernel seconds.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COUNTERS } from '../src/abi/counters.js';
import { STATUS } from '../src/abi/config.js';
import { createCore } from '../src/engine/engine.js';
import { HOST_HUGE_PAGES_ENV, type HostHugePagesMode } from '../src/engine/host-pages.js';
import { memoryNeed } from '../src/engine/memory.js';
import { loadScenario } from '../src/scenario/load.js';
import { GATHER_BATCH, hostFloor, type HostFloor } from './host-floor.js';
import { fmtBytes, fmtRate, fmtSeconds, median, secondsSince, type BenchMode, type Row } from './measure.js';

const QUICK_ACCESSES = 5_000_000;
const FULL_ACCESSES = 50_000_000;
/** nr_page_table_pages × 4 KiB after the full run (525,316 tables): every one is touched. */
const PAGE_TABLE_BYTES = 525_316 * 4096;
const MAX_EVENTS_PER_CALL = 1 << 22;

export interface ReferenceRun {
  scenario: string;
  hostPages: string;
  accesses: number; residentHits: number; pgfault: number; simulatedSeconds: number;
  /** reclaim's figures (0 for bench-reference, which never reclaims) */
  pgscan: number; pgscanKswapd: number; pgscanDirect: number; pgsteal: number; pswpout: number; pswpin: number;
  initSeconds: number; runSeconds: number; wallSeconds: number;
  /** as runScenario's wall.seconds: init included */
  accessesPerSecond: number;
  runAccessesPerSecond: number;
  /** CPU seconds of the child process, in user mode and in the (guest) kernel. */
  userSeconds: number; kernelSeconds: number;
  memory: Record<string, unknown> & { rssAfterInitPerFrame: number; rssAfterRunPerFrame: number; pageTableBytesPerFrame: number; frames: number; initSeconds: number; layoutBytesPerFrame: number };
}

/** One run of built-in `name` with `sets` in this process (the child's side). */
function runOnce(name: string, accesses: number, sets: string[]): ReferenceRun {
  const scenario = loadScenario(name, [`processes.bench.workload.0.accesses=${accesses}`, ...sets]);
  const rssBefore = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  const { core, hostPages } = createCore(scenario, scenario.seed);
  const initSeconds = secondsSince(t0);
  const rssAfterInit = process.memoryUsage().rss;
  const frames = core.framesCount();
  const layoutBytes = core.memoryEnd();

  const t1 = process.hrtime.bigint();
  let status: number;
  do { status = core.run(scenario.duration, MAX_EVENTS_PER_CALL); } while (status === STATUS.budget);
  const runSeconds = secondsSince(t1);
  if (status !== STATUS.finished) throw new Error(`${name}: the run ended with status ${status}, not finished`);
  const rssAfterRun = process.memoryUsage().rss;
  const usage = process.resourceUsage();

  const raw = new BigUint64Array(core.memory.buffer, core.countersPtr(), core.countersLen());
  const counter = (name: string): number => Number(raw[COUNTERS.findIndex((c) => c.name === name)]!);
  const done = counter('mmsim_accesses');
  const pageTableBytes = counter('nr_page_table_pages') * 4096;
  const perFrame = (bytes: number): number => bytes / frames;
  return {
    scenario: name,
    hostPages: hostPages.how,
    accesses: done, residentHits: counter('mmsim_resident_hits'), pgfault: counter('pgfault'),
    pgscanKswapd: counter('pgscan_kswapd'), pgscanDirect: counter('pgscan_direct'),
    pgscan: counter('pgscan_kswapd') + counter('pgscan_direct'),
    pgsteal: counter('pgsteal_kswapd') + counter('pgsteal_direct'), pswpout: counter('pswpout'), pswpin: counter('pswpin'),
    simulatedSeconds: core.nowNs() / 1e9,
    initSeconds, runSeconds, wallSeconds: initSeconds + runSeconds,
    accessesPerSecond: done / (initSeconds + runSeconds),
    runAccessesPerSecond: done / runSeconds,
    userSeconds: usage.userCPUTime / 1e6, kernelSeconds: usage.systemCPUTime / 1e6,
    memory: {
      frames, initSeconds,
      layoutBytes, layoutBytesPerFrame: perFrame(layoutBytes),
      // the estimate src/engine/memory.ts refuses scenarios by; the page-table term is reserved
      // room, only touched as tables are allocated
      layoutTermsPerFrame: Object.fromEntries(memoryNeed(scenario).terms.map((t) => [t.name, perFrame(t.bytes)])),
      rssBefore, rssAfterInit, rssAfterRun,
      rssAfterInitPerFrame: perFrame(rssAfterInit), rssAfterRunPerFrame: perFrame(rssAfterRun),
      rssGrowthAfterInitPerFrame: perFrame(rssAfterInit - rssBefore),
      rssGrowthAfterRunPerFrame: perFrame(rssAfterRun - rssBefore),
      pageTablePages: pageTableBytes / 4096, pageTableBytes, pageTableBytesPerFrame: perFrame(pageTableBytes),
      pageTableShareOfRssGrowth: pageTableBytes / (rssAfterRun - rssBefore),
    },
  };
}

/** One run of `name` in a fresh child process with the given host huge-pages mode. */
export function runChild(accesses: number, hugePages: HostHugePagesMode, name = 'bench-reference', sets: string[] = []): ReferenceRun {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), name, String(accesses), ...sets], {
    encoding: 'utf8', env: { ...process.env, [HOST_HUGE_PAGES_ENV]: hugePages }, maxBuffer: 1 << 26,
  });
  return JSON.parse(out) as ReferenceRun;
}

export const describeRun = (r: ReferenceRun): string =>
  `${fmtRate(r.accessesPerSecond)} (${fmtSeconds(r.userSeconds)} user, ${fmtSeconds(r.kernelSeconds)} kernel)`;

const describeFloor = (f: HostFloor): string =>
  `${fmtRate(f.accessesPerSecond)}: touch ${fmtBytes(f.bytes)} in ${fmtSeconds(f.touchSeconds)}, loads ${f.loadNsPerAccess.toFixed(1)} ns (${f.gatheredNsPerLoad.toFixed(1)} ns gathered ${GATHER_BATCH} at a time in WASM, ${f.chaseNsPerLoad.toFixed(0)} ns each when each waits for the one before)`;

/**
 * Idle time before the cold run. Memory freed 5 s earlier was already back with the hypervisor
 * in every try on this VM (user time unchanged, kernel time 5–6 s instead of 0.4–0.6 s).
 */
const COLD_IDLE_SECONDS = 10;

export function idle(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** Discarded runs before each block: the host's memory took one or two runs to come back warm. */
export const WARMUP_RUNS = 2;

/** A block: warm-up runs, then `n` measured back-to-back runs, all with the same host pages. */
function block(accesses: number, hugePages: HostHugePagesMode, n: number): { warmup: ReferenceRun[]; runs: ReferenceRun[] } {
  const warmup: ReferenceRun[] = [];
  for (let i = 0; i < WARMUP_RUNS; i++) warmup.push(runChild(accesses, hugePages));
  const runs: ReferenceRun[] = [];
  for (let i = 0; i < n; i++) runs.push(runChild(accesses, hugePages));
  return { warmup, runs };
}

export function benchReference(mode: BenchMode) {
  const accesses = mode.quick ? QUICK_ACCESSES : FULL_ACCESSES;
  const n = mode.quick ? 1 : 3;
  // each block after its floor (a child process too: what any implementation pays for these
  // page tables); the default, host huge pages, first
  const floor = hostFloor(PAGE_TABLE_BYTES, accesses, 'on');
  const hugeBlock = block(accesses, 'auto', n);
  const floor4k = hostFloor(PAGE_TABLE_BYTES, accesses, 'off');
  const smallBlock = block(accesses, 'off', n);
  const huge = hugeBlock.runs;
  const small = smallBlock.runs;
  // the cold figure: one more run after the host has had time to take the memory back
  idle(COLD_IDLE_SECONDS);
  const cold = runChild(accesses, 'auto');
  const rate = (runs: ReferenceRun[]): number => median(runs.map((r) => r.accessesPerSecond));
  const best = huge.reduce((a, b) => (b.accessesPerSecond > a.accessesPerSecond ? b : a));
  // the rate the simulation's own work allows: accesses per CPU second in user mode (the kernel
  // time is mostly first touches, whose cost the hypervisor sets)
  const userRate = (runs: ReferenceRun[]): number => median(runs.map((r) => r.accesses / r.userSeconds));
  const memory = best.memory;
  const reference = {
    ...best,
    runs: huge, runs4k: small, warmupRuns: hugeBlock.warmup, warmupRuns4k: smallBlock.warmup,
    coldRun: cold, coldIdleSeconds: COLD_IDLE_SECONDS,
    medianAccessesPerSecond: rate(huge), median4kAccessesPerSecond: rate(small),
    hugeOver4k: rate(huge) / rate(small),
    medianUserAccessesPerSecond: userRate(huge), median4kUserAccessesPerSecond: userRate(small),
    hostFloor: floor, hostFloor4k: floor4k,
    ofHostFloor: best.accessesPerSecond / floor.accessesPerSecond,
  };
  const rows: Row[] = [
    { figure: 'bench-reference host floor', value: fmtRate(floor.accessesPerSecond), note: `plain loop on ${floor.hostPages}: ${describeFloor(floor)}; on 4 KiB pages ${describeFloor(floor4k)}` },
    { figure: 'bench-reference', value: fmtRate(rate(huge)), note: `median of ${huge.length} fresh processes after ${WARMUP_RUNS} warm-up runs, ${best.hostPages}, init included; each run: ${huge.map(describeRun).join(', ')}; best ${fmtSeconds(best.wallSeconds)} for ${best.accesses} accesses, ${(reference.ofHostFloor).toFixed(2)}× the floor` },
    { figure: 'bench-reference, cold host memory', value: fmtRate(cold.accessesPerSecond), note: `one run ${COLD_IDLE_SECONDS} s after the last, when the host has taken freed memory back: ${describeRun(cold)}; warm-up runs: ${hugeBlock.warmup.map(describeRun).join(', ')}; on 4 KiB host pages: ${smallBlock.warmup.map(describeRun).join(', ')}` },
    { figure: 'bench-reference, per user-mode second', value: fmtRate(userRate(huge)), note: `median over the runs above: accesses / user CPU seconds, what the host's kernel time leaves out; 4 KiB host pages: ${fmtRate(userRate(small))} (${(userRate(huge) / userRate(small)).toFixed(2)}×)` },
    { figure: 'bench-reference, 4 KiB host pages', value: fmtRate(rate(small)), note: `median, after its own warm-up: ${small.map(describeRun).join(', ')}; huge pages give ${reference.hugeOver4k.toFixed(2)}× (medians)` },
    { figure: '16M-frame init', value: fmtSeconds(memory.initSeconds), note: 'createCore to init done, in the best run' },
    { figure: 'layout per frame', value: fmtBytes(memory.layoutBytesPerFrame), note: `memoryEnd / ${memory.frames} frames (page-table pool reserved, not touched)` },
    { figure: 'RSS per frame after init', value: fmtBytes(memory.rssAfterInitPerFrame), note: `the whole child process; 4 KiB host pages: ${fmtBytes(small[0]!.memory.rssAfterInitPerFrame)}` },
    { figure: 'RSS per frame after run', value: fmtBytes(memory.rssAfterRunPerFrame), note: `of which page tables ${fmtBytes(memory.pageTableBytesPerFrame)}; 4 KiB host pages: ${fmtBytes(small[0]!.memory.rssAfterRunPerFrame)}` },
  ];
  return { reference, memory, rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(runOnce(process.argv[2]!, Number(process.argv[3]), process.argv.slice(4))));
}
