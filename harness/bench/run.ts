/**
 * One benchmark run: the selected sections in order, each with its own
 * context and budget, then the ratios between results.
 *
 *   sections ─► section 1 ─► section 2 ─► … ─► resolveRatios(results)
 *                 │ an exception ends that section only (recorded, exit 1)
 *                 └ over budget: a warning, never a failure
 *
 * Every MIPS result is also expressed as a fraction of the raw Unicorn loop
 * ({@link RAW_UNICORN_KEY}) of the same run; sections that report MIPS
 * declare `requires: ["baseline"]` so the reference is always there.
 */
import { createContext, SILENT_PROGRESS, type ProgressSink } from "./context.js";
import { isEmulatedSpeed, speedRatio } from "./stats.js";
import type { Result, Section } from "./types.js";

/** Key of the raw Unicorn loop of the `baseline` section. */
export const RAW_UNICORN_KEY = "baseline.loop";

/** What happened to one section of a run. */
export interface SectionOutcome {
  readonly name: string;
  readonly description: string;
  readonly budgetSeconds: number;
  readonly seconds: number;
  readonly overBudget: boolean;
  /** The error message when the section threw. */
  readonly error?: string;
}

/** A whole run, as the reports render it. */
export interface BenchRun {
  readonly startedAt: Date;
  readonly seconds: number;
  readonly quick: boolean;
  /** `--repeats`, when given. */
  readonly repeats?: number;
  readonly sections: readonly SectionOutcome[];
  readonly results: readonly Result[];
  /** Unresolved baselines, budget overruns. */
  readonly warnings: readonly string[];
}

/** Progress of a whole run: per-measurement events plus section boundaries. */
export interface RunProgress extends ProgressSink {
  sectionStart(section: Section, index: number, count: number): void;
  sectionEnd(outcome: SectionOutcome): void;
  /** The run is over: remove the bar. */
  done(): void;
}

/** A run progress that shows nothing. */
export const SILENT_RUN_PROGRESS: RunProgress = {
  ...SILENT_PROGRESS,
  sectionStart() {},
  sectionEnd() {},
  done() {},
};

/** Options of {@link runSections}. */
export interface RunOptions {
  repeats?: number;
  quick?: boolean;
  progress?: RunProgress;
  clock?: () => number;
}

/** Run `sections` in order and resolve the ratios between their results. */
export async function runSections(sections: readonly Section[], opts: RunOptions = {}): Promise<BenchRun> {
  const progress = opts.progress ?? SILENT_RUN_PROGRESS;
  const clock = opts.clock ?? (() => Number(process.hrtime.bigint()) / 1e9);
  const startedAt = new Date();
  const t0 = clock();
  const results: Result[] = [];
  const outcomes: SectionOutcome[] = [];
  const warnings: string[] = [];
  try {
    for (const [i, section] of sections.entries()) {
      progress.sectionStart(section, i, sections.length);
      const s0 = clock();
      const { ctx, results: got } = createContext(section, { ...opts, progress, clock });
      let error: string | undefined;
      try {
        await section.run(ctx);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      results.push(...got);
      const seconds = clock() - s0;
      const outcome: SectionOutcome = {
        name: section.name,
        description: section.description,
        budgetSeconds: section.budgetSeconds,
        seconds,
        overBudget: seconds > section.budgetSeconds,
        ...(error === undefined ? {} : { error }),
      };
      if (outcome.overBudget) {
        warnings.push(`section ${section.name} took ${seconds.toFixed(1)} s (budget ${section.budgetSeconds} s)`);
      }
      outcomes.push(outcome);
      progress.sectionEnd(outcome);
    }
  } finally {
    progress.done();
  }
  warnings.push(...resolveRatios(results));
  return {
    startedAt,
    seconds: clock() - t0,
    quick: opts.quick === true,
    ...(opts.repeats === undefined ? {} : { repeats: opts.repeats }),
    sections: outcomes,
    results,
    warnings,
  };
}

/**
 * Fill in `ratio` (against the result named by `baselineKey`: first as a key
 * of the same section, then as a full key) and `ofRawUnicorn` (MIPS results
 * against {@link RAW_UNICORN_KEY}). Returns a warning per baseline that names
 * no result of the run.
 */
export function resolveRatios(results: readonly Result[]): string[] {
  const byKey = new Map(results.map((r) => [r.key, r]));
  const warnings: string[] = [];
  const raw = byKey.get(RAW_UNICORN_KEY);
  for (const r of results) {
    if (r.baselineKey !== undefined) {
      const other = byKey.get(`${r.section}.${r.baselineKey}`) ?? byKey.get(r.baselineKey);
      if (!other) {
        warnings.push(`${r.key}: baseline ${r.baselineKey} was not measured in this run`);
      } else if (other.unit.kind !== r.unit.kind || other.unit.name !== r.unit.name) {
        warnings.push(`${r.key}: baseline ${other.key} is in ${other.unit.name}, not comparable with ${r.unit.name}`);
      } else {
        const value = speedRatio(r, other);
        if (value !== undefined) r.ratio = { to: other.key, label: other.label, value };
      }
    }
    if (raw && isEmulatedSpeed(r.unit) && isEmulatedSpeed(raw.unit)) {
      const value = speedRatio(r, raw);
      if (value !== undefined) r.ofRawUnicorn = value;
    }
  }
  return warnings;
}
