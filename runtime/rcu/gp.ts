/**
 * The machinery shared by RCU flavours: a callback queue processed by a
 * grace-period kernel thread, and synchronize_*() built on call_*().
 *
 *   call_*(cb) ──► pending ──► gp kthread wakes ──► grace period ──► cbs run
 *                                   ▲   (flavour-specific holdout scan)
 *   synchronize_*() = call_*(wake me) + wait
 *
 * Callbacks run in the kthread, in queue order, and must not block (as RCU
 * callbacks run in softirq or kthread context with BH disabled).
 */
import type { KGen } from "../kernel/task.js";
import { WaitQueue } from "../kernel/waitqueue.js";

/** An RCU callback (struct rcu_head + func): plain, non-blocking. */
export type RcuCallback = () => void;

/** Grace-period statistics of one flavour. */
export interface GpStats {
  /** Completed grace periods. */
  completed: number;
  /** Callbacks invoked. */
  invoked: number;
  /** Virtual ns spent in the last grace period. */
  lastGpNs: bigint;
}

/** A flavour: how one grace period waits (a generator run by the kthread). */
export interface GpFlavour {
  readonly name: string;
  waitGp(): KGen<void>;
}

/** Pending callbacks plus the kthread that runs grace periods for them. */
export class GpEngine {
  readonly flavour: GpFlavour;
  readonly stats: GpStats = { completed: 0, invoked: 0, lastGpNs: 0n };
  readonly #pending: RcuCallback[] = [];
  readonly #kick: WaitQueue;
  readonly #now: () => bigint;
  /** Called when a grace period starts — for traces. */
  onGpStart: ((name: string, start: bigint) => void) | undefined;
  /** Called after each grace period with (flavour, start, end) — for traces. */
  onGp: ((name: string, start: bigint, end: bigint) => void) | undefined;

  constructor(flavour: GpFlavour, now: () => bigint) {
    this.flavour = flavour;
    this.#now = now;
    this.#kick = new WaitQueue(`${flavour.name}_kthread`);
  }

  /** Queue `cb` to run after a full grace period. */
  call(cb: RcuCallback): void {
    this.#pending.push(cb);
    this.#kick.wakeUpAll();
  }

  /** Callbacks not yet invoked. */
  get pending(): number {
    return this.#pending.length;
  }

  /** synchronize_*(): returns after a full grace period. */
  *synchronize(): KGen<void> {
    let done = false;
    const wq = new WaitQueue(`synchronize_${this.flavour.name}`);
    this.call(() => {
      done = true;
      wq.wakeUpAll();
    });
    while (!done) yield { op: "block", wq, reason: wq.name };
  }

  /** The grace-period kthread body. */
  *kthread(): KGen<void> {
    for (;;) {
      while (this.#pending.length === 0) yield { op: "block", wq: this.#kick, reason: this.#kick.name };
      // Callbacks queued before the grace period starts are the ones it covers.
      const batch = this.#pending.splice(0);
      const start = this.#now();
      this.onGpStart?.(this.flavour.name, start);
      yield* this.flavour.waitGp();
      const end = this.#now();
      this.stats.completed++;
      this.stats.lastGpNs = end - start;
      this.onGp?.(this.flavour.name, start, end);
      for (const cb of batch) {
        this.stats.invoked++;
        cb();
      }
    }
  }
}
