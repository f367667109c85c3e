/**
 * migrate_vma and device-private memory (mm/migrate_device.c, lib/test_hmm.c's dmirror): the
 * one kernel path that raises MMU_NOTIFY_MIGRATE. Pages move to a mirror's device memory in a
 * range the device owns (its own callback returns at once, kvm's invalidates), come back on a
 * CPU fault (migrate_to_ram) or the driver's eviction; the device reaches its own memory without
 * faulting; everything checked under --check. Bad input refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { cli } from './cli-helpers.js';
import { scenarioFromYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-devmig-'));
after(() => rmSync(root, { recursive: true, force: true }));

const yaml = (deviceMemory: string, phases: string, policy = 'mainline') => `
name: devmig
duration: 3s
machine: { memory: 512MiB }
check: true
notifiers: { policy: ${policy} }
processes:
  app:
    vmas: { heap: { type: anon, size: 64MiB } }
    subscribers:
      kvm: { client: kvm }
      gpu: { client: mirror, deviceMemory: ${deviceMemory} }
    workload:
      - { op: access, target: heap, writeFraction: 1, accesses: 16384 }
${phases}
      - { op: sleep, duration: 10s }
`;

describe('migrate_vma', () => {
  it('16 MiB move to the device: one MMU_NOTIFY_MIGRATE range, kvm\'s translations go, RAM is freed; CPU faults and the eviction bring them back', () => {
    const phases = `      - { op: guest, subscriber: kvm, target: heap, length: 16MiB, accesses: 4096 }
      - { op: migrate, subscriber: gpu, target: heap, length: 16MiB }
      - { op: access, target: heap, length: 4MiB, writeFraction: 1, accesses: 1024 }
      - { op: migrate, subscriber: gpu, target: heap, length: 16MiB, mode: read }`;
    const r = runScenario(scenarioFromYaml(yaml('32MiB', phases)));
    const c = r.counters;
    assert.equal(r.detectorsTotal, 0, JSON.stringify(r.detectors.slice(0, 3)));
    assert.equal(c.mmsim_migrate_vma_pages, 4096);
    assert.equal(c.mmsim_secondary_invalidated, 4096, 'kvm is not the owner: its translations of the range go');
    assert.equal(c.mmsim_device_private_faults, 1024, 'the CPU stores fault their pages back (migrate_to_ram)');
    assert.equal(c.mmsim_migrate_vma_evicted, 3072, 'the eviction brings the rest');
    assert.equal(c.mmsim_notifier_ranges_migrate, 2 + 1024, 'a range per migrate call and per page faulted back');
    assert.equal(c.mmsim_nr_device_private, 0);
    assert.equal(c.nr_anon_pages, 16384, 'every page is back in RAM');
  });

  it('the device reaches its own memory without faulting, and keeps its translations of the pages that stayed (its own range skipped)', () => {
    const phases = `      - { op: guest, subscriber: gpu, target: heap, length: 16MiB, accesses: 4096 }
      - { op: migrate, subscriber: gpu, target: heap, length: 16MiB }
      - { op: guest, subscriber: gpu, target: heap, length: 8MiB, pattern: uniform, accesses: 100000 }`;
    for (const policy of ['mainline', '2018']) {
      const c = runScenario(scenarioFromYaml(yaml('8MiB', phases, policy))).counters;
      assert.equal(c.mmsim_migrate_vma_pages, 2048, `${policy}: the device memory holds 2,048 pages`);
      assert.equal(c.mmsim_migrate_vma_failed, 2048, `${policy}: the rest find it full`);
      assert.equal(c.mmsim_device_private_hits, 100000, `${policy}: every access to the 8 MiB is to device memory`);
      assert.equal(c.mmsim_secondary_invalidated, 2048, `${policy}: only the translations of the pages that moved`);
      assert.equal(c.mmsim_stale_secondary_tlb, 0);
      assert.equal(c.mmsim_device_private_faults, 0);
      assert.equal(c.nr_anon_pages, 16384 - 2048);
    }
  });

  it('a pinned page is not migrated; munmap frees device pages', () => {
    const phases = `      - { op: sleep, duration: 100ms }
      - { op: migrate, subscriber: gpu, target: heap, length: 16MiB }
      - { op: munmap, target: heap }`;
    const c = runScenario(scenarioFromYaml(yaml('64MiB', phases).replace('processes:', `processes:
  dev:
    start: 50ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: heap, length: 1MiB, duration: 10s }`))).counters;
    assert.equal(c.mmsim_migrate_vma_failed, 256, 'the RDMA region\'s 256 pinned pages stay in RAM');
    assert.equal(c.mmsim_migrate_vma_pages, 4096 - 256);
    assert.equal(c.mmsim_nr_device_private, 0, 'munmap let the device pages go');
  });
});

describe('bad input', () => {
  it('a migrate phase needs a mirror with device memory and an anonymous private VMA (exit 2)', async () => {
    const file = join(root, 'bad.yaml');
    const cases: [string, RegExp][] = [
      [yaml('0', '      - { op: migrate, subscriber: gpu, target: heap }'), /workload\.1\.subscriber: gpu has no deviceMemory; e\.g\. subscribers: \{ gpu: \{ client: mirror, deviceMemory: 64MiB \} \}/],
      [yaml('8MiB', '      - { op: migrate, subscriber: kvm, target: heap }'), /workload\.1\.subscriber: kvm is a kvm subscriber, and only a mirror \(an HMM device\) has private memory; e\.g\. subscriber: gpu/],
      [yaml('8MiB', '      - { op: migrate, target: heap }'), /workload\.1\.subscriber: missing; op migrate needs the device/],
      [yaml('8MiB', '      - { op: migrate, subscriber: gpu, target: heap, duration: 1s }'), /duration: 1s given for op migrate, which is one call/],
    ];
    for (const [text, pattern] of cases) {
      writeFileSync(file, text);
      const r = await cli('validate', file);
      assert.equal(r.code, 2, text);
      assert.match(r.stderr, pattern);
    }
  });
});
