/**
 * Kernel rules that had no test of their own (issue #13): each asserted on a run that exercises it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

test('vm.page_cluster: swap readahead reads 2^page_cluster slots around a swap-in (swap_cluster_readahead); 0 reads one', () => {
  // write a heap larger than memory, then read it back in order: every page comes back from swap
  const y = `
name: page-cluster
description: a heap written past memory, then read back in order
duration: 2s
machine: { memory: 128MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us, queueDepth: 32 }
swap: { size: 512MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 192MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: access, target: heap, pattern: sequential, writeFraction: 0 }
`;
  const none = runScenario(scenarioFromYaml(y, ['vm.page_cluster=0'])).counters;
  const eight = runScenario(scenarioFromYaml(y, ['vm.page_cluster=3'])).counters;
  assert.equal(none.swap_ra, 0);
  assert.equal(none.swap_ra_hit, 0);
  assert.equal(none.pgmajfault, none.pswpin, 'one major fault per page read back');
  assert.ok(eight.swap_ra! > 0.8 * eight.pswpin!, `read ahead ${eight.swap_ra} of ${eight.pswpin}`);
  assert.ok(eight.swap_ra_hit! > 0.8 * eight.swap_ra!, 'a sequential reader hits what was read ahead');
  assert.ok(eight.pgmajfault! < none.pgmajfault! / 4, `major faults ${eight.pgmajfault} vs ${none.pgmajfault}`);
});

test('oom_score_adj -1000 (OOM_SCORE_ADJ_MIN) makes a process unkillable: the killer takes the other, however small', () => {
  const y = (adj: number) => `
name: unkillable
description: two writers without swap
duration: 1s
machine: { memory: 128MiB }
processes:
  big:
    oom_score_adj: ${adj}
    vmas: { heap: { type: anon, size: 112MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
  small:
    start: 50ms
    vmas: { heap: { type: anon, size: 32MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
`;
  const plain = runScenario(scenarioFromYaml(y(0)));
  assert.equal(plain.oomKills[0]!.taskName, 'big', 'the larger process has the higher badness');
  const exempt = runScenario(scenarioFromYaml(y(-1000)));
  assert.ok(exempt.oomKills.length >= 1);
  assert.ok(exempt.oomKills.every((k) => k.taskName === 'small'), JSON.stringify(exempt.oomKills));
});
