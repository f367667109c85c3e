/**
 * The host-memory check, through the real binary: under `ulimit -v` a run, a sweep and a plan
 * are refused before they start with the address-space arithmetic (exit 2, nothing written, no
 * RangeError trace); with --ignore-host-memory the limit still gives a clear message, also from
 * a NUMA worker thread (which used to hang); a machine whose instances cannot fit the host's
 * available memory is refused with the memory arithmetic.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-hostmem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `mmsim args` with RLIMIT_AS at `kib` KiB (ulimit -v), or unlimited. */
function mmsim(args: string[], kib?: number) {
  const limit = kib === undefined ? '' : `ulimit -v ${kib} && `;
  const r = spawnSync('bash', ['-c', `${limit}exec "$0" "$@"`, process.execPath, bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LIMIT_KIB = 6_000_000;   // 5.72 GiB: Node runs, one WASM instance's reservation does not fit
const noTrace = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at |RangeError/, 'no stack trace');

test('under ulimit -v, run, sweep and plan dirty are refused before they start, with the arithmetic', () => {
  const run = mmsim(['run', 'default', '--out', join(dir, 'run')], LIMIT_KIB);
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /mmsim run default needs more than this host can give; nothing was started/);
  assert.match(run.stderr, /address space: 1\.00 GiB for Node \+ 1 WASM instance × 10\.13 GiB .* = 11\.13 GiB, and the limit \(ulimit -v, RLIMIT_AS\) is 5\.72 GiB/);
  assert.match(run.stderr, /--ignore-host-memory/);
  noTrace(run.stderr);
  assert.ok(!existsSync(join(dir, 'run')));

  const jsonl = join(dir, 'sweep.jsonl');
  const sweep = mmsim(['sweep', 'default', '--param', 'vm.swappiness=10,60', '-j', '2', '--out', jsonl], LIMIT_KIB);
  assert.equal(sweep.status, 2, sweep.stderr);
  assert.match(sweep.stderr, /mmsim sweep default -j 2 needs more.*\n {2}address space: .* \+ 2 WASM instances × 10\.13 GiB/);
  assert.ok(!existsSync(jsonl), 'no JSONL started');

  const plan = mmsim(['plan', 'dirty', 'storage-server', '--ratio', '10,20', '-j', '2', '--out', join(dir, 'plan')], LIMIT_KIB);
  assert.equal(plan.status, 2, plan.stderr);
  assert.match(plan.stderr, /mmsim plan dirty storage-server -j 2 needs more/);
  noTrace(plan.stderr);
  assert.ok(!existsSync(join(dir, 'plan')));
});

test('with --ignore-host-memory the limit still ends a run with a clear message, in the main thread and in NUMA workers', () => {
  const one = mmsim(['run', 'default', '--ignore-host-memory', '--out', join(dir, 'ignored')], LIMIT_KIB);
  assert.equal(one.status, 2, one.stderr);
  assert.match(one.stderr, /the host refused memory for a WASM instance \(WebAssembly\.Instance\(\): Out of memory/);
  noTrace(one.stderr.replace(/\(WebAssembly\.Instance\(\): Out of memory[^)]*\)/, ''));
  // two nodes on two worker threads: one worker gets its instance, the other cannot
  const yaml = join(dir, 'two-nodes.yaml');
  writeFileSync(yaml, `
name: two-nodes
description: two small nodes
duration: 50ms
machine: { memory: 256MiB, nodes: 2 }
processes:
  a: { node: 0, vmas: { heap: { type: anon, size: 32MiB } }, workload: [{ op: access, target: heap }] }
  b: { node: 1, vmas: { heap: { type: anon, size: 32MiB } }, workload: [{ op: access, target: heap }] }
`);
  const two = mmsim(['run', yaml, '-j', '2', '--ignore-host-memory', '--out', join(dir, 'two')], 16_000_000);
  assert.equal(two.status, 2, `ends (status ${two.status}), does not hang: ${two.stderr}`);
  assert.match(two.stderr, /the host refused memory for a WASM instance/);
  assert.ok(!existsSync(join(dir, 'two')));
});

test('a machine whose instances need more than the host has available is refused with the memory arithmetic', { skip: totalmem() >= 32 * 2 ** 30 && 'the host has 32 GiB or more' }, () => {
  const yaml = join(dir, 'four-tib.yaml');
  writeFileSync(yaml, `
name: four-tib
description: 4 TiB over 64 nodes, each a WASM instance with a 64 GiB frame table
machine: { memory: 4TiB, nodes: 64 }
processes:
  a: { node: 0, vmas: { heap: { type: anon, size: 1GiB } }, workload: [{ op: access, target: heap }] }
`);
  const r = mmsim(['run', yaml, '--out', join(dir, 'four-tib')]);
  assert.equal(r.status, 2, r.stderr);
  const m = /memory: 128\.0 MiB for Node \+ (\d+) worker threads? × 48\.0 MiB \+ ([\d.]+) GiB for 64 WASM instances \(64 NUMA nodes, one instance each; the largest 515\.\d MiB\) = ([\d.]+) GiB at most, and the host has ([\d.]+) GiB available \(MemAvailable in \/proc\/meminfo\)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const [workers, instances, total, available] = m.slice(1).map(Number) as [number, number, number, number];
  assert.ok(Math.abs(128 / 1024 + workers * 48 / 1024 + instances - total) < 0.01, 'the sum is right');
  // every node has its 64 GiB frame table (512 MiB); node 0 also the process's page tables
  assert.ok(instances >= 64 * 512 / 1024 && instances <= 64 * 516 / 1024, `64 instances: ${instances} GiB`);
  assert.ok(total > available);
  assert.match(r.stderr, /frame table 512\.0 MiB \(32 B × 16777216 frames\)/);
  assert.ok(!existsSync(join(dir, 'four-tib')));
  // the same scenario validates: the check is about this host, not the scenario
  assert.equal(mmsim(['validate', yaml]).status, 0);
});
