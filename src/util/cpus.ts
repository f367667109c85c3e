/**
 * The default of `-j`: the CPUs this process was given, not the host's. Inside a Slurm job that
 * is SLURM_CPUS_PER_TASK (a task asked for 4 CPUs on a 64-core node must not start 64 threads);
 * in a container with a CPU limit it is the cgroup v2 quota (cpu.max: "400000 100000" is 4
 * CPUs); otherwise the cores Node may run on (availableParallelism, which follows affinity).
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface CpuBudget {
  cpus: number;
  /** Where the figure came from, for the sweep's first line: "SLURM_CPUS_PER_TASK=4", "cgroup CPU quota". */
  source: string;
}

const CPU_MAX = '/sys/fs/cgroup/cpu.max';

function readCpuMax(): string | undefined {
  try {
    return readFileSync(CPU_MAX, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPUs of a cgroup v2 `cpu.max` ("QUOTA PERIOD", or "max PERIOD" for no limit), rounded up. */
export function cpusOfCpuMax(text: string | undefined): number | undefined {
  const m = /^(\d+|max)\s+(\d+)\s*$/.exec(text ?? '');
  if (!m || m[1] === 'max' || Number(m[2]) === 0) return undefined;
  return Math.max(1, Math.ceil(Number(m[1]) / Number(m[2])));
}

export function defaultCpus(env: NodeJS.ProcessEnv = process.env, cpuMax: () => string | undefined = readCpuMax): CpuBudget {
  const cores = availableParallelism();
  const slurm = env.SLURM_CPUS_PER_TASK;
  if (slurm !== undefined && /^\d+$/.test(slurm) && Number(slurm) >= 1) {
    return { cpus: Number(slurm), source: `SLURM_CPUS_PER_TASK=${slurm}` };
  }
  const quota = cpusOfCpuMax(cpuMax());
  if (quota !== undefined && quota < cores) return { cpus: quota, source: `cgroup CPU quota ${CPU_MAX}` };
  return { cpus: cores, source: 'CPUs' };
}
