/**
 * The benchmark harness's vocabulary: sections, units, samples, results.
 *
 * Not a kernel concept: `npm run bench` (issue 11) measures how fast the
 * emulator runs what the kernel selftests need, so that a reader can rerun
 * the numbers and compare them with booting a kernel under QEMU.
 *
 *   section ──run(ctx)──► ctx.measure(key, fn, opts) × N ──► Result[]
 *      │                        │
 *      │                        └─ fn runs `repeats` times (after a warm-up);
 *      │                           each run is one Sample (work units + seconds)
 *      └─ requires: other sections that must run first in the same process
 *         (every emulated-speed section requires `baseline`)
 *
 * A Result keeps every sample and their median/min/max, plus two derived
 * ratios filled in once the whole run is over: against another measurement
 * named by `baseline`, and (for MIPS) against the raw Unicorn loop of the
 * `baseline` section.
 */

/** How a unit turns samples into numbers, and which direction is better. */
export type UnitKind =
  /** work units per second, times `scale` (MIPS: instructions/s × 1e-6); higher is better */
  | "rate"
  /** seconds per run, times `scale` (ms: × 1e3); lower is better */
  | "time"
  /** a quantity recorded as-is, times `scale` (MiB: bytes × 2^-20); lower is better */
  | "value";

/** A display unit: "MIPS", "round trips/s", "ms", "MiB". */
export interface Unit {
  readonly name: string;
  readonly kind: UnitKind;
  readonly scale: number;
}

/** One timed run of a measurement: how much work, in how long. */
export interface Sample {
  /** Work units done (instructions, round trips, switches; bytes for value units). */
  readonly units: number;
  /** Wall-clock seconds the work took (ignored for value units). */
  readonly seconds: number;
}

/** Median, minimum and maximum of a list of numbers. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** A ratio of this result to another result of the same run. */
export interface Ratio {
  /** Full key of the other result ("machine.loop"). */
  readonly to: string;
  /** Label of the other result, for display. */
  readonly label: string;
  /**
   * Speed ratio for rate and time units (> 1: faster than the other),
   * plain quotient this/other for value units.
   */
  readonly value: number;
}

/** One measurement of a run, as the table and the JSON report show it. */
export interface Result extends Summary {
  /** `<section>.<key>`, stable across runs (JSON consumers depend on it). */
  readonly key: string;
  readonly section: string;
  readonly label: string;
  readonly unit: Unit;
  /** Every sample in unit terms (after `unit.scale`), in run order. */
  readonly values: readonly number[];
  /** Repeats asked for; `n` is lower when the section ran out of budget. */
  readonly repeats: number;
  /** The `baseline` of the measure options, as given (resolved to a full key at the end of the run). */
  readonly baselineKey?: string;
  /** Filled in at the end of the run: the ratio to `baselineKey`. */
  ratio?: Ratio;
  /** Filled in at the end of the run, for MIPS results: median / raw Unicorn loop median. */
  ofRawUnicorn?: number;
  /** Free-form detail shown in the table's notes column ("N = 50M iterations"). */
  readonly note?: string;
}

/** Options of {@link BenchContext.measure}. */
export interface MeasureOptions {
  /** Row label in the table ("loop, quantum 10k"). */
  label: string;
  unit: Unit;
  /** Timed runs (default: the run's `--repeats`, else the section's default, else 5). */
  repeats?: number;
  /** Untimed runs before the timed ones (default 1): translation caches, V8 JIT. */
  warmup?: number;
  /**
   * Key of another measurement of this run to express this one against
   * ("interp" in the same section, or "section.key"): "JITed vs interpreter: 63×".
   */
  baseline?: string;
  /** Shown in the notes column. */
  note?: string;
}

/**
 * What one run of a measurement returns: the number of work units (the
 * harness times the whole call), or a Sample when the function timed itself
 * to leave set-up out.
 */
export type RunOutcome = number | Sample;

/** A measured function; `rep` counts from 0 over warm-up and timed runs. */
export type MeasureFn = (rep: number) => RunOutcome | Promise<RunOutcome>;

/** What a section's run() gets from the harness. */
export interface BenchContext {
  /** Name of the running section. */
  readonly section: string;
  /** `--quick`: sections shrink their workloads so the run takes seconds. */
  readonly quick: boolean;
  /** Run `fn` warm-up + repeats times and record the samples under `<section>.<key>`. */
  measure(key: string, fn: MeasureFn, opts: MeasureOptions): Promise<Result>;
  /**
   * Record values measured some other way (e.g. peak RSS of a child process),
   * one per repeat, in raw units: bytes (or other work units) for value units,
   * seconds for time units, units per second for rate units.
   */
  record(key: string, values: readonly number[], opts: Omit<MeasureOptions, "warmup" | "repeats">): Result;
  /** Seconds left in this section's budget (negative once over). */
  budgetLeft(): number;
}

/** A benchmark section: one module under harness/bench/sections plus one registry line. */
export interface Section {
  /** CLI name ("machine"); must equal its registry name. */
  readonly name: string;
  /** One line for `a64bpf bench --list`. */
  readonly description: string;
  /** Wall-clock budget of the whole section, in seconds (the full run must stay under 5 minutes). */
  readonly budgetSeconds: number;
  /** Default repeats of its measurements when `--repeats` is not given. */
  readonly repeats?: number;
  /** Sections that must run first in the same process (e.g. "baseline"). */
  readonly requires?: readonly string[];
  run(ctx: BenchContext): Promise<void>;
}
