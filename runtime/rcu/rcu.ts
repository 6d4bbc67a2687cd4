/**
 * Preemptible RCU (kernel/rcu/tree_plugin.h, CONFIG_PREEMPT_RCU), as a model.
 *
 * Readers: `rcu_read_lock()` / `rcu_read_unlock()` nest per task
 * (current->rcu_read_lock_nesting); a reader may be preempted. Since the
 * flavour consolidation, preempt-disabled regions are readers too.
 *
 * A grace period waits for every task that was a reader when it started:
 *
 *   start: holdouts = { t : t.nesting > 0 or t.preempt_count > 0 }, snapshot counters
 *   poll:  drop t once it left its section (outermost unlock / preempt enable) or died
 *   end:   holdouts empty
 *
 * Simplifications: no per-CPU quiescent-state machinery, no expedited GPs;
 * the GP kthread polls every `pollNs` of virtual time.
 */
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";
import type { KGen, Task } from "../kernel/task.js";
import { GpEngine, type GpFlavour } from "./gp.js";

/** What RCU needs from the scheduler. */
export interface TaskSource {
  liveTasks(): Task[];
  readonly now: bigint;
}

export const RCU_POLL_NS = 20_000n;

/** rcu_read_lock() for `task`. */
export function rcuReadLock(task: Task): void {
  task.rcuReadLockNesting++;
}

/** rcu_read_unlock() for `task`; unbalanced unlock is a kernel bug. */
export function rcuReadUnlock(task: Task): void {
  if (task.rcuReadLockNesting <= 0) {
    throw new KernelError(EINVAL, `rcu_read_unlock() without rcu_read_lock() in ${task}`);
  }
  if (--task.rcuReadLockNesting === 0) task.rcuReadUnlocks++;
}

/** The preemptible-RCU grace-period rule. */
export class RcuFlavour implements GpFlavour {
  readonly name = "rcu";
  readonly #tasks: TaskSource;
  readonly #pollNs: bigint;

  constructor(tasks: TaskSource, pollNs = RCU_POLL_NS) {
    this.#tasks = tasks;
    this.#pollNs = pollNs;
  }

  *waitGp(): KGen<void> {
    type Snap = { t: Task; unlocks: number; enables: number };
    let holdouts: Snap[] = this.#tasks
      .liveTasks()
      .filter((t) => t.rcuReadLockNesting > 0 || t.preemptCount > 0)
      .map((t) => ({ t, unlocks: t.rcuReadUnlocks, enables: t.preemptEnables }));
    while (holdouts.length > 0) {
      yield { op: "sleep", ns: this.#pollNs, reason: "rcu_gp_wait" };
      holdouts = holdouts.filter(
        ({ t, unlocks, enables }) =>
          t.state !== "dead" &&
          ((t.rcuReadLockNesting > 0 && t.rcuReadUnlocks === unlocks) ||
            (t.preemptCount > 0 && t.preemptEnables === enables)),
      );
    }
  }
}

/** RCU: call_rcu / synchronize_rcu over a GP kthread. */
export function createRcu(tasks: TaskSource): GpEngine {
  return new GpEngine(new RcuFlavour(tasks), () => tasks.now);
}
