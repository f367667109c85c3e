/**
 * What one simulation run produces; the engine (src/engine) builds it, the report modules turn
 * it into files and a terminal summary. Everything but `wall` is a pure function of
 * (scenario, seed).
 */

/** A simulated BUG_ON/WARN_ON analog that fired; `func` is the kernel function it models. */
export interface DetectorHit {
  kind: string;
  timeNs: number;
  pfn: number;
  task: number;
  func: string;
  /** mmsim_deadlock: the member's place in its cycle; mmsim_hung_task: ns asleep. */
  value: number;
  /** Lock detectors: the task's name, the lock it waits for and that lock's owner. */
  taskName?: string;
  waitsFor?: string;
  owner?: string;
  /** MMU notifier detectors: the subscription ('<name> of <process>'); `value` is the range's start (page number). */
  subscriber?: string;
  /**
   * DMA detectors: the device ('<model> of <process>'); `value` is the page's place in the device's list.
   * mmsim_bug_writeback_no_buffers: the file the page belongs to and its device (`value` is the
   * file's index); `taskName` is the writer: the flusher, or a process writing in its own context.
   */
  file?: string;
  device?: string;
}

/**
 * One OOM kill: when, the victim, its oom_badness (pages, after oom_score_adj) and rss then;
 * when the OOM reaper zapped it and what that freed, when its own exit_mmap unmapped it and
 * what that freed (null: it did not happen in the run).
 */
export interface OomKill {
  timeNs: number; task: number; taskName: string; badness: number; rssPages: number;
  reapedAtNs: number | null; reapedPages: number; exitAtNs: number | null; exitFreedPages: number;
}

/** A zone's size and watermarks in pages, as /proc/zoneinfo shows them. */
export interface ZoneInfo {
  name: string;
  managed: number;
  min: number;
  low: number;
  high: number;
  lowmemReserve: number[];
}

/** One backing device's writeback context (struct bdi_writeback) at the end of the run. */
export interface WbInfo {
  device: string;
  dirtied: number;            // WB_DIRTIED, pages
  written: number;            // WB_WRITTEN, pages
  dirty: number;              // WB_RECLAIMABLE, pages
  writeback: number;          // WB_WRITEBACK, pages
  writeBandwidth: number;     // avg_write_bandwidth, pages/s
  dirtyRatelimit: number;     // dirty_ratelimit, pages/s
  wbThresh: number;           // last wb_thresh, pages
  completionShare: number;    // fraction of recent completions (its share of the threshold)
}

/** Percentiles of a distribution, in milliseconds. */
export interface Distribution { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number }

/** Dirty throttling and flushing, from the core's exact histograms. */
export interface WritebackFigures {
  /** balance_dirty_pages sleeps (per jiffy buckets). */
  pauses: Distribution;
  /** Age of dirty data when its writeback completed (10 ms buckets). */
  flushAge: Distribution;
}

export interface ReclaimFigures {
  /** Whole direct reclaim calls (try_to_free_pages, its sleeps included), power-of-two µs buckets. */
  directLatency: Distribution;
}

/** One DAMON monitoring region: where it is (the VMA it starts in and the byte offset into it), its access count over the last aggregation and its age. */
export interface DamonRegion {
  process: string;
  /** The VMA holding the region's start ('' in a gap between VMAs: a vaddr region spans them). */
  vma: string;
  offset: number;
  bytes: number;
  nrAccesses: number;
  age: number;
}

export interface RunError {
  message: string;
  simulatedNs: number;
  lastEvent: string;
}

export interface RunResult {
  scenario: string;
  seed: number;
  simulatedSeconds: number;
  /** The scenario's duration: a run ends earlier when every workload has ended (not in results.json). */
  plannedSeconds?: number;
  /** Every counter of src/abi/counters.ts, in that order. */
  counters: Record<string, number>;
  /** The first hits recorded; detectorsTotal counts all of them. */
  detectors: DetectorHit[];
  detectorsTotal: number;
  /** Every OOM kill (the kernel's "Out of memory: Killed process"), in time order. */
  oomKills: OomKill[];
  /** DAMON's regions at its last aggregation (damo's last record), when it monitored anything. */
  damon?: DamonRegion[];
  zones: ZoneInfo[];
  /** Per backing device, in the scenario's device order. */
  wbs: WbInfo[];
  writeback: WritebackFigures;
  reclaim: ReclaimFigures;
  /** columns[0] is 'time_s'; one row per sample. */
  series: { columns: string[]; rows: number[][] };
  status: 'ok' | 'error';
  error?: RunError;
  /** Host wall-clock figures: shown in the summary, never written to results.json. */
  wall: { seconds: number; accesses: number; /** How the host pages the core's memory (host-pages.ts). */ hostPages?: string };
}
