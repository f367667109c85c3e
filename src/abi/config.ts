/**
 * The config blob's layout: the one source of truth for both sides. The host encodes a
 * validated scenario into a Float64Array laid out as below (src/engine/encode.ts); the WASM core
 * reads it with the constants `scripts/gen-abi.mjs` generates from these lists
 * (e.g. G_MEMORY_PAGES, PROC_STRIDE, PH_THETA). Every value is an f64 in base units
 * (pages, ns, pages per second); flags are small integers.
 *
 * Blob = [global fields][devices][files][processes][vmas][phases], each table's offset and
 * count stored in the global fields.
 */
/** The config blob's layout version: init() refuses a blob of another one. */
export const ABI_VERSION = 9;

export const GLOBAL_FIELDS = [
  'version',
  'memoryPages', 'hz', 'seed', 'durationNs', 'seriesIntervalNs',
  // vm.* sysctls
  'swappiness', 'minFreeKbytes', 'watermarkScaleFactor', 'pageCluster',
  'laptopMode', 'lowmemReserveDma', 'lowmemReserveDma32', 'lowmemReserveNormal', 'readAheadPages',
  'dirtyRatio', 'dirtyBackgroundRatio', 'dirtyBytes', 'dirtyBackgroundBytes', 'dirtyExpireCentisecs',
  'dirtyWritebackCentisecs',
  // one node of a sharded machine: run to the end even when its own workloads have ended
  'noEarlyEnd',
  // swap
  'swapPages', 'swapDevice',
  // costs (ns)
  'costAccess', 'costMinorFault', 'costZeroFill', 'costScanPage', 'costFreePage', 'costSyscallPage',
  'costRmapWalk',
  // tables
  'devicesOff', 'nDevices', 'filesOff', 'nFiles', 'procsOff', 'nProcs', 'vmasOff', 'nVmas',
  'phasesOff', 'nPhases', 'locksOff', 'nLocks',
  // kernel.hung_task_timeout_secs in ns (0 = off); the checking mode (--check)
  'hungTaskTimeoutNs', 'check',
  // CONFIG_MEMCG: reclaim reads the root memcg's rstat copies of the lruvec statistics, flushed
  // this often (0 = live counters)
  'memcgStatsFlushNs',
  // MMU notifiers: subscriptions, the core's policy and the reaper's rule (NOTIFIER_*)
  'subscribersOff', 'nSubscribers', 'notifierPolicy', 'notifierReaper',
  // DMA pins (GUP): how a pin is recognised, what the kernel does with a page it believes
  // pinned (PINS_*) and the per-process limit on long-term pins (RLIMIT_MEMLOCK-like, pages; 0 = none)
  'pinsTrack', 'pinsAction', 'pinsLimitPages',
  // MMU_NOTIFIER_RANGE_MAYFAIL on try_to_unmap_one's ranges (the rejected 2020 patch), and how a
  // gpu-userptr driver builds its objects and answers invalidations (USERPTR_POLICY)
  'notifierMayfail', 'userptrPolicy',
  // truncate and hole punching against pinned pages (PINS_TRUNCATE), and the time a revocation
  // request has before the kernel revokes itself (lease-break-time)
  'pinsTruncate', 'pinsRevokeTimeoutNs',
  // DAMON (mm/damon): a kdamond monitors the processes whose damonTarget is ≥ -1, with these
  // monitoring attributes (ns, region counts) from damonStartNs
  'damonOn', 'damonSampleNs', 'damonAggrNs', 'damonUpdateNs', 'damonMinNrRegions', 'damonMaxNrRegions', 'damonStartNs',
  // ZONE_MOVABLE: this node's kernelcore in pages as find_zone_movable_pfns_for_nodes computes it
  // from movablecore= (0: no ZONE_MOVABLE); FOLL_LONGTERM pins migrate out of it (v5.13)
  'kernelcorePages', 'pinsMigrateLongterm',
  // pins.dirtyAccounting (PINS_DIRTY_ACCOUNTING): dirty pages believed pinned counted in the
  // dirty throttling figures, or left out (Hubbard's "ignore this region")
  'pinsDirtyAccounting',
  // transparent huge pages (/sys/kernel/mm/transparent_hugepage): enabled (THP_ENABLED) and
  // use_zero_page
  'thpEnabled', 'thpUseZeroPage',
] as const;

/** transparent_hugepage/enabled (assembly/huge_memory.ts). */
export const THP_ENABLED = { never: 0, madvise: 1, always: 2 } as const;

/** userptr.policy (assembly/userptr.ts), seed 000. */
export const USERPTR_POLICY = { 'blocking-lock': 0, interval: 1, mayfail: 2, 'skip-pinned': 3, unevictable: 4 } as const;

/** pins.track: how a pin is recognised (assembly/pin_policy.ts). */
export const PINS_TRACK = { none: 0, 'sticky-flag': 1, 'flag-clear-on-put': 2, 'off-lru-count': 3, bias: 4 } as const;
/** pins.action: what the kernel does with a page it believes pinned (assembly/pin_policy.ts). */
export const PINS_ACTION = { none: 0, unmap: 1, 'unmap+mkclean': 2, 'per-caller': 3, 'refcount-wait': 4, mainline: 5, bounce: 6 } as const;
/** pins.truncate: what truncation does with a page it believes pinned (assembly/pin_truncate.ts), seed 002 §2. */
export const PINS_TRUNCATE = { none: 0, wait: 1, fail: 2, revoke: 3, 'block-longterm': 4, williams: 5 } as const;
/** pins.dirtyAccounting: whether dirty pinned pages count for dirty throttling (assembly/pin_policy.ts). */
export const PINS_DIRTY_ACCOUNTING = { count: 0, exclude: 1 } as const;
/** The devices a dma phase models (assembly/gup.ts). */
export const DMA_MODEL = { 'rdma-mr': 0, 'direct-io': 1, vfio: 2, 'gpu-userptr': 3 } as const;

/** MMU notifier subscriptions (assembly/mmu_notifier.ts), grouped by mm in registration order. */
// lock: the scenario lock its callbacks take (-1: none); holdUntilEnd: start takes it, end
// releases it;
// latencyNs: CPU time of each callback; rangeCheck (kvm): a guest fault retries only while an
// invalidation covers its address (v5.13+), not on any invalidation in progress
// userptrTask: the task whose gpu-userptr phase builds its objects behind this notifier (-1: none)
// devicePages: a mirror's private memory (MEMORY_DEVICE_PRIVATE) that migrate_vma moves pages to
export const SUBSCRIBER_FIELDS = ['mm', 'client', 'implementsEnd', 'busy', 'lock', 'holdUntilEnd', 'latencyNs', 'rangeCheck', 'userptrTask', 'devicePages'] as const;
export const SUBSCRIBER_CLIENT = { kvm: 0, gru: 1, mirror: 2, generic: 3, 'iommu-sva': 4 } as const;
export const NOTIFIER_POLICY = { '2018': 0, 'ban-multiple': 1, 'sorted-2020': 2, mainline: 3 } as const;
export const NOTIFIER_REAPER = { 'skip-mm': 0, 'does-not-block': 1, 'always-eagain': 2, trylock: 3, 'trylock-blocking-end': 4 } as const;

/** Sleeping locks the workloads take (kernel/locking): a mutex, or an rwsem like mmap_lock. */
export const LOCK_FIELDS = ['kind'] as const;
export const LOCK_KIND = { mutex: 0, rwsem: 1 } as const;

/** Block devices: a FIFO queue of requests served at the given bandwidth after a fixed latency. */
export const DEVICE_FIELDS = [
  'readPagesPerSec', 'writePagesPerSec', 'readLatencyNs', 'writeLatencyNs', 'queueDepth',
  'minRatio', 'maxRatio', 'strictLimit',
] as const;

export const FILE_FIELDS = ['sizePages', 'device'] as const;

export const PROC_FIELDS = [
  'firstVma', 'nVmas', 'firstPhase', 'nPhases', 'startNs', 'oomScoreAdj', 'loopPhases',
  // a DAMON target: -2 = not one, -1 = its whole address space (vaddr), ≥ 0 = that VMA alone (fvaddr)
  'damonTarget',
] as const;

/** VMA kinds and flags mirror vm_flags where the kernel has them. */
// hugepage: madvise(MADV_HUGEPAGE), VM_HUGEPAGE
export const VMA_FIELDS = ['kind', 'sizePages', 'file', 'pgoff', 'shared', 'mlocked', 'exec', 'populate', 'hugepage'] as const;
export const VMA_KIND = { anon: 0, file: 1 } as const;

/** One phase of a task's workload: what it touches, in which order, how often, for how long. */
export const PHASE_FIELDS = [
  'op', 'target', 'pattern', 'theta', 'hotFraction', 'hotProbability', 'writeFraction',
  'ratePerSec', 'accesses', 'durationNs', 'scramble', 'startPage', 'lengthPages', 'ioPages',
  'thinkNs', 'lockWrite',
  // guest: the subscription (an index into the subscriber table) whose secondary MMU it goes through
  'subscriber',
  // dma: the device model (DMA_MODEL), requests in flight (direct-io), the process whose mm the
  // device pins (its index; -1 = this one) and the block device a direct-io request reads from
  'model', 'iodepth', 'remoteMm', 'ioDevice',
  // rdma-mr: the owner's answer to a revocation request (ns; 0 = it never answers) and whether the
  // kernel can revoke the registration itself (ODP-like)
  'revokeLatencyNs', 'revocable',
  // truncate: the new i_size in pages; mprotect: 1 = PROT_READ|PROT_WRITE, 0 = PROT_READ;
  // page-idle: 1 = write the bitmap (mark idle), 0 = read it
  'sizePages', 'protWrite',
] as const;
export const PHASE_OP = {
  access: 0, read: 1, write: 2, sleep: 3, sync: 4, lock: 5, unlock: 6, guest: 7, dma: 8,
  truncate: 9, punch: 10, munmap: 11, mprotect: 12, fsync: 13, 'page-idle': 14, migrate: 15,
} as const;
export const PATTERN = { sequential: 0, uniform: 1, zipf: 2, hotcold: 3 } as const;

/** Status codes returned by init() and run(). */
export const STATUS = {
  ok: 0, timeLimit: 1, budget: 2, finished: 3,
  badConfig: 10, noMemory: 11, bug: 12,
} as const;

/**
 * Detector record: 8 f64 per hit (`lock` and `owner`, an entity, for the lock detectors; else -1;
 * bug_writeback_no_buffers: `owner` is the writer's entity, a task or the flusher, and `value` the file).
 */
export const DETECTOR_FIELDS = ['kind', 'timeNs', 'pfn', 'task', 'func', 'value', 'lock', 'owner'] as const;

/**
 * The event queue's entities (assembly/sched.ts), in id order: ENTITY_FIXED, then one per
 * device, one per task, then ENTITY_AFTER_TASKS, then a writeback worker for each device after
 * the first ('flusher <device>'; the first's is the fixed 'flusher'). Detector records name
 * owners by entity.
 */
export const ENTITY_FIXED = ['sampler', 'kswapd0', 'flusher'] as const;
export const ENTITY_AFTER_TASKS = ['memcg stats flusher', 'oom_reaper', 'kdamond'] as const;

/** The zone table the core fills for the host (zoneInfoPtr): f64 fields per zone, /proc/zoneinfo's figures in pages. */
export const ZONEINFO_FIELDS = [
  'start', 'spanned', 'managed', 'min', 'low', 'high',
  'reserveDma', 'reserveDma32', 'reserveNormal', 'reserveMovable', 'free', 'minFreeKbytes',
] as const;
/** Each device's writeback context for the host (wbInfoPtr): f64 fields per device. */
export const WBINFO_FIELDS = [
  'dirtied', 'written', 'dirty', 'writeback', 'writeBandwidth', 'dirtyRatelimit', 'wbThresh', 'completionShare',
] as const;

/** Kinds of detector hits; `func` indexes KERNEL_FUNCS. */
export const DETECTOR_KINDS = [
  'refcount_negative', 'mapcount_exceeds_refcount', 'lru_count_mismatch', 'free_page_in_use',
  'bad_pte', 'oom_no_victim', 'alloc_failed', 'deadlock', 'hung_task', 'unlock_not_held', 'time_backwards',
  'free_list_mismatch', 'mapcount_mismatch', 'swap_count_mismatch', 'frame_state', 'oom_kill', 'oom_freed',
  'notifier_unpaired_start', 'notifier_unpaired_end', 'end_blocked_after_nonblocking_start', 'oom_livelock',
  'stale_secondary_tlb', 'notifier_failed_start_has_end', 'dma_write_after_clean', 'dma_after_free', 'bug_writeback_no_buffers', 'buffer_state',
  'dma_after_truncate',
  'dirty_accounting',
] as const;

export const KERNEL_FUNCS = [
  'folio_put', 'folio_remove_rmap_pte', 'shrink_folio_list', 'check_lru_counts',
  '__free_pages', 'handle_mm_fault', 'out_of_memory', '__alloc_pages_slowpath',
  'mutex_lock', 'down_write', 'down_read', 'mutex_unlock', 'schedule',
  'check_free_lists', 'check_mapcounts', 'check_swap_map', 'check_frame_states',
  'vma_start_write', 'lock_mm_and_find_vma', '__mm_populate', 'mmap_read_lock', 'mmap_write_lock',
  'exit_mmap', '__oom_reap_task_mm', 'mmu_notifier_invalidate_range_start', 'mmu_notifier_invalidate_range_end',
  'mmu_notifier_release', 'try_to_unmap_one', 'page_vma_mkclean_one', 'wp_page_copy', 'mmsim_secondary_access',
  'folio_wait_bit_common', 'mmsim_dma_write', 'pin_user_pages', 'unpin_user_pages_dirty_lock', 'try_to_unmap', 'i915_gem_userptr_get_pages',
  'mpage_prepare_extent_to_map', 'check_buffers', 'check_dirty_accounting', 'zap_huge_pmd', 'change_huge_pmd',
] as const;

/**
 * Each task's table (assembly/workload.ts): TASK_FIXED_FIELDS i64 fields, then the walk-ahead's
 * LOOKAHEAD drawn accesses and as many PTE addresses. Here so that the host's memory estimate
 * and the core share the numbers.
 */
export const TASK_FIXED_FIELDS = 27;
/** Accesses the walk-ahead of a large range draws at once (assembly/workload.ts lookahead). */
export const LOOKAHEAD = 128;
