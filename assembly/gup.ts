// get_user_pages / pin_user_pages (mm/gup.c) and the devices that use them: a dma phase is a
// device that takes pages of a process's mapping — faulting them in as GUP does, which may
// sleep and enter direct reclaim — and then reads or writes them by DMA, which no PTE, fault
// or page_mkwrite sees, until it lets them go (unpin_user_pages_dirty_lock). How a pin is
// recorded and what the kernel does with pinned pages are pins.track and pins.action
// (pin_policy.ts). Detectors: a DMA write after writeback cleaned the page and before it was
// dirtied again (mmsim_dma_write_after_clean), DMA to a frame freed or reused since the device
// took it (mmsim_dma_after_free).
//
// Devices (DMA_MODEL): rdma-mr and vfio register a range once — FOLL_PIN | FOLL_LONGTERM, with
// FOLL_WRITE if the device writes — and DMA at the phase's rate until its end, then deregister.
// A registration pins its range in batches of GUP_BATCH pages, as ib_umem_get and
// vfio_pin_pages_remote call pin_user_pages; each batch is one __gup_longterm_locked, which
// (pins.migrateLongterm, v5.13) migrates the pages it found in ZONE_MOVABLE out of it and pins
// the batch again (check_and_migrate_movable_pages, migrate.ts);
// direct-io pins each request's pages (FOLL_PIN, FOLL_WRITE for a read into memory), which
// complete out of order after the device's latency and are unpinned (dirtied) then.
import { cfg, phaseCfg, devCfg } from './config';
import { G_N_PHASES, G_N_PROCS, G_PINS_LIMIT_PAGES, PH_OP, PH_MODEL, PH_IODEPTH, PH_IO_PAGES, PH_REMOTE_MM, PH_IO_DEVICE,
  PH_TARGET, PH_PATTERN, PH_WRITE_FRACTION, PH_RATE_PER_SEC, PH_ACCESSES, PROC_FIRST_PHASE, PROC_N_PHASES, FN_UNPIN_USER_PAGES_DIRTY_LOCK,
  OP_DMA, DMA_RDMA_MR, DMA_DIRECT_IO, DMA_VFIO, DMA_GPU_USERPTR, DEV_READ_LATENCY_NS, DEV_READ_PAGES_PER_SEC, G_COST_ACCESS,
  C_MMSIM_GUP_PAGES, C_MMSIM_GUP_FAULTS, C_MMSIM_GUP_UNSHARE_FAULTS, C_MMSIM_PIN_REFUSED, C_MMSIM_PIN_REFUSED_PAGES, C_MMSIM_DMA_WRITES,
  C_MMSIM_DMA_READS, C_MMSIM_DMA_WRITE_AFTER_CLEAN, C_MMSIM_DMA_AFTER_FREE, C_MMSIM_ACCESSES, G_PINS_MIGRATE_LONGTERM,
  C_MMSIM_LONGTERM_MIGRATED, C_MMSIM_LONGTERM_PIN_RETRIES, C_MMSIM_LONGTERM_MIGRATE_FAILED, C_MMSIM_NR_LONGTERM_PINNED_MOVABLE,
  DK_DMA_WRITE_AFTER_CLEAN, DK_DMA_AFTER_FREE, DK_DMA_AFTER_TRUNCATE, C_MMSIM_DMA_AFTER_TRUNCATE, PH_REVOCABLE,
  C_MMSIM_PIN_REVOCATIONS, C_MMSIM_PIN_REVOCATIONS_SYNC, C_MMSIM_PIN_REVOKE_NS, FN_MMSIM_DMA_WRITE, FN_PIN_USER_PAGES } from './generated/abi';
import { procCfg } from './config';
import { regionAlloc } from './mem';
import { refcount, mapping, pageIndex, testFlag, clearFlag, compoundHead, PG_buddy, PG_dirty, PG_mmsim_cleaned, PG_pin_unevictable, PG_lru } from './page';
import { pageZone, populatedZone, memallocPinSave, memallocPinRestore, ZONE_MOVABLE } from './alloc';
import { lruAddDrainAll } from './lru';
import { migrateListAlloc, migrateListReset, migrateIsolate, migrateListLen, migratePagesStart, migratePagesRun, migrateSucceeded,
  putbackMovablePages, migrateAbandon, MIGRATE_SLEEPS } from './migrate';
import { pteOffset, entryPfn, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_DIRTY, _PAGE_ACCESSED, _PAGE_PSE } from './pgtable';
import { vmaMm, vmaStart, vmaEnd, vmaFlags, vmaIsAnon, vmaDetached, mmPgd, VM_SHARED, VM_WRITE } from './mm';
import { countEvent, countAdd } from './vmstat';
import { recordDetector } from './invariants';
import { folioMarkDirty } from './writeback';
import { folioMarkAccessed } from './lru';
import { nextF64 } from './random';
import { pinGrab, pinPut, pinRefusesLongtermFileWrite, pinMakeEvictable, pinUnsharesZeroPage } from './pin_policy';
import { userptrRun, userptrAbandon } from './userptr';
import { pinTruncateRefusesLongterm } from './pin_truncate';
import { tf, setTf, T_BASE, T_N, T_DONE, T_PHASE_END, T_NEXT_ISSUE, nextPosition, phaseRange } from './workload';
import { accessSlow, ACC_DONE, ACC_DEAD, ACC_BLOCKED, ACC_EFAULT, curClock, setCurClock, refreshHorizon, horizonId } from './sched';

export const NO_ENTRY: u32 = 0xFFFF_FFFF;

/** FOLL_* (include/linux/mm_types.h) the models use */
export const FOLL_WRITE: i32 = 0x01;
export const FOLL_GET: i32 = 0x04;
export const FOLL_LONGTERM: i32 = 0x100;
export const FOLL_PIN: i32 = 0x40000;

/** A dma phase's state (the device's: its pages, its requests), one record per task. */
@unmanaged export class DmaState {
  /** the phase it belongs to (-1: none started) */
  phase: i32;
  /** DS_* */
  stage: i32;
  /** FOLL_* of the registration (rdma-mr, vfio) */
  gupFlags: i32;
  /** pages of the range registered so far (the pin loop's progress) */
  pinned: i32;
  /** the range's pages */
  n: i32;
  /** entries: NO_ENTRY, or the pfn the device holds, with the mapping and index it had then */
  entries: usize;
  /** direct-io requests in flight and their records */
  inflight: i32;
  reqs: usize;
  /** requests mid-way through their pinning (one at a time) */
  pinning: i32;
  /** the mm whose pages it takes */
  mm: i32;
  /** gpu-userptr: a build in progress holds its lock or its mmu_interval_read_begin seq */
  building: i32;
  seq: i64;
  /** pins.truncate revoke, williams: when a revocation request reached it (-1: none), and when it lets go (-1: not due) */
  revokeAskedAt: i64;
  revokeAt: i64;
  /** the kernel revokes it (the synchronous stage), not its owner */
  revokeSync: bool;
  /** the timeout passed and nothing could revoke it */
  revokeUnanswered: bool;
  /** rdma-mr, vfio: the first entry of the batch being pinned (one __gup_longterm_locked) */
  batch: i32;
  /** a migrate_pages call of check_and_migrate_movable_pages is under way for the batch */
  migrating: bool;
}

export const DS_PIN: i32 = 0;       // registering (pin loop)
export const DS_DMA: i32 = 1;       // DMA until the phase ends
export const DS_OVER: i32 = 2;      // released (or refused): the phase is over
export const DS_MIGRATE: i32 = 3;   // registering: the batch unpinned, its movable pages migrating

/** Pages per pin_user_pages call of a registration (ib_umem_get's, vfio's: PAGE_SIZE / sizeof(struct page *)). */
const GUP_BATCH: i32 = 512;
/** pins.migrateLongterm */
let migrateLongterm: bool = true;

// a direct-io request record: i64 completion time, i32 first entry, i32 pages, i32 pinned so
// far, i32 state (REQ_*), i32 FOLL_WRITE (a read into memory)
const REQ_BYTES: usize = 32;
const REQ_FREE: i32 = 0; const REQ_PINNING: i32 = 1; const REQ_INFLIGHT: i32 = 2;

let states: usize = 0;
/** the tasks with a device record */
export let gupTasks: i32 = 0;
/** mm->pinned_vm: long-term pinned pages per mm, against pins.limit */
let pinnedVm: usize = 0;
let limitPages: i64 = 0;

const STATE_BYTES: usize = (offsetof<DmaState>() + 7) & ~(<usize>7);
@inline export function stateOf(t: i32): DmaState { return changetype<DmaState>(states + <usize>t * STATE_BYTES); }
@inline export function entryAddr(s: DmaState, i: i32): usize { return s.entries + <usize>i * 12; }
@inline function reqAddr(s: DmaState, r: i32): usize { return s.reqs + <usize>r * REQ_BYTES; }

/** Does the scenario have dma phases (and so need the pin truth table)? */
export function scenarioHasDevices(): bool {
  const n = <i32>cfg(G_N_PHASES);
  for (let g = 0; g < n; g++) if (<i32>phaseCfg(g, PH_OP) == OP_DMA) return true;
  return false;
}

/** Each task's device record, its entries sized by its largest dma phase. */
export function gupInit(nTasks: i32): bool {
  states = regionAlloc(<u64>(nTasks + 1) * <u64>STATE_BYTES);
  pinnedVm = regionAlloc(<u64>(nTasks + 1) * 8);
  if (states == 0 || pinnedVm == 0) return false;
  gupTasks = nTasks;
  limitPages = <i64>cfg(G_PINS_LIMIT_PAGES);
  migrateLongterm = cfg(G_PINS_MIGRATE_LONGTERM) != 0;
  for (let t = 0; t < nTasks; t++) {
    const s = stateOf(t);
    s.phase = -1; s.stage = DS_OVER; s.pinning = -1; s.revokeAskedAt = -1; s.revokeAt = -1; s.migrating = false;
    let entries: i64 = 0; let reqs: i64 = 0;
    const first = <i32>procCfg(t, PROC_FIRST_PHASE); const np = <i32>procCfg(t, PROC_N_PHASES);
    for (let g = first; g < first + np; g++) {
      if (<i32>phaseCfg(g, PH_OP) != OP_DMA) continue;
      const model = <i32>phaseCfg(g, PH_MODEL);
      if (model == DMA_DIRECT_IO) {
        const d = <i64>phaseCfg(g, PH_IODEPTH);
        reqs = max<i64>(reqs, d);
        entries = max<i64>(entries, d * <i64>phaseCfg(g, PH_IO_PAGES));
      } else entries = max<i64>(entries, phaseRange(g));
      if (isLongterm(model) && migrateLongterm && populatedZone(ZONE_MOVABLE) && !migrateListAlloc(t)) return false;
    }
    if (entries > 0) { s.entries = regionAlloc(<u64>entries * 12); if (s.entries == 0) return false; }
    if (reqs > 0) { s.reqs = regionAlloc(<u64>reqs * REQ_BYTES); if (s.reqs == 0) return false; }
  }
  return true;
}

/** mm->pinned_vm of mm `m`, and its change (ib_umem_get's atomic64_add, ib_umem_release's sub). */
@inline function pinnedVmOf(m: i32): i64 { return load<i64>(pinnedVm + (<usize>m << 3)); }
@inline function addPinnedVm(m: i32, d: i64): void { store<i64>(pinnedVm + (<usize>m << 3), pinnedVmOf(m) + d); }

@inline function isLongterm(model: i32): bool { return model == DMA_RDMA_MR || model == DMA_VFIO; }

/**
 * Task `t` enters dma phase `g` (enterNextPhase has set T_BASE and T_N): the device's
 * registration is checked as the kernel checks it before pinning anything — check_vma_flags'
 * FOLL_LONGTERM | FOLL_WRITE on a file mapping that needs dirty tracking (mainline, v6.5:
 * -EFAULT), and the caller's RLIMIT_MEMLOCK-like pins.limit on mm->pinned_vm (ib_umem_get:
 * -ENOMEM). A refused registration ends the phase without DMA.
 */
export function dmaPhaseEnter(t: i32, g: i32): void {
  const s = stateOf(t);
  s.phase = g; s.stage = DS_PIN; s.pinned = 0; s.inflight = 0; s.pinning = -1;
  s.n = <i32>tf(t, T_N);
  const remote = <i32>phaseCfg(g, PH_REMOTE_MM);
  s.mm = remote >= 0 ? remote : t;
  const model = <i32>phaseCfg(g, PH_MODEL);
  const writes = phaseCfg(g, PH_WRITE_FRACTION) > 0;
  s.gupFlags = FOLL_PIN | (writes ? FOLL_WRITE : 0) | (isLongterm(model) ? FOLL_LONGTERM : 0);
  s.building = 0; s.seq = 0;
  s.revokeAskedAt = -1; s.revokeAt = -1; s.revokeSync = false; s.revokeUnanswered = false;
  if (model == DMA_GPU_USERPTR) {
    // i915_gem_userptr_get_pages pins with pin_user_pages_fast: transient, no pin limit
    for (let i = 0; i < s.n; i++) store<u32>(entryAddr(s, i), NO_ENTRY);
    return;
  }
  if (model == DMA_DIRECT_IO) {
    const d = <i32>phaseCfg(g, PH_IODEPTH);
    for (let r = 0; r < d; r++) store<i32>(reqAddr(s, r), REQ_FREE, 20);
    return;
  }
  const v = <i32>phaseCfg(g, PH_TARGET);
  const fileWrite = writes && !vmaIsAnon(v) && (vmaFlags(v) & VM_SHARED) != 0;
  const overLimit = limitPages > 0 && pinnedVmOf(s.mm) + <i64>s.n > limitPages;
  const revocable = model == DMA_RDMA_MR && <i32>phaseCfg(g, PH_REVOCABLE) != 0;
  if ((fileWrite && pinRefusesLongtermFileWrite()) || overLimit || pinTruncateRefusesLongterm(!vmaIsAnon(v), revocable)) {
    countEvent(C_MMSIM_PIN_REFUSED);
    countAdd(C_MMSIM_PIN_REFUSED_PAGES, <i64>s.n);
    s.stage = DS_OVER;
    return;
  }
  addPinnedVm(s.mm, <i64>s.n);
  for (let i = 0; i < s.n; i++) store<u32>(entryAddr(s, i), NO_ENTRY);
  s.batch = 0; s.migrating = false;
  // __gup_longterm_locked's memalloc_pin_save: what the pin faults in comes from outside ZONE_MOVABLE
  if (migrateLongterm) memallocPinSave(t);
}

// gupFollow's answers besides a pfn
export const GUP_ZERO: i64 = -1;      // the shared zero page (a read pin: not counted, never freed)
export const GUP_BLOCKED: i64 = -2;   // the fault sleeps: call again when the task runs
export const GUP_DEAD: i64 = -3;      // the device's own task was killed
export const GUP_EFAULT: i64 = -4;    // the fault failed (no memory, the mm is exiting): the pin fails
export const ZERO_ENTRY: u32 = 0xFFFF_FFFE;

/**
 * pin_user_pages_fast for one page of task `t`'s device, as drivers call it (ib_umem_get, the
 * direct-I/O iov_iter): gup_fast takes a present PTE that permits the access, touching nothing;
 * otherwise the slow path faults the page in (faultin_page: handle_mm_fault, with FOLL_WRITE's
 * write fault — COW break, page_mkwrite) and follows it with FOLL_TOUCH (a write pin dirties
 * the folio, the folio is marked accessed).
 */
function gupFollow(t: i32, v: i32, vpn: i64, write: bool, longterm: bool): i64 {
  // __get_user_pages: no VMA there any more (munmapped), or check_vma_flags' FOLL_WRITE on a
  // VMA without VM_WRITE (mprotect'ed read-only): -EFAULT
  if (vmaDetached(v) || (write && (vmaFlags(v) & VM_WRITE) == 0)) return GUP_EFAULT;
  const pgd = mmPgd(vmaMm(v));
  let unshare = false;
  for (let tries = 0; tries < 8; tries++) {
    const pte = pteOffset(pgd, vpn);
    if (pte != 0) {
      const e = load<u64>(pte);
      if ((e & _PAGE_PRESENT) != 0 && (!write || (e & _PAGE_RW) != 0)) {
        if ((e & _PAGE_SPECIAL) != 0) {
          // gup_must_unshare (v6.0, reliable R/O long-term pinning): a FOLL_LONGTERM read pin of
          // the shared zero page in a private (COW) mapping unshares it first — a page of its
          // own, which later writes of the process land in, instead of the zero page
          if (!longterm || write || !pinUnsharesZeroPage() || (vmaFlags(v) & VM_SHARED) != 0) return GUP_ZERO;
          unshare = true;
        } else {
          // follow_page_pte, or follow_huge_pmd for a THP: the page of the folio at the address
          const head = entryPfn(e);
          const p = (e & _PAGE_PSE) != 0 ? head + <u32>(vpn & 511) : head;
          if (tries > 0) {
            // the slow path's follow with FOLL_TOUCH (the folio's flags)
            if (write && (e & _PAGE_DIRTY) == 0 && !testFlag(head, PG_dirty)) folioMarkDirty(head);
            folioMarkAccessed(head);
          }
          return <i64>p;
        }
      }
    }
    countEvent(C_MMSIM_GUP_FAULTS);
    // (FAULT_FLAG_UNSHARE's wp_page_copy, here as the write fault that copies the zero page)
    if (unshare) countEvent(C_MMSIM_GUP_UNSHARE_FAULTS);
    const r = accessSlow(t, v, vpn, write || unshare, false, true);
    if (r == ACC_BLOCKED) return GUP_BLOCKED;
    if (r == ACC_DEAD) return GUP_DEAD;
    if (r == ACC_EFAULT) return GUP_EFAULT;
  }
  return GUP_EFAULT;
}

/** Take entry `i` of the device's list: follow (or fault) the page, then grab it as the track records pins. */
export function gupEntry(t: i32, s: DmaState, v: i32, vpn: i64, i: i32): i64 {
  const r = gupFollow(t, v, vpn, (s.gupFlags & FOLL_WRITE) != 0, (s.gupFlags & FOLL_LONGTERM) != 0);
  if (r == GUP_BLOCKED || r == GUP_DEAD || r == GUP_EFAULT) return r;
  const a = entryAddr(s, i);
  setCurClock(curClock + <i64>cfg(G_COST_ACCESS));
  if (r == GUP_ZERO) { store<u32>(a, ZERO_ENTRY); return r; }
  const p = <u32>r;
  pinGrab(p, (s.gupFlags & FOLL_LONGTERM) != 0);
  countEvent(C_MMSIM_GUP_PAGES);
  if ((s.gupFlags & FOLL_LONGTERM) != 0 && pageZone(p) == ZONE_MOVABLE) countAdd(C_MMSIM_NR_LONGTERM_PINNED_MOVABLE, 1);
  store<u32>(a, p); store<u32>(a, mapping(p), 4); store<u32>(a, pageIndex(p), 8);
  return r;
}

/**
 * unpin_user_pages_dirty_lock over `count` entries from `first`: a write pin dirties each page
 * not dirty yet (set_page_dirty_lock: it marks buffers that are there, it attaches none), then
 * the device's reference goes (gup_put_folio).
 */
export function releaseEntries(s: DmaState, first: i32, count: i32, dirty: bool): void {
  const longterm = (s.gupFlags & FOLL_LONGTERM) != 0;
  for (let i = first; i < first + count; i++) {
    const a = entryAddr(s, i);
    const p = load<u32>(a);
    store<u32>(a, NO_ENTRY);
    if (p == NO_ENTRY || p == ZERO_ENTRY) continue;
    const f = compoundHead(p);        // page_folio: the folio holds the pin and the dirty bit
    if (dirty && !testFlag(f, PG_dirty)) folioMarkDirty(f);
    if (testFlag(f, PG_pin_unevictable)) pinMakeEvictable(f);
    if ((s.gupFlags & FOLL_LONGTERM) != 0 && pageZone(p) == ZONE_MOVABLE) countAdd(C_MMSIM_NR_LONGTERM_PINNED_MOVABLE, -1);
    pinPut(p, longterm);
    setCurClock(curClock + <i64>cfg(G_COST_ACCESS));
  }
}

/**
 * One DMA access by the device of task `t` to entry `i`: a write changes the page behind the
 * kernel's back. Detectors: the frame is not the page the device took (freed or reused), or
 * writeback cleaned the page since the device took it and nothing dirtied it since.
 */
function dmaAccess(t: i32, s: DmaState, i: i32, write: bool): void {
  const a = entryAddr(s, i);
  const p = load<u32>(a);
  if (p == NO_ENTRY) return;
  if (p == ZERO_ENTRY) { countEvent(C_MMSIM_DMA_READS); return; }
  // the folio's references; the page's own mapping and index (a THP's pages carry theirs)
  const f = compoundHead(p);
  if (refcount(f) > 0 && !testFlag(f, PG_buddy) && mapping(p) == 0 && load<u32>(a, 4) != 0) {
    // the device's reference keeps the frame, but truncation took the page out of its file
    countEvent(write ? C_MMSIM_DMA_WRITES : C_MMSIM_DMA_READS);
    countEvent(C_MMSIM_DMA_AFTER_TRUNCATE);
    recordDetector(DK_DMA_AFTER_TRUNCATE, p, t, FN_MMSIM_DMA_WRITE, <f64>i, -1, s.phase);
    return;
  }
  if (refcount(f) <= 0 || testFlag(f, PG_buddy) || testFlag(p, PG_buddy) || mapping(p) != load<u32>(a, 4) || pageIndex(p) != load<u32>(a, 8)) {
    countEvent(C_MMSIM_DMA_AFTER_FREE);
    recordDetector(DK_DMA_AFTER_FREE, p, t, FN_MMSIM_DMA_WRITE, <f64>i, -1, s.phase);
    return;
  }
  if (!write) { countEvent(C_MMSIM_DMA_READS); return; }
  countEvent(C_MMSIM_DMA_WRITES);
  if (testFlag(p, PG_mmsim_cleaned)) {
    clearFlag(p, PG_mmsim_cleaned);
    countEvent(C_MMSIM_DMA_WRITE_AFTER_CLEAN);
    recordDetector(DK_DMA_WRITE_AFTER_CLEAN, p, t, FN_MMSIM_DMA_WRITE, <f64>i, -1, s.phase);
  }
}

export const DMA_YIELD: i32 = 0;   // at the horizon (or past it, waiting for a completion)
export const DMA_BLOCKED: i32 = 1; // asleep in a fault
export const DMA_DEAD: i32 = 2;    // the device's task was killed
export const DMA_OVER: i32 = 3;    // the phase is over: every page let go

@inline export function before(clock: i64, hTime: i64, hId: i32, me: i32): bool { return clock < hTime || (clock == hTime && me < hId); }

/**
 * Run task `t`'s dma phase `g` from curClock until the horizon (the next other event), as
 * guestRun does for a guest. The clock is left in curClock.
 */
export function dmaRun(t: i32, g: i32, hTime: i64, hId: i32, limit: i64, me: i32): i32 {
  const s = stateOf(t);
  if (s.phase != g) dmaPhaseEnter(t, g);
  if (s.stage == DS_OVER) return phaseOver(s);
  const model = <i32>phaseCfg(g, PH_MODEL);
  if (model == DMA_DIRECT_IO) return directIoRun(t, g, s, hTime, hId, limit, me);
  if (model == DMA_GPU_USERPTR) return userptrRun(t, g, s, hTime, hId, limit, me);
  const v = <i32>phaseCfg(g, PH_TARGET);
  const base = tf(t, T_BASE);
  const dirty = (s.gupFlags & FOLL_WRITE) != 0;
  // the registration: pin_user_pages over the range, a page at a time, in batches of
  // GUP_BATCH; each batch pinned is checked for pages a long-term pin must not keep
  while (s.stage == DS_PIN || s.stage == DS_MIGRATE) {
    if (s.stage == DS_PIN && revokeDue(s, curClock)) return dmaRevoked(s, s.pinned, false);
    if (s.stage == DS_MIGRATE) {
      const r = longtermMigrate(t, s);
      if (r == MIGRATE_SLEEPS) return DMA_BLOCKED;
      if (r != 0) {
        // migration failed (-ENOMEM): __gup_longterm_locked fails, and so does the registration
        countEvent(C_MMSIM_LONGTERM_MIGRATE_FAILED);
        return registrationFailed(t, s);
      }
      // -EAGAIN: the batch is pinned again, from its first page
      countEvent(C_MMSIM_LONGTERM_PIN_RETRIES);
      s.stage = DS_PIN;
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    const batchEnd = s.batch + GUP_BATCH < s.n ? s.batch + GUP_BATCH : s.n;
    if (s.pinned >= batchEnd) {
      if (checkAndMigrateMovablePages(t, s, me)) { s.stage = DS_MIGRATE; continue; }
      s.batch = s.pinned;
      if (s.pinned >= s.n) { memallocPinRestore(t); s.stage = DS_DMA; break; }
      continue;
    }
    if (!before(curClock, hTime, hId, me)) return DMA_YIELD;
    const r = gupEntry(t, s, v, base + s.pinned, s.pinned);
    if (r == GUP_BLOCKED) return DMA_BLOCKED;
    if (r == GUP_DEAD) return DMA_DEAD;
    if (r == GUP_EFAULT) return registrationFailed(t, s);
    s.pinned++;
    hTime = refreshHorizon(limit); hId = horizonId;
  }
  if (!dmaTransfer(t, g, s, hTime, hId, me)) return DMA_YIELD;
  if (revokeDue(s, curClock)) return dmaRevoked(s, s.n, dirty);
  // deregistration (ib_umem_release): unpin_user_pages_dirty_lock over the range
  releaseEntries(s, 0, s.n, dirty);
  addPinnedVm(s.mm, -<i64>s.n);
  return phaseOver(s);
}

/** The registration fails: what was pinned is let go (ib_umem_get's error path), the phase ends without DMA. */
function registrationFailed(t: i32, s: DmaState): i32 {
  releaseEntries(s, 0, s.pinned, false);
  addPinnedVm(s.mm, -<i64>s.n);
  memallocPinRestore(t);
  return phaseOver(s);
}

/**
 * check_and_migrate_movable_pages for the batch just pinned, [s.batch, s.pinned), by task `t`
 * (entity `e`): collect_longterm_unpinnable_folios — every page that is not
 * folio_is_longterm_pinnable (in ZONE_MOVABLE; CMA is not modelled, the zero page always is),
 * isolated from the LRU (lru_add_drain_all once first if one is in a per-CPU batch; one that
 * cannot be isolated is collected all the same) — then migrate_longterm_unpinnable_folios:
 * every page of the batch unpinned (unpin_user_pages), and a migrate_pages call started for
 * those isolated. False if none was collected: the batch stays pinned. With
 * pins.migrateLongterm false (before v5.13) nothing is collected.
 */
function checkAndMigrateMovablePages(t: i32, s: DmaState, e: i32): bool {
  if (!migrateLongterm || (s.gupFlags & FOLL_LONGTERM) == 0 || !populatedZone(ZONE_MOVABLE)) return false;
  migrateListReset(t);
  let collected = 0;
  let drainAllow = true;
  for (let i = s.batch; i < s.pinned; i++) {
    const p = load<u32>(entryAddr(s, i));
    if (p == NO_ENTRY || p == ZERO_ENTRY || pageZone(p) != ZONE_MOVABLE) continue;
    collected++;
    if (!testFlag(p, PG_lru) && drainAllow) { lruAddDrainAll(); drainAllow = false; }
    migrateIsolate(t, p);
  }
  if (collected == 0) return false;
  releaseEntries(s, s.batch, s.pinned - s.batch, false);
  s.pinned = s.batch;
  s.migrating = migrateListLen(t) > 0;
  if (s.migrating) migratePagesStart(t, e);
  return true;
}

/**
 * The migrate_pages call of the batch, from where it stands, then putback_movable_pages:
 * MIGRATE_SLEEPS while it sleeps, else 0 (-EAGAIN for __gup_longterm_locked: pin the batch
 * again) or non-zero (it failed: -ENOMEM).
 */
function longtermMigrate(t: i32, s: DmaState): i32 {
  let rc = 0;
  if (s.migrating) {
    rc = migratePagesRun(t);
    if (rc == MIGRATE_SLEEPS) return rc;
    s.migrating = false;
    countAdd(C_MMSIM_LONGTERM_MIGRATED, <i64>migrateSucceeded(t));
  }
  putbackMovablePages(t);
  return rc;
}

/**
 * The device's DMA over its pages at the phase's rate, from curClock until the horizon (false)
 * or the phase's end (true: the caller lets the pages go).
 */
export function dmaTransfer(t: i32, g: i32, s: DmaState, hTime: i64, hId: i32, me: i32): bool {
  const dirty = (s.gupFlags & FOLL_WRITE) != 0;
  const pattern = <i32>phaseCfg(g, PH_PATTERN);
  const wf = dirty ? phaseCfg(g, PH_WRITE_FRACTION) : 0;
  const rate = phaseCfg(g, PH_RATE_PER_SEC);
  const interval: i64 = rate > 0 ? <i64>(1e9 / rate) : 0;
  const step: i64 = interval > 0 ? 0 : <i64>cfg(G_COST_ACCESS);
  const maxAcc = <i64>phaseCfg(g, PH_ACCESSES);
  const phaseEnd = tf(t, T_PHASE_END);
  let clock = curClock;
  let done = tf(t, T_DONE);
  let over = false;
  while (before(clock, hTime, hId, me)) {
    if ((maxAcc > 0 && done >= maxAcc) || (phaseEnd >= 0 && clock >= phaseEnd) || revokeDue(s, clock)) { over = true; break; }
    if (interval > 0) {
      const issue = tf(t, T_NEXT_ISSUE);
      if (clock < issue) {
        clock = phaseEnd >= 0 && issue > phaseEnd ? phaseEnd : issue;
        if (s.revokeAt >= 0 && s.revokeAt < clock) clock = s.revokeAt;
        continue;
      }
      setTf(t, T_NEXT_ISSUE, (issue > clock ? issue : clock) + interval);
    }
    const pos = nextPosition(t, g, pattern, <i64>s.n, 1);
    if (pos < 0) { over = true; break; }
    const write = wf > 0 && (wf >= 1 || nextF64(t) < wf);
    dmaAccess(t, s, <i32>pos, write);
    done++;
    countEvent(C_MMSIM_ACCESSES);
    clock += step;
  }
  setTf(t, T_DONE, done);
  setCurClock(clock);
  return over;
}

@inline function revokeDue(s: DmaState, clock: i64): bool { return s.revokeAt >= 0 && clock >= s.revokeAt; }

/**
 * A revoked registration (pins.truncate revoke, williams) lets its `n` pages go — its owner
 * deregisters (ib_umem_release), or the kernel invalidates the device's mappings itself — and
 * its phase is over: the device does no more DMA to the range.
 */
function dmaRevoked(s: DmaState, n: i32, dirty: bool): i32 {
  countEvent(s.revokeSync ? C_MMSIM_PIN_REVOCATIONS_SYNC : C_MMSIM_PIN_REVOCATIONS);
  countAdd(C_MMSIM_PIN_REVOKE_NS, curClock - s.revokeAskedAt);
  releaseEntries(s, 0, n, dirty);
  addPinnedVm(s.mm, -<i64>s.n);
  return phaseOver(s);
}

/** The phase is over, every page let go: a later phase (or the same one again, looping) starts afresh. */
export function phaseOver(s: DmaState): i32 {
  s.stage = DS_OVER;
  s.phase = -1;
  return DMA_OVER;
}

/**
 * direct-io: up to iodepth requests of ioSize pages in flight. Each request pins its pages
 * (FOLL_PIN; FOLL_WRITE for a read into memory), waits for the device (its read latency, from
 * half to one and a half times it, and the transfer at its bandwidth: requests complete out of
 * order), then the DMA lands and the pages are unpinned, dirtied for a read
 * (bio_release_pages). The phase ends when its time or request count is reached and the last
 * request in flight has completed.
 */
function directIoRun(t: i32, g: i32, s: DmaState, hTime: i64, hId: i32, limit: i64, me: i32): i32 {
  const v = <i32>phaseCfg(g, PH_TARGET);
  const base = tf(t, T_BASE);
  const depth = <i32>phaseCfg(g, PH_IODEPTH);
  const io = <i32>phaseCfg(g, PH_IO_PAGES);
  const pattern = <i32>phaseCfg(g, PH_PATTERN);
  const wf = phaseCfg(g, PH_WRITE_FRACTION);
  const rate = phaseCfg(g, PH_RATE_PER_SEC);
  const interval: i64 = rate > 0 ? <i64>(1e9 / rate) : 0;
  const maxAcc = <i64>phaseCfg(g, PH_ACCESSES);
  const phaseEnd = tf(t, T_PHASE_END);
  const dev = <i32>phaseCfg(g, PH_IO_DEVICE);
  const latency = devCfg(dev, DEV_READ_LATENCY_NS);
  const pagesPerSec = devCfg(dev, DEV_READ_PAGES_PER_SEC);
  while (true) {
    // a request whose pinning slept goes on first (pin_user_pages of its iov)
    if (s.pinning >= 0) {
      const r = s.pinning;
      const ra = reqAddr(s, r);
      const first = load<i32>(ra, 8); const n = load<i32>(ra, 12);
      let pinned = load<i32>(ra, 16);
      const pos = load<i64>(ra);
      const flagsSave = s.gupFlags;
      s.gupFlags = FOLL_PIN | (load<i32>(ra, 24) != 0 ? FOLL_WRITE : 0);
      while (pinned < n) {
        if (!before(curClock, hTime, hId, me)) { store<i32>(ra, pinned, 16); s.gupFlags = flagsSave; return DMA_YIELD; }
        const res = gupEntry(t, s, v, base + pos + <i64>pinned, first + pinned);
        if (res == GUP_BLOCKED || res == GUP_DEAD) { store<i32>(ra, pinned, 16); s.gupFlags = flagsSave; return res == GUP_DEAD ? DMA_DEAD : DMA_BLOCKED; }
        if (res == GUP_EFAULT) break;
        pinned++;
        hTime = refreshHorizon(limit); hId = horizonId;
      }
      s.gupFlags = flagsSave;
      if (pinned < n) {
        // the pin failed (-EFAULT, -ENOMEM): the request fails, what it pinned is let go
        releaseEntries(s, first, pinned, false);
        store<i32>(ra, REQ_FREE, 20);
        s.inflight--;
      } else {
        const jitter = 0.5 + nextF64(t);
        const doneAt = curClock + <i64>(latency * jitter) + <i64>(<f64>n * 1e9 / pagesPerSec);
        store<i64>(ra, doneAt);
        store<i32>(ra, REQ_INFLIGHT, 20);
      }
      s.pinning = -1;
      hTime = refreshHorizon(limit); hId = horizonId;
    }
    // the next thing to happen: the earliest completion, or the next issue
    let c: i64 = i64.MAX_VALUE; let cr = -1; let free = -1;
    for (let r = 0; r < depth; r++) {
      const ra = reqAddr(s, r);
      const st = load<i32>(ra, 20);
      if (st == REQ_INFLIGHT && load<i64>(ra, 0) < c) { c = load<i64>(ra, 0); cr = r; }
      if (st == REQ_FREE && free < 0) free = r;
    }
    // (the phase's end: its time, its count, or a single sequential pass done — T_PHASE_END set)
    const endAt = tf(t, T_PHASE_END);
    const ending = (maxAcc > 0 && tf(t, T_DONE) >= maxAcc) || (endAt >= 0 && curClock >= endAt);
    let issueAt: i64 = i64.MAX_VALUE;
    if (!ending && free >= 0) {
      issueAt = curClock;
      if (interval > 0 && tf(t, T_NEXT_ISSUE) > issueAt) issueAt = tf(t, T_NEXT_ISSUE);
      if (endAt >= 0 && issueAt > endAt) issueAt = i64.MAX_VALUE;
    }
    let next = c < issueAt ? c : issueAt;
    if (next == i64.MAX_VALUE) {
      if (s.inflight > 0) { next = endAt; }     // (cannot happen: in flight means a completion)
      else return phaseOver(s);
    }
    if (next < curClock) next = curClock;
    if (!before(next, hTime, hId, me)) { setCurClock(next); return DMA_YIELD; }
    setCurClock(next);
    if (cr >= 0 && c <= issueAt) {
      // completion: the DMA lands, then bio_release_pages
      const ra = reqAddr(s, cr);
      const first = load<i32>(ra, 8); const n = load<i32>(ra, 12);
      const write = load<i32>(ra, 24) != 0;
      for (let i = first; i < first + n; i++) dmaAccess(t, s, i, write);
      releaseEntries(s, first, n, write);
      store<i32>(ra, REQ_FREE, 20);
      s.inflight--;
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    // issue a request: its pages from the pattern, io-aligned positions
    const pos = nextPosition(t, g, pattern, <i64>s.n, <i64>io);
    if (pos < 0) { setTf(t, T_PHASE_END, curClock); continue; }
    if (interval > 0) setTf(t, T_NEXT_ISSUE, curClock + interval);
    let n = io;
    if (pos + <i64>n > <i64>s.n) n = <i32>(<i64>s.n - pos);
    const ra = reqAddr(s, free);
    store<i64>(ra, pos);
    store<i32>(ra, free * io, 8); store<i32>(ra, n, 12); store<i32>(ra, 0, 16);
    store<i32>(ra, REQ_PINNING, 20);
    store<i32>(ra, wf > 0 && (wf >= 1 || nextF64(t) < wf) ? 1 : 0, 24);
    for (let i = 0; i < n; i++) store<u32>(entryAddr(s, free * io + i), NO_ENTRY);
    s.inflight++;
    s.pinning = free;
    setTf(t, T_DONE, tf(t, T_DONE) + 1);
    countEvent(C_MMSIM_ACCESSES);
  }
  return DMA_OVER;
}

/** The device's task exits (or is killed) with pages held: the driver's release lets them all go. */
export function dmaAbandon(t: i32): void {
  const s = stateOf(t);
  if (s.phase < 0 || s.stage == DS_OVER) return;
  const g = s.phase;
  if (<i32>phaseCfg(g, PH_MODEL) == DMA_DIRECT_IO) {
    const depth = <i32>phaseCfg(g, PH_IODEPTH);
    for (let r = 0; r < depth; r++) {
      const ra = reqAddr(s, r);
      const st = load<i32>(ra, 20);
      if (st == REQ_FREE) continue;
      const n = st == REQ_PINNING ? load<i32>(ra, 16) : load<i32>(ra, 12);
      releaseEntries(s, load<i32>(ra, 8), n, false);
      store<i32>(ra, REQ_FREE, 20);
    }
    s.inflight = 0; s.pinning = -1;
  } else if (<i32>phaseCfg(g, PH_MODEL) == DMA_GPU_USERPTR) {
    userptrAbandon(s, g);
  } else {
    if (s.stage == DS_MIGRATE) { migrateAbandon(t); s.migrating = false; }
    memallocPinRestore(t);
    releaseEntries(s, 0, s.stage == DS_PIN || s.stage == DS_MIGRATE ? s.pinned : s.n, (s.gupFlags & FOLL_WRITE) != 0);
    addPinnedVm(s.mm, -<i64>s.n);
  }
  phaseOver(s);
}
