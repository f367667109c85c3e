/**
 * The `sweep`, `merge` and `compare` commands, registered on the CLI's commander program by cli.ts.
 * Errors the user can fix are thrown as UsageError/ScenarioError (exit 2 in cli.ts main()).
 * The implementations (piscina, the engine) are loaded only when one of them runs.
 */
import { Option, type Command } from 'commander';
import type { CompareFlags } from './compare.js';
import type { SweepFlags, SweepIo } from './sweep.js';

function collect(list: string[]) {
  return (value: string): string[] => {
    list.push(value);
    return list;
  };
}

export function addSweepCommands(program: Command, io: SweepIo, setStatus: (code: number) => void): void {
  const params: string[] = [];
  const sets: string[] = [];
  program.command('sweep')
    .description('run a scenario over a grid of parameters and seeds on worker threads; one JSONL line per point')
    .argument('<scenario>', 'built-in name or path')
    .option('--param <field=values>', 'a swept field: a list a,b,c or a range lo..hi:step (units allowed), repeatable', collect(params))
    .option('--seeds <n>', 'run seeds 1..n for every parameter combination (default 1)')
    .option('--seed-list <list>', 'run these seeds instead, e.g. 3,7,11')
    .option('-j, --jobs <n>', 'worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job, else the cgroup CPU quota, else the available cores)')
    .option('--out <file>', 'the JSONL output (default out/<scenario>.sweep.jsonl); the summary goes to <file>.summary.csv')
    .option('--resume', 'finish the sweep in --out: keep its points, run the others')
    .option('--retry-failed', 'with --resume: run again the points recorded as failed')
    .option('--force', 'start over, replacing an existing --out')
    .option('--shard <k/N>', 'run shard k of N only (k from 1): the grid points whose index % N is k-1')
    .option('--shards <n>', 'the number of shards when the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID')
    .option('--set <field=value>', 'change a scenario field for every point, repeatable', collect(sets))
    .option('--ignore-host-memory', 'start even when -j points at once look too big for the host\'s available memory or address-space limit (ulimit -v)')
    .option('--quiet', 'no progress and no table (failures still go to stderr)')
    .addHelpText('after', `
Every point is validated first; a point with invalid parameters or a trap in the core is
recorded with status "error" and the others run. Lines are appended as points finish and
the file is rewritten in grid order at the end: the same bytes for any -j.
Exit status: 0 every point ok, 1 some points failed, 2 bad input, 130 interrupted.

Examples:
  mmsim sweep default --param vm.swappiness=0..200:50 --seeds 8 -j 4
  mmsim sweep my.yaml --param vm.min_free_kbytes=0,65536 --param machine.memory=1GiB..4GiB:1GiB
  mmsim sweep my.yaml --param vm.swappiness=0,100 --seeds 8 --out out/s.jsonl --resume
  mmsim sweep my.yaml --param vm.swappiness=0,100 --seeds 8 --shard 2/4 --out out/s.2.jsonl`)
    .action(async (scenario: string, flags: Omit<SweepFlags, 'params' | 'sets'>) => {
      const { runSweep } = await import('./sweep.js');
      setStatus(await runSweep(scenario, { ...flags, params, sets }, io));
    });

  const axes: string[] = [];
  const compareSets: string[] = [];
  const compareFigures: string[] = [];
  program.command('compare')
    .description('run every combination of the axes\' values (a column each) × seeds on worker threads and print one table of detectors and key figures')
    .argument('<scenario>', 'built-in name or path')
    .option('--axis <field=values>', 'a compared field: a list a,b,c or a range lo..hi:step (units allowed), as sweep\'s --param; repeatable, the columns are every combination', collect(axes))
    .option('--seeds <n>', 'run seeds 1..n in every column (default 1)')
    .option('--seed-list <list>', 'run these seeds instead, e.g. 3,7,11')
    .option('-j, --jobs <n>', 'worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job, else the cgroup CPU quota, else the available cores); the output does not depend on it')
    .addOption(new Option('--format <format>', 'what to print: the table, or a JSON object with every figure and seed').choices(['text', 'json']).default('text'))
    .option('--out <file.csv|dir>', 'also write the CSV (one line per figure × column) to this .csv file, or to <dir>/<scenario>.compare.csv')
    .option('--set <field=value>', 'change a scenario field in every column, repeatable', collect(compareSets))
    .option('--figure <counters>', 'also show these counters as rows (a comma list, repeatable), e.g. mmsim_kvm_fault_retries,pswpin', collect(compareFigures))
    .option('--ignore-host-memory', 'start even when -j points at once look too big for the host\'s available memory or address-space limit (ulimit -v)')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `
Rows: every detector counter (hits listed under detectors in results.json) and the key figures
of the OOM killer, the reaper and reclaim, each as mean ± 95% confidence interval across the
seeds; a row that is 0 in every column is left out, one whose columns differ is marked *.
Every axis value and every combination is validated before anything runs (exit 2 if one is
refused). Exit status: 0 every point ran, 1 some points failed (listed on stderr), 2 bad input.

Examples:
  mmsim compare notifier-pairing --axis notifiers.policy=2018,ban-multiple,sorted-2020,mainline --seeds 2
  mmsim compare oom-reaper-notifiers --axis notifiers.reaper=skip-mm,trylock,trylock-blocking-end
  mmsim compare oom-reaper-notifiers --axis notifiers.reaper=trylock,always-eagain --axis processes.victim.subscribers.mirror.busy=0,0.5,1
  mmsim compare default --axis vm.swappiness=0..200:100 --seeds 4 --format json
  mmsim compare notifier-pairing --axis notifiers.policy=2018,mainline --seeds 8 --out out/pairing.csv
  mmsim compare my.yaml --axis processes.vm.subscribers.kvm.rangeCheck=true,false --figure mmsim_kvm_fault_retries`)
    .action(async (scenario: string, flags: Omit<CompareFlags, 'axes' | 'sets'>) => {
      const { runCompare } = await import('./compare.js');
      setStatus(await runCompare(scenario, { ...flags, axes, sets: compareSets, figures: compareFigures }, io));
    });

  program.command('merge')
    .description('join the JSONL files of a sweep\'s shards into one, in grid order, with its summary')
    .argument('<out>', 'the merged JSONL file')
    .argument('<parts...>', 'the shard files')
    .option('--force', 'replace an existing output (only ever by a complete merge)')
    .option('--shards <n>', 'the number of shards, to name those with missing points (default MMSIM_SHARDS, else inferred from the parts)')
    .option('--quiet', 'no summary table')
    .addHelpText('after', `
Refuses (exit 2) parts of different scenarios or grids, and points present in two parts.
With points in none of the parts nothing is written (an existing output is left as it was):
the shards holding them are listed with the points' parameters, and the exit status is 1.
Exit status 1 also when points failed (they are merged and listed).

Example:
  mmsim merge out/sweep.jsonl out/sweep.shard-*.jsonl`)
    .action(async (out: string, parts: string[], flags: { force?: boolean; quiet?: boolean; shards?: string }) => {
      const { runMerge } = await import('./merge.js');
      setStatus(await runMerge(out, parts, flags, io));
    });
}
