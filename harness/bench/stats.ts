/**
 * Statistics of the benchmark harness: medians over repeats and the ratios
 * between results of one run.
 *
 * Medians, not means: a benchmark on a shared 2-core machine has outliers
 * (another process, a page-cache miss, CPU frequency) and the median of a few
 * repeats ignores them. min and max are kept so a reader sees the spread.
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { Result, Summary, Unit } from "./types.js";

/** Median of `values` (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new BpfError(EINVAL, "median of no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median, minimum, maximum and count of `values` (at least one, all finite). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new BpfError(EINVAL, "summary of no values");
  for (const v of values) if (!Number.isFinite(v)) throw new BpfError(EINVAL, `non-finite value: ${v}`);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/**
 * How `a` compares with `b` (both in the same unit), from their medians:
 * a speed ratio for rate and time units (> 1: `a` is faster), and the plain
 * quotient a/b for value units. Undefined when a zero median makes the ratio
 * meaningless; different units are a BpfError(EINVAL).
 */
export function speedRatio(
  a: Pick<Result, "median" | "unit" | "key">,
  b: Pick<Result, "median" | "unit" | "key">,
): number | undefined {
  if (a.unit.kind !== b.unit.kind || a.unit.name !== b.unit.name) {
    throw new BpfError(EINVAL, `cannot compare ${a.key} (${a.unit.name}) with ${b.key} (${b.unit.name})`);
  }
  const [num, den] = a.unit.kind === "time" ? [b.median, a.median] : [a.median, b.median];
  if (!(den > 0) || !(num >= 0)) return undefined;
  return num / den;
}

/** True when `unit` is an emulated-speed unit that is also shown as a fraction of the raw Unicorn loop. */
export function isEmulatedSpeed(unit: Unit): boolean {
  return unit.kind === "rate" && unit.name === "MIPS";
}
