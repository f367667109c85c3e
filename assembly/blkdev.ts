// Block devices: each serves requests in FIFO order at its bandwidth, a request completes a
// fixed latency after its last page was transferred, and at most queueDepth requests are in
// flight (a request waits for the one queueDepth places before it to complete). Reads and writes keep separate
// completion rings (each in time order, since latency is constant per direction); the
// device's event fires at the earlier head. Pages are completed one by one at their time:
// reads unlock the page (PG_locked, "uptodate"), writes end writeback.
import { RING_BITS as LAYOUT_RING_BITS } from './generated/abi';
import { regionAlloc } from './mem';
import { cfg, devCfg } from './config';
import { G_N_DEVICES, DEV_READ_PAGES_PER_SEC, DEV_WRITE_PAGES_PER_SEC, DEV_READ_LATENCY_NS,
  DEV_WRITE_LATENCY_NS, DEV_QUEUE_DEPTH, C_PGPGIN, C_PGPGOUT } from './generated/abi';
import { schedule, scheduleNoLater } from './events';
import { clearFlag, setFlag, PG_readio, PG_uptodate } from './page';
import { folioUnlock, folioWakeWriteback } from './filemap';
import { endPageWriteback } from './writeback';
import { acctReclaimWriteback } from './vmscan';
import { countAdd } from './vmstat';
import { deviceEntity } from './sched';

export const BLK_READ: i32 = 0;
export const BLK_WRITE: i32 = 1;
const RING_BITS: u32 = <u32>LAYOUT_RING_BITS;
export const RING_CAP: u32 = 1 << RING_BITS;
const RING_MASK: u32 = RING_CAP - 1;
// Device table, i64 per field.
const D_BUSY = 0; const D_HEAD = 1; const D_TAIL = 3; const D_NS_PER_PAGE = 5; const D_LAT = 7;
const D_RING_T = 9; const D_RING_P = 11; const D_QD = 13; const D_REQ = 14; const D_SLOTS = 15;
const D_STRIDE = 16;

let devs: usize = 0;
export let nDevices: i32 = 0;

@inline function df(d: i32, f: i32): i64 { return load<i64>(devs + (<usize>(d * D_STRIDE + f) << 3)); }
@inline function setDf(d: i32, f: i32, v: i64): void { store<i64>(devs + (<usize>(d * D_STRIDE + f) << 3), v); }

export function blkInit(): bool {
  nDevices = <i32>cfg(G_N_DEVICES);
  devs = regionAlloc(<u64>(nDevices + 1) * D_STRIDE * 8);
  if (devs == 0) return false;
  for (let d = 0; d < nDevices; d++) {
    setDf(d, D_NS_PER_PAGE + BLK_READ, <i64>(1e9 / devCfg(d, DEV_READ_PAGES_PER_SEC)));
    setDf(d, D_NS_PER_PAGE + BLK_WRITE, <i64>(1e9 / devCfg(d, DEV_WRITE_PAGES_PER_SEC)));
    setDf(d, D_LAT + BLK_READ, <i64>devCfg(d, DEV_READ_LATENCY_NS));
    setDf(d, D_LAT + BLK_WRITE, <i64>devCfg(d, DEV_WRITE_LATENCY_NS));
    let qd = <i64>devCfg(d, DEV_QUEUE_DEPTH);
    if (qd < 1) qd = 1;
    setDf(d, D_QD, qd);
    const slots = regionAlloc(<u64>qd * 8);      // completion time of the request in each tag
    if (slots == 0) return false;
    setDf(d, D_SLOTS, <i64>slots);
    for (let op = 0; op < 2; op++) {
      const t = regionAlloc(<u64>RING_CAP * 8); const p = regionAlloc(<u64>RING_CAP * 4);
      if (t == 0 || p == 0) return false;
      setDf(d, D_RING_T + op, <i64>t); setDf(d, D_RING_P + op, <i64>p);
    }
  }
  return true;
}

/** Requests the ring of `op` can still take. */
export function blkRoom(d: i32, op: i32): u32 {
  return RING_CAP - <u32>(df(d, D_TAIL + op) - df(d, D_HEAD + op));
}

/**
 * submit_bio for `n` pages at time `t`: the pages are transferred after whatever is queued,
 * and complete together one latency later. Returns the completion time; the caller then adds
 * each page with blkAddPage.
 */
export function blkSubmit(d: i32, op: i32, n: u32, t: i64): i64 {
  // a free tag: the request queueDepth places back must have completed
  const req = df(d, D_REQ);
  const tag = <usize>df(d, D_SLOTS) + (<usize>(req % df(d, D_QD)) << 3);
  let start = load<i64>(tag);
  if (start < t) start = t;
  if (start < df(d, D_BUSY)) start = df(d, D_BUSY);
  const done = start + <i64>n * df(d, D_NS_PER_PAGE + op);
  setDf(d, D_BUSY, done);
  const completion = done + df(d, D_LAT + op);
  store<i64>(tag, completion);
  setDf(d, D_REQ, req + 1);
  countAdd(op == BLK_READ ? C_PGPGIN : C_PGPGOUT, <i64>n * 4);
  return completion;
}

export function blkAddPage(d: i32, op: i32, pfn: u32, completion: i64): void {
  const tail = df(d, D_TAIL + op);
  const slot = <usize>(<u32>tail & RING_MASK);
  store<i64>(<usize>df(d, D_RING_T + op) + (slot << 3), completion);
  store<u32>(<usize>df(d, D_RING_P + op) + (slot << 2), pfn);
  setDf(d, D_TAIL + op, tail + 1);
  scheduleNoLater(deviceEntity(d), completion);
}

/** The device's event: complete every page whose time has come, then re-arm. */
export function blkComplete(d: i32, now: i64): void {
  for (let op = 0; op < 2; op++) {
    const t = <usize>df(d, D_RING_T + op); const p = <usize>df(d, D_RING_P + op);
    let head = df(d, D_HEAD + op);
    const tail = df(d, D_TAIL + op);
    while (head < tail) {
      const slot = <usize>(<u32>head & RING_MASK);
      if (load<i64>(t + (slot << 3)) > now) break;
      const pfn = load<u32>(p + (slot << 2));
      head++;
      setDf(d, D_HEAD + op, head);
      if (op == BLK_READ) {
        // end of a read: folio_end_read (uptodate, then unlock and wake the waiters)
        clearFlag(pfn, PG_readio);
        setFlag(pfn, PG_uptodate);
        folioUnlock(pfn, now);
      } else {
        endPageWriteback(pfn);
        folioWakeWriteback(pfn, now);  // folio_end_writeback → folio_wake_bit(PG_writeback)
        acctReclaimWriteback(now);     // folio_end_writeback → acct_reclaim_writeback
      }
    }
  }
  let next: i64 = -1;
  for (let op = 0; op < 2; op++) {
    const head = df(d, D_HEAD + op);
    if (head < df(d, D_TAIL + op)) {
      const slot = <usize>(<u32>head & RING_MASK);
      const tt = load<i64>(<usize>df(d, D_RING_T + op) + (slot << 3));
      if (next < 0 || tt < next) next = tt;
    }
  }
  if (next >= 0) schedule(deviceEntity(d), next);
}


/** When the tag the next request on device `d` would take is free (0 if it never was used). */
export function blkTagFreeAt(d: i32): i64 {
  const req = df(d, D_REQ);
  return load<i64>(<usize>df(d, D_SLOTS) + (<usize>(req % df(d, D_QD)) << 3));
}
