// formatGoDuration against the table of Go's own time package tests (durationTests in
// time_test.go): the proxy's `[worker #N] DURATION [gateway] Batch Received` line writes durations
// as the original's time.Duration.String() does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration } from '../../src/observe/go-duration.js';

const ms = 1_000_000n;
const s = 1000n * ms;
const m = 60n * s;
const h = 60n * m;

test("formatGoDuration writes what Go's Duration.String() writes", () => {
  const cases: Array<[string, bigint]> = [
    ['0s', 0n],
    ['1ns', 1n],
    ['1.1µs', 1100n],
    ['2.2ms', 2200n * 1000n],
    ['3.3s', 3300n * ms],
    ['4m5s', 4n * m + 5n * s],
    ['4m5.001s', 4n * m + 5001n * ms],
    ['5h6m7.001s', 5n * h + 6n * m + 7001n * ms],
    ['8m0.000000001s', 8n * m + 1n],
    ['2562047h47m16.854775807s', 2n ** 63n - 1n],
    ['-2562047h47m16.854775808s', -(2n ** 63n)],
    // As a batch's duration usually looks.
    ['12.345678ms', 12_345_678n],
    ['850.5µs', 850_500n],
    ['1h0m0s', h],
  ];
  for (const [expected, ns] of cases) assert.equal(formatGoDuration(ns), expected, String(ns));
});
