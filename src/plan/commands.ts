/**
 * The `plan` command and its `dirty` subcommand, registered on the CLI's commander program by
 * cli.ts. The implementation (piscina, the engine, vega) is loaded only when the command runs,
 * so that other commands start without it.
 */
import { Option, type Command } from 'commander';
import type { PlanFlags } from './dirty.js';

export interface PlanIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stderrIsTTY: boolean;
}

export interface PlanCommandFlags extends PlanFlags {
  seeds?: string; out?: string; format?: string; duration?: string; quiet?: boolean; jobs?: string; ignoreHostMemory?: boolean;
}

export function addPlanCommand(program: Command, io: PlanIo, setStatus: (code: number) => void): void {
  const sets: string[] = [];
  const plan = program.command('plan').description('capacity planning');
  plan.command('dirty')
    .description('sweep vm.dirty_* settings for a scenario and recommend one that meets throttling and data-at-risk objectives')
    .argument('[scenario]', 'built-in name or path', 'storage-server')
    .option('--ratio <list>', 'vm.dirty_ratio values in percent, a list or lo..hi:step (default: 5,10,20,30,40 unless --bytes is given)')
    .option('--background <list>', 'vm.dirty_background_ratio values (default: half of each ratio)')
    .option('--bytes <list>', 'vm.dirty_bytes values instead of ratios, e.g. 256MiB,1GiB')
    .option('--background-bytes <list>', 'vm.dirty_background_bytes values (default: half of each dirty_bytes)')
    .option('--expire <list>', 'vm.dirty_expire_centisecs values (default: the scenario\'s)')
    .option('--max-pause <time>', 'objective: writers\' p99 balance_dirty_pages pause at most this', '10ms')
    .option('--max-risk <time>', 'objective: peak dirty + writeback at most this many seconds of the devices\' write bandwidth', '5s')
    .option('--min-cache <ratio>', 'objective: page-cache hit ratio at least this (0.9 or 90%)')
    .option('--seeds <n>', 'runs per setting with seeds 1..n', '1')
    .option('-j, --jobs <n>', 'worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job, else the cgroup CPU quota, else the available cores)')
    .option('--duration <time>', 'simulated time per run (default: the scenario\'s)')
    .option('--set <field=value>', 'change a scenario field for every run, repeatable', (v: string) => { sets.push(v); return sets; })
    .option('--out <dir>', 'output directory (default: out/plan-<scenario>); an existing one is replaced only when empty or holding only an earlier plan\'s files')
    .addOption(new Option('--format <format>', 'what to print on stdout: the table or plan.json').choices(['text', 'json']).default('text'))
    .option('--ignore-host-memory', 'start even when -j runs at once look too big for the host\'s available memory or address-space limit (ulimit -v)')
    .option('--quiet', 'no progress and no table')
    .addHelpText('after', `
Examples:
  mmsim plan dirty                                     the storage-server example, ratios 5..40%
  mmsim plan dirty laptop --ratio 5..40:5 --max-pause 20ms --max-risk 10s
  mmsim plan dirty storage-server --bytes 256MiB,1GiB,4GiB --expire 1500,3000
  mmsim plan dirty my.yaml --min-cache 95% --seeds 3 --out out/my-plan`)
    .action(async (name: string, flags: PlanCommandFlags) => {
      const { planDirty } = await import('./command.js');
      setStatus(await planDirty(name, flags, sets, io));
    });
}

