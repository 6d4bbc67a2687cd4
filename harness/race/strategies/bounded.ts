/**
 * The bounded strategy: systematic exploration of every schedule with at
 * most `bound` deviations from the default schedule (choice_log.ts: the
 * non-preemptive schedule — the same CPU goes on, FIFO tasks, the largest
 * quantum, ticks that do not preempt), fewest deviations first. In the
 * spirit of iterative context bounding (Musuvathi and Qadeer, PLDI 2007),
 * with every kind of deviation counted against the bound.
 *
 *   queue: [ {} ]                                  the default schedule
 *   run F = {(pos, index), …}: positions in F take their index, all others
 *     the default; the run's log gives each position's option count
 *   children of F (when |F| < bound): F ∪ {(p, a)} for every position p after
 *     F's last one and every a ≠ default(p)      (each set is generated once)
 *
 * Breadth-first: all schedules with one deviation run before any with two.
 * For small scenarios: the number of schedules grows like steps^bound.
 */
import type { ChoicePoint, SchedChooser } from "../../../runtime/kernel/chooser.js";
import { EINVAL } from "../../../runtime/errno.js";
import { BpfError } from "../../../runtime/errors.js";
import { DefaultModel } from "./choice_log.js";
import type { Strategy, StrategyOptions } from "./types.js";

/** A forced deviation: at decision `pos`, take option `index`. */
export interface Deviation {
  readonly pos: number;
  readonly index: number;
}

/** Default choices except at the forced positions. */
export class DeviationChooser implements SchedChooser {
  readonly #forced: Map<number, number>;
  readonly #model = new DefaultModel();
  #pos = 0;

  constructor(forced: readonly Deviation[]) {
    this.#forced = new Map(forced.map((d) => [d.pos, d.index]));
  }

  choose(point: ChoicePoint): number {
    const f = this.#forced.get(this.#pos++);
    const index = f !== undefined && f < point.options.length ? f : this.#model.defaultOf(point);
    this.#model.observe(point, index);
    return index;
  }
}

/** The bounded strategy. */
export function boundedStrategy(opts: Pick<StrategyOptions, "depth">): Strategy {
  const bound = opts.depth ?? 2;
  if (!Number.isInteger(bound) || bound < 0) throw new BpfError(EINVAL, `invalid deviation bound: ${bound} (>= 0)`);
  const queue: Deviation[][] = [[]];
  let head = 0;
  const byIndex = new Map<number, Deviation[]>();
  let maxRun = 0;
  let runs = 0;
  return {
    name: "bounded",
    next(index) {
      if (head >= queue.length) return undefined;
      const forced = queue[head];
      queue[head++] = [];
      byIndex.set(index, forced);
      maxRun = Math.max(maxRun, forced.length);
      return new DeviationChooser(forced);
    },
    done(index, fb) {
      runs++;
      const forced = byIndex.get(index) ?? [];
      byIndex.delete(index);
      if (forced.length >= bound) return;
      const after = forced.length ? forced[forced.length - 1].pos + 1 : 0;
      for (let p = after; p < fb.log.length; p++) {
        const c = fb.log[p];
        for (let a = 0; a < c.n; a++) if (a !== c.def) queue.push([...forced, { pos: p, index: a }]);
      }
    },
    summary() {
      const pending = queue.length - head;
      const complete =
        pending === 0 ? `every schedule with at most ${bound} deviations` : `${pending} schedules queued`;
      return `bounded: ${runs} schedules, deviations up to ${maxRun} explored; ${complete}`;
    },
  };
}
