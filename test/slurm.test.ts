/**
 * The README's Slurm recipe on a real Slurm: scripts/slurm/sweep.sbatch as a 4-task job array
 * and scripts/slurm/merge.sbatch as the dependent job must give the bytes of an unsharded sweep;
 * a task cancelled mid-run must leave a merge that refuses to write, and resubmitting that one
 * index must resume it and merge to the same bytes again.
 *
 * Runs only against a Slurm made for it: .ci/run starts a one-node Slurm on 127.0.0.1
 * (scripts/ci/slurm-up.sh) and exports SLURM_CONF and MMSIM_TEST_SLURM=1. Without those the test
 * is reported skipped with the reason (never submitted to whatever cluster sinfo reaches).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { packageRoot } from '../src/util/package.js';
import { tinySweepYaml } from './helpers.js';

const root = packageRoot();
const MMSIM = join(root, 'bin', 'mmsim.js');
const SWEEP = join(root, 'scripts', 'slurm', 'sweep.sbatch');
const MERGE = join(root, 'scripts', 'slurm', 'merge.sbatch');

/** Why the test cannot run here, or undefined when a Slurm made for it answers. */
function unavailable(): string | undefined {
  if (process.env.MMSIM_TEST_SLURM !== '1') {
    return 'no Slurm for this test: .ci/run starts one (scripts/ci/slurm-up.sh DIR, then source DIR/env sets MMSIM_TEST_SLURM=1 and SLURM_CONF)';
  }
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return `MMSIM_TEST_SLURM=1 but sinfo fails: ${r.error?.message ?? r.stderr.trim()}`;
  return undefined;
}

/** ~0.3 s of wall per point: long enough to cancel a task mid-run, short enough for CI. */
const TINY = tinySweepYaml('1s');
/** 2 combinations × 6 seeds = 12 points, 3 per shard. */
const GRID = ['tiny.yaml', '--param', 'vm.swappiness=0,100', '--seeds', '6'];
const SHARDS = 4;
/** What this one-node Slurm can give (the script asks 4 CPUs and 8G, as for a real cluster). */
const FIT = ['--cpus-per-task=1', '--mem=256M', '--time=00:05:00'];
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'DEADLINE', 'BOOT_FAIL']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`}`);
  return r.stdout.trim();
}

/** JobState of each job (or array task) of `id`, keyed by JobId or ArrayJobId_TaskId. */
function states(id: string, cwd: string): Map<string, { state: string; exit: string }> {
  const out = new Map<string, { state: string; exit: string }>();
  const text = run('scontrol', ['show', 'job', '-o', id], cwd);
  for (const line of text.split('\n')) {
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S+)`).exec(line)?.[1];
    const task = field('ArrayTaskId');
    const key = task !== undefined ? `${field('ArrayJobId')}_${task}` : field('JobId')!;
    out.set(key, { state: field('JobState') ?? '?', exit: field('ExitCode') ?? '?' });
  }
  return out;
}

async function waitFor(ids: string[], cwd: string, deadline: number): Promise<Map<string, { state: string; exit: string }>> {
  for (;;) {
    const all = new Map<string, { state: string; exit: string }>();
    for (const id of ids) for (const [k, v] of states(id, cwd)) all.set(k, v);
    if ([...all.values()].every((s) => FINAL.has(s.state))) return all;
    if (Date.now() > deadline) throw new Error(`jobs ${ids.join(', ')} not done in time: ${JSON.stringify([...all])}`);
    await sleep(250);
  }
}

it('sweep.sbatch as a 4-task array and the dependent merge.sbatch give an unsharded sweep\'s bytes; a task killed mid-run and resubmitted merges the same', { timeout: 170_000 }, async (t) => {
  const reason = unavailable();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const started = Date.now();
  const deadline = started + 150_000;
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-slurm-'));
  const submitted: string[] = [];
  try {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    // The README's submission, with the resources this node has.
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'results'));
    const env = { ...process.env, MMSIM, MMSIM_SHARDS: String(SHARDS) };
    const sbatch = (args: string[]): string => {
      const id = run('sbatch', ['--parsable', ...args], dir, env).split(';')[0]!;
      submitted.push(id);
      return id;
    };

    const reference = new Promise<number>((resolve, reject) => {
      const p = spawn(process.execPath, [MMSIM, 'sweep', ...GRID, '-j', '2', '--quiet', '--out', 'reference.jsonl'], { cwd: dir, stdio: 'ignore' });
      p.on('error', reject).on('exit', (code) => resolve(code ?? -1));
    });
    const array = sbatch([`--array=0-${SHARDS - 1}`, ...FIT, SWEEP, ...GRID]);
    const merge = sbatch([`--dependency=afterany:${array}`, '--mem=256M', MERGE]);
    assert.equal(await reference, 0, 'the unsharded sweep');
    const first = await waitFor([array, merge], dir, deadline);
    for (const [id, s] of first) assert.equal(s.state, 'COMPLETED', `${id}: ${s.state} exit ${s.exit}`);
    const referenceText = readFileSync(join(dir, 'reference.jsonl'), 'utf8');
    const merged = join(dir, 'results', 'sweep.jsonl');
    assert.equal(readFileSync(merged, 'utf8'), referenceText, 'the merged shards are the unsharded sweep, byte for byte');
    assert.equal(readFileSync(join(dir, 'results', 'sweep.summary.csv'), 'utf8'), readFileSync(join(dir, 'reference.summary.csv'), 'utf8'));
    assert.equal(referenceText.split('\n').length - 1, 12);
    t.diagnostic(`array and merge done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Shard 4 (array index 3) run again from nothing, and killed mid-run as a lost node or an
    // OOM kill would: its sweep is SIGKILLed right after it wrote its first point (a preloaded
    // wrapper around fs.writeSync), so the cut is the same on every run, not a race with scancel.
    const shard = join(dir, 'results', `sweep.shard-${SHARDS - 1}.jsonl`);
    rmSync(shard);
    const preload = join(dir, 'kill-after-first-point.mjs');
    writeFileSync(preload, `import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const writeSync = fs.writeSync;
fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (typeof data === 'string' && data.startsWith('{"grid"')) process.kill(process.pid, 'SIGKILL');
  return written;
};
syncBuiltinESMExports();
`);
    const again = run('sbatch', ['--parsable', `--array=${SHARDS - 1}`, ...FIT, SWEEP, ...GRID], dir,
      { ...env, NODE_OPTIONS: `--import=${preload}` }).split(';')[0]!;
    submitted.push(again);
    const killed = (await waitFor([again], dir, deadline)).get(`${again}_${SHARDS - 1}`)!;
    assert.notEqual(killed.state, 'COMPLETED', `the killed task: ${killed.state} exit ${killed.exit}`);
    const kept = existsSync(shard) ? readFileSync(shard, 'utf8').split('\n').length - 1 : 0;
    assert.equal(kept, 1, `the killed task recorded ${kept} of its 3 points`);

    const refused = sbatch(['--mem=256M', MERGE]);
    const r = (await waitFor([refused], dir, deadline)).get(refused)!;
    assert.equal(r.state, 'FAILED');
    assert.equal(r.exit, '1:0');
    const log = readFileSync(join(dir, 'logs', `mmsim-merge-${refused}.out`), 'utf8');
    assert.match(log, new RegExp(`${3 - kept} of 12 points are in none of the parts; nothing is written to results/sweep\\.jsonl \\(it is left as it was\\)`));
    assert.match(log, new RegExp(`shard 4/4 \\(array index 3\\): ${3 - kept} of its 3 points missing: `));
    assert.equal(readFileSync(merged, 'utf8'), referenceText, 'the complete merge is not replaced');

    const resumed = sbatch([`--array=${SHARDS - 1}`, ...FIT, SWEEP, ...GRID]);
    const remerge = sbatch([`--dependency=afterany:${resumed}`, '--mem=256M', MERGE]);
    const last = await waitFor([resumed, remerge], dir, deadline);
    for (const [id, s] of last) assert.equal(s.state, 'COMPLETED', `${id}: ${s.state} exit ${s.exit}`);
    assert.equal(readFileSync(merged, 'utf8'), referenceText, 'merged again after the resubmission: the same bytes');
    const logs = readdirSync(join(dir, 'logs'));
    assert.ok(logs.includes(`mmsim-sweep-${resumed}_${SHARDS - 1}.out`), `logs/ holds ${logs.join(', ')}`);
    t.diagnostic(`Slurm test wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    for (const id of submitted) spawnSync('scancel', [id], { timeout: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  }
});
