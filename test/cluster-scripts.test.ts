/**
 * The batch scripts and manifests of the README's "Across machines" section live in scripts/
 * and the README shows them verbatim: these tests keep the two from drifting apart.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../src/util/package.js';

const read = (path: string): string => readFileSync(join(packageRoot(), path), 'utf8');
const readme = read('README.md');

/** The text without its comments (from a # at a line's start or after a space to the line's end). */
const code = (text: string): string => text.replace(/(^|\s)#.*$/gm, '$1');

const SHOWN: [string, string][] = [
  ['scripts/slurm/sweep.sbatch', 'sh'],
  ['scripts/slurm/merge.sbatch', 'sh'],
  ['scripts/k8s/sweep-job.yaml', 'yaml'],
  ['scripts/k8s/merge-job.yaml', 'yaml'],
];

describe('cluster scripts in the README', () => {
  for (const [path, lang] of SHOWN) {
    it(`shows ${path} exactly`, () => {
      const text = read(path);
      assert.ok(readme.includes(`\`\`\`${lang}\n${text}\`\`\`\n`),
        `the README's block for ${path} differs from the file; copy the file into the README`);
    });
    it(`${path} calls the installed CLI, never npx`, () => {
      const text = code(read(path));
      assert.doesNotMatch(text, /\bnpx\b/);
      assert.match(text, /node \\?"\$MMSIM\\?" (sweep|merge) /);
    });
  }

  it('no command in the README runs mmsim through npx in a batch job', () => {
    const section = readme.slice(readme.indexOf('### Across machines'), readme.indexOf('## What is modelled'));
    const blocks = [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length >= 5);
    for (const block of blocks) assert.doesNotMatch(code(block), /\bnpx\b/);
  });
});
