/**
 * The Kubernetes manifests cannot run here: they are checked against a kept JSON schema of
 * batch/v1 Job (scripts/k8s/job.schema.json, validated through zod), and their commands
 * against the Slurm scripts', so both recipes run the same sweep and the same merge.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { z } from 'zod';
import { packageRoot } from '../src/util/package.js';

const read = (path: string): string => readFileSync(join(packageRoot(), path), 'utf8');
const jobSchema = z.fromJSONSchema(JSON.parse(read('scripts/k8s/job.schema.json')) as Parameters<typeof z.fromJSONSchema>[0]);

interface Container { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] }
interface Job { spec: { completions?: number; template: { spec: { containers: Container[] } } } }
const manifest = (name: string): Job => YAML.parse(read(`scripts/k8s/${name}`)) as Job;
const shell = (c: Container): string => [...(c.command ?? []), ...(c.args ?? [])].slice(2).join('\n');

/** The words of a shell line, with `\` line continuations joined and quotes dropped. */
const words = (text: string): string[] => text.replace(/\\\n/g, ' ').replace(/"/g, '').trim().split(/\s+/);

/** The mmsim command of a script: the words from `node $MMSIM` to the end of that line. */
function mmsimCommand(text: string): string[] {
  const line = text.replace(/\\\n/g, ' ').split('\n').find((l) => /node "\$MMSIM" /.test(l));
  assert.ok(line, `no node "$MMSIM" line in ${text}`);
  return words(line.slice(line.indexOf('node')));
}

/** Output paths compared without their directory and with the shard index variable named alike. */
const normal = (ws: string[]): string[] => ws.map((w) => w.replace(/^\/?results\//, '').replace(/\$(SLURM_ARRAY_TASK_ID|JOB_COMPLETION_INDEX)/, '$INDEX'));

describe('Kubernetes manifests', () => {
  for (const name of ['sweep-job.yaml', 'merge-job.yaml']) {
    it(`${name} is a valid batch/v1 Job by the kept schema`, () => {
      const r = jobSchema.safeParse(YAML.parse(read(`scripts/k8s/${name}`)));
      assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues, null, 1));
    });
  }

  it('the schema refuses what the API server would refuse or silently drop', () => {
    const mutations: [string, (j: any) => void][] = [
      ['a misspelt field', (j) => { j.spec.completion = 8; }],
      ['a bad completionMode', (j) => { j.spec.completionMode = 'indexed'; }],
      ['a number where a quantity string goes', (j) => { j.spec.template.spec.containers[0].resources.requests.cpu = 4; }],
      ['a container without an image', (j) => { delete j.spec.template.spec.containers[0].image; }],
      ['restartPolicy Always (not allowed in a Job)', (j) => { j.spec.template.spec.restartPolicy = 'Always'; }],
      ['another kind', (j) => { j.kind = 'CronJob'; }],
    ];
    for (const [what, mutate] of mutations) {
      const job = YAML.parse(read('scripts/k8s/sweep-job.yaml'));
      mutate(job);
      assert.equal(jobSchema.safeParse(job).success, false, `${what} should be refused`);
    }
  });

  it('the sweep pod runs the sweep of sweep.sbatch, with the same options', () => {
    const sbatch = read('scripts/slurm/sweep.sbatch');
    const grid = /^\[ \$# -gt 0 \] \|\| set -- (.+)$/m.exec(sbatch);
    assert.ok(grid, 'sweep.sbatch sets its default grid with set --');
    const slurm = mmsimCommand(sbatch).flatMap((w) => (w === '$@' ? words(grid[1]!) : [w]));
    const pod = manifest('sweep-job.yaml').spec.template.spec.containers[0]!;
    assert.deepEqual(normal(mmsimCommand(shell(pod))), normal(slurm));
    // The same handling of exit status 1 (points failed, recorded) and the same shard count.
    const status = 's=$?; [ $s -le 1 ] || exit $s';
    assert.ok(sbatch.includes(status) && shell(pod).includes(status));
    const shards = /MMSIM_SHARDS=\$\{MMSIM_SHARDS:-(\d+)\}/.exec(sbatch)?.[1];
    const array = /#SBATCH --array=0-(\d+)/.exec(sbatch)?.[1];
    const job = manifest('sweep-job.yaml');
    assert.equal(pod.env?.find((e) => e.name === 'MMSIM_SHARDS')?.value, shards);
    assert.equal(String(job.spec.completions), shards);
    assert.equal(Number(array) + 1, Number(shards), '--array=0-(N-1) for N shards');
  });

  it('the merge pod runs the merge of merge.sbatch', () => {
    const pod = manifest('merge-job.yaml').spec.template.spec.containers[0]!;
    assert.deepEqual(normal(mmsimCommand(shell(pod))), normal(mmsimCommand(read('scripts/slurm/merge.sbatch'))));
    assert.equal(pod.env?.find((e) => e.name === 'MMSIM_SHARDS')?.value, /MMSIM_SHARDS=\$\{MMSIM_SHARDS:-(\d+)\}/.exec(read('scripts/slurm/merge.sbatch'))?.[1]);
    assert.equal(pod.env?.find((e) => e.name === 'MMSIM')?.value, manifest('sweep-job.yaml').spec.template.spec.containers[0]!.env?.find((e) => e.name === 'MMSIM')?.value);
  });
});
