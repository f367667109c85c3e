/**
 * Transparent huge pages (anonymous, PMD-mapped): faults that get a huge page or the huge zero
 * page, reclaim's split before swap-out, the GUP reference that blocks the split (the built-in
 * thp-gup-split through `mmsim compare`), _pincount and folio_maybe_dma_pinned of a large folio,
 * exit and munmap freeing whole folios, the invariants under --check, policies as mechanisms,
 * and the combinations refused before the run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { loadScenario } from '../src/scenario/load.js';
import { cli, compareTable, reader } from './cli-helpers.js';
import { scenarioFromYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-thp-'));
after(() => rmSync(root, { recursive: true, force: true }));

const counters = (sets: string[]) => runScenario(loadScenario('thp-gup-split', sets)).counters;
// the heap: 64 MiB = 32 THPs; the RDMA region: its first 16 MiB = 8 THPs
const THPS = 32; const PINNED = 8;

describe('thp-gup-split: huge pages under reclaim, and the pinned ones', async () => {
  const v = reader(await compareTable('thp-gup-split', 'pins.action', ['none', 'mainline']));

  it('every 2 MiB of the madvised heap is one huge page at its first write', () => {
    for (const a of ['none', 'mainline']) {
      assert.equal(v('thp_fault_alloc', a), THPS);
      assert.equal(v('thp_fault_fallback', a), 0);
    }
  });

  it('reclaim splits the idle huge pages before it swaps them out; the pinned ones stay whole and mapped', () => {
    for (const a of ['none', 'mainline']) {
      assert.equal(v('thp_split_page', a), THPS - PINNED);
      assert.equal(v('thp_swpout_fallback', a), THPS - PINNED);
      assert.equal(v('thp_split_page_failed', a), 0, 'reclaim asks can_split_folio first');
      assert.equal(v('nr_anon_transparent_hugepages', a), PINNED);
    }
  });

  it('none: can_split_folio sees the device\'s references and the folio is activated, whole (a GUP reference blocks the split)', () => {
    assert.equal(v('mmsim_thp_cannot_split', 'none'), PINNED);
    assert.equal(v('mmsim_reclaim_pinned_skipped', 'none'), 0);
  });

  it('mainline: folio_maybe_dma_pinned reads the large folio\'s _pincount and keeps it before any split', () => {
    assert.equal(v('mmsim_reclaim_pinned_skipped', 'mainline'), PINNED);
    assert.equal(v('mmsim_thp_cannot_split', 'mainline'), 0);
  });

  it('a plain GUP reference (track none, FOLL_GET-like) blocks the split as a pin does', () => {
    const c = counters(['pins.track=none']);
    assert.equal(c.mmsim_thp_cannot_split, PINNED);
    assert.equal(c.nr_anon_transparent_hugepages, PINNED);
  });
});

describe('_pincount of a large folio', () => {
  it('counts one pin per page, exactly: no false positives, and the folio splits once the device lets go', () => {
    const held = counters(['pins.action=mainline']);
    assert.equal(held.nr_foll_pin_acquired, PINNED * 512, 'one FOLL_PIN per page of the region (NR_FOLL_PIN_ACQUIRED counts pages)');
    assert.equal(held.mmsim_pin_false_positives, 0);
    // the registration ends at 600 ms, before reclaim reaches the heap: _pincount is back to 0
    const released = counters(['pins.action=mainline', 'processes.rdma.workload.0.duration=100ms']);
    assert.equal(released.nr_foll_pin_released, PINNED * 512);
    assert.equal(released.mmsim_reclaim_pinned_skipped, 0);
    assert.equal(released.mmsim_thp_cannot_split, 0);
    assert.equal(released.thp_split_page, THPS);
    assert.equal(released.nr_anon_transparent_hugepages, 0);
  });

  it('without a device every huge page of the heap is split and swapped', () => {
    const c = counters(['processes.rdma.start=10s']);
    assert.equal(c.thp_split_page, THPS);
    assert.equal(c.mmsim_thp_cannot_split, 0);
  });
});

describe('faults, the huge zero page, fallback', () => {
  const yaml = (workload: string, extra = '') => scenarioFromYaml(`
name: thp-faults
duration: 1s
machine: { memory: 256MiB }
${extra}
processes:
  app:
    vmas: { heap: { type: anon, size: 32MiB, hugepage: true } }
    workload:
${workload}
`);

  it('a read maps the huge zero page; a write then splits it into small zero-page PTEs and copies one page', () => {
    const c = runScenario(yaml(`      - { op: access, target: heap, writeFraction: 0, accesses: 8192 }
      - { op: access, target: heap, writeFraction: 1, accesses: 1 }`)).counters;
    assert.equal(c.thp_zero_page_alloc, 1, 'allocated once, on the first read');
    assert.equal(c.thp_fault_alloc, 0);
    assert.equal(c.thp_split_pmd, 1, 'the written 2 MiB');
    assert.equal(c.nr_anon_pages, 1, 'one small page, copied from the zero page');
    assert.equal(c.pgfault, 16 + 1, 'a fault per 2 MiB read, then one for the write: its PMD level splits, its PTE level copies (VM_FAULT_FALLBACK)');
  });

  it('use_zero_page off: a read fault allocates the huge page', () => {
    const c = runScenario(yaml(`      - { op: access, target: heap, writeFraction: 0, accesses: 8192 }`, 'thp: { useZeroPage: false }')).counters;
    assert.equal(c.thp_fault_alloc, 16);
    assert.equal(c.nr_anon_transparent_hugepages, 16);
    assert.equal(c.nr_anon_pages, 16 * 512);
    assert.equal(c.thp_zero_page_alloc, 0);
  });

  it('without a free order-9 block the fault falls back to small pages (defrag=never)', () => {
    const c = counters(['thp.enabled=always']);
    assert.ok(c.thp_fault_fallback! > 0);
    assert.ok(c.thp_fault_alloc! > THPS, 'the hog\'s VMA got huge pages too while blocks were free');
  });

  it('munmap frees a THP-backed VMA whole, every folio at once', () => {
    const c = runScenario(yaml(`      - { op: access, target: heap, writeFraction: 1, accesses: 8192 }
      - { op: munmap, target: heap }
      - { op: sleep, duration: 1s }`)).counters;
    assert.equal(c.thp_fault_alloc, 16);
    assert.equal(c.mmsim_munmap_pages_freed, 16 * 512);
    assert.equal(c.nr_anon_pages, 0);
    assert.equal(c.nr_anon_transparent_hugepages, 0);
    assert.equal(c.nr_page_table_pages, 1, 'the PGD alone: the deposited tables went with their PMDs, the PUD and PMD tables with the VMA');
  });

  it('mprotect read-only write-protects the huge PMDs; a write after PROT_WRITE again reuses the folio in place', () => {
    const c = runScenario(yaml(`      - { op: access, target: heap, writeFraction: 1, accesses: 8192 }
      - { op: mprotect, target: heap, mode: read }
      - { op: mprotect, target: heap, mode: write }
      - { op: access, target: heap, writeFraction: 1, accesses: 8192 }`)).counters;
    assert.equal(c.thp_fault_alloc, 16);
    assert.equal(c.mmsim_mprotect_ptes, 2 * 16 * 512, 'change_huge_pmd counts the pages of each huge PMD');
    assert.equal(c.nr_anon_transparent_hugepages, 16);
    assert.equal(c.nr_anon_pages, 16 * 512);
  });
});

describe('invariants and mechanisms', () => {
  it('--check finds nothing wrong under every pin track with huge pages', async () => {
    for (const track of ['none', 'sticky-flag', 'flag-clear-on-put', 'off-lru-count', 'bias']) {
      const action = track === 'none' ? 'none' : 'unmap';
      const r = await cli('run', 'thp-gup-split', '--check', '--set', `pins.track=${track}`, '--set', `pins.action=${action}`, '--out', join(root, `check-${track}`));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /detectors +0\n/, `${track}: ${r.stdout}`);
    }
  });

  it('thp.enabled changes nothing where no VMA may have huge pages: default gives the same bytes under never and madvise', () => {
    const run = (e: string) => formatResultsJson(runScenario(loadScenario('default', [`thp.enabled=${e}`])));
    assert.ok(run('never') === run('madvise'));
  });
});

describe('bad input', () => {
  it('hugepage on a file mapping is refused (exit 2, no output)', async () => {
    const out = join(root, 'bad-file');
    const r = await cli('run', 'truncate-pinned', '--set', 'processes.app.vmas.buf.hugepage=true', '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /processes\.app\.vmas\.buf\.hugepage: true on a shared file mapping: only private anonymous memory gets transparent huge pages here .*e\.g\. \{ type: anon, hugepage: true \}/);
    assert.equal(existsSync(out), false);
  });

  it('huge mappings with an MMU notifier subscription or ZONE_MOVABLE are refused, naming what to change', async () => {
    const notifier = await cli('run', 'oom-reaper-notifiers', '--set', 'thp.enabled=always', '--out', join(root, 'bad-sub'));
    assert.equal(notifier.code, 2);
    assert.match(notifier.stderr, /subscribers\.\w+: an MMU notifier subscription on an mm with huge mappings: .* e\.g\. thp\.enabled: madvise/);
    const movable = await cli('run', 'thp-gup-split', '--set', 'machine.movablecore=64MiB', '--out', join(root, 'bad-movable'));
    assert.equal(movable.code, 2);
    assert.match(movable.stderr, /machine\.movablecore: ZONE_MOVABLE with transparent huge pages: .*e\.g\. movablecore: 0, or thp\.enabled: never/);
    const value = await cli('run', 'thp-gup-split', '--set', 'thp.enabled=sometimes', '--out', join(root, 'bad-value'));
    assert.equal(value.code, 2);
    assert.match(value.stderr, /thp\.enabled: "sometimes" is not one of never, madvise, always/);
  });
});
