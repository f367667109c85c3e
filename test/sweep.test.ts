import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli.js';
import { combos, parseParam, parseSeeds, resolveShard } from '../src/parallel/grid.js';
import { createSweepProgress } from '../src/parallel/progress.js';
import type { PointRecord } from '../src/parallel/records.js';
import { estimate, tQuantile975 } from '../src/parallel/stats.js';
import { runSweep, type SweepFlags, type SweepHooks } from '../src/parallel/sweep.js';
import { cpusOfCpuMax, defaultCpus } from '../src/util/cpus.js';
import { packageRoot } from '../src/util/package.js';
import { tinySweepYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-sweep-'));
after(() => rmSync(root, { recursive: true, force: true }));
let fileCount = 0;
const fresh = (stem = 'sweep'): string => join(root, `${stem}-${++fileCount}.jsonl`);

/** A 64 MiB machine under anon and page-cache pressure for 200 ms simulated: ~60 ms of wall per point. */
const TINY = tinySweepYaml('200ms');
const tiny = join(root, 'tiny.yaml');
const other = join(root, 'other.yaml');
writeFileSync(tiny, TINY);
writeFileSync(other, TINY.replace('name: tiny', 'name: other'));

/** The grid most tests use: 2 parameter combinations × 4 seeds = 8 points. */
const GRID = ['--param', 'vm.swappiness=0,100', '--seeds', '4'];
const GRID_FLAGS: SweepFlags = { params: ['vm.swappiness=0,100'], seeds: '4' };

interface Captured { code: number; stdout: string; stderr: string }

async function cli(args: string[], tty = false): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'mmsim', ...args], {
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: tty,
  });
  return { code, stdout, stderr };
}

async function sweep(flags: SweepFlags, hooks: SweepHooks = {}, env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runSweep(tiny, { quiet: true, ...flags }, {
    stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: false, env,
  }, hooks);
  return { code, stdout, stderr };
}

function records(path: string): PointRecord[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as PointRecord);
}

/** The reference: the whole grid, uninterrupted, 2 workers. */
let reference = '';
let referenceText = '';
before(async () => {
  reference = fresh('reference');
  const r = await cli(['sweep', tiny, ...GRID, '-j', '2', '--out', reference, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  referenceText = readFileSync(reference, 'utf8');
});

describe('grid', () => {
  it('parses lists, ranges and ranges with units', () => {
    assert.deepEqual(parseParam('vm.swappiness=0..200:50'), { name: 'vm.swappiness', values: ['0', '50', '100', '150', '200'] });
    assert.deepEqual(parseParam('vm.min_free_kbytes=0,65536').values, ['0', '65536']);
    assert.deepEqual(parseParam('processes.app.workload.0.theta=0.5..0.8:0.1').values, ['0.5', '0.6', '0.7', '0.8']);
    assert.deepEqual(parseParam('machine.memory=1GiB..4GiB:1GiB').values, ['1GiB', '2GiB', '3GiB', '4GiB']);
    assert.deepEqual(parseParam('machine.memory=512MiB..2GiB:512MiB').values, ['512MiB', '1024MiB', '1536MiB', '2048MiB']);
    assert.deepEqual(parseParam('duration=100ms..1s:300ms').values, ['100ms', '400ms', '700ms', '1000ms']);
    assert.deepEqual(parseParam('vm.swappiness=0..10:4').values, ['0', '4', '8'], 'hi is included only when reached');
  });

  it('rejects bad --param syntax with the reason', () => {
    const bad: [string, RegExp][] = [
      ['vm.swappiness', /expected FIELD=VALUES/],
      ['vm.swappiness=', /no values/],
      ['vm.swappiness=10..0:5', /starts above its end/],
      ['vm.swappiness=0..10:0', /step 0 must be greater than 0/],
      ['vm.swappiness=0..10', /not a range/],
      ['machine.memory=1GiB..4s:1GiB', /units .* do not match/],
      ['vm.swappiness=1,1', /appears twice/],
      ['seed=1,2', /--seeds/],
      ['vm..x=1', /not a field path/],
    ];
    for (const [spec, message] of bad) assert.throws(() => parseParam(spec), message, spec);
  });

  it('orders combinations with the last parameter fastest, and seeds 1..N by default', () => {
    const c = combos([parseParam('a=1,2'), parseParam('b=x,y,z')], 1).map((x) => x.values.join(''));
    assert.deepEqual(c, ['1x', '1y', '1z', '2x', '2y', '2z']);
    assert.deepEqual(parseSeeds('3', undefined), [1, 2, 3]);
    assert.deepEqual(parseSeeds(undefined, '7,3'), [7, 3]);
    assert.deepEqual(parseSeeds(undefined, undefined), [1]);
    assert.throws(() => parseSeeds('2', '1,2'), /either/);
    assert.throws(() => parseSeeds('0', undefined), /integer ≥ 1/);
  });

  it('reads the shard from --shard, Kubernetes Indexed Jobs and Slurm arrays', () => {
    assert.equal(resolveShard({}, {}), undefined);
    assert.deepEqual(resolveShard({ shard: '2/4' }, { JOB_COMPLETION_INDEX: '0' }), { index: 1, count: 4, source: '--shard 2/4' });
    assert.deepEqual(resolveShard({ shards: '4' }, { JOB_COMPLETION_INDEX: '3' }), { index: 3, count: 4, source: 'JOB_COMPLETION_INDEX=3' });
    assert.equal(resolveShard({}, { JOB_COMPLETION_INDEX: '1', MMSIM_SHARDS: '2' })!.index, 1);
    assert.deepEqual(resolveShard({ shards: '8' }, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_COUNT: '1' }),
      { index: 5, count: 8, source: 'SLURM_ARRAY_TASK_ID=5' }, 'a resubmitted single index keeps its shard');
    assert.throws(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8' }), /--shards N or set MMSIM_SHARDS/);
    assert.throws(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '8', MMSIM_SHARDS: '8' }), /--array=0-7/);
    assert.throws(() => resolveShard({ shard: '0/4' }, {}), /k counts from 1/);
    assert.throws(() => resolveShard({ shard: '5/4' }, {}), /k counts from 1/);
    assert.throws(() => resolveShard({ shard: '1-4' }, {}), /expected k\/N/);
    assert.throws(() => resolveShard({}, { JOB_COMPLETION_INDEX: '2' }), /--shards N/);
    assert.throws(() => resolveShard({ shards: '2' }, { JOB_COMPLETION_INDEX: '2' }), /outside 0\.\.1/);
    assert.throws(() => resolveShard({ shards: '2' }, {}), /needs a shard index/);
  });
});

describe('statistics', () => {
  it("uses Student's t quantiles", () => {
    for (const [df, t] of [[1, 12.7062], [2, 4.3027], [4, 2.7764], [9, 2.2622], [30, 2.0423], [1000, 1.9623]] as const) {
      assert.ok(Math.abs(tQuantile975(df) - t) < 1e-3, `df ${df}: ${tQuantile975(df)} vs ${t}`);
    }
    assert.deepEqual(estimate([5]), { n: 1, mean: 5 });
    const e = estimate([1, 2, 3, 4])!;
    assert.equal(e.mean, 2.5);
    assert.ok(Math.abs(e.halfWidth! - 3.1824 * Math.sqrt(1.6667 / 4)) < 1e-3);
    assert.equal(estimate([]), undefined);
  });
});

describe('mmsim sweep', () => {
  it('writes one line per point in grid order, the same bytes for -j 1 and -j 2', async () => {
    const lines = records(reference);
    assert.equal(lines.length, 8);
    assert.deepEqual(lines.map((l) => l.index), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(lines.map((l) => [l.point['vm.swappiness'], l.seed]),
      [[0, 1], [0, 2], [0, 3], [0, 4], [100, 1], [100, 2], [100, 3], [100, 4]]);
    for (const l of lines) {
      assert.equal(l.status, 'ok');
      assert.equal(l.scenario, 'tiny');
      assert.equal(l.of, 8);
      assert.equal(l.simulatedSeconds, 0.2);
      assert.ok(l.summary!.pgscan > 0 && l.summary!.pswpout > 0, 'the tiny machine is under pressure');
      assert.equal(l.summary!.pgmajfault, l.counters!.pgmajfault);
      assert.ok(!('wall' in l));
    }
    assert.notDeepEqual(lines[0]!.counters, lines[1]!.counters, 'seeds differ');

    const one = fresh();
    const r = await cli(['sweep', tiny, ...GRID, '-j', '1', '--out', one]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(one, 'utf8'), referenceText);
    assert.equal(readFileSync(one.replace(/\.jsonl$/, '.summary.csv'), 'utf8'),
      readFileSync(reference.replace(/\.jsonl$/, '.summary.csv'), 'utf8'));
    // The table: one row per combination, mean ± CI over 4 seeds.
    assert.match(r.stdout, /vm\.swappiness\s+seeds\s+reclaim eff\./);
    assert.match(r.stdout, /\n0\s+4\s+[\d.]+% ± [\d.]+/);
    assert.match(r.stdout, /\n100\s+4\s+/);
    assert.match(r.stdout, /8 points in .*; summary in .*summary\.csv/);
    // Progress, not a terminal: plain lines.
    assert.match(r.stderr, /2 parameter combinations × 4 seeds = 8 points; running 8 on 1 worker thread/);
    assert.match(r.stderr, /mmsim sweep tiny: 8\/8 points \(100%\), [\d.]+ points\/s, ETA 0s\n/);
    assert.doesNotMatch(r.stderr, /\r/);
  });

  it('takes -j from SLURM_CPUS_PER_TASK inside a Slurm job', async () => {
    const out = fresh();
    const r = await sweep({ ...GRID_FLAGS, out, quiet: false }, {}, { SLURM_CPUS_PER_TASK: '3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /running 8 on 3 worker threads \(-j from SLURM_CPUS_PER_TASK=3\)\n/);
    assert.equal(readFileSync(out, 'utf8'), referenceText);
  });

  it('takes -j from the cgroup CPU quota, else the cores', () => {
    const cores = availableParallelism();
    assert.deepEqual(defaultCpus({ SLURM_CPUS_PER_TASK: '4' }, () => '100000 100000\n'), { cpus: 4, source: 'SLURM_CPUS_PER_TASK=4' });
    assert.equal(cpusOfCpuMax('150000 100000\n'), 2, 'a quota of 1.5 CPUs gives 2 threads');
    assert.equal(cpusOfCpuMax('max 100000\n'), undefined, 'no limit');
    assert.equal(cpusOfCpuMax(undefined), undefined, 'no cgroup v2');
    assert.deepEqual(defaultCpus({}, () => '100000 100000\n'), cores > 1 ? { cpus: 1, source: 'cgroup CPU quota /sys/fs/cgroup/cpu.max' } : { cpus: 1, source: 'CPUs' });
    assert.deepEqual(defaultCpus({}, () => 'max 100000\n'), { cpus: cores, source: 'CPUs' });
    assert.deepEqual(defaultCpus({}, () => `${(cores + 8) * 100000} 100000\n`), { cpus: cores, source: 'CPUs' }, 'a quota above the cores');
    assert.deepEqual(defaultCpus({ SLURM_CPUS_PER_TASK: 'x' }, () => undefined), { cpus: cores, source: 'CPUs' });
  });

  it('writes a summary CSV with mean and 95% interval per combination', () => {
    const csv = readFileSync(reference.replace(/\.jsonl$/, '.summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    const header = csv[0]!.split(',');
    assert.deepEqual(header.slice(0, 3), ['vm.swappiness', 'seeds_ok', 'seeds_failed']);
    const row = Object.fromEntries(csv[1]!.split(',').map((v, i) => [header[i]!, Number(v)]));
    const pswpout = records(reference).slice(0, 4).map((l) => l.summary!.pswpout);
    const mean = pswpout.reduce((a, b) => a + b) / 4;
    assert.equal(row['vm.swappiness'], 0);
    assert.equal(row.seeds_ok, 4);
    assert.ok(Math.abs(row.pswpout_mean! - mean) < 1e-6);
    const sd = Math.sqrt(pswpout.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
    assert.ok(Math.abs(row.pswpout_ci95_high! - (mean + 3.1824 * sd / 2)) < 1e-3 * Math.max(1, mean));
  });

  it('records a point with invalid parameters as failed, runs the others, exits 1', async () => {
    const out = fresh();
    const r = await cli(['sweep', tiny, '--param', 'vm.swappiness=60,500', '--seeds', '2', '-j', '2', '--out', out]);
    assert.equal(r.code, 1);
    const lines = records(out);
    assert.deepEqual(lines.map((l) => [l.point['vm.swappiness'], l.seed, l.status]),
      [[60, 1, 'ok'], [60, 2, 'ok'], [500, 1, 'error'], [500, 2, 'error']]);
    assert.equal(lines[2]!.error!.stage, 'scenario');
    assert.match(lines[2]!.error!.message, /--param vm\.swappiness=500.*swappiness/s);
    assert.equal(lines[2]!.counters, undefined);
    assert.match(r.stderr, /2 of 4 points failed:\n {2}vm\.swappiness=500 seed 1: scenario: /);
    assert.match(r.stdout, /\n500\s+0\/2\s+-/);
  });

  it('refuses bad input with exit 2 before running anything', async () => {
    const out = fresh();
    const cases: [string[], RegExp][] = [
      [['--param', 'vm.swappiness=0..200'], /not a range/],
      [['--param', 'vm.swappiness=500,600'], /nothing to sweep: all 2 parameter combinations are invalid/],
      [['--param', 'vm.swapiness=1,2'], /unknown field/],
      [['--param', 'vm.swappiness=1,2', '--set', 'vm.swappiness=3'], /both swept .* and fixed/],
      [['--param', 'vm.swappiness=1', '--param', 'vm.swappiness=2'], /given twice/],
      [['--seeds', 'x'], /--seeds "x" is not an integer/],
      [['--shard', '3/2'], /k counts from 1/],
      [['-j', '0'], /worker threads/],
      [['--retry-failed'], /goes with --resume/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['sweep', tiny, ...args, '--out', out]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.ok(!existsSync(out), `${args.join(' ')} wrote nothing`);
    }
    const missing = await cli(['sweep', join(root, 'nope.yaml'), '--out', out]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /not found: .*nope\.yaml/);
  });

  it('keeps going when a point traps or its worker dies', async () => {
    const out = fresh();
    const r = await sweep({ ...GRID_FLAGS, jobs: '2', out }, { faults: { trapSeeds: [2], exitSeeds: [3] } });
    assert.equal(r.code, 1);
    const lines = records(out);
    assert.equal(lines.length, 8);
    const bySeed = (seed: number) => lines.filter((l) => l.seed === seed);
    for (const l of bySeed(2)) {
      assert.equal(l.status, 'error');
      assert.equal(l.error!.stage, 'simulation');
      assert.match(l.error!.message, /unreachable/);
      assert.ok(l.error!.simulatedNs! > 0 && l.error!.simulatedNs! <= 100e6);
      assert.ok(l.counters!.mmsim_accesses! > 0, 'counters up to the trap are kept');
    }
    for (const l of bySeed(3)) {
      assert.equal(l.status, 'error');
      assert.equal(l.error!.stage, 'worker');
    }
    const ok = lines.filter((l) => l.seed === 1 || l.seed === 4);
    assert.ok(ok.every((l) => l.status === 'ok'));
    const expected = records(reference).filter((l) => l.seed === 1 || l.seed === 4);
    assert.deepEqual(ok, expected, 'the other points are unaffected');
    assert.match(r.stderr, /4 of 8 points failed/);

    // --resume keeps recorded failures; --retry-failed runs them again (here without the faults).
    const kept = await sweep({ ...GRID_FLAGS, out, resume: true });
    assert.equal(kept.code, 1);
    const retried = await sweep({ ...GRID_FLAGS, jobs: '2', out, resume: true, retryFailed: true });
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stderr, /running again 4 failed points/);
    assert.equal(readFileSync(out, 'utf8'), referenceText);
  });

  it('resumes an interrupted sweep to the same bytes as an uninterrupted one', async () => {
    const out = fresh();
    const controller = new AbortController();
    const first = await sweep({ ...GRID_FLAGS, jobs: '2', out }, {
      signal: controller.signal,
      onRecord: (_r, n) => { if (n === 3) controller.abort(); },
    });
    assert.equal(first.code, 130);
    assert.match(first.stderr, /interrupted; \d of 8 points are in .*--resume/);
    const partial = records(out).length;
    assert.ok(partial >= 3 && partial < 8, `${partial} points written`);
    // A write cut short by a crash leaves a torn last line.
    appendFileSync(out, '{"grid":"0123","scen');

    const resumed = await sweep({ ...GRID_FLAGS, jobs: '2', out, resume: true, quiet: false });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /left out an incomplete last line/);
    assert.match(resumed.stderr, new RegExp(`${partial} already in .*; running ${8 - partial} on`));
    assert.equal(readFileSync(out, 'utf8'), referenceText);

    // Truncated to its first k lines, as a crash would leave it.
    const truncated = fresh();
    writeFileSync(truncated, referenceText.split('\n').slice(0, 5).join('\n') + '\n');
    const again = await sweep({ ...GRID_FLAGS, jobs: '1', out: truncated, resume: true });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(truncated, 'utf8'), referenceText);

    // Nothing left to do: the file stays as it is.
    const done = await sweep({ ...GRID_FLAGS, out: truncated, resume: true });
    assert.equal(done.code, 0);
    assert.equal(readFileSync(truncated, 'utf8'), referenceText);
  });

  it('refuses to overwrite, or to resume a different sweep; --force starts over', async () => {
    const out = fresh();
    writeFileSync(out, referenceText);
    const exists = await cli(['sweep', tiny, ...GRID, '--out', out]);
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /already exists; add --resume .* or --force/);
    const otherGrid = await cli(['sweep', tiny, '--param', 'vm.swappiness=0,100', '--seeds', '3', '--out', out, '--resume']);
    assert.equal(otherGrid.code, 2);
    assert.match(otherGrid.stderr, /:1: this line is from a different sweep/);
    const otherShard = await cli(['sweep', tiny, ...GRID, '--shard', '1/2', '--out', out, '--resume']);
    assert.equal(otherShard.code, 2);
    assert.match(otherShard.stderr, /point 1 is not in shard 1\/2/);
    writeFileSync(out, 'not json\n');
    const corrupt = await cli(['sweep', tiny, ...GRID, '--out', out, '--resume']);
    assert.equal(corrupt.code, 2);
    assert.match(corrupt.stderr, /:1: not a sweep point record/);
    const forced = await cli(['sweep', tiny, ...GRID, '--out', out, '--force', '--quiet']);
    assert.equal(forced.code, 0);
    assert.equal(readFileSync(out, 'utf8'), referenceText);
  });

  it('survives a killed process: --resume finishes the file', async () => {
    // The CLI is killed right after it appends its 3rd line, not after some wall-clock time: a
    // preloaded module wraps fs.writeSync, counts the point records written and sends the
    // process SIGKILL after the 3rd (kill(2) to oneself is delivered before it returns).
    const killAfter = 3;
    const preload = join(root, 'kill-after-lines.mjs');
    writeFileSync(preload, `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const writeSync = fs.writeSync;
let lines = 0;
fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (typeof data === 'string' && data.startsWith('{"grid"') && ++lines === ${killAfter}) process.kill(process.pid, 'SIGKILL');
  return written;
};
syncBuiltinESMExports();
`);
    const out = fresh();
    const bin = join(packageRoot(), 'bin', 'mmsim.js');
    const child = spawn(process.execPath, ['--import', preload, bin, 'sweep', tiny, ...GRID, '-j', '1', '--out', out, '--quiet'], { stdio: 'ignore' });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(records(out).map((r) => r.index), [0, 1, 2], 'exactly the points finished before the kill, whole lines');
    const r = await sweep({ ...GRID_FLAGS, jobs: '2', out, resume: true, quiet: false });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /3 already in/);
    assert.equal(readFileSync(out, 'utf8'), referenceText);
  });
});

describe('one writer per output', () => {
  it('a sweep whose --out another live sweep holds is refused up front; a lock left by a killed one is taken over', async () => {
    const out = fresh();
    // a live process that holds the lock (as a running sweep would)
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(`${out}.lock`, `${holder.pid}\n`);
      const r = await cli(['sweep', tiny, ...GRID, '-j', '1', '--out', out, '--quiet']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`another sweep \\(pid ${holder.pid}\\) is writing it; wait for it to end, or stop it`));
      assert.equal(existsSync(out), false, 'nothing written');
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.on('exit', resolve));
    }
    // its process is gone now: the lock is stale, the next sweep takes it and releases it at the end
    const r = await cli(['sweep', tiny, ...GRID, '-j', '2', '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(`${out}.lock`), false);
    assert.equal(records(out).length, 8);
  });
});

describe('shards and merge', () => {
  const shardFiles: string[] = [];
  before(async () => {
    for (let k = 1; k <= 3; k++) {
      const out = fresh(`shard${k}`);
      const r = await cli(['sweep', tiny, ...GRID, '--shard', `${k}/3`, '-j', '1', '--out', out, '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      shardFiles.push(out);
    }
  });

  it('partitions the grid: point index % N == k - 1', () => {
    const indexes = shardFiles.map((f) => records(f).map((l) => l.index));
    assert.deepEqual(indexes, [[0, 3, 6], [1, 4, 7], [2, 5]]);
    const all = shardFiles.flatMap((f) => records(f)).sort((a, b) => a.index - b.index);
    assert.deepEqual(all, records(reference), 'a point gives the same line in a shard');
  });

  it('takes the shard index from JOB_COMPLETION_INDEX', async () => {
    const out = fresh();
    const r = await sweep({ ...GRID_FLAGS, out, quiet: false }, {}, { JOB_COMPLETION_INDEX: '1', MMSIM_SHARDS: '3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /shard 2\/3 \(JOB_COMPLETION_INDEX=1\): 3 points/);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(shardFiles[1]!, 'utf8'));
  });

  it('merges shards into the file an unsharded sweep writes', async () => {
    const out = fresh('merged');
    const r = await cli(['merge', out, shardFiles[2]!, shardFiles[0]!, shardFiles[1]!]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), referenceText);
    assert.equal(readFileSync(out.replace(/\.jsonl$/, '.summary.csv'), 'utf8'),
      readFileSync(reference.replace(/\.jsonl$/, '.summary.csv'), 'utf8'));
    assert.match(r.stdout, /8 of 8 points from 3 files/);
    const again = await cli(['merge', out, ...shardFiles]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; add --force/);
  });

  it('with missing points writes nothing, lists them by shard with their parameters, exit 1', async () => {
    const out = fresh('merged');
    const r = await cli(['merge', out, shardFiles[0]!, shardFiles[2]!, '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /3 of 8 points are in none of the parts; nothing is written to .*merged.*\.jsonl/);
    assert.match(r.stderr, /shard 2\/3 \(array index 1\): 3 of its 3 points missing: 1 \(vm\.swappiness=0 seed 2\), 4 \(vm\.swappiness=100 seed 1\), 7 \(vm\.swappiness=100 seed 4\)/);
    assert.match(r.stderr, /sbatch --array=1 sweep\.sbatch/);
    assert.ok(!existsSync(out), 'no incomplete merge written');
    assert.ok(!existsSync(out.replace(/\.jsonl$/, '.summary.csv')), 'no summary of part of the grid');
  });

  it('never replaces a complete merge with an incomplete one, even with --force', async () => {
    const out = fresh('merged');
    assert.equal((await cli(['merge', out, ...shardFiles, '--quiet'])).code, 0);
    const partial = fresh('partial');
    writeFileSync(partial, readFileSync(shardFiles[1]!, 'utf8').split('\n').slice(0, 1).join('\n') + '\n');
    const r = await cli(['merge', '--force', out, shardFiles[0]!, partial, shardFiles[2]!]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 of 8 points are in none of the parts; nothing is written to .* \(it is left as it was\)/);
    assert.match(r.stderr, /shard 2\/3 \(array index 1\): 2 of its 3 points missing: 4 \(vm\.swappiness=100 seed 1\), 7 \(vm\.swappiness=100 seed 4\)/);
    assert.equal(readFileSync(out, 'utf8'), referenceText, 'the complete merge is kept');
  });

  it('names the missing shards from --shards, and the parameters of a combination no part holds', async () => {
    // 2 × 3 combinations, one seed, 4 shards: shard 2 holds combinations 1 and 5, all its seeds.
    const grid = ['--param', 'vm.swappiness=0,100', '--param', 'vm.min_free_kbytes=0,1024,2048', '-j', '1', '--quiet'];
    const parts: string[] = [];
    for (const k of [1, 3, 4]) {
      const part = fresh(`s${k}`);
      const r = await cli(['sweep', tiny, ...grid, '--shard', `${k}/4`, '--out', part]);
      assert.equal(r.code, 0, r.stderr);
      parts.push(part);
    }
    const r = await cli(['merge', fresh('merged'), ...parts]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /2 of 6 points are in none of the parts/);
    assert.match(r.stderr, /shard 2\/4 \(array index 1\): 2 of its 2 points missing: 1 \(vm\.swappiness=0 vm\.min_free_kbytes=1024 seed 1\), 5 \(vm\.swappiness=100 vm\.min_free_kbytes=2048 seed 1\)/);
    assert.match(r.stderr, /sbatch --array=1 sweep\.sbatch/);
    const given = await cli(['merge', fresh('merged'), parts[0]!, '--shards', '6']);
    assert.equal(given.code, 1);
    assert.match(given.stderr, /shard 2\/6 \(array index 1\): 1 of its 1 points missing: 1 \(parameters in no part\)/);
    assert.match(given.stderr, /shard 4\/6 \(array index 3\): 1 of its 1 points missing: 3 \(parameters in no part\)/);
    assert.match(given.stderr, /sbatch --array=1,2,3,5 sweep\.sbatch/);
    const bad = await cli(['merge', fresh('merged'), parts[0]!, '--shards', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--shards="x" is not a shard count; it must be an integer ≥ 1, e.g\. 8/);
  });

  it('refuses mixed scenarios, different grids, duplicates and torn files', async () => {
    const otherScenario = fresh('other');
    const o = await cli(['sweep', other, ...GRID, '--shard', '2/3', '-j', '1', '--out', otherScenario, '--quiet']);
    assert.equal(o.code, 0, o.stderr);
    const otherSeeds = fresh('seeds');
    const s = await cli(['sweep', tiny, '--param', 'vm.swappiness=0,100', '--seed-list', '1,2,3,5', '--shard', '2/3', '-j', '1', '--out', otherSeeds, '--quiet']);
    assert.equal(s.code, 0, s.stderr);
    const copy = fresh('copy');
    copyFileSync(shardFiles[0]!, copy);
    const torn = fresh('torn');
    writeFileSync(torn, readFileSync(shardFiles[1]!, 'utf8').slice(0, -10));

    const cases: [string[], RegExp][] = [
      [[shardFiles[0]!, otherScenario], /mixed scenarios: .*:1 is from a sweep of "tiny", .*:1 of "other"/],
      [[shardFiles[0]!, otherSeeds], /different grids: .* come from sweeps with a different scenario text, --set, --param, seeds or mmsim build/],
      [[shardFiles[0]!, copy], /duplicate point 0 \(vm\.swappiness=0 seed 1\): in .*shard1.*:1 and .*copy.*:1/],
      [[shardFiles[0]!, torn], /the last line is incomplete/],
      [[shardFiles[0]!, shardFiles[0]!], /given twice/],
    ];
    for (const [parts, message] of cases) {
      const out = fresh('refused');
      const r = await cli(['merge', out, ...parts]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!existsSync(out), 'nothing written');
    }
  });
});

describe('sweep progress', () => {
  it('redraws one line at most 10 times a second on a terminal, plain lines every 10% otherwise', () => {
    let t = 0;
    let tty = '';
    const p = createSweepProgress({ sink: { isTTY: true, write: (x) => { tty += x; } }, enabled: true, label: 's:', total: 100, now: () => t });
    for (let i = 1; i <= 100; i++) { t += 10; p.update(i, 0); }
    p.finish();
    const draws = tty.split('\r\x1b[K').filter((x) => x !== '');
    assert.ok(draws.length >= 10 && draws.length <= 12, `${draws.length} draws over 1 s`);
    assert.match(draws.at(-1)!, /^s: 100\/100 points \(100%\), 100 points\/s, ETA 0s$/);
    assert.ok(tty.endsWith('\r\x1b[K'), 'the line is erased at the end');

    t = 0;
    let plain = '';
    const q = createSweepProgress({ sink: { isTTY: false, write: (x) => { plain += x; } }, enabled: true, label: 's:', total: 40, now: () => t });
    for (let i = 1; i <= 40; i++) { t += 100; q.update(i, i > 30 ? 1 : 0); }
    const lines = plain.trim().split('\n');
    assert.equal(lines.length, 10);
    assert.equal(lines[0], 's: 4/40 points (10%), 10 points/s, ETA 4s');
    assert.equal(lines[9], 's: 40/40 points (100%), 1 failed, 10 points/s, ETA 0s');

    let quiet = '';
    const r = createSweepProgress({ sink: { isTTY: true, write: (x) => { quiet += x; } }, enabled: false, label: 's:', total: 5 });
    r.update(5, 0);
    r.finish();
    assert.equal(quiet, '');
  });
});
