/**
 * PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte: "A Randomized Scheduler with Probabilistic Guarantees of
 * Finding Bugs", ASPLOS 2010), on the scheduler's choice points.
 *
 *   every task gets a random initial priority ≥ d (on first sight: tasks
 *   appear while the schedule runs); d−1 change points k_1..k_{d−1} are
 *   drawn uniformly from the steps 1..k; at step k_i the task that takes the
 *   step drops to priority i (below every initial priority)
 *
 *   choice     PCT's answer
 *   cpu        the CPU whose task has the highest priority (an idle CPU counts
 *              with the best runnable task it could pick); this is one step
 *   task       the runnable task with the highest priority
 *   preempt    switch iff a runnable task has a higher priority than the current
 *   irq        tick (so that preemption points exist)
 *   quantum    uniform (slice boundaries vary between schedules)
 *
 * A bug of depth d is found with probability at least 1/(n·k^(d−1)) per
 * schedule, n tasks and k steps: the strategy reports that bound for the
 * largest n and k it has seen. k is estimated as the largest step count of
 * the schedules so far (the first schedule uses a first guess).
 */
import type { ChoicePoint, SchedChooser } from "../../../runtime/kernel/chooser.js";
import { EINVAL } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { Prng } from "../../../runtime/prng.js";
import { scheduleSeed, type Strategy, type StrategyOptions, type TaskView } from "./types.js";

/** First guess of the step count, before any schedule ran. */
const INITIAL_K = 50;

/** The pid of a task option label "comm/pid" or CPU label "cpuN:pid" (undefined for "idle"). */
export function pidOfLabel(label: string): number | undefined {
  const m = /[/:](\d+)$/.exec(label);
  return m ? Number(m[1]) : undefined;
}

/** PCT's bound on the probability of finding a depth-d bug in one schedule. */
export function pctBound(run: { n: number; k: number; d: number }): number {
  const { n, k, d } = run;
  return 1 / (Math.max(n, 1) * Math.pow(Math.max(k, 1), d - 1));
}

/** One schedule's PCT decisions. */
export class PctChooser implements SchedChooser {
  readonly #prng: Prng;
  readonly #view: TaskView;
  readonly #depth: number;
  readonly #prio = new Map<number, number>();
  /** Change point step → the priority it assigns (1..d−1). */
  readonly #changes = new Map<number, number>();
  #step = 0;
  /** A change point hit on an idle CPU applies to the task it picks. */
  #pendingChange: number | undefined;
  /** Steps taken (cpu decisions). */
  get steps(): number {
    return this.#step;
  }

  constructor(seed: number, opts: { depth: number; k: number; view: TaskView }) {
    this.#prng = new Prng(seed);
    this.#view = opts.view;
    this.#depth = opts.depth;
    const k = Math.max(opts.k, opts.depth);
    // d−1 distinct change points uniform in 1..k; the i-th drawn gets priority i.
    for (let i = 1; i < opts.depth; i++) {
      let at: number;
      do at = 1 + this.#prng.below(k);
      while (this.#changes.has(at));
      this.#changes.set(at, i);
    }
  }

  #priority(pid: number): number {
    let p = this.#prio.get(pid);
    if (p === undefined) {
      // Initial priorities are above every change-point priority, distinct w.h.p.; ties go to the lower pid.
      p = this.#depth + this.#prng.float() * 1e6;
      this.#prio.set(pid, p);
    }
    return p;
  }

  #bestRunnable(): number {
    let best = -Infinity;
    for (const pid of this.#view.runnable()) best = Math.max(best, this.#priority(pid));
    return best;
  }

  #argmax(labels: readonly string[], value: (label: string) => number): number {
    let bi = 0;
    let bv = -Infinity;
    labels.forEach((l, i) => {
      const v = value(l);
      if (v > bv) {
        bv = v;
        bi = i;
      }
    });
    return bi;
  }

  choose(point: ChoicePoint): number {
    switch (point.kind) {
      case "cpu": {
        this.#step++;
        const best = this.#argmax(point.options, (l) => {
          const pid = pidOfLabel(l);
          return pid === undefined ? this.#bestRunnable() : this.#priority(pid);
        });
        const change = this.#changes.get(this.#step);
        if (change !== undefined) {
          const pid = pidOfLabel(point.options[best]);
          if (pid === undefined) this.#pendingChange = change;
          else this.#prio.set(pid, change);
        }
        return best;
      }
      case "task": {
        const best = this.#argmax(point.options, (l) => this.#priority(pidOfLabel(l) ?? -1));
        if (this.#pendingChange !== undefined) {
          const pid = pidOfLabel(point.options[best]);
          if (pid !== undefined) this.#prio.set(pid, this.#pendingChange);
          this.#pendingChange = undefined;
        }
        return best;
      }
      case "preempt": {
        const cur = point.cpu === undefined ? undefined : this.#view.current(point.cpu);
        if (cur === undefined) return 0;
        return this.#bestRunnable() > this.#priority(cur) ? 1 : 0;
      }
      case "irq":
        return point.options.length > 1 ? 1 : 0;
      case "quantum":
        return this.#prng.below(point.options.length);
    }
  }
}

/** The PCT strategy over a run of schedules. */
export function pctStrategy(opts: StrategyOptions): Strategy {
  const depth = opts.depth ?? 3;
  if (!Number.isInteger(depth) || depth < 1) throw new BpfError(EINVAL, `invalid PCT depth: ${depth} (d >= 1)`);
  let k = INITIAL_K;
  let n = 0;
  let runs = 0;
  return {
    name: "pct",
    next: (index) => new PctChooser(scheduleSeed(opts.seed, index), { depth, k, view: opts.view }),
    done: (_index, fb) => {
      runs++;
      const steps = fb.log.reduce((a, c) => a + (c.kind === "cpu" ? 1 : 0), 0);
      k = runs === 1 ? Math.max(steps, 1) : Math.max(k, steps);
      n = Math.max(n, fb.tasks);
    },
    summary: () => {
      const p = pctBound({ n, k, d: depth });
      return `pct: d=${depth}, n=${n} tasks, k=${k} steps: each schedule finds a depth-${depth} bug with probability >= 1/(n*k^(d-1)) = ${p.toExponential(2)}`;
    },
  };
}
