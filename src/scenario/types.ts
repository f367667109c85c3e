/**
 * A validated, normalized scenario: every size in bytes, every time in nanoseconds, every rate
 * in bytes (or accesses) per second; defaults filled in. `schema.ts` produces it from YAML/JSON
 * with human units; `src/engine/encode.ts` turns it into the config blob for the WASM core.
 * Maps (devices, files, processes, vmas) keep their insertion order, which is the order the
 * core sees them in.
 */
export interface Scenario {
  name: string;
  description: string;
  seed: number;
  duration: number;               // ns of simulated time
  machine: Machine;
  vm: VmSysctls;
  costs: Costs;
  devices: Record<string, Device>;
  swap: Swap;
  files: Record<string, FileDef>;
  kernel: { hung_task_timeout_secs: number };   // /proc/sys/kernel
  locks: Record<string, LockDef>;
  notifiers: { policy: '2018' | 'ban-multiple' | 'sorted-2020' | 'mainline'; reaper: 'skip-mm' | 'does-not-block' | 'always-eagain' | 'trylock' | 'trylock-blocking-end'; mayfail: boolean };
  pins: Pins;
  userptr: { policy: 'blocking-lock' | 'interval' | 'mayfail' | 'skip-pinned' | 'unevictable' };
  damon: Damon;
  thp: Thp;
  check: boolean;                 // checking mode: causality and invariants asserted as it runs
  processes: Record<string, Process>;
  series: { interval: number };   // ns between samples
}

/** /sys/kernel/mm/transparent_hugepage: which anonymous VMAs get huge pages, and the huge zero page. */
export interface Thp {
  enabled: 'never' | 'madvise' | 'always';
  useZeroPage: boolean;
}

/** DMA pins: how a pin is recognised, what the kernel does with pinned pages, the long-term pin limit, pinned pages in dirty accounting. */
export interface Pins {
  track: 'none' | 'sticky-flag' | 'flag-clear-on-put' | 'off-lru-count' | 'bias';
  action: 'none' | 'unmap' | 'unmap+mkclean' | 'per-caller' | 'refcount-wait' | 'mainline' | 'bounce';
  limit: number;                  // bytes of long-term pins per process, 0 = no limit
  dirtyAccounting: 'count' | 'exclude';   // dirty pinned pages in the throttling figures, or left out
  migrateLongterm: boolean;       // FOLL_LONGTERM migrates pages out of ZONE_MOVABLE first (v5.13)
  truncate: 'none' | 'wait' | 'fail' | 'revoke' | 'block-longterm' | 'williams';   // truncation against pinned pages
  revokeTimeout: number;          // ns a revocation request has before the kernel revokes itself
}

/** DAMON's kdamond: its targets (process → VMA, '' = the whole address space) and monitoring attributes. */
export interface Damon {
  targets: Record<string, { vma: string }>;
  sample_interval: number;        // ns
  aggr_interval: number;          // ns
  update_interval: number;        // ns
  min_nr_regions: number;
  max_nr_regions: number;
  start: number;                  // ns
}

/** A sleeping lock the workloads take. */
export interface LockDef {
  kind: 'mutex' | 'rwsem';
}

export interface Machine {
  memory: number;                 // bytes of RAM of the machine (split evenly over its nodes)
  nodes: number;                  // NUMA nodes, one WASM instance each
  epoch: number;                  // ns between exchanges of global totals between nodes
  hz: number;                     // CONFIG_HZ
  readAhead: number;              // bytes, the bdi's read_ahead_kb
  memcgStatsFlush: number;        // ns between memcg rstat flushes reclaim sees; 0 = live counters
  movablecore: number;            // bytes of the movablecore= boot parameter (the machine's), 0 = no ZONE_MOVABLE
  /**
   * Set by nodeScenario on each node's own scenario: the whole machine's node count, over
   * which movablecore is spread (the kernel spreads kernelcore evenly over the nodes).
   */
  movablecoreNodes?: number;
}

/** Kernel tunables under their /proc/sys/vm names. */
export interface VmSysctls {
  swappiness: number;             // 0..200, default 60
  min_free_kbytes: number;        // 0 = computed as init_per_zone_wmark_min does
  watermark_scale_factor: number; // 1..3000, default 10
  page_cluster: number;           // default 3: swap readahead up to 8 pages
  laptop_mode: number;            // default 0
  dirty_ratio: number;            // percent, default 20
  dirty_background_ratio: number; // percent, default 10
  dirty_bytes: number;            // bytes, 0 = use the ratio
  dirty_background_bytes: number; // bytes, 0 = use the ratio
  dirty_expire_centisecs: number; // default 3000
  dirty_writeback_centisecs: number; // default 500
  lowmem_reserve_ratio: [number, number, number]; // DMA, DMA32, Normal: 256 256 32
}

/** Simulated CPU costs (ns). */
export interface Costs {
  access: number;
  minorFault: number;
  zeroFill: number;
  scanPage: number;
  freePage: number;
  syscallPage: number;
  rmapWalk: number;
}

export interface Device {
  readBandwidth: number;          // bytes/s
  writeBandwidth: number;         // bytes/s
  readLatency: number;            // ns
  writeLatency: number;           // ns
  queueDepth: number;
  minRatio: number;               // bdi min_ratio, percent
  maxRatio: number;               // bdi max_ratio, percent
  strictLimit: boolean;           // BDI_CAP_STRICTLIMIT
}

export interface Swap {
  size: number;                   // bytes, 0 = no swap
  device: string;                 // key of devices; '' when size is 0
}

export interface FileDef {
  size: number;                   // bytes
  device: string;                 // key of devices
}

export interface Process {
  start: number;                  // ns
  oom_score_adj: number;          // -1000..1000
  node: number;                   // the NUMA node it is bound to
  loop: boolean;                  // restart the workload when its last phase ends
  vmas: Record<string, Vma>;
  subscribers: Record<string, Subscriber>;   // MMU notifier subscriptions, in registration order
  workload: Phase[];
}

/** An MMU notifier subscription on a process's mm. */
export interface Subscriber {
  client: 'kvm' | 'gru' | 'mirror' | 'generic' | 'iommu-sva';
  implementsEnd: boolean;         // generic only; the others always have invalidate_range_end
  busy: number;                   // probability a non-blocking start finds its lock held
  lock: string;                   // a key of locks its callbacks take ('' none)
  holdUntilEnd: boolean;          // start takes the lock, end releases it
  latency: number;                // ns of CPU per callback
  rangeCheck: boolean;            // kvm: retry a guest fault only for an invalidation covering it
  place: number;                  // place in registration order (-1: map order)
  registered: boolean;            // false: not on the mm's list
  deviceMemory: number;           // mirror: bytes of device-private memory
}

export interface Vma {
  type: 'anon' | 'file';
  size: number;                   // bytes, multiple of 4096
  file: string;                   // key of files ('' for anon)
  offset: number;                 // bytes into the file, multiple of 4096
  shared: boolean;                // MAP_SHARED
  mlocked: boolean;               // VM_LOCKED
  exec: boolean;                  // VM_EXEC
  populate: boolean;              // MAP_POPULATE: fault everything in at start
  hugepage: boolean;              // madvise(MADV_HUGEPAGE): VM_HUGEPAGE
}

export interface Phase {
  op: 'access' | 'read' | 'write' | 'sleep' | 'sync' | 'fsync' | 'lock' | 'unlock' | 'guest' | 'dma' | 'truncate' | 'punch' | 'munmap' | 'mprotect' | 'page-idle' | 'migrate';
  subscriber: string;             // guest: the subscription whose secondary MMU it goes through
  target: string;                 // a vma of this process (access, guest, munmap, mprotect), a file (read/write, truncate, punch) or a lock; '' for sleep
  mode: 'write' | 'read';         // lock/unlock of an rwsem; mprotect: PROT_READ|PROT_WRITE or PROT_READ
  process: string;                // lock/unlock of mmap_lock, dma: whose ('' = this process)
  model: 'rdma-mr' | 'direct-io' | 'vfio' | 'gpu-userptr';   // dma: the device
  iodepth: number;                // dma, direct-io: requests in flight
  device: string;                 // dma, direct-io: the block device serving the requests
  revokeLatency: number;          // dma, rdma-mr: ns the owner takes to answer a revocation request (0 = never)
  revocable: boolean;             // dma, rdma-mr: the kernel can revoke the registration itself (ODP-like)
  pattern: 'sequential' | 'uniform' | 'zipf' | 'hotcold';
  theta: number;                  // zipf exponent
  hotFraction: number;            // hotcold: share of pages that are hot
  hotProbability: number;         // hotcold: share of accesses that go to hot pages
  writeFraction: number;          // share of accesses that are stores (access op)
  rate: number;                   // accesses per second, 0 = as fast as the CPU cost allows
  accesses: number;               // 0 = unlimited (until duration or the end of the run)
  duration: number;               // ns, 0 = unlimited
  scramble: boolean;              // zipf: spread ranks over the range by a fixed hash (YCSB)
  start: number;                  // bytes into the target where the range begins (punch: the hole)
  length: number;                 // bytes of the range, 0 = to the end of the target
  size: number;                   // truncate: the file's new size in bytes
  ioSize: number;                 // bytes per read/write syscall
  think: number;                  // ns of CPU between accesses on top of costs.access
}
