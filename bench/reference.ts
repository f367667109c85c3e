/**
 * The `bench-reference` built-in (16,777,216 frames, 1TiB anon VMA, zipf(0.9) with 25% writes)
 * as one macro measurement outside tinybench: a run takes tens of seconds, so it runs once, on
 * one instance, after the other suites have warmed the compiled module. From the same instance:
 * init time of the 16M-frame machine and host memory per simulated frame.
 */
import { COUNTERS } from '../src/abi/counters.js';
import { STATUS } from '../src/abi/config.js';
import { createCore } from '../src/engine/engine.js';
import { memoryNeed } from '../src/engine/memory.js';
import { loadScenario } from '../src/scenario/load.js';
import { hostFloor } from './host-floor.js';
import { fmtBytes, fmtRate, fmtSeconds, secondsSince, type BenchMode, type Row } from './measure.js';

const QUICK_ACCESSES = 5_000_000;
const FULL_ACCESSES = 50_000_000;
/** nr_page_table_pages × 4 KiB after the full run (525,316 tables): every one is touched. */
const PAGE_TABLE_BYTES = 525_316 * 4096;
const MAX_EVENTS_PER_CALL = 1 << 22;

export function benchReference(mode: BenchMode) {
  const scenario = loadScenario('bench-reference',
    mode.quick ? [`processes.bench.workload.0.accesses=${QUICK_ACCESSES}`] : []);
  // the floor first (in a child process): on this VM a first touch is cheapest early on
  const floor = hostFloor(PAGE_TABLE_BYTES, mode.quick ? QUICK_ACCESSES : FULL_ACCESSES);
  const rssBefore = process.memoryUsage().rss;

  const t0 = process.hrtime.bigint();
  const { core } = createCore(scenario, scenario.seed);
  const initSeconds = secondsSince(t0);
  const rssAfterInit = process.memoryUsage().rss;
  const frames = core.framesCount();
  const layoutBytes = core.memoryEnd();

  const t1 = process.hrtime.bigint();
  let status: number;
  do { status = core.run(scenario.duration, MAX_EVENTS_PER_CALL); } while (status === STATUS.budget);
  const runSeconds = secondsSince(t1);
  if (status !== STATUS.finished) throw new Error(`bench-reference: the run ended with status ${status}, not finished`);
  const rssAfterRun = process.memoryUsage().rss;

  const raw = new BigUint64Array(core.memory.buffer, core.countersPtr(), core.countersLen());
  const counter = (name: string): number => Number(raw[COUNTERS.findIndex((c) => c.name === name)]!);
  const accesses = counter('mmsim_accesses');
  const pageTableBytes = counter('nr_page_table_pages') * 4096;
  const perFrame = (bytes: number): number => bytes / frames;

  const reference = {
    accesses, residentHits: counter('mmsim_resident_hits'), pgfault: counter('pgfault'),
    simulatedSeconds: core.nowNs() / 1e9,
    initSeconds, runSeconds, wallSeconds: initSeconds + runSeconds,
    // as runScenario's wall.seconds: init included
    accessesPerSecond: accesses / (initSeconds + runSeconds),
    runAccessesPerSecond: accesses / runSeconds,
  };
  const memory = {
    frames,
    initSeconds,
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
  };
  const rows: Row[] = [
    { figure: 'bench-reference host floor', value: fmtRate(floor.accessesPerSecond), note: `plain loop: first touch of ${fmtBytes(floor.bytes)} (${(floor.touchPerPage * 1e6).toFixed(1)} µs/4 KiB, ${fmtSeconds(floor.touchSeconds)}) + ${accesses} random loads (${floor.loadNsPerAccess.toFixed(1)} ns each); bench-reference runs at ${(reference.accessesPerSecond / floor.accessesPerSecond).toFixed(2)}× it` },
    { figure: 'bench-reference', value: fmtRate(reference.accessesPerSecond), note: `${accesses} accesses in ${fmtSeconds(reference.wallSeconds)} (init included), once; run only ${fmtRate(reference.runAccessesPerSecond)}` },
    { figure: '16M-frame init', value: fmtSeconds(initSeconds), note: 'createCore to init done' },
    { figure: 'layout per frame', value: fmtBytes(memory.layoutBytesPerFrame), note: `memoryEnd ${fmtBytes(layoutBytes)} / ${frames} frames (page-table pool reserved, not touched)` },
    { figure: 'RSS per frame after init', value: fmtBytes(memory.rssAfterInitPerFrame), note: `RSS ${fmtBytes(rssAfterInit)}, grew ${fmtBytes(rssAfterInit - rssBefore)} in init` },
    { figure: 'RSS per frame after run', value: fmtBytes(memory.rssAfterRunPerFrame), note: `RSS ${fmtBytes(rssAfterRun)}` },
    { figure: 'page tables per frame', value: fmtBytes(memory.pageTableBytesPerFrame), note: `${memory.pageTablePages} tables = ${fmtBytes(pageTableBytes)}, ${(100 * memory.pageTableShareOfRssGrowth).toFixed(0)}% of RSS growth` },
  ];
  return { reference: { ...reference, hostFloor: floor, ofHostFloor: reference.accessesPerSecond / floor.accessesPerSecond }, memory, rows };
}
