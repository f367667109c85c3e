/**
 * DMA pins (seed-scenarios §1): get_user_pages / pin_user_pages by the device models, the two
 * policy axes pins.track and pins.action, and the outcome table of gup-writeback-bug and its
 * direct-I/O variant, through `mmsim compare` and the engine; the pin accounting; policies as
 * mechanisms (default is the same under every combination); bad input refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runScenario } from '../src/engine/engine.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { loadScenario } from '../src/scenario/load.js';
import { cli, compareTable as compareAxis } from './cli-helpers.js';
import { scenarioFromYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-gup-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** `mmsim compare` of `scenario` over track:action pairs: figure → pair → the value (one seed). */
const compareTable = (scenario: string, pairs: string[]) => compareAxis(scenario, 'pins.track:pins.action', pairs);

const counters = (name: string, sets: string[]) => runScenario(loadScenario(name, sets)).counters;

describe('gup-writeback-bug: the outcome table (seed-scenarios §1)', async () => {
  const pairs = ['none:none', 'sticky-flag:unmap', 'sticky-flag:unmap+mkclean', 'bias:per-caller', 'off-lru-count:per-caller', 'bias:mainline'];
  const t = await compareTable('gup-writeback-bug', pairs);
  const v = (figure: string, pair: string): number => t.get(figure)?.get(pair) ?? NaN;

  it('pre-2018 (none/none): reclaim unmaps the pinned pages and drops their buffers, the unpin dirties them: the ext4 BUG; writeback cleans pages the device writes on', () => {
    assert.ok(v('mmsim_unmap_pinned_pages', 'none:none') > 0);
    assert.equal(v('mmsim_bug_writeback_no_buffers', 'none:none'), 4096, 'every page of the region');
    assert.ok(v('mmsim_dma_write_after_clean', 'none:none') > 0);
    assert.ok(v('mmsim_reclaim_pinned_kept', 'none:none') > 0, 'scanned, never freed');
  });

  it('the posted patch (sticky-flag/unmap): mapped pinned pages stay mapped; mkclean still cleans them; the flag outlives the pin', () => {
    assert.equal(v('mmsim_unmap_pinned_pages', 'sticky-flag:unmap'), 0);
    assert.equal(v('mmsim_bug_writeback_no_buffers', 'sticky-flag:unmap'), 0);
    assert.ok(v('mmsim_unmap_skipped_pinned', 'sticky-flag:unmap') > 0);
    assert.ok(v('mmsim_dma_write_after_clean', 'sticky-flag:unmap') > 0);
    assert.ok(v('mmsim_pin_needless_skips', 'sticky-flag:unmap') > 0, 'skips after the unpin at 10 s');
  });

  it('sticky-flag/unmap+mkclean: nothing is cleaned under the device, and the sync never completes', () => {
    assert.equal(v('mmsim_dma_write_after_clean', 'sticky-flag:unmap+mkclean'), 0);
    assert.equal(v('mmsim_bug_writeback_no_buffers', 'sticky-flag:unmap+mkclean'), 0);
    assert.ok(v('mmsim_writeback_skipped_pinned', 'sticky-flag:unmap+mkclean') > 0);
    assert.equal(v('syncs_unfinished', 'sticky-flag:unmap+mkclean'), 1);
  });

  it('per-caller (bias, off-lru-count): nothing cleaned under the device; the sync at 7 s waits for the unpin at 10 s', () => {
    for (const pair of ['bias:per-caller', 'off-lru-count:per-caller']) {
      assert.equal(v('mmsim_dma_write_after_clean', pair), 0, pair);
      assert.equal(v('mmsim_bug_writeback_no_buffers', pair), 0, pair);
      assert.ok(v('mmsim_writeback_skipped_pinned', pair) > 0, pair);
      assert.equal(v('syncs_unfinished', pair), 0, pair);
      const stall = v('mmsim_sync_ns', pair);
      assert.ok(stall >= 3e9 && stall < 3.5e9, `${pair}: ${stall} ns`);
      assert.equal(v('mmsim_unmap_pinned_pages', pair), 0, pair);
    }
    assert.equal(v('mmsim_unmap_skipped_pinned', 'off-lru-count:per-caller'), 0, 'off the LRU: reclaim never meets them');
    assert.ok(v('mmsim_unmap_skipped_pinned', 'bias:per-caller') > 0, 'reclaim is a caller that skips');
  });

  it('mainline (bias/mainline): the long-term write pin of a shared file mapping is refused, so no DMA happens', () => {
    assert.equal(v('mmsim_pin_refused', 'bias:mainline'), 1);
    assert.equal(v('mmsim_dma_write_after_clean', 'bias:mainline'), 0);
    const c = counters('gup-writeback-bug', ['pins.track=bias', 'pins.action=mainline']);
    assert.equal(c['mmsim_pin_refused_pages'], 4096);
    assert.equal(c['mmsim_dma_writes'], 0);
    assert.equal(c['nr_foll_pin_acquired'], 0);
  });
});

describe('gup-writeback-bug-dio: short-term pins (the direct-I/O variant)', () => {
  it('none/none: a clean page pinned by a request loses its buffers to reclaim; its completion dirties it: the BUG', () => {
    const c = counters('gup-writeback-bug-dio', ['pins.track=none', 'pins.action=none']);
    assert.ok(c['mmsim_bug_writeback_no_buffers']! > 0);
    assert.ok(c['mmsim_dma_write_after_clean']! > 0);
  });

  it('flag-clear-on-put/unmap: the first put clears the flag while the second pin is live', () => {
    const c = counters('gup-writeback-bug-dio', ['pins.track=flag-clear-on-put', 'pins.action=unmap']);
    assert.ok(c['mmsim_pin_flag_lost']! > 10, String(c['mmsim_pin_flag_lost']));
    assert.ok(c['mmsim_dma_write_after_clean']! > 0);
  });

  it('bias/mainline takes the transient pins, counts them exactly, and its folio_mkclean cleans pages under DMA', () => {
    const c = counters('gup-writeback-bug-dio', ['pins.track=bias', 'pins.action=mainline']);
    assert.equal(c['mmsim_pin_refused'], 0);
    assert.ok(c['nr_foll_pin_acquired']! > 5000);
    assert.equal(c['mmsim_bug_writeback_no_buffers'], 0, 'v6.4: a pinned folio keeps its buffers (activated after the unmap)');
    assert.ok(c['mmsim_unmap_pinned_pages']! > 0, 'file pages are unmapped all the same');
    assert.equal(c['nr_foll_pin_acquired'], c['nr_foll_pin_released'], 'every pin released by the end');
    assert.equal(c['nr_foll_pin_acquired'], c['mmsim_gup_pages']);
    assert.equal(c['mmsim_nr_pinned'], 0);
    assert.ok(c['mmsim_dma_write_after_clean']! > 0);
    assert.equal(c['mmsim_dma_after_free'], 0);
  });
});

describe('pin accounting and the other actions', () => {
  it('bias: nr_foll_pin_acquired and _released count every page of the region once', () => {
    const c = counters('gup-writeback-bug', ['pins.track=bias', 'pins.action=per-caller']);
    assert.equal(c['nr_foll_pin_acquired'], 4096);
    assert.equal(c['nr_foll_pin_released'], 4096);
    assert.equal(c['mmsim_nr_pinned'], 0);
    assert.equal(c['mmsim_pin_false_positives'], 0, 'no page has 1024 ordinary references here');
  });

  it('pins.limit refuses a registration beyond the limit (-ENOMEM), the rest of the run unpinned', () => {
    const c = counters('gup-writeback-bug', ['pins.track=bias', 'pins.action=per-caller', 'pins.limit=8MiB']);
    assert.equal(c['mmsim_pin_refused'], 1);
    assert.equal(c['mmsim_pin_refused_pages'], 4096);
    assert.equal(c['mmsim_gup_pages'], 0);
    const ok = counters('gup-writeback-bug', ['pins.track=bias', 'pins.action=per-caller', 'pins.limit=16MiB']);
    assert.equal(ok['mmsim_pin_refused'], 0, 'exactly at the limit is allowed');
  });

  it('refcount-wait: reclaim sleeps in try_to_unmap until the RDMA region is deregistered', () => {
    const c = counters('gup-writeback-bug', ['pins.track=bias', 'pins.action=refcount-wait']);
    assert.ok(c['mmsim_unmap_pin_waits']! >= 1);
    assert.ok(c['mmsim_unmap_pin_wait_ns']! > 5e9, `${c['mmsim_unmap_pin_wait_ns']} ns`);
    assert.ok(c['mmsim_direct_reclaim_ns']! > 1e9, 'a direct reclaimer waits too');
  });
});

describe('policies are mechanisms', () => {
  it('default (nothing pins) gives the same results under every combination of pins.track and pins.action', () => {
    const tracks = ['none', 'sticky-flag', 'flag-clear-on-put', 'off-lru-count', 'bias'];
    const actions = ['none', 'unmap', 'unmap+mkclean', 'per-caller', 'refcount-wait', 'mainline', 'bounce'];
    const run = (track: string, action: string) => formatResultsJson(runScenario(loadScenario('default', ['duration=3s', `pins.track=${track}`, `pins.action=${action}`])));
    const base = run('none', 'none');
    assert.ok(JSON.parse(base).counters.pgscan_kswapd > 0, 'the run reclaims');
    let runs = 0;
    for (const track of tracks) {
      for (const action of actions) {
        if ((track === 'none' && action !== 'none' && action !== 'refcount-wait') || (track === 'off-lru-count' && action === 'refcount-wait')) continue;
        // the scenario's pins section is echoed in the results: compare the rest
        const r = run(track, action).replace(`"track": "${track}"`, '"track": "none"').replace(`"action": "${action}"`, '"action": "none"');
        assert.ok(r === base, `${track}/${action} changed the results`);
        runs++;
      }
    }
    assert.equal(runs, 29);
  });

  it('default (nothing pins) gives the same results under every pins.dirtyAccounting, with every track that recognises pins', () => {
    const run = (track: string, accounting: string) => formatResultsJson(runScenario(loadScenario('default', ['duration=3s', `pins.track=${track}`, 'pins.action=none', `pins.dirtyAccounting=${accounting}`])));
    const base = run('none', 'count');
    for (const track of ['sticky-flag', 'flag-clear-on-put', 'off-lru-count', 'bias']) {
      for (const accounting of ['count', 'exclude']) {
        const r = run(track, accounting).replace(`"track": "${track}"`, '"track": "none"').replace(`"dirtyAccounting": "${accounting}"`, '"dirtyAccounting": "count"');
        assert.ok(r === base, `${track}/${accounting} changed the results`);
      }
    }
  });

  it('default gives the same results with long-term pins kept in ZONE_MOVABLE or migrated out of it (it has no such zone, nothing pins)', () => {
    const run = (v: boolean) => formatResultsJson(runScenario(loadScenario('default', ['duration=3s', `pins.migrateLongterm=${v}`])))
      .replace(`"migrateLongterm": ${v}`, '"migrateLongterm": true');
    assert.ok(run(false) === run(true));
  });
});

describe('bad input', () => {
  it('a combination of the axes that makes no sense is refused before anything runs (exit 2)', async () => {
    const a = await cli('run', 'gup-writeback-bug', '--set', 'pins.action=unmap', '--out', join(root, 'a'));
    assert.equal(a.code, 2);
    assert.match(a.stderr, /pins\.action: unmap acts on pages it believes pinned, but track none recognises no pin .*e\.g\. track: bias/);
    const b = await cli('run', 'gup-writeback-bug', '--set', 'pins.track=off-lru-count', '--set', 'pins.action=refcount-wait', '--out', join(root, 'b'));
    assert.equal(b.code, 2);
    assert.match(b.stderr, /refcount-wait .* off-lru-count keeps pinned pages off it/);
    const c = await cli('run', 'gup-writeback-bug', '--set', 'pins.track=pinned', '--out', join(root, 'c'));
    assert.equal(c.code, 2);
    assert.match(c.stderr, /pins\.track: "pinned" is not one of .*bias/);
  });

  it('a dma phase with a wrong process, VMA or device names the field and a good value', async () => {
    const cases: [string[], RegExp][] = [
      [['processes.rdma.workload.0.process=nobody'], /processes\.rdma\.workload\.0\.process: "nobody" is not a process; the processes are: app, rdma, reader, syncer/],
      [['processes.rdma.workload.0.target=heap'], /processes\.rdma\.workload\.0\.target: "heap" is not a VMA of process app; the VMAs of process app are: buf \(e\.g\. target: buf\)/],
      [['processes.rdma.workload.0.device=disk'], /device: "disk" given for model rdma-mr, whose DMA does not go through a block device/],
      [['processes.rdma.workload.0.model=direct-io'], /device: missing; model direct-io needs the block device that serves its requests; the devices are: disk/],
      [['processes.rdma.workload.0.length=128MiB'], /runs past the end of buf/],
    ];
    for (const [sets, pattern] of cases) {
      const r = await cli('run', 'gup-writeback-bug', ...sets.flatMap((s) => ['--set', s]), '--out', join(root, 'x'));
      assert.equal(r.code, 2, sets.join(' '));
      assert.match(r.stderr, pattern);
    }
  });

  it('compare: fields moved together need a value for each', async () => {
    const r = await cli('compare', 'gup-writeback-bug', '--axis', 'pins.track:pins.action=bias,none:none');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bias is not a value for each of the 2 fields pins\.track, pins\.action; e\.g\. --axis pins\.track:pins\.action=none:none,bias:mainline/);
    const refused = await cli('compare', 'gup-writeback-bug', '--axis', 'pins.track:pins.action=none:unmap,bias:mainline');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /track none recognises no pin/);
  });
});

describe('reliable R/O long-term pinning (v6.0)', () => {
  const yaml = (action: string) => `
name: ro-pin
duration: 2s
machine: { memory: 256MiB }
pins: { track: bias, action: ${action} }
processes:
  app:
    vmas: { buf: { type: anon, size: 16MiB } }
    workload:
      - { op: sleep, duration: 100ms }
      - { op: access, target: buf, writeFraction: 1, accesses: 4096 }
      - { op: sleep, duration: 10s }
  dev:
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, writeFraction: 0, pattern: uniform, rate: 10000, duration: 10s }
`;
  it('mainline unshares the zero page a read pin of an untouched private mapping meets: the device holds the pages the process then writes', () => {
    const main = runScenario(scenarioFromYaml(yaml('mainline'))).counters;
    assert.equal(main.mmsim_gup_unshare_faults, 4096);
    assert.equal(main.mmsim_gup_pages, 4096);
    assert.equal(main.mmsim_nr_pinned, 4096);
    const old = runScenario(scenarioFromYaml(yaml('none'))).counters;
    assert.equal(old.mmsim_gup_unshare_faults, 0);
    assert.equal(old.mmsim_gup_pages, 0, 'before v6.0 the pin holds the shared zero page: the process\'s writes go to pages the device never sees');
    assert.equal(old.mmsim_zero_fill_faults, 4096, 'the process\'s stores copy the zero page');
  });
});
