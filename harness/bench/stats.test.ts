import test from "ava";
import { BpfError } from "../../runtime/errors.js";
import { isEmulatedSpeed, median, speedRatio, summarize } from "./stats.js";
import type { Unit } from "./types.js";
import { MIB, MIPS, MS, perSecond } from "./units.js";

const r = (key: string, m: number, unit: Unit) => ({ key, median: m, unit });

test("median of odd and even counts, unsorted input left alone", (t) => {
  t.is(median([5]), 5);
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  const input = [9, 1, 5, 7, 3];
  t.is(median(input), 5);
  t.deepEqual(input, [9, 1, 5, 7, 3]);
  t.is(median([2, 2, 100, 2]), 2, "an outlier does not move the median");
});

test("summarize gives median, min, max and count", (t) => {
  t.deepEqual(summarize([450, 770, 455, 430, 600]), { median: 455, min: 430, max: 770, n: 5 });
  t.deepEqual(summarize([1, 3]), { median: 2, min: 1, max: 3, n: 2 });
});

test("summarize and median refuse empty or non-finite input", (t) => {
  t.throws(() => median([]), { instanceOf: BpfError, message: "median of no values" });
  t.throws(() => summarize([]), { instanceOf: BpfError, message: "summary of no values" });
  const e = t.throws(() => summarize([1, Number.NaN]), { instanceOf: BpfError });
  t.is(e?.message, "non-finite value: NaN");
  t.is(e?.errnoName, "EINVAL");
});

test("speedRatio: rates divide, times invert, values divide", (t) => {
  t.is(speedRatio(r("jit", 630, MIPS), r("interp", 10, MIPS)), 63);
  t.is(speedRatio(r("jit", 2, MS), r("interp", 126, MS)), 63, "2 ms vs 126 ms is 63× faster");
  t.is(speedRatio(r("a", 300, MIB), r("b", 150, MIB)), 2);
  t.is(speedRatio(r("a", 100, perSecond("calls")), r("b", 400, perSecond("calls"))), 0.25);
});

test("speedRatio: zero medians give no ratio, mixed kinds are an error", (t) => {
  t.is(speedRatio(r("a", 5, MIPS), r("b", 0, MIPS)), undefined);
  t.is(speedRatio(r("a", 0, MS), r("b", 5, MS)), undefined);
  t.is(speedRatio(r("a", 0, MIPS), r("b", 5, MIPS)), 0);
  t.throws(() => speedRatio(r("x.a", 5, MIPS), r("x.b", 5, MS)), {
    instanceOf: BpfError,
    message: "cannot compare x.a (MIPS) with x.b (ms)",
  });
  t.throws(() => speedRatio(r("x.a", 5, perSecond("calls")), r("x.b", 5, MIPS)), {
    instanceOf: BpfError,
    message: "cannot compare x.a (calls/s) with x.b (MIPS)",
  });
});

test("only MIPS counts as an emulated speed", (t) => {
  t.true(isEmulatedSpeed(MIPS));
  t.false(isEmulatedSpeed(perSecond("round trips")));
  t.false(isEmulatedSpeed(MS));
  t.false(isEmulatedSpeed(MIB));
});
