/**
 * The `bench-pressure` built-in: bench-reference with every access a store, so that kswapd,
 * direct reclaim and swap-out run hard (16,777,216 frames; ~21M distinct pages touched). Run as
 * bench-reference is: fresh child processes, warm-up runs first, then back-to-back runs, each
 * with its user and kernel seconds. Then the scaling grid: 1M, 4M and 16M frames (the VMA 16× the
 * frames; 16M is the built-in itself) by 10M, 50M and 100M accesses, each cell with ns per access,
 * pages scanned per access and ns per scanned page; reclaim's share of the work grows as the
 * machine shrinks and the run lengthens.
 */
import { fmtRate, fmtSeconds, median, type BenchMode, type Row } from './measure.js';
import { describeRun, runChild, WARMUP_RUNS, type ReferenceRun } from './reference.js';

const FULL_ACCESSES = 50_000_000;
const QUICK_ACCESSES = 5_000_000;
/** The grid's axes; `--quick` keeps the first column. */
const GRID_FRAMES = [1 << 20, 1 << 22, 1 << 24] as const;
const GRID_ACCESSES = [10_000_000, 50_000_000, 100_000_000] as const;

const millions = (xs: readonly number[], unit: number): string =>
  xs.map((x) => `${x / unit}M`).join(', ').replace(/, ([^,]*)$/, ' and $1');

/** What the grid runs, for the bench's progress line. */
export function gridDescription(mode: BenchMode): string {
  const frames = `${millions(GRID_FRAMES, 1 << 20)} frames`;
  return mode.quick ? `${frames} at ${millions([GRID_ACCESSES[0]], 1e6)} accesses` : `${frames} by ${millions(GRID_ACCESSES, 1e6)} accesses`;
}

/** A machine of `frames` frames with a VMA 16× as large (and swap to hold what it touches); none for the built-in's own 16M. */
function scaled(frames: number): string[] {
  if (frames === 1 << 24) return [];
  const gib = (frames * 4096) / 2 ** 30;
  return [`machine.memory=${gib}GiB`, `processes.bench.vmas.heap.size=${gib * 16}GiB`, `swap.size=${gib * 16}GiB`];
}

const userRate = (runs: readonly ReferenceRun[]): number => median(runs.map((r) => r.accesses / r.userSeconds));
const wallRate = (runs: readonly ReferenceRun[]): number => median(runs.map((r) => r.accessesPerSecond));

function scaleRow(frames: number, runs: readonly ReferenceRun[]) {
  const r = runs[0]!;
  const userNsPerAccess = median(runs.map((x) => (x.userSeconds * 1e9) / x.accesses));
  return {
    frames, accesses: r.accesses, runs: runs.length,
    userNsPerAccess, pgscanPerAccess: r.pgscan / r.accesses,
    userNsPerScannedPage: median(runs.map((x) => (x.userSeconds * 1e9) / Math.max(1, x.pgscan))),
    pgscan: r.pgscan, pgscanKswapd: r.pgscanKswapd, pgscanDirect: r.pgscanDirect, pgsteal: r.pgsteal, pswpout: r.pswpout, pswpin: r.pswpin,
    userSeconds: median(runs.map((x) => x.userSeconds)), kernelSeconds: median(runs.map((x) => x.kernelSeconds)),
  };
}

type ScaleRow = ReturnType<typeof scaleRow>;

/** The scaling grid as a table of its own: a row per frame count, a column per access count. */
function grid(cells: readonly ScaleRow[]): Record<string, string>[] {
  const frames = [...new Set(cells.map((c) => c.frames))];
  return frames.map((f) => {
    const row: Record<string, string> = { frames: `${f >> 20}M (${(f * 4096) / 2 ** 30} GiB)` };
    for (const c of cells.filter((x) => x.frames === f)) {
      row[`${c.accesses / 1e6}M accesses`] = `${c.userNsPerAccess.toFixed(0)} ns/access, ${c.pgscanPerAccess.toFixed(2)} scans/access` +
        (c.pgscan > 0 ? `, ${c.userNsPerScannedPage.toFixed(0)} ns/scan` : '');
    }
    return row;
  });
}

export function benchPressure(mode: BenchMode) {
  const accesses = mode.quick ? QUICK_ACCESSES : FULL_ACCESSES;
  const n = mode.quick ? 1 : 3;
  const warmup: ReferenceRun[] = [];
  for (let i = 0; i < (mode.quick ? 1 : WARMUP_RUNS); i++) warmup.push(runChild(accesses, 'auto', 'bench-pressure'));
  // each measured run followed by one of bench-reference at the same access count: the ratio of
  // their user times, pair by pair, holds still while the machine's speed drifts
  const runs: ReferenceRun[] = [];
  const references: ReferenceRun[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(runChild(accesses, 'auto', 'bench-pressure'));
    references.push(runChild(accesses, 'auto', 'bench-reference'));
  }
  const userRatios = runs.map((x, i) => x.userSeconds / references[i]!.userSeconds);
  // the grid: per frame count a warm-up run (the built-in's came first), then n runs of the first
  // column and one of each longer one (up to half a minute each); the built-in's own cell is the
  // runs above
  const scaling = GRID_FRAMES.flatMap((frames) => {
    const builtIn = frames === 1 << 24;
    const columns = mode.quick ? [GRID_ACCESSES[0]] : GRID_ACCESSES;
    const sets = scaled(frames);
    if (!builtIn) runChild(columns[0]!, 'auto', 'bench-pressure', sets);
    return columns.map((count, i) => builtIn && count === accesses ? scaleRow(frames, runs)
      : scaleRow(frames, Array.from({ length: i === 0 ? n : 1 }, () => runChild(count, 'auto', 'bench-pressure', sets))));
  });
  const r = runs[0]!;
  const figures = {
    accesses, runs, warmupRuns: warmup, referenceRuns: references,
    medianUserAccessesPerSecond: userRate(runs), medianAccessesPerSecond: wallRate(runs),
    userOverReference: median(userRatios), userOverReferenceEach: userRatios,
    pgscan: r.pgscan, pgscanKswapd: r.pgscanKswapd, pgscanDirect: r.pgscanDirect, pgsteal: r.pgsteal, pswpout: r.pswpout, pswpin: r.pswpin,
    scaling,
  };
  const rows: Row[] = [
    { figure: 'bench-pressure, per user-mode second', value: fmtRate(userRate(runs)), note: `median of ${runs.length} fresh processes after ${warmup.length} warm-up runs: accesses / user CPU seconds; pgscan ${r.pgscan} (kswapd ${r.pgscanKswapd}, direct ${r.pgscanDirect}), pgsteal ${r.pgsteal}, pswpout ${r.pswpout}, pswpin ${r.pswpin}` },
    { figure: 'bench-pressure, wall', value: fmtRate(wallRate(runs)), note: `each run: ${runs.map(describeRun).join(', ')}; warm-up: ${warmup.map(describeRun).join(', ')}` },
    { figure: 'bench-pressure / bench-reference, user', value: `${median(userRatios).toFixed(2)}×`, note: `${n === 1 ? 'one pair' : `median of ${n} pairs`}, each bench-pressure run followed by bench-reference's (${references.map((x) => fmtSeconds(x.userSeconds)).join(', ')} user): ${userRatios.map((x) => x.toFixed(2)).join(', ')}` },
    ...scaling.map((sc): Row => ({
      figure: `bench-pressure, ${sc.frames >> 20}M frames, ${sc.accesses / 1e6}M accesses`, value: `${sc.userNsPerAccess.toFixed(0)} ns/access`,
      note: `${sc.runs === 1 ? 'one run' : `median of ${sc.runs}`}, user ${fmtSeconds(sc.userSeconds)}, kernel ${fmtSeconds(sc.kernelSeconds)}; ` +
        (sc.pgscan > 0 ? `${sc.pgscanPerAccess.toFixed(3)} pages scanned per access, ${sc.userNsPerScannedPage.toFixed(0)} user ns per scanned page (all work included)` : 'no reclaim at this access count'),
    })),
  ];
  return { figures, rows, grid: grid(scaling) };
}
