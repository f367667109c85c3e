/**
 * DAMON (mm/damon, v6.1 without DAMOS): kdamond's regions adapt to where the accesses are, its
 * working set comes out of the last aggregation, a guest's use is seen through kvm's
 * test_young/clear_young and not behind an HMM mirror, the vaddr three regions cover a
 * process's mappings; bad input refused. Through the CLI and the engine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { cli } from './cli-helpers.js';
import { guestVmProcess, scenarioFromYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-damon-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MiB = 2 ** 20;

/** A 256 MiB heap, all faulted in, then 2 M accesses a second to [64 MiB, 96 MiB) only. */
const HOT = `
name: damon-hot
duration: 6s
machine: { memory: 1GiB }
damon: { targets: { app: { vma: heap } } }
processes:
  app:
    vmas: { heap: { type: anon, size: 256MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, accesses: 65536 }
      - { op: access, target: heap, start: 64MiB, length: 32MiB, pattern: uniform, rate: 2000000, duration: 10s }
`;

/** A VM whose guest uses the first 16 MiB of its 64 MiB through its secondary MMU's translations only. */
const vm = (client: string) => `
name: damon-vm
duration: 4s
machine: { memory: 512MiB }
damon: { targets: { vm: { vma: ram } } }
processes:
${guestVmProcess(client, '      - { op: guest, subscriber: sec, target: ram, length: 16MiB, pattern: uniform, rate: 1000000, duration: 10s }')}
`;

describe('DAMON', () => {
  it('the regions close in on the 32 MiB the process uses: the working set is those pages, the rest unaccessed', async () => {
    const file = join(root, 'hot.yaml');
    writeFileSync(file, HOT);
    const out = join(root, 'hot');
    const r = await cli('run', file, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /DAMON\n {2}regions .*\n {2}working set +32MiB/);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const c = res.counters;
    assert.equal(c.mmsim_damon_wss_pages, 8192);
    assert.equal(c.mmsim_damon_aggregations, 59, 'every 100 ms of the 5.9 s after the first sample');
    const regions = res.damon as { vma: string; offset: number; bytes: number; nrAccesses: number }[];
    assert.ok(regions.length >= 10 && regions.length <= 1000, `${regions.length} regions, between min_nr_regions and max_nr_regions`);
    assert.equal(regions.reduce((n, x) => n + x.bytes, 0), 256 * MiB, 'the regions tile the VMA');
    for (const x of regions.filter((y) => y.nrAccesses > 0)) {
      assert.ok(x.offset >= 64 * MiB && x.offset + x.bytes <= 96 * MiB, `an accessed region at ${x.offset}+${x.bytes}`);
    }
  });

  it('a guest\'s use is seen through kvm (test_young, clear_young); behind an HMM mirror, which has neither, it is not', () => {
    const kvm = runScenario(scenarioFromYaml(vm('kvm')));
    const wss = kvm.counters.mmsim_damon_wss_pages!;
    assert.ok(wss > 3900 && wss <= 4096, `kvm: ${wss} pages of the guest's 4,096`);
    assert.ok(kvm.counters.mmsim_secondary_young! > 0);
    const mirror = runScenario(scenarioFromYaml(vm('mirror')));
    assert.equal(mirror.counters.mmsim_damon_wss_pages, 0);
    assert.ok(mirror.counters.mmsim_secondary_hits! > 1_000_000, 'the device did use the pages');
  });

  it('a vaddr target: three regions over the mappings around the two biggest gaps, updated when munmap takes one away', () => {
    const yaml = (workload: string) => `
name: damon-vaddr
duration: 3s
machine: { memory: 512MiB }
damon: { targets: { app: {} } }
processes:
  app:
    vmas:
      a: { type: anon, size: 16MiB }
      b: { type: anon, size: 16MiB }
      c: { type: anon, size: 16MiB }
      d: { type: anon, size: 16MiB }
    workload:
      - { op: access, target: a, writeFraction: 1, accesses: 4096 }
      - { op: access, target: c, writeFraction: 1, accesses: 4096 }
${workload}
`;
    const r = runScenario(scenarioFromYaml(yaml('      - { op: access, target: c, pattern: uniform, rate: 1000000, duration: 10s }')));
    const vmas = new Set(r.damon!.filter((x) => x.vma !== '').map((x) => x.vma));
    assert.ok(['a', 'b', 'c'].every((x) => vmas.has(x)), `regions start in ${[...vmas].join(', ')}`);
    assert.ok(r.damon!.filter((x) => x.nrAccesses > 0).every((x) => x.vma === 'c'), 'only c is accessed');
    const wss = r.counters.mmsim_damon_wss_pages!;
    assert.ok(wss > 3900 && wss < 4300, `${wss} pages, c's 4,096 give or take the edges of its regions`);
    const gone = runScenario(scenarioFromYaml(yaml('      - { op: munmap, target: b }\n      - { op: access, target: c, pattern: uniform, rate: 1000000, duration: 10s }')));
    assert.ok(!gone.damon!.some((x) => x.vma === 'b'), 'b is gone from the regions after the update');
  });
});

describe('DAMON on a machine of several NUMA nodes', () => {
  it('each node\'s kdamond monitors the targets that run there; the regions and the working set add up', () => {
    const r = runScenario(scenarioFromYaml(`
name: damon-numa
duration: 3s
machine: { memory: 1GiB, nodes: 2 }
damon: { targets: { a: { vma: heap }, b: { vma: heap } } }
processes:
  a:
    node: 0
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, accesses: 16384 }
      - { op: access, target: heap, length: 8MiB, pattern: uniform, rate: 1000000, duration: 10s }
  b:
    node: 1
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, accesses: 16384 }
      - { op: access, target: heap, start: 32MiB, length: 16MiB, pattern: uniform, rate: 1000000, duration: 10s }
`));
    const hot = (p: string) => r.damon!.filter((x) => x.process === p && x.nrAccesses > 0);
    const mib = (p: string) => hot(p).reduce((n, x) => n + x.bytes, 0) / MiB;
    assert.ok(Math.abs(mib('a') - 8) < 0.5 && Math.abs(mib('b') - 16) < 0.5, `a ${mib('a')} MiB, b ${mib('b')} MiB`);
    assert.ok(hot('b').every((x) => x.offset >= 31 * MiB && x.offset + x.bytes <= 49 * MiB));
    const wss = r.counters.mmsim_damon_wss_pages!;
    assert.ok(Math.abs(wss - 6144) < 64, `the machine's working set ${wss} pages`);
  });
});

describe('bad input', () => {
  it('targets, VMAs and attributes are checked before anything runs (exit 2)', async () => {
    const cases: [string, RegExp][] = [
      ['damon: { targets: { nobody: {} } }', /damon\.targets\.nobody: "nobody" is not a process; the processes are: app/],
      ['damon: { targets: { app: { vma: stack } } }', /damon\.targets\.app\.vma: "stack" is not a VMA of process app; the VMAs of process app are: heap \(e\.g\. vma: heap\)/],
      ['damon: { targets: { app: {} } }', /process app has 1 VMA, and the vaddr operations cut an address space into three regions .* e\.g\. \{ vma: heap \}/],
      ['damon: { targets: { app: { vma: heap } }, min_nr_regions: 100, max_nr_regions: 50 }', /damon\.min_nr_regions: 100 is more than max_nr_regions \(50\)/],
      ['damon: { targets: { app: { vma: heap } }, sample_interval: 1s }', /damon\.sample_interval: 1s is longer than aggr_interval \(100ms\)/],
      ['damon: { targets: { app: { vma: heap } }, min_nr_regions: 2 }', /damon\.min_nr_regions/],
    ];
    for (const [line, pattern] of cases) {
      const file = join(root, 'bad.yaml');
      writeFileSync(file, HOT.replace('damon: { targets: { app: { vma: heap } } }', line));
      const r = await cli('validate', file);
      assert.equal(r.code, 2, line);
      assert.match(r.stderr, pattern);
    }
  });
});
