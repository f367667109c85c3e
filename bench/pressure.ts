/**
 * The `bench-pressure` built-in: bench-reference with every access a store, so that kswapd,
 * direct reclaim and swap-out run hard (16,777,216 frames; ~21M distinct pages touched). Run as
 * bench-reference is: fresh child processes, warm-up runs first, then back-to-back runs, each
 * with its user and kernel seconds; then the same at 1M and 4M frames (the VMA 16× the frames),
 * where reclaim's share of the work is larger, with ns per access and pages scanned per access.
 */
import { fmtRate, fmtSeconds, median, type BenchMode, type Row } from './measure.js';
import { describeRun, runChild, WARMUP_RUNS, type ReferenceRun } from './reference.js';

const FULL_ACCESSES = 50_000_000;
const QUICK_ACCESSES = 5_000_000;
const SCALE_ACCESSES = 10_000_000;

/** A machine of `frames` frames with a VMA 16× as large (and swap to hold what it touches). */
function scaled(frames: number): string[] {
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

export function benchPressure(mode: BenchMode) {
  const accesses = mode.quick ? QUICK_ACCESSES : FULL_ACCESSES;
  const n = mode.quick ? 1 : 2;
  const warmup: ReferenceRun[] = [];
  for (let i = 0; i < (mode.quick ? 1 : WARMUP_RUNS); i++) warmup.push(runChild(accesses, 'auto', 'bench-pressure'));
  const runs: ReferenceRun[] = [];
  for (let i = 0; i < n; i++) runs.push(runChild(accesses, 'auto', 'bench-pressure'));
  const scaling = [1 << 20, 1 << 22].map((frames) => {
    const sets = scaled(frames);
    runChild(SCALE_ACCESSES, 'auto', 'bench-pressure', sets);   // warm-up
    const rs = Array.from({ length: n }, () => runChild(SCALE_ACCESSES, 'auto', 'bench-pressure', sets));
    return scaleRow(frames, rs);
  });
  scaling.push(scaleRow(1 << 24, runs));
  const r = runs[0]!;
  const figures = {
    accesses, runs, warmupRuns: warmup,
    medianUserAccessesPerSecond: userRate(runs), medianAccessesPerSecond: wallRate(runs),
    pgscan: r.pgscan, pgscanKswapd: r.pgscanKswapd, pgscanDirect: r.pgscanDirect, pgsteal: r.pgsteal, pswpout: r.pswpout, pswpin: r.pswpin,
    scaling,
  };
  const rows: Row[] = [
    { figure: 'bench-pressure, per user-mode second', value: fmtRate(userRate(runs)), note: `median of ${runs.length} fresh processes after ${warmup.length} warm-up runs: accesses / user CPU seconds; pgscan ${r.pgscan} (kswapd ${r.pgscanKswapd}, direct ${r.pgscanDirect}), pgsteal ${r.pgsteal}, pswpout ${r.pswpout}, pswpin ${r.pswpin}` },
    { figure: 'bench-pressure, wall', value: fmtRate(wallRate(runs)), note: `each run: ${runs.map(describeRun).join(', ')}; warm-up: ${warmup.map(describeRun).join(', ')}` },
    ...scaling.map((sc): Row => ({
      figure: `bench-pressure at ${sc.frames >> 20}M frames`, value: `${sc.userNsPerAccess.toFixed(0)} ns/access`,
      note: `${sc.accesses} accesses, user ${fmtSeconds(sc.userSeconds)}, kernel ${fmtSeconds(sc.kernelSeconds)}; ` +
        (sc.pgscan > 0 ? `${sc.pgscanPerAccess.toFixed(3)} pages scanned per access, ${sc.userNsPerScannedPage.toFixed(0)} user ns per scanned page (all work included)` : 'no reclaim at this access count'),
    })),
  ];
  return { figures, rows };
}
