/**
 * A closed output pipe, through the real binary: `mmsim scenarios | head -1` and
 * `mmsim --help | head -1` end with status 0 and no `Error: write EPIPE` trace, and a sweep whose
 * stdout and stderr are gone runs to the end with its JSONL and summary complete.
 *
 * To make the EPIPE certain rather than a race with the reader, the command starts after the
 * reader (`true`) has exited: every write then finds a pipe without readers.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { heapYaml } from './helpers.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-pipe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs `mmsim args` with its stdout (and, with `both`, its stderr) on a pipe whose reader has
 * already exited; returns mmsim's own exit status and what it wrote to stderr.
 */
function intoClosedPipe(args: string[], both = false): { status: number; stderr: string } {
  const status = join(dir, 'status');
  const errors = join(dir, 'stderr');
  const redirect = both ? '2>&1' : `2>"${errors}"`;
  writeFileSync(errors, '');
  const script = `{ sleep 0.3; "$0" "$@" ${redirect}; echo $? >"${status}"; } | true`;
  const r = spawnSync('bash', ['-c', script, process.execPath, bin, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return { status: Number(readFileSync(status, 'utf8')), stderr: readFileSync(errors, 'utf8') };
}

test('printing commands end with status 0 and no trace when the reader of stdout has gone', () => {
  for (const args of [['scenarios'], ['--help'], ['run', '--help'], ['validate', 'default'], ['validate', '--explain']]) {
    const r = intoClosedPipe(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${args.join(' ')} prints no EPIPE error`);
  }
  // and the everyday form, where the reader leaves after the first line
  const piped = spawnSync('bash', ['-c', '"$0" "$@" | head -1', process.execPath, bin, 'scenarios'], { encoding: 'utf8' });
  assert.equal(piped.stdout.split('\n').length, 2);
  assert.equal(piped.stderr, '');
});

test('a sweep whose stdout and stderr are gone runs to the end: every point in the JSONL, the summary written', () => {
  const scenario = join(dir, 'quick.yaml');
  writeFileSync(scenario, heapYaml('quick', '100ms'));
  const out = join(dir, 'sweep.jsonl');
  const r = intoClosedPipe(['sweep', scenario, '--param', 'vm.swappiness=10,60', '--seeds', '2', '-j', '2', '--out', out], true);
  assert.equal(r.status, 0);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.index, l.status]), [[0, 'ok'], [1, 'ok'], [2, 'ok'], [3, 'ok']]);
  assert.equal(readFileSync(join(dir, 'sweep.summary.csv'), 'utf8').trimEnd().split('\n').length, 3, 'a header and a row per combination');
  // the same sweep printed normally gives the same bytes
  const again = join(dir, 'again.jsonl');
  const normal = spawnSync(process.execPath, [bin, 'sweep', scenario, '--param', 'vm.swappiness=10,60', '--seeds', '2', '-j', '2', '--out', again, '--quiet'], { encoding: 'utf8' });
  assert.equal(normal.status, 0, normal.stderr);
  assert.equal(readFileSync(again, 'utf8'), readFileSync(out, 'utf8'));
});
