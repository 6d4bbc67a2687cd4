/**
 * Units of the benchmark harness and the one number formatter used by the
 * table, the progress lines and RESULTS.md.
 *
 *   rate   value = units / seconds × scale     MIPS, round trips/s, switches/s
 *   time   value = seconds × scale             ms, s
 *   value  value = units × scale               MiB (peak RSS)
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import type { Sample, Unit } from "./types.js";

/** Millions of emulated instructions per second. */
export const MIPS: Unit = { name: "MIPS", kind: "rate", scale: 1e-6 };
/** Milliseconds per run. */
export const MS: Unit = { name: "ms", kind: "time", scale: 1e3 };
/** Seconds per run. */
export const SECONDS: Unit = { name: "s", kind: "time", scale: 1 };
/** Mebibytes (2^20 bytes), e.g. peak RSS. */
export const MIB: Unit = { name: "MiB", kind: "value", scale: 1 / (1 << 20) };

/** A rate unit counting `what` per second, e.g. `perSecond("round trips")` is "round trips/s". */
export function perSecond(what: string): Unit {
  return { name: `${what}/s`, kind: "rate", scale: 1 };
}

/** The value of one sample in `unit`; a non-finite or negative outcome is a BpfError(EINVAL). */
export function sampleValue(sample: Sample, unit: Unit): number {
  const { units, seconds } = sample;
  if (!Number.isFinite(units) || units < 0) throw new BpfError(EINVAL, `invalid sample: ${units} units`);
  if (unit.kind === "value") return units * unit.scale;
  if (!Number.isFinite(seconds) || seconds <= 0) throw new BpfError(EINVAL, `invalid sample: ${seconds} seconds`);
  return unit.kind === "rate" ? (units / seconds) * unit.scale : seconds * unit.scale;
}

const SI: ReadonlyArray<[number, string]> = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
];

/**
 * A number with three significant digits, grouped by SI prefix above 10^4
 * for plain rates ("412k", "1.23M"); units that already carry a scale
 * (MIPS, ms, MiB) are printed as plain numbers ("455", "63.8", "0.512").
 */
export function formatNumber(v: number, opts: { si?: boolean } = {}): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (opts.si) {
    for (const [f, p] of SI) if (abs >= (f === 1e3 ? 1e4 : f)) return `${sig3(v / f)}${p}`;
  }
  if (abs >= 1000) return Math.round(v).toString();
  return sig3(v);
}

function sig3(v: number): string {
  const abs = Math.abs(v);
  if (abs === 0) return "0";
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return Number(v.toPrecision(3)).toString();
}

/** A value in its unit: "455 MIPS", "412k round trips/s", "63.8 ms". */
export function formatValue(v: number, unit: Unit): string {
  return `${formatNumber(v, { si: unit.scale === 1 && unit.kind === "rate" })} ${unit.name}`;
}

/** A ratio as "63×", "1.50×", "0.120×". */
export function formatRatio(r: number): string {
  return `${formatNumber(r)}×`;
}

/** A fraction as a percentage: "31%", "4.5%", "0.82%". */
export function formatPercent(f: number): string {
  return `${formatNumber(f * 100)}%`;
}

/** Time per operation of a plain rate (ops/s): "2.43 µs", "812 ns"; undefined for other units. */
export function formatPerOp(v: number, unit: Unit): string | undefined {
  if (unit.kind !== "rate" || unit.scale !== 1 || !(v > 0)) return undefined;
  const s = 1 / v;
  if (s >= 1) return `${sig3(s)} s`;
  if (s >= 1e-3) return `${sig3(s * 1e3)} ms`;
  if (s >= 1e-6) return `${sig3(s * 1e6)} µs`;
  return `${sig3(s * 1e9)} ns`;
}
