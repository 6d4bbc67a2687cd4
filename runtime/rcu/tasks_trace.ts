/**
 * RCU Tasks Trace (kernel/rcu/tasks.h, the _trace flavour), as a model.
 *
 * Readers are sleepable BPF programs: `rcu_read_lock_trace()` /
 * `rcu_read_unlock_trace()` nest per task (current->trc_reader_nesting),
 * and a reader may block. A grace period waits for every task that was a
 * reader when it started to leave its outermost section (or exit).
 *
 * Simplifications: no IPIs or per-CPU reader checks; polling every
 * `pollNs` of virtual time.
 */
import { EINVAL } from "../errno.js";
import { KernelError } from "../errors.js";
import type { KGen, Task } from "../kernel/task.js";
import { GpEngine, type GpFlavour } from "./gp.js";
import type { TaskSource } from "./rcu.js";

export const RCU_TASKS_TRACE_POLL_NS = 50_000n;

/** rcu_read_lock_trace() for `task`. */
export function rcuReadLockTrace(task: Task): void {
  task.trcReaderNesting++;
}

/** rcu_read_unlock_trace() for `task`. */
export function rcuReadUnlockTrace(task: Task): void {
  if (task.trcReaderNesting <= 0) {
    throw new KernelError(EINVAL, `rcu_read_unlock_trace() without rcu_read_lock_trace() in ${task}`);
  }
  if (--task.trcReaderNesting === 0) task.trcReadUnlocks++;
}

export class RcuTasksTraceFlavour implements GpFlavour {
  readonly name = "rcu_tasks_trace";
  readonly #tasks: TaskSource;
  readonly #pollNs: bigint;

  constructor(tasks: TaskSource, pollNs = RCU_TASKS_TRACE_POLL_NS) {
    this.#tasks = tasks;
    this.#pollNs = pollNs;
  }

  *waitGp(): KGen<void> {
    let holdouts = this.#tasks
      .liveTasks()
      .filter((t) => t.trcReaderNesting > 0)
      .map((t) => ({ t, unlocks: t.trcReadUnlocks }));
    while (holdouts.length > 0) {
      yield { op: "sleep", ns: this.#pollNs, reason: "rcu_tasks_trace_wait_gp" };
      holdouts = holdouts.filter(
        ({ t, unlocks }) => t.state !== "dead" && t.trcReaderNesting > 0 && t.trcReadUnlocks === unlocks,
      );
    }
  }
}

/** RCU Tasks Trace: call_rcu_tasks_trace / synchronize_rcu_tasks_trace. */
export function createRcuTasksTrace(tasks: TaskSource): GpEngine {
  return new GpEngine(new RcuTasksTraceFlavour(tasks), () => tasks.now);
}
