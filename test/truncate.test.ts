/**
 * Truncation, hole punching, munmap and mprotect (assembly/truncate.ts, vma.ts, mprotect.ts):
 * each is one call of a workload, bracketed by the kernel's MMU notifier ranges
 * (MMU_NOTIFY_CLEAR for the zaps of truncate and punch, MMU_NOTIFY_UNMAP for munmap,
 * MMU_NOTIFY_PROTECTION_VMA for mprotect), sleeping where the kernel sleeps (a folio's lock or
 * writeback, a driver's lock in a notifier callback) and going on from there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../src/engine/engine.js';
import { scenarioFromYaml } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/mmsim.js', import.meta.url));

/** `mmsim run` of a scenario file written from `yaml`: its exit status, stderr and results.json. */
function cliRun(name: string, yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-truncate-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out, '--quiet'], { encoding: 'utf8' });
  const results = r.status === 0 ? JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) : undefined;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, results };
}

/** `mmsim validate` of `yaml`: its exit status and stderr. */
function cliValidate(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-truncate-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, yaml);
  return spawnSync(process.execPath, [BIN, 'validate', file], { encoding: 'utf8' });
}

/**
 * A 64 MiB file read whole (16,384 pages cached), its first 32 MiB rewritten (8,192 dirty; no
 * writeback runs before the sync: no periodic flush, the background threshold far above), then
 * `middle`, then sync.
 */
const cutYaml = (middle: string) => `
name: cut
duration: 5s
machine: { memory: 512MiB }
vm: { dirty_writeback_centisecs: 0, dirty_background_bytes: 256MiB, dirty_bytes: 400MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { data: { size: 64MiB, device: ssd } }
processes:
  app:
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
      - { op: write, target: data, pattern: sequential, length: 32MiB, ioSize: 1MiB }
      - ${middle}
      - { op: sync }
`;

test('truncate drops exactly the pages past the new size, cancels the dirty ones unwritten, and sync then writes only the rest', () => {
  const r = cliRun('cut', cutYaml('{ op: truncate, target: data, size: 16MiB }'));
  assert.equal(r.status, 0, r.stderr);
  const c = r.results.counters;
  const ctl = runScenario(scenarioFromYaml(cutYaml('{ op: sleep, duration: 1ms }'))).counters;
  assert.equal(ctl.nr_file_pages, 16384, 'without the truncate, the whole file stays cached');
  assert.equal(c.mmsim_truncate_calls, 1);
  assert.equal(c.mmsim_truncated_pages, 16384 - 4096, 'every cached page from 16 MiB on');
  assert.equal(c.nr_file_pages, 4096);
  assert.equal(c.nr_free_pages - ctl.nr_free_pages, 12288, 'and each went back to the allocator');
  assert.equal(c.nr_dirtied, 8192);
  assert.equal(c.mmsim_truncate_cancelled_dirty, 4096, 'the dirty pages from 16 MiB to 32 MiB');
  assert.equal(c.nr_written, 4096, 'sync writes only the dirty pages below the new size');
  assert.equal(ctl.nr_written, 8192);
  assert.equal(c.nr_dirty, 0);
  assert.equal(c.mmsim_sync_calls, 1);
  assert.equal(r.results.status, 'ok');
  assert.ok(r.results.simulatedSeconds < 1, 'sync returned: the cancelled pages are not waited for');
  assert.equal(c.mmsim_truncate_waits, 0, 'nothing was locked or under writeback');
});

test('truncate waits for the pages under writeback: the task sleeps until their IO completes', () => {
  const c = runScenario(scenarioFromYaml(`
name: cutwb
duration: 5s
machine: { memory: 512MiB }
vm: { dirty_background_bytes: 1MiB, dirty_bytes: 256MiB }
devices: { slow: { readBandwidth: 2GB/s, writeBandwidth: 10MB/s, queueDepth: 1 } }
files: { data: { size: 64MiB, device: slow } }
processes:
  app:
    workload:
      - { op: write, target: data, pattern: sequential, length: 32MiB, ioSize: 1MiB }
      - { op: truncate, target: data, size: 0 }
      - { op: sleep, duration: 10ms }
`)).counters;
  assert.ok(c.nr_written > 0 && c.nr_written <= 256, `the one request in flight (up to 1 MiB) was written: ${c.nr_written}`);
  assert.equal(c.nr_written + c.mmsim_truncate_cancelled_dirty, 8192, 'every other dirty page was cancelled');
  assert.ok(c.mmsim_truncate_waits >= 1, 'the second pass slept on a folio under writeback');
  // a 1 MiB request at 10 MB/s takes ~100 ms, and was submitted early in the 4 ms of writing
  assert.ok(c.mmsim_truncate_ns > 50e6 && c.mmsim_truncate_ns < 150e6, `truncate took ${c.mmsim_truncate_ns / 1e6} ms`);
  assert.equal(c.nr_file_pages, 0);
  assert.equal(c.nr_writeback, 0);
  assert.equal(c.mmsim_truncated_pages, 8192);
});

/** Two guests map the 64 MiB `disk` (reading all of it through kvm, in about 170 ms); `cutter` truncates it to 16 MiB at 500 ms. */
const guestsYaml = `
name: cutguests
duration: 2s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { disk: { size: 64MiB, device: ssd } }
processes:
  vm1:
    vmas: { ram: { type: file, file: disk, shared: true, size: 64MiB } }
    subscribers: { kvm: { client: kvm } }
    workload:
      - { op: guest, subscriber: kvm, target: ram, pattern: sequential, accesses: 16384 }
      - { op: sleep, duration: 700ms }
      - { op: guest, subscriber: kvm, target: ram, pattern: uniform, length: 16MiB, accesses: 10000 }
  vm2:
    vmas: { ram: { type: file, file: disk, shared: true, size: 64MiB } }
    subscribers: { kvm: { client: kvm } }
    workload:
      - { op: guest, subscriber: kvm, target: ram, pattern: sequential, accesses: 16384 }
      - { op: sleep, duration: 700ms }
      - { op: access, target: ram, start: 32MiB, length: 4KiB, accesses: 1 }
      - { op: sleep, duration: 1s }
  cutter:
    workload:
      - { op: sleep, duration: 500ms }
      - { op: truncate, target: disk, size: 16MiB }
`;

test('a truncate of a file two guests map invalidates both mms: their kvm translations past the end go, and a fault there is SIGBUS', () => {
  const r = cliRun('cutguests', guestsYaml);
  assert.equal(r.status, 0, r.stderr);
  const c = r.results.counters;
  assert.equal(c.mmsim_secondary_faults, 2 * 16384, 'each guest faulted its 16,384 pages in once');
  // truncate_pagecache unmaps twice (before and after truncate_inode_pages): one range per VMA each time
  assert.equal(c.mmsim_notifier_ranges_clear, 4);
  assert.equal(c.mmsim_notifier_invalidations, 4);
  // each guest loses exactly its translations from 16 MiB on; vm2's exit then releases the rest of its own
  assert.equal(c.mmsim_notifier_releases, 1);
  assert.equal(c.mmsim_secondary_invalidated, 2 * 12288 + 4096);
  assert.equal(c.mmsim_stale_secondary_tlb, 0);
  assert.equal(c.mmsim_notifier_unpaired_start + c.mmsim_notifier_unpaired_end, 0);
  assert.equal(c.mmsim_truncated_pages, 12288);
  assert.equal(c.mmsim_secondary_hits, 10000, 'vm1 goes on below the new size through the translations it kept');
  assert.equal(c.mmsim_sigbus, 1, 'vm2 touched 32 MiB, past the end');
  assert.equal(c.nr_mapped, 4096, 'what is left mapped: vm1\'s 16 MiB (vm2 is gone)');
  assert.equal(c.nr_file_pages, 4096);
  const hits = (r.results.detectors as { kind: string }[]).length;
  assert.equal(hits, 0);
});

/**
 * `data` read whole; 4 MiB of a private mapping of it written (1,024 private copies, anonymous)
 * inside [8 MiB, 16 MiB); then `cut` over that range; then the file read whole again and the
 * mapping's range touched.
 */
const privYaml = (cut: string) => `
name: punchcow
duration: 3s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { data: { size: 64MiB, device: ssd } }
processes:
  app:
    vmas: { priv: { type: file, file: data, size: 64MiB } }
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
      - { op: access, target: priv, pattern: sequential, writeFraction: 1, start: 8MiB, length: 4MiB }
      - ${cut}
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
`;

test('punch: the hole is unmapped and dropped, reads of it are zeros without device IO, private COWed pages stay; truncate zaps them', () => {
  const c = runScenario(scenarioFromYaml(privYaml('{ op: punch, target: data, start: 8MiB, length: 8MiB }'))).counters;
  assert.equal(c.mmsim_punch_calls, 1);
  assert.equal(c.mmsim_truncated_pages, 2048);
  assert.equal(c.nr_anon_pages, 1024, 'the private copies are not in the hole (no even_cows)');
  assert.equal(c.mmsim_hole_reads, 2048, 'the second read of the hole fills zeros');
  assert.equal(c.mmsim_pagecache_misses, 16384, 'and reads nothing from the device');
  assert.equal(c.pgpgin, 16384 * 4, 'KiB read: the first pass only');
  assert.equal(c.nr_file_pages, 16384, 'the file is whole in the page cache again, holes included');
  assert.equal(c.mmsim_notifier_ranges_clear, 0, 'no subscriber: no range is counted');

  const t = runScenario(scenarioFromYaml(privYaml('{ op: truncate, target: data, size: 8MiB }'))).counters;
  assert.equal(t.nr_anon_pages, 0, 'truncate zaps the private copies past the end too (even_cows)');
  assert.equal(t.mmsim_truncated_pages, 14336);
  assert.equal(t.nr_file_pages, 2048, 'the second read stops at the end of the file');
  assert.equal(t.mmsim_hole_reads, 0);
});

test('a read past the end of a truncated file reads nothing; a write past it extends the file, the gap a hole', () => {
  const c = runScenario(scenarioFromYaml(`
name: regrow
duration: 3s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { data: { size: 64MiB, device: ssd } }
processes:
  app:
    workload:
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
      - { op: truncate, target: data, size: 16MiB }
      - { op: write, target: data, pattern: sequential, start: 32MiB, length: 4MiB, ioSize: 1MiB }
      - { op: read, target: data, pattern: sequential, ioSize: 1MiB }
`)).counters;
  assert.equal(c.mmsim_accesses, 16384 + 1024 + 9216, 'the last read: 16 MiB cached, a 16 MiB hole, the 4 MiB written; nothing past 36 MiB');
  assert.equal(c.mmsim_hole_reads, 4096);
  assert.equal(c.mmsim_pagecache_misses, 16384);
  assert.equal(c.nr_file_pages, 4096 + 4096 + 1024);
});

test('munmap frees the VMA\'s anonymous memory and its swap slots, and its page tables', () => {
  const c = runScenario(scenarioFromYaml(`
name: unmap
duration: 5s
machine: { memory: 128MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
swap: { size: 512MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 192MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: munmap, target: heap }
      - { op: sleep, duration: 100ms }
`)).counters;
  assert.ok(c.pswpout > 10000, 'part of the heap was swapped out');
  assert.equal(c.mmsim_munmap_calls, 1);
  assert.equal(c.mmsim_notifier_ranges_unmap, 0, 'no subscriber: the range calls nobody');
  assert.equal(c.nr_anon_pages, 0, 'every resident page of the VMA went');
  assert.ok(c.mmsim_munmap_pages_freed > 10000);
  assert.equal(c.nr_swap_pages_used, c.nr_swapcached, 'no slot is left but those of pages still in the swap cache');
  assert.equal(c.nr_page_table_pages, 1, 'the PTE, PMD and PUD tables are gone; the PGD stays');
});

test('mprotect: read-only write-protects every present PTE; writable again gives the write bit back only where the kernel does at once', () => {
  const c = runScenario(scenarioFromYaml(`
name: prot
duration: 5s
machine: { memory: 512MiB }
vm: { dirty_writeback_centisecs: 0, dirty_background_bytes: 256MiB, dirty_bytes: 400MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { data: { size: 16MiB, device: ssd } }
processes:
  app:
    vmas:
      heap: { type: anon, size: 16MiB }
      shm: { type: file, file: data, size: 16MiB, shared: true }
    subscribers: { kvm: { client: kvm } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: guest, subscriber: kvm, target: heap, pattern: sequential, accesses: 4096 }
      - { op: access, target: shm, pattern: sequential, writeFraction: 1 }
      - { op: mprotect, target: heap, mode: read }
      - { op: mprotect, target: shm, mode: read }
      - { op: access, target: heap, pattern: sequential }
      - { op: mprotect, target: heap, mode: read }
      - { op: mprotect, target: heap, mode: write }
      - { op: mprotect, target: shm, mode: write }
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: access, target: shm, pattern: sequential, writeFraction: 1 }
      - { op: sync }
      - { op: mprotect, target: shm, mode: read }
      - { op: mprotect, target: shm, mode: write }
      - { op: access, target: shm, pattern: sequential, writeFraction: 1 }
`)).counters;
  assert.equal(c.mmsim_mprotect_calls, 6, 'the second read-only mprotect of heap changed nothing (mprotect_fixup)');
  assert.equal(c.mmsim_notifier_ranges_protection_vma, 6, 'one range per call: each VMA lies in one PGD entry');
  assert.equal(c.mmsim_mprotect_ptes, 6 * 4096);
  assert.equal(c.mmsim_secondary_invalidated, 4096, 'kvm loses its translations of heap at the first mprotect');
  // 4,096 faults each: heap's first stores, shm's first stores, and shm's stores after sync
  // cleaned its PTEs (clean shared PTEs stay read-only through mprotect: they need page_mkwrite);
  // heap's anonymous exclusive pages and shm's dirty PTEs were made writable at once
  // (a fault that slept on its read is retried, and counts again: one per readahead window)
  assert.equal(c.pgfault, 3 * 4096 + c.pgmajfault);
  assert.equal(c.nr_written, 4096);
});

/**
 * A driver of `vm`'s mm whose callbacks take `obj`, which `holder` keeps from 0 to `ms`; vm
 * maps the 64 MiB `disk` (all of it read in, in about 90 ms), then `vmWork`.
 */
const heldYaml = (ms: number, vmWork: string, cutter: string) => `
name: held
duration: 2s
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s } }
files: { disk: { size: 64MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:
  holder:
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: ${ms}ms }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 10s }
  vm:
    vmas: { ram: { type: file, file: disk, shared: true, size: 64MiB } }
    subscribers: { drv: { client: generic, lock: obj } }
    workload:
      - { op: access, target: ram, pattern: sequential }
${vmWork}
${cutter}
`;

test('a driver\'s lock held elsewhere: truncate sleeps in invalidate_range_start and goes on when it is released', () => {
  const c = runScenario(scenarioFromYaml(heldYaml(300, '      - { op: sleep, duration: 1s }', `
  cutter:
    workload:
      - { op: sleep, duration: 100ms }
      - { op: truncate, target: disk, size: 0 }`))).counters;
  assert.equal(c.mmsim_notifier_sleeps, 1, 'the cutter slept once on obj, in vm\'s driver');
  assert.ok(c.mmsim_truncate_ns >= 199e6 && c.mmsim_truncate_ns < 205e6, `from 100 ms until obj came at 300 ms: ${c.mmsim_truncate_ns / 1e6} ms`);
  assert.equal(c.mmsim_truncated_pages, 16384, 'and then it finished');
  assert.equal(c.nr_mapped, 0);
  assert.equal(c.nr_file_pages, 0);
  assert.equal(c.mmsim_notifier_ranges_clear, 2);
  assert.equal(c.mmsim_deadlock + c.mmsim_hung_task + c.mmsim_notifier_unpaired_start + c.mmsim_notifier_unpaired_end, 0);
});

test('munmap sleeps in its MMU_NOTIFY_UNMAP range under the read-locked mmap_lock, and goes on when the driver\'s lock comes', () => {
  const run = (ms: number) => runScenario(scenarioFromYaml(heldYaml(ms, `      - { op: sleep, duration: 100ms }
      - { op: munmap, target: ram }
      - { op: sleep, duration: 1s }`, ''))).counters;
  const c = run(600);
  const free = run(0);
  assert.equal(c.mmsim_munmap_calls, 1);
  assert.equal(c.mmsim_notifier_ranges_unmap, 1);
  assert.equal(c.mmsim_notifier_sleeps, 1);
  assert.equal(free.mmsim_notifier_sleeps, 0, 'with the lock free the range does not sleep');
  // the munmap starts at about 190 ms, and sleeps until the holder lets go at 600 ms
  assert.ok(c.mmsim_lock_wait_ns > 350e6 && c.mmsim_lock_wait_ns < 450e6, `it waited for obj: ${c.mmsim_lock_wait_ns / 1e6} ms`);
  assert.equal(c.nr_mapped, 0, 'the file pages are unmapped (and stay cached)');
  assert.equal(c.nr_file_pages, 16384);
  assert.equal(c.mmsim_notifier_unpaired_start + c.mmsim_notifier_unpaired_end, 0);
});

test('truncate, punch and mprotect against reclaim, writeback, a guest and a driver\'s lock: the checking mode finds nothing', () => {
  const r = cliRun('busy', `
name: busy
duration: 3s
check: true
machine: { memory: 128MiB }
vm: { dirty_background_bytes: 2MiB, dirty_bytes: 16MiB }
devices: { ssd: { readBandwidth: 500MB/s, writeBandwidth: 100MB/s, queueDepth: 4 } }
swap: { size: 256MiB, device: ssd }
files: { data: { size: 256MiB, device: ssd } }
locks: { obj: { kind: mutex } }
processes:
  holder:
    loop: true
    workload:
      - { op: lock, target: obj }
      - { op: sleep, duration: 30ms }
      - { op: unlock, target: obj }
      - { op: sleep, duration: 70ms }
  mapper:
    loop: true
    vmas:
      map: { type: file, file: data, size: 64MiB, shared: true }
      priv: { type: file, file: data, offset: 64MiB, size: 64MiB }
      heap: { type: anon, size: 64MiB }
    subscribers:
      drv: { client: generic, lock: obj }
      kvm: { client: kvm }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5, accesses: 4000 }
      - { op: guest, subscriber: kvm, target: map, pattern: uniform, writeFraction: 0.3, accesses: 4000 }
      - { op: access, target: priv, pattern: uniform, writeFraction: 0.3, accesses: 4000 }
      - { op: mprotect, target: heap, mode: read }
      - { op: access, target: heap, pattern: uniform, accesses: 4000 }
      - { op: mprotect, target: heap, mode: write }
      - { op: write, target: data, pattern: uniform, start: 128MiB, length: 64MiB, accesses: 2000 }
  cutter:
    loop: true
    workload:
      - { op: read, target: data, pattern: uniform, accesses: 2000 }
      - { op: punch, target: data, start: 16MiB, length: 8MiB }
      - { op: punch, target: data, start: 72MiB, length: 8MiB }
      - { op: truncate, target: data, size: 200MiB }
      - { op: sleep, duration: 20ms }
      - { op: truncate, target: data, size: 256MiB }
`);
  assert.equal(r.status, 0, r.stderr);
  const c = r.results.counters;
  assert.equal(r.results.detectorsTotal, 0, JSON.stringify(r.results.detectors).slice(0, 500));
  assert.ok(c.mmsim_truncate_calls > 5 && c.mmsim_punch_calls > 5 && c.mmsim_mprotect_calls >= 2);
  assert.ok(c.pgscan_kswapd > 0 && c.nr_written > 0 && c.mmsim_notifier_sleeps > 0, 'under reclaim, writeback and a contended driver lock');
  assert.ok(c.mmsim_notifier_ranges_clear > 0 && c.mmsim_notifier_ranges_protection_vma > 0);
  assert.equal(c.mmsim_sigbus, 0);
});

test('bad truncate, punch, munmap and mprotect phases are refused with the field, the value and an example (exit 2)', () => {
  const r = cliValidate(`
name: bad
machine: { memory: 512MiB }
devices: { ssd: { readBandwidth: 2GB/s } }
files: { data: { size: 64MiB, device: ssd } }
processes:
  app:
    vmas:
      heap: { type: anon, size: 64MiB }
      ro: { type: anon, size: 4MiB }
    workload:
      - { op: munmap, target: heap }
      - { op: access, target: heap }
      - { op: mprotect, target: ro, mode: read }
      - { op: access, target: ro, writeFraction: 0.1 }
      - { op: truncate, target: data, size: 128MiB }
      - { op: truncate, target: heap }
      - { op: punch, target: data, start: 32MiB, length: 64MiB }
      - { op: munmap, target: ro, length: 4KiB }
      - { op: truncate, target: data, duration: 1s }
`);
  assert.equal(r.status, 2, r.stderr);
  const e = r.stderr;
  assert.match(e, /workload\.1\.target: VMA heap was unmapped by workload\.0 \(op: munmap\) and nothing maps it again; an access of it would be SIGSEGV/);
  assert.match(e, /workload\.3\.writeFraction: 0\.1 of the accesses are stores to VMA ro, which workload\.2 made read-only .*e\.g\. writeFraction: 0, or an \{ op: mprotect, target: ro, mode: write \} phase/);
  assert.match(e, /workload\.4\.size: 128MiB is larger than file data \(64MiB\).*e\.g\. size: 32MiB/);
  assert.match(e, /workload\.5\.target: "heap" is not a file; the files are: data \(e\.g\. target: data\)/);
  assert.match(e, /workload\.6\.length: start 32MiB \+ length 64MiB runs past the end of data \(64MiB\)/);
  assert.match(e, /workload\.7\.length: 4KiB given, but munmap takes a whole VMA here \(VMAs do not split\); remove it/);
  assert.match(e, /workload\.8\.duration: 1s given for op truncate, which is one call/);

  const loop = cliValidate(`
name: loop
machine: { memory: 512MiB }
processes:
  app:
    loop: true
    vmas: { heap: { type: anon, size: 64MiB } }
    workload:
      - { op: access, target: heap, writeFraction: 1, accesses: 1000 }
      - { op: munmap, target: heap }
`);
  assert.equal(loop.status, 2);
  assert.match(loop.stderr, /workload\.0\.target: VMA heap was unmapped by workload\.1 .*\(the workload loops: that phase runs before this one's next turn\)/);

  const nodes = cliValidate(`
name: nodes
machine: { memory: 1GiB, nodes: 2 }
devices: { ssd: { readBandwidth: 2GB/s } }
files: { data: { size: 64MiB, device: ssd } }
processes:
  reader: { node: 1, workload: [{ op: read, target: data }] }
  cutter: { node: 0, workload: [{ op: truncate, target: data }] }
`);
  assert.equal(nodes.status, 2);
  assert.match(nodes.stderr, /processes\.cutter\.workload\.0\.target: file data is also used by process reader on node 1, but process cutter truncates it on node 0.*e\.g\. node: 0 for process reader/);
});

test('a task OOM-killed while its truncate waits for writeback finishes the truncate (folio_wait_writeback is uninterruptible), then exits', () => {
  const r = runScenario(scenarioFromYaml(`
name: killcut
duration: 5s
check: true
machine: { memory: 384MiB }
vm: { dirty_background_bytes: 1MiB, dirty_bytes: 256MiB }
devices: { slow: { readBandwidth: 2GB/s, writeBandwidth: 5MB/s, queueDepth: 1 } }
files: { data: { size: 64MiB, device: slow } }
processes:
  victim:
    vmas: { heap: { type: anon, size: 240MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: write, target: data, pattern: sequential, length: 16MiB, ioSize: 1MiB }
      - { op: truncate, target: data, size: 0 }
      - { op: sleep, duration: 10s }
  hog:
    start: 80ms
    vmas: { heap: { type: anon, size: 200MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: sleep, duration: 10s }
`));
  const c = r.counters;
  assert.equal(r.detectorsTotal, 0);
  assert.equal(c.oom_kill, 1);
  const kill = r.oomKills[0]!;
  assert.equal(kill.taskName, 'victim');
  assert.ok(c.mmsim_truncate_waits >= 1);
  // the 1 MiB request at 5 MB/s in flight when the truncate began: its completion, then the exit
  assert.ok(kill.exitAtNs! - kill.timeNs > 100e6, `the exit came ${(kill.exitAtNs! - kill.timeNs) / 1e6} ms after the kill`);
  assert.equal(c.mmsim_truncate_calls, 1);
  assert.equal(c.nr_file_pages, 0, 'the truncate was done');
  assert.equal(c.nr_written + c.mmsim_truncate_cancelled_dirty, 4096);
});

test('munmap and mprotect under the mmap_lock a lock phase holds for write run under it (do_vmi_munmap without unlock); held for read they deadlock', () => {
  const yaml = (mode: string) => `
name: heldmm
duration: 1s
machine: { memory: 256MiB }
processes:
  app:
    vmas:
      heap: { type: anon, size: 16MiB }
      buf: { type: anon, size: 16MiB }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: access, target: buf, pattern: sequential, writeFraction: 1 }
      - { op: lock, target: mmap_lock, mode: ${mode} }
      - { op: mprotect, target: buf, mode: read }
      - { op: munmap, target: heap }
      - { op: unlock, target: mmap_lock }
      - { op: access, target: buf, pattern: sequential }
`;
  const w = runScenario(scenarioFromYaml(yaml('write'))).counters;
  assert.equal(w.mmsim_deadlock, 0);
  assert.equal(w.mmsim_munmap_calls, 1);
  assert.equal(w.mmsim_mprotect_calls, 1);
  assert.equal(w.nr_anon_pages, 4096, 'buf is left');
  assert.equal(w.nr_page_table_pages, 11, "heap's PTE and PMD tables went; the PGD, the PUD table buf shares, buf's PMD and 8 PTE tables stay");
  assert.equal(w.mmsim_tasks_finished, 1, 'the unlock released what the lock phase took');
  const r = runScenario(scenarioFromYaml(yaml('read'))).counters;
  assert.equal(r.mmsim_deadlock, 1, 'mmap_write_lock behind its own read lock');
  assert.equal(r.mmsim_mprotect_calls, 0);
});

test('a device pinning a VMA its owner munmapped or made read-only: refused by validation in the same process, -EFAULT at run time from another', () => {
  const own = cliValidate(`
name: dmagone
machine: { memory: 512MiB }
processes:
  app:
    vmas: { buf: { type: anon, size: 16MiB }, ro: { type: anon, size: 16MiB } }
    workload:
      - { op: munmap, target: buf }
      - { op: dma, model: rdma-mr, target: buf, duration: 1s }
      - { op: mprotect, target: ro, mode: read }
      - { op: dma, model: rdma-mr, target: ro, writeFraction: 1, duration: 1s }
`);
  assert.equal(own.status, 2);
  assert.match(own.stderr, /workload\.1\.target: VMA buf was unmapped by workload\.0 .*fail to pin it \(EFAULT\)/);
  assert.match(own.stderr, /workload\.3\.writeFraction: 1 of the accesses are stores to VMA ro, .*a write pin of it fails \(EFAULT\)/);

  const c = runScenario(scenarioFromYaml(`
name: dmaremote
duration: 1s
machine: { memory: 512MiB }
processes:
  app:
    vmas: { buf: { type: anon, size: 16MiB } }
    workload:
      - { op: access, target: buf, pattern: sequential, writeFraction: 1 }
      - { op: munmap, target: buf }
      - { op: sleep, duration: 1s }
  nic:
    start: 100ms
    workload:
      - { op: dma, model: rdma-mr, process: app, target: buf, writeFraction: 1, duration: 500ms }
`)).counters;
  assert.equal(c.mmsim_munmap_calls, 1);
  assert.equal(c.nr_foll_pin_acquired, 0, 'pin_user_pages_remote finds no VMA: the registration fails');
  assert.equal(c.nr_anon_pages, 0, 'and faults nothing back into the unmapped range');
  assert.equal(c.nr_page_table_pages, 2, 'the two PGDs only');
});
