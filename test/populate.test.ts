/**
 * MAP_POPULATE (mm/gup.c populate_vma_page_range): private writable mappings are faulted in
 * for write (FOLL_WRITE), so a private file mapping gets its private copies at once; shared
 * mappings are faulted in for read. Populate runs under the mmap_lock (__mm_populate), not
 * the per-VMA lock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

function populated(vma: string) {
  return runScenario(scenarioFromYaml(`
name: populate
description: MAP_POPULATE of one 16 MiB mapping
duration: 1s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us } }
files: { data: { size: 16MiB, device: ssd } }
processes:
  app:
    vmas: { buf: ${vma} }
    workload: [{ op: sleep, duration: 1s }]
`));
}

const PAGES = 4096;

test('a private file mapping is populated for write: every page copied (do_cow_fault)', () => {
  const r = populated('{ type: file, file: data, size: 16MiB, populate: true }');
  assert.equal(r.counters.nr_anon_pages, PAGES, 'a private copy per page');
  assert.equal(r.counters.nr_mapped, 0, 'no file page stays mapped');
  assert.ok(r.counters.mmsim_pagecache_misses! > 0, 'the file was read to be copied');
  assert.equal(r.counters.vma_lock_success, 0, 'populate faults run under the mmap_lock');
});

test('a shared file mapping is populated for read: the page-cache pages mapped, nothing copied', () => {
  const r = populated('{ type: file, file: data, size: 16MiB, shared: true, populate: true }');
  assert.equal(r.counters.nr_mapped, PAGES);
  assert.equal(r.counters.nr_anon_pages, 0);
  assert.equal(r.counters.nr_dirtied, 0, 'a read fault dirties nothing');
});

test('an anonymous mapping is populated for write: a new page each, not the zero page', () => {
  const r = populated('{ type: anon, size: 16MiB, populate: true }');
  assert.equal(r.counters.nr_anon_pages, PAGES);
  assert.equal(r.counters.mmsim_zero_fill_faults, PAGES);
});
