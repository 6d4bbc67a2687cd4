/**
 * Recording the decisions of a schedule, and what "no deviation" means.
 *
 * Every decision the scheduler asks for (runtime/kernel/chooser.ts) is
 * logged with its option count, the index chosen and the default index:
 *
 *   kind      default (the non-preemptive schedule)
 *   cpu       the CPU that took the previous step, if it can still run
 *   task      0: the run queue's FIFO head
 *   quantum   0: the scenario's largest quantum
 *   irq       1: the tick happens (a timer interrupt at quantum expiry)
 *   preempt   0: stay (the tick does not preempt)
 *
 * A choice that differs from its default is a deviation; deviations of
 * kind cpu (the interleaving switches CPU while the previous one could go
 * on) and preempt (a tick preempts) are the schedule's preemption points.
 * Shrinking and the bounded strategy work on deviations.
 */
import type { ChoiceKind, ChoicePoint, SchedChooser } from "../../../runtime/kernel/chooser.js";

/** One recorded decision. */
export interface LoggedChoice {
  readonly kind: ChoiceKind;
  /** Option count. */
  readonly n: number;
  readonly index: number;
  /** The default index at this point. */
  readonly def: number;
}

/** The CPU number of a "cpu<n>:<pid>" option label. */
export function cpuOfLabel(label: string): number {
  const m = /^cpu(\d+):/.exec(label);
  return m ? Number(m[1]) : -1;
}

/** Tracks the previous CPU step to compute defaults. */
export class DefaultModel {
  #prevCpu = -1;

  /** The default index at `point` (see the table above). */
  defaultOf(point: ChoicePoint): number {
    switch (point.kind) {
      case "cpu": {
        const i = point.options.findIndex((l) => cpuOfLabel(l) === this.#prevCpu);
        return i >= 0 ? i : 0;
      }
      case "irq":
        return point.options.length > 1 ? 1 : 0;
      default:
        return 0;
    }
  }

  /** Record the answer given at `point`. */
  observe(point: ChoicePoint, index: number): void {
    if (point.kind === "cpu") this.#prevCpu = cpuOfLabel(point.options[index]);
  }
}

/** Is a logged choice a preemption point (a deviation of kind cpu or preempt)? */
export function isPreemption(c: LoggedChoice): boolean {
  return c.index !== c.def && (c.kind === "cpu" || c.kind === "preempt");
}

/** Number of deviations and preemption points of a log. */
export function deviationStats(log: readonly LoggedChoice[]): { deviations: number; preemptions: number } {
  let deviations = 0;
  let preemptions = 0;
  for (const c of log) {
    if (c.index === c.def) continue;
    deviations++;
    if (c.kind === "cpu" || c.kind === "preempt") preemptions++;
  }
  return { deviations, preemptions };
}

/** Wraps a chooser: logs every decision with its default. */
export class LoggingChooser implements SchedChooser {
  readonly log: LoggedChoice[] = [];
  readonly #inner: SchedChooser;
  readonly #model = new DefaultModel();

  constructor(inner: SchedChooser) {
    this.#inner = inner;
  }

  choose(point: ChoicePoint): number {
    const def = this.#model.defaultOf(point);
    const index = this.#inner.choose(point);
    this.#model.observe(point, index);
    this.log.push({ kind: point.kind, n: point.options.length, index, def });
    return index;
  }
}

/**
 * Replays a list of indices; where an index does not fit the point (the
 * run went elsewhere) or past the list's end, it takes the default choice.
 * `mismatches` counts the indices that did not fit.
 */
export class ScriptChooser implements SchedChooser {
  readonly #script: ArrayLike<number>;
  readonly #model = new DefaultModel();
  #pos = 0;
  mismatches = 0;

  constructor(script: ArrayLike<number>) {
    this.#script = script;
  }

  /** Decisions taken so far. */
  get consumed(): number {
    return this.#pos;
  }

  choose(point: ChoicePoint): number {
    const i = this.#pos < this.#script.length ? this.#script[this.#pos] : undefined;
    this.#pos++;
    let index: number;
    if (i === undefined) index = this.#model.defaultOf(point);
    else if (i < point.options.length) index = i;
    else {
      this.mismatches++;
      index = this.#model.defaultOf(point);
    }
    this.#model.observe(point, index);
    return index;
  }
}
