/**
 * `npm run bench [-- --quick]`: every suite in one process, one table on stdout, all figures in
 * bench/results/latest.json. Order matters: the resident suites warm the compiled WASM module
 * before the single macro runs (writeback, sweep throughput, bench-reference, bench-pressure);
 * the two references go last, each run in a child process of its own (16M frames, gigabytes).
 *
 * Figures are rates and ratios from the same run; the machine is shared and noisy, so compare
 * ratios across runs rather than absolute rates, and never assert timings in tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { benchDefault } from './default-scenario.js';
import { benchMode, benchPath, secondsSince, type Row } from './measure.js';
import { benchReference } from './reference.js';
import { benchPressure, gridDescription } from './pressure.js';
import { benchRmapPrefetch } from './rmap-prefetch.js';
import { benchResident } from './resident.js';
import { benchSweep } from './sweep.js';
import { benchWriteback } from './writeback.js';
import { benchNuma } from './numa.js';
import { benchNotifiers } from './notifiers.js';
import { benchPins } from './pins.js';

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: benchPath(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const mode = benchMode();
  const t0 = process.hrtime.bigint();
  const log = (what: string): void => { process.stderr.write(`bench: ${what} (${secondsSince(t0).toFixed(0)} s)\n`); };

  log(`resident hits, WASM and plain TS${mode.quick ? ' (quick)' : ''}`);
  const resident = await benchResident(mode);
  log('default scenario');
  const dflt = await benchDefault(mode);
  log('the reclaim batch prefetch: bench-pressure at 1M frames, serial and batched rmap walks');
  const prefetch = benchRmapPrefetch(mode);
  log('notifier bracketing on the reclaim path: default with and without subscribers');
  const notifiers = await benchNotifiers(mode);
  log('pin checks on the reclaim path: default and gup-writeback-bug under two pin policies each');
  const pins = await benchPins(mode);
  log(`writeback macro: storage-server, ${mode.quick ? 15 : 60} s simulated, once per variant`);
  const writeback = benchWriteback(mode);
  log('sweep throughput: in-process, -j 1, -j 2');
  const sweep = await benchSweep(mode);
  log(`sharded machine: numa-1tib${mode.quick ? ' (4 of its 16 nodes)' : ''}, once`);
  const numa = await benchNuma(mode);
  log(`bench-reference${mode.quick ? ' at 5M accesses' : ''}: fresh processes, a block on host huge pages then one on 4 KiB pages, each after its floor and warm-up runs, then one cold run`);
  const reference = benchReference(mode);
  log(`bench-pressure${mode.quick ? ' at 5M accesses' : ''}, each run followed by one of bench-reference, then its scaling grid (${gridDescription(mode)}): fresh processes, warm-up runs first`);
  const pressure = benchPressure(mode);

  const rows: Row[] = [...resident.rows, ...dflt.rows, ...prefetch.rows, ...notifiers.rows, ...pins.rows, ...writeback.rows, ...sweep.rows, ...numa.rows, ...reference.rows, ...pressure.rows];
  console.table(rows);
  process.stdout.write('bench-pressure scaling: user ns per access, pages scanned per access, user ns per scanned page (all work included)\n');
  console.table(pressure.grid);

  const out = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`,
      node: process.version, date: new Date().toISOString(), commit: gitCommit(),
    },
    mode: mode.quick ? 'quick' : 'full',
    benchSeconds: secondsSince(t0),
    residentHits: resident.figures,
    default: dflt.figures,
    rmapPrefetch: prefetch.figures,
    notifierBracketing: notifiers.figures,
    pinChecks: pins.figures,
    benchReference: reference.reference,
    benchPressure: pressure.figures,
    memory: reference.memory,
    writebackMacro: writeback.figures,
    sweepThroughput: sweep.figures,
    shardedMachine: numa.figures,
    tinybench: [...resident.tinybench, ...dflt.tinybench, ...notifiers.tinybench, ...pins.tinybench],
  };
  mkdirSync(benchPath('results'), { recursive: true });
  const file = benchPath('results', 'latest.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  log(`wrote ${file}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exitCode = 1;
});
