/**
 * Exploration strategies: each hands out one chooser per schedule (every
 * scheduling decision of that schedule goes through it) and learns from the
 * finished schedule's decision log.
 *
 *   random    uniform CPU, task and quantum; ticks and preemptions with p = 1/2
 *   pct       probabilistic concurrency testing (Burckhardt, Kothari,
 *             Musuvathi, Nagarakatte, ASPLOS 2010): random task priorities,
 *             d−1 random priority change points; finds a bug of depth d with
 *             probability at least 1/(n·k^(d−1)) per schedule
 *   bounded   systematic: every schedule with at most `bound` deviations from
 *             the default (non-preemptive) schedule, fewest deviations first
 */
import type { SchedChooser } from "../../../runtime/kernel/chooser.js";
import type { LoggedChoice } from "./choice_log.js";

/** A strategy's CLI name. */
export type StrategyName = "random" | "pct" | "bounded";

/** The strategy names, as the CLI accepts them. */
export const STRATEGIES: readonly StrategyName[] = ["random", "pct", "bounded"];

/** What a strategy may look at while choosing (the PCT priorities need it). */
export interface TaskView {
  /** Pids of runnable tasks not on a CPU. */
  runnable(): readonly number[];
  /** Pid of the task on `cpu`, if any. */
  current(cpu: number): number | undefined;
}

/** What a finished schedule tells its strategy. */
export interface ScheduleFeedback {
  readonly log: readonly LoggedChoice[];
  /** Tasks that ran. */
  readonly tasks: number;
}

/** One exploration strategy over one run of schedules. */
export interface Strategy {
  readonly name: StrategyName;
  /** The chooser of schedule `index` (0-based), or undefined when the strategy has nothing left. */
  next(index: number): SchedChooser | undefined;
  /** The finished schedule `index`. */
  done(index: number, feedback: ScheduleFeedback): void;
  /** One line about the exploration so far (PCT: the probability bound; bounded: coverage). */
  summary(): string;
}

/** Options common to the strategies. */
export interface StrategyOptions {
  seed: number;
  /** PCT: bug depth d (d−1 change points, default 3). bounded: deviation bound (default 2). */
  depth?: number;
  view: TaskView;
}

/** A per-schedule seed derived from the run's seed (splitmix-style mixing). */
export function scheduleSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
