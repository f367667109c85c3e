/**
 * The Zipf samplers against the exact distribution: both the alias table (ranges up to 2^20
 * pages) and rejection-inversion (larger ranges) give counts a chi-square test accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../src/engine/engine.js';
import { anonScenario } from './helpers.js';

function chiSquare(counts: number[], theta: number): number {
  const n = counts.length;
  const w = Array.from({ length: n }, (_, i) => (i + 1) ** -theta);
  const total = w.reduce((a, b) => a + b, 0);
  const samples = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((chi, c, i) => { const e = (samples * w[i]!) / total; return chi + (c - e) ** 2 / e; }, 0);
}

test('Zipf samplers match k^-θ / H(n, θ) (chi-square, 1M samples)', () => {
  const { core } = createCore(anonScenario({ duration: '1ms' }), 1);
  // critical values of chi-square at p = 0.001: 99 degrees of freedom 148.2, 19 → 43.8
  for (const [n, crit] of [[100, 148.2], [20, 43.8]] as const) {
    for (const theta of [0.5, 0.9, 0.99, 1.2]) {
      for (const method of [0, 1]) {
        const ptr = core.zipfSelfCheck(n, theta, 1_000_000, method, 7);
        const counts = Array.from(new Float64Array(core.memory.buffer, ptr >>> 0, n));
        assert.equal(counts.reduce((a, b) => a + b, 0), 1_000_000);
        const chi = chiSquare(counts, theta);
        assert.ok(chi < crit, `${method === 0 ? 'alias' : 'rejection-inversion'} n=${n} θ=${theta}: χ² ${chi.toFixed(1)} ≥ ${crit}`);
      }
    }
  }
});
