/**
 * The random strategy: every decision uniform (CPU, task, quantum), a used-
 * up quantum is a timer tick with probability 1/2, a tick preempts with
 * probability 1/2. Schedule i draws from a PRNG seeded with
 * scheduleSeed(seed, i).
 */
import type { ChoicePoint, SchedChooser } from "../../../runtime/kernel/chooser.js";
import { Prng } from "../../../runtime/prng.js";
import { scheduleSeed, type Strategy, type StrategyOptions } from "./types.js";

/** Uniform choices from a seeded PRNG. */
export class UniformChooser implements SchedChooser {
  readonly #prng: Prng;

  constructor(seed: number) {
    this.#prng = new Prng(seed);
  }

  choose(point: ChoicePoint): number {
    return this.#prng.below(point.options.length);
  }
}

/** The random strategy. */
export function randomStrategy(opts: Pick<StrategyOptions, "seed">): Strategy {
  let runs = 0;
  return {
    name: "random",
    next: (index) => new UniformChooser(scheduleSeed(opts.seed, index)),
    done: () => {
      runs++;
    },
    summary: () => `random: ${runs} schedules`,
  };
}
