import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  SIZE_UNITS, UnitError, formatSizeExact, pageMultipleError, parseDuration, parseRate, parseSize,
} from '../src/scenario/units.js';

const GiB = 2 ** 30;

describe('parseSize', () => {
  const good: [unknown, number][] = [
    ['16GiB', 16 * GiB],
    ['4KiB', 4096],
    ['400MB', 400_000_000],
    ['2GB', 2_000_000_000],
    ['1TiB', 2 ** 40],
    ['512B', 512],
    ['1.5GiB', 1.5 * GiB],
    ['0.3KiB', 307],          // 307.2 bytes rounds to a whole byte
    [4096, 4096],
    ['4096', 4096],
    [0, 0],
    ['0', 0],
  ];
  for (const [input, bytes] of good) {
    it(`reads ${JSON.stringify(input)} as ${bytes} bytes`, () => assert.equal(parseSize(input), bytes));
  }

  const bad: [unknown, RegExp][] = [
    ['12 GB', /"12 GB" contains a space.*e\.g\. 12GB/],
    ['fast', /"fast" is not a size.*e\.g\./],
    ['-1GiB', /"-1GiB" is negative/],
    [-5, /-5 is negative/],
    ['1.5.3GiB', /"1\.5\.3GiB" is not a size/],
    ['16G', /unknown size unit "G"; did you mean GB or GiB\?/],
    ['4kb', /unknown size unit "kb"; did you mean KB or KiB\?/],
    ['16GiBs', /unknown size unit "GiBs"/],
    ['1e3B', /"1e3B" has an unknown size unit "e3B"/],
    ['GiB', /"GiB" is not a size: expected a number followed by a unit/],
    ['.5GiB', /"\.5GiB" is not a size/],
    [4096.5, /bytes must be whole/],
    [Infinity, /Infinity is not a size/],
    [true, /true is not a size/],
    [null, /null \(an empty value\) is not a size/],
    [[1, 2], /a list is not a size/],
    ['', /"" is empty/],
    ['99999999PiB', /too large/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseSize(input), (error: unknown) => {
        assert.ok(error instanceof UnitError);
        assert.match(error.message, message);
        assert.match(error.message, /e\.g\.|did you mean|too large|empty|negative/, 'each message shows a way out');
        return true;
      });
    });
  }
});

describe('parseRate', () => {
  it('reads bandwidths in bytes per second', () => {
    assert.equal(parseRate('400MB/s'), 400_000_000);
    assert.equal(parseRate('1GiB/s'), GiB);
    assert.equal(parseRate('2.5GB/s'), 2_500_000_000);
    assert.equal(parseRate(0), 0);
  });
  it('rejects a size without /s, a rate with a space, and unknown units', () => {
    assert.throws(() => parseRate('400MB'), /"400MB" is not a rate: it needs a size per second, e\.g\. 400MB\/s/);
    assert.throws(() => parseRate('400 MB/s'), /contains a space.*400MB\/s/);
    assert.throws(() => parseRate('400Mb/s'), /unknown rate unit "Mb"/);
    assert.throws(() => parseRate('fast'), /"fast" is not a rate/);
    assert.throws(() => parseRate(1000), /is not a rate: it needs a size per second/);
  });
});

describe('parseDuration', () => {
  const good: [unknown, number][] = [
    ['30s', 30e9], ['250us', 250_000], ['250µs', 250_000], ['10ms', 10e6], ['5ns', 5],
    ['2m', 120e9], ['1h', 3600e9], ['1.5s', 1.5e9], ['0.5us', 500], ['0.1s', 1e8], [0, 0], ['0', 0],
  ];
  for (const [input, ns] of good) {
    it(`reads ${JSON.stringify(input)} as ${ns}ns`, () => assert.equal(parseDuration(input), ns));
  }
  const bad: [unknown, RegExp][] = [
    ['1.5.3s', /"1\.5\.3s" is not a duration: expected a number followed by a unit, e\.g\. 30s/],
    ['fast', /"fast" is not a duration/],
    ['10 s', /"10 s" contains a space.*e\.g\. 10s/],
    ['-1s', /"-1s" is negative/],
    [30, /30 needs a unit \(ns, us, ms, s, m, h\), e\.g\. 30s/],
    ['30sec', /unknown duration unit "sec"/],
    ['2M', /unknown duration unit "M"; did you mean m or ms\?/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => assert.throws(() => parseDuration(input), message));
  }
});

describe('formatting sizes for messages', () => {
  it('formatSizeExact round-trips through parseSize', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.constantFrom(...Object.keys(SIZE_UNITS).filter((u) => u.endsWith('iB'))),
      (n, unit) => {
        const bytes = n * SIZE_UNITS[unit];
        fc.pre(Number.isSafeInteger(bytes));
        assert.equal(parseSize(formatSizeExact(bytes)), bytes);
      }));
  });
  it('a size that is not a whole number of pages suggests the two nearest page multiples', () => {
    const error = pageMultipleError(400_000_000, '400MB');
    assert.match(error.message, /"400MB" \(400000000 bytes\) is not a multiple of the 4KiB page size; e\.g\. 390624KiB or 390628KiB/);
    assert.equal(parseSize('390624KiB') % 4096, 0);
  });
});
