/**
 * Scheduling choices: every nondeterministic decision of a run goes through
 * one `SchedChooser`, so a run is fully determined by (image, scenario,
 * chooser) and a recorded choice list replays it bit for bit.
 *
 *   kind      asked when                                   options
 *   cpu       every step: which CPU advances next          "cpu<n>:<pid>|idle"
 *   task      a CPU picks a runnable task                   "<comm>/<pid>"
 *   quantum   an emulated slice starts                      the quanta, as text
 *   irq       a slice used up its quantum                  "none" | "tick"
 *   preempt   a tick (or preemption point) could preempt   "stay" | "switch"
 *
 * Strategies (random, PCT, bounded) implement this interface; the race
 * explorer records and shrinks the choice lists.
 */
import { Prng } from "../prng.js";

export type ChoiceKind = "cpu" | "task" | "quantum" | "irq" | "preempt";

export interface ChoicePoint {
  kind: ChoiceKind;
  /** Stable labels of the options; the answer is an index into them. */
  options: readonly string[];
  /** CPU the decision is about, when there is one. */
  cpu?: number;
}

export interface SchedChooser {
  /** Index of the chosen option (0 <= index < options.length). */
  choose(point: ChoicePoint): number;
}

/** Weights of the random chooser. */
export interface RandomChooserOptions {
  /** Probability that a used-up quantum is a timer interrupt (default 1). */
  pIrq?: number;
  /** Probability that an interrupt preempts when another task waits (default 0.5). */
  pPreempt?: number;
}

/** Uniform choices from a seeded PRNG (with weights for irq and preempt). */
export class RandomChooser implements SchedChooser {
  readonly #prng: Prng;
  readonly #pIrq: number;
  readonly #pPreempt: number;

  constructor(seed: number, opts: RandomChooserOptions = {}) {
    this.#prng = new Prng(seed);
    this.#pIrq = opts.pIrq ?? 1;
    this.#pPreempt = opts.pPreempt ?? 0.5;
  }

  choose(point: ChoicePoint): number {
    const n = point.options.length;
    if (n <= 1) return 0;
    if (point.kind === "irq") return this.#prng.float() < this.#pIrq ? 1 : 0;
    if (point.kind === "preempt") return this.#prng.float() < this.#pPreempt ? 1 : 0;
    return this.#prng.below(n);
  }
}

/** One recorded decision. */
export interface Choice {
  kind: ChoiceKind;
  n: number;
  index: number;
}

/** Wraps a chooser and records every decision it makes. */
export class RecordingChooser implements SchedChooser {
  readonly choices: Choice[] = [];
  readonly #inner: SchedChooser;

  constructor(inner: SchedChooser) {
    this.#inner = inner;
  }

  choose(point: ChoicePoint): number {
    const index = this.#inner.choose(point);
    this.choices.push({ kind: point.kind, n: point.options.length, index });
    return index;
  }
}

/**
 * Replays a recorded choice list; past its end (or where the recorded option
 * count no longer matches) it falls back to option 0, the "default" choice.
 */
export class ReplayChooser implements SchedChooser {
  readonly #choices: readonly Choice[];
  #pos = 0;
  /** Decisions that did not match the recording (kind or option count). */
  divergences = 0;

  constructor(choices: readonly Choice[]) {
    this.#choices = choices;
  }

  choose(point: ChoicePoint): number {
    const c = this.#choices[this.#pos++];
    if (!c) return 0;
    if (c.kind !== point.kind || c.n !== point.options.length) {
      this.divergences++;
      return c.index < point.options.length ? c.index : 0;
    }
    return c.index;
  }
}
