/**
 * Truncate against pins (seed-scenarios §2): pins.truncate none / wait / fail / revoke /
 * block-longterm / williams on the built-in truncate-pinned, through `mmsim compare`; the
 * revocation's two stages; hole punching; policies as mechanisms; bad input refused.
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

const root = mkdtempSync(join(tmpdir(), 'mmsim-truncate-pinned-'));
after(() => rmSync(root, { recursive: true, force: true }));

const POLICIES = ['none', 'wait', 'fail', 'revoke', 'block-longterm', 'williams'] as const;
const counters = (sets: string[]) => runScenario(loadScenario('truncate-pinned', sets)).counters;
// the devices' pages in the truncated half of the file: rdma 16 MiB, vfio 8 MiB
const RDMA = 4096; const VFIO = 2048; const TAIL = 8192;

describe('truncate-pinned: the outcome table (seed-scenarios §2)', async () => {
  const v = reader(await compareTable('truncate-pinned', 'pins.truncate', POLICIES));

  it('none (the kernel): truncation takes the pinned pages out of the file at once; the devices write on into pages no file has', () => {
    assert.ok(v('mmsim_truncate_removed_pinned', 'none') >= RDMA + VFIO);
    assert.ok(v('mmsim_dma_after_truncate', 'none') > 0);
    assert.equal(v('mmsim_truncate_pin_waits', 'none'), 0);
    assert.equal(v('mmsim_truncate_blocked_forever', 'none'), 0);
  });

  it('wait: truncation blocks — 8 s for the RDMA region, forever for the VFIO mapping that outlives the run', () => {
    assert.equal(v('mmsim_truncate_removed_pinned', 'wait'), 0);
    assert.equal(v('mmsim_dma_after_truncate', 'wait'), 0);
    assert.equal(v('mmsim_truncate_blocked_forever', 'wait'), 1);
    const waited = v('mmsim_truncate_pin_wait_ns', 'wait');
    assert.ok(waited > 7.9e9 && waited < 8.1e9, `waited ${waited} ns: from 2 s until the RDMA region's end at 10 s`);
  });

  it('fail: the call fails with -EBUSY and changes nothing', () => {
    assert.equal(v('mmsim_truncate_failed', 'fail'), 1);
    assert.equal(v('mmsim_truncate_removed_pinned', 'fail'), 0);
    assert.equal(v('mmsim_dma_after_truncate', 'fail'), 0);
    assert.equal(v('mmsim_truncate_pin_waits', 'fail'), 0);
  });

  it('revoke: the RDMA owner lets go 5 ms after the request; the VFIO mapping cannot be revoked, so truncation still blocks', () => {
    assert.equal(v('mmsim_pin_revoke_requests', 'revoke'), 2, 'a lease break to each long-term registration of the file');
    assert.equal(v('mmsim_pin_revocations', 'revoke'), 1);
    assert.equal(v('mmsim_pin_revoke_ns', 'revoke'), 5e6);
    assert.equal(v('mmsim_pin_revoke_unanswered', 'revoke'), 1, 'vfio, after pins.revokeTimeout');
    assert.equal(v('mmsim_truncate_blocked_forever', 'revoke'), 1);
    assert.equal(v('mmsim_dma_after_truncate', 'revoke'), 0);
  });

  it('block-longterm: both long-term pins of the file are refused; truncation only waits for the transient direct-I/O pins', () => {
    assert.equal(v('mmsim_pin_refused', 'block-longterm'), 2);
    assert.ok(v('mmsim_truncate_pin_waits', 'block-longterm') >= 1);
    assert.ok(v('mmsim_truncate_pin_wait_ns', 'block-longterm') < 0.1e9, 'a direct-I/O request lasts at most 60 ms');
    assert.equal(v('mmsim_truncate_blocked_forever', 'block-longterm'), 0);
  });

  it('williams: the revocable RDMA region is taken and revoked, the VFIO mapping refused, the direct-I/O pins waited for; truncation completes', () => {
    assert.equal(v('mmsim_pin_refused', 'williams'), 1);
    assert.equal(v('mmsim_pin_revoke_requests', 'williams'), 1, 'only the owner holding pages with a long-term pin');
    assert.equal(v('mmsim_pin_revocations', 'williams'), 1);
    assert.equal(v('mmsim_truncate_blocked_forever', 'williams'), 0);
    assert.equal(v('mmsim_truncate_removed_pinned', 'williams'), 0);
    assert.equal(v('mmsim_dma_after_truncate', 'williams'), 0);
  });
});

describe('revocation stages and other truncations', () => {
  it('an owner that never answers is revoked by the kernel after pins.revokeTimeout, if its driver allows it', () => {
    const c = counters(['pins.truncate=revoke', 'processes.rdma.workload.0.revokeLatency=0']);
    assert.equal(c.mmsim_pin_revocations, 0);
    assert.equal(c.mmsim_pin_revocations_sync, 1);
    assert.ok(Math.abs(c.mmsim_pin_revoke_ns! - 1e9) < 1e6, `request → release ${c.mmsim_pin_revoke_ns} ns, pins.revokeTimeout 1 s`);
    const stuck = counters(['pins.truncate=revoke', 'processes.rdma.workload.0.revokeLatency=0', 'processes.rdma.workload.0.revocable=false']);
    assert.equal(stuck.mmsim_pin_revocations_sync, 0);
    assert.equal(stuck.mmsim_pin_revoke_unanswered, 2);
    assert.equal(stuck.mmsim_truncate_blocked_forever, 1);
  });

  it('a sticky flag outlives the pin: truncation waits forever on pages nobody holds', () => {
    const c = counters(['pins.truncate=wait', 'pins.track=sticky-flag']);
    assert.equal(c.mmsim_truncate_blocked_forever, 1);
    assert.ok(c.mmsim_pin_needless_skips! > 0);
  });

  it('hole punching meets the pins the same way, and the range stays mappable', () => {
    const punch = ['processes.truncator.workload.0.op=punch', 'processes.truncator.workload.0.start=32MiB'];
    const none = counters(['pins.truncate=none', ...punch]);
    assert.equal(none.mmsim_truncated_pages, TAIL);
    assert.ok(none.mmsim_dma_after_truncate! > 0);
    const wait = counters(['pins.truncate=wait', ...punch]);
    assert.equal(wait.mmsim_truncate_blocked_forever, 1);
    assert.equal(wait.mmsim_dma_after_truncate, 0);
  });
});

describe('a killable wait', () => {
  it('the OOM killer\'s SIGKILL ends a truncation asleep on a pin that never ends: the task exits at once', () => {
    const r = runScenario(scenarioFromYaml(`
name: killed-truncator
duration: 6s
machine: { memory: 160MiB }
devices: { disk: { readBandwidth: 400MB/s, writeBandwidth: 200MB/s } }
files: { data: { size: 64MiB, device: disk } }
pins: { track: bias, action: none, truncate: wait }
processes:
  app:
    vmas: { buf: { type: file, file: data, size: 64MiB, shared: true } }
    workload:
      - { op: access, target: buf, writeFraction: 1, accesses: 16384 }
      - { op: sleep, duration: 20s }
  vfio:
    start: 500ms
    workload:
      - { op: dma, model: vfio, process: app, target: buf, start: 48MiB, length: 8MiB, writeFraction: 0.5, pattern: uniform, rate: 10000, duration: 30s }
  truncator:
    start: 2s
    oom_score_adj: 1000
    workload:
      - { op: truncate, target: data, size: 32MiB }
      - { op: sleep, duration: 20s }
  hog:
    start: 3s
    vmas: { heap: { type: anon, size: 512MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, pattern: sequential, accesses: 131072 }
`));
    const kill = r.oomKills.find((k) => k.taskName === 'truncator')!;
    assert.ok(kill, 'the truncator is the first victim (oom_score_adj 1000)');
    assert.equal(kill.exitAtNs, kill.timeNs, 'it exits at the signal');
    assert.equal(r.counters.mmsim_truncate_blocked_forever, 0);
    assert.equal(r.counters.mmsim_truncated_pages, 6144, 'the pages before the VFIO mapping\'s went');
  });
});

describe('policies are mechanisms', () => {
  it('default (nothing pins) gives the same results under every pins.truncate', () => {
    const run = (p: string) => formatResultsJson(runScenario(loadScenario('default', ['duration=3s', `pins.truncate=${p}`])))
      .replace(`"truncate": "${p}"`, '"truncate": "none"');
    const base = run('none');
    for (const p of POLICIES.slice(1)) assert.ok(run(p) === base, `${p} changed the results`);
  });

  it('a file that is never truncated: every pins.truncate gives gup-writeback-bug\'s results', () => {
    const run = (p: string) => formatResultsJson(runScenario(loadScenario('gup-writeback-bug', ['pins.track=bias', 'pins.action=per-caller', `pins.truncate=${p}`])))
      .replace(`"truncate": "${p}"`, '"truncate": "none"');
    const base = run('none');
    for (const p of ['wait', 'fail', 'revoke']) assert.ok(run(p) === base, `${p} changed the results`);
  });
});

describe('bad input', () => {
  it('truncation policies that need to recognise pins are refused with track none (exit 2, no output)', async () => {
    const out = join(root, 'a');
    const r = await cli('run', 'truncate-pinned', '--set', 'pins.track=none', '--set', 'pins.truncate=revoke', '--out', out);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pins\.truncate: revoke acts on pages truncation believes pinned, but track none recognises no pin .*e\.g\. track: bias, or truncate: none/);
    assert.equal(existsSync(out), false);
  });

  it('revocation fields are for rdma-mr registrations only', async () => {
    const r = await cli('run', 'truncate-pinned', '--set', 'processes.vfio.workload.0.revocable=true', '--out', join(root, 'b'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /processes\.vfio\.workload\.0\.revocable: revocable is for rdma-mr registrations, and this dma phase is vfio \(a VFIO DMA mapping is never revocable\); e\.g\. \{ op: dma, model: rdma-mr, revocable: true \}/);
    const bad = await cli('run', 'truncate-pinned', '--set', 'pins.truncate=lease', '--out', join(root, 'c'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /pins\.truncate: "lease" is not one of .*williams/);
  });
});
