// Reading the config blob the host encoded (layout: src/abi/config.ts). Every field is an f64.
import { G_DEVICES_OFF, G_FILES_OFF, G_PROCS_OFF, G_VMAS_OFF, G_PHASES_OFF,
  DEV_STRIDE, FILE_STRIDE, PROC_STRIDE, VMA_STRIDE, PH_STRIDE } from './generated/abi';

export let configBase: usize = 0;
export let configLen: usize = 0;

export function setConfig(ptr: usize, len: usize): void { configBase = ptr; configLen = len; }

@inline export function cfg(field: i32): f64 { return load<f64>(configBase + ((<usize>field) << 3)); }

function tableField(offField: i32, stride: i32, i: i32, field: i32): f64 {
  return cfg(<i32>cfg(offField) + i * stride + field);
}
export function devCfg(i: i32, f: i32): f64 { return tableField(G_DEVICES_OFF, DEV_STRIDE, i, f); }
export function fileCfg(i: i32, f: i32): f64 { return tableField(G_FILES_OFF, FILE_STRIDE, i, f); }
export function procCfg(i: i32, f: i32): f64 { return tableField(G_PROCS_OFF, PROC_STRIDE, i, f); }
export function vmaCfg(i: i32, f: i32): f64 { return tableField(G_VMAS_OFF, VMA_STRIDE, i, f); }
export function phaseCfg(i: i32, f: i32): f64 { return tableField(G_PHASES_OFF, PH_STRIDE, i, f); }
