/**
 * The `mmsim` command line: run a scenario, list the built-ins, validate or explain a scenario
 * file. Exit status: 0 success, 1 the simulation reported an error (outputs still written),
 * 2 bad input (message on stderr, nothing written).
 */
import { Command, CommanderError, Option } from 'commander';
import { defaultCpus } from './util/cpus.js';
import { join } from 'node:path';
import { HOST_HUGE_PAGES_ENV, HOST_HUGE_PAGES_MODES, isHostHugePagesMode, type HostHugePagesMode } from './engine/host-pages.js';
import { addPlanCommand } from './plan/commands.js';
import { addSweepCommands } from './parallel/commands.js';
import type { RunResult } from './report/result.js';
import { formatResultsJson } from './report/results-json.js';
import { formatSummary } from './report/summary.js';
import { RUN_OUT_CHECK, writeRunOutputs } from './report/write.js';
import { listBuiltins } from './scenario/builtins.js';
import { listFields, type FieldDoc } from './scenario/introspect.js';
import { loadScenario, type OverrideSpec } from './scenario/load.js';
import type { Scenario } from './scenario/types.js';
import { formatDuration, formatSize } from './scenario/units.js';
import { machineWatermarks } from './scenario/watermarks.js';
import { ScenarioError, UsageError } from './util/errors.js';
import { formatCount } from './util/format.js';
import { checkOutputLocation } from './util/out-path.js';
import { packageVersion } from './util/package.js';
import { createProgress } from './util/progress.js';

export interface RunOptions {
  seed?: number;
  onProgress?: (simulatedNs: number, totalNs: number) => void;
  /** Worker threads for a machine of several NUMA nodes (default: the available cores). */
  jobs?: number;
}

/** The engine's entry point (src/engine/engine.ts). */
export type RunScenario = (scenario: Scenario, options: RunOptions) => RunResult | Promise<RunResult>;

/** Where the CLI writes and how it reaches the engine; tests replace parts of it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stderrIsTTY: boolean;
  loadEngine: () => Promise<RunScenario>;
}

export const EXIT_OK = 0;
export const EXIT_RUN_ERROR = 1;
export const EXIT_BAD_INPUT = 2;

/**
 * A writer to stdout or stderr for which a closed pipe (`mmsim scenarios | head -1`) is the
 * normal end of output: EPIPE stops the writing and nothing else. Node ignores SIGPIPE, so the
 * error arrives as an 'error' event, which unhandled would crash with a stack trace; and a
 * command still working (a sweep whose `2>&1 | head` has gone) goes on to the end, writing its
 * files, with the same exit status. Any other error on the stream is left to crash loudly.
 */
function pipeSafeWriter(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  return (text) => {
    if (!closed) stream.write(text);
  };
}

let processWriters: { stdout: (text: string) => void; stderr: (text: string) => void } | undefined;

function processIo(): CliIo {
  processWriters ??= { stdout: pipeSafeWriter(process.stdout), stderr: pipeSafeWriter(process.stderr) };
  return {
    ...processWriters,
    stderrIsTTY: process.stderr.isTTY === true,
    // Loaded only for `run`, so that validation and bad input never compile the WASM core.
    loadEngine: async () => (await import('./run-command.js')).runEngine,
  };
}

/** Runs the CLI on `argv` (as process.argv: node, script, args…) and returns the exit status. */
export async function main(argv: readonly string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...processIo(), ...ioOverrides };
  let status = EXIT_OK;
  const program = buildProgram(io, (code) => { status = code; });
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; anything else is a usage error.
      return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (error instanceof ScenarioError || error instanceof UsageError) {
      io.stderr(`mmsim: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
}

/** Collects repeatable FIELD=VALUE options, keeping command-line order across --set and --policy. */
function collectInto(list: OverrideSpec[], flag: string) {
  return (value: string): OverrideSpec[] => {
    list.push(flag === '--set' ? value : { set: value, label: `${flag} ${value}` });
    return list;
  };
}

function buildProgram(io: CliIo, setStatus: (code: number) => void): Command {
  const program = new Command('mmsim')
    .description('Simulate the Linux kernel\'s memory management: frames, page tables, LRU, reclaim, swap, writeback')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `
Examples:
  mmsim run                                   run the default scenario, outputs in out/default/
  mmsim run bench-reference --quiet           run a built-in scenario by name
  mmsim run my.yaml --set vm.swappiness=100   run a file with a sysctl changed
  mmsim validate my.yaml                      check a scenario file
  mmsim validate --explain                    list every scenario field with its default
  mmsim sweep default --param vm.swappiness=0..200:50 --seeds 8   a parameter sweep on all cores
  mmsim compare notifier-pairing --axis notifiers.policy=2018,mainline --seeds 4   policies side by side
  mmsim plan dirty storage-server --ratio 5..40:5   recommend vm.dirty_* settings

Host huge pages: a large scenario's core memory is backed by the host's transparent huge pages
(madvise), which only changes speed. --host-huge-pages off (or MMSIM_HOST_HUGE_PAGES=off) turns
it off, on asks for it on every instance, auto (the default) on instances of 256 MiB or more.`)
    .addOption(new Option('--host-huge-pages <mode>', 'back the core\'s memory with host huge pages: auto, on or off (default: MMSIM_HOST_HUGE_PAGES, else auto)').choices([...HOST_HUGE_PAGES_MODES]))
    .hook('preAction', () => applyHostHugePages(program.opts<{ hostHugePages?: HostHugePagesMode }>().hostHugePages));

  addRunCommand(program, io, setStatus);
  addScenariosCommand(program, io);
  addValidateCommand(program, io);
  addSweepCommands(program, io, setStatus);
  addPlanCommand(program, io, setStatus);
  return program;
}

/** The mode goes into the environment, where worker threads and child processes find it too. */
function applyHostHugePages(flag: HostHugePagesMode | undefined): void {
  if (flag !== undefined) process.env[HOST_HUGE_PAGES_ENV] = flag;
  const value = process.env[HOST_HUGE_PAGES_ENV];
  if (value !== undefined && !isHostHugePagesMode(value)) {
    throw new UsageError(`${HOST_HUGE_PAGES_ENV}: ${JSON.stringify(value)} is not one of ${HOST_HUGE_PAGES_MODES.join(', ')}; e.g. ${HOST_HUGE_PAGES_ENV}=off`);
  }
}

interface RunFlags {
  seed?: string;
  out?: string;
  duration?: string;
  format: 'text' | 'json';
  quiet?: boolean;
  jobs?: string;
  check?: boolean;
  ignoreHostMemory?: boolean;
}

function addRunCommand(program: Command, io: CliIo, setStatus: (code: number) => void): void {
  const overrides: OverrideSpec[] = [];
  program.command('run')
    .description('run a scenario (a built-in name or a .yaml/.json file) and write its outputs')
    .argument('[scenario]', 'built-in name or path', 'default')
    .option('--seed <n>', 'seed for every random choice (default: the scenario\'s seed)')
    .option('--out <dir>', 'output directory (default: out/<scenario name>)')
    .option('--duration <time>', 'simulated time to run, e.g. 30s (default: the scenario\'s duration)')
    .addOption(new Option('--format <format>', 'what to print: a summary or the results JSON').choices(['text', 'json']).default('text'))
    .option('--set <field=value>', 'change a scenario field, repeatable (e.g. vm.swappiness=100)', collectInto(overrides, '--set'))
    .option('--policy <field=value>', 'same as --set, for policy fields', collectInto(overrides, '--policy'))
    .option('--quiet', 'no progress line and no summary (errors still go to stderr)')
    .option('-j, --jobs <n>', 'worker threads for a machine of several NUMA nodes (default: SLURM_CPUS_PER_TASK in a Slurm job, else the cgroup CPU quota, else the available cores); results do not depend on it')
    .option('--ignore-host-memory', 'start even when the host\'s available memory or address-space limit (ulimit -v) looks too small for the run')
    .option('--check', 'checking mode (the scenario field check: true): assert that simulated time never goes backwards and check the invariants at every sample; hits are detectors, the exit status stays 0')
    .addHelpText('after', `
Outputs (written together, or not at all): vmstat.txt, results.json, series.csv.
One rule for the default out/<scenario> and an explicit --out: an existing directory is
replaced only when it is empty or holds nothing but these three files (an earlier run's
outputs); anything else in it, a file in its place or a location that cannot be written is
refused before the run starts (exit 2).

Examples:
  mmsim run default --duration 30s --set vm.swappiness=100
  mmsim run ./my.yaml --seed 7 --out out/seed7 --format json`)
    .action(async (name: string, flags: RunFlags) => {
      setStatus(await runCommand(name, flags, overrides, io));
    });
}

async function runCommand(name: string, flags: RunFlags, sets: OverrideSpec[], io: CliIo): Promise<number> {
  // Explicit options win over --set, so they are applied last.
  const overrides = [...sets];
  if (flags.seed !== undefined) overrides.push({ set: `seed=${flags.seed}`, label: `--seed ${flags.seed}` });
  if (flags.duration !== undefined) overrides.push({ set: `duration=${flags.duration}`, label: `--duration ${flags.duration}` });
  if (flags.check) overrides.push({ set: 'check=true', label: '--check' });
  const scenario = loadScenario(name, overrides);
  const outDir = flags.out ?? join('out', scenario.name);
  // Before the engine is even loaded: a location that cannot take the outputs is bad input.
  checkOutputLocation(outDir, RUN_OUT_CHECK);
  const jobs = flags.jobs === undefined ? undefined : Number(flags.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) {
    throw new UsageError(`-j: ${JSON.stringify(flags.jobs)} is not a positive whole number; e.g. 2`);
  }
  if (!flags.ignoreHostMemory) {
    const { checkHostMemory, runDemand } = await import('./engine/host-memory.js');
    const refusal = checkHostMemory(runDemand(scenario, jobs ?? defaultCpus().cpus));
    if (refusal) throw new UsageError(refusal);
  }

  const runScenario = await io.loadEngine();
  const progress = createProgress({
    sink: { isTTY: io.stderrIsTTY, write: io.stderr },
    enabled: !flags.quiet,
    label: `mmsim run ${scenario.name}:`,
  });
  let result: RunResult;
  try {
    result = await runScenario(scenario, { seed: scenario.seed, onProgress: progress.update, ...(jobs !== undefined ? { jobs } : {}) });
  } finally {
    progress.finish();
  }
  try {
    await writeRunOutputs(outDir, result);
  } catch (error) {
    // Nothing was left half-written; say why, without a stack trace, and fail the run.
    io.stderr(`mmsim: cannot write the outputs to ${outDir}: ${(error as Error).message}\n`);
    return EXIT_RUN_ERROR;
  }

  if (flags.format === 'json') io.stdout(formatResultsJson(result));
  else if (!flags.quiet) io.stdout(formatSummary(result, { outDir }));
  if (result.status !== 'ok' && flags.quiet) io.stderr(`mmsim: simulation error: ${result.error?.message ?? 'unknown'}\n`);
  return result.status === 'ok' ? EXIT_OK : EXIT_RUN_ERROR;
}

function addScenariosCommand(program: Command, io: CliIo): void {
  program.command('scenarios')
    .description('list the built-in scenarios')
    .addHelpText('after', '\nExample:\n  mmsim scenarios')
    .action(() => {
      const builtins = listBuiltins();
      const width = Math.max(...builtins.map((b) => b.name.length));
      for (const b of builtins) io.stdout(`${b.name.padEnd(width)}  ${b.description}\n`);
    });
}

function addValidateCommand(program: Command, io: CliIo): void {
  const overrides: OverrideSpec[] = [];
  program.command('validate')
    .description('check a scenario and print a one-line summary of its machine')
    .argument('[file]', 'scenario file or built-in name (optional with --explain)')
    .option('--set <field=value>', 'change a scenario field before checking, repeatable', collectInto(overrides, '--set'))
    .option('--explain', 'list every scenario field with its type, default and description')
    .addHelpText('after', `
Examples:
  mmsim validate my.yaml
  mmsim validate default --set machine.memory=4GiB
  mmsim validate --explain`)
    .action((file: string | undefined, flags: { explain?: boolean }) => {
      if (flags.explain) io.stdout(formatFieldReference(listFields()));
      if (file === undefined) {
        if (!flags.explain) throw new UsageError('validate needs a scenario file, e.g. mmsim validate my.yaml (or --explain)');
        return;
      }
      io.stdout(`OK ${describeScenario(loadScenario(file, overrides))}\n`);
    });
}

/** One line: name, machine size and watermarks (in pages, as `run` prints them), swap, files, processes, duration. */
export function describeScenario(s: Scenario): string {
  const pages = s.machine.memory / 4096;
  // the figure `run` prints: every zone of every node summed (not one zone holding all memory)
  const wm = machineWatermarks(s.machine.memory, s.machine.nodes, s.vm);
  const swap = s.swap.size > 0 ? `${formatSize(s.swap.size)} swap on ${s.swap.device}` : 'no swap';
  const files = Object.keys(s.files).length;
  const procs = Object.keys(s.processes).length;
  return `${s.name}: ${formatSize(s.machine.memory)} RAM (${formatCount(pages)} pages; watermarks summed over zones: min ` +
    `${formatCount(wm.min)} low ${formatCount(wm.low)} high ${formatCount(wm.high)} pages), ${swap}, ` +
    `${files} file${files === 1 ? '' : 's'}, ${procs} process${procs === 1 ? '' : 'es'}, ` +
    `${formatDuration(s.duration)} simulated, seed ${s.seed}`;
}

/** The --explain reference: a heading per section, then per field its type and default, then its description. */
export function formatFieldReference(fields: readonly FieldDoc[]): string {
  const lines: string[] = [];
  let heading = '';
  for (const field of fields) {
    const parent = field.path.split('.').slice(0, -1).join('.');
    const section = field.context.at(-1);
    const next = parent && section ? `${parent}: ${section}` : 'top level';
    if (next !== heading) {
      lines.push(`${lines.length > 0 ? '\n' : ''}${next}`);
      heading = next;
    }
    const defaultText = field.defaultText === undefined ? 'required' : `default ${field.defaultText}`;
    lines.push(`  ${field.path}  (${field.kind}; ${defaultText})`, `      ${field.description}`);
  }
  return `${lines.join('\n')}\n`;
}
