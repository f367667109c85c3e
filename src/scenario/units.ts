/**
 * Human units in scenario files: sizes (`16GiB`, `400MB`, `4096`), rates (`400MB/s`) and
 * durations (`30s`, `250us`). Parsing is strict on purpose: a typo such as `12 GB` or `16G`
 * must not silently become a different machine, so every rejection names the value and shows
 * a form that would be accepted. Results are integers in base units (bytes, bytes/s, ns).
 */

export const PAGE_SIZE = 4096;

/** A value that is not a valid quantity; the message names the value and gives an example. */
export class UnitError extends Error {
  override name = 'UnitError';
}

/** SI prefixes are powers of 10 (as disk vendors count), IEC prefixes powers of 2 (as RAM). */
export const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, PB: 1e15,
  KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50,
};

export const DURATION_UNITS: Readonly<Record<string, number>> = {
  ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

const NUMBER_WITH_SUFFIX = /^(\d+(?:\.\d+)?)(.*)$/;

interface Quantity { amount: number; suffix: string }

/**
 * Splits `1.5GiB` into 1.5 and `GiB`, rejecting what no unit table could fix: spaces, signs,
 * missing digits, malformed numbers. `kind` and `example` only shape the message.
 */
function splitQuantity(value: unknown, kind: string, example: string): Quantity {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new UnitError(`${value} is not a ${kind}; e.g. ${example}`);
    if (value < 0) throw new UnitError(`${value} is negative; a ${kind} must be ≥ 0, e.g. ${example}`);
    return { amount: value, suffix: '' };
  }
  if (typeof value !== 'string') {
    throw new UnitError(`${describeValue(value)} is not a ${kind}; write e.g. ${example}`);
  }
  const shown = JSON.stringify(value);
  if (value.trim() === '') throw new UnitError(`${shown} is empty; a ${kind} looks like ${example}`);
  if (/\s/.test(value)) {
    throw new UnitError(
      `${shown} contains a space; write the number and unit together, e.g. ${value.replace(/\s+/g, '')}`);
  }
  if (value.startsWith('-')) throw new UnitError(`${shown} is negative; a ${kind} must be ≥ 0, e.g. ${example}`);
  const match = NUMBER_WITH_SUFFIX.exec(value);
  if (!match || /^[.\d]/.test(match[2])) {
    throw new UnitError(`${shown} is not a ${kind}: expected a number followed by a unit, e.g. ${example}`);
  }
  return { amount: Number(match[1]), suffix: match[2] };
}

/** A value as messages show it: JSON for scalars, a word for collections and missing values. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

function toSafeInteger(amount: number, original: unknown, kind: string): number {
  const result = Math.round(amount);
  if (!Number.isSafeInteger(result)) {
    throw new UnitError(`${JSON.stringify(original)} is too large for a ${kind} (above 2^53)`);
  }
  return result;
}

/** Suggests the spellings a near-miss unit (`G`, `gb`, `kB`, `sec`) probably meant. */
function unitHint(suffix: string, table: Readonly<Record<string, number>>): string {
  const lower = suffix.toLowerCase();
  const sameLetters = Object.keys(table).filter((u) => u.toLowerCase() === lower);
  const prefix = lower.replace(/i?b$/, '');
  const samePrefix = prefix.length === 1
    ? Object.keys(table).filter((u) => u.toLowerCase().startsWith(prefix) && u.length > 1)
    : [];
  const guesses = [...new Set([...sameLetters, ...samePrefix])];
  return guesses.length > 0 ? `did you mean ${guesses.join(' or ')}? ` : '';
}

function unknownUnit(value: unknown, suffix: string, table: Readonly<Record<string, number>>,
  kind: string, example: string): UnitError {
  return new UnitError(
    `${JSON.stringify(value)} has an unknown ${kind} unit "${suffix}"; ${unitHint(suffix, table)}` +
    `units are ${Object.keys(table).join(', ')} (e.g. ${example})`);
}

/** A size in bytes: `16GiB`, `400MB`, `4KiB`, `512B`, or a bare integer of bytes. */
export function parseSize(value: unknown, example = '16GiB'): number {
  const { amount, suffix } = splitQuantity(value, 'size', example);
  if (suffix === '') {
    if (!Number.isInteger(amount)) {
      throw new UnitError(
        `${JSON.stringify(value)} has no unit, so it is bytes, and bytes must be whole; e.g. ${example}`);
    }
    return toSafeInteger(amount, value, 'size');
  }
  const multiplier = SIZE_UNITS[suffix];
  if (multiplier === undefined) throw unknownUnit(value, suffix, SIZE_UNITS, 'size', example);
  return toSafeInteger(amount * multiplier, value, 'size');
}

/** A bandwidth in bytes per second: `400MB/s`, `1GiB/s` (0 alone is accepted as "none"). */
export function parseRate(value: unknown, example = '400MB/s'): number {
  const { amount, suffix } = splitQuantity(value, 'rate', example);
  if (suffix === '' && amount === 0) return 0;
  if (!suffix.endsWith('/s')) {
    throw new UnitError(`${JSON.stringify(value)} is not a rate: it needs a size per second, e.g. ${example}`);
  }
  const multiplier = SIZE_UNITS[suffix.slice(0, -2)];
  if (multiplier === undefined) {
    throw unknownUnit(value, suffix.slice(0, -2), SIZE_UNITS, 'rate', example);
  }
  return toSafeInteger(amount * multiplier, value, 'rate');
}

/** A duration in ns: `30s`, `250us`, `10ms`, `5ns`, `2m`, `1h` (0 alone is accepted). */
export function parseDuration(value: unknown, example = '30s'): number {
  const { amount, suffix } = splitQuantity(value, 'duration', example);
  if (suffix === '') {
    if (amount === 0) return 0;
    throw new UnitError(`${JSON.stringify(value)} needs a unit (ns, us, ms, s, m, h), e.g. ${amount}s`);
  }
  const multiplier = DURATION_UNITS[suffix];
  if (multiplier === undefined) throw unknownUnit(value, suffix, DURATION_UNITS, 'duration', example);
  return toSafeInteger(amount * multiplier, value, 'duration');
}

/** Renders bytes in the largest IEC unit that keeps it readable: 2GiB, 1.5GiB, 4KiB, 300B. */
export function formatSize(bytes: number): string {
  const units = ['PiB', 'TiB', 'GiB', 'MiB', 'KiB'] as const;
  for (const unit of units) {
    const scaled = bytes / SIZE_UNITS[unit];
    if (scaled >= 1) return `${trimNumber(scaled)}${unit}`;
  }
  return `${bytes}B`;
}

/** Renders ns as the largest unit that keeps it ≥ 1: 10s, 250us, 1.5ms, 2m, 1h. */
export function formatDuration(ns: number): string {
  const units = ['h', 'm', 's', 'ms', 'us'] as const;
  for (const unit of units) {
    const scaled = ns / DURATION_UNITS[unit];
    if (scaled >= 1) return `${trimNumber(scaled)}${unit}`;
  }
  return `${ns}ns`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(bytesPerSecond)}/s`;
}

/** Up to 3 decimals, without trailing zeros, so that formatted values parse back nearly exactly. */
function trimNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toFixed(3)));
}

/** Renders bytes exactly, in the largest IEC unit that divides them: 390624KiB, 2GiB, 4097B. */
export function formatSizeExact(bytes: number): string {
  const units = ['PiB', 'TiB', 'GiB', 'MiB', 'KiB'] as const;
  for (const unit of units) {
    if (bytes >= SIZE_UNITS[unit] && bytes % SIZE_UNITS[unit] === 0) return `${bytes / SIZE_UNITS[unit]}${unit}`;
  }
  return `${bytes}B`;
}

/** Explains why a size is not a whole number of pages, and what the nearest page-sized values are. */
export function pageMultipleError(bytes: number, original: unknown): UnitError {
  const below = Math.floor(bytes / PAGE_SIZE) * PAGE_SIZE;
  const above = below + PAGE_SIZE;
  const nearest = below === 0
    ? formatSizeExact(above)
    : `${formatSizeExact(below)} or ${formatSizeExact(above)}`;
  return new UnitError(
    `${JSON.stringify(original)} (${bytes} bytes) is not a multiple of the 4KiB page size; e.g. ${nearest}`);
}
