import test from "ava";
import { BpfError } from "../../runtime/errors.js";
import {
  formatNumber,
  formatPercent,
  formatPerOp,
  formatRatio,
  formatValue,
  MIB,
  MIPS,
  MS,
  perSecond,
  sampleValue,
  SECONDS,
} from "./units.js";

test("sampleValue: rate, time and value units", (t) => {
  t.is(sampleValue({ units: 200_000_000, seconds: 0.5 }, MIPS), 400);
  t.is(sampleValue({ units: 1000, seconds: 0.004 }, perSecond("round trips")), 250_000);
  t.is(sampleValue({ units: 123, seconds: 0.25 }, MS), 250);
  t.is(sampleValue({ units: 0, seconds: 1.5 }, SECONDS), 1.5);
  t.is(sampleValue({ units: 3 * 2 ** 20, seconds: 0 }, MIB), 3, "value units ignore seconds");
});

test("sampleValue refuses negative, non-finite or zero-time samples", (t) => {
  t.throws(() => sampleValue({ units: -1, seconds: 1 }, MIPS), {
    instanceOf: BpfError,
    message: "invalid sample: -1 units",
  });
  t.throws(() => sampleValue({ units: Number.NaN, seconds: 1 }, MIB), { instanceOf: BpfError });
  t.throws(() => sampleValue({ units: 10, seconds: 0 }, MIPS), {
    instanceOf: BpfError,
    message: "invalid sample: 0 seconds",
  });
});

test("formatNumber: three significant digits, SI prefixes for plain rates", (t) => {
  t.is(formatNumber(455.4), "455");
  t.is(formatNumber(63.84), "63.8");
  t.is(formatNumber(1.234), "1.23");
  t.is(formatNumber(0.01234), "0.0123");
  t.is(formatNumber(0), "0");
  t.is(formatNumber(1752.6), "1753");
  t.is(formatNumber(412_345, { si: true }), "412k");
  t.is(formatNumber(9_999, { si: true }), "9999");
  t.is(formatNumber(12_345, { si: true }), "12.3k");
  t.is(formatNumber(1_234_567, { si: true }), "1.23M");
  t.is(formatNumber(2.5e9, { si: true }), "2.50G");
});

test("formatValue, formatRatio, formatPercent, formatPerOp", (t) => {
  t.is(formatValue(455.2, MIPS), "455 MIPS");
  t.is(formatValue(823_456, perSecond("switches")), "823k switches/s");
  t.is(formatValue(63.84, MS), "63.8 ms");
  t.is(formatValue(512.25, MIB), "512 MiB");
  t.is(formatRatio(63.2), "63.2×");
  t.is(formatRatio(0.1234), "0.123×");
  t.is(formatPercent(0.31), "31.0%");
  t.is(formatPercent(1), "100%");
  t.is(formatPercent(0.0082), "0.82%");
  t.is(formatPerOp(816_000, perSecond("round trips")), "1.23 µs");
  t.is(formatPerOp(2_000_000, perSecond("x")), "500 ns");
  t.is(formatPerOp(400, perSecond("x")), "2.50 ms");
  t.is(formatPerOp(455, MIPS), undefined, "MIPS is not a per-operation rate");
  t.is(formatPerOp(5, MS), undefined);
});
