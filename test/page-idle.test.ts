/**
 * Idle page tracking (/sys/kernel/mm/page_idle/bitmap) as `op: page-idle`: the caller of
 * mmu_notifier_clear_young. A VM's working set is estimated by marking its memory idle and
 * reading it back: the guest's use is seen through kvm's young bits, a CPU's through the PTEs,
 * and a device behind an HMM mirror (no clear_young) not at all. Bad input refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { cli } from './cli-helpers.js';
import { guestVmProcess, scenarioFromYaml } from './helpers.js';

/** A VM with 64 MiB of RAM, all faulted in; the guest's translations of its first 16 MiB exist before the mark at 1 s, and it uses them again from 1.5 s. */
const vmYaml = (client: string, between = '') => `
name: idle-wss
duration: 4s
machine: { memory: 512MiB }
processes:
${guestVmProcess(client, `      - { op: sleep, duration: 1500ms }
      - { op: guest, subscriber: sec, target: ram, length: 16MiB, pattern: uniform, rate: 100000, duration: 1s }
      ${between}
      - { op: sleep, duration: 10s }`)}
  wss:
    start: 1s
    workload:
      - { op: page-idle, process: vm, target: ram, mode: write }
      - { op: sleep, duration: 2s }
      - { op: page-idle, process: vm, target: ram, mode: read }
      - { op: sleep, duration: 10s }
`;
const counters = (yaml: string) => runScenario(scenarioFromYaml(yaml)).counters;

describe('idle page tracking', () => {
  it('kvm: the guest\'s 16 MiB working set reads busy through mmu_notifier_clear_young, the rest idle', () => {
    const c = counters(vmYaml('kvm'));
    const marked = c.mmsim_page_idle_marked!;
    assert.ok(marked > 16_000 && marked <= 16_384, `marked ${marked} of the 16,384 pages (those on an LRU list)`);
    assert.equal(c.mmsim_page_idle_read_busy, 4096);
    assert.equal(c.mmsim_page_idle_read_idle, marked - 4096);
    assert.equal(c.mmsim_secondary_young, 2 * 4096, 'young at the mark (cleared) and at the read');
  });

  it('a device behind an HMM mirror has no clear_young: its use is invisible, every page reads idle', () => {
    const c = counters(vmYaml('mirror'));
    assert.equal(c.mmsim_page_idle_read_busy, 0);
    assert.equal(c.mmsim_page_idle_read_idle, c.mmsim_page_idle_marked);
    assert.ok(c.mmsim_secondary_hits! > 90_000, 'the device did use the pages');
  });

  it('CPU stores between the mark and the read set the PTEs\' young bits: those pages read busy too', () => {
    const c = counters(vmYaml('mirror', '- { op: access, target: ram, start: 32MiB, length: 8MiB, writeFraction: 1, accesses: 2048 }'));
    assert.equal(c.mmsim_page_idle_read_busy, 2048);
  });
});

describe('bad input', () => {
  it('a page-idle phase is one call over a VMA: a duration, an unknown VMA or process is refused (exit 2)', async () => {
    const cases: [string, RegExp][] = [
      ['{ op: page-idle, process: vm, target: ram, mode: write, duration: 1s }', /workload\.0\.duration: 1s given for op page-idle, which is one call/],
      ['{ op: page-idle, process: vm, target: heap }', /workload\.0\.target: "heap" is not a VMA of process vm; the VMAs of process vm are: ram \(e\.g\. target: ram\)/],
      ['{ op: page-idle, process: qemu, target: ram }', /workload\.0\.process: "qemu" is not a process; the processes are: vm, wss/],
      ['{ op: page-idle, process: vm, target: ram, start: 60MiB, length: 8MiB }', /runs past the end of ram/],
    ];
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-idle-'));
    try {
      for (const [phase, pattern] of cases) {
        const file = join(dir, 'bad.yaml');
        writeFileSync(file, vmYaml('kvm').replace('- { op: page-idle, process: vm, target: ram, mode: write }', `- ${phase}`));
        const r = await cli('validate', file);
        assert.equal(r.code, 2, phase);
        assert.match(r.stderr, pattern);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
