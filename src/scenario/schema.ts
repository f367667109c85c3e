/**
 * The scenario file format (YAML or JSON, human units) as one zod schema. Parsing it yields the
 * normalized `Scenario` (base units, defaults filled in); cross-field rules live in checks.ts.
 * Every field carries its description and default here, and `listFields()` reads them back for
 * `mmsim validate --explain`.
 */
import { z } from 'zod';
import type { Scenario } from './types.js';
import { describeValue } from './units.js';
import {
  NAME_PATTERN, NAME_RULE, boolean, choice, duration, fraction, integer, number, rate, size, text,
  zoneRatios,
} from './fields.js';

/** The message for a section, map or list given the wrong kind of value, or none at all. */
function wrongType(input: unknown, what: string, example: string): string {
  return input === undefined ? `is required; e.g. ${example}` : `${describeValue(input)} is not ${what}; e.g. ${example}`;
}

/** A mapping with a fixed set of keys; an unknown key is an error listing the valid ones. */
function section<S extends z.ZodRawShape>(example: string, shape: S) {
  const valid = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; valid keys here are ${valid}`;
      if (issue.code === 'invalid_type') return wrongType(issue.input, 'a mapping', example);
      return undefined;
    },
  });
}

/** A mapping from user-chosen names (devices, files, processes, VMAs) to definitions. */
function namedMap<V extends z.ZodType>(example: string, value: V) {
  return z.record(z.string().regex(NAME_PATTERN), value, {
    error: (issue) => {
      if (issue.code === 'invalid_key') return `not a valid name (${NAME_RULE}); e.g. ${example}`;
      if (issue.code === 'invalid_type') return wrongType(issue.input, 'a mapping of names', example);
      return undefined;
    },
  });
}

const machine = section('{ memory: 2GiB }', {
  memory: size('RAM of the machine, split evenly over its nodes; at most 64GiB per node (one WASM instance each)', { example: '2GiB', pages: true, positive: true }),
  nodes: integer('NUMA nodes: each is simulated by its own WASM instance, on worker threads; the global dirty limits are shared every epoch',
    { min: 1, max: 64, example: '16', default: 1 }),
  epoch: duration('how often the nodes of a multi-node machine exchange the totals the kernel keeps global', { example: '1ms', default: '1ms' }),
  hz: integer('CONFIG_HZ: jiffies per second, the granularity of kswapd and writeback timers',
    { min: 100, max: 1000, oneOf: [100, 250, 300, 1000], example: '1000', default: 1000 }),
  readAhead: size("the backing devices' read_ahead_kb: the largest readahead window", { example: '128KiB', pages: true, default: '128KiB' }),
  memcgStatsFlush: duration("CONFIG_MEMCG's rstat flushing: reclaim reads the refault counts and LRU sizes that decide deactivation and the workingset size " +
    "from the root memory cgroup's copies, refreshed this often; 2s is the kernel's periodic flusher (FLUSH_TIME) when nothing else reads memory.stat, " +
    'a shorter period models a monitor reading memory.stat that often; 0 = the live node counters (cgroup_disable=memory, or no CONFIG_MEMCG)',
    { example: '2s', default: 0 }),
  movablecore: size('the movablecore= boot parameter (find_zone_movable_pfns_for_nodes): the top this much of memory becomes ZONE_MOVABLE, ' +
    'rounded up to 4MiB (MAX_ORDER_NR_PAGES) and spread evenly over the nodes as the kernel spreads kernelcore, taken from the highest zone (Normal, or DMA32 below 4GiB); ' +
    'only __GFP_MOVABLE allocations (user pages: anon, page cache, swap-in) may use it, page tables and kernel allocations cannot, and a FOLL_LONGTERM pin migrates pages out of it first (pins.migrateLongterm); ' +
    '0 = no ZONE_MOVABLE. At most 80% of each node (a MOVABLE:KERNEL ratio of 4:1)',
    { example: '1GiB', pages: true, default: 0 }),
}).describe('The simulated machine: one NUMA node');

const vm = section('{ swappiness: 60 }', {
  swappiness: integer('relative IO cost of swapping anon vs. dropping file pages in get_scan_count()',
    { min: 0, max: 200, example: '60', default: 60 }),
  min_free_kbytes: integer('the min watermark in KiB; 0 = computed as the kernel does at boot (int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144])',
    { min: 0, max: 67108864, example: '65536', default: 0 }),
  watermark_scale_factor: integer('distance between the min, low and high watermarks in 1/10000 of memory',
    { min: 1, max: 3000, example: '10', default: 10 }),
  page_cluster: integer('log2 of the largest swap readahead window (swap_cluster_readahead; the window adapts to readahead hits)',
    { min: 0, max: 10, example: '3', default: 3 }),
  laptop_mode: integer('when non-zero, reclaim does not write dirty pages itself (may_writepage = 0)',
    { min: 0, max: 2 ** 31 - 1, example: '0', default: 0 }),
  dirty_ratio: integer('hard dirty limit in percent of dirtyable memory (free + file LRU − reserves); ignored when dirty_bytes is set',
    { min: 0, max: 100, example: '20', default: 20 }),
  dirty_background_ratio: integer('background writeback threshold in percent of dirtyable memory; ignored when dirty_background_bytes is set',
    { min: 0, max: 100, example: '10', default: 10 }),
  dirty_bytes: size('hard dirty limit in bytes; 0 = use dirty_ratio (at least 2 pages when set)',
    { example: '1GiB', default: 0 }),
  dirty_background_bytes: size('background writeback threshold in bytes; 0 = use dirty_background_ratio',
    { example: '512MiB', default: 0 }),
  dirty_expire_centisecs: integer('age (1/100 s) after which periodic writeback writes a dirty inode',
    { min: 0, max: 2 ** 31 - 1, example: '3000', default: 3000 }),
  dirty_writeback_centisecs: integer('interval (1/100 s) of the flusher\'s periodic wake-up; 0 disables periodic writeback',
    { min: 0, max: 2 ** 31 - 1, example: '500', default: 500 }),
  lowmem_reserve_ratio: zoneRatios('per zone (DMA, DMA32, Normal), the fraction 1/ratio of higher zones kept from allocations that could use them',
    [256, 256, 32]),
}).prefault({}).describe('Kernel tunables under their /proc/sys/vm names');

const costs = section('{ access: 20ns }', {
  access: duration('CPU time of a load or store whose PTE is present and permits it', { example: '20ns', default: '20ns' }),
  minorFault: duration('handle_mm_fault() for a page already in memory (page cache or swap cache hit)', { example: '1us', default: '1us' }),
  zeroFill: duration('clearing a newly allocated anonymous page (clear_page) on top of the fault', { example: '1us', default: '1us' }),
  scanPage: duration('reclaim work per LRU page scanned (isolation, referenced check)', { example: '200ns', default: '200ns' }),
  freePage: duration('returning one page to the buddy allocator', { example: '100ns', default: '100ns' }),
  syscallPage: duration('read()/write() per page copied between the page cache and user memory', { example: '500ns', default: '500ns' }),
  rmapWalk: duration('per VMA visited by an rmap walk (folio_referenced, try_to_unmap)', { example: '100ns', default: '100ns' }),
}).prefault({}).describe('Simulated CPU costs; tasks advance their clocks by these');

const device = section('{ readBandwidth: 2GB/s }', {
  readBandwidth: rate('sustained read bandwidth', { example: '2GB/s', default: '2GB/s', positive: true }),
  writeBandwidth: rate('sustained write bandwidth', { example: '1GB/s', default: '1GB/s', positive: true }),
  readLatency: duration('fixed latency of a read request before data flows', { example: '100us', default: '100us' }),
  writeLatency: duration('fixed latency of a write request before data flows', { example: '200us', default: '200us' }),
  queueDepth: integer('requests the device serves concurrently', { min: 1, max: 65536, example: '32', default: 32 }),
  minRatio: integer("the bdi's min_ratio: percent of the dirty threshold reserved for this device", { min: 0, max: 100, example: '0', default: 0 }),
  maxRatio: integer("the bdi's max_ratio: the most of the dirty threshold this device may use, in percent", { min: 1, max: 100, example: '100', default: 100 }),
  strictLimit: boolean("the bdi's strict_limit (BDI_CAP_STRICTLIMIT, as FUSE sets): throttle writers on this device's own share", false),
}).describe('A block device: requests queue, wait the latency, then transfer at the bandwidth');

const swap = section('{ size: 4GiB, device: ssd }', {
  size: size('swap space; 0 = no swap (then device may be omitted)', { example: '4GiB', pages: true, default: 0 }),
  device: text('the device (a key of devices) swap lives on', { example: 'ssd', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
}).prefault({}).describe('One swap area');

const file = section('{ size: 8GiB, device: ssd }', {
  size: size('file size', { example: '8GiB', pages: true, positive: true }),
  device: text('the device (a key of devices) the file lives on', { example: 'ssd', pattern: NAME_PATTERN, rule: NAME_RULE }),
}).describe('A regular file whose pages go through the page cache');

const vma = section('{ type: anon, size: 1GiB }', {
  type: choice(['anon', 'file'] as const, 'anon: anonymous memory (swap-backed); file: a mapping of a file'),
  size: size('length of the mapping', { example: '1GiB', pages: true, positive: true }),
  file: text('for type file: the file mapped (a key of files); absent for anon', { example: 'data', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
  offset: size('for type file: where in the file the mapping starts', { example: '0', pages: true, default: 0 }),
  shared: boolean('MAP_SHARED: stores dirty the file pages instead of copying them', false),
  mlocked: boolean('VM_LOCKED (mlock): pages are unevictable once faulted in', false),
  exec: boolean('VM_EXEC: executable mapping, which reclaim keeps on the active list once referenced', false),
  populate: boolean('MAP_POPULATE: fault every page in when the process starts', false),
  hugepage: boolean('madvise(MADV_HUGEPAGE), VM_HUGEPAGE: anonymous private memory here gets transparent huge pages under thp.enabled madvise (and always)', false),
}).describe('A virtual memory area of a process');

const phase = section('{ op: access, target: heap }', {
  op: choice(['access', 'read', 'write', 'sleep', 'sync', 'lock', 'unlock', 'guest', 'dma', 'truncate', 'punch', 'munmap', 'mprotect', 'fsync', 'page-idle', 'migrate'] as const,
    'access: loads/stores to a VMA; guest: a guest\'s or device\'s loads/stores to a VMA through a subscriber\'s secondary MMU (its own translations, filled by faults through the page tables, emptied by invalidations); read/write: syscalls on a file; sleep: idle for duration; sync: sync(2), write every dirty page and wait for it; ' +
    'fsync: fsync(2) of the target file, the task writes its dirty pages itself (WB_SYNC_ALL) and waits for them and for its pages already under writeback; ' +
    'dma: a device (`model`) that takes pages of a VMA (of this process, or of `process`) with get_user_pages/pin_user_pages, faulting them in, and reads or writes them by DMA at `rate` until the phase ends, then lets them go (unpin_user_pages_dirty_lock); ' +
    'lock/unlock: take or release one of the scenario\'s sleeping locks (sleeping until it is free), as a driver holds its object lock, ' +
    'or a process\'s mmap_lock (target: mmap_lock), as a syscall that reads (mode: read) or changes (mode: write) its mappings holds it; ' +
    'truncate: ftruncate(2) of a file to `size` (its pages past it unmapped from every process and dropped, dirty ones unwritten; a later fault past the end is SIGBUS); ' +
    'punch: fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of start/length of a file (its pages unmapped and dropped; it then reads as zeros without IO); ' +
    'munmap: unmap a whole VMA of this process (its anonymous memory and swap freed; no later phase may touch it); ' +
    'mprotect: set a whole VMA of this process read-only (mode: read; no later phase may store to it) or writable again (mode: write); ' +
    'page-idle: idle page tracking (/sys/kernel/mm/page_idle/bitmap) over the pages start/length of a VMA (of this process, or of `process`) maps now: mode write marks them idle (their PTEs\' and secondary MMUs\' young bits cleared), mode read counts those still idle; ' +
    'migrate: migrate_vma over start/length of an anonymous VMA of this process for its mirror `subscriber`\'s device: mode write moves the pages to the device\'s private memory (a CPU access faults each back), mode read moves them back (the driver\'s eviction), in an MMU_NOTIFY_MIGRATE range the device owns'),
  target: text('a VMA of this process (access, guest, munmap, mprotect), a file (read/write, fsync, truncate, punch) or a lock (lock/unlock: one of locks, or mmap_lock); omitted for sleep and sync', { example: 'heap', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
  mode: choice(['write', 'read'] as const, 'lock/unlock of an rwsem: write (down_write, exclusive) or read (down_read, shared); a mutex is always exclusive; mprotect: write (PROT_READ | PROT_WRITE) or read (PROT_READ); page-idle: write (mark idle) or read (count the idle pages)', 'write'),
  subscriber: text('guest: the subscriber of this process whose secondary MMU the accesses go through; dma, gpu-userptr: the driver\'s notifier (a generic subscriber with the object lock as its `lock`)', { example: 'kvm', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
  process: text('lock/unlock of target mmap_lock: the process whose mmap_lock it is; dma: the process whose VMA the device pins (pin_user_pages_remote); page-idle: the process whose VMA is tracked; omitted = this process', { example: 'victim', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
  model: choice(['rdma-mr', 'direct-io', 'vfio', 'gpu-userptr'] as const,
    'dma: the device. rdma-mr: an RDMA memory region, a long-term pin of the range (FOLL_PIN | FOLL_LONGTERM, FOLL_WRITE if writeFraction > 0) registered at the start, DMA at `rate` (writeFraction of it writes) until the phase ends, then deregistered (dirtied if written); ' +
    'vfio: the same pin as a VFIO DMA mapping (long-term, never revocable); direct-io: O_DIRECT requests of ioSize pages, up to iodepth in flight, each pinned (FOLL_PIN) while the device at `device` serves it ' +
    '(its read latency, half to one and a half times it, then the transfer: they complete out of order) and unpinned at completion; writeFraction of them read into memory (DMA writes, then the pages are dirtied); ' +
    'gpu-userptr: a GPU driver\'s userptr object (i915, 2020) of this process\'s VMA, built by pin_user_pages one page at a time behind the driver\'s notifier `subscriber`, as userptr.policy says, then used by DMA until the phase ends', 'rdma-mr'),
  iodepth: integer('dma, direct-io: requests in flight at once (two over the same pages overlap their pins)', { min: 1, max: 4096, example: '2', default: 1 }),
  revokeLatency: duration('dma, rdma-mr: how long the application takes to deregister after a revocation request (pins.truncate revoke, williams); 0 = it never answers', { example: '5ms', default: 0 }),
  revocable: boolean('dma, rdma-mr: the driver lets the kernel revoke the registration itself (ODP-like: the device faults its pages again instead of pinning them); vfio is never revocable', false),
  device: text('dma, direct-io: the block device (a key of devices) whose latency and bandwidth serve the requests', { example: 'ssd', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
  pattern: choice(['sequential', 'uniform', 'zipf', 'hotcold'] as const, 'order of pages touched in the range', 'sequential'),
  theta: number('zipf: skew exponent; higher = more concentrated on few pages', { min: 0, max: 100, exclusiveMin: true, example: '0.99', default: 0.99 }),
  hotFraction: fraction('hotcold: share of the range that is hot', 0.2),
  hotProbability: fraction('hotcold: share of accesses that go to the hot pages', 0.8),
  writeFraction: fraction('access: share of accesses that are stores (dirtying pages); dma: share of DMA accesses (rdma-mr, vfio) or requests (direct-io) that write memory', 0),
  rate: number('accesses per second (dma: DMA accesses, or direct-io requests, per second); 0 = as fast as the CPU costs allow', { min: 0, max: 1e12, example: '100000', default: 0 }),
  accesses: integer('accesses before the phase ends; 0 = no limit', { min: 0, max: Number.MAX_SAFE_INTEGER, example: '50000000', default: 0 }),
  duration: duration('simulated time before the phase ends; 0 = no limit', { example: '5s', default: 0 }),
  scramble: boolean('zipf: spread popularity ranks over the range by a fixed hash, as YCSB does', true),
  start: size('where the range begins, from the start of the target (punch: the hole\'s offset)', { example: '1GiB', pages: true, default: 0 }),
  length: size('length of the range; 0 = to the end of the target (punch: the hole\'s length, 0 = to the end of the file)', { example: '512MiB', pages: true, default: 0 }),
  size: size('truncate: the file\'s new size (at most its size under files: a file here never grows past it)', { example: '1GiB', pages: true, default: 0 }),
  ioSize: size('read/write: bytes per syscall; dma, direct-io: bytes per request', { example: '128KiB', pages: true, positive: true, default: '4KiB' }),
  think: duration('CPU time between accesses on top of costs.access', { example: '1us', default: 0 }),
}).describe('One phase of a workload; a phase ends at its access count or duration');

const subscriber = section('{ client: kvm }', {
  client: choice(['kvm', 'gru', 'mirror', 'generic', 'iommu-sva'] as const,
    'kvm: an in-progress count raised by invalidate_range_start and lowered by end, never fails; gru: takes a lock in start, releases it in end; ' +
    'mirror (HMM-like): a lock it must take, busy with probability `busy`, so a non-blocking start may fail (with an end before mainline, an interval notifier without one in mainline); generic: fails a non-blocking start with probability `busy`; ' +
    'iommu-sva (a device sharing the process\'s page tables, SVA): no start or end, only the secondary-TLB invalidate after the page tables change (arch_invalidate_secondary_tlbs), and release',
    'generic'),
  implementsEnd: boolean('generic: has invalidate_range_end (kvm, gru and mirror always do)', false),
  busy: fraction('mirror, generic: probability that a non-blocking invalidate_range_start finds its lock held by a holder the scenario does not model (-EAGAIN)', 0),
  lock: text('mirror, generic: a lock of `locks` that its callbacks take (the driver\'s object or notifier lock): a blockable start or release sleeps while another holds it, a non-blocking start trylocks it and fails with -EAGAIN; a mutex is taken alone, an rwsem for read', { example: 'obj', default: '' }),
  holdUntilEnd: boolean('with `lock`: start takes the lock and end releases it (amdgpu\'s notifier read lock of 2018); needs invalidate_range_end', false),
  latency: duration('CPU time of each callback (start, end, release), charged to the task or kthread that invalidates', { example: '2us', default: 0 }),
  rangeCheck: boolean('kvm: a guest fault retries only while an invalidation in progress covers its address (v5.13+); false: on any invalidation in progress, as before v5.13', true),
  place: integer('its place in the order of registration (0 = registered first, so walked last: the list is newest first); -1 = its place in the map', { min: -1, max: 31, example: '0', default: -1 }),
  registered: boolean('false: defined but not registered (vary the number of subscribers with --set)', true),
  deviceMemory: size('mirror: the device\'s private memory (MEMORY_DEVICE_PRIVATE, as test_hmm\'s dmirror and nouveau have), which migrate phases move anonymous pages to; 0 = none',
    { example: '64MiB', pages: true, default: 0 }),
}).describe('An MMU notifier subscription (a secondary MMU or a driver), registered in map order');

const processDef = section('{ vmas: { heap: { type: anon, size: 1GiB } }, workload: [{ op: access, target: heap }] }', {
  start: duration('simulated time at which the process starts', { example: '1s', default: 0 }),
  oom_score_adj: integer('/proc/<pid>/oom_score_adj: bias for the OOM killer', { min: -1000, max: 1000, example: '0', default: 0 }),
  node: integer('the NUMA node the process runs on and allocates from (MPOL_BIND)', { min: 0, max: 63, example: '0', default: 0 }),
  loop: boolean('restart the workload from its first phase when the last one ends', false),
  vmas: namedMap('{ heap: { type: anon, size: 1GiB } }', vma).prefault({}).describe("The process's memory mappings, by name"),
  subscribers: namedMap('{ kvm: { client: kvm } }', subscriber).prefault({}).describe("MMU notifier subscriptions on the process's mm, registered in this order"),
  workload: z.array(phase, { error: (issue) => wrongType(issue.input, 'a list of phases', '[{ op: access, target: heap }]') })
    .min(1, { error: 'a process needs at least one phase, e.g. [{ op: sleep }]' })
    .describe('Phases run in order'),
}).describe('A task with its own mm');

const kernel = section('{ hung_task_timeout_secs: 120 }', {
  hung_task_timeout_secs: integer('a task asleep on a lock (outside a deadlock) this long is reported as hung (khungtaskd); 0 = never',
    { min: 0, max: 2 ** 31 - 1, example: '120', default: 120 }),
}).prefault({}).describe('Kernel tunables under their /proc/sys/kernel names');

const notifiers = section('{ policy: mainline, reaper: trylock }', {
  policy: choice(['2018', 'ban-multiple', 'sorted-2020', 'mainline'] as const,
    'how invalidate_range_start walks the subscriptions and unwinds a failed non-blocking start: 2018 (v4.19-v5.11: newest first, every start, no end after a failure), ' +
    'ban-multiple (no non-blocking invalidation with more than one subscription), sorted-2020 (end-needers last, stop at the first failure, no non-blocking mode with two end-needers), ' +
    'mainline (v5.12+: every start, then end on every subscriber that has one)', 'mainline'),
  reaper: choice(['skip-mm', 'does-not-block', 'always-eagain', 'trylock', 'trylock-blocking-end'] as const,
    'the OOM reaper against subscribers, by kernel version: skip-mm (<= v4.14: an mm with notifiers is not reaped), does-not-block (v4.15-v4.18: only if no subscriber may block), ' +
    'always-eagain (mirrors refuse every non-blocking start), trylock (v4.19+: callbacks trylock and fail when busy), trylock-blocking-end (start trylocks, end blocks)', 'trylock'),
  mayfail: boolean('MMU_NOTIFIER_RANGE_MAYFAIL (Chris Wilson\'s 2020 patch, not merged) on every try_to_unmap_one range: a blockable callback may return -EAGAIN, which the core takes for success', false),
}).prefault({}).describe('MMU notifier core policies');

const pins = section('{ track: bias, action: mainline }', {
  track: choice(['none', 'sticky-flag', 'flag-clear-on-put', 'off-lru-count', 'bias'] as const,
    'how a pin is recognised: none (FOLL_GET only, a pin is an ordinary reference: before 2018), sticky-flag (the 2018 patch: PG_dma_pinned set by every GUP, cleared only when the page is freed), ' +
    'flag-clear-on-put (the flag cleared by the first put), off-lru-count (Wilcox: the pinned page taken off the LRU, the pin count kept in its lru words, put back at the last unpin), ' +
    'bias (mainline FOLL_PIN, v5.7: GUP_PIN_COUNTING_BIAS = 1024 added to the refcount per pin, folio_maybe_dma_pinned with its false positives)', 'bias'),
  action: choice(['none', 'unmap', 'unmap+mkclean', 'per-caller', 'refcount-wait', 'mainline', 'bounce'] as const,
    'what the kernel does with a page it believes pinned: none (nothing checks), unmap (the 2018 patch: try_to_unmap fails for it), unmap+mkclean (folio_mkclean also skips it: it stays dirty), ' +
    'per-caller (Kara: WB_SYNC_NONE writeback skips it, WB_SYNC_ALL waits for the unpin), refcount-wait (Williams: try_to_unmap waits until extra references are dropped), ' +
    'mainline (anon pinned folios kept out of the swap cache v5.11, exclusive anon ones not unmapped v5.19, pinned page cache activated after the unmap v6.4, folio_mkclean ignores pins, a FOLL_LONGTERM read pin unshares the zero page of a private mapping v6.0, a FOLL_LONGTERM write pin of a file mapping that needs dirty tracking refused v6.5), ' +
    'bounce (WB_SYNC_ALL writes a copy of a pinned page and leaves it dirty)', 'mainline'),
  truncate: choice(['none', 'wait', 'fail', 'revoke', 'block-longterm', 'williams'] as const,
    'what truncate and hole punching do with a page they believe pinned (seed 002, Williams / Hellwig / Hocko): none (the kernel: the page leaves the file, the device keeps writing a page no file has), ' +
    'wait (truncation sleeps until the pin is let go), fail (the call fails with -EBUSY before it changes anything), ' +
    'revoke (Hocko: the file\'s long-term pin owners are asked to let go — an asynchronous request, answered after the device\'s revokeLatency — and after pins.revokeTimeout the kernel revokes the revocable ones itself; truncation waits meanwhile), ' +
    'block-longterm (a FOLL_LONGTERM pin of a file mapping is refused, -EOPNOTSUPP, as get_user_pages_longterm refused fs-dax; truncation waits for transient pins), ' +
    'williams (Dan Williams\' rule: wait for a transient pin, revoke a long-term revocable one, refuse a long-term pin that cannot be revoked; the pages record long-term pins in a count of their own, Hocko\'s refcount offset)', 'none'),
  revokeTimeout: duration('revoke, williams: how long the owners have to answer a revocation request before the kernel revokes the revocable registrations itself (fs.lease-break-time, 45 s in the kernel)',
    { example: '1s', default: '45s' }),
  limit: size('long-term pins a process may hold (mm->pinned_vm against an RLIMIT_MEMLOCK-like limit, as RDMA and VFIO charge it): a registration beyond it is refused (-ENOMEM); 0 = no limit',
    { example: '64MiB', pages: true, default: 0 }),
  migrateLongterm: boolean('FOLL_LONGTERM pins (rdma-mr, vfio) migrate the pages they find in ZONE_MOVABLE out of it before they keep them (check_and_migrate_movable_pages, v5.13); ' +
    'if a page cannot be migrated (another pin holds it) the registration fails (-ENOMEM). false = kernels before v5.13, which pinned pages where they were, making that memory unmovable', true),
  dirtyAccounting: choice(['count', 'exclude'] as const,
    'whether dirty pages believed pinned count in the dirty figures balance_dirty_pages and the background writeback checks use: count (the kernel), ' +
    'exclude (Hubbard\'s "ignore this region until we\'re done with it": a dirty page the track recognises as pinned is left out, and counts again when unpinned and still dirty; nr_dirty still counts it)', 'count'),
}).prefault({}).describe('DMA pins (GUP): the two policy axes of the 2018 PG_dma_pinned thread, the pin limit, truncation against pins, long-term pins in ZONE_MOVABLE, and pinned pages in dirty accounting');

const userptr = section('{ policy: blocking-lock }', {
  policy: choice(['blocking-lock', 'interval', 'mayfail', 'skip-pinned', 'unevictable'] as const,
    'how a gpu-userptr driver builds its objects and answers invalidations (seed 000): blocking-lock (i915 in 2020: its object lock held across the pin loop, which its notifier takes), ' +
    'interval (a rule-following interval notifier: no lock across the pins, the build starts again on mmu_interval_read_retry), mayfail (the notifier returns -EAGAIN under MMU_NOTIFIER_RANGE_MAYFAIL and keeps its pages; needs notifiers.mayfail), ' +
    'skip-pinned (reclaim passes over maybe-pinned pages before it calls any notifier), unevictable (pinned pages go to the unevictable list, mlock-like)', 'blocking-lock'),
}).prefault({}).describe('GPU userptr drivers (gpu-userptr dma phases)');

const damonTarget = section('{ vma: heap }', {
  vma: text('monitor this VMA alone (the fvaddr operations, as damo start --regions does); omitted = the whole address space, as the vaddr operations cut it into three regions around its two biggest gaps (needs three VMAs or more)',
    { example: 'heap', default: '', pattern: NAME_PATTERN, rule: NAME_RULE }),
}).describe('A DAMON monitoring target');

const damon = section('{ targets: { app: {} } }', {
  targets: namedMap('{ app: {} }', damonTarget).prefault({}).describe('The processes kdamond monitors, by name; none = DAMON off'),
  sample_interval: duration('time between two access checks of each region (monitoring_attrs/intervals/sample_us)', { example: '5ms', default: '5ms', positive: true }),
  aggr_interval: duration('time over which the checks are counted before regions are merged, reported and split (aggr_us)', { example: '100ms', default: '100ms', positive: true }),
  update_interval: duration('time between two updates of the vaddr targets\' regions to their mappings (update_us)', { example: '1s', default: '1s', positive: true }),
  min_nr_regions: integer('the fewest regions (nr_regions/min): the initial split, and the size limit of a merge', { min: 3, max: 100_000, example: '10', default: 10 }),
  max_nr_regions: integer('the most regions (nr_regions/max): splits stop above half of it', { min: 3, max: 100_000, example: '1000', default: 1000 }),
  start: duration('when kdamond starts', { example: '1s', default: 0 }),
}).prefault({}).describe('DAMON, the data access monitor (mm/damon, v6.1, no DAMOS schemes): a kdamond that samples its targets\' regions');

const thp = section('{ enabled: madvise }', {
  enabled: choice(['never', 'madvise', 'always'] as const,
    'transparent_hugepage/enabled: which private anonymous VMAs get PMD-mapped 2MiB huge pages at their faults (do_huge_pmd_anonymous_page) — ' +
    'always: every one; madvise: those with hugepage: true (MADV_HUGEPAGE); never: none. A fault takes a huge page only where the aligned 2MiB lies inside the VMA ' +
    'and an order-9 block is free (as defrag=never: no reclaim or compaction for it; otherwise it falls back to small pages, thp_fault_fallback). ' +
    'Reclaim splits a huge page before it swaps it out (split_huge_page; a GUP reference or pin keeps it whole and active); munmap and exit free it whole', 'madvise'),
  useZeroPage: boolean('transparent_hugepage/use_zero_page: a read fault in a THP-eligible range maps the huge zero page (a write then splits it into small zero-page PTEs); false = the small zero page', true),
}).prefault({}).describe('Transparent huge pages (/sys/kernel/mm/transparent_hugepage), anonymous memory only');

const lock = section('{ kind: mutex }', {
  kind: choice(['mutex', 'rwsem'] as const, 'mutex: one owner; rwsem: one writer or many readers (like mmap_lock); waiters queue FIFO', 'mutex'),
}).describe('A sleeping lock');

export const scenarioFileSchema = section('{ machine: { memory: 2GiB }, processes: { ... } }', {
  name: text('scenario name, used for the default output directory (defaults to the file name)', { example: 'default', pattern: NAME_PATTERN, rule: NAME_RULE }),
  description: text('one line saying what the scenario shows', { example: 'reclaim under an anon working set larger than RAM', default: '' }),
  seed: integer('seed of every pseudo-random choice; the results are a function of (scenario, seed)', { min: 0, max: Number.MAX_SAFE_INTEGER, example: '1', default: 1 }),
  duration: duration('simulated time to run', { example: '10s', default: '10s', positive: true }),
  machine,
  vm,
  costs,
  devices: namedMap('{ ssd: { readBandwidth: 2GB/s } }', device).prefault({}).describe('Block devices, by name'),
  swap,
  files: namedMap('{ data: { size: 8GiB, device: ssd } }', file).prefault({}).describe('Files, by name'),
  kernel,
  locks: namedMap('{ obj: { kind: mutex } }', lock).prefault({}).describe("Sleeping locks the workloads' lock/unlock phases take, by name"),
  notifiers,
  pins,
  userptr,
  damon,
  thp,
  check: boolean('checking mode (as mmsim run --check): assert that simulated time never goes backwards and check the invariants at every sample; hits are detectors', false),
  processes: namedMap('{ app: { workload: [{ op: sleep }] } }', processDef).describe('Processes, by name, started in this order'),
  series: section('{ interval: 100ms }', {
    interval: duration('simulated time between time-series samples', { example: '100ms', default: '100ms', positive: true }),
  }).prefault({}).describe('Time-series sampling'),
});

export type ScenarioFile = z.input<typeof scenarioFileSchema>;

/** A problem found while validating, at a path of keys and indexes into the document. */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
  /** The problem is the key itself (an unknown key), not its value. */
  atKey?: boolean;
}

export type SchemaResult = { ok: true; scenario: Scenario } | { ok: false; issues: RawIssue[] };

/** Parses a raw document (already read from YAML/JSON) against the schema alone. */
export function parseScenarioFile(raw: unknown): SchemaResult {
  const result = scenarioFileSchema.safeParse(raw);
  if (result.success) {
    const scenario: Scenario = result.data;
    return { ok: true, scenario };
  }
  return { ok: false, issues: result.error.issues.flatMap(toRawIssues) };
}

/** One issue per unknown key, so each points at its own line. */
function toRawIssues(issue: z.core.$ZodIssue): RawIssue[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], message: issue.message, atKey: true }));
  }
  return [{ path: issue.path, message: issue.message }];
}
