/**
 * The BenchContext a section runs against: `measure` runs a function
 * warm-up + repeats times, times each run, and keeps the samples; `record`
 * keeps values measured some other way. One context per section run.
 *
 *   measure(key, fn, opts)
 *     warm-up runs (untimed) ─► timed run 1 … timed run N ─► Result
 *                                     │
 *                                     └─ stops early (n < N, at least 1) once the
 *                                        section's budget is spent
 *
 * Ratios between results are resolved after the whole run (see run.ts), so a
 * measurement may name a baseline measured later or in another section.
 */
import { EINVAL } from "../../runtime/errno.js";
import { BpfError } from "../../runtime/errors.js";
import { summarize } from "./stats.js";
import type { BenchContext, MeasureFn, MeasureOptions, Result, RunOutcome, Sample, Section } from "./types.js";
import { sampleValue } from "./units.js";

/** Repeats when neither the CLI, the measurement nor its section says. */
export const DEFAULT_REPEATS = 5;
/** Upper bound of repeats under `--quick` (unless `--repeats` is given). */
export const QUICK_REPEATS = 3;

/** Progress events; implementations draw a bar, print lines, or nothing. */
export interface ProgressSink {
  /** A measurement with `runs` runs (warm-up included) starts. */
  measureStart(key: string, label: string, runs: number): void;
  /** One run of the current measurement is done. */
  tick(): void;
  /** The current measurement is done. */
  measureEnd(result: Result): void;
}

/** A sink that shows nothing. */
export const SILENT_PROGRESS: ProgressSink = {
  measureStart() {},
  tick() {},
  measureEnd() {},
};

/** Options of {@link createContext}. */
export interface ContextOptions {
  /** `--repeats N`: overrides every measurement's repeats. */
  repeats?: number;
  /** `--quick`. */
  quick?: boolean;
  progress?: ProgressSink;
  /** Monotonic clock in seconds (tests inject a fake one). */
  clock?: () => number;
}

/** A section's context and the results it has recorded so far. */
export interface SectionContext {
  readonly ctx: BenchContext;
  readonly results: Result[];
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The default clock: process.hrtime in seconds. */
export function hrClock(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** A fresh context for one run of `section`. */
export function createContext(section: Section, opts: ContextOptions = {}): SectionContext {
  const clock = opts.clock ?? hrClock;
  const progress = opts.progress ?? SILENT_PROGRESS;
  const quick = opts.quick === true;
  const start = clock();
  const results: Result[] = [];
  const keys = new Set<string>();

  const budgetLeft = (): number => section.budgetSeconds - (clock() - start);

  const fullKey = (key: string): string => {
    if (!KEY_RE.test(key)) throw new BpfError(EINVAL, `invalid measurement key: ${JSON.stringify(key)}`);
    const full = `${section.name}.${key}`;
    if (keys.has(full)) throw new BpfError(EINVAL, `duplicate measurement key: ${full}`);
    keys.add(full);
    return full;
  };

  const repeatsFor = (asked: number | undefined): number => {
    if (opts.repeats !== undefined) return opts.repeats;
    const r = asked ?? section.repeats ?? DEFAULT_REPEATS;
    if (!Number.isInteger(r) || r < 1) throw new BpfError(EINVAL, `invalid repeats: ${r} (must be a positive integer)`);
    return quick ? Math.min(r, QUICK_REPEATS) : r;
  };

  const measure = async (key: string, fn: MeasureFn, mopts: MeasureOptions): Promise<Result> => {
    const full = fullKey(key);
    const repeats = repeatsFor(mopts.repeats);
    const warmup = mopts.warmup ?? 1;
    if (!Number.isInteger(warmup) || warmup < 0) throw new BpfError(EINVAL, `invalid warm-up count: ${warmup}`);
    progress.measureStart(full, mopts.label, warmup + repeats);
    let rep = 0;
    for (; rep < warmup; rep++) {
      await timed(fn, rep, clock);
      progress.tick();
      await yieldToEventLoop();
    }
    const values: number[] = [];
    for (let i = 0; i < repeats; i++, rep++) {
      if (i > 0 && budgetLeft() < 0) break;
      const sample = await timed(fn, rep, clock);
      values.push(checkedValue(full, sample, mopts));
      progress.tick();
      await yieldToEventLoop();
    }
    const result = makeResult(full, values, { ...mopts, section: section.name, repeats });
    results.push(result);
    progress.measureEnd(result);
    return result;
  };

  const record = (key: string, values: readonly number[], ropts: Omit<MeasureOptions, "warmup" | "repeats">) => {
    const full = fullKey(key);
    const scaled = values.map((v) =>
      checkedValue(full, ropts.unit.kind === "time" ? { units: 0, seconds: v } : { units: v, seconds: 1 }, ropts),
    );
    const result = makeResult(full, scaled, { ...ropts, section: section.name, repeats: values.length });
    results.push(result);
    progress.measureEnd(result);
    return result;
  };

  return { ctx: { section: section.name, quick, measure, record, budgetLeft }, results };
}

function checkedValue(key: string, sample: Sample, opts: Pick<MeasureOptions, "unit">): number {
  try {
    return sampleValue(sample, opts.unit);
  } catch (err) {
    throw new BpfError(EINVAL, `${key}: ${(err as Error).message}`, { cause: err });
  }
}

async function timed(fn: MeasureFn, rep: number, clock: () => number): Promise<Sample> {
  const t0 = clock();
  const out: RunOutcome = await fn(rep);
  const seconds = clock() - t0;
  return typeof out === "number" ? { units: out, seconds } : out;
}

/** Let timers and stream writes (the progress bar) run between synchronous runs. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function makeResult(
  key: string,
  values: number[],
  opts: Omit<MeasureOptions, "warmup" | "repeats"> & { section: string; repeats: number },
): Result {
  return {
    key,
    section: opts.section,
    label: opts.label,
    unit: opts.unit,
    ...summarize(values),
    values,
    repeats: opts.repeats,
    ...(opts.baseline === undefined ? {} : { baselineKey: opts.baseline }),
    ...(opts.note === undefined ? {} : { note: opts.note }),
  };
}
