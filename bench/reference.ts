/**
 * The `bench-reference` built-in (16,777,216 frames, 1TiB anon VMA, zipf(0.9) with 25% writes)
 * as a macro measurement outside tinybench: a run takes seconds to tens of seconds. Each run is a
 * fresh child process, as `mmsim run bench-reference` is, so its memory is a new process's and
 * the parent's RSS stays out of the figures. Runs alternate host huge pages (auto, the default)
 * and 4 KiB host pages, so that their ratio is measured in one sitting.
 *
 * On a VM whose free memory goes back to the hypervisor (this one's balloon reports free pages),
 * the first process to touch gigabytes pays the hypervisor's faults as well: its kernel time
 * swings from under 1 s to 6 s. So each run's user and kernel seconds are kept, and every run is
 * shown, not only the best.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COUNTERS } from '../src/abi/counters.js';
import { STATUS } from '../src/abi/config.js';
import { createCore } from '../src/engine/engine.js';
import { HOST_HUGE_PAGES_ENV, type HostHugePagesMode } from '../src/engine/host-pages.js';
import { memoryNeed } from '../src/engine/memory.js';
import { loadScenario } from '../src/scenario/load.js';
import { hostFloor, type HostFloor } from './host-floor.js';
import { fmtBytes, fmtRate, fmtSeconds, median, secondsSince, type BenchMode, type Row } from './measure.js';

const QUICK_ACCESSES = 5_000_000;
const FULL_ACCESSES = 50_000_000;
/** nr_page_table_pages × 4 KiB after the full run (525,316 tables): every one is touched. */
const PAGE_TABLE_BYTES = 525_316 * 4096;
const MAX_EVENTS_PER_CALL = 1 << 22;

interface ReferenceRun {
  hostPages: string;
  accesses: number; residentHits: number; pgfault: number; simulatedSeconds: number;
  initSeconds: number; runSeconds: number; wallSeconds: number;
  /** as runScenario's wall.seconds: init included */
  accessesPerSecond: number;
  runAccessesPerSecond: number;
  /** CPU seconds of the child process, in user mode and in the (guest) kernel. */
  userSeconds: number; kernelSeconds: number;
  memory: Record<string, unknown> & { rssAfterInitPerFrame: number; rssAfterRunPerFrame: number; pageTableBytesPerFrame: number; frames: number; initSeconds: number; layoutBytesPerFrame: number };
}

/** One run in this process (the child's side). */
function runOnce(accesses: number): ReferenceRun {
  const scenario = loadScenario('bench-reference', [`processes.bench.workload.0.accesses=${accesses}`]);
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
  if (status !== STATUS.finished) throw new Error(`bench-reference: the run ended with status ${status}, not finished`);
  const rssAfterRun = process.memoryUsage().rss;
  const usage = process.resourceUsage();

  const raw = new BigUint64Array(core.memory.buffer, core.countersPtr(), core.countersLen());
  const counter = (name: string): number => Number(raw[COUNTERS.findIndex((c) => c.name === name)]!);
  const done = counter('mmsim_accesses');
  const pageTableBytes = counter('nr_page_table_pages') * 4096;
  const perFrame = (bytes: number): number => bytes / frames;
  return {
    hostPages: hostPages.how,
    accesses: done, residentHits: counter('mmsim_resident_hits'), pgfault: counter('pgfault'),
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

/** One run in a fresh child process with the given host huge-pages mode. */
function runChild(accesses: number, hugePages: HostHugePagesMode): ReferenceRun {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(accesses)], {
    encoding: 'utf8', env: { ...process.env, [HOST_HUGE_PAGES_ENV]: hugePages },
  });
  return JSON.parse(out) as ReferenceRun;
}

const describeRun = (r: ReferenceRun): string =>
  `${fmtRate(r.accessesPerSecond)} (${fmtSeconds(r.userSeconds)} user, ${fmtSeconds(r.kernelSeconds)} kernel)`;

const describeFloor = (f: HostFloor): string =>
  `${fmtRate(f.accessesPerSecond)}: touch ${fmtBytes(f.bytes)} in ${fmtSeconds(f.touchSeconds)}, loads ${f.loadNsPerAccess.toFixed(1)} ns`;

export function benchReference(mode: BenchMode) {
  const accesses = mode.quick ? QUICK_ACCESSES : FULL_ACCESSES;
  // the floors first, in child processes: what any implementation pays for these page tables
  const floor = hostFloor(PAGE_TABLE_BYTES, accesses, 'on');
  const floor4k = hostFloor(PAGE_TABLE_BYTES, accesses, 'off');
  const pairs = mode.quick ? 1 : 3;
  const huge: ReferenceRun[] = [];
  const small: ReferenceRun[] = [];
  for (let i = 0; i < pairs; i++) {
    huge.push(runChild(accesses, 'auto'));
    small.push(runChild(accesses, 'off'));
  }
  const rate = (runs: ReferenceRun[]): number => median(runs.map((r) => r.accessesPerSecond));
  const best = huge.reduce((a, b) => (b.accessesPerSecond > a.accessesPerSecond ? b : a));
  // the rate the simulation's own work allows: accesses per CPU second in user mode (the kernel
  // time is mostly first touches, whose cost the hypervisor sets)
  const userRate = (runs: ReferenceRun[]): number => median(runs.map((r) => r.accesses / r.userSeconds));
  const memory = best.memory;
  const reference = {
    ...best,
    runs: huge, runs4k: small,
    medianAccessesPerSecond: rate(huge), median4kAccessesPerSecond: rate(small),
    hugeOver4k: rate(huge) / rate(small),
    medianUserAccessesPerSecond: userRate(huge), median4kUserAccessesPerSecond: userRate(small),
    hostFloor: floor, hostFloor4k: floor4k,
    ofHostFloor: best.accessesPerSecond / floor.accessesPerSecond,
  };
  const rows: Row[] = [
    { figure: 'bench-reference host floor', value: fmtRate(floor.accessesPerSecond), note: `plain loop on ${floor.hostPages}: ${describeFloor(floor)}; on 4 KiB pages ${describeFloor(floor4k)}` },
    { figure: 'bench-reference', value: fmtRate(best.accessesPerSecond), note: `best of ${huge.length} fresh processes (median ${fmtRate(rate(huge))}), ${best.hostPages}, init included; each run: ${huge.map(describeRun).join(', ')}; ${fmtSeconds(best.wallSeconds)} for ${best.accesses} accesses; ${(reference.ofHostFloor).toFixed(2)}× the floor` },
    { figure: 'bench-reference, per user-mode second', value: fmtRate(userRate(huge)), note: `median over the runs above: accesses / user CPU seconds, what the host's kernel time leaves out; 4 KiB host pages: ${fmtRate(userRate(small))} (${(userRate(huge) / userRate(small)).toFixed(2)}×)` },
    { figure: 'bench-reference, 4 KiB host pages', value: fmtRate(rate(small)), note: `median, runs alternating with the above: ${small.map(describeRun).join(', ')}; huge pages give ${reference.hugeOver4k.toFixed(2)}× (medians)` },
    { figure: '16M-frame init', value: fmtSeconds(memory.initSeconds), note: 'createCore to init done, in the best run' },
    { figure: 'layout per frame', value: fmtBytes(memory.layoutBytesPerFrame), note: `memoryEnd / ${memory.frames} frames (page-table pool reserved, not touched)` },
    { figure: 'RSS per frame after init', value: fmtBytes(memory.rssAfterInitPerFrame), note: `the whole child process; 4 KiB host pages: ${fmtBytes(small[0]!.memory.rssAfterInitPerFrame)}` },
    { figure: 'RSS per frame after run', value: fmtBytes(memory.rssAfterRunPerFrame), note: `of which page tables ${fmtBytes(memory.pageTableBytesPerFrame)}; 4 KiB host pages: ${fmtBytes(small[0]!.memory.rssAfterRunPerFrame)}` },
  ];
  return { reference, memory, rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(runOnce(Number(process.argv[2]))));
}
