/**
 * OOM kills are reported (mm/oom_kill.c dump_header / "Out of memory: Killed process"): each
 * names its victim, the victim's oom_badness (rss + swap entries + page tables, shifted by
 * oom_score_adj per mille of memory) and what its exit freed, in results.json and the summary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = fileURLToPath(new URL('../../bin/mmsim.js', import.meta.url));

test('an OOM kill names the victim, its badness and the pages its exit freed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-oom-'));
  const file = join(dir, 'oom.yaml');
  // no swap: the two heaps (2 × 96 MiB) cannot both fit in 128 MiB; the big one is chosen
  // although the small one is favoured by oom_score_adj only a little
  writeFileSync(file, `
name: oom
description: two writers without swap
duration: 1s
machine: { memory: 128MiB }
processes:
  big:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
  small:
    oom_score_adj: 10
    vmas: { heap: { type: anon, size: 64MiB } }
    workload: [{ op: access, target: heap, writeFraction: 1 }]
`);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  const kills = res.oomKills;
  assert.equal(kills.length, res.counters.oom_kill);
  assert.ok(kills.length >= 1);
  const k = kills[0];
  assert.ok(k.taskName === 'big' || k.taskName === 'small');
  // badness: the victim's rss (+ page tables, + oom_score_adj × memory/1000) when chosen — at
  // most its heap plus its tables and bias, at least what its exit freed
  assert.ok(k.freedPages > 1000 && k.badness >= k.freedPages && k.badness <= 96 * 256 + 64 + 10 * 32, JSON.stringify(k));
  assert.equal(res.counters.mmsim_oom_pages_freed, kills.reduce((a: number, d: { freedPages: number }) => a + d.freedPages, 0));
  // a report, not a detector: nothing is wrong with the kernel
  assert.equal(res.detectorsTotal, 0);
  assert.match(r.stdout, new RegExp(`OOM kill at [0-9.]+m?s: ${k.taskName} \\(badness ${k.badness.toLocaleString('en-US')} pages\\), its exit freed ${k.freedPages.toLocaleString('en-US')} pages`));
});
