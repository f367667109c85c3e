// Reading the config blob the host encoded (layout: src/abi/config.ts). Every field is an f64.
import { G_DEVICES_OFF, G_FILES_OFF, G_PROCS_OFF, G_VMAS_OFF, G_PHASES_OFF, G_LOCKS_OFF, G_SUBSCRIBERS_OFF,
  DEV_STRIDE, FILE_STRIDE, PROC_STRIDE, VMA_STRIDE, PH_STRIDE, LOCK_STRIDE, SUB_STRIDE } from './generated/abi';

export let configBase: usize = 0;
export let configLen: usize = 0;

export function setConfig(ptr: usize, len: usize): void { configBase = ptr; configLen = len; }

@inline export function cfg(field: i32): f64 { return load<f64>(configBase + ((<usize>field) << 3)); }

// Where each table starts, read once from the blob's offset fields: converting an f64 offset on
// every read is a checked truncation, and phase fields are read on every access.
let devTable: usize = 0; let fileTable: usize = 0; let procTable: usize = 0;
let vmaTable: usize = 0; let phaseTable: usize = 0; let lockTable: usize = 0; let subTable: usize = 0;

/** Called once the host has written the blob, before any table field is read. */
export function configTablesLoad(): void {
  devTable = configBase + (<usize>(<i32>cfg(G_DEVICES_OFF)) << 3);
  fileTable = configBase + (<usize>(<i32>cfg(G_FILES_OFF)) << 3);
  procTable = configBase + (<usize>(<i32>cfg(G_PROCS_OFF)) << 3);
  vmaTable = configBase + (<usize>(<i32>cfg(G_VMAS_OFF)) << 3);
  phaseTable = configBase + (<usize>(<i32>cfg(G_PHASES_OFF)) << 3);
  lockTable = configBase + (<usize>(<i32>cfg(G_LOCKS_OFF)) << 3);
  subTable = configBase + (<usize>(<i32>cfg(G_SUBSCRIBERS_OFF)) << 3);
}

@inline function tableField(table: usize, stride: i32, i: i32, field: i32): f64 {
  return load<f64>(table + ((<usize>(i * stride + field)) << 3));
}
export function devCfg(i: i32, f: i32): f64 { return tableField(devTable, DEV_STRIDE, i, f); }
export function fileCfg(i: i32, f: i32): f64 { return tableField(fileTable, FILE_STRIDE, i, f); }
export function procCfg(i: i32, f: i32): f64 { return tableField(procTable, PROC_STRIDE, i, f); }
export function vmaCfg(i: i32, f: i32): f64 { return tableField(vmaTable, VMA_STRIDE, i, f); }
export function phaseCfg(i: i32, f: i32): f64 { return tableField(phaseTable, PH_STRIDE, i, f); }
export function lockCfg(i: i32, f: i32): f64 { return tableField(lockTable, LOCK_STRIDE, i, f); }
export function subCfg(i: i32, f: i32): f64 { return tableField(subTable, SUB_STRIDE, i, f); }
