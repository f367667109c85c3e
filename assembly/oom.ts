// The OOM killer (mm/oom_kill.c): out_of_memory picks the process with the highest
// oom_badness and kills it. Here the victim's memory is torn down at once (exit_mmap); the
// OOM reaper, its retries and the kill-to-free delay arrive with the notifier issue.
import { cfg, procCfg } from './config';
import { PROC_OOM_SCORE_ADJ, C_OOM_KILL, C_MMSIM_OOM_PAGES_FREED, DK_OOM_NO_VICTIM, DK_OOM_KILL, FN_OUT_OF_MEMORY } from './generated/abi';
import { nMms, mmDead, mmRss, mmSwapents, mmPgtables, exitMmap } from './mm';
import { nrPages } from './page';
import { totalSwapPages } from './swap';
import { countEvent, countAdd } from './vmstat';
import { taskKilled } from './sched';
import { recordBug, recordDetector } from './invariants';
import { NO_PAGE } from './alloc';

const OOM_SCORE_ADJ_MIN: i64 = -1000;

/** oom_badness: rss + swap entries + page tables, shifted by oom_score_adj per mille of memory. */
export function oomBadness(m: i32, totalpages: i64): i64 {
  const adj = <i64>procCfg(m, PROC_OOM_SCORE_ADJ);
  if (adj == OOM_SCORE_ADJ_MIN || mmDead(m)) return i64.MIN_VALUE;
  let points = mmRss(m) + mmSwapents(m) + mmPgtables(m);
  points += adj * (totalpages / 1000);
  return points;
}

/** out_of_memory: select_bad_process, then oom_kill_process. False when nothing could be killed. */
export function outOfMemory(order: i32): bool {
  const totalpages = <i64>nrPages + <i64>totalSwapPages;
  let chosen = -1;
  let chosenPoints: i64 = i64.MIN_VALUE;
  for (let m = 0; m < nMms; m++) {
    const points = oomBadness(m, totalpages);
    if (points == i64.MIN_VALUE || points < chosenPoints) continue;
    chosen = m; chosenPoints = points;
  }
  if (chosen < 0) {
    // the kernel panics: "Out of memory and no killable processes..."
    recordBug(DK_OOM_NO_VICTIM, NO_PAGE, FN_OUT_OF_MEMORY, <f64>order);
    return false;
  }
  countEvent(C_OOM_KILL);
  const freed = exitMmap(chosen);
  countAdd(C_MMSIM_OOM_PAGES_FREED, freed);
  // "Out of memory: Killed process …": the victim, its badness and what its exit freed
  recordDetector(DK_OOM_KILL, <u32>freed, chosen, FN_OUT_OF_MEMORY, <f64>chosenPoints, -1, -1);
  taskKilled(chosen);
  return true;
}
