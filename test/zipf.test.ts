/**
 * The Zipf sampler against the exact distribution k^-θ / H(n, θ): an alias table over cells of
 * ranks that widen with the rank, each wide cell drawing its rank by rejection. Rank by rank on
 * small ranges (cells of one rank, and cells of several widths), and in equal bins of rank on a
 * 2^22-page range whose wide cells get their mass by Euler–Maclaurin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../src/engine/engine.js';
import { anonScenario, testCoreModule, type TestCoreExports } from './helpers.js';

/** Chi-square critical value at p = 0.001 (Wilson–Hilferty). */
function critical(df: number): number {
  const z = 3.090232;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Exact expected share of each of `bins` equal bins of rank over [1, n]. */
function expectedBins(n: number, theta: number, bins: number): number[] {
  const out = new Array<number>(bins).fill(0);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    const w = k ** -theta;
    out[Math.floor(((k - 1) * bins) / n)]! += w;
    total += w;
  }
  return out.map((w) => w / total);
}

function chiSquare(counts: number[], shares: number[]): number {
  const samples = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((chi, c, i) => { const e = samples * shares[i]!; return chi + (c - e) ** 2 / e; }, 0);
}

const SAMPLES = 1_000_000;

function draw(core: TestCoreExports, n: number, theta: number, span: number, bins: number): number[] {
  const ptr = core.zipfSelfCheck(n, theta, SAMPLES, span, bins, 7);
  assert.notEqual(ptr, 0, `selfcheck refused n=${n} span=${span}`);
  const counts = Array.from(new Float64Array(core.memory.buffer, ptr >>> 0, bins));
  assert.equal(counts.reduce((a, b) => a + b, 0), SAMPLES);
  return counts;
}

test('Zipf draws match k^-θ / H(n, θ) rank by rank (chi-square, 1M samples)', () => {
  const core = createCore(anonScenario({ duration: '1ms' }), 1, testCoreModule()).core as TestCoreExports;
  // [n, span]: a cell a rank; cells up to 50 ranks wide; up to 20 with a partial last one; up to 6
  const shapes = [[100, 256], [200, 4], [250, 12], [20, 3]] as const;
  for (const [n, span] of shapes) {
    for (const theta of [0.5, 0.9, 0.99, 1.2]) {
      const chi = chiSquare(draw(core, n, theta, span, n), expectedBins(n, theta, n));
      assert.ok(chi < critical(n - 1), `n=${n} span=${span} θ=${theta}: χ² ${chi.toFixed(1)} ≥ ${critical(n - 1).toFixed(1)}`);
    }
  }
});

test('Zipf draws over 2^22 pages match in 256 bins of rank (wide cells weighed by Euler–Maclaurin)', () => {
  const core = createCore(anonScenario({ duration: '1ms' }), 1, testCoreModule()).core as TestCoreExports;
  const n = 2 ** 22; const bins = 256;
  for (const theta of [0.5, 0.9, 0.99, 1.2]) {
    const chi = chiSquare(draw(core, n, theta, 256, bins), expectedBins(n, theta, bins));
    assert.ok(chi < critical(bins - 1), `θ=${theta}: χ² ${chi.toFixed(1)} ≥ ${critical(bins - 1).toFixed(1)}`);
  }
});

test('wide cells weigh the exact sums to 1e-12', () => {
  const core = createCore(anonScenario({ duration: '1ms' }), 1, testCoreModule()).core as TestCoreExports;
  for (const s of [0.5, 0.9, 0.99, 1, 1.2, 3]) {
    for (const [a, b] of [[1025, 2422], [2 ** 20 + 1, 2 ** 20 + 256], [2 ** 27, 2 ** 27 + 255], [5000, 5003], [1, 300]]) {
      let exact = 0;
      for (let k = b!; k >= a!; k--) exact += k ** -s;
      const got = core.zipfMassCheck(a!, b!, s);
      assert.ok(Math.abs(got - exact) / exact < 1e-12, `s=${s} [${a}, ${b}]: ${got} vs ${exact}`);
    }
  }
});

test('the Zipf self-check refuses a table larger than its buffer', () => {
  const core = createCore(anonScenario({ duration: '1ms' }), 1, testCoreModule()).core as TestCoreExports;
  assert.equal(core.zipfSelfCheck(2 ** 22, 0.9, 10, 4096, 16, 1), 0);
});
