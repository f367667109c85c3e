/**
 * Kernel rules that had no test of their own (issue #13): each asserted on a run that exercises it,
 * with the figures the kernel's rule gives (mm/workingset.c, mm/vmscan.c, mm/swap.c,
 * mm/page-writeback.c, mm/memory.c, mm/swap_state.c, mm/oom_kill.c).
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

/** A page cache a reader fills, then evicts by reading `evictor`, then reads again (mm/workingset.c). */
function refaultYaml(evictor: string, swap: string): string {
  return `
name: refault-distance
description: a file read, pushed out by another, read again; an anonymous heap beside them
duration: 3s
machine: { memory: 128MiB }
vm: { swappiness: 0 }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: ${swap}, device: ssd }
files:
  a: { size: 32MiB, device: ssd }
  b: { size: ${evictor}, device: ssd }
processes:
  hold:
    vmas: { heap: { type: anon, size: 48MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
      - { op: sleep, duration: 10s }
  reader:
    start: 100ms
    workload:
      - { op: read, target: a, pattern: sequential, ioSize: 128KiB }
      - { op: read, target: b, pattern: sequential, ioSize: 128KiB }
      - { op: read, target: a, pattern: sequential, ioSize: 128KiB }
`;
}

test('workingset_refault: a refault within the workingset size is activated, a far one is not; anon counts only with free swap', () => {
  // workingset_test_recent: refault_distance = nonresident_age now - at eviction; activate when
  // it is ≤ NR_ACTIVE_FILE + (free swap ? NR_ACTIVE_ANON + NR_INACTIVE_ANON : 0). Nothing here is
  // read twice before its eviction, so the active file list is empty and the 48 MiB heap
  // (12,288 pages, kept by swappiness 0) is the workingset size a file refault is measured against.
  const aPages = (32 << 20) / 4096;
  const near = runScenario(scenarioFromYaml(refaultYaml('48MiB', '256MiB'))).counters;
  assert.equal(near.workingset_refault_file, aPages, 'every page of a comes back through a shadow entry');
  assert.equal(near.workingset_activate_file, aPages, '48 MiB read in between: every distance fits');
  assert.equal(near.pgsteal_anon, 0, 'swappiness 0 kept the heap');
  // b is 512 MiB: each of a's pages was evicted more than 98,000 evictions before it refaults
  const far = runScenario(scenarioFromYaml(refaultYaml('512MiB', '256MiB'))).counters;
  assert.equal(far.workingset_refault_file, aPages);
  assert.equal(far.workingset_activate_file, 0, 'no distance fits 12,288 pages');
  // without swap the heap is no competitor: the workingset is the (empty) active file list
  const noSwap = runScenario(scenarioFromYaml(refaultYaml('48MiB', '0'))).counters;
  assert.equal(noSwap.workingset_refault_file, aPages);
  assert.equal(noSwap.workingset_activate_file, 0);
  // PG_workingset is set only on deactivation (shrink_active_list) or a restore: a page never
  // active is never restored
  for (const c of [near, far, noSwap]) assert.equal(c.workingset_restore_file, 0);
});

test('workingset_refault on swap-in: every page read from swap had a shadow; restore ⊆ activate ⊆ refault', () => {
  const c = runScenario(scenarioFromYaml(`
name: anon-refault
description: a Zipf heap half again as large as memory
duration: 2s
machine: { memory: 64MiB }
vm: { swappiness: 100 }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 256MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: heap, pattern: zipf, writeFraction: 0.5 }
`)).counters;
  // reclaim leaves a shadow in the swap cache slot of every page it swaps out (__remove_mapping →
  // workingset_eviction), and a swap-in, readahead included, finds it (workingset_refault)
  assert.ok(c.pswpin! > 0);
  assert.equal(c.workingset_refault_anon, c.pswpin);
  assert.ok(c.workingset_activate_anon! > 0 && c.workingset_activate_anon! < c.workingset_refault_anon!,
    `activate ${c.workingset_activate_anon} of ${c.workingset_refault_anon} refaults`);
  // hot pages were active, deactivated with PG_workingset and swapped: restored on refault
  assert.ok(c.workingset_restore_anon! > 0 && c.workingset_restore_anon! <= c.workingset_activate_anon!,
    `restore ${c.workingset_restore_anon}, activate ${c.workingset_activate_anon}`);
  assert.equal(c.workingset_refault_file, 0);
});

test('pgrotated: pages reclaim wrote with PG_reclaim rotate to the inactive tail when their writeback ends; flusher writeback never rotates', () => {
  // pageout() sets PG_reclaim before swap_writepage; folio_end_writeback → folio_rotate_reclaimable
  // moves the clean, unlocked folio to the tail (lru_move_tail counts PGROTATED)
  const swapping = runScenario(scenarioFromYaml(`
name: rotate
description: an anonymous working set larger than memory
duration: 2s
machine: { memory: 64MiB }
vm: { swappiness: 100 }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 256MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: heap, pattern: zipf, writeFraction: 0.5 }
`)).counters;
  assert.ok(swapping.nr_vmscan_write! > 0);
  assert.ok(swapping.pgrotated! > 0);
  assert.ok(swapping.pgrotated! <= swapping.nr_vmscan_write! + swapping.nr_vmscan_immediate_reclaim!,
    `rotated ${swapping.pgrotated} > pages reclaim marked PG_reclaim`);
  // none was redirtied, relocked or isolated again before its write completed here: all rotate
  assert.equal(swapping.pgrotated, swapping.nr_vmscan_write);
  // background writeback of a file, no memory pressure: pages are written, none rotates
  const flushing = runScenario(scenarioFromYaml(laptopYaml('32MiB'))).counters;
  assert.ok(flushing.nr_written! > 0);
  assert.equal(flushing.pgscan_kswapd! + flushing.pgscan_direct!, 0);
  assert.equal(flushing.pgrotated, 0);
});

test('pgreuse: the zero page is copied on write, not reused; a swap-in is mapped writable, so the next write takes no do_wp_page', () => {
  // do_anonymous_page maps a read fault to the shared zero page; the write that follows is a
  // do_wp_page on a page that is not anonymous: wp_page_copy, never wp_page_reuse (PGREUSE)
  const pages = (32 << 20) / 4096;
  const zero = runScenario(scenarioFromYaml(`
name: zero-page
description: a fresh heap read, then written
duration: 2s
machine: { memory: 128MiB }
processes:
  app:
    vmas: { heap: { type: anon, size: 32MiB } }
    workload:
      - { op: access, target: heap, pattern: sequential, writeFraction: 0 }
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
`)).counters;
  assert.equal(zero.pgfault, 2 * pages, 'a read fault and a write fault per page');
  assert.equal(zero.mmsim_zero_fill_faults, pages, 'every write copied (zero-filled) a new page');
  assert.equal(zero.pgreuse, 0);
  // do_swap_page (since v6.11) maps an exclusive page writable even on a read fault, so a page
  // read back from swap and then written takes no write-protect fault: pgreuse stays 0. mmsim
  // has no fork, KSM, mprotect or SWP_STABLE_WRITES swap, the only ways to a read-only PTE of
  // an exclusive anon page: do_wp_page's reuse path is not reached.
  const swapped = runScenario(scenarioFromYaml(`
name: reuse-swap
description: a heap written past memory, read back from swap, written again
duration: 4s
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
      - { op: access, target: heap, pattern: sequential, writeFraction: 1 }
`)).counters;
  assert.ok(swapped.pswpin! > 0 && swapped.mmsim_tasks_finished === 1);
  assert.equal(swapped.pgreuse, 0);
});

test('VM_EXEC: shrink_active_list gives referenced executable file pages another trip on the active list; others are deactivated', () => {
  const y = (exec: boolean) => `
name: exec-text
description: a program's text next to a reader thrashing the page cache
duration: 3s
machine: { memory: 128MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us }
files:
  bin: { size: 16MiB, device: ssd }
  data: { size: 256MiB, device: ssd }
processes:
  app:
    vmas: { text: { type: file, file: bin, size: 16MiB, exec: ${exec} } }
    workload:
      - { op: access, target: text, pattern: uniform, rate: 200000 }
  reader:
    workload:
      - { op: read, target: data, pattern: uniform, ioSize: 4KiB }
`;
  // every active page scanned (pgrefill) is deactivated (pgdeactivate) unless it is rotated:
  // referenced (folio_referenced) and mapped VM_EXEC and file-backed
  const text = runScenario(scenarioFromYaml(y(true))).counters;
  const data = runScenario(scenarioFromYaml(y(false))).counters;
  assert.equal(data.pgdeactivate, data.pgrefill, 'without VM_EXEC a referenced page is deactivated all the same');
  const rotated = text.pgrefill! - text.pgdeactivate!;
  assert.ok(rotated > text.pgrefill! / 4, `rotated ${rotated} of ${text.pgrefill} scanned`);
  // kept active, the text is refaulted less
  assert.ok(text.pgmajfault! < data.pgmajfault!, `major faults ${text.pgmajfault} (exec) vs ${data.pgmajfault}`);
});

/** A writer that dirties `size` of a file at once on a 256 MiB machine, then sleeps for 2 s. */
function laptopYaml(size: string): string {
  return `
name: laptop-mode
description: a writer dirtying a file, then idle
duration: 3s
machine: { memory: 256MiB }
devices:
  disk: { readBandwidth: 200MB/s, writeBandwidth: 100MB/s, readLatency: 1ms, writeLatency: 2ms }
files:
  out: { size: ${size}, device: disk }
processes:
  writer:
    workload:
      - { op: write, target: out, pattern: sequential, ioSize: 1MiB }
      - { op: sleep, duration: 2s }
`;
}

test('vm.laptop_mode: no background writeback until dirty pages pass the freerun ceiling, then down to the background threshold', () => {
  // balance_dirty_pages: "if (!laptop_mode && nr_reclaimable > gdtc->bg_thresh &&
  // !writeback_in_progress(wb)) wb_start_background_writeback(wb)"; past the freerun ceiling
  // writeback starts "even when in laptop mode". The periodic flusher (5 s) does not run in 3 s.
  const below = (l: number) => runScenario(scenarioFromYaml(laptopYaml('32MiB'), [`vm.laptop_mode=${l}`])).counters;
  const normal = below(0);
  const laptop = below(1);
  const pages = (32 << 20) / 4096;
  // 8,192 dirty pages: over the background threshold (6,443), under freerun (9,671)
  assert.ok(normal.nr_dirty_background_threshold! < pages && pages < normal.mmsim_dirty_freerun!,
    `bg ${normal.nr_dirty_background_threshold}, freerun ${normal.mmsim_dirty_freerun}`);
  assert.ok(normal.nr_written! > 0);
  assert.ok(normal.nr_dirty! <= normal.nr_dirty_background_threshold!, 'written down to the background threshold');
  assert.equal(laptop.nr_written, 0);
  assert.equal(laptop.nr_dirty, pages, 'everything is still dirty');
  assert.equal(laptop.mmsim_flusher_pages_background, 0);
  // 12,288 dirty pages pass freerun: laptop mode writes too, down to the background threshold
  const over = runScenario(scenarioFromYaml(laptopYaml('48MiB'), ['vm.laptop_mode=1'])).counters;
  assert.ok(over.nr_written! > 0);
  assert.ok(over.nr_dirty! <= over.nr_dirty_background_threshold!);
});

test('vm.swappiness in get_scan_count: 0 scans no anon while there is file cache, and only anon when the file LRU is tiny; more swappiness, more anon', () => {
  const y = `
name: swappiness
description: a heap and a reader refaulting its file, together past memory
duration: 2s
machine: { memory: 128MiB }
devices:
  ssd: { readBandwidth: 2GB/s, writeBandwidth: 1GB/s, readLatency: 50us, writeLatency: 100us, queueDepth: 32 }
swap: { size: 512MiB, device: ssd }
files:
  data: { size: 96MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: heap, pattern: uniform, writeFraction: 0.5 }
  reader:
    workload:
      - { op: read, target: data, pattern: uniform, ioSize: 4KiB }
`;
  const at = (s: number) => runScenario(scenarioFromYaml(y, [`vm.swappiness=${s}`])).counters;
  // SCAN_FRACT: ap = swappiness × (total_cost + 1) / (anon_cost + 1), fp = (200 − swappiness) × …
  const zero = at(0);
  assert.equal(zero.pgscan_anon, 0);
  assert.equal(zero.pswpout, 0);
  assert.ok(zero.pgscan_file! > 0);
  const ratio = (c: Record<string, number | undefined>) => c.pgscan_anon! / c.pgscan_file!;
  const rs = [1, 60, 100, 200].map((s) => ratio(at(s)));
  for (let i = 1; i < rs.length; i++) assert.ok(rs[i]! > rs[i - 1]!, `anon/file scan ratios ${rs.join(', ')}`);
  // swappiness 200: fp = 0, file is scanned only outside SCAN_FRACT (cache trim, priority 0)
  assert.ok(rs[3]! > 10, `swappiness 200 scans anon ${rs[3]}× as much as file`);
  // no page cache to speak of: file_is_tiny (file + free ≤ high watermarks) forces SCAN_ANON,
  // even at swappiness 0 (global reclaim)
  const tiny = runScenario(scenarioFromYaml(`
name: tiny-file
description: an anonymous heap larger than memory, no files
duration: 2s
machine: { memory: 64MiB }
vm: { swappiness: 0 }
devices:
  ssd: { readBandwidth: 1GB/s, writeBandwidth: 500MB/s, readLatency: 50us, writeLatency: 100us }
swap: { size: 256MiB, device: ssd }
processes:
  app:
    vmas: { heap: { type: anon, size: 96MiB } }
    workload:
      - { op: access, target: heap, pattern: zipf, writeFraction: 0.5 }
`)).counters;
  assert.ok(tiny.pgscan_anon! > 0 && tiny.pswpout! > 0, `anon scanned ${tiny.pgscan_anon}, swapped ${tiny.pswpout}`);
  assert.equal(tiny.pgscan_file, 0);
  assert.equal(tiny.oom_kill, 0);
});
